"""SMTP server hardening from the outside probe (issue 10, items 1, 5, 6, 7, 8,
10 and 11): duplicate recipients, error throttling and the unknown-recipient
rate (checked with fail2ban-regex), postmaster and undeliverable recipients
refused at RCPT, queue_minfree on a small tmpfs, header_size_limit, the TLS
minimum on port 25, DATA timeouts and `queue delete` during a delivery."""
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import warnings

import lbtest
from lbtest import InstanceTest, wait_files

FAIL2BAN_COMMON = "/etc/fail2ban/filter.d/common.conf"
CONTRIB = os.path.join(lbtest.ROOT, "contrib", "fail2ban")


class Base(InstanceTest):
    conf = {}
    start_now = True

    def setUp(self):
        super().setUp()
        i = self.inst
        for d in ("example.com", "example.net"):
            self.assertEqual(i.cli("domain", "add", d).rc, 0)
        for u in ("a@example.com", "b@example.com", "carol@example.com"):
            self.assertEqual(i.cli("user", "add", u, stdin="pw\n").rc, 0, u)
        for k, v in self.conf.items():
            r = i.cli("config", "set", k, v)
            self.assertEqual(r.rc, 0, r)
        if self.start_now:
            i.start()

    def tearDown(self):
        self.stop_clean()

    def smtp(self):
        s = smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=20)
        s.ehlo("client.example.org")
        return s

    def files(self, addr, n=1, timeout=15):
        return wait_files(self.inst.maildir(addr), n, timeout)


class TestDuplicates(Base):
    conf = {"message_size_limit": "2000000"}

    def test_1000_duplicate_rcpts_one_file(self):
        body = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 1000	# 1 MB
        with self.smtp() as s:
            self.assertEqual(s.docmd("MAIL FROM:<x@example.org>")[0], 250)
            for _ in range(1000):
                code, resp = s.docmd("RCPT TO:<a@example.com>")
                self.assertEqual(code, 250, resp)
            code, resp = s.data(body)
            self.assertEqual(code, 250, resp)
        self.assertEqual(len(self.files("a@example.com")), 1)
        # nothing more arrives
        self.assertEqual(len(self.files("a@example.com", 2, timeout=2)), 1)
        self.assertTrue(self.inst.wait_log("nrcpt=1"), self.inst.log()[-2000:])

    def test_five_spellings_one_file_first_dsn_wins(self):
        i = self.inst
        self.assertEqual(i.cli("forward", "add", "list@example.com", "a@example.com,b@example.com").rc, 0)
        with self.smtp() as s:
            self.assertEqual(s.docmd("MAIL FROM:<carol@example.com>")[0], 250)
            for rcpt in ("<a@example.com> NOTIFY=SUCCESS", "<A@example.com> NOTIFY=NEVER",
                         '<"a"@example.com>', "<a@EXAMPLE.COM>", "<list@example.com> NOTIFY=NEVER"):
                code, resp = s.docmd("RCPT TO:" + rcpt)
                self.assertEqual(code, 250, (rcpt, resp))
            code, resp = s.data(b"Subject: five\r\n\r\nx\r\n")
            self.assertEqual(code, 250, resp)
        self.assertEqual(len(self.files("b@example.com")), 1)
        self.assertEqual(len(self.files("a@example.com")), 1)
        # the first RCPT's NOTIFY=SUCCESS stands: one delivery notice to the sender
        self.assertEqual(len(self.files("carol@example.com")), 1, i.log()[-3000:])
        self.assertEqual(len(self.files("a@example.com", 2, timeout=2)), 1)
        self.assertTrue(i.wait_log("2.0.0 duplicate recipient"), i.log()[-3000:])
        # the other way round: the first one says NEVER, a later duplicate SUCCESS
        with self.smtp() as s:
            s.docmd("MAIL FROM:<carol@example.com>")
            self.assertEqual(s.docmd("RCPT TO:<b@example.com> NOTIFY=NEVER")[0], 250)
            self.assertEqual(s.docmd("RCPT TO:<B@Example.com> NOTIFY=SUCCESS")[0], 250)
            self.assertEqual(s.data(b"Subject: two\r\n\r\nx\r\n")[0], 250)
        self.assertEqual(len(self.files("b@example.com", 2)), 2)
        self.assertEqual(len(self.files("carol@example.com", 2, timeout=3)), 1)


class TestErrorThrottle(Base):
    conf = {"smtpd_soft_error_limit": "3", "smtpd_hard_error_limit": "6",
            "smtpd_error_sleep_time": "1s"}

    def timed(self, s, cmd):
        t = time.monotonic()
        code, _ = s.docmd(cmd)
        return code, time.monotonic() - t

    def test_replies_delayed_after_soft_limit_then_disconnect(self):
        with self.smtp() as s:
            for _ in range(3):
                code, dt = self.timed(s, "BOGUS")
                self.assertEqual(code, 502)
                self.assertLess(dt, 0.5)
            # past the soft limit: every reply waits smtpd_error_sleep_time, good ones too
            code, dt = self.timed(s, "NOOP")
            self.assertEqual(code, 250)
            self.assertGreaterEqual(dt, 0.9)
            for _ in range(2):
                code, dt = self.timed(s, "BOGUS")
                self.assertEqual(code, 502)
                self.assertGreaterEqual(dt, 0.9)
            code, dt = self.timed(s, "BOGUS")	# the 6th error: its reply, then 421 and close
            self.assertEqual(code, 502)
            self.assertEqual(s.getreply()[0], 421)
            s.close()
        self.assertTrue(self.inst.wait_log("too many errors"))


def fail2ban_regex(test, logfile):
    d = tempfile.mkdtemp(prefix="f2b-")
    test.addCleanup(shutil.rmtree, d, True)
    os.mkdir(os.path.join(d, "filter.d"))
    shutil.copy(FAIL2BAN_COMMON, os.path.join(d, "filter.d"))
    shutil.copy(os.path.join(CONTRIB, "filter.d", "letterbox.conf"), os.path.join(d, "filter.d"))
    p = subprocess.run(["fail2ban-regex", "-v", logfile, os.path.join(d, "filter.d", "letterbox.conf")],
                       capture_output=True, text=True, timeout=60)
    test.assertEqual(p.returncode, 0, p.stdout + p.stderr)
    return p.stdout


class TestUnknownRecipientRate(Base):
    # 127.0.0.1 outside mynetworks (mynetworks is exempt, as in Postfix)
    conf = {"mynetworks": "192.0.2.0/24", "smtpd_client_unknown_recipient_limit": "4",
            "smtpd_error_sleep_time": "0"}

    def test_rate_421_and_fail2ban_line(self):
        codes = []
        for _ in range(2):	# across sessions: the count is per client address
            with self.smtp() as s:
                s.docmd("MAIL FROM:<x@example.org>")
                for n in range(3):
                    code, resp = s.docmd("RCPT TO:<nobody%d@example.com>" % n)
                    codes.append(code)
                    if code == 421:
                        break
                if code != 421:
                    s.docmd("QUIT")
        self.assertEqual(codes, [550, 550, 550, 550, 421], codes)
        # still refused in a new session, even for a good address, until the window passes
        with self.smtp() as s:
            s.docmd("MAIL FROM:<x@example.org>")
            self.assertEqual(s.docmd("RCPT TO:<a@example.com>")[0], 421)
        self.assertTrue(self.inst.wait_log("unknown recipient rate exceeded rip=127.0.0.1"))
        self.stop_clean()
        if shutil.which("fail2ban-regex") is None or not os.path.exists(FAIL2BAN_COMMON):
            self.skipTest("fail2ban not installed")
        out = fail2ban_regex(self, self.inst.logpath)
        self.assertRegex(out, r"Lines: \d+ lines, 0 ignored, 2 matched")
        self.assertIn("127.0.0.1", out)

    def tearDown(self):
        if self.inst.proc is not None:
            self.stop_clean()


class TestPostmaster(Base):
    def rcpt(self, addr):
        with self.smtp() as s:
            s.docmd("MAIL FROM:<x@example.org>")
            return s.docmd("RCPT TO:<%s>" % addr)

    def test_postmaster_without_admin_refused_at_rcpt(self):
        # init's aliases: postmaster -> root, and root -> nothing
        for addr in ("postmaster@example.com", "postmaster", "postmaster@mail.example.test",
                     "root@mail.example.test"):
            code, resp = self.rcpt(addr)
            self.assertEqual(code, 550, (addr, resp))
            self.assertIn(b"undeliverable", resp)
        # nothing was queued, so nothing can bounce
        self.assertEqual(os.listdir(os.path.join(self.inst.dir, "spool", "queue")), [])

    def test_postmaster_goes_to_admin(self):
        with open(os.path.join(self.inst.dir, "aliases"), "a") as f:
            f.write("root: carol@example.com\nnothing: /dev/null\n")
        with self.smtp() as s:
            s.sendmail("x@example.org", ["postmaster@example.com", "PostMaster@example.net"],
                       b"Subject: pm\r\n\r\nx\r\n")
        self.assertEqual(len(self.files("carol@example.com")), 1)
        # a local name whose alias leads nowhere deliverable
        code, resp = self.rcpt("nothing@mail.example.test")
        self.assertEqual(code, 550, resp)
        # a mailbox named postmaster wins over the aliases
        self.assertEqual(self.inst.cli("user", "add", "postmaster@example.net", stdin="pw\n").rc, 0)
        with self.smtp() as s:
            s.sendmail("x@example.org", ["postmaster@example.net"], b"Subject: pm2\r\n\r\nx\r\n")
        self.assertEqual(len(self.files("postmaster@example.net")), 1)


class TestHeaderLimit(Base):
    conf = {"header_size_limit": "102400"}

    def test_header_over_limit_552(self):
        big = b"X-Big: " + b"y" * (5 * 1024 * 1024) + b"\r\n"
        with self.smtp() as s:
            s.docmd("MAIL FROM:<x@example.org>")
            s.docmd("RCPT TO:<a@example.com>")
            code, resp = s.data(b"Subject: big header\r\n" + big + b"\r\nbody\r\n")
            self.assertEqual(code, 552, resp)
            self.assertIn(b"5.3.4", resp)
            # BDAT too, and with folded lines
            s.docmd("MAIL FROM:<x@example.org>")
            s.docmd("RCPT TO:<a@example.com>")
            hdr = b"X-Folded: a\r\n" + b" " + b"z" * 1000 + b"\r\n"
            msg = b"Subject: f\r\n" + hdr * 120 + b"\r\nbody\r\n"
            s.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
            code, resp = s.getreply()
            self.assertEqual(code, 552, resp)
            # under the limit: delivered as it came
            s.docmd("MAIL FROM:<x@example.org>")
            s.docmd("RCPT TO:<a@example.com>")
            ok = b"Subject: ok\r\nX-Big: " + b"y" * 90000 + b"\r\n\r\n" + b"b" * 200000 + b"\r\n"
            code, resp = s.data(ok)
            self.assertEqual(code, 250, resp)
        files = self.files("a@example.com")
        self.assertEqual(len(files), 1)
        self.assertTrue(lbtest.read_msg(files[0]).endswith(ok))


class TestQueueMinfree(Base):
    start_now = False

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a tmpfs")
        i = self.inst
        self.mnt = os.path.join(i.tmp, "qfs")
        os.mkdir(self.mnt)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", self.mnt],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs: " + r.stderr)
        self.addCleanup(subprocess.run, ["umount", "-l", self.mnt])
        spool = os.path.join(i.dir, "spool")
        subprocess.run(["cp", "-a", spool + "/.", self.mnt], check=True)
        st = os.stat(spool)
        os.chown(self.mnt, st.st_uid, st.st_gid)
        os.chmod(self.mnt, st.st_mode & 0o7777)
        self.assertEqual(i.cli("config", "set", "queue_directory", self.mnt).rc, 0)

    def mail(self, size=None):
        with self.smtp() as s:
            return s.docmd("MAIL FROM:<x@example.org>" + (" SIZE=%d" % size if size else ""))

    def test_452_below_minfree(self):
        i = self.inst
        # default: 2 x message_size_limit (10240000) = 20 MB > the 16 MB free
        i.start()
        code, resp = self.mail()
        self.assertEqual(code, 452, resp)
        self.assertIn(b"4.3.1 Insufficient system storage", resp)
        i.stop()
        self.assertEqual(i.cli("config", "set", "queue_minfree", "8m").rc, 0)
        i.start()
        self.assertEqual(self.mail()[0], 250)
        self.assertEqual(self.mail(size=5 * 1024 * 1024)[0], 250)
        self.assertEqual(self.mail(size=9 * 1024 * 1024)[0], 452)	# SIZE counts too
        with self.smtp() as s:
            s.sendmail("x@example.org", ["a@example.com"], b"Subject: ok\r\n\r\nx\r\n")
        self.assertEqual(len(self.files("a@example.com")), 1)
        # fill the file system to under 8 MB free
        with open(os.path.join(self.mnt, "filler"), "wb") as f:
            f.write(b"\0" * (9 * 1024 * 1024))
        code, resp = self.mail()
        self.assertEqual(code, 452, resp)
        os.unlink(os.path.join(self.mnt, "filler"))
        self.assertEqual(self.mail()[0], 250)


def tls_client(maxv=None, minv=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        c.check_hostname = False
        c.verify_mode = ssl.CERT_NONE
        c.set_ciphers("DEFAULT:@SECLEVEL=0")
        if minv:
            c.minimum_version = minv
        if maxv:
            c.maximum_version = maxv
    return c


class TestTlsMinimum(Base):
    def starttls(self, service, ctx):
        s = smtplib.SMTP("127.0.0.1", self.inst.port(service), timeout=10)
        try:
            s.ehlo("x")
            s.starttls(context=ctx)
            s.ehlo("x")
            return s.sock.version()
        finally:
            try:
                s.close()
            except Exception:
                pass

    def test_port25_tls10_default_submission_12(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            v10, v11 = ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1
        self.assertEqual(self.starttls("smtp", tls_client(maxv=v10, minv=v10)), "TLSv1")
        self.assertEqual(self.starttls("smtp", tls_client(maxv=v11, minv=v10)), "TLSv1.1")
        self.assertEqual(self.starttls("smtp", tls_client()), "TLSv1.3")
        for svc in ("submission",):
            with self.assertRaises((ssl.SSLError, OSError, smtplib.SMTPException)):
                self.starttls(svc, tls_client(maxv=v11, minv=v10))
        self.assertEqual(self.starttls("submission", tls_client()), "TLSv1.3")
        # and the setting
        self.inst.stop()
        self.assertEqual(self.inst.cli("config", "set", "smtpd_tls_protocols", ">=TLSv1.2").rc, 0)
        self.assertNotEqual(self.inst.cli("config", "set", "smtpd_tls_protocols", ">=SSLv3").rc, 0)
        self.inst.start()
        with self.assertRaises((ssl.SSLError, OSError, smtplib.SMTPException)):
            self.starttls("smtp", tls_client(maxv=v11, minv=v10))
        self.assertEqual(self.starttls("smtp", tls_client()), "TLSv1.3")


class TestDataTimeout(Base):
    conf = {"smtpd_timeout": "2s", "smtpd_data_timeout": "5s"}

    def test_data_has_its_own_timeout(self):
        with self.smtp() as s:
            s.docmd("MAIL FROM:<x@example.org>")
            s.docmd("RCPT TO:<a@example.com>")
            self.assertEqual(s.docmd("DATA")[0], 354)
            s.send(b"Subject: slow\r\n\r\n")
            time.sleep(3)	# longer than smtpd_timeout, shorter than smtpd_data_timeout
            s.send(b"body\r\n.\r\n")
            code, resp = s.getreply()
            self.assertEqual(code, 250, resp)
            # back to the command timeout after DATA
            t = time.monotonic()
            self.assertEqual(s.getreply()[0], 421)
            self.assertLess(time.monotonic() - t, 4.5)
            s.close()
        self.assertEqual(len(self.files("a@example.com")), 1)
        # a client silent in DATA is dropped after smtpd_data_timeout
        with self.smtp() as s:
            s.docmd("MAIL FROM:<x@example.org>")
            s.docmd("RCPT TO:<a@example.com>")
            s.docmd("DATA")
            t = time.monotonic()
            code, resp = s.getreply()
            self.assertEqual(code, 421, resp)
            self.assertGreater(time.monotonic() - t, 4)
        self.assertTrue(self.inst.wait_log("timeout in state"))


class StallingSink:
    """A one-shot SMTP peer that stops reading after 354 until released, then
    reads to the end: did the final dot arrive?"""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(1)
        self.port = self.ls.getsockname()[1]
        self.in_data = threading.Event()
        self.release = threading.Event()
        self.done = threading.Event()
        self.got_dot = None
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        self.ls.settimeout(60)
        c, _ = self.ls.accept()
        c.settimeout(60)
        f = c.makefile("rb")
        c.sendall(b"220 stall.test ESMTP\r\n")
        try:
            while True:
                line = f.readline()
                if not line:
                    break
                cmd = line[:4].upper()
                if cmd == b"EHLO":
                    c.sendall(b"250-stall.test\r\n250 8BITMIME\r\n")
                elif cmd == b"DATA":
                    c.sendall(b"354 go\r\n")
                    self.in_data.set()
                    self.release.wait(60)
                    tail = b""
                    self.got_dot = False
                    while True:
                        chunk = f.read1(65536)
                        if not chunk:
                            break
                        tail = (tail + chunk)[-5:]
                        if tail == b"\r\n.\r\n":
                            self.got_dot = True
                            c.sendall(b"250 ok\r\n")
                            break
                elif cmd == b"QUIT":
                    c.sendall(b"221 bye\r\n")
                    break
                else:
                    c.sendall(b"250 ok\r\n")
        except OSError:
            pass
        finally:
            c.close()
            self.ls.close()
            self.done.set()


class TestQueueDeleteDuringDelivery(Base):
    conf = {"message_size_limit": "40000000"}

    def test_deleted_message_is_not_completed(self):
        i = self.inst
        sink = StallingSink()
        self.assertEqual(i.cli("transport", "set", "remote.test", "smtp:[127.0.0.1]:%d" % sink.port).rc, 0)
        body = b"Subject: big\r\n\r\n" + (b"z" * 998 + b"\r\n") * 12000	# 12 MB
        with self.smtp() as s:
            s.sendmail("x@example.org", ["r@remote.test"], body)
        self.assertTrue(sink.in_data.wait(30), i.log()[-3000:])
        qids = os.listdir(os.path.join(i.dir, "spool", "queue"))
        qid = [q for q in qids if not q.endswith(".st")][0]
        r = i.cli("queue", "delete", qid)
        self.assertEqual(r.rc, 0, r)
        sink.release.set()
        self.assertTrue(sink.done.wait(60))
        self.assertIs(sink.got_dot, False, i.log()[-3000:])
        self.assertTrue(i.wait_log("queue file deleted during delivery"), i.log()[-3000:])


if __name__ == "__main__":
    unittest.main()
