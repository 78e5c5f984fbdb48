"""IMAP SORT, THREAD and WITHIN (issue 14 item 3): RFC 5256 SORT with every
key (and RFC 5957 DISPLAYFROM/DISPLAYTO), REVERSE, ties, charsets and search
keys; RFC 5267 ESORT and RFC 5182 SAVE on SORT; THREAD ORDEREDSUBJECT and
REFERENCES (a missing parent, subject merging); UID forms after an expunge;
RFC 5032 OLDER/YOUNGER.  Messages are written into the Maildir directly
(test_imap_search.MaildirFixture) so internal dates are exactly known.
Driven by imaplib (sort(), thread(), uid()) and a raw socket."""
import imaplib
import re
import time

import test_imap_search

# (data, sub, flags, internal date); sent dates differ from internal dates
M1 = (b"From: Zed <zed@a.example>\n"
      b"To: amy@x.example\n"
      b"Subject: Re: beta\n"
      b"Date: Wed, 3 Jan 2024 10:00:00 +0000\n"
      b"Message-ID: <1@x>\n"
      b"\n"
      b"one\n")
M2 = (b"From: Ann <bob@b.example>\n"
      b"To: Zoe <carl@x.example>\n"
      b"Cc: dan@x.example\n"
      b"Subject: alpha\n"
      b"Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
      b"Message-ID: <2@x>\n"
      b"\n" + b"a longer body line\n" * 50)
M3 = (b"From: =?UTF-8?Q?=C3=89mile?= <emile@c.example>\n"
      b"Subject: [list] Beta\n"
      b"Message-ID: <3@x>\n"
      b"\n"
      b"no Date: the internal date stands in\n")
M4 = (b"From: carl@d.example\n"
      b"To: bob@x.example\n"
      b"Subject: Re: Different\n"
      b"Date: Thu, 4 Jan 2024 10:00:00 +0100\n"
      b"Message-ID: <4@x>\n"
      b"References: <2@x>\n"
      b"\n"
      b"four\n")
M5 = (b"From: \"amy\" <amy@e.example>\n"
      b"To: Yan <yan@x.example>\n"
      b"Subject: gamma\n"
      b"Date: Fri, 5 Jan 2024 00:00:00 -0500\n"
      b"Message-ID: <5@x>\n"
      b"In-Reply-To: <missing@x>\n"
      b"\n"
      b"five, five, five\n")

MESSAGES = [
    (M1, "cur", "S", (2024, 1, 10)),
    (M2, "cur", "S", (2024, 1, 9)),
    (M3, "cur", "", (2024, 1, 2)),
    (M4, "cur", "F", (2024, 1, 5)),
    (M5, "cur", "", (2024, 1, 6)),
]


class ImapSortTest(test_imap_search.MaildirFixture):
    messages = MESSAGES

    def sort(self, m, crit, *search, uid=False, charset="UTF-8"):
        if uid:
            typ, data = m.uid("SORT", crit, charset, *(search or ("ALL",)))
        else:
            typ, data = m.sort(crit, charset, *(search or ("ALL",)))
        self.assertEqual(typ, "OK", (crit, data))
        return [int(x) for x in data[0].split()]

    def test_capabilities(self):
        m = self.login()
        typ, data = m.capability()
        caps = data[0].decode().split()
        for c in ("SORT", "SORT=DISPLAY", "ESORT", "THREAD=ORDEREDSUBJECT",
                  "THREAD=REFERENCES", "WITHIN", "ESEARCH", "SEARCHRES"):
            self.assertIn(c, caps)

    def test_every_sort_key(self):
        m = self.login()
        self.assertEqual(self.sort(m, "(DATE)"), [2, 3, 1, 4, 5])
        self.assertEqual(self.sort(m, "(REVERSE DATE)"), [5, 4, 1, 3, 2])
        self.assertEqual(self.sort(m, "(ARRIVAL)"), [3, 4, 5, 2, 1])
        self.assertEqual(self.sort(m, "(REVERSE ARRIVAL)"), [1, 2, 5, 4, 3])
        # base subjects: BETA, ALPHA, BETA, DIFFERENT, GAMMA; ties by sequence
        self.assertEqual(self.sort(m, "(SUBJECT)"), [2, 1, 3, 4, 5])
        self.assertEqual(self.sort(m, "(SUBJECT DATE)"), [2, 3, 1, 4, 5])
        self.assertEqual(self.sort(m, "(SUBJECT REVERSE DATE)"), [2, 1, 3, 4, 5])
        self.assertEqual(self.sort(m, "(REVERSE SUBJECT)"), [5, 4, 1, 3, 2])
        # mailbox parts: zed bob emile carl amy
        self.assertEqual(self.sort(m, "(FROM)"), [5, 2, 4, 3, 1])
        # display names: ZED ANN ÉMILE (UTF-8 sorts after ASCII) CARL@D.EXAMPLE AMY
        self.assertEqual(self.sort(m, "(DISPLAYFROM)"), [5, 2, 4, 1, 3])
        # to: amy carl "" bob yan
        self.assertEqual(self.sort(m, "(TO)"), [3, 1, 4, 2, 5])
        self.assertEqual(self.sort(m, "(DISPLAYTO)"), [3, 1, 4, 5, 2])
        self.assertEqual(self.sort(m, "(CC)"), [1, 3, 4, 5, 2])
        self.assertEqual(self.sort(m, "(CC REVERSE ARRIVAL)"), [1, 5, 4, 3, 2])
        typ, data = m.fetch("1:5", "(RFC822.SIZE)")
        sizes = {int(x.split()[0]): int(re.search(rb"RFC822.SIZE (\d+)", x).group(1))
                 for x in data}
        want = sorted(sizes, key=lambda s: (sizes[s], s))
        self.assertEqual(self.sort(m, "(SIZE)"), want)
        self.assertEqual(self.sort(m, "(REVERSE SIZE)"),
                         sorted(sizes, key=lambda s: (-sizes[s], s)))

    def test_search_keys_charset_and_errors(self):
        m = self.login()
        self.assertEqual(self.sort(m, "(DATE)", "FROM", "amy"), [5])
        self.assertEqual(self.sort(m, "(DATE)", "UNSEEN"), [3, 4, 5])
        self.assertEqual(self.sort(m, "(DATE)", "OR", "FLAGGED", "SEEN", charset="US-ASCII"),
                         [2, 1, 4])
        self.assertEqual(self.sort(m, "(DATE)", "SUBJECT", "nothing-like-this"), [])
        s, f = self.raw_login()
        r = self.cmd(s, f, b"b1", b"SORT (DATE) KOI8-R ALL")
        self.assertRegex(r[-1], rb"^b1 NO \[BADCHARSET")
        for i, bad in enumerate([b"SORT (FOO) UTF-8 ALL", b"SORT DATE UTF-8 ALL",
                                 b"SORT (REVERSE) UTF-8 ALL", b"SORT () UTF-8 ALL",
                                 b"SORT (DATE) UTF-8", b"SORT (DATE)", b"SORT",
                                 b"SORT RETURN (BOGUS) (DATE) UTF-8 ALL",
                                 b"SORT (DATE) UTF-8 NOSUCHKEY",
                                 b"THREAD BOGUS UTF-8 ALL", b"THREAD REFERENCES UTF-8",
                                 b"THREAD", b"UID THREAD REFERENCES"]):
            tag = b"x%d" % i
            r = self.cmd(s, f, tag, bad)
            self.assertTrue(r[-1].startswith(tag + b" BAD"), (bad, r))
        # still usable afterwards
        self.assertEqual(self.cmd(s, f, b"y1", b"SORT (ARRIVAL) UTF-8 ALL")[0],
                         b"* SORT 3 4 5 2 1\r\n")

    def test_esort_and_save(self):
        s, f = self.raw_login()
        r = self.cmd(s, f, b"e1", b"SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL")
        self.assertEqual(r[0], b'* ESEARCH (TAG "e1") MIN 2 MAX 5 COUNT 5 ALL 2:3,1,4:5\r\n')
        r = self.cmd(s, f, b"e2", b"UID SORT RETURN () (REVERSE ARRIVAL) UTF-8 ALL")
        self.assertEqual(r[0], b'* ESEARCH (TAG "e2") UID ALL 1:2,5,4,3\r\n')
        r = self.cmd(s, f, b"e3", b"SORT RETURN (COUNT MIN) (DATE) UTF-8 DRAFT")
        self.assertEqual(r[0], b'* ESEARCH (TAG "e3") COUNT 0\r\n')
        r = self.cmd(s, f, b"e4", b"SORT RETURN (SAVE) (DATE) UTF-8 FROM amy")
        self.assertEqual(len(r), 1, r)
        self.assertTrue(r[0].startswith(b"e4 OK"), r)
        self.assertEqual(self.cmd(s, f, b"e5", b"SEARCH $")[0], b"* SEARCH 5\r\n")
        # "$" inside SORT's own search keys
        self.assertEqual(self.cmd(s, f, b"e6", b"SORT (DATE) UTF-8 OR $ 1")[0],
                         b"* SORT 1 5\r\n")
        # SAVE with MIN keeps the first in sort order
        self.cmd(s, f, b"e7", b"SORT RETURN (SAVE MIN) (REVERSE DATE) UTF-8 ALL")
        self.assertEqual(self.cmd(s, f, b"e8", b"SEARCH $")[0], b"* SEARCH 5\r\n")

    def test_thread(self):
        m = self.login()
        typ, data = m.thread("ORDEREDSUBJECT", "UTF-8", "ALL")
        self.assertEqual((typ, data), ("OK", [b"(2)(3 1)(4)(5)"]))
        typ, data = m.thread("REFERENCES", "UTF-8", "ALL")
        # 4 answers 2 by References; 1 ("Re: beta") joins 3 ("Beta") by subject;
        # 5's parent never arrived and its dummy is pruned
        self.assertEqual((typ, data), ("OK", [b"(2 4)(3 1)(5)"]))
        typ, data = m.thread("REFERENCES", "US-ASCII", "NOT", "FROM", "emile")
        self.assertEqual((typ, data), ("OK", [b"(2 4)(1)(5)"]))
        typ, data = m.thread("REFERENCES", "UTF-8", "DRAFT")
        self.assertEqual(typ, "OK")
        self.assertIn(data, ([None], [b""]))
        s, f = self.raw_login()
        self.assertEqual(self.cmd(s, f, b"t1", b"THREAD REFERENCES UTF-8 DRAFT")[0],
                         b"* THREAD\r\n")
        r = self.cmd(s, f, b"t2", b"THREAD REFERENCES KOI8-R ALL")
        self.assertRegex(r[-1], rb"^t2 NO \[BADCHARSET")

    def test_uid_forms_after_expunge(self):
        m = self.login()
        self.assertEqual(m.store("2", "+FLAGS", "\\Deleted")[0], "OK")
        self.assertEqual(m.expunge()[0], "OK")
        # now seq 1..4 = UIDs 1 3 4 5
        self.assertEqual(self.sort(m, "(DATE)"), [2, 1, 3, 4])
        self.assertEqual(self.sort(m, "(DATE)", uid=True), [3, 1, 4, 5])
        self.assertEqual(m.thread("REFERENCES", "UTF-8", "ALL")[1], [b"(2 1)(3)(4)"])
        typ, data = m.uid("THREAD", "REFERENCES", "UTF-8", "ALL")
        self.assertEqual((typ, data), ("OK", [b"(3 1)(4)(5)"]))
        typ, data = m.uid("THREAD", "ORDEREDSUBJECT", "UTF-8", "UID", "4:5")
        self.assertEqual((typ, data), ("OK", [b"(4)(5)"]))

    def test_within(self):
        m = self.login()
        self.assertEqual(self.search(m, "OLDER", "1"), [1, 2, 3, 4, 5])
        self.assertEqual(self.search(m, "YOUNGER", "3600"), [])
        msg = b"From: new@example.org\r\nSubject: fresh\r\n\r\nnew\r\n"
        self.assertEqual(m.append("INBOX", None, None, msg)[0], "OK")
        self.assertEqual(m.noop()[0], "OK")
        self.assertEqual(self.search(m, "YOUNGER", "3600"), [6])
        self.assertEqual(self.search(m, "NOT", "YOUNGER", "3600"), [1, 2, 3, 4, 5])
        self.assertEqual(self.sort(m, "(ARRIVAL)", "OLDER", "3600"), [3, 4, 5, 2, 1])
        # the internal date from APPEND is about now: older than 1 s only later
        deadline = time.time() + 5
        while self.search(m, "OLDER", "1") != [1, 2, 3, 4, 5, 6] and time.time() < deadline:
            time.sleep(0.2)
        self.assertEqual(self.search(m, "OLDER", "1"), [1, 2, 3, 4, 5, 6])
        for bad in (("OLDER", "0"), ("YOUNGER", "x"), ("OLDER",)):
            with self.assertRaises(imaplib.IMAP4.error):
                m.search(None, *bad)
