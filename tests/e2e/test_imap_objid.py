"""The modern small IMAP extensions of issue 14 item 6: OBJECTID (RFC 8474:
MAILBOXID on CREATE/SELECT/STATUS, stable across RENAME and new after
DELETE + CREATE; EMAILID kept by COPY and MOVE, SEARCH EMAILID; THREADID
shared by a conversation, SEARCH THREADID), SAVEDATE (RFC 8514: FETCH SAVEDATE and SEARCH SAVED*), CREATE
SPECIAL-USE (RFC 6154 §5.2: stored with the folder, shown by LIST, USEATTR
for a use not kept), PREVIEW (RFC 8970), MULTIAPPEND (RFC 3502) and BINARY
(RFC 3516: APPEND with literal8, BINARY.SIZE).  imaplib with raw commands
(_simple_command / untagged responses) and a raw socket for literal8."""
import imaplib
import os
import re
import time

import lbtest
from test_imap import ImapBase, USER, PASSWORD

MSG = (b"From: Alice <alice@example.org>\r\n"
       b"To: bob@example.com\r\n"
       b"Subject: objid\r\n"
       b"Message-ID: <objid-1@example.org>\r\n"
       b"\r\n"
       b"Hello there.\r\n")
ID_RE = rb"[A-Za-z0-9_-]{1,255}"


class ObjidBase(ImapBase):
    conf = {"auth_failure_delay": "0", "disable_plaintext_auth": "no"}

    def setUp(self):
        super().setUp()
        self.start()

    def login(self, cleanup=True):
        m = self.imap()
        self.assertEqual(m.login(USER, PASSWORD)[0], "OK")
        if cleanup:
            self.addCleanup(m.logout)
        return m

    def cmd(self, m, name, *args):
        """A raw command: (tagged status, tagged text, every untagged response line)."""
        tag = m._command(name, *args)
        try:
            typ, data = m._command_complete(name, tag)
        except imaplib.IMAP4.error as e:   # BAD
            return "BAD", str(e).encode(), []
        lines = []
        for k, v in list(m.untagged_responses.items()):
            for item in v:
                lines.append(k.encode() + b" " + (item if isinstance(item, bytes) else
                                                  b"".join(x for x in item if isinstance(x, bytes))))
        m.untagged_responses.clear()
        return typ, data[-1] if data else b"", lines

    def mailboxid_status(self, m, name):
        typ, data = m.status(name, "(MAILBOXID)")
        self.assertEqual(typ, "OK", data)
        mo = re.search(rb"MAILBOXID \((" + ID_RE + rb")\)", data[0])
        self.assertIsNotNone(mo, data)
        return mo.group(1)

    def fetch(self, m, uid, items):
        typ, data = m.uid("FETCH", str(uid), items)
        self.assertEqual(typ, "OK", data)
        return b" ".join(d if isinstance(d, bytes) else b" ".join(d) for d in data
                         if d is not None)

    def threadid(self, m, uid):
        mo = re.search(rb"THREADID \((" + ID_RE + rb")\)", self.fetch(m, uid, "(THREADID)"))
        self.assertIsNotNone(mo)
        return mo.group(1)

    def emailid(self, m, uid):
        mo = re.search(rb"EMAILID \((" + ID_RE + rb")\)", self.fetch(m, uid, "(EMAILID)"))
        self.assertIsNotNone(mo)
        return mo.group(1)


class ObjectIdTest(ObjidBase):
    def test_capabilities(self):
        m = self.login()
        caps = set(m.capability()[1][0].decode().split())
        for c in ("OBJECTID", "SAVEDATE", "CREATE-SPECIAL-USE", "MULTIAPPEND", "BINARY"):
            self.assertIn(c, caps)

    def test_mailboxid_create_select_status_rename_delete(self):
        m = self.login()
        typ, text, _ = self.cmd(m, "CREATE", "Projects")
        self.assertEqual(typ, "OK")
        mo = re.search(rb"\[MAILBOXID \((" + ID_RE + rb")\)\]", text)
        self.assertIsNotNone(mo, text)
        mbid = mo.group(1)
        self.assertEqual(self.mailboxid_status(m, "Projects"), mbid)
        # SELECT reports it as an untagged OK response code
        typ, data = m.select("Projects")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.untagged_responses.get("MAILBOXID"), [b"(" + mbid + b")"])
        m.unselect() if hasattr(m, "unselect") else m.close()
        # RENAME keeps it; another folder and INBOX have their own
        self.assertEqual(m.rename("Projects", "Work")[0], "OK")
        self.assertEqual(self.mailboxid_status(m, "Work"), mbid)
        inbox = self.mailboxid_status(m, "INBOX")
        self.assertNotEqual(inbox, mbid)
        self.assertEqual(self.mailboxid_status(m, "INBOX"), inbox)
        # DELETE then CREATE under the same name: a new id (RFC 8474 4.1)
        self.assertEqual(m.delete("Work")[0], "OK")
        typ, text, _ = self.cmd(m, "CREATE", "Work")
        self.assertEqual(typ, "OK")
        self.assertNotIn(mbid, text)
        self.assertNotEqual(self.mailboxid_status(m, "Work"), mbid)
        # LIST-STATUS carries it too
        typ, data = m._simple_command("LIST", '""', "Work", "RETURN", "(STATUS (MAILBOXID))")
        self.assertEqual(typ, "OK")
        st = m.untagged_responses.pop("STATUS", [])
        self.assertTrue(any(b"MAILBOXID (" in s for s in st), st)

    def test_emailid_copy_move_search_threadid(self):
        m = self.login()
        self.assertEqual(m.create("Other")[0], "OK")
        self.assertEqual(m.append("INBOX", None, None, MSG)[0], "OK")
        self.assertEqual(m.append("INBOX", None, None, MSG.replace(b"objid-1", b"objid-2"))[0],
                         "OK")
        m.select("INBOX")
        e1, e2 = self.emailid(m, 1), self.emailid(m, 2)
        self.assertNotEqual(e1, e2)
        self.assertEqual(self.emailid(m, 1), e1)     # stable
        # COPY keeps the EMAILID, and so does a MOVE of the copy
        self.assertEqual(m.uid("COPY", "1", "Other")[0], "OK")
        m.select("Other")
        self.assertEqual(self.emailid(m, 1), e1)
        self.assertEqual(m.uid("MOVE", "1", "INBOX")[0], "OK")
        m.select("INBOX")
        typ, data = m.uid("SEARCH", "EMAILID", e1.decode())
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0].split(), [b"1", b"3"])
        self.assertEqual(self.emailid(m, 3), e1)
        self.assertEqual(m.uid("SEARCH", "EMAILID", e2.decode())[1][0].split(), [b"2"])
        self.assertEqual(m.uid("SEARCH", "EMAILID", "Mnothing")[1][0], b"")
        self.assertEqual(m.uid("SEARCH", "THREADID", "T1")[1][0], b"")
        # THREADID: a reply (References, or In-Reply-To alone) shares its root's;
        # the moved copy keeps it, another conversation has its own
        reply = MSG.replace(b"Message-ID: <objid-1@example.org>",
                            b"Message-ID: <objid-r@example.org>\r\n"
                            b"In-Reply-To: <objid-1@example.org>")
        reply2 = MSG.replace(b"Message-ID: <objid-1@example.org>",
                             b"Message-ID: <objid-s@example.org>\r\n"
                             b"References: <objid-1@example.org>\r\n <objid-r@example.org>")
        self.assertEqual(m.append("INBOX", None, None, reply)[0], "OK")
        self.assertEqual(m.append("INBOX", None, None, reply2)[0], "OK")
        m.select("INBOX")
        t1 = self.threadid(m, 1)
        self.assertTrue(t1.startswith(b"T"), t1)
        self.assertEqual(self.threadid(m, 3), t1)
        self.assertEqual(self.threadid(m, 4), t1)
        self.assertEqual(self.threadid(m, 5), t1)
        self.assertNotEqual(self.threadid(m, 2), t1)
        typ, data = m.uid("SEARCH", "THREADID", t1.decode())
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0].split(), [b"1", b"3", b"4", b"5"])
        self.assertEqual(m.uid("SEARCH", "THREADID", self.threadid(m, 2).decode())[1][0],
                         b"2")
        # a second session (another handle) sees the same ids
        m2 = self.login()
        m2.select("INBOX", readonly=True)
        self.assertEqual(self.emailid(m2, 3), e1)


class SaveDateTest(ObjidBase):
    def test_savedate_fetch_and_search(self):
        m = self.login()
        before = time.time()
        # an old internal date: the save date is still now
        self.assertEqual(m.append("INBOX", None, imaplib.Time2Internaldate(978343200), MSG)[0],
                         "OK")
        m.select("INBOX")
        data = self.fetch(m, 1, "(INTERNALDATE SAVEDATE)")
        idate = re.search(rb'INTERNALDATE "([^"]+)"', data).group(1)
        sdate = re.search(rb'SAVEDATE "([^"]+)"', data).group(1)
        self.assertIn(b"2001", idate)
        saved = time.mktime(imaplib.Internaldate2tuple(b'INTERNALDATE "' + sdate + b'"'))
        self.assertLess(abs(saved - before), 120, (sdate, before))
        today = time.strftime("%d-%b-%Y", time.localtime(saved))
        self.assertEqual(m.uid("SEARCH", "SAVEDON", today)[1][0], b"1")
        self.assertEqual(m.uid("SEARCH", "SAVEDSINCE", today)[1][0], b"1")
        self.assertEqual(m.uid("SEARCH", "SAVEDBEFORE", today)[1][0], b"")
        self.assertEqual(m.uid("SEARCH", "SAVEDBEFORE", "1-Jan-2002")[1][0], b"")
        self.assertEqual(m.uid("SEARCH", "BEFORE", "1-Jan-2002")[1][0], b"1")
        self.assertEqual(m.uid("SEARCH", "SAVEDATESUPPORTED")[1][0], b"1")


class CreateSpecialUseTest(ObjidBase):
    def test_create_use_list_and_useattr(self):
        m = self.login(cleanup=False)
        typ, text, _ = self.cmd(m, "CREATE", "Sent-Items", "(USE (\\Sent \\Archive))")
        self.assertEqual(typ, "OK", text)
        self.assertIn(b"[MAILBOXID (", text)
        typ, data = m.list('""', "Sent-Items")
        self.assertEqual(typ, "OK")
        self.assertIn(b"\\Sent", data[0])
        self.assertIn(b"\\Archive", data[0])
        # LIST (SPECIAL-USE) selects it; a plain folder is not selected
        self.assertEqual(m.create("Plain")[0], "OK")
        typ, data = m._simple_command("LIST", "(SPECIAL-USE)", '""', "*")
        names = b" ".join(m.untagged_responses.pop("LIST", []))
        self.assertIn(b"Sent-Items", names)
        self.assertNotIn(b"Plain", names)
        # kept durably, with the folder: across a RENAME and a restart
        self.assertEqual(m.rename("Sent-Items", "Outbox")[0], "OK")
        m.logout()
        self.inst.kill()
        self.inst.start(wait_for=("imap",))
        m2 = self.login()
        self.assertIn(b"\\Sent", m2.list('""', "Outbox")[1][0])
        # a use this server does not keep: NO [USEATTR], and no folder
        typ, text, _ = self.cmd(m2, "CREATE", "Everything", "(USE (\\All))")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[USEATTR]", text)
        self.assertEqual(m2.list('""', "Everything")[1], [None])
        typ, text, _ = self.cmd(m2, "CREATE", "Bad", "(FOO (\\Sent))")
        self.assertEqual(typ, "BAD")
        typ, text, _ = self.cmd(m2, "CREATE", "Bad", "(USE (Sent))")
        self.assertEqual(typ, "BAD")
        self.assertTrue(os.path.isdir(os.path.join(self.inst.maildir(USER), ".Outbox")))


HTML_MSG = (b"From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: html\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
            b"--b\r\nContent-Type: text/html; charset=iso-8859-1\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            b"<html><head><style>p {color: red}</style></head><body><p>Gr=FC=DFe,</p>\r\n"
            b"<p>see   &lt;this&gt;&nbsp;&amp; that</p></body></html>\r\n--b--\r\n")


class PreviewTest(ObjidBase):
    def preview(self, m, uid, items="(PREVIEW)"):
        typ, data = m.uid("FETCH", str(uid), items)
        self.assertEqual(typ, "OK", data)
        # a quoted string, or a literal (8-bit text): imaplib splits those into a tuple
        if isinstance(data[0], tuple):
            self.assertRegex(data[0][0], rb"PREVIEW \{\d+\}$")
            return data[0][1]
        mo = re.search(rb'PREVIEW "((?:[^"\\]|\\.)*)"', data[0])
        self.assertIsNotNone(mo, data)
        return re.sub(rb"\\(.)", rb"\1", mo.group(1))

    def test_preview_plain_html_lazy_and_cached(self):
        m = self.login()
        caps = set(m.capability()[1][0].decode().split())
        self.assertIn("PREVIEW", caps)
        body = b"  First line.\r\n\r\nSecond   line " + b"x" * 400 + b"\r\n"
        self.assertEqual(m.append("INBOX", None, None, MSG.split(b"\r\n\r\n")[0] +
                                  b"\r\n\r\n" + body)[0], "OK")
        self.assertEqual(m.append("INBOX", None, None, HTML_MSG)[0], "OK")
        self.assertEqual(m.append("INBOX", None, None, b"Subject: empty\r\n\r\n")[0], "OK")
        m.select("INBOX")
        p1 = self.preview(m, 1)
        self.assertEqual(p1, (b"First line. Second line " + b"x" * 400)[:256])
        self.assertEqual(self.preview(m, 2).decode(), "Grüße, see <this> & that")
        self.assertEqual(self.preview(m, 3), b"")
        # PREVIEW (LAZY), in a list and alone: the same text
        self.assertEqual(self.preview(m, 1, "(UID PREVIEW (LAZY))"), p1)
        self.assertEqual(self.preview(m, 1, "PREVIEW (LAZY)"), p1)
        typ, data = self.cmd(m, "UID", "FETCH", "1", "(PREVIEW (FUZZY))")[:2]
        self.assertEqual(typ, "BAD")
        # cached: the file's bytes are not read again for the preview
        md = self.inst.maildir(USER)
        path = [os.path.join(md, "cur", n) for n in os.listdir(os.path.join(md, "cur"))
                if "Subject: objid" in open(os.path.join(md, "cur", n), "rb").read().decode()][0]
        with open(path, "r+b") as f:
            data = f.read()
            f.seek(0)
            f.write(data.replace(b"First", b"Fxrst"))
        m2 = self.login()
        m2.select("INBOX", readonly=True)
        self.assertEqual(self.preview(m2, 1), p1)
        self.assertIn(b"Fxrst", self.fetch(m2, 1, "(BODY.PEEK[TEXT])"))


BIN_PART = b"\x00\x01binary\x00\xff\r\n"
BIN_MSG = (b"From: a@example.org\r\nSubject: bin\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=z\r\n\r\n"
           b"--z\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
           b"--z\r\nContent-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: binary\r\n\r\n" + BIN_PART + b"\r\n--z--\r\n")


class BinaryMultiappendTest(ObjidBase):
    def raw_login(self):
        s, f, _ = self.raw()
        self.addCleanup(s.close)
        s.sendall(b'a LOGIN "%s" "%s"\r\n' % (USER.encode(), PASSWORD.encode()))
        self.assertTrue(self.read_tagged(f, b"a")[-1].startswith(b"a OK"))
        return s, f

    def test_append_literal8_and_binary_size(self):
        s, f = self.raw_login()
        s.sendall(b"b APPEND INBOX ~{%d}\r\n" % len(BIN_MSG))
        self.assertTrue(f.readline().startswith(b"+"))
        s.sendall(BIN_MSG + b"\r\n")
        r = self.read_tagged(f, b"b")
        self.assertTrue(r[-1].startswith(b"b OK [APPENDUID "), r)
        s.sendall(b"c SELECT INBOX\r\nd UID FETCH 1 (BINARY.SIZE[2] BINARY.SIZE[1] RFC822.SIZE)\r\n")
        self.read_tagged(f, b"c")
        r = b"".join(self.read_tagged(f, b"d"))
        self.assertIn(b"BINARY.SIZE[2] %d" % len(BIN_PART), r)
        self.assertIn(b"BINARY.SIZE[1] 5", r)   # "hello": the CRLF is the delimiter's
        self.assertIn(b"RFC822.SIZE %d" % len(BIN_MSG), r)
        # the NULs are stored as sent (line ends as LF on disk, served as CRLF)
        md = self.inst.maildir(USER)
        names = os.listdir(os.path.join(md, "cur"))
        self.assertEqual(len(names), 1)
        self.assertEqual(lbtest.read_msg(os.path.join(md, "cur", names[0])), BIN_MSG)
        s.sendall(b"d2 UID FETCH 1 (BINARY.PEEK[2])\r\n")
        r = b"".join(self.read_tagged(f, b"d2"))
        self.assertIn(b"BINARY[2] ~{%d}\r\n" % len(BIN_PART) + BIN_PART, r)
        # MULTIAPPEND with literal8 and a plain literal: both, consecutive UIDs
        s.sendall(b"e APPEND INBOX ~{3+}\r\na\x00b {3+}\r\ndef\r\n")
        self.assertRegex(self.read_tagged(f, b"e")[-1], rb"^e OK \[APPENDUID \d+ 2:3\]")

    def test_literal8_bare_lf_kept(self):
        """RFC 3516 4.4: a literal8 is stored as sent, so a bare LF inside a
        binary part comes back from BINARY[] unchanged (no UNKNOWN-CTE needed)."""
        s, f = self.raw_login()
        part = BIN_PART.replace(b"binary", b"bin\nary")
        msg = BIN_MSG.replace(BIN_PART, part)
        s.sendall(b"b APPEND INBOX ~{%d+}\r\n" % len(msg) + msg + b"\r\n")
        r = self.read_tagged(f, b"b")
        self.assertTrue(r[-1].startswith(b"b OK [APPENDUID "), r)
        s.sendall(b"c SELECT INBOX\r\nd UID FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2])\r\n")
        self.read_tagged(f, b"c")
        r = b"".join(self.read_tagged(f, b"d"))
        self.assertIn(b"BINARY[2] ~{%d}\r\n" % len(part) + part, r)
        self.assertIn(b"BINARY.SIZE[2] %d" % len(part), r)
        # a plain literal with bare LFs is text: accepted, stored with LF line ends
        s.sendall(b"e APPEND INBOX {7+}\r\na\nb\r\nc\n\r\n")
        self.assertTrue(self.read_tagged(f, b"e")[-1].startswith(b"e OK"))
        s.sendall(b"g STATUS INBOX (MESSAGES)\r\n")
        self.assertIn(b"MESSAGES 2", self.read_tagged(f, b"g")[0])

    def test_multiappend_all_or_nothing(self):
        s, f = self.raw_login()
        # the second message's date is malformed: neither is appended
        s.sendall(b'b APPEND INBOX {3+}\r\nabc (\\Seen) "not a date" {3+}\r\ndef\r\n')
        r = self.read_tagged(f, b"b")
        self.assertRegex(r[-1], rb"^b (BAD|NO) ")
        s.sendall(b"c STATUS INBOX (MESSAGES)\r\n")
        r = self.read_tagged(f, b"c")
        self.assertIn(b"MESSAGES 0", r[0])
        # the folder of the second is missing: NO [TRYCREATE]... for one folder per
        # command (RFC 3502), so a third message with a bad flag fails them all
        s.sendall(b"d APPEND INBOX {3+}\r\nabc (\\Bogus) {3+}\r\ndef {3+}\r\nghi\r\n")
        r = self.read_tagged(f, b"d")
        self.assertRegex(r[-1], rb"^d (BAD|NO) ")
        s.sendall(b"e STATUS INBOX (MESSAGES)\r\n")
        self.assertIn(b"MESSAGES 0", self.read_tagged(f, b"e")[0])
