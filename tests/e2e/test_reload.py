"""SIGHUP that moves queue_directory (issue 11 item 4): the daemon context's
modules follow it.  After the reload the old spool is moved out of the way,
so a message can only be accepted if it is written, fsynced (the SMTP
syncer) and found (queue manager inotify) in the new directory; then it
must be delivered.  Three ways in: SMTP, root's `sendmail` (which writes the
new queue directly, so only the queue manager's watch can find it) and, when
run as root, a local user's `sendmail` through the new maildrop (found in
time only by the pickup's moved watch: its rescan is once a minute)."""
import os
import signal
import smtplib
import subprocess
import unittest

import lbtest
from test_privilege import SENDER_USER, as_user, ensure_user


class ReloadQueueDirectoryTest(lbtest.InstanceTest):
    def smtp(self, text):
        with smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=10) as s:
            s.sendmail("x@example.org", ["a@example.com"],
                       b"Subject: t\r\n\r\n" + text.encode() + b"\r\n")

    def test_sighup_moves_queue_directory(self):
        i = self.inst
        self.assertEqual(i.cli("domain", "add", "example.com").rc, 0)
        self.assertEqual(i.cli("user", "add", "a@example.com", stdin="pw\n").rc, 0)
        old = os.path.join(i.dir, "spool")
        new = os.path.join(i.dir, "spool2")
        # The new spool as `letterbox init` made the old one (owner, modes).
        subprocess.run(["cp", "-a", old, new], check=True)
        i.start()
        self.assertTrue(i.wait_log("qmgr: started"), i.log())
        # One message before: the SMTP side's syncer now exists, for the old directory.
        self.smtp("before")
        self.assertEqual(len(lbtest.wait_files(i.maildir("a@example.com"), 1)), 1, i.log())

        self.assertEqual(i.cli("config", "set", "queue_directory", new).rc, 0)
        i.send_signal(signal.SIGHUP)
        self.assertTrue(i.wait_log("-> %s (messages left" % new), i.log())
        os.rename(old, old + ".gone")

        self.smtp("via smtp")
        p = subprocess.run([lbtest.BIN, "-c", i.conf, "sendmail", "a@example.com"],
                           input=b"Subject: sendmail\n\nvia sendmail\n", capture_output=True,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        want = [b"via smtp", b"via sendmail"]
        if os.geteuid() == 0:
            ensure_user(SENDER_USER)
            r = as_user(SENDER_USER, [os.path.join(i.dir, "bin", "sendmail"), "a@example.com"],
                        input=b"Subject: maildrop\n\nvia the maildrop\n")
            self.assertEqual(r.returncode, 0, r)
            want.append(b"via the maildrop")

        files = lbtest.wait_files(i.maildir("a@example.com"), 1 + len(want))
        self.assertEqual(len(files), 1 + len(want), i.log())
        bodies = b"".join(open(f, "rb").read() for f in files)
        for w in want:
            self.assertIn(w, bodies)
        # Nothing was written under the old path (it no longer exists).
        self.assertFalse(os.path.exists(old))
        q = os.path.join(new, "queue")
        self.assertTrue(lbtest.wait_until(lambda: not os.listdir(q)), os.listdir(q))
        self.stop_clean()


if __name__ == "__main__":
    unittest.main()
