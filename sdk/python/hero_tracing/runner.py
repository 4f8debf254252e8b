"""The process the daemon starts for one top-level Play (`hero_tracing.runner.main()`).

It says `hello`, runs the Play's logic, runs every child Play the body calls in this same
process (each child's result goes back with `invoke_end`), and ends with `finish`. See
docs/protocol.md; exit codes: 0 after `finish`, 64 when not started by the daemon, 70 when
the daemon connection breaks, 75 when a body paused for a person (`pause` answered
`answered: false`): the process ends at once, and the daemon replays the Play once the
question is answered.
"""

# Imported with the runner, before `hello`: the thread pool is patched after it
# (context.carry_into_threads), when a Play's time is counting.
import collections
import concurrent.futures.thread  # noqa: F401
import linecache
import mmap
import os
import sys
import threading
import types

from . import context, settings
from .channel import EXIT_PROTOCOL, Channel, DaemonError
from .context import PlayFrame, current_frame
from .handles import Handle, Started, wait_all
from .errors import (Abandoned, ChildFailed, Failed, NotSerialisable, PauseRefused, Suspended,
                     TimedOut)
from . import retrying
from .importer import LogicFinder
from .jsonwire import decode, json_object, to_line
from .results import declared_names, describe_failure, format_traceback, shape_output
from .sdk import REGISTRY, bind_arguments, logic_meta
from .streams import PlayStream, flush_partials

EXIT_USAGE = 64
# Threads one `logic.map` runs its children on when it is given no max_concurrency.
MAP_WORKERS = 64
# Per thread: `replace()`, set on a map's worker threads (see Runtime._run_in_threads).
_this_thread = threading.local()
# sysexits.h EX_TEMPFAIL: the Play waits for a person; the daemon starts it again later.
EXIT_SUSPENDED = 75
_CO_VARKEYWORDS = 0x08
# Address space kept free until a MemoryError, so reporting the failure has room to work.
_RESERVE_BYTES = 1 << 20


class Outcome:
    """How one Play body ended, in the fields `invoke_end` and `finish` carry."""

    __slots__ = ("status", "output", "error", "traceback")

    def __init__(self, status, output, error="", traceback=""):
        self.status = status
        self.output = output
        self.error = error
        self.traceback = traceback

    @property
    def failed(self):
        return self.status != "success"

    def stored_error(self):
        """The failure text as the daemon stores it (error, blank line, traceback)."""
        if not self.traceback:
            return self.error
        return f"{self.error}\n\n{self.traceback}" if self.error else self.traceback

    def fields(self):
        return {"status": self.status, "output": self.output,
                "error": self.error, "traceback": self.traceback}


class Runtime:
    """Runs Play bodies and carries what they do (children, logs, outputs) to the daemon.

    The SDK (`hero_tracing.sdk`) calls `invoke`, `call_function`, `log`, `output`, `stats`
    and `pause`; the importer calls `resolve`.
    """

    def __init__(self, channel, memory_mb=None):
        self.channel = channel
        self.memory_mb = memory_mb
        # version_sid -> executed module: a version's source is compiled and run once.
        self._modules = {}
        # version_sid -> source, as first sent: concurrent children of one version get it
        # once, and whichever body runs first compiles it (under the lock).
        self._sources = {}
        self._compiling = threading.RLock()
        self._reserve = _reserve_room()
        # Frames whose bodies run now (any thread): their unfinished lines go out on a pause.
        self._running = []
        # Guards what follows: which children are open, which bodies wait for a person.
        self._state = threading.Lock()
        # Child Plays started and not ended yet, by sid (running, or queued by a map).
        self._open = {}
        # invoke_start requests sent and not answered yet.
        self._starting = 0
        # Frames whose question has no answer yet: once set, the run ends when it settles.
        self._waiting = []
        # Memoized steps taken without asking, by parent sid: told to the daemon (`replayed`)
        # before the channel's next line.
        self._taken = {}
        self._taken_lock = threading.Lock()
        channel.pending = self._taken_steps

    # -- what a body calls -------------------------------------------------------------

    def send_log(self, play_sid, text):
        self.channel.notify("log", play_sid=play_sid, text=text)

    def log(self, text):
        self.send_log(current_frame().play_sid, text)

    def output(self, values):
        frame = current_frame()
        frame.output.update(values)
        self.channel.notify("output", play_sid=frame.play_sid, values=values)

    def stats(self, prompt_tokens, completion_tokens, cost_usd):
        self.channel.notify("stats", play_sid=current_frame().play_sid,
                            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                            cost_usd=cost_usd)

    def pause(self, name, ui, schema):
        """Asks the daemon the question `name`; returns the stored answer, or suspends.

        `answered: false` means the daemon recorded the question and marked the Play chain
        `awaiting_resume`: the process sends what it still buffers and exits 75 at once, with
        no unwinding. The answer arrives on a later run, which replays up to this call.
        """
        frame = current_frame()
        if frame.given_up():
            raise Abandoned()
        try:
            reply = self.channel.request("pause", play_sid=frame.play_sid, name=name, ui=ui,
                                         schema=schema)
        except DaemonError as exc:
            raise PauseRefused(name, exc.kind, exc.message or exc.kind) from None
        if reply.get("answered") is True:
            return reply.get("payload")
        self._wait_for_person(frame)

    def suspend(self):
        """Flushes every running body's partial lines, then exits 75 (never returns)."""
        def last_words():
            for frame in list(self._running):
                flush_partials(frame, self.send_log)
            for stream in (sys.__stdout__, sys.__stderr__):
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001 - nothing useful left to do with it
                    pass

        self.channel.exit_holding(EXIT_SUSPENDED, last_words)

    def resolve(self, name):
        """The current LogicSpec of the stored Logic `name`, or None if there is none."""
        try:
            return self.channel.request("resolve", logic=name).get("logic") or None
        except DaemonError as exc:
            if exc.kind == "not_found":
                return None
            raise ImportError(f"cannot import logic {name!r}: {exc.message}", name=name) from None

    def invoke(self, name, kwargs):
        """`logic.invoke(name, **kwargs)` and imported logics: the stored Logic, never local.

        The call's own keywords (retries=, timeout_s=, ...) are taken off the inputs; without
        any, the callee's decorator policy applies, as to a call of its function.
        """
        inputs, options = retrying.split_call_options(dict(kwargs))
        if not options:
            return self._invoke_following(name, inputs)
        policy = retrying.policy_of(options, f"logic.invoke({name!r})")
        return self._invoke_with(policy, name, inputs, None)

    def _invoke_following(self, name, kwargs):
        """A call by name under the callee's own retry policy, if its decorator gives one.

        Only the daemon knows the callee before it starts, so it says, with the first
        attempt: in the reply's `logic.retry`, or with a replayed failure's refusal.
        """
        try:
            started = self._start(name, kwargs, None, follow=True)
        except ChildFailed as exc:
            policy = getattr(exc, "policy", None)
            if policy is None:
                raise
            return self._invoke_with(policy, name, kwargs, None, failed=exc)
        policy = started.policy
        if policy is None or policy.plain:
            return self._finish(started)
        try:
            return self._finish(started, timeout_s=policy.timeout_s)
        except ChildFailed as exc:
            return self._invoke_with(policy, name, kwargs, None, failed=exc)

    def call_function(self, meta, args, kwargs):
        """A call of a `@logic` function, under the decorator's retry policy.

        Local (run this very function under the caller's LogicSpec) when it is defined in the
        source the caller runs from and is not that source's own logic, which the daemon
        resolves by name like any stored Logic. A call's own retries=/timeout_s=... override
        the decorator's, unless the function takes a parameter of that name.
        """
        policy = getattr(meta, "policy", None) or retrying.Policy()
        options = {k: kwargs.pop(k) for k in retrying.CALL_OPTIONS
                   if k in kwargs and k not in _parameters(meta.function)}
        if options:
            policy = policy.merged(options)
        return self._invoke_with(policy, *self._call_target(meta, args, kwargs))

    def _invoke_with(self, policy, name, kwargs, local, failed=None):
        """Runs a call as one attempt, or as up to `retries + 1` attempts with durable waits.

        Each attempt is a child Play of its own (its `attempt` recorded); whether a failed one
        is tried again is decided from what the daemon stored of it, so a replay decides the
        same. The wait is a `timer` question: the process ends during it. `failed`: how the
        first attempt, already made, ended.
        """
        if policy.plain and failed is None:
            return self._invoke(name, kwargs, local)
        attempt = 1
        while True:
            if failed is None:
                try:
                    started = self._start(name, kwargs, local, attempt)
                    return self._finish(started, timeout_s=policy.timeout_s)
                except ChildFailed as exc:
                    failed = exc
            kind = getattr(failed, "failure_type", None)
            if kind is None or attempt > policy.retries or not policy.retries_failure(kind):
                raise failed
            failed = None
            delay = policy.delay(attempt)
            if delay > 0:
                ui = {"kind": "timer", "prompt": f"retry {name} in {delay:g} s", "options": [],
                      "seconds": delay}
                self.pause("retry", ui, {})
            attempt += 1

    def _call_target(self, meta, args, kwargs):
        """`(name, args by name, meta if the call is local else None)` of a function call."""
        frame = current_frame()
        bound = bind_arguments(meta.function, args, kwargs, meta.name)
        own_source = frame.namespace is not None and \
            frame.namespace is getattr(meta.function, "__globals__", None)
        local = own_source and meta.name != frame.home
        return meta.name, bound, meta if local else None

    # -- running Plays -------------------------------------------------------------------

    def run_top(self, play, spec, memo=None):
        """Runs the top-level Play and reports it with `finish`."""
        frame = PlayFrame(str(play.get("sid", "")), spec.get("name") or play.get("name", ""), spec)
        frame.memo = _memo_by_seq(memo)
        context.set_runtime(self, frame)
        inputs = play.get("inputs")
        outcome = self._execute(frame, self._entry_of, inputs if isinstance(inputs, dict) else {})
        self.channel.request("finish", fatal=True, **outcome.fields())

    def _invoke(self, name, kwargs, local):
        """Starts a child Play, runs it here unless its step is memoized, and ends it."""
        return self._finish(self._start(name, kwargs, local))

    def _start(self, name, kwargs, local, attempt=0, follow=False):
        """`invoke_start` for a child of the current Play, sent from the calling thread.

        Sending it here, not from the thread that will run the child, keeps the daemon's view
        in the order the calls were made. Raises ChildFailed when the daemon refuses.
        `attempt`: which try of a retried call this is (0: a call without retries).
        """
        parent = current_frame()
        if parent.given_up():
            raise Abandoned()
        args = json_object(kwargs, f"logic {name!r}", "argument")
        order = parent.order()
        if attempt:
            order = dict(order, attempt=attempt)
        elif follow:
            order = dict(order, follow_policy=True)
        memoized = self._memoized(parent, name, args, order)
        if memoized is not None:
            return Started(name, output=memoized)
        with self._state:
            self._starting += 1
        try:
            reply = self.channel.request("invoke_start", parent=parent.play_sid, logic=name,
                                         args=args, local=local is not None, **order)
        except DaemonError as exc:
            self._started(None)
            # child_failed (a replayed step that failed before) and nondeterminism (a replay
            # that diverged) come this way too; the former may name the child's Play.
            error = exc.response.get("error")
            sid = error.get("play_sid") if isinstance(error, dict) else None
            sid = sid or exc.response.get("play_sid") or ""
            message = exc.message or exc.kind
            if exc.kind == "child_timed_out":
                refused = TimedOut(name, message, play_sid=str(sid))
            else:
                refused = ChildFailed(name, message, play_sid=str(sid), kind=exc.kind)
            if exc.kind in ("child_failed", "child_timed_out"):
                # A step that failed in an earlier run: retried (or not) as it was then.
                refused.failure_type = retrying.failure_type(message, exc.kind == "child_timed_out")
                refused.policy = _callee_policy(error.get("retry") if isinstance(error, dict) else None, name)
            raise refused from None
        if reply.get("cached"):
            self._started(None)
            output = reply.get("output")
            return Started(name, output=output if isinstance(output, dict) else {})
        play_sid = str(reply.get("play_sid", ""))
        spec = reply.get("logic") or {}
        self._keep_source(spec)
        if isinstance(reply.get("args"), dict):
            args = reply["args"]  # the inputs as the daemon recorded them (defaults applied)
        if local is not None:
            frame = PlayFrame(play_sid, name, spec, parent.namespace, parent.home,
                              declared_names(local.outputs), parent=parent)
            find = lambda _frame: local.function  # noqa: E731 - one-line choice of body
        else:
            frame = PlayFrame(play_sid, name, spec, parent=parent)
            find = self._entry_of
        frame.memo = _memo_by_seq(reply.get("memo"))
        self._started(frame)
        return Started(name, frame=frame, find=find, args=args, bound=bool(reply.get("bound")),
                       policy=_callee_policy(spec.get("retry"), name))

    def _memoized(self, parent, name, args, order):
        """The recorded output of this call when the daemon sent it as a memo of `parent`
        (same seq, Logic and args), else None: the call then goes to the daemon, which
        answers it from its record or says how the replay diverged."""
        seq = order.get("seq")
        memo = parent.memo.pop(seq, None) if parent.memo and seq is not None else None
        if memo is None or memo.get("logic") != name or not isinstance(memo.get("args"), dict):
            return None
        if not _same_json(memo["args"], args):
            return None
        with self._taken_lock:
            self._taken.setdefault(parent.play_sid, []).append(seq)
        output = memo.get("output")
        return output if isinstance(output, dict) else {}

    def _taken_steps(self):
        """The `replayed` notifications owed to the daemon, once."""
        if not self._taken:
            return ()
        with self._taken_lock:
            taken, self._taken = self._taken, {}
        return [{"op": "replayed", "play_sid": sid, "seqs": seqs} for sid, seqs in taken.items()]

    def _keep_source(self, spec):
        """Keeps a version's source until its module is compiled (it is sent only once)."""
        source, version_sid = spec.get("python_source"), spec.get("version_sid")
        if source and version_sid and version_sid not in self._modules:
            self._sources.setdefault(str(version_sid), source)

    def _finish(self, started, loop=None, timeout_s=None):
        """Runs a started child's body in this thread and ends it; returns its output.

        Raises ChildFailed when it failed. `loop`: the caller's event loop, for an async body.
        With `timeout_s` the body runs in a thread of its own; past the deadline the child is
        ended `timed_out` and TimedOut is raised here (see `_execute_within`).
        """
        frame = started.frame
        if frame is None:
            return started.output
        # Suspended (a question inside a coroutine) goes through: the Play stays open.
        if timeout_s is None:
            outcome = self._execute(frame, started.find, started.args, loop)
        else:
            outcome = self._execute_within(frame, started, loop, timeout_s)
        answer = self._end(started, outcome)
        self._ended(frame)
        if outcome.status == "timed_out":
            timed_out = TimedOut(started.name, outcome.error, play_sid=frame.play_sid)
            timed_out.failure_type = retrying.TIMED_OUT
            raise timed_out
        if frame.parent is not None and frame.parent.given_up():
            raise Abandoned()
        # The daemon may have the last word on a child's result (a bound logic's output
        # mappings, a mapping that failed): its answer then carries status/output/error.
        if isinstance(answer, dict) and answer.get("status") in ("success", "failed"):
            outcome = Outcome(answer["status"], answer.get("output") or {}, answer.get("error", ""))
        if outcome.failed:
            failed = ChildFailed(started.name, outcome.error, play_sid=frame.play_sid)
            failed.failure_type = retrying.failure_type(outcome.stored_error())
            raise failed
        return outcome.output

    def _end(self, started, outcome):
        """Tells the daemon a child ended. Unanswered (`invoke_end` without an id: the body
        goes on while the daemon records it, and the daemon takes the channel's lines in
        order, so the next child starts only once this end is recorded), except for a bound
        child, whose answer is its mapped result. Returns that answer, or None."""
        fields = dict(play_sid=started.frame.play_sid, **outcome.fields())
        if started.bound:
            return self.channel.request("invoke_end", fatal=True, **fields)
        self.channel.notify("invoke_end", **fields)
        return None

    def _execute_within(self, frame, started, loop, timeout_s):
        """Runs a child body in a thread and waits at most `timeout_s` for its Outcome.

        Past the deadline the frame is marked abandoned (its next SDK call raises Abandoned,
        its later logs and outputs are dropped by the daemon) and Abandoned is injected into
        its thread, which stops pure-Python work at its next bytecode. A body blocked inside
        one C call (a socket read, time.sleep) runs on until that call returns; its result
        is thrown away. The Play's wall clock still bounds the whole run.
        """
        settled = threading.Lock()
        box = {}
        done = threading.Event()

        def run():
            try:
                outcome = self._execute(frame, started.find, started.args, loop)
            except BaseException:  # noqa: B036 - Abandoned arriving between bytecodes
                outcome = None
            with settled:
                if not frame.abandoned:
                    box["outcome"] = outcome
            done.set()

        worker = threading.Thread(target=run, name=f"hero_logic child {frame.play_sid}",
                                  daemon=True)
        with _small_threads():
            worker.start()
        done.wait(timeout_s)
        with settled:
            if "outcome" in box and box["outcome"] is not None:
                return box["outcome"]
            frame.abandoned = True
        _interrupt(worker)
        return Outcome("timed_out", frame.output,
                       f"timed out after {timeout_s:g} s (timeout_s of the call)")

    # -- fan-out -------------------------------------------------------------------------

    def spawn(self, name, kwargs, local=None, loop=None):
        """Starts a child now (its step key fixed in call order) and runs it in a thread.

        Returns a Handle at once; a refusal or failure is raised by `Handle.result()`.
        """
        handle, started = self._begin(name, kwargs, local)
        if started is not None:
            self._run_in_threads([(handle, started)], 1, loop)
        return handle

    def map(self, name, calls, max_concurrency=None):
        """Runs `name` once per kwargs dict of `calls`, concurrently; outputs in call order.

        All are started first (numbered in call order); then at most `max_concurrency`
        bodies run at a time (None: up to MAP_WORKERS). Every child runs to its end; then the
        first failure in call order is raised.
        """
        calls = list(calls)
        for i, kwargs in enumerate(calls):
            if not isinstance(kwargs, dict):
                raise TypeError(f"logic.map({name!r}): call {i} must be a dict of inputs, "
                                f"not {type(kwargs).__name__}")
        if max_concurrency is not None and (isinstance(max_concurrency, bool) or
                                            not isinstance(max_concurrency, int) or
                                            max_concurrency < 1):
            raise ValueError(f"logic.map: max_concurrency must be a whole number >= 1 or None, "
                             f"not {max_concurrency!r}")
        begun = [self._begin(name, kwargs, None) for kwargs in calls]
        self._run_in_threads([b for b in begun if b[1] is not None],
                             max_concurrency or MAP_WORKERS)
        handles = [handle for handle, _ in begun]
        wait_all(handles)
        return [handle.result() for handle in handles]

    def _begin(self, name, kwargs, local):
        """`invoke_start` for a handle: `(handle, Started to run)`, or `(handle, None)` when
        the handle is settled already (a memoized step, a refusal)."""
        handle = Handle(name)
        try:
            started = self._start(name, kwargs, local)
        except ChildFailed as exc:
            handle.future.set_exception(exc)
            return handle, None
        if started.frame is None:
            handle.future.set_result(started.output)
            return handle, None
        started.frame.parent.handles.append(handle)
        return handle, started

    def _run_in_threads(self, work, workers, loop=None):
        """Runs started children on up to `workers` threads, each taking the next when free
        (a map's children queue for a thread; none waits on another's)."""
        queue = collections.deque(work)

        def worker():
            # A child of this thread that waits for a person holds it for good: another
            # thread takes over the queue, so the queued children still run.
            _this_thread.replace = lambda: queue and start_worker()
            while True:
                try:
                    handle, started = queue.popleft()
                except IndexError:
                    return
                self._run_handle(handle, started, loop)

        def start_worker():
            thread = threading.Thread(target=worker, name="hero_logic branch", daemon=True)
            with _small_threads():
                thread.start()

        for running in range(min(workers, len(work))):
            try:
                start_worker()
            except RuntimeError as exc:
                if running:
                    break  # out of threads: the running ones take the rest
                while queue:
                    handle, started = queue.popleft()
                    self._refuse(started, handle, f"cannot start a thread for this child: {exc}")
                return

    def _refuse(self, started, handle, message):
        """Ends a started child that cannot run, as failed, and fails its handle."""
        frame = started.frame
        self._end(started, Outcome("failed", {}, message))
        self._ended(frame)
        handle.future.set_exception(ChildFailed(started.name, message, play_sid=frame.play_sid))

    def _run_handle(self, handle, started, loop):
        try:
            handle.future.set_result(self._finish(started, loop))
        except BaseException as exc:  # noqa: B036 - the handle re-raises it in the caller
            handle.future.set_exception(exc)

    def ainvoke(self, name, kwargs, local=None):
        """`await logic.ainvoke(...)`: starts the child now, runs it off the event loop."""
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        return self.spawn(name, kwargs, local, loop=loop).wait_async()

    def call_async_function(self, meta, args, kwargs):
        """A call of an `async def` @logic function: an awaitable of its output."""
        name, bound, local = self._call_target(meta, args, kwargs)
        return self.ainvoke(name, bound, local)

    # -- waiting for a person ------------------------------------------------------------

    def _started(self, frame):
        with self._state:
            self._starting -= 1
            if frame is not None:
                self._open[frame.play_sid] = frame
        # A start that was memoized or refused may be what the settling run waited for.
        self._suspend_when_settled()

    def _ended(self, frame):
        with self._state:
            self._open.pop(frame.play_sid, None)
        self._suspend_when_settled()

    def _wait_for_person(self, frame):
        """After an unanswered question: let the other branches run on, then exit 75.

        The asking body never continues in this process; it blocks here until the last
        running branch ends or asks too, and the process then ends (see `_settled`). Inside
        a coroutine, blocking would stop every task of its event loop, so `Suspended` goes
        up to the nearest async body instead, which then waits without blocking the loop.
        """
        with self._state:
            frame.waiting = True
            self._waiting.append(frame)
        in_coroutine = context.current_task() is not None
        replace = getattr(_this_thread, "replace", None)
        if replace is not None and not in_coroutine:
            replace()
        self._suspend_when_settled()
        if in_coroutine:
            raise Suspended()
        threading.Event().wait()

    def _suspend_when_settled(self):
        with self._state:
            if not self._waiting or not self._settled():
                return
        self.suspend()

    def _settled(self):
        """No child body can still reach an end: each open one asks or waits for one that does.

        A Play that waits for a person, and every ancestor of one, cannot end in this run;
        every other open child may, so the run goes on until they have ended or asked.
        """
        if self._starting:
            return False
        stuck = {id(f) for w in self._waiting for f in w.chain()}
        # A body given up at a timeout ends in its own time; nothing waits for it.
        return all(id(frame) in stuck or frame.given_up() for frame in self._open.values())

    def _execute(self, frame, find_function, args, loop=None):
        """Runs one Play body in its frame and turns however it ended into an Outcome.

        Catches BaseException: a body's sys.exit, KeyboardInterrupt or MemoryError fails its
        Play, not the runner. The caller's sys.stdout/sys.stderr are put back afterwards, so a
        body that replaces them cannot take the routing away from the rest of the run. A body
        ends when the children it spawned have ended too.
        """
        token = context.enter(frame)
        saved_streams = sys.stdout, sys.stderr
        self._running.append(frame)
        frame.claim()
        try:
            result = call_body(find_function(frame), args, frame, loop)
            wait_all(frame.handles)
        except Suspended:
            if context.current_task() is not None:
                raise
            # It left an event loop of the body's own making: wait here like a plain thread.
            threading.Event().wait()
        except BaseException as exc:  # noqa: B036 - every way a body can end is reported
            wait_all(frame.handles)
            return self._failure(frame, exc)
        finally:
            sys.stdout, sys.stderr = saved_streams
            context.leave(token)
            self._running.remove(frame)
            flush_partials(frame, self.send_log)
        try:
            return Outcome("success", shape_output(result, frame.output, frame.declared))
        except NotSerialisable as exc:
            return Outcome("failed", frame.output, str(exc))

    def _failure(self, frame, exc):
        if isinstance(exc, MemoryError):
            self._reserve = None
        error, traceback = describe_failure(exc, self.memory_mb)
        try:
            self._reserve = self._reserve or _reserve_room()
        except MemoryError:
            pass
        return Outcome("failed", frame.output, error, traceback)

    def _entry_of(self, frame):
        """Loads the frame's LogicSpec (once per version) and returns its entry function."""
        module = self._module(frame.spec)
        frame.namespace = module.__dict__
        function = pick_entry(module.__dict__, frame.spec)
        meta = logic_meta(function)
        frame.declared = declared_names(frame.spec.get("outputs")) or \
            declared_names(meta.outputs if meta else None)
        return meta.function if meta else function

    def _module(self, spec):
        version_sid = str(spec.get("version_sid") or "")
        module = self._modules.get(version_sid)
        if module is not None:
            return module
        with self._compiling:
            module = self._modules.get(version_sid)
            if module is None:
                if not spec.get("python_source") and version_sid in self._sources:
                    spec = dict(spec, python_source=self._sources[version_sid])
                module = load_module(spec)
                if version_sid:
                    self._modules[version_sid] = module
                    self._sources.pop(version_sid, None)
        return module


def _interrupt(thread):
    """Raises Abandoned in `thread` at its next bytecode (CPython's async exception)."""
    try:
        import ctypes

        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident),
                                                   ctypes.py_object(Abandoned))
    except (ImportError, AttributeError, TypeError):
        pass  # no ctypes: the body stops at its next SDK call instead


def _parameters(function):
    """The names `function` takes by name (empty when it cannot be told)."""
    code = getattr(function, "__code__", None)
    if code is None:
        return ()
    return code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]


_THREAD_STACK = 2 << 20
_threads_tuned = []


class _small_threads:
    """Branch threads get 2 MiB stacks and share two malloc arenas.

    Under the runner's RLIMIT_AS every thread's reserved stack (8 MiB by default) and its
    own malloc arena (64 MiB reserved) count, which would cap a fan-out at about 20
    branches; this keeps a hundred well within the limit.
    """

    _lock = threading.Lock()

    def __enter__(self):
        self._lock.acquire()
        if not _threads_tuned:
            _threads_tuned.append(True)
            _limit_malloc_arenas()
        self._saved = threading.stack_size(_THREAD_STACK)

    def __exit__(self, *exc):
        threading.stack_size(self._saved)
        self._lock.release()


def _limit_malloc_arenas():
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-8, 2)  # M_ARENA_MAX: glibc only; elsewhere a no-op
    except (OSError, AttributeError):
        pass


def _reserve_room():
    """An anonymous mapping never touched: the address-space limit (the one a MemoryError
    comes from) counts it, resident memory does not, and making it costs no page faults."""
    return mmap.mmap(-1, _RESERVE_BYTES)


_WARM_SOURCE = "def warm(x=1):\n    return {'ok': x}\n"


def warm_up():
    """Runs what every start runs first (a channel, a Runtime, a compiled module, the wire's
    JSON) on throwaway objects, in a process the fork server made ahead while it waits for
    its Play: the memory that touches is copied from the server then, not on the Play's
    clock. Touches nothing a Play could see: no fd, module or registry entry outlives it."""
    import socket

    ours, theirs = socket.socketpair()
    try:
        channel = Channel(os.dup(ours.fileno()), lambda message: None)
        Runtime(channel)
        channel.pending = None
        to_line({"id": 1, "op": "hello", "secret": "", "pid": os.getpid(), "python": "3"})
        decode('{"id": 1, "op": "hello", "ok": true, "play": {"sid": "", "inputs": {}}}')
        module = load_module({"name": "warm", "python_source": _WARM_SOURCE})
        module.warm()
        channel._sock.close()
        os.environ["HERO_LOGIC_WARM_UP"] = "1"  # the Play's environment is set the same way
        del os.environ["HERO_LOGIC_WARM_UP"]
    finally:
        ours.close()
        theirs.close()
        linecache.cache.pop("warm.py", None)


def load_module(spec):
    """Compiles and runs a LogicSpec's source as a fresh module named after the Logic.

    The module is not put in sys.modules: a logic named like a stdlib module must not shadow
    it, and two versions of one Logic may live side by side. Its source goes into linecache
    so tracebacks show the lines.
    """
    name = str(spec.get("name") or "logic")
    version_sid = str(spec.get("version_sid") or "")
    source = spec.get("python_source")
    if not isinstance(source, str) or not source.strip():
        raise Failed(f"version {version_sid or '?'} of logic {name!r} has no Python source to run")
    filename = f"{name}.py [version {version_sid}]" if version_sid else f"{name}.py"
    code = compile(source, filename, "exec", dont_inherit=True)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(name, spec.get("description") or None)
    exec(code, module.__dict__)  # noqa: S102 - running the logic's source is the point
    return module


def pick_entry(namespace, spec):
    """The function a LogicSpec runs.

    `entry` when the daemon names one; else a decorator's `entry=`; else the decorated
    function declaring the logic's name (or named like it); else the only decorated one;
    else the last decorated one, as the daemon's static parse decides.
    """
    name = spec.get("name", "")
    wanted = spec.get("entry")
    if wanted:
        return _named_function(namespace, wanted, name)
    registered = [f for f in namespace.get(REGISTRY, ()) if logic_meta(f) is not None]
    for function in registered:
        marker = logic_meta(function).entry
        if marker is True:
            return function
        if isinstance(marker, str) and marker:
            return _named_function(namespace, marker, name)
    named = [f for f in registered if logic_meta(f).name == name] or \
        [f for f in registered if logic_meta(f).function.__name__ == name]
    if named:
        return named[-1]
    if registered:
        return registered[-1]
    raise Failed(
        f"the source of logic {name!r} has no @logic function: write "
        f"`@logic(name={name!r})` above its entry function (from hero_tracing import logic)"
    )


def _named_function(namespace, function_name, logic_name):
    function = namespace.get(function_name)
    if not callable(function):
        raise Failed(f"the source of logic {logic_name!r} defines no function {function_name!r} "
                     f"(its entry)")
    return function


def call_body(function, args, frame=None, loop=None):
    """Calls a Play body with the inputs it accepts; runs it to the end if it is async."""
    result = function(**accepted_arguments(function, args))
    if isinstance(result, types.CoroutineType):
        result = run_coroutine(result, frame, loop)
    return result


def run_coroutine(coroutine, frame, loop):
    """Runs an async body: on the caller's event loop when it awaits this child from another
    thread, else on a loop of its own (in a thread of its own when this thread's loop is busy
    running the caller, so asyncio.run is never nested)."""
    import asyncio

    body = _in_frame(coroutine, frame)
    if loop is not None and loop.is_running():
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if not on_loop:
            return asyncio.run_coroutine_threadsafe(body, loop).result()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(body)
    outcome = {}

    def run_apart():
        try:
            outcome["result"] = asyncio.run(body)
        except BaseException as exc:  # noqa: B036 - re-raised in the calling thread
            outcome["error"] = exc

    worker = threading.Thread(target=run_apart, name="hero_logic async body", daemon=True)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


async def _in_frame(coroutine, frame):
    """Runs an async body as its Play's own task (its calls are the ordered ones) and waits
    for the children it spawned before it ends."""
    if frame is None:
        return await coroutine
    import asyncio

    token = context.enter(frame)
    frame.claim()
    try:
        result = await coroutine
    except Suspended:
        # A question below, with no answer yet: this body waits, the loop runs on.
        await asyncio.get_running_loop().create_future()
    finally:
        pending = [asyncio.wrap_future(h.future) for h in frame.handles if not h.future.done()]
        if pending:
            await asyncio.wait(pending)
        context.leave(token)
    return result


def accepted_arguments(function, args):
    """The inputs `function` takes by name: all of them if it has **kwargs.

    Extra inputs (a newer caller, a declared field the function ignores) are dropped rather
    than failing the Play with a TypeError about an unexpected keyword.
    """
    code = getattr(function, "__code__", None)
    if code is None:
        return _accepted_by_signature(function, args)
    if code.co_flags & _CO_VARKEYWORDS:
        return dict(args)
    names = code.co_varnames[code.co_posonlyargcount: code.co_argcount + code.co_kwonlyargcount]
    return {key: value for key, value in args.items() if key in names}


def _accepted_by_signature(function, args):
    import inspect

    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return dict(args)
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return dict(args)
    by_name = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {k: v for k, v in args.items() if k in parameters and parameters[k].kind in by_name}


# -- process level ----------------------------------------------------------------------


def _die(code, message):
    """Last words on the real stderr (the daemon puts them in the Play's logs), then exit."""
    play = os.environ.get("HERO_LOGIC_PLAY_SID", "?")
    try:
        os.write(2, f"hero_tracing runner (play {play}): {message}\n".encode("utf-8", "replace"))
    finally:
        os._exit(code)


ENV_CHANNEL_FD = "HERO_LOGIC_CHANNEL_FD"


def _settings(channel_fd):
    """The channel's fd (inherited from the daemon: it is the authentication) and the cap."""
    # The model endpoint's key (if a daemon still hands one) leaves os.environ at once.
    settings.take_from_environ()
    if channel_fd is None:
        try:
            channel_fd = int(os.environ.pop(ENV_CHANNEL_FD, ""))
        except ValueError:
            _die(EXIT_USAGE, f"{ENV_CHANNEL_FD} is not set: the runner is started by the "
                             "hero_logic daemon, not by hand")
    try:
        memory_mb = int(os.environ.get("HERO_LOGIC_MEMORY_MB", "")) or None
    except ValueError:
        memory_mb = None
    return channel_fd, memory_mb


def _install(runtime):
    """Routes print/stderr to the current Play and lets sources import stored logics."""
    context.carry_into_threads()
    sys.stdout = PlayStream("stdout", 1, runtime.send_log)
    sys.stderr = PlayStream("stderr", 2, runtime.send_log)
    sys.meta_path.append(LogicFinder(runtime))


def _exit_cleanly():
    """Exit 0 without waiting for threads a body left running or its atexit handlers."""
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - nothing useful left to do with it
            pass
    os._exit(0)


def main(channel_fd=None):
    """Runs the Play the daemon started this process for, then exits.

    `channel_fd` is the inherited socket to the daemon (the fork server passes it; a cold
    start names it in HERO_LOGIC_CHANNEL_FD).
    """
    channel_fd, memory_mb = _settings(channel_fd)
    try:
        channel = Channel(channel_fd, lambda message: _die(EXIT_PROTOCOL, message))
        runtime = Runtime(channel, memory_mb)
        version = "%d.%d.%d" % sys.version_info[:3]
        # `secret` stays empty: holding the inherited channel is the authentication.
        hello = channel.request("hello", fatal=True, secret="", pid=os.getpid(), python=version)
        play, spec = hello.get("play"), hello.get("logic")
        if not isinstance(play, dict) or not isinstance(spec, dict):
            _die(EXIT_PROTOCOL, f"the answer to hello lacks play or logic: {sorted(hello)}")
        # A warm runner is started before its Play is known; the answer to hello names it.
        os.environ["HERO_LOGIC_PLAY_SID"] = str(play.get("sid", ""))
        _install(runtime)
        runtime.run_top(play, spec, hello.get("memo"))
    except BaseException as exc:  # noqa: B036 - a runner bug must still say what happened
        _die(EXIT_PROTOCOL, "internal error: " + format_traceback(exc, trim=False))
    _exit_cleanly()


def _same_json(a, b):
    """Whether two decoded JSON values have the same canonical JSON: equal, and of the same
    type all the way down (1, 1.0 and True differ; so do 0.0 and -0.0)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(map(_same_json, a, b))
    if type(a) is float:
        return repr(a) == repr(b)
    return a == b


def _memo_by_seq(memo):
    """The daemon's `memo` list by seq."""
    if not isinstance(memo, list):
        return {}
    return {m["seq"]: m for m in memo if isinstance(m, dict) and isinstance(m.get("seq"), int)}


def _callee_policy(given, name):
    """The retry policy the daemon read from a callee's decorator, or None. One the SDK
    refuses fails the callee itself when its module is imported, so it is not applied here."""
    if not isinstance(given, dict):
        return None
    try:
        return retrying.policy_of(given, f"the decorator of {name!r}")
    except (TypeError, ValueError):
        return None


if __name__ == "__main__":
    main()

