"""Privilege and file ownership of an instance run by root (issues 9.4, 10.2,
10.3, 10.6, 10.9): the mail owner cannot become root, password hashes are not
readable by others, an instance the mail owner cannot reach is refused with a
clear reason, postmaster and root reach the admin, and any local user can
submit mail with `sendmail` through the setgid maildrop."""
import os
import pwd
import re
import shutil
import signal
import smtplib
import stat
import subprocess
import tempfile
import unittest

import lbtest

EX_NOPERM, EX_TEMPFAIL, EX_CONFIG = 77, 75, 78
SENDER_USER = "lbtest-sender"


def as_user(user, argv, **kw):
    """Run argv as user (uid, gid, no supplementary groups), like a cron job of that user."""
    pw = pwd.getpwnam(user)
    return subprocess.run(["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid),
                           "--clear-groups"] + argv, capture_output=True, timeout=60, **kw)


def ensure_user(name, gid=None):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        cmd = ["useradd", "-M", "-d", "/nonexistent", "-s", "/bin/sh"]
        if gid is not None:
            cmd += ["-g", str(gid)]
        subprocess.run(cmd + [name], check=True, capture_output=True)
        return pwd.getpwnam(name)


def one_error_line(test, r):
    err = r.stderr if isinstance(r.stderr, str) else r.stderr.decode(errors="replace")
    lines = [l for l in err.splitlines() if l]
    test.assertEqual(len(lines), 1, err)
    test.assertTrue(lines[0].startswith("letterbox: "), err)
    return lines[0]


@unittest.skipUnless(os.geteuid() == 0, "needs root")
class UnreachableTest(unittest.TestCase):
    """9.4: a parent that vmail cannot traverse (mktemp -d is 0700)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lbtest-priv-")     # mode 0700, root's
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.dir = os.path.join(self.tmp, "inst")
        self.conf = os.path.join(self.dir, "letterbox.conf")

    def lb(self, *args, conf=True):
        return subprocess.run([lbtest.BIN] + (["-c", self.conf] if conf else []) + list(args),
                              capture_output=True, text=True, timeout=60)

    def test_init_refuses_up_front(self):
        r = self.lb("init", self.dir, "--port-base", str(lbtest.free_port_base()), conf=False)
        self.assertEqual(r.returncode, EX_NOPERM, r)
        line = one_error_line(self, r)
        self.assertIn(self.tmp + " is mode 0700", line)
        self.assertIn("chmod o+x " + self.tmp, line)
        self.assertFalse(os.path.exists(self.dir), "init left %s behind" % self.dir)

    def test_serve_and_admin_verbs_say_why(self):
        os.chmod(self.tmp, 0o755)
        base = lbtest.free_port_base()
        r = self.lb("init", self.dir, "--port-base", str(base), "--admin", "a@example.org", conf=False)
        self.assertEqual(r.returncode, 0, r)
        os.chmod(self.tmp, 0o700)
        for args in (("domain", "add", "example.com"), ("user", "list"), ("queue", "list")):
            r = self.lb(*args)
            self.assertEqual(r.returncode, EX_NOPERM, r)
            line = one_error_line(self, r)
            self.assertIn("cannot reach", line)
            self.assertIn("chmod o+x " + self.tmp, line)
            self.assertNotIn("sqlite", line)
        r = self.lb("serve")
        self.assertEqual(r.returncode, EX_NOPERM, r)
        self.assertIn("chmod o+x " + self.tmp, r.stderr)
        self.assertNotIn("queue_directory", r.stderr)
        self.assertFalse(lbtest.sanitizer_report(r.stderr), r.stderr)


@unittest.skipUnless(os.geteuid() == 0, "needs root")
class OwnershipTest(lbtest.InstanceTest):
    """10.2, 10.3: what root reads is root's; what the daemon writes is the owner's."""

    def owner(self):
        return pwd.getpwnam(self.inst.cli("config", "get", "mail_owner").out.strip())

    def test_layout_after_init(self):
        i, pw = self.inst, self.owner()
        self.assertEqual(i.cli("domain", "add", "example.com").rc, 0)
        self.assertEqual(i.cli("user", "add", "a@example.com", stdin="pw\n").rc, 0)

        def check(rel, uid, gid, mode):
            st = os.lstat(os.path.join(i.dir, rel))
            self.assertEqual((st.st_uid, st.st_gid, oct(stat.S_IMODE(st.st_mode))),
                             (uid, gid, oct(mode)), rel)
        check(".", 0, pw.pw_gid, 0o1775)
        check("letterbox.conf", 0, 0, 0o644)
        check("aliases", 0, 0, 0o644)
        check("tls", 0, 0, 0o755)
        check("tls/key.pem", 0, 0, 0o600)
        check("letterbox.db", pw.pw_uid, pw.pw_gid, 0o600)
        check("vmail", pw.pw_uid, pw.pw_gid, 0o700)
        # Nothing in the instance is world-writable.
        for root, dirs, files in os.walk(i.dir):
            for n in dirs + files:
                st = os.lstat(os.path.join(root, n))
                if not stat.S_ISLNK(st.st_mode):
                    self.assertFalse(st.st_mode & stat.S_IWOTH, os.path.join(root, n))

    def test_mail_owner_cannot_write_the_config(self):
        i, pw = self.inst, self.owner()
        r = as_user(pw.pw_name, ["sh", "-c", 'echo "mail_owner = root" >> "$1"', "sh", i.conf])
        self.assertNotEqual(r.returncode, 0, r)
        for argv in (["rm", "-f", i.conf], ["mv", i.conf, i.conf + ".x"],
                     ["sh", "-c", 'echo x > "$1.new" && mv "$1.new" "$1"', "sh", i.conf],
                     ["sh", "-c", 'echo x > "$1"', "sh", os.path.join(i.dir, "tls", "key.pem")],
                     ["rm", "-rf", os.path.join(i.dir, "tls")]):
            as_user(pw.pw_name, argv)
        with open(i.conf) as f:
            self.assertNotIn("mail_owner = root", f.read())
        self.assertTrue(os.path.exists(os.path.join(i.dir, "tls", "key.pem")))
        st = os.stat(i.conf)
        self.assertEqual((st.st_uid, st.st_mode & 0o022), (0, 0))

    def test_config_set_keeps_owner_and_mode(self):
        i, pw = self.inst, self.owner()
        os.chown(i.conf, 0, pw.pw_gid)
        os.chmod(i.conf, 0o640)
        self.assertEqual(i.cli("config", "set", "message_size_limit", "20000000").rc, 0)
        st = os.stat(i.conf)
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)), (0, pw.pw_gid, 0o640))
        self.assertEqual([n for n in os.listdir(i.dir) if ".tmp." in n], [])

    def test_mail_owner_root_is_refused(self):
        i = self.inst
        gid0 = ensure_user("lbtest-gid0", gid=0)
        for owner in ("root", gid0.pw_name):
            self.assertEqual(i.cli("config", "set", "mail_owner", owner).rc, 0)
            r = i.cli("config", "check")
            self.assertEqual(r.rc, EX_CONFIG, r)
            self.assertIn("must not be root", r.err)
            r = i.cli("domain", "list")
            self.assertEqual(r.rc, EX_NOPERM, r)
            self.assertIn("must not be root", r.err)
            p = subprocess.run([lbtest.BIN, "-c", i.conf, "serve"], capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(p.returncode, EX_NOPERM, p.stderr)
            self.assertIn("must not be root", p.stderr)
            self.assertNotIn("running as", p.stderr)

    def test_no_new_privs_after_drop(self):
        i, pw = self.inst, self.owner()
        proc = i.start()
        with open("/proc/%d/status" % proc.pid) as f:
            status = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        self.assertEqual(status["NoNewPrivs"].strip(), "1")
        self.assertEqual(status["Uid"].split()[:4], [str(pw.pw_uid)] * 4)
        self.assertEqual(status["Gid"].split()[:4], [str(pw.pw_gid)] * 4)
        self.assertEqual(status["Groups"].split(), [str(pw.pw_gid)])
        self.stop_clean()

    def test_modes_fixed_on_start(self):
        """An instance made by an older init: config and directory vmail's, database 0644."""
        i, pw = self.inst, self.owner()
        self.assertEqual(i.cli("domain", "add", "example.com").rc, 0)
        db = os.path.join(i.dir, "letterbox.db")
        os.chmod(db, 0o644)
        for p in (db + "-wal", db + "-shm"):
            with open(p, "ab"):
                pass
            os.chown(p, pw.pw_uid, pw.pw_gid)
            os.chmod(p, 0o644)
        os.chown(i.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(i.dir, 0o755)
        os.chown(i.conf, pw.pw_uid, pw.pw_gid)
        os.chmod(i.conf, 0o664)
        i.start()
        for p in (db, db + "-wal", db + "-shm"):
            if os.path.exists(p):
                st = os.stat(p)
                self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (pw.pw_uid, 0o600), p)
        st = os.stat(i.conf)
        self.assertEqual((st.st_uid, st.st_mode & 0o022), (0, 0))
        st = os.stat(i.dir)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o1775))
        self.assertIn("was writable by the mail owner", i.log())
        # Still works after the repair.
        with smtplib.SMTP("127.0.0.1", i.port("smtp"), timeout=10) as s:
            s.ehlo("x.example")
            self.assertEqual(s.docmd("MAIL FROM:<a@example.org>")[0], 250)
        self.stop_clean()


@unittest.skipUnless(os.geteuid() == 0, "needs root")
class AdminAddressTest(unittest.TestCase):
    """10.6, init side: --admin makes root and postmaster reach a person."""

    def test_admin_gets_postmaster_and_root(self):
        inst = lbtest.Instance(init=False)
        self.addCleanup(inst.cleanup)
        r = inst.run("init", inst.dir, "--hostname", "mail.example.test", "--port-base",
                     str(inst.base), "--admin", "boss@example.com", conf=False)
        self.assertEqual(r.rc, 0, r)
        self.assertNotIn("warning", r.err)
        with open(os.path.join(inst.dir, "aliases")) as f:
            text = f.read()
        self.assertRegex(text, r"(?m)^postmaster: root$")
        self.assertRegex(text, r"(?m)^root: boss@example.com$")
        self.assertEqual(inst.cli("domain", "add", "example.com").rc, 0)
        self.assertEqual(inst.cli("user", "add", "boss@example.com", stdin="pw\n").rc, 0)
        r = inst.cli("config", "check")
        self.assertEqual(r.rc, 0, r)
        self.assertNotIn("admin", r.err)
        inst.start()
        self.assertTrue(inst.wait_log("qmgr: started"))
        with smtplib.SMTP("127.0.0.1", inst.port("smtp"), timeout=10) as s:
            s.sendmail("a@example.org", ["postmaster@example.com"], b"Subject: to pm\r\n\r\nx\r\n")
        r = inst.cli("sendmail", "root", stdin="Subject: cron\n\nfrom cron\n")
        self.assertEqual(r.rc, 0, r)
        files = lbtest.wait_files(inst.maildir("boss@example.com"), 2)
        self.assertEqual(len(files), 2, inst.log()[-3000:])
        self.assertEqual(inst.stop(), 0)

    def test_without_admin_init_and_config_check_warn(self):
        inst = lbtest.Instance(init=False)
        self.addCleanup(inst.cleanup)
        r = inst.run("init", inst.dir, "--port-base", str(inst.base), conf=False)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("--admin", r.err)
        r = inst.cli("config", "check")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("no admin address", r.err)
        r = inst.run("init", inst.dir + "2", "--admin", "nodomain", conf=False)
        self.assertEqual(r.rc, 64, r)
        self.assertFalse(os.path.exists(inst.dir + "2/letterbox.conf"))


@unittest.skipUnless(os.geteuid() == 0, "needs root")
class LocalUserSendmailTest(lbtest.InstanceTest):
    """10.9: a local user who is neither root nor the mail owner submits with sendmail."""

    def setUp(self):
        super().setUp()
        self.user = ensure_user(SENDER_USER)
        i = self.inst
        self.assertEqual(i.cli("domain", "add", "example.com").rc, 0)
        self.assertEqual(i.cli("user", "add", "bob@example.com", stdin="pw\n").rc, 0)
        self.sendmail = os.path.join(i.dir, "bin", "sendmail")
        # The daemon and the user's process run as other users: the suppressions
        # file of the sanitizer build must stay readable (it is, under /work).

    def test_nonroot_sendmail_delivers_with_its_uid(self):
        i = self.inst
        st = os.stat(self.sendmail)
        self.assertTrue(st.st_mode & stat.S_ISGID)
        self.assertFalse(st.st_mode & stat.S_ISUID)
        md = os.stat(os.path.join(i.dir, "spool", "maildrop"))
        self.assertEqual(stat.S_IMODE(md.st_mode), 0o1730)
        i.start()
        self.assertTrue(i.wait_log("qmgr: started"))
        # No -c: the instance's own bin/sendmail finds its config.
        r = as_user(SENDER_USER, [self.sendmail, "bob@example.com"],
                    input=b"Subject: from a local user\n\nhello from cron\n")
        self.assertEqual(r.returncode, 0, r)
        files = lbtest.wait_files(i.maildir("bob@example.com"), 1)
        self.assertEqual(len(files), 1, i.log()[-3000:])
        data = open(files[0], "rb").read()
        self.assertIn(b"from userid %d)" % self.user.pw_uid, data)
        self.assertIn(b"Return-Path: <%s@mail.example.test>" % SENDER_USER.encode(), data)
        self.assertIn(b"\r\n\r\nhello from cron" if b"\r\n" in data else b"\n\nhello from cron", data)
        self.assertIn("pickup qid=", i.log())
        self.assertEqual(os.listdir(os.path.join(i.dir, "spool", "maildrop")), [])
        # root's sendmail records uid 0, not the mail owner's.
        r = i.cli("sendmail", "bob@example.com", stdin="Subject: root\n\nfrom root\n")
        self.assertEqual(r.rc, 0, r)
        files = lbtest.wait_files(i.maildir("bob@example.com"), 2)
        texts = [open(f, "rb").read() for f in files]
        self.assertTrue(any(b"from userid 0)" in t and b"from root" in t for t in texts), texts)
        self.stop_clean()

    def test_submitted_while_daemon_down_is_picked_up_at_start(self):
        i = self.inst
        r = as_user(SENDER_USER, [self.sendmail, "-i", "bob@example.com"],
                    input=b"Subject: queued offline\n\nwaits in the maildrop\n")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(len(os.listdir(os.path.join(i.dir, "spool", "maildrop"))), 1)
        i.start()
        files = lbtest.wait_files(i.maildir("bob@example.com"), 1)
        self.assertEqual(len(files), 1, i.log()[-3000:])
        self.assertIn(b"waits in the maildrop", open(files[0], "rb").read())
        self.stop_clean()

    def test_plain_binary_cannot_write_the_queue(self):
        i = self.inst
        r = as_user(SENDER_USER, [lbtest.BIN, "-c", i.conf, "sendmail", "bob@example.com"],
                    input=b"Subject: x\n\nx\n")
        self.assertEqual(r.returncode, EX_TEMPFAIL, r)
        self.assertIn("setgid bin/sendmail", one_error_line(self, r))

    def test_setgid_copy_runs_only_sendmail(self):
        pw = self.user
        p = subprocess.run(["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid),
                            "--clear-groups", "python3", "-c",
                            "import os,sys; os.execv(sys.argv[1], ['letterbox', 'domain', 'list'])",
                            self.sendmail], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, EX_NOPERM, p)
        self.assertIn("only the sendmail verb", p.stderr)

    def test_hostile_maildrop_file_goes_to_corrupt(self):
        i, pw = self.inst, self.user
        bad = os.path.join(i.dir, "spool", "maildrop", "1.2.bad")
        with open(bad, "wb") as f:
            f.write(b"letterbox-maildrop 1\nSroot@example.com\nR<bob@example.com>\nXoops\n\nbody\n")
        os.chown(bad, pw.pw_uid, pw.pw_gid)
        i.start()
        self.assertTrue(i.wait_log("moved to"), i.log())
        self.assertEqual(os.listdir(os.path.join(i.dir, "spool", "maildrop")), [])
        self.assertEqual(lbtest.wait_files(i.maildir("bob@example.com"), 1, timeout=1), [])
        self.stop_clean()


if __name__ == "__main__":
    unittest.main()
