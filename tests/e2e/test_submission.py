"""TLS, SMTP AUTH and the submission ports end to end (issue 4 items 1-3
and 6): STARTTLS on smtp (25) and submission (587), implicit TLS on
submissions (465), the STARTTLS injection, AUTH PLAIN/LOGIN right and
wrong, the sender-login check, Message-ID:/Date: added on submission, and
`queue list/delete` while the daemon runs.  Driven by smtplib, swaks and
openssl s_client; certificates are checked against the instance's own
tls/cert.pem (self-signed, CA:TRUE) with the host name verified."""
import base64
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import lbtest

HOST = "mail.example.test"
USER = "alice@example.com"
PASSWORD = "s3cret pass"
OTHER = "bob@example.com"
OTHER_PW = "bobpw"

FAIL2BAN_COMMON = "/etc/fail2ban/filter.d/common.conf"


def b64(s):
    return base64.b64encode(s.encode()).decode()


def plain_ir(user=USER, pw=PASSWORD):
    return b64("\0%s\0%s" % (user, pw))


class VerifyingSMTP(smtplib.SMTP):
    """smtplib.SMTP whose STARTTLS checks the certificate for HOST, not for
    the address we connect to (smtplib uses the connect() host name)."""

    def starttls(self, context=None):
        self._host = HOST
        return super().starttls(context=context)


class VerifyingSMTP_SSL(smtplib.SMTP_SSL):
    def _get_socket(self, host, port, timeout):
        self._host = HOST
        return super()._get_socket(host, port, timeout)


def header_block(data):
    """The header section with its last CRLF."""
    return data.split(b"\r\n\r\n", 1)[0] + b"\r\n"


class SubmissionBase(lbtest.InstanceTest):
    hostname = HOST
    conf = {}
    start_now = True

    def setUp(self):
        super().setUp()
        i = self.inst
        for cmd in (("domain", "add", "example.com"), ("domain", "add", "example.net")):
            r = i.cli(*cmd)
            self.assertEqual(r.rc, 0, r)
        for u, pw in ((USER, PASSWORD), (OTHER, OTHER_PW), ("carol@example.net", "carolpw")):
            r = i.cli("user", "add", u, stdin=pw + "\n")
            self.assertEqual(r.rc, 0, r)
        # Remote mail must stay in the queue: a resolver that never answers.
        settings = {"auth_failure_delay": "0", "dns_resolver": "127.0.0.1:9"}
        settings.update(self.conf)
        for k, v in settings.items():
            r = i.cli("config", "set", k, v)
            self.assertEqual(r.rc, 0, r)
        self.cafile = os.path.join(i.dir, "tls", "cert.pem")
        self.ctx = ssl.create_default_context(cafile=self.cafile)
        self.ctx.check_hostname = True
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        if self.start_now:
            self.start()

    def start(self):
        self.inst.start(wait_for=("smtp", "submission", "submissions"))

    def restart(self, **settings):
        self.inst.stop()
        for k, v in settings.items():
            r = self.inst.cli("config", "set", k, v)
            self.assertEqual(r.rc, 0, r)
        self.start()

    def tearDown(self):
        self.stop_clean()

    # -- clients ----------------------------------------------------------
    def smtp(self, service="smtp", tls=True, ehlo=True):
        if service == "submissions":
            s = VerifyingSMTP_SSL("127.0.0.1", self.inst.port(service), context=self.ctx, timeout=20)
            if ehlo:
                s.ehlo("client.example.org")
            return s
        s = VerifyingSMTP("127.0.0.1", self.inst.port(service), timeout=20)
        s.ehlo("client.example.org")
        if tls:
            code, resp = s.starttls(context=self.ctx)
            self.assertEqual(code, 220, resp)
            if ehlo:
                s.ehlo("client.example.org")
        return s

    def authed(self, service="submission", user=USER, pw=PASSWORD):
        s = self.smtp(service)
        code, resp = s.docmd("AUTH", "PLAIN " + plain_ir(user, pw))
        self.assertEqual(code, 235, resp)
        return s

    def raw(self, service, data, tls_ctx=None, timeout=10):
        """Send data in one write (after the banner); everything the server says until it closes."""
        return lbtest.raw_session(self.inst.port(service), data, timeout, banner_first=True,
                                  tls_ctx=tls_ctx, server_hostname=HOST)

    def s_client(self, *args, stdin="EHLO client.example.org\nQUIT\n", timeout=30):
        cmd = ["openssl", "s_client", "-CAfile", self.cafile, "-verify_return_error",
               "-verify_hostname", HOST, "-servername", HOST, "-crlf", "-ign_eof"] + list(args)
        return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)

    def swaks(self, *args, timeout=60):
        cmd = ["swaks", "--server", "127.0.0.1", "--helo", "client.example.org",
               "--tls-verify", "--tls-ca-path", self.cafile, "--tls-sni", HOST] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def queue_list(self):
        r = self.inst.cli("queue", "list")
        self.assertEqual(r.rc, 0, r)
        return r.out

    def delivered(self, addr, n=1):
        files = lbtest.wait_files(self.inst.maildir(addr), n)
        self.assertEqual(len(files), n, self.inst.log()[-3000:])
        return [lbtest.read_msg(f) for f in files]


class TestTls(SubmissionBase):
    def test_starttls_25_and_587_implicit_465_verify(self):
        for service in ("smtp", "submission", "submissions"):
            with self.smtp(service) as s:
                sock = s.sock
                self.assertIsInstance(sock, ssl.SSLSocket, service)
                self.assertIn(sock.version(), ("TLSv1.2", "TLSv1.3"), service)
                cert = sock.getpeercert()
                self.assertIn(("DNS", HOST), cert["subjectAltName"])
                # after TLS: no STARTTLS again, AUTH offered
                self.assertFalse(s.has_extn("starttls"), service)
                self.assertEqual(s.esmtp_features.get("auth", "").split(), ["PLAIN", "LOGIN"], service)
                self.assertEqual(s.noop()[0], 250)
        self.assertTrue(self.inst.wait_log("service=submissions"))
        self.assertRegex(self.inst.log(), r"smtpd sid=\w+: tls=TLSv1\.[23]:")

    def test_plain_ehlo_offers_starttls(self):
        for service in ("smtp", "submission"):
            with self.smtp(service, tls=False) as s:
                self.assertTrue(s.has_extn("starttls"), service)
                self.assertFalse(s.has_extn("auth"), service)
                # a second STARTTLS on a TLS session is refused
                s.starttls(context=self.ctx)
                s.ehlo("client.example.org")
                code, resp = s.docmd("STARTTLS")
                self.assertEqual(code, 554, resp)

    def test_wrong_ca_fails(self):
        ctx = ssl.create_default_context()	# the system store does not know our self-signed cert
        s = VerifyingSMTP("127.0.0.1", self.inst.port("smtp"), timeout=20)
        s.ehlo("x.example")
        with self.assertRaises(ssl.SSLCertVerificationError):
            s.starttls(context=ctx)
        s.close()

    def test_openssl_s_client(self):
        for args in (("-starttls", "smtp", "-connect", "127.0.0.1:%d" % self.inst.port("smtp")),
                     ("-starttls", "smtp", "-connect", "127.0.0.1:%d" % self.inst.port("submission")),
                     ("-connect", "127.0.0.1:%d" % self.inst.port("submissions"))):
            p = self.s_client(*args)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("Verify return code: 0 (ok)", p.stdout, args)
            self.assertRegex(p.stdout, r"Protocol\s*: TLSv1\.[23]")
            self.assertIn("250-AUTH PLAIN LOGIN", p.stdout)
            self.assertIn("221 2.0.0", p.stdout)
        # TLS 1.2 explicitly works
        p = self.s_client("-tls1_2", "-connect", "127.0.0.1:%d" % self.inst.port("submissions"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("Protocol  : TLSv1.2", p.stdout)

    def test_tls11_refused(self):
        # SECLEVEL=0 so that the client side would speak TLS 1.1: the refusal is the server's.
        for args in (("-connect", "127.0.0.1:%d" % self.inst.port("submissions")),
                     ("-starttls", "smtp", "-connect", "127.0.0.1:%d" % self.inst.port("submission"))):
            p = self.s_client("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", *args)
            self.assertNotEqual(p.returncode, 0, p.stdout)
            self.assertNotIn("250-AUTH", p.stdout)
        # issue 10: port 25 is opportunistic and takes TLS 1.0+ as Postfix does
        # (smtpd_tls_protocols; test_smtp_hardening covers the setting)
        p = self.s_client("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-starttls", "smtp",
                          "-connect", "127.0.0.1:%d" % self.inst.port("smtp"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("Protocol  : TLSv1.1", p.stdout)
        self.assertTrue(self.inst.wait_log("connection error"), self.inst.log()[-2000:])
        # the daemon is fine afterwards
        with self.smtp("submissions") as s:
            self.assertEqual(s.noop()[0], 250)

    def test_received_header_names_tls(self):
        with self.smtp("smtp") as s:
            cipher = s.sock.cipher()[0]
            version = s.sock.version()
            s.sendmail("x@example.org", [OTHER], b"Subject: tls\r\nMessage-ID: <a@b>\r\nDate: x\r\n\r\nhi\r\n")
        data = self.delivered(OTHER)[0]
        self.assertIn(("(using %s with cipher %s" % (version, cipher)).encode(), data)
        self.assertIn(b" with ESMTPS id ", data)
        with self.authed("submission") as s:
            s.sendmail(USER, [OTHER], b"Subject: tls2\r\n\r\nhi\r\n")
        data = self.delivered(OTHER, 2)
        self.assertTrue(any(b" with ESMTPSA id " in d for d in data))
        self.assertRegex(self.inst.log(), r"login user=alice@example.com method=PLAIN tls=yes")
        # no authenticated-sender comment unless configured
        self.assertFalse(any(b"Authenticated sender" in d for d in data))


class TestStarttlsInjection(SubmissionBase):
    def test_pipelined_command_after_starttls_not_executed(self):
        for service in ("smtp", "submission"):
            out = self.raw(service, b"EHLO x.example\r\nSTARTTLS\r\nRSET\r\n")
            lines = [l for l in out.split("\r\n") if l]
            self.assertIn("220 2.0.0 Ready to start TLS", lines, out)
            after = lines[lines.index("220 2.0.0 Ready to start TLS") + 1:]
            self.assertEqual(after, [], out)
        self.assertTrue(self.inst.wait_log("STARTTLS command injection attempt"))

    def test_injection_then_handshake_gets_no_rset_reply(self):
        """The client pipelines RSET and then tries the handshake anyway:
        the handshake fails (closed) and no 250 for RSET ever arrives."""
        s = socket.create_connection(("127.0.0.1", self.inst.port("smtp")), timeout=10)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"EHLO x.example\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        s.sendall(b"STARTTLS\r\nRSET\r\n")
        self.assertTrue(f.readline().startswith(b"220 "))
        ctx = ssl.create_default_context(cafile=self.cafile)
        with self.assertRaises((ssl.SSLError, OSError)):
            t = ctx.wrap_socket(s, server_hostname=HOST)
            t.sendall(b"NOOP\r\n")
            data = t.recv(100)
            if not data:
                raise OSError("closed")
            self.fail("reply over TLS after injection: %r" % data)
        s.close()

    def test_session_reset_after_starttls(self):
        # a correct STARTTLS: EHLO is needed again
        s = self.smtp("smtp", ehlo=False)
        code, resp = s.docmd("MAIL FROM:<x@example.org>")
        self.assertEqual(code, 503, resp)
        s.ehlo("again.example")
        self.assertEqual(s.docmd("MAIL FROM:<x@example.org>")[0], 250)
        s.quit()

    def test_auth_forgotten_after_starttls(self):
        self.restart(disable_plaintext_auth="no")
        s = self.smtp("submission", tls=False)
        self.assertTrue(s.has_extn("auth"))
        code, resp = s.docmd("AUTH", "PLAIN " + plain_ir())
        self.assertEqual(code, 235, resp)
        code, resp = s.starttls(context=self.ctx)
        self.assertEqual(code, 220)
        s.ehlo("client.example.org")
        code, resp = s.docmd("MAIL FROM:<%s>" % USER)
        self.assertEqual(code, 530, resp)
        # and AUTH works again
        code, resp = s.docmd("AUTH", "PLAIN " + plain_ir())
        self.assertEqual(code, 235, resp)
        self.assertEqual(s.docmd("MAIL FROM:<%s>" % USER)[0], 250)
        s.quit()


class TestAuth(SubmissionBase):
    conf = {"auth_failure_limit": "3"}

    def test_plain_initial_response(self):
        for service in ("smtp", "submission", "submissions"):
            with self.smtp(service) as s:
                code, resp = s.docmd("AUTH", "PLAIN " + plain_ir())
                self.assertEqual(code, 235, resp)
                self.assertIn(b"2.7.0", resp)
                code, resp = s.docmd("AUTH", "PLAIN " + plain_ir())
                self.assertEqual(code, 503, resp)

    def test_plain_empty_initial_response_and_no_initial_response(self):
        # RFC 4954 §4: "=" is an empty initial response (not "none"): a valid
        # SASL message that names nobody, so a failed login (535, logged for
        # fail2ban), not a syntax error; the session goes on.
        with self.smtp("submission") as s:
            code, resp = s.docmd("AUTH", "PLAIN =")
            self.assertEqual(code, 535, resp)
            self.assertIn(b"5.7.8", resp)
            code, resp = s.docmd("AUTH", "PLAIN " + plain_ir())
            self.assertEqual(code, 235, resp)
        with self.smtp("submission") as s:
            code, resp = s.docmd("AUTH", "PLAIN")
            self.assertEqual(code, 334, resp)
            code, resp = s.docmd(plain_ir())
            self.assertEqual(code, 235, resp)
        with self.smtp("submission") as s:
            code, resp = s.docmd("AUTH", "PLAIN")
            self.assertEqual(code, 334, resp)
            code, resp = s.docmd("*")
            self.assertEqual(code, 501, resp)
            self.assertEqual(s.noop()[0], 250)

    def test_login_mechanism(self):
        with self.smtp("submission") as s:
            code, resp = s.docmd("AUTH", "LOGIN")
            self.assertEqual(code, 334)
            self.assertEqual(base64.b64decode(resp).lower(), b"username:")
            code, resp = s.docmd(b64(USER))
            self.assertEqual(code, 334)
            self.assertEqual(base64.b64decode(resp).lower(), b"password:")
            code, resp = s.docmd(b64(PASSWORD))
            self.assertEqual(code, 235, resp)
        with self.smtp("submissions") as s:
            s.user, s.password = USER, PASSWORD
            code, resp = s.auth("LOGIN", s.auth_login)
            self.assertEqual(code, 235, resp)
        # smtplib's login() picks a mechanism itself
        with self.smtp("submissions") as s:
            self.assertEqual(s.login(USER, PASSWORD)[0], 235)

    def test_swaks_plain_and_login(self):
        for mech, extra in (("PLAIN", ("--tls", "--port", str(self.inst.port("submission")))),
                            ("LOGIN", ("--tlsc", "--port", str(self.inst.port("submissions")))),
                            ("PLAIN", ("--tls", "--port", str(self.inst.port("smtp"))))):
            p = self.swaks("--auth", mech, "--auth-user", USER, "--auth-password", PASSWORD,
                           "--from", USER, "--to", OTHER, "--header", "Subject: swaks " + mech, *extra)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("235 2.7.0", p.stdout)
            self.assertRegex(p.stdout, r"<~  250 2\.0\.0 Ok: queued as")
        self.delivered(OTHER, 3)
        # wrong password with swaks: exit status 28 (AUTH failed)
        p = self.swaks("--auth", "LOGIN", "--auth-user", USER, "--auth-password", "nope",
                       "--from", USER, "--to", OTHER, "--tls", "--port", str(self.inst.port("submission")))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("535 5.7.8", p.stdout)

    def test_wrong_password_535_then_disconnect(self):
        with self.smtp("submission") as s:
            for n in range(3):
                code, resp = s.docmd("AUTH", "PLAIN " + plain_ir(pw="wrong%d" % n))
                self.assertEqual(code, 535, resp)
                self.assertIn(b"5.7.8", resp)
                if n < 2:
                    self.assertEqual(s.noop()[0], 250)
            # the third failure closes the session
            with self.assertRaises(smtplib.SMTPServerDisconnected):
                code, resp = s.getreply()
                self.assertEqual(code, 421, resp)
                s.noop()
        self.assertTrue(self.inst.wait_log("too many authentication failures"))
        # unknown user: the same answer
        with self.smtp("submission") as s:
            code, resp = s.docmd("AUTH", "PLAIN " + plain_ir(user="nobody@example.com"))
            self.assertEqual(code, 535, resp)
            # the right password after failures still works
            code, resp = s.docmd("AUTH", "PLAIN " + plain_ir())
            self.assertEqual(code, 235, resp)

    def test_failure_delay(self):
        self.restart(auth_failure_delay="1s")
        with self.smtp("submissions") as s:
            t0 = time.time()
            code, resp = s.docmd("AUTH", "PLAIN " + plain_ir(pw="bad"))
            self.assertEqual(code, 535, resp)
            self.assertGreaterEqual(time.time() - t0, 0.9)
            # a pipelined NOOP waits for the delayed 535 and is answered after it
            t0 = time.time()
            s.send(("AUTH PLAIN %s\r\nNOOP\r\n" % plain_ir(pw="bad")).encode())
            self.assertEqual(s.getreply()[0], 535)
            self.assertGreaterEqual(time.time() - t0, 1.8)	# the delay grows per address
            self.assertEqual(s.getreply()[0], 250)

    def test_fail2ban_matches_smtp_failures(self):
        with self.smtp("submission") as s:
            self.assertEqual(s.docmd("AUTH", "PLAIN " + plain_ir(pw="x"))[0], 535)
            s.docmd("AUTH", "LOGIN")
            s.docmd(b64("nobody@example.com"))
            self.assertEqual(s.docmd(b64("y"))[0], 535)
            self.assertEqual(s.docmd("AUTH", "PLAIN " + plain_ir())[0], 235)
        self.assertTrue(self.inst.wait_log("login user=" + USER))
        log = self.inst.log()
        self.assertIn('login failed service=submission rip=127.0.0.1 method=PLAIN user="%s"' % USER, log)
        self.assertIn('method=LOGIN user="nobody@example.com"', log)
        d = tempfile.mkdtemp(prefix="f2b-")
        self.addCleanup(shutil.rmtree, d, True)
        os.mkdir(os.path.join(d, "filter.d"))
        shutil.copy(FAIL2BAN_COMMON, os.path.join(d, "filter.d"))
        shutil.copy(os.path.join(lbtest.ROOT, "contrib", "fail2ban", "filter.d", "letterbox.conf"),
                    os.path.join(d, "filter.d"))
        p = subprocess.run(["fail2ban-regex", "-v", self.inst.logpath,
                            os.path.join(d, "filter.d", "letterbox.conf")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"Lines: \d+ lines, 0 ignored, 2 matched")

    def test_auth_refused_without_tls(self):
        for service in ("smtp", "submission"):
            with self.smtp(service, tls=False) as s:
                self.assertFalse(s.has_extn("auth"))
                code, resp = s.docmd("AUTH", "PLAIN " + plain_ir())
                self.assertEqual(code, 538, resp)
                code, resp = s.docmd("MAIL FROM:<%s>" % USER)
                if service == "submission":
                    self.assertEqual(code, 530, resp)
        self.assertNotIn("login user=", self.inst.log())

    def test_plaintext_auth_allowed_and_broken_clients(self):
        self.restart(disable_plaintext_auth="no", broken_sasl_auth_clients="yes")
        with self.smtp("submission", tls=False) as s:
            lines = s.ehlo_resp.split(b"\n")	# smtplib strips the "250-"
            self.assertIn(b"AUTH PLAIN LOGIN", lines)
            self.assertIn(b"AUTH=PLAIN LOGIN", lines)
            code, resp = s.docmd("AUTH", "PLAIN " + plain_ir())
            self.assertEqual(code, 235, resp)
        self.assertTrue(self.inst.wait_log("method=PLAIN tls=no"))
        self.restart(broken_sasl_auth_clients="no")
        with self.smtp("smtp", tls=False) as s:
            self.assertTrue(s.has_extn("auth"))
            self.assertNotIn(b"AUTH=", s.ehlo_resp)

    def test_auth_before_ehlo_and_bad_mechanism(self):
        s = socket.create_connection(("127.0.0.1", self.inst.port("submissions")), timeout=10)
        t = self.ctx.wrap_socket(s, server_hostname=HOST)
        f = t.makefile("rb")
        f.readline()
        t.sendall(("AUTH PLAIN %s\r\n" % plain_ir()).encode())
        self.assertTrue(f.readline().startswith(b"503 "))
        t.sendall(b"EHLO x.example\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        t.sendall(b"AUTH CRAM-MD5\r\n")
        self.assertTrue(f.readline().startswith(b"504 "))
        t.sendall(b"AUTH PLAIN not-base64!\r\n")
        self.assertTrue(f.readline().startswith(b"501 "))
        t.sendall(b"QUIT\r\n")
        self.assertTrue(f.readline().startswith(b"221 "))
        t.close()


class TestSubmission(SubmissionBase):
    def test_mail_before_auth_530(self):
        for service in ("submission", "submissions"):
            with self.smtp(service) as s:
                code, resp = s.docmd("MAIL FROM:<%s>" % USER)
                self.assertEqual(code, 530, resp)
                self.assertIn(b"5.7.0", resp)
                self.assertEqual(s.docmd("RCPT TO:<%s>" % OTHER)[0], 503)

    def test_relay_anywhere_after_auth(self):
        for service in ("submission", "submissions"):
            with self.authed(service) as s:
                self.assertEqual(s.docmd("MAIL FROM:<%s>" % USER)[0], 250)
                code, resp = s.docmd("RCPT TO:<friend@remote.test>")
                self.assertEqual(code, 250, resp)
                code, resp = s.data(b"Subject: out\r\n\r\nto the world\r\n")
                self.assertEqual(code, 250, resp)
                qid = resp.split()[-1].decode()
            self.assertTrue(self.inst.wait_log("qid=%s: accepted" % qid))
            out = self.queue_list()
            self.assertIn(qid, out)
            self.assertIn("<friend@remote.test>", out)

    def test_sender_must_belong_to_login(self):
        with self.authed("submission") as s:
            code, resp = s.docmd("MAIL FROM:<%s>" % OTHER)
            self.assertEqual(code, 553, resp)
            self.assertIn(b"5.7.1", resp)
            code, resp = s.docmd("MAIL FROM:<someone@remote.test>")
            self.assertEqual(code, 553, resp)
            # the login itself, in another case
            self.assertEqual(s.docmd("MAIL FROM:<Alice@Example.COM>")[0], 250)
            s.rset()
            # the null sender is allowed (bounces from a client)
            self.assertEqual(s.docmd("MAIL FROM:<>")[0], 250)
        # a forwarding whose destinations include the login
        r = self.inst.cli("forward", "add", "alias@example.com", USER)
        self.assertEqual(r.rc, 0, r)
        r = self.inst.cli("forward", "add", "team@example.com", "%s,%s" % (OTHER, USER))
        self.assertEqual(r.rc, 0, r)
        r = self.inst.cli("forward", "add", "bobonly@example.com", OTHER)
        self.assertEqual(r.rc, 0, r)
        with self.authed("submissions") as s:
            for sender, want in (("alias@example.com", 250), ("team@example.com", 250),
                                 ("bobonly@example.com", 553)):
                code, resp = s.docmd("MAIL FROM:<%s>" % sender)
                self.assertEqual(code, want, (sender, resp))
                s.rset()
            s.docmd("MAIL FROM:<alias@example.com>")
            s.docmd("RCPT TO:<%s>" % OTHER)
            code, resp = s.data(b"Subject: as alias\r\n\r\nhi\r\n")
            self.assertEqual(code, 250, resp)
        data = self.delivered(OTHER)[0]
        self.assertTrue(data.startswith(b"Return-Path: <alias@example.com>"), data[:100])

    def test_sender_check_off(self):
        self.restart(smtpd_sender_login_check="no")
        with self.authed("submission") as s:
            self.assertEqual(s.docmd("MAIL FROM:<%s>" % OTHER)[0], 250)

    def test_sender_check_not_on_port_25(self):
        with self.authed("smtp") as s:
            self.assertEqual(s.docmd("MAIL FROM:<%s>" % OTHER)[0], 250)

    def test_message_id_and_date_added(self):
        msg = b"From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nSubject: bare\r\n\r\nbody\r\n"
        with self.authed("submission") as s:
            s.sendmail(USER, [OTHER], msg)
        data = self.delivered(OTHER)[0]
        head = header_block(data)
        self.assertEqual(len(re.findall(rb"(?mi)^Message-ID: <[^>@]+@[^>]+>\r?$", head)), 1, head)
        self.assertEqual(len(re.findall(rb"(?mi)^Date: \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}", head)),
                         1, head)
        self.assertTrue(data.endswith(b"\r\n\r\nbody\r\n"), data[-100:])
        # the original header fields are intact and in order
        self.assertIn(b"From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nSubject: bare\r\n", head)

    def test_message_id_and_date_kept(self):
        msg = (b"From: alice@example.com\r\nmessage-id: <own@example.com>\r\n"
               b"DATE: Mon, 1 Jan 2024 00:00:00 +0000\r\nSubject: has both\r\n\r\nbody\r\n")
        with self.authed("submissions") as s:
            s.sendmail(USER, [OTHER], msg)
        data = self.delivered(OTHER)[0]
        head = header_block(data)
        self.assertEqual(len(re.findall(rb"(?mi)^Message-ID:", head)), 1, head)
        self.assertEqual(len(re.findall(rb"(?mi)^Date:", head)), 1, head)
        self.assertTrue(data.endswith(msg), data[-300:])

    def test_only_date_missing_bdat_and_folded(self):
        # BDAT, a folded header, and a header-only message (no body, no empty line)
        with self.authed("submission") as s:
            s.docmd("MAIL FROM:<%s>" % USER)
            s.docmd("RCPT TO:<%s>" % OTHER)
            part1 = b"Subject: folded\r\n very long\r\nMessage-"
            part2 = b"ID: <x1@example.com>\r\n\r\nbody line\r\n"
            s.send(b"BDAT %d\r\n" % len(part1) + part1)
            self.assertEqual(s.getreply()[0], 250)
            s.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
            code, resp = s.getreply()
            self.assertEqual(code, 250, resp)
            s.sendmail(USER, [OTHER], b"Subject: headers only\r\n")
        data = self.delivered(OTHER, 2)
        bdat = [d for d in data if b"folded" in d][0]
        head = header_block(bdat)
        self.assertIn(b"Subject: folded\r\n very long\r\nMessage-ID: <x1@example.com>\r\n", head)
        self.assertEqual(len(re.findall(rb"(?mi)^Message-ID:", head)), 1, head)
        self.assertEqual(len(re.findall(rb"(?mi)^Date:", head)), 1, head)
        self.assertTrue(bdat.endswith(b"\r\n\r\nbody line\r\n"), bdat[-100:])
        only = [d for d in data if b"headers only" in d][0]
        self.assertEqual(len(re.findall(rb"(?mi)^Message-ID:", only)), 1, only)
        self.assertEqual(len(re.findall(rb"(?mi)^Date:", only)), 1, only)

    def test_not_added_on_port_25(self):
        with self.smtp("smtp", tls=False) as s:
            s.sendmail("x@example.org", [OTHER], b"Subject: mx\r\n\r\nbody\r\n")
        data = self.delivered(OTHER)[0]
        self.assertNotIn(b"Message-ID:", data)
        self.assertNotIn(b"\r\nDate:", data)

    def test_authenticated_header(self):
        self.restart(smtpd_sasl_authenticated_header="yes")
        with self.authed("submission") as s:
            s.sendmail(USER, [OTHER], b"Subject: hdr\r\n\r\nx\r\n")
        data = self.delivered(OTHER)[0]
        self.assertIn(b"(Authenticated sender: %s)" % USER.encode(), header_block(data))
        self.assertIn(b" with ESMTPSA id ", data)

    def test_auth_on_25_permits_relay_outside_mynetworks(self):
        self.restart(mynetworks="192.0.2.0/24")
        with self.smtp("smtp") as s:
            s.docmd("MAIL FROM:<x@example.org>")
            code, resp = s.docmd("RCPT TO:<friend@remote.test>")
            self.assertEqual(code, 554, resp)
            self.assertIn(b"Relay access denied", resp)
            self.assertEqual(s.docmd("RCPT TO:<%s>" % OTHER)[0], 250)
        with self.authed("smtp") as s:
            s.docmd("MAIL FROM:<%s>" % USER)
            code, resp = s.docmd("RCPT TO:<friend@remote.test>")
            self.assertEqual(code, 250, resp)
            code, resp = s.data(b"Subject: relayed\r\n\r\nx\r\n")
            self.assertEqual(code, 250, resp)


class TestQueueAdmin(SubmissionBase):
    def send_remote(self, rcpt="friend@remote.test", subject="q"):
        with self.authed("submissions") as s:
            s.docmd("MAIL FROM:<%s>" % USER)
            self.assertEqual(s.docmd("RCPT TO:<%s>" % rcpt)[0], 250)
            code, resp = s.data(("Subject: %s\r\n\r\nx\r\n" % subject).encode())
            self.assertEqual(code, 250, resp)
            return resp.split()[-1].decode()

    def wait_deferred(self, qid, timeout=20):
        deadline = time.time() + timeout
        out = ""
        while time.time() < deadline:
            out = self.queue_list()
            for line in out.splitlines():
                f = line.split("\t")
                if f[0] == qid and len(f) >= 7 and f[5] == "deferred" and f[6]:
                    return f
            time.sleep(0.2)
        self.fail("%s not deferred with a reason:\n%s\n%s" % (qid, out, self.inst.log()[-3000:]))

    def test_list_and_delete_while_running(self):
        q1 = self.send_remote("one@remote.test", "first")
        q2 = self.send_remote("two@remote.test", "second")
        q3 = self.send_remote("three@remote.test", "third")
        f = self.wait_deferred(q1)
        self.assertEqual(f[3], "<%s>" % USER)
        self.assertEqual(f[4], "<one@remote.test>")
        self.assertGreater(int(f[1]), 0)
        out = self.queue_list()
        for q in (q1, q2, q3):
            self.assertIn(q, out)
        r = self.inst.cli("queue", "delete", q1)
        self.assertEqual(r.rc, 0, r)
        out = self.queue_list()
        self.assertNotIn(q1, out)
        self.assertIn(q2, out)
        r = self.inst.cli("queue", "delete", q1)
        self.assertNotEqual(r.rc, 0, r)
        r = self.inst.cli("queue", "delete", "ALL")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.queue_list().strip(), "")
        # the daemon goes on accepting after the files vanished under it
        with self.authed("submission") as s:
            s.sendmail(USER, [OTHER], b"Subject: after\r\n\r\nx\r\n")
        self.delivered(OTHER)


class TestServiceLimits(SubmissionBase):
    """Issue 10 item 4: each service has its own connection limit (Postfix's
    master.cf process limit per service), so a flood of idle connections on
    port 25 leaves 587, 465 and POP3 reachable."""
    FLOOD = 1000

    def start(self):
        self.inst.start(wait_for=("smtp", "submission", "submissions", "pop3"))

    def settle(self, before=0):
        """No SMTP session left over: one whole session first (the daemon has
        then accepted the harness's readiness probes), then wait until every
        session since log offset `before` has its "disconnect" line."""
        with smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=10) as s:
            self.assertEqual(s.noop()[0], 250)
        def gone():
            log = self.inst.log()[before:]
            return len(re.findall(r"smtpd sid=\w+: connect addr=\S+ service=\S+ tls", log)) == \
                len(re.findall(r"smtpd sid=\w+: disconnect", log))
        self.assertTrue(lbtest.wait_until(gone), self.inst.log()[-2000:])

    def first_line(self, sock, deadline):
        sock.settimeout(max(0.1, deadline - time.time()))
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = sock.recv(512)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        return data.split(b"\r\n")[0].decode(errors="replace")

    def test_flood_on_25_leaves_other_services_open(self):
        import poplib
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = self.FLOOD + 200
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
        self.settle()
        port = self.inst.port("smtp")
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        deadline = time.time() + 60
        for _ in range(self.FLOOD):
            if time.time() > deadline:
                break
            try:
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=10))
            except OSError:
                break		# the client ran out of something: enough of a flood
        self.assertGreater(len(socks), 150, "the flood did not get past the default limit of 100")
        deadline = time.time() + 60
        firsts = [self.first_line(s, deadline) for s in socks]
        accepted = sum(1 for l in firsts if l.startswith("220 "))
        refused = sum(1 for l in firsts if l.startswith("421 4.7.0 Error: too many connections"))
        # smtpd_max_connections (100 by default) on port 25; 127.0.0.1 is in
        # mynetworks, so the per-client limit does not apply.
        self.assertEqual(accepted, 100, firsts[:3] + firsts[-3:])
        self.assertEqual(accepted + refused, len(socks), [l for l in firsts if not l[:3] in ("220", "421")][:5])
        self.assertIn("refused reason=service-connection-limit", self.inst.log())
        # the 100 idle ones are still held open: the other services answer
        with self.smtp("submission") as s:		# 220, EHLO, STARTTLS, EHLO
            code, resp = s.docmd("AUTH", "PLAIN " + plain_ir())
            self.assertEqual(code, 235, resp)
        with self.smtp("submissions") as s:	# implicit TLS handshake, EHLO
            self.assertEqual(s.noop()[0], 250)
        p = poplib.POP3("127.0.0.1", self.inst.port("pop3"), timeout=20)
        self.assertTrue(p.getwelcome().startswith(b"+OK"))
        p.quit()
        # and port 25 itself takes a new client once the flood is gone
        for s in socks:
            s.close()
        socks.clear()
        def smtp_ok():
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                    return s.noop()[0] == 250
            except (OSError, smtplib.SMTPException):
                return False
        self.assertTrue(lbtest.wait_until(smtp_ok, timeout=20))

    def test_client_limit_per_service(self):
        # outside mynetworks the per-client limit counts each service apart
        self.inst.stop()
        before = len(self.inst.log())   # after the old daemon's last line
        self.restart(mynetworks="192.0.2.0/24", smtpd_client_connection_count_limit="2")
        self.settle(before)
        port = self.inst.port("smtp")
        held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
        self.addCleanup(lambda: [s.close() for s in held])
        deadline = time.time() + 20
        firsts = [self.first_line(s, deadline) for s in held]
        self.assertEqual([l[:3] for l in firsts], ["220", "220", "421"], firsts)
        self.assertIn("from your address", firsts[2])
        with self.smtp("submission") as s:
            self.assertEqual(s.docmd("AUTH", "PLAIN " + plain_ir())[0], 235)


if __name__ == "__main__":
    unittest.main()
