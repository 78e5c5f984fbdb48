"""IMAP APPEND (issue 13): flags, date-time, APPENDUID (RFC 4315), TRYCREATE,
TOOBIG / APPENDLIMIT (RFC 7889), OVERQUOTA (virtual_mailbox_limit), LITERAL+
(RFC 7888) and synchronising literals on a raw socket, MULTIAPPEND (RFC 3502).
The bytes are checked in the Maildir file (LF or CRLF on disk, served as CRLF);
the FETCH-based check runs once FETCH is in the command table."""
import calendar
import imaplib
import os
import re
import time

import lbtest
from test_imap import ImapBase, USER, PASSWORD

MSG = (b"From: Alice <alice@example.org>\r\n"
       b"To: bob@example.com\r\n"
       b"Subject: appended\r\n"
       b"\r\n"
       b"Line one.\r\n"
       b"Line two, with trailing spaces   \r\n"
       b".\r\n"
       b"last\r\n")


class AppendBase(ImapBase):
    conf = {"auth_failure_delay": "0", "disable_plaintext_auth": "no"}

    def setUp(self):
        super().setUp()
        self.start()

    def login(self):
        m = self.imap()
        self.assertEqual(m.login(USER, PASSWORD)[0], "OK")
        self.addCleanup(m.logout)
        return m

    def raw_login(self):
        s, f, _ = self.raw()
        self.addCleanup(s.close)
        s.sendall(b'a LOGIN "%s" "%s"\r\n' % (USER.encode(), PASSWORD.encode()))
        self.assertTrue(self.read_tagged(f, b"a")[-1].startswith(b"a OK"))
        return s, f

    def files(self, folder=""):
        """{uid-less base: (name, path)} of the folder's message files."""
        md = self.inst.maildir(USER)
        if folder:
            md = os.path.join(md, "." + folder)
        out = []
        for sub in ("cur", "new"):
            d = os.path.join(md, sub)
            if os.path.isdir(d):
                out += [os.path.join(d, n) for n in sorted(os.listdir(d))]
        return out

    def appenduid(self, data):
        mo = re.search(rb"\[APPENDUID (\d+) ([0-9:,]+)\]", data)
        self.assertIsNotNone(mo, data)
        return int(mo.group(1)), mo.group(2).decode()


class ImapAppendTest(AppendBase):
    def test_append_flags_date_and_bytes(self):
        m = self.login()
        caps = m.capability()[1][0].decode().split()
        self.assertIn("MULTIAPPEND", caps)
        self.assertTrue(any(c.startswith("APPENDLIMIT=") for c in caps), caps)
        when = calendar.timegm((2023, 5, 17, 8, 30, 0))
        typ, data = m.append("INBOX", r"(\Seen \Flagged $Work)",
                             imaplib.Time2Internaldate(when), MSG)
        self.assertEqual(typ, "OK", data)
        uidv, uid = self.appenduid(data[0])
        self.assertEqual(uid, "1")
        self.assertTrue(self.inst.wait_log(
            "append user=%s mailbox=INBOX uids=1 size=%d" % (USER, len(MSG))))
        files = self.files()
        self.assertEqual(len(files), 1, files)
        name = os.path.basename(files[0])
        flags = name.rsplit(":2,", 1)[1]
        self.assertIn("F", flags)
        self.assertIn("S", flags)
        self.assertRegex(flags, "[a-z]")	# the keyword, by its letter
        with open(os.path.join(self.inst.maildir(USER), "dovecot-keywords")) as f:
            self.assertIn("$Work", f.read())
        self.assertEqual(int(os.stat(files[0]).st_mtime), when)
        # Byte-exact, whatever line ends the store keeps on disk.
        self.assertEqual(lbtest.read_msg(files[0]), MSG)
        # Same UIDVALIDITY as SELECT shows; the next append gets the next UID.
        typ, data = m.append("INBOX", None, None, b"Subject: two\r\n\r\nx\r\n")
        self.assertEqual(self.appenduid(data[0]), (uidv, "2"))
        typ, data = m.select("INBOX")
        self.assertEqual(data, [b"2"])
        self.assertEqual(m.untagged_responses.get("UIDVALIDITY"), [str(uidv).encode()])
        self.assertEqual(m.search(None, "SUBJECT", "appended")[1], [b"1"])

    def test_append_to_folder_and_trycreate(self):
        m = self.login()
        typ, data = m.append("Nope", None, None, MSG)
        self.assertEqual(typ, "NO")
        self.assertIn(b"[TRYCREATE]", data[0])
        # A new user's Maildir appears with the first INBOX append (CREATE needs it).
        self.assertEqual(m.append("INBOX", None, None, MSG)[0], "OK")
        self.assertEqual(m.create("Outbox")[0], "OK")
        typ, data = m.append("Outbox", r"(\Draft)", None, MSG)
        self.assertEqual(typ, "OK", data)
        files = self.files("Outbox")
        self.assertEqual(len(files), 1)
        self.assertTrue(files[0].endswith(":2,D"), files)
        self.assertEqual(lbtest.read_msg(files[0]), MSG)
        # bad flags and dates are refused, nothing stored
        with self.assertRaises(m.error):
            m.append("Outbox", r"(\Recent)", None, MSG)
        with self.assertRaises(m.error):
            m._simple_command("APPEND", "Outbox", '"31-Foo-2020 00:00:00 +0000"', "{3+}\r\nabc")
        self.assertEqual(len(self.files("Outbox")), 1)
        # 26 keywords per mailbox (Maildir letters a-z): the 27th is a NO [LIMIT]
        kws = " ".join("kw%d" % i for i in range(26))
        self.assertEqual(m.append("Outbox", "(%s)" % kws, None, MSG)[0], "OK")
        typ, data = m.append("Outbox", "(kw3 another)", None, MSG)
        self.assertEqual(typ, "NO")
        self.assertIn(b"[LIMIT]", data[0])
        self.assertEqual(len(self.files("Outbox")), 2)

    def test_literals_on_the_wire(self):
        s, f = self.raw_login()
        # A synchronising literal is invited with "+".
        s.sendall(b"b APPEND INBOX {%d}\r\n" % len(MSG))
        self.assertTrue(f.readline().startswith(b"+"))
        s.sendall(MSG + b"\r\n")
        r = self.read_tagged(f, b"b")
        self.assertTrue(r[-1].startswith(b"b OK [APPENDUID "), r)
        # LITERAL+: no "+", the message follows at once (and in pieces).
        s.sendall(b"c APPEND INBOX (\\Seen) {%d+}\r\n" % len(MSG) + MSG[:10])
        time.sleep(0.05)	# let the first piece arrive alone (not a wait for a state)
        s.sendall(MSG[10:] + b"\r\n")
        r = self.read_tagged(f, b"c")
        self.assertEqual(len(r), 1, r)
        self.assertIn(b" 2] ", r[0])
        # MULTIAPPEND: two messages, one command, consecutive UIDs.
        s.sendall(b"d APPEND INBOX (\\Flagged) {3+}\r\nabc {3+}\r\ndef\r\n")
        r = self.read_tagged(f, b"d")
        self.assertRegex(r[-1], rb"^d OK \[APPENDUID \d+ 3:4\]")
        # A synchronising literal for a missing mailbox is refused before "+".
        s.sendall(b"e APPEND Missing {5}\r\n")
        line = f.readline()
        self.assertTrue(line.startswith(b"e NO [TRYCREATE]"), line)
        # ... and a LITERAL+ one is read, dropped, then refused.
        s.sendall(b"g APPEND Missing {5+}\r\nhello\r\nh NOOP\r\n")
        self.assertTrue(self.read_tagged(f, b"g")[-1].startswith(b"g NO [TRYCREATE]"))
        self.assertTrue(self.read_tagged(f, b"h")[-1].startswith(b"h OK"))
        datas = sorted(lbtest.read_msg(p) for p in self.files())
        self.assertEqual(datas, sorted([MSG, MSG, b"abc", b"def"]))

    def test_utf8_append(self):
        """RFC 6855 4: after ENABLE UTF8=ACCEPT, APPEND ... UTF8 (~{n})."""
        s, f = self.raw_login()
        msg = "Subject: Grüße\r\n\r\nDéjà vu\r\n".encode()
        # not enabled yet: the UTF8 form is refused
        s.sendall(b"b APPEND INBOX UTF8 (~{%d+}\r\n" % len(msg) + msg + b")\r\n")
        self.assertTrue(self.read_tagged(f, b"b")[-1].startswith(b"b BAD"))
        s.sendall(b"c ENABLE UTF8=ACCEPT\r\n")
        self.assertIn(b"UTF8=ACCEPT", self.read_tagged(f, b"c")[0])
        s.sendall(b"d APPEND INBOX (\\Seen) UTF8 (~{%d}\r\n" % len(msg))
        self.assertTrue(f.readline().startswith(b"+"))
        s.sendall(msg + b")\r\n")
        r = self.read_tagged(f, b"d")
        self.assertTrue(r[-1].startswith(b"d OK [APPENDUID "), r)
        files = self.files()
        self.assertEqual(len(files), 1)
        self.assertEqual(lbtest.read_msg(files[0]), msg)

    def test_large_message_in_blocks(self):
        """A 3 MB message goes to the temp file in blocks; bytes kept exactly."""
        m = self.login()
        line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/\r\n"
        big = b"Subject: big\r\n\r\n" + b"".join(b"%06d " % i + line
                                              for i in range(3 * 1024 * 1024 // 72))
        typ, data = m.append("INBOX", None, None, big)
        self.assertEqual(typ, "OK", data)
        files = self.files()
        self.assertEqual(len(files), 1)
        self.assertEqual(lbtest.read_msg(files[0]), big)
        self.assertEqual(m.select("INBOX")[1], [b"1"])
        self.assertEqual(m.search(None, "BODY", "\"012345 0123456789abc\"")[1], [b"1"])
        self.assertEqual(m.search(None, "LARGER", str(len(big) - 1))[1], [b"1"])

    def test_disconnect_mid_message_leaves_nothing(self):
        """A client gone halfway through a message: no message, no temp file."""
        m = self.login()
        self.assertEqual(m.append("INBOX", None, None, MSG)[0], "OK")	# the Maildir exists
        s, f = self.raw_login()
        # past one block: a write job has run before the client goes
        s.sendall(b"b APPEND INBOX {600000+}\r\n" + b"x" * 400000)
        tmp = os.path.join(self.inst.maildir(USER), "tmp")
        self.assertTrue(lbtest.wait_until(
            lambda: os.listdir(tmp) and
            os.path.getsize(os.path.join(tmp, os.listdir(tmp)[0])) >= 256 * 1024, 10),
            "no temp file written")
        f.close()	# the socket closes only once its file object is closed too
        s.close()
        self.assertTrue(lbtest.wait_until(lambda: not os.listdir(tmp), 10), os.listdir(tmp))
        self.assertEqual(len(self.files()), 1)
        self.assertEqual(m.noop()[0], "OK")

    def test_append_then_fetch(self):
        """APPEND then FETCH BODY[] gives the very bytes back."""
        s, f = self.raw_login()
        s.sendall(b"b SELECT INBOX\r\n")
        self.read_tagged(f, b"b")
        s.sendall(b"c APPEND INBOX {%d+}\r\n" % len(MSG) + MSG + b"\r\n")
        self.assertTrue(self.read_tagged(f, b"c")[-1].startswith(b"c OK"))
        s.sendall(b"d UID FETCH 1 BODY.PEEK[]\r\n")
        r = self.read_tagged(f, b"d")
        self.assertTrue(r[-1].startswith(b"d OK"), r[-1])
        head = r[0]
        self.assertRegex(head, rb"BODY\[\] \{%d\}\r\n$" % len(MSG))
        body = b"".join(r[1:-1])
        self.assertEqual(body[:len(MSG)], MSG)
        self.assertRegex(body[len(MSG):], rb"^( UID 1)?\)\r\n$")


    def test_append_binary_literal8(self):
        """RFC 3516 4.4: a literal8 APPEND with binary content keeps its bytes;
        BINARY[1] gives them back exactly, NUL, CR and LF as sent."""
        s, f = self.raw_login()
        s.sendall(b"b SELECT INBOX\r\n")
        self.read_tagged(f, b"b")
        body = b"\x00-\xe4\n\r\n\n"
        msg = (b"From: a@example.org\r\nMime-Version: 1.0\r\n"
               b"Content-Type: application/octet-stream\r\n"
               b"Content-Transfer-Encoding: binary\r\n\r\n" + body)
        s.sendall(b"c APPEND INBOX ~{%d+}\r\n" % len(msg) + msg + b"\r\n")
        self.assertTrue(self.read_tagged(f, b"c")[-1].startswith(b"c OK"))
        s.sendall(b"d UID FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])\r\n")
        out = b"".join(self.read_tagged(f, b"d"))
        self.assertIn(b"BINARY.SIZE[1] %d BINARY[1] ~{%d}\r\n" % (len(body), len(body)) +
                      body, out)


class ImapAppendLimitTest(AppendBase):
    conf = {"auth_failure_delay": "0", "disable_plaintext_auth": "no",
            "message_size_limit": "4096", "virtual_mailbox_limit": "6000"}

    def test_toobig_and_overquota(self):
        m = self.login()
        self.assertIn("APPENDLIMIT=4096", m.capability()[1][0].decode().split())
        s, f = self.raw_login()
        # Too big: refused before "+", the client sends nothing.
        s.sendall(b"b APPEND INBOX {5000}\r\n")
        line = f.readline()
        self.assertTrue(line.startswith(b"b NO [TOOBIG]"), line)
        s.sendall(b"c NOOP\r\n")
        self.assertTrue(self.read_tagged(f, b"c")[-1].startswith(b"c OK"))
        # Quota: two of 2500 fit in 6000, the third does not.
        msg = b"Subject: q\r\n\r\n" + b"x" * 2484 + b"\r\n"
        self.assertEqual(len(msg), 2500)
        for i in range(2):
            typ, data = m.append("INBOX", None, None, msg)
            self.assertEqual(typ, "OK", data)
        typ, data = m.append("INBOX", None, None, msg)
        self.assertEqual(typ, "NO")
        self.assertIn(b"[OVERQUOTA]", data[0])
        self.assertEqual(len(self.files()), 2)
