"""IMAP server, first slice of issue 13: the session on the session core over
imap (143, STARTTLS) and imaps (993), the command table with pipelining and
literals, and the commands CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN,
AUTHENTICATE (PLAIN, LOGIN, SASL-IR), ID, ENABLE, NAMESPACE.  Driven by
Python's imaplib, raw sockets, curl and openssl s_client."""
import base64
import imaplib
import os
import re
import smtplib
import socket
import ssl
import subprocess
import time

import lbtest

USER = "alice@example.com"
PASSWORD = "s3cret pass"


def tls_context(inst):
    ctx = ssl.create_default_context(cafile=os.path.join(inst.dir, "tls", "cert.pem"))
    # The certificate names mail.example.test; we connect to 127.0.0.1.
    ctx.check_hostname = False
    return ctx


def caps_of(line):
    """The capability names in '* OK [CAPABILITY a b c] ...' or '* CAPABILITY a b c'."""
    if "[CAPABILITY " in line:
        line = line.split("[CAPABILITY ", 1)[1].split("]", 1)[0]
    else:
        line = line.split("CAPABILITY ", 1)[1]
    return set(line.split())


class ImapBase(lbtest.InstanceTest):
    conf = {"auth_failure_delay": "0"}

    def setUp(self):
        super().setUp()
        r = self.inst.cli("domain", "add", "example.com")
        self.assertEqual(r.rc, 0, r)
        r = self.inst.cli("user", "add", USER, stdin=PASSWORD + "\n")
        self.assertEqual(r.rc, 0, r)
        for k, v in self.conf.items():
            r = self.inst.cli("config", "set", k, v)
            self.assertEqual(r.rc, 0, r)
        self.ctx = tls_context(self.inst)

    def start(self):
        self.inst.start(wait_for=("imap", "imaps"))
        self.addCleanup(self.inst.kill)

    def imap(self):
        return imaplib.IMAP4("127.0.0.1", self.inst.port("imap"), timeout=20)

    def imaps(self):
        return imaplib.IMAP4_SSL("127.0.0.1", self.inst.port("imaps"), ssl_context=self.ctx,
                                 timeout=20)

    def raw(self, svc="imap"):
        """A raw connection after the greeting: (socket, file, greeting line)."""
        s = socket.create_connection(("127.0.0.1", self.inst.port(svc)), timeout=20)
        if svc == "imaps":
            s = self.ctx.wrap_socket(s)
        f = s.makefile("rb")
        return s, f, f.readline()

    def read_tagged(self, f, tag):
        """Lines up to and including the one tagged tag."""
        lines = []
        deadline = time.time() + 20
        while time.time() < deadline:
            line = f.readline()
            if line == b"":
                # not formatted for every line: that made long reads quadratic
                self.fail("closed; got %r" % lines[-20:])
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines
        self.fail("no reply tagged %r: %r" % (tag, lines[-20:]))


class ImapSessionTest(ImapBase):
    def test_capabilities_starttls_and_login(self):
        self.start()
        m = self.imap()
        self.assertTrue(m.welcome.startswith(b"* OK [CAPABILITY "), m.welcome)
        self.assertTrue(m.welcome.endswith(b"] letterbox ready."), m.welcome)
        pre = caps_of(m.welcome.decode())
        for c in ("IMAP4rev1", "STARTTLS", "LOGINDISABLED", "SASL-IR", "ID", "ENABLE",
                  "LITERAL+", "NAMESPACE", "IMAP4rev2"):
            self.assertIn(c, pre)
        self.assertNotIn("AUTH=PLAIN", pre)
        # Nothing advertised that is not implemented yet.
        for c in ("IDLE", "UIDPLUS", "MOVE", "CONDSTORE"):
            self.assertNotIn(c, pre)
        typ, data = m.capability()
        self.assertEqual(typ, "OK")
        self.assertEqual(set(data[0].decode().split()), pre)
        m.starttls(ssl_context=self.ctx)
        typ, data = m.capability()
        tls = set(data[0].decode().split())
        self.assertIn("AUTH=PLAIN", tls)
        self.assertIn("AUTH=LOGIN", tls)
        self.assertNotIn("STARTTLS", tls)
        self.assertNotIn("LOGINDISABLED", tls)
        typ, data = m.login(USER, PASSWORD)
        self.assertEqual(typ, "OK")
        self.assertIn(b"[CAPABILITY ", data[0])
        typ, data = m.capability()
        post = set(data[0].decode().split())
        self.assertIn("UTF8=ACCEPT", post)
        self.assertNotIn("AUTH=PLAIN", post)
        self.assertNotIn("SASL-IR", post)
        typ, data = m.namespace()
        self.assertEqual((typ, data), ("OK", [b'(("" "/")) NIL NIL']))
        typ, data = m.noop()
        self.assertEqual(typ, "OK")
        typ, data = m.logout()
        self.assertEqual(typ, "BYE")
        self.assertTrue(self.inst.wait_log("login user=%s method=LOGIN tls=TLS" % USER))
        self.assertTrue(self.inst.wait_log("logout user=%s" % USER))
        self.stop_clean()

    def test_login_bad_password_and_implicit_tls(self):
        self.start()
        m = self.imaps()
        self.assertIn("AUTH=PLAIN", m.capabilities)
        self.assertNotIn("STARTTLS", m.capabilities)
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login(USER, "wrong")
        self.assertIn("[AUTHENTICATIONFAILED]", str(cm.exception))
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login("nobody@example.com", PASSWORD)
        self.assertIn("[AUTHENTICATIONFAILED]", str(cm.exception))
        self.assertEqual(m.login(USER, PASSWORD)[0], "OK")
        m.logout()
        self.assertTrue(self.inst.wait_log("login user=%s method=LOGIN tls=TLS" % USER))
        self.stop_clean()

    def test_authenticate_plain_login_and_sasl_ir(self):
        self.start()
        # imaplib: AUTHENTICATE PLAIN, then the response after "+ ".
        m = self.imaps()
        typ, _ = m.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (USER, PASSWORD)).encode())
        self.assertEqual(typ, "OK")
        self.assertEqual(m.state, "AUTH")
        m.logout()
        answers = iter([USER.encode(), PASSWORD.encode()])
        m = self.imaps()
        typ, _ = m.authenticate("LOGIN", lambda _: next(answers))
        self.assertEqual(typ, "OK")
        m.logout()
        # SASL-IR (RFC 4959): the credentials on the command line, no "+".
        s, f, _ = self.raw("imaps")
        ir = base64.b64encode(("\0%s\0%s" % (USER, PASSWORD)).encode())
        s.sendall(b"a AUTHENTICATE PLAIN " + ir + b"\r\n")
        line = f.readline()
        self.assertTrue(line.startswith(b"a OK [CAPABILITY IMAP4rev1"), line)
        # A bad one and a cancelled one.
        s, f, _ = self.raw("imaps")
        bad = base64.b64encode(("\0%s\0nope" % USER).encode())
        s.sendall(b"b AUTHENTICATE PLAIN " + bad + b"\r\n")
        self.assertEqual(f.readline(), b"b NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
        s.sendall(b"c AUTHENTICATE PLAIN\r\n")
        self.assertEqual(f.readline(), b"+ \r\n")
        s.sendall(b"*\r\n")
        self.assertEqual(f.readline(), b"c BAD Authentication cancelled.\r\n")
        s.sendall(b"d AUTHENTICATE CRAM-MD5\r\n")
        self.assertTrue(f.readline().startswith(b"d NO "))
        s.sendall(b"e NAMESPACE\r\n")
        self.assertEqual(f.readline(), b"e BAD Command not allowed before login.\r\n")
        s.close()
        self.assertTrue(self.inst.wait_log("login user=%s method=PLAIN" % USER))
        self.stop_clean()

    def test_logindisabled_without_tls(self):
        self.start()
        m = self.imap()
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login(USER, PASSWORD)
        self.assertIn("[PRIVACYREQUIRED]", str(cm.exception))
        s, f, _ = self.raw()
        ir = base64.b64encode(("\0%s\0%s" % (USER, PASSWORD)).encode())
        s.sendall(b"a AUTHENTICATE PLAIN " + ir + b"\r\n")
        self.assertTrue(f.readline().startswith(b"a NO [PRIVACYREQUIRED]"))
        s.close()
        self.assertNotIn("login user=", self.inst.log())
        self.stop_clean()

    def test_starttls_injection_refused(self):
        self.start()
        s, f, _ = self.raw()
        s.sendall(b"a STARTTLS\r\nb CAPABILITY\r\n")
        self.assertEqual(f.readline(), b"a OK Begin TLS negotiation now.\r\n")
        self.assertEqual(f.readline(), b"")	# closed, b never answered
        s.close()
        self.assertTrue(self.inst.wait_log("plaintext pipelined after STARTTLS"))
        self.stop_clean()

    def test_pipelined_commands_answered_in_order(self):
        self.start()
        s, f, _ = self.raw("imaps")
        # The login runs on a worker: what follows must wait for it.
        s.sendall(b"a1 NOOP\r\na2 CAPABILITY\r\na3 LOGIN " + USER.encode() +
                  b' "' + PASSWORD.encode() + b'"\r\na4 NAMESPACE\r\na5 ENABLE UTF8=ACCEPT '
                  b"X-UNKNOWN\r\na6 ID (\"name\" \"test\" \"version\" \"1.0\")\r\na7 FOO\r\n"
                  b"a8 LOGOUT\r\n")
        out = b""
        while True:
            chunk = f.read1(65536)
            if not chunk:
                break
            out += chunk
        tags = [l.split(b" ")[0] for l in out.split(b"\r\n") if l and not l.startswith(b"*")]
        self.assertEqual(tags, [b"a1", b"a2", b"a3", b"a4", b"a5", b"a6", b"a7", b"a8"], out)
        self.assertIn(b"* ENABLED UTF8=ACCEPT\r\na5 OK", out)
        self.assertIn(b'* ID ("name" "letterbox")\r\na6 OK', out)
        self.assertIn(b"a7 BAD Unknown command.", out)
        self.assertIn(b"* BYE Logging out.\r\na8 OK", out)
        s.close()
        self.assertTrue(self.inst.wait_log('id "test/1.0"'))
        self.stop_clean()

    def test_many_pipelined_replies_wait_for_the_client(self):
        # 3,000 CAPABILITY answers (about 400 KB) outgrow the output high-water
        # mark (256 KiB): input is no longer handed over until the client
        # reads; nothing is lost and the order holds throughout.
        self.start()
        s, f, _ = self.raw("imaps")
        n = 3000
        s.sendall(b"".join(b"t%d CAPABILITY\r\n" % i for i in range(n)) + b"z LOGOUT\r\n")
        tags = []
        while True:
            line = f.readline()
            if not line:
                break
            if not line.startswith(b"*"):
                tags.append(line.split(b" ")[0])
        self.assertEqual(tags, [b"t%d" % i for i in range(n)] + [b"z"])
        s.close()
        self.stop_clean()

    def test_literals(self):
        self.start()
        s, f, _ = self.raw("imaps")
        # A synchronising literal is invited with "+ OK".
        s.sendall(b"a LOGIN {%d}\r\n" % len(USER))
        self.assertEqual(f.readline(), b"+ OK\r\n")
        s.sendall(USER.encode() + b" {%d+}\r\n" % len(PASSWORD) + PASSWORD.encode() + b"\r\n")
        self.assertTrue(f.readline().startswith(b"a OK [CAPABILITY "))
        s.close()
        # An APPEND message is never invited before login.
        s, f, _ = self.raw("imaps")
        s.sendall(b"b APPEND INBOX {10}\r\n")
        self.assertEqual(f.readline(), b"b NO Log in first.\r\n")
        s.sendall(b"c NOOP\r\n")
        self.assertEqual(f.readline(), b"c OK NOOP completed.\r\n")
        # Before login a non-synchronising literal is bounded by LITERAL- (4096).
        s.sendall(b"d LOGIN {5000+}\r\n" + b"x" * 5000 + b" y\r\ne NOOP\r\n")
        line = f.readline()
        self.assertTrue(line.startswith(b"d BAD [TOOBIG]") or line.startswith(b"d NO [TOOBIG]"),
                        line)
        self.assertEqual(f.readline(), b"e OK NOOP completed.\r\n")
        s.close()
        self.stop_clean()

    def test_unknown_append_and_long_sasl_response(self):
        self.start()
        s, f, _ = self.raw("imaps")
        # A SASL response longer than 8 KiB ends the exchange, not the session.
        s.sendall(b"a AUTHENTICATE PLAIN\r\n")
        self.assertEqual(f.readline(), b"+ \r\n")
        s.sendall(b"x" * 9000 + b"\r\n")
        self.assertEqual(f.readline(), b"a BAD SASL response too long.\r\n")
        s.sendall(b"b LOGIN " + USER.encode() + b' "' + PASSWORD.encode() + b'"\r\n')
        self.assertTrue(f.readline().startswith(b"b OK"))
        # APPEND after the SASL mishap: a synchronising literal is invited, a
        # LITERAL+ message is read; the session stays in step (test_imap_append.py).
        s.sendall(b"c APPEND INBOX {10}\r\n")
        self.assertEqual(f.readline(), b"+ OK\r\n")
        s.sendall(b"0123456789\r\n")
        self.assertTrue(f.readline().startswith(b"c OK [APPENDUID "))
        s.sendall(b"d APPEND INBOX (\\Seen) {12+}\r\nhello world!\r\ne NOOP\r\n")
        self.assertTrue(f.readline().startswith(b"d OK [APPENDUID "))
        self.assertEqual(f.readline(), b"e OK NOOP completed.\r\n")
        s.close()
        self.stop_clean()

    def test_overlong_line(self):
        self.start()
        s, f, _ = self.raw()
        s.sendall(b"a NOOP " + b"x" * 9000 + b"\r\nb NOOP\r\n")
        # The stream cannot be resynchronised (the tail may hold anything): BYE.
        self.assertEqual(f.readline(), b"* BYE Command line too long.\r\n")
        self.assertEqual(f.readline(), b"")
        s.close()
        # After login the limit is imap_max_line_length (64 KiB): 9000 bytes pass.
        s, f, _ = self.raw("imaps")
        s.sendall(b"a LOGIN " + USER.encode() + b' "' + PASSWORD.encode() + b'"\r\n')
        self.assertTrue(f.readline().startswith(b"a OK"))
        s.sendall(b"b ID (\"x\" \"" + b"y" * 1000 + b"\")\r\nc NOOP " + b"x" * 9000 + b"\r\n")
        self.assertTrue(f.readline().startswith(b"* ID"))
        self.assertTrue(f.readline().startswith(b"b OK"))
        self.assertEqual(f.readline(), b"c BAD NOOP takes no arguments.\r\n")
        s.sendall(b"d NOOP " + b"x" * 70000 + b"\r\n")
        self.assertEqual(f.readline(), b"* BYE Command line too long.\r\n")
        self.assertEqual(f.readline(), b"")
        s.close()
        self.assertTrue(self.inst.wait_log("Command line too long, closing"))
        self.stop_clean()

    def test_curl_and_openssl(self):
        self.start()
        cert = os.path.join(self.inst.dir, "tls", "cert.pem")
        for scheme, svc, extra in (("imap", "imap", ["--ssl-reqd"]), ("imaps", "imaps", [])):
            port = self.inst.port(svc)
            url = "%s://mail.example.test:%d/" % (scheme, port)
            p = subprocess.run(["curl", "-sS", "-v", "--max-time", "20", "--cacert", cert,
                                "--resolve", "mail.example.test:%d:127.0.0.1" % port,
                                "-u", "%s:%s" % (USER, PASSWORD), "-X", "NAMESPACE"] + extra +
                               [url], capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 0, p)
            self.assertIn(b'* NAMESPACE (("" "/")) NIL NIL', p.stdout, p)
            # Without a command curl lists the folders.
            p = subprocess.run(["curl", "-sS", "--max-time", "20", "--cacert", cert,
                                "--resolve", "mail.example.test:%d:127.0.0.1" % port,
                                "-u", "%s:%s" % (USER, PASSWORD)] + extra + [url],
                               capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 0, p)
            self.assertIn(b'* LIST (\\HasNoChildren) "/" INBOX\r\n', p.stdout, p)
            p = subprocess.run(["curl", "-sS", "--max-time", "20", "--cacert", cert,
                                "--resolve", "mail.example.test:%d:127.0.0.1" % port,
                                "-u", "%s:wrong" % USER, "-X", "NAMESPACE"] + extra + [url],
                               capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 67, p)	# CURLE_LOGIN_DENIED
        script = b"a CAPABILITY\na LOGIN %s \"%s\"\nb ID NIL\nc LOGOUT\n" % (
            USER.encode(), PASSWORD.encode())
        p = subprocess.run(["openssl", "s_client", "-starttls", "imap", "-quiet", "-crlf",
                            "-connect", "127.0.0.1:%d" % self.inst.port("imap"), "-CAfile", cert],
                           input=script, capture_output=True, timeout=30)
        self.assertIn(b"AUTH=PLAIN", p.stdout, p)
        self.assertIn(b"a OK [CAPABILITY", p.stdout, p)
        self.assertIn(b"c OK Logout completed.", p.stdout, p)
        self.stop_clean()


class ImapMailboxTest(ImapBase):
    """Item 5: the mailbox commands on the store's public API."""

    def deliver(self, n):
        smtp = smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=20)
        for i in range(n):
            smtp.sendmail("bob@example.org", [USER],
                          b"From: bob@example.org\r\nSubject: m%d\r\n\r\nbody %d\r\n" % (i, i))
        smtp.quit()
        self.assertEqual(len(lbtest.wait_files(self.inst.maildir(USER), n)), n)

    def login(self):
        m = self.imaps()
        self.assertEqual(m.login(USER, PASSWORD)[0], "OK")
        return m

    def test_select_status_list_and_folders(self):
        self.inst.start(wait_for=("smtp", "imap", "imaps"))
        self.addCleanup(self.inst.kill)
        self.deliver(2)
        m = self.login()
        typ, data = m.status("INBOX", "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY RECENT)")
        self.assertEqual(typ, "OK")
        st = data[0].decode()
        self.assertIn("MESSAGES 2", st)
        self.assertIn("UNSEEN 2", st)
        self.assertIn("UIDNEXT 3", st)
        uidv = re.search(r"UIDVALIDITY (\d+)", st).group(1)
        typ, data = m.select("inbox")
        self.assertEqual((typ, data), ("OK", [b"2"]))
        self.assertEqual(m.untagged_responses.get("UIDVALIDITY"), [uidv.encode()])
        self.assertEqual(m.untagged_responses.get("UIDNEXT"), [b"3"])
        self.assertIn(b"[READ-WRITE]", m.untagged_responses["READ-WRITE"][0] or b"[READ-WRITE]")
        self.assertEqual(m.unselect()[0], "OK")
        self.assertEqual(m.state, "AUTH")
        # EXAMINE is read-only; a failed SELECT leaves nothing selected.
        typ, data = m.select("INBOX", readonly=True)
        self.assertEqual((typ, data), ("OK", [b"2"]))
        typ, data = m.select("Nope")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NONEXISTENT]", data[0])
        with self.assertRaises(imaplib.IMAP4.error):
            m.unselect()	# not in SELECTED any more
        # CREATE / LIST / RENAME / DELETE, with the CHILDREN flags.  A new user
        # has the RFC 6154 folders (Drafts Sent Trash Junk Archive) already.
        self.assertEqual(m.create("Work/Projects")[0], "OK")
        typ, data = m.create("Sent")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[ALREADYEXISTS]", data[0])
        typ, data = m.list()
        self.assertEqual(typ, "OK")
        lines = sorted(d.decode() for d in data)
        self.assertIn('(\\HasNoChildren) "/" INBOX', lines)
        self.assertIn('(\\HasNoChildren \\Sent) "/" Sent', lines)
        self.assertIn('(\\HasNoChildren) "/" Work/Projects', lines)
        self.assertTrue(any(l.endswith('"/" Work') and "\\HasChildren" in l for l in lines), lines)
        typ, data = m.list('""', "%")
        names = sorted(d.decode().rsplit(" ", 1)[1] for d in data)
        self.assertEqual(names, ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash", "Work"])
        typ, data = m.list("Work/", "*")
        self.assertEqual([d.decode().rsplit(" ", 1)[1] for d in data], ["Work/Projects"])
        typ, data = m.list('""', '""')
        self.assertEqual(data, [b'(\\Noselect) "/" ""'])
        self.assertEqual(m.rename("Trash", "Bin")[0], "OK")
        typ, data = m.rename("Nope", "Other")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NONEXISTENT]", data[0])
        self.assertEqual(m.delete("Bin")[0], "OK")
        typ, data = m.delete("inbox")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[CANNOT]", data[0])
        typ, data = m.rename("Work", "INBOX")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[ALREADYEXISTS]", data[0])
        typ, data = m.list('""', "Bin")
        self.assertEqual(data, [None])
        # Subscriptions.
        self.assertEqual(m.subscribe("Sent")[0], "OK")
        self.assertEqual(m.subscribe("Work/Projects")[0], "OK")
        typ, data = m.lsub('""', "*")
        subs = [d.decode() for d in data]
        self.assertIn('() "/" Sent', subs)
        self.assertIn('() "/" Work/Projects', subs)
        self.assertEqual(m.unsubscribe("Sent")[0], "OK")
        typ, data = m.lsub('""', "W*")
        self.assertEqual([d.decode() for d in data], ['() "/" Work/Projects'])
        typ, data = m.lsub('""', "Sent")
        self.assertEqual(data, [None])
        typ, data = m.status("Sent", "(MESSAGES UIDNEXT)")
        self.assertEqual(data[0], b"Sent (MESSAGES 0 UIDNEXT 1)")
        m.logout()
        # UTF8=ACCEPT (RFC 6855): UTF-8 names in, stored and shown to rev1 clients
        # in modified UTF-7, and the other way round.
        m = self.login()
        self.assertEqual(m.enable("UTF8=ACCEPT")[0], "OK")
        self.assertEqual(m.create('"Entwürfe"')[0], "OK")
        typ, data = m.list('""', "Entw*")
        self.assertEqual(data, ['(\\HasNoChildren) "/" "Entwürfe"'.encode()])
        m.logout()
        m = self.login()
        typ, data = m.list('""', "Entw*")
        self.assertEqual(data, [b'(\\HasNoChildren) "/" Entw&APw-rfe'])
        self.assertEqual(m.delete("Entw&APw-rfe")[0], "OK")
        m.logout()
        # A second session, after a restart, sees the same UIDVALIDITY and folders.
        self.stop_clean()
        self.inst.start(wait_for=("imaps",))
        m = self.login()
        typ, data = m.select("INBOX")
        self.assertEqual((typ, data), ("OK", [b"2"]))
        self.assertEqual(m.untagged_responses.get("UIDVALIDITY"), [uidv.encode()])
        typ, data = m.list('""', "*")
        self.assertEqual([d.decode().rsplit(" ", 1)[1] for d in data],
                         ["INBOX", "Archive", "Drafts", "Junk", "Sent", "Work", "Work/Projects"])
        m.logout()
        self.stop_clean()


    def test_create_first_for_a_user_without_maildir(self):
        """A user who never got mail has no Maildir: CREATE (with a trailing
        separator, RFC 3501 6.3.3) as the first command makes it."""
        self.inst.start(wait_for=("imaps",))
        self.addCleanup(self.inst.kill)
        self.assertFalse(os.path.exists(self.inst.maildir(USER)))
        m = self.login()
        self.addCleanup(m.logout)
        self.assertEqual(m.create("First/")[0], "OK")
        typ, data = m.list('""', "First")
        self.assertEqual(data, [b'(\\HasNoChildren) "/" First'])
        self.assertEqual(m.select("INBOX"), ("OK", [b"0"]))

    def test_rename_inbox(self):
        """RFC 3501 6.3.5: RENAME INBOX moves its messages, flags and all, to
        the new folder; INBOX stays, empty, and new mail still lands there."""
        self.inst.start(wait_for=("smtp", "imap", "imaps"))
        self.addCleanup(self.inst.kill)
        self.deliver(2)
        m = self.login()
        self.addCleanup(m.logout)
        self.assertEqual(m.append("INBOX", "(\\Flagged $Work)", None,
                                  b"Subject: third\r\n\r\nbody\r\n")[0], "OK")
        self.assertEqual(m.rename("INBOX", "Old")[0], "OK")
        self.assertEqual(m.status("INBOX", "(MESSAGES)")[1][0], b"INBOX (MESSAGES 0)")
        self.assertEqual(m.status("Old", "(MESSAGES)")[1][0], b"Old (MESSAGES 3)")
        self.assertEqual(m.select("Old")[0], "OK")
        typ, data = m.search(None, "FLAGGED", "KEYWORD", "$Work")
        self.assertEqual(data, [b"3"])
        typ, data = m.rename("INBOX", "Old")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[ALREADYEXISTS]", data[0])
        self.deliver(1)
        self.assertTrue(lbtest.wait_until(
            lambda: m.status("INBOX", "(MESSAGES)")[1][0] == b"INBOX (MESSAGES 1)"))


class ImapPlaintextTest(ImapBase):
    conf = {"auth_failure_delay": "0", "disable_plaintext_auth": "no"}

    def test_plaintext_allowed(self):
        self.start()
        m = self.imap()
        self.assertIn("AUTH=PLAIN", m.capabilities)
        self.assertNotIn("LOGINDISABLED", m.capabilities)
        self.assertEqual(m.login(USER, PASSWORD)[0], "OK")
        m.logout()
        self.assertTrue(self.inst.wait_log("login user=%s method=LOGIN tls=no" % USER))
        self.stop_clean()


class ImapTimeoutTest(ImapBase):
    conf = {"auth_failure_delay": "0", "login_timeout": "2"}

    def test_login_timeout(self):
        self.start()
        s, f, _ = self.raw()
        t0 = time.time()
        # Talking is not logging in: the deadline holds.
        for _ in range(12):
            try:
                s.sendall(b"a NOOP\r\n")
            except OSError:
                break
            time.sleep(0.5)
        data = f.read()
        self.assertIn(b"* BYE Disconnected for inactivity.", data)
        self.assertLess(time.time() - t0, 6)
        s.close()
        self.assertTrue(self.inst.wait_log("reason=login-timeout"))
        self.stop_clean()


class ImapLimitTest(ImapBase):
    conf = {"auth_failure_delay": "0", "imap_max_connections": "2",
            "imap_client_connection_count_limit": "100"}

    def test_service_limit(self):
        self.start()
        deadline = time.time() + 10
        held = []
        # The harness's readiness probes must be gone before we count.
        while time.time() < deadline and len(held) < 2:
            s = socket.create_connection(("127.0.0.1", self.inst.port("imap")), timeout=20)
            f = s.makefile("rb")
            if f.readline().startswith(b"* OK"):
                held.append((s, f))
            else:
                s.close()
                time.sleep(0.05)
        self.assertEqual(len(held), 2)
        s = socket.create_connection(("127.0.0.1", self.inst.port("imap")), timeout=20)
        f = s.makefile("rb")
        self.assertEqual(f.readline(),
                         b"* BYE [UNAVAILABLE] Too many connections, try again later.\r\n")
        self.assertEqual(f.readline(), b"")
        s.close()
        self.assertTrue(self.inst.wait_log("service=imap refused reason=service-connection-limit"))
        # imaps has its own limit.
        m = self.imaps()
        self.assertEqual(m.login(USER, PASSWORD)[0], "OK")
        m.logout()
        for s, f in held:
            f.close()
            s.close()
        self.stop_clean()


class ImapAuthLimitTest(ImapBase):
    conf = {"auth_failure_delay": "0", "auth_failure_limit": "2"}

    def test_failure_limit_closes(self):
        self.start()
        s, f, _ = self.raw("imaps")
        s.sendall(b"a LOGIN " + USER.encode() + b" x\r\n")
        self.assertEqual(f.readline(), b"a NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
        s.sendall(b"b LOGIN " + USER.encode() + b" y\r\n")
        self.assertEqual(f.readline(), b"b NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
        self.assertEqual(f.readline(), b"")
        s.close()
        self.assertTrue(self.inst.wait_log("reason=auth-failure-limit"))
        self.stop_clean()


if __name__ == "__main__":
    import unittest
    unittest.main()
