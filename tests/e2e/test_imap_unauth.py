"""IMAP UNAUTHENTICATE (RFC 8437, issue 14 item 6): back to the
not-authenticated state on the same connection; the next login sees only
its own mail, the selected mailbox and ENABLE are gone, TLS and COMPRESS
stay.  Raw sockets: imaplib has no UNAUTHENTICATE."""
import smtplib
import zlib

from test_imap import ImapBase, USER, PASSWORD
import lbtest

OTHER = "bob@example.com"


class ImapUnauthTest(ImapBase):
    def setUp(self):
        super().setUp()
        r = self.inst.cli("user", "add", OTHER, stdin=PASSWORD + "\n")
        self.assertEqual(r.rc, 0, r)
        self.inst.start(wait_for=("smtp", "imaps"))
        self.addCleanup(self.inst.kill)
        smtp = smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=20)
        for to, subj in ((USER, b"for-alice-1"), (USER, b"for-alice-2"), (OTHER, b"for-bob")):
            smtp.sendmail("x@example.org", [to], b"Subject: " + subj + b"\r\n\r\nhi\r\n")
        smtp.quit()
        lbtest.wait_files(self.inst.maildir(USER), 2)
        lbtest.wait_files(self.inst.maildir(OTHER), 1)

    def cmd(self, s, f, tag, line):
        s.sendall(tag + b" " + line + b"\r\n")
        return self.read_tagged(f, tag)

    def login(self, s, f, user):
        lines = self.cmd(s, f, b"l", b'LOGIN "%s" "%s"' % (user.encode(), PASSWORD.encode()))
        self.assertTrue(lines[-1].startswith(b"l OK"), lines)
        return lines

    def test_unauthenticate_then_other_user(self):
        s, f, _ = self.raw("imaps")
        lines = self.login(s, f, USER)
        self.assertIn(b" UNAUTHENTICATE", lines[-1])
        self.assertTrue(self.cmd(s, f, b"e", b"ENABLE UTF8=ACCEPT")[-1].startswith(b"e OK"))
        lines = self.cmd(s, f, b"s", b"SELECT INBOX")
        self.assertIn(b"* 2 EXISTS\r\n", lines)
        self.assertEqual(self.cmd(s, f, b"u", b"UNAUTHENTICATE")[-1],
                         b"u OK Not authenticated any more.\r\n")
        # Not authenticated: no mailbox, no mailbox commands, login capabilities again.
        self.assertTrue(self.cmd(s, f, b"f", b"FETCH 1 FLAGS")[-1].startswith(b"f BAD"))
        self.assertTrue(self.cmd(s, f, b"s2", b"SELECT INBOX")[-1].startswith(b"s2 BAD"))
        caps = self.cmd(s, f, b"c", b"CAPABILITY")[0]
        self.assertIn(b"AUTH=PLAIN", caps)
        self.assertNotIn(b"UNAUTHENTICATE", caps)
        self.assertTrue(self.cmd(s, f, b"u2", b"UNAUTHENTICATE")[-1].startswith(b"u2 BAD"))
        # Bob sees his one message, not alice's two.
        self.login(s, f, OTHER)
        lines = self.cmd(s, f, b"s3", b"SELECT INBOX")
        self.assertIn(b"* 1 EXISTS\r\n", lines)
        lines = self.cmd(s, f, b"h", b"FETCH 1:* BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        text = b"".join(lines)
        self.assertIn(b"for-bob", text)
        self.assertNotIn(b"for-alice", text)
        # ENABLE was forgotten: UTF8=ACCEPT is off for bob until he enables it.
        lines = self.cmd(s, f, b"e2", b"ENABLE UTF8=ACCEPT")
        self.assertIn(b"* ENABLED UTF8=ACCEPT\r\n", lines)
        self.assertTrue(self.cmd(s, f, b"o", b"LOGOUT")[-1].startswith(b"o OK"))
        s.close()
        log = self.inst.log()
        self.assertIn("logout user=%s" % USER, log)
        self.assertIn("reason=unauthenticate", log)
        self.assertIn("login user=%s" % OTHER, log)
        self.assertIn("logout user=%s" % OTHER, log)

    def test_compression_survives(self):
        s, f, _ = self.raw("imaps")
        self.login(s, f, USER)
        self.assertEqual(self.cmd(s, f, b"z", b"COMPRESS DEFLATE")[-1], b"z OK DEFLATE active.\r\n")
        zo, zi = zlib.compressobj(6, zlib.DEFLATED, -15), zlib.decompressobj(-15)

        def zcmd(tag, line):
            s.sendall(zo.compress(tag + b" " + line + b"\r\n") + zo.flush(zlib.Z_SYNC_FLUSH))
            buf = b""
            while b"\r\n" + tag + b" " not in b"\r\n" + buf or not buf.endswith(b"\r\n"):
                data = s.recv(65536)
                self.assertTrue(data)
                buf += zi.decompress(data)
            return buf

        self.assertIn(b"u OK", zcmd(b"u", b"UNAUTHENTICATE"))
        out = zcmd(b"l", b'LOGIN "%s" "%s"' % (OTHER.encode(), PASSWORD.encode()))
        self.assertIn(b"l OK", out)
        self.assertIn(b"* 1 EXISTS", zcmd(b"s", b"SELECT INBOX"))
        # No STARTTLS offered under compression (TLS is on here anyway).
        self.assertIn(b"o OK", zcmd(b"o", b"LOGOUT"))
        s.close()
