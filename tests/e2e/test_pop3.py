"""POP3 server (issue 5 item 3): RFC 1939 with CAPA, STLS, SASL, over the
pop3 (STLS) and pop3s (implicit TLS) listeners, driven by Python's poplib,
curl and openssl s_client.  Messages are put into the user's Maildir the way
our delivery names them; the checks look at the replies, the Maildir files
and the log lines."""
import os
import pwd
import re
import signal
import socket
import ssl
import subprocess
import time
import poplib
import base64
import fcntl
import smtplib
import shutil
import unittest

import lbtest

USER = "alice@example.com"
PASSWORD = "s3cret pass"

MSG1 = (b"Return-Path: <bob@example.org>\r\nDelivered-To: alice@example.com\r\n"
        b"From: bob@example.org\r\nTo: alice@example.com\r\nSubject: one\r\n\r\n"
        b"Hello Alice.\r\n.leading dot line\r\n..two dots\r\n.\r\nlast line\r\n")
MSG2 = (b"From: carol@example.net\r\nSubject: two\r\n\r\n"
        b"line 1\r\nline 2\r\nline 3\r\nline 4\r\n")


def tls_context(inst):
    ctx = ssl.create_default_context(cafile=os.path.join(inst.dir, "tls", "cert.pem"))
    # The certificate names mail.example.test; we connect to 127.0.0.1.
    ctx.check_hostname = False
    return ctx


class Pop3Base(lbtest.InstanceTest):
    conf = {"auth_failure_delay": "0"}

    def setUp(self):
        super().setUp()
        self.seq = 0
        r = self.inst.cli("domain", "add", "example.com")
        self.assertEqual(r.rc, 0, r)
        r = self.inst.cli("user", "add", USER, stdin=PASSWORD + "\n")
        self.assertEqual(r.rc, 0, r)
        for k, v in self.conf.items():
            r = self.inst.cli("config", "set", k, v)
            self.assertEqual(r.rc, 0, r)
        self.ctx = tls_context(self.inst)

    def start(self):
        self.inst.start(wait_for=("pop3", "pop3s"))
        self.addCleanup(self.inst.kill)

    # -- the Maildir -------------------------------------------------------
    def owner(self):
        if os.geteuid() != 0:
            return None
        name = self.inst.cli("config", "get", "mail_owner").out.strip()
        pw = pwd.getpwnam(name)
        return pw.pw_uid, pw.pw_gid

    def chown_tree(self, path):
        own = self.owner()
        if own is None:
            return
        top = os.path.join(self.inst.dir, "vmail")
        for root, dirs, files in os.walk(top):
            os.chown(root, *own)
            for f in files:
                os.chown(os.path.join(root, f), *own)

    def put(self, data, sub="new"):
        """Write a message as our delivery would name it; returns its base name."""
        md = self.inst.maildir(USER)
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, d), exist_ok=True)
        self.seq += 1
        base = "17000000%02d.M%06dQ9KQ2M7Z%dR0.mail.example.test,S=%d" % (
            self.seq, 123456 + self.seq, self.seq, len(data))
        name = base if sub == "new" else base + ":2,S"
        path = os.path.join(md, sub, name)
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.rename(path + ".tmp", path)
        self.chown_tree(md)
        return base

    def files(self):
        md = self.inst.maildir(USER)
        out = []
        for d in ("new", "cur"):
            p = os.path.join(md, d)
            if os.path.isdir(p):
                out += [n.split(":2,")[0] for n in os.listdir(p)]
        return sorted(out)

    # -- clients -----------------------------------------------------------
    def plain(self):
        return poplib.POP3("127.0.0.1", self.inst.port("pop3"), timeout=20)

    def stls(self):
        p = self.plain()
        p.stls(self.ctx)
        return p

    def login(self, p=None):
        p = p or self.stls()
        p.user(USER)
        self.assertTrue(p.pass_(PASSWORD).startswith(b"+OK"))
        return p

    def raw(self, service="pop3"):
        s = socket.create_connection(("127.0.0.1", self.inst.port(service)), timeout=20)
        if service == "pop3s":
            s = self.ctx.wrap_socket(s)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        return s, f


class Pop3Test(Pop3Base):
    def test_stls_user_pass_and_transaction(self):
        b1 = self.put(MSG1)
        b2 = self.put(MSG2)
        self.start()
        p = self.plain()
        capa = p.capa()
        self.assertIn("STLS", capa)
        self.assertIn("UIDL", capa)
        self.assertIn("RESP-CODES", capa)
        self.assertNotIn("USER", capa)	# no plaintext login offered without TLS
        self.assertTrue(p.stls(self.ctx).startswith(b"+OK"))
        capa = p.capa()
        self.assertIn("USER", capa)
        self.assertEqual(capa.get("SASL"), ["PLAIN", "LOGIN"])
        self.assertNotIn("STLS", capa)
        self.login(p)
        self.assertEqual(p.stat(), (2, len(MSG1) + len(MSG2)))
        resp, lines, _ = p.list()
        self.assertEqual(lines, [b"1 %d" % len(MSG1), b"2 %d" % len(MSG2)])
        self.assertEqual(p.list(2), b"+OK 2 %d" % len(MSG2))
        resp, lines, _ = p.uidl()
        self.assertEqual(lines, [b"1 " + b1.encode(), b"2 " + b2.encode()])
        self.assertEqual(p.uidl(1), b"+OK 1 " + b1.encode())
        # RETR is byte exact (poplib undoes the dot-stuffing).
        resp, lines, octets = p.retr(1)
        self.assertEqual(b"\r\n".join(lines) + b"\r\n", MSG1)
        self.assertTrue(resp.startswith(b"+OK %d octets" % len(MSG1)))
        # TOP: header, blank line, n body lines.
        resp, lines, _ = p.top(2, 2)
        self.assertEqual(lines, [b"From: carol@example.net", b"Subject: two", b"",
                                 b"line 1", b"line 2"])
        resp, lines, _ = p.top(2, 0)
        self.assertEqual(lines, [b"From: carol@example.net", b"Subject: two", b""])
        self.assertEqual(p.noop(), b"+OK")
        for bad in ("RETR 3", "RETR 0", "RETR x", "DELE 9", "TOP 1", "STLS", "USER x"):
            with self.assertRaises(poplib.error_proto, msg=bad):
                p._shortcmd(bad)
        self.assertTrue(p.quit().startswith(b"+OK"))
        self.assertEqual(self.files(), sorted([b1, b2]))
        self.assertTrue(self.inst.wait_log("login user=alice@example.com method=USER tls=TLSv1"))
        self.assertTrue(self.inst.wait_log("logout user=alice@example.com retr=1 top=2 dele=0"))
        self.stop_clean()

    def test_plaintext_refused_without_tls(self):
        self.put(MSG1)
        self.start()
        p = self.plain()
        with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\] Plaintext"):
            p.user(USER)
        with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\] Plaintext"):
            p._shortcmd("AUTH PLAIN " + base64.b64encode(b"\0" + USER.encode() + b"\0" +
                                                         PASSWORD.encode()).decode())
        with self.assertRaises(poplib.error_proto):
            p.stat()	# still in AUTHORIZATION
        p.quit()
        # Allowed when the admin says so.
        self.stop_clean()
        self.inst.cli("config", "set", "disable_plaintext_auth", "no")
        self.start()
        p = self.login(self.plain())
        self.assertEqual(p.stat()[0], 1)
        p.quit()
        self.stop_clean()

    def test_implicit_tls(self):
        self.put(MSG1)
        self.start()
        p = poplib.POP3_SSL("127.0.0.1", self.inst.port("pop3s"), context=self.ctx, timeout=20)
        capa = p.capa()
        self.assertNotIn("STLS", capa)
        self.assertIn("USER", capa)
        self.login(p)
        self.assertEqual(p.stat(), (1, len(MSG1)))
        resp, lines, _ = p.retr(1)
        self.assertEqual(b"\r\n".join(lines) + b"\r\n", MSG1)
        p.quit()
        self.stop_clean()

    def test_uidl_stable_across_restart(self):
        bases = [self.put(MSG1), self.put(MSG2, sub="cur")]
        self.start()
        p = self.login()
        first = p.uidl()[1]
        p.quit()
        self.assertEqual(first, [b"%d %s" % (i + 1, b.encode()) for i, b in enumerate(bases)])
        self.stop_clean()
        self.start()
        p = self.login()
        self.assertEqual(p.uidl()[1], first)
        p.quit()
        self.stop_clean()

    def test_lf_only_and_large_message(self):
        lf = b"From: x@example.org\nSubject: lf\n\n.dot\nbody\n"
        self.put(lf)
        big = b"Subject: big\r\n\r\n" + b"".join(
            b"%07d .......................................................................\r\n" % i
            for i in range(60000))
        big += b".starts with a dot\r\n"
        self.put(big)
        self.start()
        p = self.login()
        resp, lines, _ = p.retr(1)
        self.assertEqual(b"\r\n".join(lines) + b"\r\n", lf.replace(b"\n", b"\r\n"))
        resp, lines, _ = p.retr(2)
        self.assertEqual(b"\r\n".join(lines) + b"\r\n", big)
        p.quit()
        self.stop_clean()

    def test_dele_quit_removes(self):
        b1 = self.put(MSG1)
        b2 = self.put(MSG2)
        self.start()
        p = self.login()
        self.assertTrue(p.dele(1).startswith(b"+OK"))
        with self.assertRaises(poplib.error_proto):
            p.retr(1)	# marked deleted
        self.assertEqual(p.stat(), (1, len(MSG2)))
        self.assertEqual(p.list()[1], [b"2 %d" % len(MSG2)])
        self.assertTrue(p.quit().startswith(b"+OK"))
        self.assertEqual(self.files(), [b2])
        self.assertTrue(self.inst.wait_log("dele=1"))
        self.stop_clean()

    def test_dele_rset_undoes(self):
        bases = sorted([self.put(MSG1), self.put(MSG2)])
        self.start()
        p = self.login()
        p.dele(1)
        p.dele(2)
        self.assertEqual(p.stat(), (0, 0))
        self.assertTrue(p.rset().startswith(b"+OK"))
        self.assertEqual(p.stat()[0], 2)
        p.quit()
        self.assertEqual(self.files(), bases)
        self.stop_clean()

    def test_dele_without_quit_keeps(self):
        bases = sorted([self.put(MSG1), self.put(MSG2)])
        self.start()
        p = self.login()
        p.dele(1)
        p.sock.shutdown(socket.SHUT_RDWR)	# connection drop, no QUIT
        p.sock.close()
        p.file.close()
        self.assertTrue(self.inst.wait_log("logout user=alice@example.com retr=0 top=0 dele=0"))
        self.assertEqual(self.files(), bases)
        p = self.login()	# the lock was released
        self.assertEqual(p.stat()[0], 2)
        p.quit()
        self.stop_clean()

    def test_second_session_in_use(self):
        self.put(MSG1)
        self.start()
        p1 = self.login()
        p2 = self.stls()
        p2.user(USER)
        with self.assertRaisesRegex(poplib.error_proto, r"\[IN-USE\]"):
            p2.pass_(PASSWORD)
        p1.quit()
        self.login(p2)
        self.assertEqual(p2.stat()[0], 1)
        p2.quit()
        self.stop_clean()

    def lock_is_free(self):
        """True if the maildrop's POP3 lock can be taken now (and it is let go again)."""
        with open(os.path.join(self.inst.maildir(USER), "letterbox-pop3.lock"), "rb") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            fcntl.flock(f, fcntl.LOCK_UN)
            return True

    def test_quit_releases_lock_before_reply(self):
        # Issue 9 item 5: the +OK to QUIT comes after UPDATE released the
        # maildrop, with and without deletions, so the lock must be free the
        # moment the reply is read (no wait: a wait would hide the bug).
        self.put(MSG1)
        self.put(MSG2)
        self.start()
        for dele in (False, True):
            p = self.login()
            self.assertFalse(self.lock_is_free())
            if dele:
                p.dele(1)
            self.assertTrue(p.quit().startswith(b"+OK"))
            self.assertTrue(self.lock_is_free(), "dele=%s" % dele)
            p.close()
        self.assertEqual(len(self.files()), 1)
        self.stop_clean()

    def test_delivery_during_session_is_kept(self):
        self.put(MSG1)
        self.start()
        p = self.login()
        self.assertEqual(p.stat()[0], 1)
        late = self.put(MSG2)
        self.assertEqual(p.stat()[0], 1)	# the snapshot
        p.dele(1)
        p.quit()
        self.assertEqual(self.files(), [late])
        p = self.login()
        self.assertEqual(p.uidl()[1], [b"1 " + late.encode()])
        p.quit()
        self.stop_clean()

    def test_auth_plain_and_login(self):
        self.put(MSG1)
        self.start()
        cred = base64.b64encode(b"\0" + USER.encode() + b"\0" + PASSWORD.encode())
        # Initial response on the command line.
        s, f = self.raw("pop3s")
        s.sendall(b"AUTH PLAIN " + cred + b"\r\n")
        self.assertEqual(f.readline(), b"+OK Logged in.\r\n")
        s.sendall(b"STAT\r\nQUIT\r\n")
        self.assertEqual(f.readline(), b"+OK 1 %d\r\n" % len(MSG1))
        self.assertTrue(f.readline().startswith(b"+OK"))
        s.close()
        # Empty challenge, then the response.
        s, f = self.raw("pop3s")
        s.sendall(b"AUTH PLAIN\r\n")
        self.assertEqual(f.readline(), b"+ \r\n")
        s.sendall(cred + b"\r\n")
        self.assertEqual(f.readline(), b"+OK Logged in.\r\n")
        s.sendall(b"QUIT\r\n")
        f.readline()
        s.close()
        # LOGIN.
        s, f = self.raw("pop3s")
        s.sendall(b"AUTH LOGIN\r\n")
        self.assertEqual(f.readline(), b"+ VXNlcm5hbWU6\r\n")
        s.sendall(base64.b64encode(USER.encode()) + b"\r\n")
        self.assertEqual(f.readline(), b"+ UGFzc3dvcmQ6\r\n")
        s.sendall(base64.b64encode(PASSWORD.encode()) + b"\r\n")
        self.assertEqual(f.readline(), b"+OK Logged in.\r\n")
        s.sendall(b"QUIT\r\n")
        f.readline()
        s.close()
        # Cancel, authzid mismatch, no mechanism list without TLS... and AUTH alone.
        s, f = self.raw("pop3s")
        s.sendall(b"AUTH PLAIN\r\n")
        f.readline()
        s.sendall(b"*\r\n")
        self.assertTrue(f.readline().startswith(b"-ERR"))
        bad = base64.b64encode(b"bob@example.com\0" + USER.encode() + b"\0" + PASSWORD.encode())
        s.sendall(b"AUTH PLAIN " + bad + b"\r\n")
        self.assertTrue(f.readline().startswith(b"-ERR [AUTH]"))
        s.sendall(b"AUTH\r\n")
        self.assertEqual(f.read(len(b"+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n")),
                         b"+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n")
        s.sendall(b"AUTH CRAM-MD5\r\n")
        self.assertTrue(f.readline().startswith(b"-ERR"))
        s.close()
        self.assertTrue(self.inst.wait_log("login user=alice@example.com method=PLAIN tls=TLSv1"))
        self.assertTrue(self.inst.wait_log("login user=alice@example.com method=LOGIN"))
        self.stop_clean()

    def test_over_long_line(self):
        self.start()
        s, f = self.raw()
        s.sendall(b"USER " + b"x" * 600 + b"\r\n")
        self.assertEqual(f.readline(), b"-ERR Line too long.\r\n")
        self.assertEqual(f.readline(), b"")	# closed
        s.close()
        # NUL and unknown commands get -ERR and the session goes on.
        s, f = self.raw()
        s.sendall(b"CA\0PA\r\nFOO\r\nQUIT\r\n")
        self.assertTrue(f.readline().startswith(b"-ERR"))
        self.assertTrue(f.readline().startswith(b"-ERR"))
        self.assertTrue(f.readline().startswith(b"+OK"))
        s.close()
        self.stop_clean()

    def test_stls_injection_refused(self):
        self.start()
        s, f = self.raw()
        s.sendall(b"STLS\r\nCAPA\r\n")
        self.assertTrue(f.readline().startswith(b"+OK"))
        self.assertEqual(f.readline(), b"")	# closed, CAPA never answered
        s.close()
        self.assertTrue(self.inst.wait_log("plaintext pipelined after STLS"))
        self.stop_clean()

    def test_openssl_s_client_starttls(self):
        self.put(MSG1)
        self.start()
        script = ("USER %s\r\nPASS %s\r\nSTAT\r\nQUIT\r\n" % (USER, PASSWORD)).encode()
        p = subprocess.run(["openssl", "s_client", "-starttls", "pop3", "-quiet", "-crlf",
                            "-connect", "127.0.0.1:%d" % self.inst.port("pop3"),
                            "-CAfile", os.path.join(self.inst.dir, "tls", "cert.pem")],
                           input=script.replace(b"\r\n", b"\n"), capture_output=True, timeout=30)
        out = p.stdout
        self.assertIn(b"+OK Logged in.", out, p)
        self.assertIn(b"+OK 1 %d" % len(MSG1), out, p)
        self.stop_clean()

    def test_curl(self):
        self.put(MSG1)
        self.put(MSG2)
        self.start()
        for scheme, svc, extra in (("pop3", "pop3", ["--ssl-reqd"]), ("pop3s", "pop3s", [])):
            port = self.inst.port(svc)
            base = ["curl", "-sS", "--max-time", "20", "--cacert",
                    os.path.join(self.inst.dir, "tls", "cert.pem"),
                    "--resolve", "mail.example.test:%d:127.0.0.1" % port,
                    "-u", "%s:%s" % (USER, PASSWORD)] + extra
            url = "%s://mail.example.test:%d/" % (scheme, port)
            p = subprocess.run(base + [url], capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 0, p)
            self.assertEqual(p.stdout, b"1 %d\r\n2 %d\r\n" % (len(MSG1), len(MSG2)))
            p = subprocess.run(base + [url + "1"], capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 0, p)
            self.assertEqual(p.stdout, MSG1)
        self.stop_clean()


class Pop3AuthTest(Pop3Base):
    conf = {"auth_failure_delay": "1s"}

    def test_wrong_password_delayed_then_limit(self):
        self.put(MSG1)
        self.start()
        p = self.stls()
        p.user(USER)
        t0 = time.time()
        with self.assertRaisesRegex(poplib.error_proto, r"-ERR \[AUTH\]"):
            p.pass_("wrong")
        self.assertGreaterEqual(time.time() - t0, 0.9)
        # The second failure from the same address waits twice as long.
        p.user("nobody@example.com")
        t0 = time.time()
        with self.assertRaisesRegex(poplib.error_proto, r"-ERR \[AUTH\]"):
            p.pass_("wrong")
        self.assertGreaterEqual(time.time() - t0, 1.9)
        # The third (auth_failure_limit = 3) ends the session.
        p.user(USER)
        with self.assertRaisesRegex(poplib.error_proto, r"-ERR \[AUTH\]"):
            p.pass_("wrong again")
        with self.assertRaises((poplib.error_proto, OSError, EOFError)):
            p.stat()
        log = self.inst.log()
        self.assertEqual(log.count("login failed service=pop3 rip=127.0.0.1"), 3, log)
        self.assertIn('method=USER user="nobody@example.com"', log)
        self.assertIn("reason=auth-failure-limit", log)
        self.assertNotIn("wrong again", log)	# never log passwords
        # A good login still works (and resets the delay).
        p = self.login()
        p.quit()
        self.stop_clean()

    def test_directory_down_is_temporary(self):
        self.put(MSG1)
        self.start()
        r = self.inst.cli("config", "set", "database",
                          "sqlite:" + os.path.join(self.inst.dir, "missing", "x.db"))
        self.assertEqual(r.rc, 0, r)
        self.inst.send_signal(signal.SIGHUP)
        self.assertTrue(self.inst.wait_log("config reloaded"))
        p = self.stls()
        p.user(USER)
        t0 = time.time()
        with self.assertRaisesRegex(poplib.error_proto, r"-ERR \[SYS/TEMP\]"):
            p.pass_(PASSWORD)
        self.assertLess(time.time() - t0, 0.9)	# no throttle delay for our own trouble
        p.quit()
        self.stop_clean()


class Pop3TimeoutTest(Pop3Base):
    conf = {"auth_failure_delay": "0", "pop3_timeout": "2s", "login_timeout": "3s"}

    def test_timeouts(self):
        self.put(MSG1)
        self.start()
        p = self.login()
        # Say nothing: the server closes after pop3_timeout (2 s) with its reason.
        p.sock.settimeout(15)
        t0 = time.time()
        self.assertEqual(p.file.readline(), b"-ERR Disconnected for inactivity.\r\n")
        self.assertEqual(p.file.readline(), b"")
        self.assertGreaterEqual(time.time() - t0, 1.5)
        p.close()
        self.assertTrue(self.inst.wait_log("reason=timeout"))
        # Before login: login_timeout, even when the client keeps talking.
        s, f = self.raw()
        t0 = time.time()
        for _ in range(8):
            try:
                s.sendall(b"CAPA\r\n")
            except OSError:
                break
            time.sleep(0.5)
        data = f.read()
        self.assertIn(b"-ERR Disconnected for inactivity.", data)
        self.assertLess(time.time() - t0, 6)
        s.close()
        # A TLS client that never finishes its handshake.
        s = socket.create_connection(("127.0.0.1", self.inst.port("pop3s")), timeout=20)
        self.assertEqual(s.recv(100), b"")
        s.close()
        self.stop_clean()


class Pop3LimitTest(Pop3Base):
    conf = {"auth_failure_delay": "0", "pop3_client_connection_count_limit": "2"}

    def test_client_connection_limit(self):
        self.start()
        time.sleep(0.5)     # the harness's readiness probes must be gone before we count
        a = self.raw()
        b = self.raw()
        s = socket.create_connection(("127.0.0.1", self.inst.port("pop3")), timeout=20)
        f = s.makefile("rb")
        self.assertEqual(f.readline(), b"-ERR [SYS/TEMP] Too many connections, try again later.\r\n")
        self.assertEqual(f.readline(), b"")
        s.close()
        self.assertTrue(self.inst.wait_log("refused reason=client-connection-limit"))
        before = self.inst.log().count(": disconnect")
        a[1].close()
        a[0].close()
        deadline = time.time() + 10     # wait for the server to see *this* close
        while self.inst.log().count(": disconnect") <= before and time.time() < deadline:
            time.sleep(0.05)
        self.assertGreater(self.inst.log().count(": disconnect"), before)
        c = self.raw()	# room again
        for x in (b, c):
            x[1].close()
            x[0].close()
        self.stop_clean()


class Pop3ServiceLimitTest(Pop3Base):
    # Issue 10 item 4: each service has its own limit, so a flood of one
    # port leaves the other reachable.
    conf = {"auth_failure_delay": "0", "pop3_max_connections": "2",
            "pop3_client_connection_count_limit": "100"}

    def test_service_limit_leaves_other_service_reachable(self):
        self.start()
        # The harness's readiness probes must be gone before we count.
        deadline = time.time() + 10
        held = []
        while time.time() < deadline and len(held) < 2:
            s = socket.create_connection(("127.0.0.1", self.inst.port("pop3")), timeout=20)
            f = s.makefile("rb")
            if f.readline().startswith(b"+OK"):
                held.append((s, f))
            else:
                s.close()
                time.sleep(0.05)
        self.assertEqual(len(held), 2)
        s = socket.create_connection(("127.0.0.1", self.inst.port("pop3")), timeout=20)
        f = s.makefile("rb")
        self.assertEqual(f.readline(), b"-ERR [SYS/TEMP] Too many connections, try again later.\r\n")
        self.assertEqual(f.readline(), b"")
        s.close()
        self.assertTrue(self.inst.wait_log("service=pop3 refused reason=service-connection-limit"))
        # pop3s has its own limit: it still answers, and logs in.
        p = poplib.POP3_SSL("127.0.0.1", self.inst.port("pop3s"), context=self.ctx, timeout=20)
        p.user(USER)
        self.assertTrue(p.pass_(PASSWORD).startswith(b"+OK"))
        p.quit()
        for s, f in held:
            f.close()
            s.close()
        self.stop_clean()


class SmtpToPop3Test(Pop3Base):
    def test_round_trip(self):
        self.start()
        smtp = smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=20)
        body = (b"From: bob@example.org\r\nTo: alice@example.com\r\nSubject: rt\r\n\r\n"
                b"first\r\n.dot line\r\n\r\ntrailing spaces   \r\n")
        smtp.sendmail("bob@example.org", [USER], body)
        smtp.quit()
        md = self.inst.maildir(USER)
        deadline = time.time() + 20
        while time.time() < deadline and not self.files():
            time.sleep(0.1)
        self.assertEqual(len(self.files()), 1)
        name = self.files()[0]
        path = os.path.join(md, "new", name)
        stored = lbtest.read_msg(path)      # LF on disk; RETR adds the CRs
        p = self.login()
        self.assertEqual(p.uidl()[1], [b"1 " + name.encode()])
        resp, lines, _ = p.retr(1)
        got = b"\r\n".join(lines) + b"\r\n"
        self.assertEqual(got, stored)
        self.assertTrue(got.endswith(body), got)
        p.quit()
        self.stop_clean()


if __name__ == "__main__":
    unittest.main()
