"""The work dir a Play's process binds back into the tmpfs over the data dir: one entry
directly in the work root, whatever the path it is given says. Real directories and
symlinks in a temp dir; the mount itself is covered by the daemon's hostile tests."""

import os
import tempfile
import unittest

from hero_tracing import sandbox


class WorkDirName(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.root = os.path.join(os.path.realpath(self.dir.name), "work")
        os.makedirs(os.path.join(self.root, "p1"))

    def config(self, work_dir, work_root=None):
        return {"work_dir": work_dir, "work_root": self.root if work_root is None else work_root}

    def test_the_daemons_own_layout_is_taken_without_resolving_it_again(self):
        self.assertEqual(sandbox.work_dir_name(self.config(os.path.join(self.root, "p1")), self.root), "p1")

    def test_a_name_that_climbs_out_of_the_root_is_refused(self):
        for name in ("..", "."):
            with self.subTest(name=name), self.assertRaises(sandbox.SandboxError):
                sandbox.work_dir_name(self.config(os.path.join(self.root, name)), self.root)

    def test_a_work_dir_outside_the_root_is_refused(self):
        elsewhere = os.path.join(self.dir.name, "elsewhere")
        os.makedirs(elsewhere)
        with self.assertRaises(sandbox.SandboxError):
            sandbox.work_dir_name(self.config(elsewhere), self.root)

    def test_a_path_through_a_symlink_is_resolved_and_checked(self):
        link = os.path.join(self.dir.name, "link")
        os.symlink(self.root, link)
        # Given through the link, the parent does not match the root as written: resolved.
        self.assertEqual(sandbox.work_dir_name(self.config(os.path.join(link, "p1")), self.root), "p1")
        outside = os.path.join(self.dir.name, "outside")
        os.makedirs(outside)
        os.symlink(outside, os.path.join(self.root, "sneaky"))
        with self.assertRaises(sandbox.SandboxError):
            sandbox.work_dir_name(self.config(os.path.join(link, "sneaky")), self.root)

    def test_without_a_root_resolved_ahead_the_work_dir_is_resolved(self):
        self.assertEqual(sandbox.work_dir_name(self.config(os.path.join(self.root, "p1"), work_root="")), "p1")


if __name__ == "__main__":
    unittest.main()
