"""The fork server's side of a spawn: packets read into one buffer, the shared part of a
config read once per distinct bytes, bad spawns refused with their fds closed, the pool's
refill held back while most of it is ready, and the PID 1s cloned straight into their
namespaces. Real sockets, fds and clone(2); the daemon's integration tests start Plays
through the real server."""

import json
import os
import socket
import unittest

from hero_tracing import forkserver, sandbox

SHARED = json.dumps({"hide_dirs": [], "hide_files": [], "read_dirs": [], "write_dirs": [],
                     "network": False, "max_processes": 0, "require": [], "work_root": "/tmp"}).encode()


def fd_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


class Inbox(unittest.TestCase):
    def test_each_packet_comes_whole_with_its_fds_though_the_buffer_is_reused(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        r, w = os.pipe()
        try:
            inbox = forkserver.Inbox(theirs)
            socket.send_fds(ours, [b"x" * 5000], [r])
            socket.send_fds(ours, [b"short"], [])
            first, first_fds = inbox.receive()
            second, second_fds = inbox.receive()
            self.assertEqual(first, b"x" * 5000)
            self.assertEqual(len(first_fds), 1)
            os.write(w, b"!")
            self.assertEqual(os.read(first_fds[0], 1), b"!", "the fd that came is the pipe sent")
            os.close(first_fds[0])
            self.assertEqual((second, second_fds), (b"short", []), "no byte of the longer packet before it")
            ours.close()
            self.assertEqual(inbox.receive(), (b"", []), "the daemon gone reads as empty")
        finally:
            for fd in (r, w):
                os.close(fd)
            theirs.close()


class BadSpawns(unittest.TestCase):
    def setUp(self):
        self.daemon, self.server = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.addCleanup(self.daemon.close)
        self.addCleanup(self.server.close)
        self.pool = forkserver.Pool(0)
        self.inits = forkserver.Inits()
        self.addCleanup(os.close, self.inits.alive_r)
        self.addCleanup(os.close, self.inits.alive_w)

    def refused(self, message, nfds):
        fds = [os.open(os.devnull, os.O_RDONLY) for _ in range(nfds)]
        forkserver.receive(self.server, message, fds, (), self.pool, self.inits)
        self.assertEqual([fd for fd in fds if fd_open(fd)], [], "every fd of a refused spawn is closed")
        reply = json.loads(self.daemon.recv(65536))
        self.assertEqual(reply["op"], "failed", reply)
        return reply

    def test_a_spawn_without_its_play_is_refused_and_says_so(self):
        reply = self.refused(b'{"op": "spawn"}\n' + SHARED + b"\n{}", 3)
        self.assertIn("names its op and its Play", reply["error"])

    def test_a_header_that_is_not_json_is_refused(self):
        reply = self.refused(b"not json at all\n" + SHARED + b"\n{}", 3)
        self.assertIn("bad spawn request", reply["error"])

    def test_a_spawn_short_of_its_three_fds_is_refused(self):
        reply = self.refused(b'{"op": "spawn", "play": "p1"}\n' + SHARED + b"\n{}", 2)
        self.assertEqual(reply["play"], "p1")
        self.assertIn("channel, stdout and stderr", reply["error"])

    def test_a_shared_part_that_is_not_an_object_is_refused(self):
        reply = self.refused(b'{"op": "spawn", "play": "p2"}\n[1, 2]\n{}', 3)
        self.assertEqual(reply["play"], "p2")
        self.assertIn("not an object", reply["error"])

    def test_no_ready_process_in_cgroups_of_its_own_is_said_so(self):
        reply = self.refused(b'{"op": "spawn", "play": "p3", "cgroup_ahead": true}\n' + SHARED + b"\n{}", 3)
        self.assertTrue(reply["not_ready"], reply)


class Pool(unittest.TestCase):
    def test_the_shared_part_is_read_once_per_distinct_bytes(self):
        pool = forkserver.Pool(0)
        first = pool.shared_of(SHARED)
        self.assertIs(pool.shared_of(bytes(SHARED)), first, "the same bytes are not read again")
        other = pool.shared_of(SHARED.replace(b'"network": false', b'"network": true'))
        self.assertIsNot(other, first)
        self.assertTrue(other["network"])

    def test_a_network_plays_shared_part_is_not_learnt(self):
        pool = forkserver.Pool(2)
        network = SHARED.replace(b'"network": false', b'"network": true')
        pool.learn(network, pool.shared_of(network), False)
        self.assertIsNone(pool.shared, "the pool makes no process with the network ahead")
        pool.learn(SHARED, pool.shared_of(SHARED), False)
        self.assertEqual(pool.shared["work_root"], "/tmp")

    def test_the_refill_waits_for_a_quiet_spell_only_while_half_the_pool_is_ready(self):
        pool = forkserver.Pool(4)
        pool.learn(SHARED, pool.shared_of(SHARED), False)
        self.assertEqual(pool.wait_s(0.0), 0, "an empty pool is filled at once")
        pool.ready = [(0, None), (0, None)]
        pool.refill_at = 10.0
        self.assertAlmostEqual(pool.wait_s(9.99), 0.01)
        self.assertEqual(pool.wait_s(11.0), 0.0, "after the quiet spell it fills")
        pool.ready = [(0, None)]
        self.assertEqual(pool.wait_s(9.0), 0, "below half it fills at once")
        pool.ready = [(0, None)] * 4
        self.assertIsNone(pool.wait_s(9.0), "a full pool waits for the daemon alone")


def namespaces_available():
    try:
        pid = os.fork()
    except OSError:
        return False
    if pid == 0:
        try:
            sandbox.unshare_namespaces(False)
        except BaseException:  # noqa: B036 - the child reports by its exit code alone
            os._exit(1)
        os._exit(0)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


class Inits(unittest.TestCase):
    def setUp(self):
        self.inits = forkserver.Inits()
        self.addCleanup(os.close, self.inits.alive_r)
        self.addCleanup(os.close, self.inits.alive_w)

    def test_the_status_a_pid_1_wrote_is_the_one_reported_and_its_pipe_is_closed(self):
        r, w = os.pipe()
        os.set_blocking(r, False)
        self.inits.status_of[4242] = r
        os.write(w, str(9 << 8).encode())
        os.close(w)
        self.assertEqual(self.inits.status(4242, 0), 9 << 8, "the body's status, not the PID 1's own")
        self.assertFalse(fd_open(r), "the status pipe is closed once read")
        self.assertEqual(self.inits.status(4242, 7), 7, "a pid it does not know keeps its status")

    def test_a_pid_1_killed_before_it_said_anything_keeps_its_own_status(self):
        r, w = os.pipe()
        os.set_blocking(r, False)
        self.inits.status_of[4243] = r
        self.assertEqual(self.inits.status(4243, 9), 9, "nothing written yet: no block, own status")
        os.close(w)

    def _start_and_reap(self, report, code):
        """Starts a child through Inits.start that writes `report(enter)` and exits `code`;
        returns what it wrote and the exit code Inits reports for it."""
        seen_r, seen_w = os.pipe()

        def run(enter):
            os.write(seen_w, report(enter).encode())
            os._exit(code)

        pid = self.inits.start(False, run)
        os.close(seen_w)
        self.assertIsNotNone(pid, "a child was started")
        seen = os.read(seen_r, 64).decode()
        os.close(seen_r)
        _, raw = os.waitpid(pid, 0)
        return seen, os.waitstatus_to_exitcode(self.inits.status(pid, raw))

    @unittest.skipUnless(namespaces_available(), "this kernel or user may not make namespaces")
    def test_a_cloned_child_is_pid_1_of_its_namespace_and_its_own_exit_stands_when_silent(self):
        seen, code = self._start_and_reap(lambda enter: f"{os.getpid()} {callable(enter)}", 5)
        self.assertEqual(seen, "1 True", "the child runs as PID 1 of a new PID namespace")
        self.assertEqual(code, 5)
        self.assertEqual(self.inits.status_of, {}, "its status pipe is forgotten with it")

    def test_where_the_clone_is_refused_the_process_is_forked_to_unshare_itself(self):
        def refused(network):
            raise sandbox.SandboxError("clone refused here")

        real = sandbox.clone_into_namespaces
        sandbox.clone_into_namespaces = refused
        self.addCleanup(setattr, sandbox, "clone_into_namespaces", real)
        seen, code = self._start_and_reap(lambda enter: f"{os.getpid() != 1} {enter is None}", 6)
        self.assertEqual(seen, "True True", "a plain fork, told to set its namespaces up itself")
        self.assertEqual(code, 6)
        self.assertEqual(self.inits.status_of, {}, "no status pipe is kept for it")


if __name__ == "__main__":
    unittest.main()
