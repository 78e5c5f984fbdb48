"""IMAP selected-mailbox view (issue 13): STORE variants, EXPUNGE/UID EXPUNGE/
CLOSE/CHECK, COPY/MOVE with UIDPLUS COPYUID, IDLE pushed by the store's change
notification, and what two sessions, SMTP delivery and POP3 see of each other.
Python's imaplib over 143 + STARTTLS and 993, raw sockets where imaplib has no
command (IDLE), poplib for the POP3 side."""
import imaplib
import os
import poplib
import re
import smtplib
import time

import lbtest
from test_imap import ImapBase, USER, PASSWORD


def fetch_flags(lines):
    """{seq: (uid or None, set of flags)} from untagged FETCH lines (bytes or str)."""
    out = {}
    for l in lines:
        if isinstance(l, bytes):
            l = l.decode()
        m = re.search(r"(\d+) (?:FETCH )?\((?:UID (\d+) )?FLAGS \(([^)]*)\)\)", l)
        if m:
            # \Recent belongs to one session (RFC 3501 2.3.2): compared apart
            out[int(m.group(1))] = (int(m.group(2)) if m.group(2) else None,
                                    set(m.group(3).split()) - {"\\Recent"})
    return out


class ImapViewTest(ImapBase):
    def setUp(self):
        super().setUp()
        self.inst.start(wait_for=("smtp", "imap", "imaps", "pop3s"))
        self.addCleanup(self.inst.kill)

    def deliver(self, n, first=0, total=None):
        smtp = smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=20)
        for i in range(first, first + n):
            smtp.sendmail("bob@example.org", [USER],
                          b"From: bob@example.org\r\nSubject: m%d\r\n\r\nbody %d\r\n" % (i, i))
        smtp.quit()
        want = total if total is not None else first + n
        self.assertEqual(len(lbtest.wait_files(self.inst.maildir(USER), want)), want)

    def login_ssl(self):
        m = self.imaps()
        self.assertEqual(m.login(USER, PASSWORD)[0], "OK")
        return m

    def login_starttls(self):
        m = self.imap()
        m.starttls(ssl_context=self.ctx)
        self.assertEqual(m.login(USER, PASSWORD)[0], "OK")
        return m

    def raw_login(self):
        s, f, _ = self.raw("imaps")
        s.sendall(b"l LOGIN \"%s\" \"%s\"\r\n" % (USER.encode(), PASSWORD.encode()))
        self.assertTrue(self.read_tagged(f, b"l")[-1].startswith(b"l OK"))
        return s, f

    def cmd(self, s, f, tag, line):
        s.sendall(tag + b" " + line + b"\r\n")
        return self.read_tagged(f, tag)

    def test_capabilities(self):
        m = self.login_ssl()
        caps = set(m.capability()[1][0].decode().split())
        for c in ("IDLE", "UIDPLUS", "MOVE"):
            self.assertIn(c, caps)
        self.assertIn("CONDSTORE", caps)
        m.logout()

    def test_store_variants(self):
        self.deliver(3)
        m = self.login_starttls()
        self.assertEqual(m.select("INBOX"), ("OK", [b"3"]))
        typ, data = m.store("1", "+FLAGS", "(\\Seen)")
        self.assertEqual(typ, "OK")
        got = fetch_flags(data)
        self.assertIn("\\Seen", got[1][1])
        self.assertIsNone(got[1][0])
        # .SILENT: no FETCH; a keyword is created on the way.
        typ, data = m.store("2", "FLAGS.SILENT", "(\\Flagged $Work)")
        self.assertEqual((typ, data), ("OK", [None]))
        typ, data = m.store("2", "+FLAGS", "(\\Answered)")
        self.assertEqual(fetch_flags(data)[2][1] - {"\\Recent"},
                         {"\\Flagged", "\\Answered", "$Work"})
        typ, data = m.store("1:3", "-FLAGS", "($Work \\Seen)")
        got = fetch_flags(data)
        self.assertEqual(sorted(got), [1, 2, 3])
        self.assertEqual(got[2][1] - {"\\Recent"}, {"\\Flagged", "\\Answered"})
        self.assertNotIn("\\Seen", got[1][1])
        # UID STORE: the FETCH carries the UID; "*" is the highest.
        typ, data = m.uid("STORE", "*", "+FLAGS", "(\\Draft)")
        self.assertEqual(fetch_flags(data)[3][0], 3)
        # Bad input.
        for args in (("1", "+FLAGS", "(\\Recent)"), ("9", "+FLAGS", "(\\Seen)"),
                     ("1", "BOGUS", "(\\Seen)")):
            with self.assertRaises(imaplib.IMAP4.error) as cm:
                m._simple_command("STORE", *args)
            self.assertIn("BAD", str(cm.exception))
        # The 27th keyword is refused with NO.
        typ, data = m.store("1", "+FLAGS.SILENT",
                            "(%s)" % " ".join("kw%d" % i for i in range(25)))
        self.assertEqual(typ, "OK")
        typ, data = m._simple_command("STORE", "1", "+FLAGS.SILENT", "(one more)")
        self.assertEqual(typ, "NO")
        # The flags are in the file names (Maildir): two of the three have D.
        names = lbtest.wait_files(self.inst.maildir(USER), 3)
        self.assertEqual(sum(1 for n in names if re.search(r":2,[A-Z]*D", n)), 1)
        m.close()
        # EXAMINE: read-only.
        m.select("INBOX", readonly=True)
        typ, data = m._simple_command("STORE", "1", "+FLAGS", "(\\Seen)")
        self.assertEqual(typ, "NO")
        m.logout()

    def test_two_sessions_expunge_store_delivery_pop3(self):
        self.deliver(4)
        a = self.login_starttls()
        b = self.login_ssl()
        self.assertEqual(a.select("INBOX")[1], [b"4"])
        self.assertEqual(b.select("INBOX")[1], [b"4"])
        # Both see the same UIDs and flags (UID STORE with no flag shows them).
        ua = fetch_flags(a.uid("STORE", "1:*", "+FLAGS", "()")[1])
        ub = fetch_flags(b.uid("STORE", "1:*", "+FLAGS", "()")[1])
        self.assertEqual({k: v[0] for k, v in ua.items()}, {1: 1, 2: 2, 3: 3, 4: 4})
        self.assertEqual({k: v[0] for k, v in ua.items()}, {k: v[0] for k, v in ub.items()})
        # A flags and expunges; A gets its EXPUNGE, B gets it and the flag at NOOP.
        a.store("2", "+FLAGS.SILENT", "(\\Deleted)")
        a.store("3", "+FLAGS.SILENT", "(\\Flagged)")
        typ, data = a.expunge()
        self.assertEqual((typ, data), ("OK", [b"2"]))
        typ, data = b.noop()
        self.assertEqual(b.untagged_responses.pop("EXPUNGE", None), [b"2"])
        # imaplib keeps "N FETCH (...)" as "N (FLAGS ...)" under FETCH.
        flags = b.untagged_responses.pop("FETCH", [])
        self.assertEqual(len(flags), 1, flags)
        self.assertTrue(flags[0].startswith(b"2 (FLAGS (") and b"\\Flagged" in flags[0], flags)
        b.untagged_responses.clear()
        ub = fetch_flags(b.uid("STORE", "1:*", "+FLAGS", "()")[1])
        ua = fetch_flags(a.uid("STORE", "1:*", "+FLAGS", "()")[1])
        self.assertEqual(ua, ub)
        self.assertEqual({k: v[0] for k, v in ub.items()}, {1: 1, 2: 3, 3: 4})
        self.assertIn("\\Flagged", ub[2][1])
        # A message delivered by SMTP while selected: EXISTS at NOOP.
        self.deliver(1, first=4, total=4)
        deadline = time.time() + 10
        while time.time() < deadline:
            b.noop()
            if b.untagged_responses.get("EXISTS"):
                break
            time.sleep(0.1)
        self.assertEqual(b.untagged_responses.pop("EXISTS")[-1], b"4")
        # POP3 DELE of the first message: IMAP sees the EXPUNGE.
        p = poplib.POP3_SSL("127.0.0.1", self.inst.port("pop3s"), context=self.ctx, timeout=20)
        p.user(USER)
        p.pass_(PASSWORD)
        p.dele(1)
        p.quit()
        a.untagged_responses.clear()
        a.noop()
        self.assertEqual(a.untagged_responses.get("EXPUNGE"), [b"1"])
        a.logout()
        b.logout()

    def test_no_expunge_during_store_by_sequence(self):
        """RFC 3501 7.4.1: STORE/COPY by sequence number get no EXPUNGE; UID STORE may."""
        self.deliver(3)
        a = self.login_ssl()
        s, f = self.raw_login()
        a.select("INBOX")
        self.cmd(s, f, b"s", b"SELECT INBOX")
        a.store("1", "+FLAGS.SILENT", "(\\Deleted)")
        a.expunge()
        lines = self.cmd(s, f, b"t", b"STORE 3 +FLAGS (\\Seen)")
        self.assertFalse(any(b"EXPUNGE" in l for l in lines), lines)
        self.assertIn(b"* 3 FETCH (FLAGS (\\Seen))\r\n", lines)
        # STORE to the message a expunged: ignored, OK with the code (as Dovecot;
        # RFC 2180 4.2.1 lets either; imaptest's stress counts a NO as an error)
        lines = self.cmd(s, f, b"e", b"STORE 1 +FLAGS (\\Answered)")
        self.assertEqual(lines, [b"e OK [EXPUNGEISSUED] Some of the messages no longer exist.\r\n"])
        lines = self.cmd(s, f, b"c", b"COPY 3 INBOX")
        self.assertFalse(any(b"EXPUNGE" in l for l in lines), lines)
        # The UID form reports it, and the message a's sync saw with its new number.
        lines = self.cmd(s, f, b"u", b"UID STORE 3 +FLAGS (\\Flagged)")
        self.assertEqual(lines[0], b"* 3 FETCH (UID 3 FLAGS (\\Flagged \\Seen))\r\n")
        self.assertEqual(lines[1], b"* 1 EXPUNGE\r\n")
        self.assertIn(b"* 3 EXISTS\r\n", lines)	# the COPY's new message
        self.assertTrue(lines[-1].startswith(b"u OK"))
        s.close()
        a.logout()

    def test_expunge_sees_deleted_set_elsewhere(self):
        """EXPUNGE acts on \\Deleted as it is now, set by another session unseen yet."""
        self.deliver(3)
        a = self.login_ssl()
        b = self.login_starttls()
        a.select("INBOX")
        b.select("INBOX")
        s, f = self.raw_login()
        self.cmd(s, f, b"s", b"SELECT INBOX")
        b.store("2", "+FLAGS.SILENT", "(\\Deleted)")
        # a's view has not seen the flag: its EXPUNGE syncs first, reports it, expunges.
        lines = self.cmd(s, f, b"x", b"EXPUNGE")
        self.assertEqual(lines, [b"* 2 FETCH (FLAGS (\\Deleted))\r\n", b"* 2 EXPUNGE\r\n",
                                 b"x OK EXPUNGE completed.\r\n"])
        a.noop()
        self.assertEqual(a.untagged_responses.get("EXPUNGE"), [b"2"])
        # CLOSE likewise, silently.
        b.store("1", "+FLAGS.SILENT", "(\\Deleted)")
        self.assertEqual(self.cmd(s, f, b"c", b"CLOSE"), [b"c OK CLOSE completed.\r\n"])
        self.assertEqual(a.status("INBOX", "(MESSAGES)")[1][0], b"INBOX (MESSAGES 1)")
        s.close()
        a.logout()
        b.logout()

    def test_client_gone_while_the_pool_has_the_mailbox(self):
        """A session that ends under a running STORE/COPY/EXPUNGE job: the job closes the
        handle (no leak or use after free: the ASan build's stop checks)."""
        self.deliver(60)
        m = self.login_ssl()
        m.create("Other")
        for line in (b"STORE 1:* +FLAGS (\\Seen)", b"COPY 1:* Other", b"UID MOVE 1:* Other",
                     b"NOOP", b"IDLE"):
            s, f = self.raw_login()
            self.cmd(s, f, b"s", b"SELECT INBOX")
            s.sendall(b"t " + line + b"\r\nu NOOP\r\n")
            s.close()
        self.assertEqual(m.select("INBOX")[0], "OK")
        self.assertEqual(m.noop()[0], "OK")
        m.logout()
        self.stop_clean()

    def test_uidvalidity_change_closes(self):
        self.deliver(1)
        s, f = self.raw_login()
        self.cmd(s, f, b"s", b"SELECT INBOX")
        md = self.inst.maildir(USER)
        for n in ("letterbox-uidlist", "letterbox-uidlist.log"):
            if os.path.exists(os.path.join(md, n)):
                os.unlink(os.path.join(md, n))
        s.sendall(b"n NOOP\r\n")
        line = f.readline()
        self.assertTrue(line.startswith(b"* BYE [UIDVALIDITY]"), line)
        self.assertEqual(f.readline(), b"")
        s.close()
        self.assertTrue(self.inst.wait_log("reason=uidvalidity-changed"))

    def test_copy_move_copyuid(self):
        self.deliver(3)
        m = self.login_ssl()
        self.assertEqual(m.create("Saved")[0], "OK")
        m.select("INBOX")
        typ, data = m.copy("1:2", "Saved")
        self.assertEqual(typ, "OK")
        code = re.match(rb"\[COPYUID (\d+) 1:2 1:2\] COPY completed\.", data[0])
        self.assertTrue(code, data)
        uidv = code.group(1)
        st = m.status("Saved", "(MESSAGES UIDVALIDITY)")[1][0]
        self.assertIn(b"MESSAGES 2", st)
        self.assertIn(b"UIDVALIDITY " + uidv, st)
        typ, data = m.copy("1", "Nowhere")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[TRYCREATE]", data[0])
        # UID MOVE: untagged OK [COPYUID], then EXPUNGE, then the tagged OK.
        s, f = self.raw_login()
        self.cmd(s, f, b"s", b"SELECT INBOX")
        lines = self.cmd(s, f, b"mv", b"UID MOVE 2:3 Saved")
        self.assertEqual(lines[0], b"* OK [COPYUID " + uidv + b" 2:3 3:4] Moved UIDs.\r\n")
        self.assertEqual(lines[1:3], [b"* 2 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n"])
        self.assertEqual(lines[-1], b"mv OK MOVE completed.\r\n")
        # The other session hears of it at NOOP.
        m.noop()
        self.assertEqual(m.untagged_responses.get("EXPUNGE"), [b"2", b"2"])
        self.assertEqual(m.status("Saved", "(MESSAGES)")[1][0], b"Saved (MESSAGES 4)")
        # MOVE by sequence number back from Saved.
        lines = self.cmd(s, f, b"s2", b"SELECT Saved")
        lines = self.cmd(s, f, b"mv2", b"MOVE 4 INBOX")
        self.assertTrue(lines[0].startswith(b"* OK [COPYUID "), lines)
        self.assertIn(b"* 4 EXPUNGE\r\n", lines)
        self.assertTrue(lines[-1].startswith(b"mv2 OK"))
        s.close()
        m.logout()

    def test_recent_and_new_keywords(self):
        """\\Recent survives APPEND, STATUS and EXAMINE and goes to the next
        SELECT (RFC 3501 2.3.2, 6.3.2); a keyword made by STORE is announced
        with a new FLAGS before the FETCH that shows it (RFC 3501 7.2.6)."""
        s, f = self.raw_login()
        self.addCleanup(s.close)
        msg = b"Subject: r\r\n\r\nbody\r\n"
        for t in (b"a1", b"a2"):
            s.sendall(t + b" APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
            self.assertTrue(self.read_tagged(f, t)[-1].startswith(t + b" OK"))
        self.assertEqual(self.cmd(s, f, b"st", b"STATUS INBOX (RECENT)")[0],
                         b"* STATUS INBOX (RECENT 2)\r\n")
        self.assertIn(b"* 2 RECENT\r\n", self.cmd(s, f, b"ex", b"EXAMINE INBOX"))
        self.assertIn(b"* 2 RECENT\r\n", self.cmd(s, f, b"se", b"SELECT INBOX"))
        self.assertEqual(self.cmd(s, f, b"sr", b"SEARCH RECENT")[0], b"* SEARCH 1 2\r\n")
        r = self.cmd(s, f, b"kw", b"STORE 1 +FLAGS ($Fresh)")
        self.assertTrue(r[0].startswith(b"* FLAGS (") and b"$Fresh" in r[0], r)
        self.assertTrue(r[1].startswith(b"* OK [PERMANENTFLAGS (") and b"$Fresh" in r[1], r)
        self.assertRegex(r[2], rb"^\* 1 FETCH \(FLAGS \(.*\$Fresh")
        # another session selecting later is told of it in SELECT's FLAGS, and
        # gets no \\Recent: this one has them
        s2, f2 = self.raw_login()
        self.addCleanup(s2.close)
        r = self.cmd(s2, f2, b"s2", b"SELECT INBOX")
        self.assertTrue(any(l.startswith(b"* FLAGS (") and b"$Fresh" in l for l in r), r)
        self.assertIn(b"* 0 RECENT\r\n", r)

    def test_copyuid_of_a_big_scattered_copy(self):
        """RFC 4315 3: COPYUID goes out however long it is (it was cut at 512
        bytes in the tagged reply, and left out past 48 KiB).  1000 messages
        keep the test fast (a copy costs a commit each); BIG_COPY=20000 runs
        it past 48 KiB."""
        md = self.inst.maildir(USER)
        n = int(os.environ.get("BIG_COPY", "1000"))
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, d), exist_ok=True)
        for i in range(1, n + 1):
            with open(os.path.join(md, "cur", "1700000000.M%06dP1.host:2," % i), "wb") as fh:
                fh.write(b"Subject: m%d\n\nbody\n" % i)
        self.inst.chown_vmail()
        s, f = self.raw_login()
        self.addCleanup(s.close)
        self.assertTrue(self.cmd(s, f, b"c", b"CREATE Big")[-1].startswith(b"c OK"))
        self.assertIn(b"* %d EXISTS\r\n" % n, self.cmd(s, f, b"s", b"SELECT INBOX"))
        odd = ",".join(str(u) for u in range(1, n + 1, 2)).encode()
        self.assertGreater(len(odd), 512)
        s.settimeout(max(20, n / 50))	# (one commit per copy)
        s.sendall(b"cp UID COPY " + odd + b" Big\r\n")
        line = f.readline()
        code = re.match(rb"cp OK \[COPYUID \d+ ([0-9,:]+) 1:%d\] COPY completed\.\r\n$"
                        % (n // 2), line)
        self.assertTrue(code, line[:300])
        self.assertEqual(code.group(1), odd)

    def test_idle_sees_delivery(self):
        self.deliver(1)
        s, f = self.raw_login()
        self.cmd(s, f, b"s", b"SELECT INBOX")
        s.sendall(b"i IDLE\r\n")
        self.assertEqual(f.readline(), b"+ idling\r\n")
        t0 = time.time()
        self.deliver(1, first=1)
        got = []
        s.settimeout(2.5)
        while time.time() - t0 < 2.5:
            line = f.readline()
            got.append(line)
            if line == b"* 2 EXISTS\r\n":
                break
        self.assertIn(b"* 2 EXISTS\r\n", got)
        self.assertLess(time.time() - t0, 2.0 + 0.5)
        s.settimeout(20)
        s.sendall(b"DONE\r\n")
        lines = self.read_tagged(f, b"i")
        self.assertEqual(lines[-1], b"i OK IDLE terminated.\r\n")
        # IDLE in the authenticated state, and a bad end of it.
        self.cmd(s, f, b"u", b"UNSELECT")
        s.sendall(b"j IDLE\r\n")
        self.assertEqual(f.readline(), b"+ idling\r\n")
        s.sendall(b"NOPE\r\n")
        self.assertEqual(self.read_tagged(f, b"j")[-1], b"j BAD Expected DONE.\r\n")
        self.assertTrue(self.cmd(s, f, b"n", b"NOOP")[-1].startswith(b"n OK"))
        # DONE and a next command pipelined with IDLE, selected and not.
        for state in (b"SELECT INBOX", b"UNSELECT"):
            self.cmd(s, f, b"p", state)
            s.sendall(b"k IDLE\r\nDONE\r\nm NOOP\r\n")
            self.assertEqual(f.readline(), b"+ idling\r\n")
            self.assertTrue(self.read_tagged(f, b"k")[-1].startswith(b"k OK"))
            self.assertTrue(self.read_tagged(f, b"m")[-1].startswith(b"m OK"))
        s.close()

    def test_close_check_and_uid_expunge(self):
        self.deliver(4)
        m = self.login_ssl()
        m.select("INBOX")
        m.store("1:4", "+FLAGS.SILENT", "(\\Deleted)")
        # UID EXPUNGE takes only the named ones.
        typ, data = m.uid("EXPUNGE", "2")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.untagged_responses.pop("EXPUNGE", None), [b"2"])
        self.assertEqual(m._simple_command("CHECK")[0], "OK")
        # EXAMINE + CLOSE expunges nothing.
        m.select("INBOX", readonly=True)
        s, f = self.raw_login()
        self.cmd(s, f, b"e", b"EXAMINE INBOX")
        lines = self.cmd(s, f, b"c", b"CLOSE")
        self.assertEqual(lines, [b"c OK CLOSE completed.\r\n"])
        # CLOSE in SELECT: silent expunge of the rest, back to AUTH.
        self.cmd(s, f, b"s", b"SELECT INBOX")
        lines = self.cmd(s, f, b"c2", b"CLOSE")
        self.assertEqual(lines, [b"c2 OK CLOSE completed.\r\n"])
        self.assertTrue(self.cmd(s, f, b"x", b"EXPUNGE")[-1].startswith(b"x BAD"))
        self.assertEqual(m.status("INBOX", "(MESSAGES)")[1][0], b"INBOX (MESSAGES 0)")
        s.close()
        m.logout()

    def test_uids_stable_across_logout_and_restart(self):
        self.deliver(3)
        m = self.login_ssl()
        m.select("INBOX")
        uidv = m.untagged_responses["UIDVALIDITY"][0]
        m.store("2", "+FLAGS.SILENT", "(\\Deleted)")
        m.expunge()
        before = fetch_flags(m.uid("STORE", "1:*", "+FLAGS", "($Keep)")[1])
        m.logout()
        m = self.login_ssl()
        m.select("INBOX")
        self.assertEqual(m.untagged_responses["UIDVALIDITY"][0], uidv)
        self.assertEqual(fetch_flags(m.uid("STORE", "1:*", "+FLAGS", "()")[1]), before)
        m.logout()
        self.stop_clean()
        self.inst.start(wait_for=("imaps",))
        m = self.login_ssl()
        m.select("INBOX")
        self.assertEqual(m.untagged_responses["UIDVALIDITY"][0], uidv)
        after = fetch_flags(m.uid("STORE", "1:*", "+FLAGS", "()")[1])
        self.assertEqual({k: v[0] for k, v in after.items()}, {1: 1, 2: 3})
        self.assertEqual({k: v[1] - {"\\Recent"} for k, v in after.items()},
                         {k: v[1] - {"\\Recent"} for k, v in before.items()})
        m.logout()
        self.stop_clean()


class ImapQuotaTest(ImapBase):
    conf = {"auth_failure_delay": "0", "virtual_mailbox_limit": "600"}

    def test_copy_over_quota(self):
        self.inst.start(wait_for=("smtp", "imaps"))
        self.addCleanup(self.inst.kill)
        smtp = smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=20)
        smtp.sendmail("bob@example.org", [USER],
                      b"From: bob@example.org\r\nSubject: q\r\n\r\n" + b"x" * 300 + b"\r\n")
        smtp.quit()
        lbtest.wait_files(self.inst.maildir(USER), 1)
        m = self.imaps()
        m.login(USER, PASSWORD)
        m.create("Other")
        m.select("INBOX")
        typ, data = m.copy("1", "Other")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[OVERQUOTA]", data[0])
        m.logout()
        self.stop_clean()
