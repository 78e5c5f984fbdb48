"""IMAP SEARCH / UID SEARCH (issue 13): every key over flags, sizes, dates, headers
and bodies (RFC 2047 words, quoted-printable and base64 bodies, charsets, UTF-8
criteria), ESEARCH (RFC 4731) RETURN options and SEARCHRES (RFC 5182) "$".
Messages are written into the Maildir directly, so flags, keywords, internal
dates and encodings are exactly known.  Driven by imaplib and a raw socket."""
import calendar
import os
import re

import lbtest
from test_imap import ImapBase, USER, PASSWORD

M1 = (b"From: Alice Example <alice@example.org>\n"
      b"To: bob@example.com\n"
      b"Subject: Hello world\n"
      b"Date: Mon, 1 Jan 2024 10:00:00 +0100\n"
      b"\n"
      b"The quick brown fox jumps.\n")
M2 = (b"From: carol@example.net\n"
      b"To: bob@example.com\n"
      b"Cc: Carol Copy <carol@example.net>\n"
      b"Subject: =?UTF-8?B?w5xiZXIgR3LDvMOfZQ==?=\n"
      b"Date: Thu, 15 Feb 2024 23:30:00 -0800\n"
      b"MIME-Version: 1.0\n"
      b"Content-Type: text/plain; charset=utf-8\n"
      b"Content-Transfer-Encoding: quoted-printable\n"
      b"\n"
      b"Un caf=C3=A9 cr=C3=A8me, s'il vous pla=\n"
      b"=C3=AEt.\n")
M3 = (b"From: =?ISO-8859-1?Q?Ren=E9?= <rene@example.fr>\n"
      b"To: bob@example.com\n"
      b"Subject: Report\n"
      b"Date: 1 Jun 2020 08:00:00 +0000\n"
      b"MIME-Version: 1.0\n"
      b"Content-Type: multipart/mixed; boundary=\"b1\"\n"
      b"\n"
      b"--b1\n"
      b"Content-Type: text/plain; charset=iso-8859-1\n"
      b"Content-Transfer-Encoding: quoted-printable\n"
      b"\n"
      b"A na=EFve summary.\n"
      b"--b1\n"
      b"Content-Type: text/plain; charset=utf-8\n"
      b"Content-Transfer-Encoding: base64\n"
      b"\n"
      b"VGhlIHNlY3JldCBiYW5hbmEgcmVjaXBlLgo=\n"
      b"--b1\n"
      b"Content-Type: application/octet-stream\n"
      b"Content-Transfer-Encoding: base64\n"
      b"\n"
      b"AAECAwQF\n"
      b"--b1--\n")
M4 = (b"From: dave@example.com\n"
      b"To: bob@example.com\n"
      b"Bcc: Dave Hidden <dave@example.com>\n"
      b"X-Custom: yes please\n"
      b"Subject: nothing special\n"
      b"\n"
      b"Nothing to see here.\n" + b"padding line\n" * 200)

# (data, sub, flags, internal date as UTC y, m, d)
MESSAGES = [
    (M1, "cur", "S", (2024, 1, 1)),
    (M2, "cur", "FSa", (2024, 2, 15)),
    (M3, "cur", "RT", (2020, 6, 1)),
    (M4, "new", "", None),
]


class MaildirFixture(ImapBase):
    """Writes `messages` into the user's Maildir before the server starts, so
    flags, internal dates and encodings are exactly known (also used by
    test_imap_sort.py)."""
    conf = {"auth_failure_delay": "0", "disable_plaintext_auth": "no"}
    messages = MESSAGES

    def setUp(self):
        super().setUp()
        md = self.inst.maildir(USER)
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, d), exist_ok=True)
        with open(os.path.join(md, "dovecot-keywords"), "w") as f:
            f.write("0 $Label1\n")
        for i, (data, sub, flags, day) in enumerate(self.messages, 1):
            base = "17000000%02d.M%06dP1.mail.example.test" % (i, i)
            name = base if sub == "new" else base + ":2," + flags
            path = os.path.join(md, sub, name)
            with open(path, "wb") as f:
                f.write(data)
            if day is not None:
                t = calendar.timegm((day[0], day[1], day[2], 12, 0, 0))
                os.utime(path, (t, t))
        self.inst.chown_vmail()
        self.start()

    def login(self):
        m = self.imap()
        self.assertEqual(m.login(USER, PASSWORD)[0], "OK")
        self.assertEqual(m.select("INBOX")[0], "OK")
        self.addCleanup(m.logout)
        return m

    def search(self, m, *criteria, charset=None, uid=False):
        if uid:
            typ, data = m.uid("SEARCH", *criteria)
        else:
            typ, data = m.search(charset, *criteria)
        self.assertEqual(typ, "OK", (criteria, data))
        return [int(x) for x in data[0].split()]

    def raw_login(self):
        s, f, _ = self.raw()
        self.addCleanup(s.close)
        s.sendall(b'a LOGIN "%s" "%s"\r\nb SELECT INBOX\r\n' % (USER.encode(), PASSWORD.encode()))
        self.read_tagged(f, b"a")
        self.read_tagged(f, b"b")
        return s, f

    def cmd(self, s, f, tag, line):
        s.sendall(tag + b" " + line + b"\r\n")
        return self.read_tagged(f, tag)



class ImapSearchTest(MaildirFixture):
    def test_flag_size_and_date_keys(self):
        m = self.login()
        caps = set(m.capability()[1][0].decode().split())
        self.assertIn("ESEARCH", caps)
        self.assertIn("SEARCHRES", caps)
        s = lambda *c: self.search(m, *c)
        self.assertEqual(s("ALL"), [1, 2, 3, 4])
        self.assertEqual(s("SEEN"), [1, 2])
        self.assertEqual(s("UNSEEN"), [3, 4])
        self.assertEqual(s("FLAGGED"), [2])
        self.assertEqual(s("UNFLAGGED"), [1, 3, 4])
        self.assertEqual(s("ANSWERED"), [3])
        self.assertEqual(s("UNANSWERED"), [1, 2, 4])
        self.assertEqual(s("DELETED"), [3])
        self.assertEqual(s("UNDELETED"), [1, 2, 4])
        self.assertEqual(s("DRAFT"), [])
        self.assertEqual(s("UNDRAFT"), [1, 2, 3, 4])
        self.assertEqual(s("KEYWORD", "$Label1"), [2])
        self.assertEqual(s("UNKEYWORD", "$label1"), [1, 3, 4])
        self.assertEqual(s("KEYWORD", "NoSuchKeyword"), [])
        recent = set(s("RECENT"))
        self.assertEqual(set(s("NEW")), recent & {3, 4})
        self.assertEqual(set(s("OLD")), {1, 2, 3, 4} - recent)
        self.assertEqual(s("LARGER", str(len(M4) - 1)), [4])
        self.assertEqual(s("SMALLER", str(len(M1) + 20)), [1])
        # Internal dates (server zone; the files' mtimes are noon UTC).
        self.assertEqual(s("BEFORE", "1-Jan-2024"), [3])
        self.assertEqual(s("ON", "15-Feb-2024"), [2])
        self.assertEqual(s("SINCE", "1-Jan-2024"), [1, 2, 4])
        # Date: header, its own date whatever the zone.
        self.assertEqual(s("SENTON", "15-Feb-2024"), [2])
        self.assertEqual(s("SENTBEFORE", "1-Jan-2024"), [3])
        self.assertEqual(s("SENTSINCE", "1-Jan-2024"), [1, 2])
        # Sets, lists, OR, NOT.
        self.assertEqual(s("2:*"), [2, 3, 4])
        self.assertEqual(s("1,3"), [1, 3])
        self.assertEqual(s("OR", "FLAGGED", "DELETED"), [2, 3])
        self.assertEqual(s("NOT", "SEEN", "NOT", "4"), [3])
        self.assertEqual(s("(OR 1 2) (OR SEEN DELETED)"), [1, 2])
        self.assertEqual(s("UID", "2:3"), [2, 3])
        self.assertEqual(self.search(m, "UID", "3:*", uid=True), [3, 4])
        self.assertEqual(self.search(m, "SEEN", uid=True), [1, 2])
        with self.assertRaises(m.error):	# BAD
            m.search(None, "NOSUCHKEY")

    def test_header_and_body_text_decoded(self):
        m = self.login()
        s = lambda *c, **kw: self.search(m, *c, **kw)
        self.assertEqual(s("FROM", "alice"), [1])
        self.assertEqual(s("FROM", "\"ALICE EXAMPLE\""), [1])
        self.assertEqual(s("TO", "bob@example.com"), [1, 2, 3, 4])
        self.assertEqual(s("CC", "\"carol copy\""), [2])
        self.assertEqual(s("BCC", "hidden"), [4])
        self.assertEqual(s("SUBJECT", "hello"), [1])
        self.assertEqual(s("HEADER", "X-Custom", '""'), [4])
        self.assertEqual(s("HEADER", "x-custom", "PLEASE"), [4])
        self.assertEqual(s("HEADER", "X-Other", '""'), [])
        self.assertEqual(s("BODY", "quick"), [1])
        self.assertEqual(s("BODY", "hello"), [])	# only in the header
        self.assertEqual(s("TEXT", "hello"), [1])
        self.assertEqual(s("BODY", "\"banana recipe\""), [3])	# base64 part
        self.assertEqual(s("TEXT", "AAECAwQF"), [])	# not a text part
        # UTF-8 criteria as literals: encoded words, QP, Latin-1, case folding.
        m.literal = "über grüße".encode()
        self.assertEqual(s("SUBJECT", charset="UTF-8"), [2])
        m.literal = "CAFÉ CRÈME".encode()
        self.assertEqual(s("BODY", charset="UTF-8"), [2])
        m.literal = "plaît".encode()	# across a QP soft line break
        self.assertEqual(s("BODY", charset="UTF-8"), [2])
        m.literal = "NAÏVE".encode()
        self.assertEqual(s("TEXT", charset="UTF-8"), [3])
        m.literal = "René".encode()
        self.assertEqual(s("FROM", charset="UTF-8"), [3])
        self.assertEqual(s("FROM", "rene", charset="US-ASCII"), [3])
        self.assertEqual(self.search(m, "BODY", "fox", uid=True), [1])
        typ, data = m.search("KOI8-R", "BODY", "x")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[BADCHARSET (UTF-8 US-ASCII)]", data[0])

    def test_esearch_and_searchres(self):
        s, f = self.raw_login()
        r = self.cmd(s, f, b"c1", b"SEARCH RETURN (MIN MAX COUNT) UNDELETED")
        self.assertEqual(r[0], b'* ESEARCH (TAG "c1") MIN 1 MAX 4 COUNT 3\r\n')
        self.assertTrue(r[1].startswith(b"c1 OK"), r)
        r = self.cmd(s, f, b"c2", b"UID SEARCH RETURN () UNDELETED")
        self.assertEqual(r[0], b'* ESEARCH (TAG "c2") UID ALL 1:2,4\r\n')
        r = self.cmd(s, f, b"c3", b"SEARCH RETURN (COUNT ALL) DRAFT")
        self.assertEqual(r[0], b'* ESEARCH (TAG "c3") COUNT 0\r\n')
        r = self.cmd(s, f, b"c4", b"SEARCH RETURN (MIN) DRAFT")
        self.assertEqual(r[0], b'* ESEARCH (TAG "c4")\r\n')
        # SEARCHRES: SAVE alone answers only with the tagged OK.
        r = self.cmd(s, f, b"d1", b"SEARCH RETURN (SAVE) SEEN")
        self.assertEqual(len(r), 1, r)
        self.assertTrue(r[0].startswith(b"d1 OK"), r)
        self.assertEqual(self.cmd(s, f, b"d2", b"SEARCH $")[0], b"* SEARCH 1 2\r\n")
        self.assertEqual(self.cmd(s, f, b"d3", b"UID SEARCH UID $ NOT 1")[0],
                         b"* SEARCH 2\r\n")
        self.assertEqual(self.cmd(s, f, b"d4", b"SEARCH OR $ 4")[0], b"* SEARCH 1 2 4\r\n")
        r = self.cmd(s, f, b"d5", b"SEARCH RETURN (SAVE MAX COUNT) UNSEEN")
        self.assertEqual(r[0], b'* ESEARCH (TAG "d5") MAX 4 COUNT 2\r\n')
        self.assertEqual(self.cmd(s, f, b"d6", b"SEARCH $")[0], b"* SEARCH 3 4\r\n")
        # MIN and MAX without ALL/COUNT save just those (RFC 5182 2.4).
        self.cmd(s, f, b"d7", b"SEARCH RETURN (SAVE MIN) ALL")
        self.assertEqual(self.cmd(s, f, b"d8", b"SEARCH $")[0], b"* SEARCH 1\r\n")
        # A new SELECT forgets the saved result.
        self.cmd(s, f, b"d9", b"SELECT INBOX")
        self.assertEqual(self.cmd(s, f, b"da", b"SEARCH $")[0], b"* SEARCH\r\n")
        # Pipelined searches answer in order.
        s.sendall(b"p1 SEARCH SEEN\r\np2 SEARCH BODY banana\r\np3 SEARCH FLAGGED\r\n")
        out = b"".join(self.read_tagged(f, b"p3"))
        self.assertRegex(out, re.compile(
            rb"\* SEARCH 1 2\r\np1 OK.*\r\n\* SEARCH 3\r\np2 OK.*\r\n\* SEARCH 2\r\np3 OK", re.S))

    def test_saved_result_in_other_commands(self):
        """RFC 5182 2.1: "$" names the saved result in FETCH, STORE, COPY and
        UID EXPUNGE too, in their UID and sequence number forms alike."""
        s, f = self.raw_login()
        self.assertTrue(self.cmd(s, f, b"e1", b"SEARCH RETURN (SAVE) 2:3")[0].startswith(b"e1 OK"))
        r = self.cmd(s, f, b"e2", b"FETCH $ (UID)")
        self.assertEqual(r[:2], [b"* 2 FETCH (UID 2)\r\n", b"* 3 FETCH (UID 3)\r\n"], r)
        self.assertTrue(r[2].startswith(b"e2 OK"), r)
        r = self.cmd(s, f, b"e3", b"STORE $ +FLAGS.SILENT (\\Deleted)")
        self.assertTrue(r[-1].startswith(b"e3 OK"), r)
        self.assertEqual(self.cmd(s, f, b"e4", b"SEARCH DELETED")[0], b"* SEARCH 2 3\r\n")
        r = self.cmd(s, f, b"e5", b"UID FETCH $ (FLAGS)")
        self.assertEqual(len(r), 3, r)
        self.assertRegex(r[0], rb"^\* 2 FETCH \(.*UID 2")
        r = self.cmd(s, f, b"e6", b"COPY $ Trash")
        self.assertRegex(r[-1], rb"^e6 OK \[COPYUID \d+ 2:3 1:2\]")
        r = self.cmd(s, f, b"e7", b"UID EXPUNGE $")
        # in ascending order each EXPUNGE renumbers the rest: 2 then 2 again
        self.assertEqual(r[:2], [b"* 2 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n"], r)
        self.assertTrue(r[2].startswith(b"e7 OK"), r)
        self.assertEqual(self.cmd(s, f, b"e8", b"UID SEARCH ALL")[0], b"* SEARCH 1 4\r\n")
        # what "$" named is gone: it names nothing now, without an error
        self.assertTrue(self.cmd(s, f, b"e9", b"FETCH $ (UID)")[0].startswith(b"e9 OK"))

    def test_rev2_answers_with_esearch(self):
        """RFC 9051 6.4.4: after ENABLE IMAP4rev2 a plain SEARCH answers ESEARCH."""
        s, f = self.raw_login()
        caps = b"".join(self.cmd(s, f, b"r0", b"CAPABILITY"))
        self.assertIn(b"IMAP4rev2", caps)
        self.assertIn(b"ENABLED IMAP4rev2", self.cmd(s, f, b"r1", b"ENABLE IMAP4rev2")[0])
        self.assertEqual(self.cmd(s, f, b"r2", b"SEARCH SEEN")[0],
                         b'* ESEARCH (TAG "r2") ALL 1:2\r\n')
        self.assertEqual(self.cmd(s, f, b"r3", b"UID SEARCH DRAFT")[0],
                         b'* ESEARCH (TAG "r3") UID\r\n')

    def test_session_ends_under_a_running_search(self):
        """SEARCH, SORT and THREAD run on a worker with the session's folder
        handle; a client that hangs up meanwhile must not have the handle
        closed under the worker (the sanitizer build checks it at stop)."""
        for i in range(20):
            s, f = self.raw_login()
            s.sendall(b"x SEARCH TEXT hello\r\ny SORT (DATE) UTF-8 ALL\r\n"
                      b"z THREAD REFERENCES UTF-8 ALL\r\n")
            s.close()
        m = self.imap()
        self.assertEqual(m.login(USER, PASSWORD)[0], "OK")
        self.assertEqual(m.select("INBOX")[0], "OK")
        self.assertEqual(self.search(m, "ALL"), [1, 2, 3, 4])
        typ, data = m.sort("(ARRIVAL)", "UTF-8", "ALL")
        self.assertEqual((typ, data[0].split()), ("OK", [b"3", b"1", b"2", b"4"]))  # by internal date
        m.logout()
        self.assertEqual(self.inst.stop(), 0)

    def test_search_not_selected(self):
        s, f = self.raw()[0:2]
        self.addCleanup(s.close)
        s.sendall(b'a LOGIN "%s" "%s"\r\nb SEARCH ALL\r\nc UID SEARCH ALL\r\n'
                  % (USER.encode(), PASSWORD.encode()))
        self.read_tagged(f, b"a")
        self.assertTrue(self.read_tagged(f, b"b")[-1].startswith(b"b BAD"))
        self.assertTrue(self.read_tagged(f, b"c")[-1].startswith(b"c BAD"))
