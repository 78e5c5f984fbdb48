"""CONDSTORE and QRESYNC (RFC 7162, issue 14 item 1): MODSEQ in FETCH, CHANGEDSINCE,
UNCHANGEDSINCE with [MODIFIED], HIGHESTMODSEQ in SELECT and STATUS, SEARCH MODSEQ,
ENABLE, SELECT ... (QRESYNC (...)) with VANISHED (EARLIER) from the store's expunge
log, VANISHED instead of EXPUNGE, CLOSED.  Raw sockets (imaplib has no QRESYNC), two
and three sessions on one mailbox, and the 10k-message resync measured on the wire."""
import os
import re
import time

import lbtest
from test_imap import ImapBase, USER, PASSWORD


class Raw:
    """One imaps session: numbered tags, untagged lines as str, bytes counted."""

    def __init__(self, test):
        self.t = test
        self.s, self.f, greeting = test.raw("imaps")
        test.assertTrue(greeting.startswith(b"* OK"), greeting)
        self.n = 0
        self.bytes = 0
        self.ok('LOGIN "%s" "%s"' % (USER, PASSWORD))

    def close(self):
        self.f.close()
        self.s.close()

    def cmd(self, line):
        """(untagged lines, tagged line) of one command; self.bytes = bytes it got."""
        self.n += 1
        tag = "t%d" % self.n
        self.s.sendall(("%s %s\r\n" % (tag, line)).encode())
        lines, got = [], 0
        deadline = time.time() + 60
        while time.time() < deadline:
            raw = self.f.readline()
            self.t.assertNotEqual(raw, b"", "closed after %r" % lines[-5:])
            got += len(raw)
            text = raw.decode().rstrip("\r\n")
            if text.startswith(tag + " "):
                self.bytes = got
                return lines, text
            lines.append(text)
        self.t.fail("no reply to %r" % line)

    def ok(self, line):
        lines, tagged = self.cmd(line)
        self.t.assertRegex(tagged, r"^t\d+ OK", (line, lines[-5:]))
        return lines, tagged

    def append(self, n, first=0):
        for i in range(first, first + n):
            msg = "From: bob@example.org\r\nSubject: m%d\r\n\r\nbody %d\r\n" % (i, i)
            self.ok("APPEND INBOX {%d+}\r\n%s" % (len(msg), msg))


def code(lines, name):
    """The number of an untagged OK [NAME n] response code, or None."""
    for l in lines:
        m = re.match(r"\* OK \[%s (\d+)\]" % name, l)
        if m:
            return int(m.group(1))
    return None


def fetches(lines):
    """{uid (else sequence number): (flags, modseq)} of the untagged FETCH lines."""
    out = {}
    for l in lines:
        m = re.match(r"\* \d+ FETCH \((.*)\)$", l)
        if not m:
            continue
        body = m.group(1)
        uid = re.search(r"UID (\d+)", body) or re.match(r"\* (\d+)", l)
        fl = re.search(r"FLAGS \(([^)]*)\)", body)
        ms = re.search(r"MODSEQ \((\d+)\)", body)
        out[int(uid.group(1))] = (
            set(fl.group(1).split()) - {"\\Recent"} if fl else None,
            int(ms.group(1)) if ms else None)
    return out


def vanished(lines, earlier):
    pre = "* VANISHED (EARLIER) " if earlier else "* VANISHED "
    out = []
    for l in lines:
        if l.startswith(pre) and (earlier or not l.startswith("* VANISHED (")):
            for part in l[len(pre):].split(","):
                lo, _, hi = part.partition(":")
                out.extend(range(int(lo), int(hi or lo) + 1))
    return out


class CondstoreTest(ImapBase):
    def setUp(self):
        super().setUp()
        self.start()

    def session(self):
        r = Raw(self)
        self.addCleanup(r.close)
        return r

    def test_condstore_commands(self):
        a = self.session()
        lines, _ = a.ok("CAPABILITY")
        caps = lines[0].split()
        self.assertIn("CONDSTORE", caps)
        self.assertIn("QRESYNC", caps)
        a.append(4)
        # A plain SELECT says nothing of modseqs until CONDSTORE is on.
        lines, _ = a.ok("SELECT INBOX")
        self.assertIsNone(code(lines, "HIGHESTMODSEQ"))
        lines, _ = a.ok("FETCH 1 (FLAGS)")
        self.assertNotIn("MODSEQ", lines[0])
        # FETCH MODSEQ turns it on: the mailbox's HIGHESTMODSEQ first (RFC 7162 3.1).
        lines, _ = a.ok("FETCH 1:4 (MODSEQ)")
        h0 = code(lines, "HIGHESTMODSEQ")
        self.assertIsNotNone(h0)
        got = fetches(lines)
        self.assertEqual(len(got), 4)
        self.assertTrue(all(0 < m <= h0 for _, m in got.values()))
        lines, _ = a.ok("FETCH 1 (MODSEQ)")
        self.assertIsNone(code(lines, "HIGHESTMODSEQ"))     # only the first time
        # A FETCH that sets \Seen reports it with UID and MODSEQ.
        a.n += 1
        a.s.sendall(b"t%d FETCH 4 (BODY[TEXT])\r\n" % a.n)
        text = b""
        while not text.endswith(b"t%d OK FETCH completed.\r\n" % a.n):
            line = a.f.readline()
            self.assertNotEqual(line, b"")
            text += line
        self.assertRegex(text, rb"\\Seen.*UID 4 MODSEQ \(\d+\)\)")
        # STORE: the FETCH carries UID and the new MODSEQ.
        lines, _ = a.ok("STORE 1 +FLAGS (\\Seen)")
        got = fetches(lines)
        self.assertEqual(list(got), [1])
        self.assertEqual(got[1][0], {"\\Seen"})
        m1 = got[1][1]
        self.assertGreater(m1, h0)
        # UNCHANGEDSINCE below the message's modseq: not done, [MODIFIED].
        lines, tagged = a.ok("STORE 1,2 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)" % h0)
        self.assertIn("[MODIFIED 1]", tagged)
        got = fetches(lines)
        self.assertEqual(list(got), [2])
        m2 = got[2][1]
        # .SILENT still reports the MODSEQ (no FLAGS).
        lines, tagged = a.ok("STORE 3 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Answered)" % m2)
        self.assertNotIn("MODIFIED", tagged)
        got = fetches(lines)
        self.assertEqual(list(got), [3])
        self.assertIsNone(got[3][0])
        m3 = got[3][1]
        self.assertGreater(m3, m2)
        # UNCHANGEDSINCE 0 always fails (RFC 7162 3.1.3).
        lines, tagged = a.ok("UID STORE 4 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)")
        self.assertIn("[MODIFIED 4]", tagged)
        # CHANGEDSINCE: only what changed after m1; MODSEQ added to the items.
        lines, _ = a.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % m1)
        got = fetches(lines)
        self.assertEqual(sorted(got), [2, 3])
        self.assertEqual(got[3], ({"\\Answered"}, m3))
        lines, _ = a.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % m3)
        self.assertEqual(fetches(lines), {})
        # VANISHED needs QRESYNC.
        _, tagged = a.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
        self.assertRegex(tagged, r"^t\d+ BAD")
        # SEARCH MODSEQ with the highest modseq of the matches.
        lines, _ = a.ok("SEARCH MODSEQ %d" % (m1 + 1))
        self.assertEqual(lines, ["* SEARCH 2 3 (MODSEQ %d)" % m3])
        lines, _ = a.ok('SEARCH MODSEQ "/flags/\\\\seen" all %d' % m1)
        self.assertEqual(lines, ["* SEARCH 1 2 3 (MODSEQ %d)" % m3])
        lines, _ = a.ok("SEARCH RETURN (MIN) MODSEQ 1")
        self.assertEqual(lines[0], '* ESEARCH (TAG "t%d") MIN 1 MODSEQ %d' % (a.n, m1))
        lines, _ = a.ok("SEARCH MODSEQ %d" % (m3 + 1))
        self.assertEqual(lines, ["* SEARCH"])
        # SORT too (RFC 7162 3.1.5); ESORT's MAX is the last in sort order.
        lines, _ = a.ok("SORT (ARRIVAL) UTF-8 MODSEQ %d" % (m1 + 1))
        self.assertEqual(lines, ["* SORT 2 3 (MODSEQ %d)" % m3])
        lines, _ = a.ok("SORT RETURN (MAX) (REVERSE SUBJECT) UTF-8 MODSEQ 1")
        self.assertEqual(lines[0], '* ESEARCH (TAG "t%d") MAX 1 MODSEQ %d' % (a.n, m1))
        # STATUS HIGHESTMODSEQ agrees.
        lines, _ = a.ok("STATUS INBOX (HIGHESTMODSEQ MESSAGES)")
        self.assertIn("HIGHESTMODSEQ %d" % m3, lines[0])
        # SELECT (CONDSTORE) in a fresh session.
        b = self.session()
        lines, tagged = b.ok("EXAMINE INBOX (CONDSTORE)")
        self.assertEqual(code(lines, "HIGHESTMODSEQ"), m3)
        self.assertIn("[READ-ONLY]", tagged)
        _, tagged = b.cmd("SELECT INBOX (BOGUS)")
        self.assertRegex(tagged, r"^t\d+ BAD")
        _, tagged = b.cmd("SELECT INBOX (QRESYNC (1 1))")
        self.assertRegex(tagged, r"^t\d+ BAD")          # not ENABLEd
        # Another session's flag change reaches this one with UID and MODSEQ.
        b.ok("SELECT INBOX (CONDSTORE)")
        a.ok("STORE 4 +FLAGS (\\Draft)")
        lines, _ = b.ok("NOOP")
        got = fetches(lines)
        self.assertEqual(list(got), [4])
        self.assertEqual(got[4][0], {"\\Draft", "\\Seen"})
        self.assertGreater(got[4][1], m3)

    def test_own_changes_in_any_order(self):
        """The MODSEQs a session's own STOREs tell stay what FETCH MODSEQ says
        afterwards, whatever order the STOREs came in (a higher range, then a
        lower one, then all again, then message by message downwards) with no
        sync between them (STORE by sequence number does not sync); another
        session's change shows only once this one syncs."""
        a = self.session()
        n = 300
        a.append(n)
        a.ok("SELECT INBOX (CONDSTORE)")
        told = {}

        def store(rng, flag):
            lines, _ = a.ok("STORE %s +FLAGS (%s)" % (rng, flag))
            got = fetches(lines)
            for k, (_, ms) in got.items():
                self.assertIsNotNone(ms)
                told[k] = ms
            return got

        self.assertEqual(len(store("151:%d" % n, "\\Flagged")), 150)
        self.assertEqual(len(store("1:150", "\\Flagged")), 150)
        self.assertEqual(len(store("1:%d" % n, "\\Answered")), n)
        for i in range(n, 0, -37):
            store(str(i), "$Label%d" % (i % 3))
        lines, _ = a.ok("FETCH 1:%d (MODSEQ FLAGS)" % n)
        now = fetches(lines)
        self.assertEqual(len(now), n)
        for i in range(1, n + 1):
            self.assertEqual(now[i][1], told[i], i)
            self.assertIn("\\Answered", now[i][0])
        # every told MODSEQ is distinct: one per change
        self.assertEqual(len(set(told.values())), n)
        # another session changes message 5: not shown (nor its MODSEQ) before a sync
        b = self.session()
        b.ok("SELECT INBOX")
        b.ok("STORE 5 +FLAGS (\\Draft)")
        lines, _ = a.ok("FETCH 5 (MODSEQ FLAGS)")
        self.assertEqual(fetches(lines)[5][1], told[5])
        lines, _ = a.ok("NOOP")
        flags, ms = fetches(lines)[5]
        self.assertIn("\\Draft", flags)
        self.assertGreater(ms, max(told.values()))

    def test_closed_code_for_rev2_not_plain_rev1(self):
        """RFC 9051 7.1: an IMAP4rev2 SELECT over a selected mailbox says [CLOSED]
        first; a plain rev1 session (no QRESYNC) never sees the code."""
        a = self.session()
        a.ok("SELECT INBOX")
        lines, _ = a.ok("EXAMINE INBOX")
        self.assertFalse(any("[CLOSED]" in l for l in lines), lines)
        b = self.session()
        b.ok("ENABLE IMAP4rev2")
        lines, _ = b.ok("SELECT INBOX")
        self.assertFalse(any("[CLOSED]" in l for l in lines), lines)
        lines, _ = b.ok("EXAMINE INBOX")
        self.assertEqual(lines[0], "* OK [CLOSED] Previous mailbox closed.")

    def test_qresync_two_sessions(self):
        a = self.session()
        a.append(6)
        lines, tagged = a.ok("ENABLE QRESYNC")
        self.assertEqual(lines, ["* ENABLED QRESYNC"])
        lines, _ = a.ok("SELECT INBOX")
        v = code(lines, "UIDVALIDITY")
        h0 = code(lines, "HIGHESTMODSEQ")      # QRESYNC implies CONDSTORE
        self.assertIsNotNone(h0)
        a.close()
        # Elsewhere: a flag change on UID 2, UIDs 3 and 5 expunged.  A session
        # without QRESYNC gets EXPUNGE, one with it VANISHED.
        b = self.session()
        b.ok("SELECT INBOX")
        c = self.session()
        c.ok("ENABLE QRESYNC")
        c.ok("SELECT INBOX")
        b.ok("STORE 2 +FLAGS (\\Flagged)")
        b.ok("STORE 3,5 +FLAGS.SILENT (\\Deleted)")
        lines, _ = b.ok("EXPUNGE")
        self.assertEqual(lines, ["* 3 EXPUNGE", "* 4 EXPUNGE"])
        lines, tagged = c.ok("NOOP")
        self.assertEqual(vanished(lines, False), [3, 5])
        self.assertRegex(tagged, r"OK \[HIGHESTMODSEQ \d+\] ")  # VANISHED has no modseq
        self.assertNotIn("EXPUNGE", " ".join(lines))
        got = fetches(lines)
        self.assertEqual(list(got), [2])                 # UID and MODSEQ, as CONDSTORE wants
        self.assertEqual(got[2][0], {"\\Flagged"})
        self.assertGreater(got[2][1], h0)
        # An EXPUNGE under QRESYNC: VANISHED, and the tagged OK has the new HIGHESTMODSEQ.
        c.ok("STORE 4 +FLAGS.SILENT (\\Deleted)")          # UID 6
        lines, tagged = c.ok("EXPUNGE")
        self.assertEqual(vanished(lines, False), [6])
        m = re.search(r"OK \[HIGHESTMODSEQ (\d+)\]", tagged)
        self.assertIsNotNone(m, tagged)
        h1 = int(m.group(1))
        lines, _ = c.ok("STATUS INBOX (HIGHESTMODSEQ)")
        self.assertIn("HIGHESTMODSEQ %d" % h1, lines[0])
        # The resync: only what changed since h0.
        d = self.session()
        d.ok("ENABLE QRESYNC")
        lines, tagged = d.ok("SELECT INBOX (QRESYNC (%d %d 1:6))" % (v, h0))
        self.assertEqual(vanished(lines, True), [3, 5, 6], (v, h0, lines))
        got = fetches(lines)
        self.assertEqual(list(got), [2])
        self.assertEqual(got[2][0], {"\\Flagged"})
        self.assertEqual(code(lines, "HIGHESTMODSEQ"), h1)
        self.assertIn("[READ-WRITE]", tagged)
        # Known UIDs limit VANISHED and FETCH; without them everything since h0.
        lines, _ = d.ok("EXAMINE INBOX (QRESYNC (%d %d 1:4 (1:3 1:3)))" % (v, h0))
        self.assertEqual(lines[0], "* OK [CLOSED] Previous mailbox closed.")
        self.assertEqual(vanished(lines, True), [3])
        self.assertEqual(list(fetches(lines)), [2])
        lines, _ = d.ok("SELECT INBOX (QRESYNC (%d %d))" % (v, h0))
        self.assertEqual(vanished(lines, True), [3, 5, 6])
        # Nothing changed since h1: nothing but the usual SELECT data.
        lines, _ = d.ok("SELECT INBOX (QRESYNC (%d %d 1:6))" % (v, h1))
        self.assertEqual(vanished(lines, True), [])
        self.assertEqual(fetches(lines), {})
        # Another UIDVALIDITY: a plain SELECT, no resync data.
        lines, _ = d.ok("SELECT INBOX (QRESYNC (%d %d 1:6))" % (v + 1, h0))
        self.assertEqual(vanished(lines, True), [])
        self.assertEqual(fetches(lines), {})
        # UID FETCH ... (CHANGEDSINCE VANISHED): the same answer inside a session.
        lines, _ = d.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % h0)
        self.assertEqual(vanished(lines, True), [3, 5, 6])
        self.assertEqual(list(fetches(lines)), [2])
        lines, _ = d.ok("UID FETCH 4:5 (FLAGS) (CHANGEDSINCE %d VANISHED)" % h0)
        self.assertEqual(vanished(lines, True), [5])
        self.assertEqual(fetches(lines), {})
        # IDLE under QRESYNC: the push is VANISHED, then the HIGHESTMODSEQ it leads to.
        c.s.sendall(b"i1 IDLE\r\n")
        self.assertTrue(c.f.readline().startswith(b"+"))
        b.ok("UID STORE 4 +FLAGS.SILENT (\\Deleted)")
        b.ok("UID EXPUNGE 4")
        pushed = []
        while not pushed or not pushed[-1].startswith("* OK [HIGHESTMODSEQ "):
            line = c.f.readline()
            self.assertNotEqual(line, b"", pushed)
            pushed.append(line.decode().rstrip("\r\n"))
        # (the \\Deleted may be pushed first as a FETCH, if IDLE saw the STORE apart)
        self.assertEqual([l for l in pushed if " FETCH " not in l], ["* VANISHED 4", pushed[-1]])
        c.s.sendall(b"DONE\r\n")
        self.assertTrue(c.f.readline().startswith(b"i1 OK"))
        # MOVE under QRESYNC: COPYUID, then VANISHED rather than EXPUNGE (RFC 6851 4.3).
        lines, _ = c.ok("MOVE 1 Trash")
        self.assertTrue(lines[0].startswith("* OK [COPYUID "), lines)
        self.assertEqual(vanished(lines, False), [1])
        self.assertNotIn("EXPUNGE", " ".join(lines))
        # An empty folder still has a HIGHESTMODSEQ of at least 1 (RFC 7162 7).
        lines, _ = d.ok("EXAMINE Junk (CONDSTORE)")
        self.assertGreaterEqual(code(lines, "HIGHESTMODSEQ"), 1)
        lines, _ = d.ok("STATUS Junk (HIGHESTMODSEQ)")
        self.assertRegex(lines[0], r"HIGHESTMODSEQ [1-9]")
        # Bad QRESYNC parameters: "*" in known-uids, zero modseq, unequal seq-match.
        for bad in ("(QRESYNC (%d %d 1:*))" % (v, h0), "(QRESYNC (%d 0))" % v,
                    "(QRESYNC (%d %d 1:6 (1:2 1:3)))" % (v, h0), "(QRESYNC)", "()"):
            _, tagged = d.cmd("SELECT INBOX " + bad)
            self.assertRegex(tagged, r"^t\d+ BAD", bad)

    def test_qresync_10k_mailbox_moves_only_what_changed(self):
        """A resync after 1 expunge in a 10k mailbox: count the bytes on the wire."""
        a = self.session()
        a.ok("SELECT INBOX")          # the user's Maildir exists from here on
        md = self.inst.maildir(USER)
        st = os.stat(md)
        now = int(time.time()) - 100
        for i in range(10000):
            data = b"From: bob@example.org\r\nSubject: m%d\r\n\r\nbody\r\n" % i
            name = "%d.M%dP1.bulk,S=%d:2,S" % (now, i, len(data))
            path = os.path.join(md, "cur", name)
            with open(path, "wb") as f:
                f.write(data)
            os.chown(path, st.st_uid, st.st_gid)
        a.ok("ENABLE QRESYNC")
        lines, _ = a.ok("SELECT INBOX")
        self.assertIn("* 10000 EXISTS", lines)
        v, h0 = code(lines, "UIDVALIDITY"), code(lines, "HIGHESTMODSEQ")
        lines, _ = a.ok("UID FETCH 1:* (FLAGS)")
        full = a.bytes
        self.assertEqual(len(lines), 10000)
        a.close()
        b = self.session()
        b.ok("SELECT INBOX")
        b.ok("UID STORE 5000 +FLAGS.SILENT (\\Deleted)")
        b.ok("UID EXPUNGE 5000")
        c = self.session()
        c.ok("ENABLE QRESYNC")
        lines, tagged = c.ok("SELECT INBOX (QRESYNC (%d %d 1:10000))" % (v, h0))
        resync = c.bytes
        self.assertIn("* 9999 EXISTS", lines)
        self.assertEqual(vanished(lines, True), [5000])
        self.assertEqual(fetches(lines), {})
        print("\n10k resync: %d bytes for SELECT (QRESYNC); UID FETCH 1:* (FLAGS): %d bytes"
              % (resync, full))
        self.assertLess(resync, 2048)
        self.assertGreater(full, 200 * 1024)
        # 2,000 scattered expunges: VANISHED comes in several lines of at most ~8 KB
        # (RFC 7162 4), live to a QRESYNC session and in a resync.
        h1 = code(lines, "HIGHESTMODSEQ")
        odd = ",".join(str(u) for u in range(1, 4000, 2))
        b.ok("UID STORE %s +FLAGS.SILENT (\\Deleted)" % odd)
        lines, _ = c.ok("UID EXPUNGE %s" % odd)
        live = [l for l in lines if l.startswith("* VANISHED ")]
        self.assertGreater(len(live), 1)
        self.assertTrue(all(len(l) < 8200 for l in live))
        self.assertEqual(vanished(lines, False), list(range(1, 4000, 2)))
        d = self.session()
        d.ok("ENABLE QRESYNC")
        lines, _ = d.ok("SELECT INBOX (QRESYNC (%d %d))" % (v, h1))
        self.assertIn("* 7999 EXISTS", lines)
        self.assertEqual(vanished(lines, True), list(range(1, 4000, 2)))
        self.assertTrue(all(len(l) < 8200 for l in lines))
