"""IMAP NOTIFY (RFC 5465, issue 14): one connection follows every folder.
Pushed untagged STATUS for deliveries to folders that are not selected (the
client idle, no polling), EXISTS/FETCH for the selected one, MessageNew's
FETCH with the client's attributes (between commands, in IDLE, none for the
session's own APPEND, \Seen untouched), HIGHESTMODSEQ once CONDSTORE is on,
LIST for MailboxName and SubscriptionChange made by another session, NOTIFY
NONE, NOTIFY together with IDLE and with COMPRESS=DEFLATE, and the argument
errors (BAD, NO [BADEVENT])."""
import os
import re
import socket
import time

import lbtest
from test_imap import ImapBase, USER
from test_imap_clients import put_maildir
import test_imap_view

ALL_OTHER = (b"(personal (MessageNew MessageExpunge FlagChange MailboxName "
             b"SubscriptionChange))")
NEW_FETCH = (b"(selected (MessageNew (UID FLAGS BODY.PEEK[HEADER.FIELDS (Subject)]) "
             b"MessageExpunge FlagChange))")


def status_re(name, messages, uidnext, unseen, modseq=True):
    """A pushed STATUS line: UIDVALIDITY always, HIGHESTMODSEQ when modseq."""
    return (rb"^\* STATUS %s \(MESSAGES %d UIDNEXT %d UIDVALIDITY \d+ UNSEEN %d%s\)\r\n$"
            % (name, messages, uidnext, unseen, rb" HIGHESTMODSEQ \d+" if modseq else b""))


class ImapNotifyTest(ImapBase):
    # the view tests' helpers, not their tests
    deliver = test_imap_view.ImapViewTest.deliver
    login_ssl = test_imap_view.ImapViewTest.login_ssl
    raw_login = test_imap_view.ImapViewTest.raw_login
    cmd = test_imap_view.ImapViewTest.cmd

    def setUp(self):
        super().setUp()
        self.inst.start(wait_for=("smtp", "imaps"))
        self.addCleanup(self.inst.kill)

    def wait_line(self, s, f, pattern, timeout=10.0):
        """Read pushed lines until one matches pattern (bytes regex) within timeout."""
        got = []
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                self.fail("no %r within %.1fs: %r" % (pattern, timeout, got))
            s.settimeout(left)
            try:
                line = f.readline()
            except (socket.timeout, TimeoutError):
                self.fail("no %r within %.1fs: %r" % (pattern, timeout, got))
            finally:
                s.settimeout(20)
            self.assertNotEqual(line, b"", "closed; got %r" % got)
            got.append(line)
            if re.search(pattern, line):
                return got

    def folder(self, name):
        return os.path.join(self.inst.maildir(USER), "." + name)

    def put(self, name):
        root = self.inst.maildir(USER)
        path = root if name == "INBOX" else self.folder(name)
        return put_maildir(path, b"From: bob@example.org\r\nSubject: n\r\n\r\nhi\r\n",
                           owner_of=root)

    def notify_session(self, spec=ALL_OTHER, select=b"INBOX"):
        s, f = self.raw_login()
        if select:
            self.cmd(s, f, b"s", b"SELECT " + select)
        lines = self.cmd(s, f, b"n", b"NOTIFY SET " + spec)
        self.assertTrue(lines[-1].startswith(b"n OK"), lines)
        return s, f, lines

    def test_capability_and_errors(self):
        s, f = self.raw_login()
        caps = self.cmd(s, f, b"c", b"CAPABILITY")[0]
        self.assertIn(b" NOTIFY", caps)
        for bad in (b"NOTIFY", b"NOTIFY SET", b"NOTIFY FOO",
                    b"NOTIFY SET (selected (MessageNew))",
                    b"NOTIFY SET (selected (FlagChange))",
                    b"NOTIFY SET (selected (MessageExpunge))",
                    b"NOTIFY SET STATUS",
                    b"NOTIFY SET (STATUS) (personal (MessageNew MessageExpunge))",
                    b"NOTIFY SET (selected (MessageNew (UID) MessageNew (FLAGS) "
                    b"MessageExpunge))",
                    b"NOTIFY SET (personal (MessageNew (UID) MessageExpunge))",
                    b"NOTIFY SET (selected (MessageNew (BODY[]) MessageExpunge))",
                    b"NOTIFY SET (selected NONE) (selected-delayed NONE)",
                    b"NOTIFY SET (subtree (MessageNew MessageExpunge))",
                    b"NOTIFY SET (nosuchfilter (MessageNew MessageExpunge))"):
            self.assertTrue(self.cmd(s, f, b"b", bad)[-1].startswith(b"b BAD"), bad)
        # a lone event outside the selected mailbox is taken (as Dovecot and
        # imaptest have it): it only chooses when a STATUS goes out
        for ok in (b"NOTIFY SET (personal (FlagChange))",
                   b"NOTIFY SET STATUS (personal (MessageExpunge))",
                   b"NOTIFY SET (selected (MessageNew (UID BODY.PEEK[] RFC822.SIZE) "
                   b"MessageExpunge))"):
            self.assertTrue(self.cmd(s, f, b"k", ok)[-1].startswith(b"k OK"), ok)
        for ev in (b"AnnotationChange", b"MailboxMetadataChange", b"ServerMetadataChange", b"NoSuchEvent"):
            r = self.cmd(s, f, b"e", b"NOTIFY SET (personal (" + ev + b"))")[-1]
            self.assertTrue(r.startswith(b"e NO [BADEVENT (MessageNew MessageExpunge "
                                         b"FlagChange MailboxName SubscriptionChange)]"), r)
        self.assertTrue(self.cmd(s, f, b"o", b"NOTIFY NONE")[-1].startswith(b"o OK"))
        s.close()

    def test_status_pushed_for_delivery_to_other_folder(self):
        s, f = self.raw_login()
        self.cmd(s, f, b"c", b"CREATE Work")
        self.cmd(s, f, b"s", b"SELECT INBOX")
        # SET STATUS tells the current state of every followed mailbox
        lines = self.cmd(s, f, b"n", b"NOTIFY SET STATUS (selected (MessageNew "
                         b"MessageExpunge)) " + ALL_OTHER)
        self.assertTrue(lines[-1].startswith(b"n OK"), lines)
        self.assertTrue([l for l in lines if re.match(status_re(b"Work", 0, 1, 0), l)], lines)
        # the selected mailbox speaks through EXISTS, not STATUS
        self.assertFalse([l for l in lines if l.startswith(b"* STATUS INBOX")], lines)
        # the client is idle (no command, no IDLE): the STATUS comes within 1 s
        t0 = time.time()
        self.put("Work")
        self.wait_line(s, f, status_re(b"Work", 1, 2, 1))
        self.assertLess(time.time() - t0, 1.0)
        # by SMTP too, into the selected INBOX: EXISTS between commands
        self.deliver(1)
        self.wait_line(s, f, rb"^\* 1 EXISTS\r\n$", timeout=5)
        self.assertTrue(self.cmd(s, f, b"z", b"NOOP")[-1].startswith(b"z OK"))
        s.close()

    def test_flag_change_from_second_session(self):
        self.deliver(1)
        s, f = self.raw_login()
        self.cmd(s, f, b"c", b"CREATE Work")
        self.put("Work")
        self.cmd(s, f, b"s", b"SELECT INBOX")
        self.cmd(s, f, b"n", b"NOTIFY SET (selected (MessageNew MessageExpunge FlagChange)) "
                 + ALL_OTHER)
        m = self.login_ssl()
        m.select("INBOX")
        self.assertEqual(m.store("1", "+FLAGS", "(\\Flagged)")[0], "OK")
        got = self.wait_line(s, f, rb"^\* 1 FETCH \(UID 1 FLAGS \(.*\\Flagged")
        self.assertNotIn(b"EXPUNGE", b"".join(got))
        # a flag change in a folder that is not selected: STATUS with the new UNSEEN
        m.select("Work")
        self.assertEqual(m.store("1", "+FLAGS", "(\\Seen)")[0], "OK")
        self.wait_line(s, f, status_re(b"Work", 1, 2, 0))
        # an expunge elsewhere in the selected mailbox: EXPUNGE between commands
        m.select("INBOX")
        m.store("1", "+FLAGS", "(\\Deleted)")
        m.expunge()
        self.wait_line(s, f, rb"^\* 1 EXPUNGE\r\n$")
        m.logout()
        s.close()

    def test_mailbox_name_and_subscription_change(self):
        s, f, _ = self.notify_session(select=None)
        m = self.login_ssl()
        self.assertEqual(m.create("New")[0], "OK")
        self.wait_line(s, f, rb'^\* LIST \(\) "/" New\r\n$')
        self.assertEqual(m.rename("New", "Newer")[0], "OK")
        self.wait_line(s, f, rb'^\* LIST \(\) "/" Newer \("OLDNAME" \(New\)\)\r\n$')
        self.assertEqual(m.subscribe("Newer")[0], "OK")
        self.wait_line(s, f, rb'^\* LIST \(\\Subscribed\) "/" Newer\r\n$')
        self.assertEqual(m.unsubscribe("Newer")[0], "OK")
        self.wait_line(s, f, rb'^\* LIST \(\) "/" Newer\r\n$')
        self.assertEqual(m.delete("Newer")[0], "OK")
        self.wait_line(s, f, rb'^\* LIST \(\\NonExistent\) "/" Newer\r\n$')
        m.logout()
        s.close()

    def test_notify_none_stops_pushes(self):
        s, f = self.raw_login()
        self.cmd(s, f, b"c", b"CREATE Work")
        self.cmd(s, f, b"n", b"NOTIFY SET " + ALL_OTHER)
        self.assertTrue(self.cmd(s, f, b"o", b"NOTIFY NONE")[-1].startswith(b"o OK"))
        # a second session still following proves the change was seen and pushed
        s2, f2, _ = self.notify_session(select=None)
        self.put("Work")
        self.wait_line(s2, f2, rb"^\* STATUS Work \(MESSAGES 1 ")
        lines = self.cmd(s, f, b"z", b"NOOP")
        self.assertEqual(lines, [b"z OK NOOP completed.\r\n"])
        s.close()
        s2.close()

    def test_pushed_while_idle(self):
        s, f = self.raw_login()
        self.cmd(s, f, b"c", b"CREATE Work")
        self.cmd(s, f, b"s", b"SELECT INBOX")
        self.cmd(s, f, b"n", b"NOTIFY SET (selected (MessageNew MessageExpunge)) " + ALL_OTHER)
        s.sendall(b"i IDLE\r\n")
        self.assertEqual(f.readline(), b"+ idling\r\n")
        self.put("Work")
        self.wait_line(s, f, status_re(b"Work", 1, 2, 1))
        self.put("INBOX")
        self.wait_line(s, f, rb"^\* 1 EXISTS\r\n$")
        s.sendall(b"DONE\r\n")
        self.assertEqual(self.read_tagged(f, b"i")[-1], b"i OK IDLE terminated.\r\n")
        s.close()

    def test_message_new_fetch(self):
        """RFC 5465 5.2: EXISTS, then FETCH with the client's attributes."""
        s, f, _ = self.notify_session(NEW_FETCH)
        self.put("INBOX")
        got = self.wait_line(s, f, rb"^\* 1 FETCH \(UID 1 FLAGS \(\\Recent\) "
                             rb"BODY\[HEADER\.FIELDS \(Subject\)\] \{14\}\r\n$")
        self.assertIn(b"* 1 EXISTS\r\n", got)
        self.assertLess(got.index(b"* 1 EXISTS\r\n"), len(got) - 1)
        self.assertEqual(f.readline(), b"Subject: n\r\n")
        self.assertEqual(f.readline(), b"\r\n")
        self.assertEqual(f.readline(), b")\r\n")
        # a peek: \Seen is not set
        lines = self.cmd(s, f, b"f", b"UID FETCH 1 FLAGS")
        self.assertNotIn(b"\\Seen", b"".join(lines))
        # in IDLE too, and DONE is read after the push
        s.sendall(b"i IDLE\r\n")
        self.assertEqual(f.readline(), b"+ idling\r\n")
        self.put("INBOX")
        self.put("INBOX")
        got = self.wait_line(s, f, rb"^\* 3 FETCH \(UID 3 ")
        self.assertIn(b"* 3 EXISTS\r\n", got)
        s.sendall(b"DONE\r\n")
        self.assertEqual(self.read_tagged(f, b"i")[-1], b"i OK IDLE terminated.\r\n")
        # this session's own APPEND gets its EXISTS but no FETCH
        msg = b"Subject: own\r\n\r\nmine\r\n"
        lines = self.cmd(s, f, b"a", b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)
        self.assertTrue(lines[-1].startswith(b"a OK"), lines)
        self.assertIn(b"* 4 EXISTS\r\n", lines)
        lines = self.cmd(s, f, b"z", b"NOOP")
        self.assertEqual(lines, [b"z OK NOOP completed.\r\n"])
        # another session's delivery still does: the push goes on
        self.deliver(1, total=5)
        got = self.wait_line(s, f, rb"^\* 5 FETCH \(UID 5 ", timeout=5)
        self.assertNotIn(b"4 FETCH", b"".join(got))
        s.close()

    def test_message_new_fetch_pipelined(self):
        """A command sent while a push is written is answered after it, never inside."""
        s, f, _ = self.notify_session(
            b"(selected (MessageNew (UID BODY.PEEK[]) MessageExpunge))")
        big = (b"Subject: big\r\n\r\n" + b"x" * 998 + b"\r\n") * 300
        for _ in range(3):
            put_maildir(self.inst.maildir(USER), big, owner_of=self.inst.maildir(USER))
        uids, tagged = [], None
        deadline = time.time() + 10
        while len(uids) < 3 or tagged is None:
            self.assertLess(time.time(), deadline, (uids, tagged))
            line = f.readline()
            if line.startswith(b"z "):
                tagged = line
                continue
            m = re.match(rb"^\* (\d+) FETCH \(UID (\d+) BODY\[\] \{(\d+)\}\r\n$", line)
            if not m:
                continue
            if not uids:	# sent while the first literal is on its way
                s.sendall(b"z NOOP\r\n")
            self.assertEqual(m.group(1), m.group(2))
            self.assertEqual(f.read(int(m.group(3))), big)
            self.assertEqual(f.readline(), b")\r\n")
            uids.append(int(m.group(2)))
        self.assertEqual(uids, [1, 2, 3])
        self.assertEqual(tagged, b"z OK NOOP completed.\r\n")
        s.close()

    def test_highestmodseq_with_condstore(self):
        s, f = self.raw_login()
        self.cmd(s, f, b"c", b"CREATE Work")
        spec = b"(personal (MessageNew MessageExpunge))"
        lines = self.cmd(s, f, b"n", b"NOTIFY SET STATUS " + spec)
        self.assertTrue([l for l in lines if re.match(status_re(b"Work", 0, 1, 0, False), l)],
                        lines)
        self.put("Work")
        self.wait_line(s, f, status_re(b"Work", 1, 2, 1, False))
        # RFC 5465 5.2: once CONDSTORE is on, HIGHESTMODSEQ is in every pushed STATUS
        self.assertTrue(self.cmd(s, f, b"e", b"ENABLE CONDSTORE")[-1].startswith(b"e OK"))
        self.put("Work")
        self.wait_line(s, f, status_re(b"Work", 2, 3, 2, True))
        s.close()

    def test_with_compress(self):
        """Issue 14 item 5: pushes go through the compressor at once, idle or in IDLE."""
        import test_imap_compress
        self.inst.kill()
        for k, v in test_imap_compress.ImapCompressTest.conf.items():
            self.assertEqual(self.inst.cli("config", "set", k, v).rc, 0)
        self.inst.start(wait_for=("smtp", "imap"))
        c = test_imap_compress.ImapCompressTest.connect(self)
        self.assertTrue(c.cmd(b"c", b"CREATE Work")[-1].startswith(b"c OK"))
        self.assertTrue(c.cmd(b"s", b"SELECT INBOX")[-1].startswith(b"s OK"))
        self.assertTrue(c.cmd(b"n", b"NOTIFY SET " + NEW_FETCH + b" " + ALL_OTHER)[-1]
                        .startswith(b"n OK"))

        def wait(pattern, timeout=1.0):
            got, deadline = [], time.time() + timeout
            while True:
                left = deadline - time.time()
                self.assertGreater(left, 0, "no %r: %r" % (pattern, got))
                try:
                    line = c.readline(timeout=left)
                except (socket.timeout, TimeoutError):
                    self.fail("no %r: %r" % (pattern, got))
                got.append(line)
                if re.search(pattern, line):
                    return got
        # between commands
        self.put("Work")
        wait(status_re(b"Work", 1, 2, 1))
        self.put("INBOX")
        wait(rb"^\* 1 FETCH \(UID 1 FLAGS \(\\Recent\) BODY")
        self.assertEqual(c.read_exact(len(b"Subject: n\r\n\r\n)\r\n")),
                         b"Subject: n\r\n\r\n)\r\n")
        # in IDLE
        c.send(b"i IDLE\r\n")
        self.assertEqual(c.readline(), b"+ idling\r\n")
        self.put("Work")
        wait(status_re(b"Work", 2, 3, 2))
        self.put("INBOX")
        wait(rb"^\* 2 FETCH \(UID 2 ")
        c.send(b"DONE\r\n")
        self.assertEqual(c.tagged(b"i")[-1], b"i OK IDLE terminated.\r\n")
        self.assertTrue(c.cmd(b"o", b"LOGOUT")[-1].startswith(b"o OK"))

    def test_limit(self):
        self.inst.kill()
        r = self.inst.cli("config", "set", "imap_notify_max_mailboxes", "2")
        self.assertEqual(r.rc, 0, r)
        self.inst.start(wait_for=("imaps",))
        s, f = self.raw_login()
        for n in (b"A", b"B", b"C"):
            self.cmd(s, f, b"c", b"CREATE " + n)
        r = self.cmd(s, f, b"n", b"NOTIFY SET " + ALL_OTHER)[-1]
        self.assertTrue(r.startswith(b"n NO [LIMIT]"), r)
        r = self.cmd(s, f, b"m", b"NOTIFY SET (mailboxes (A B) (MessageNew MessageExpunge))")[-1]
        self.assertTrue(r.startswith(b"m OK"), r)
        s.close()


if __name__ == "__main__":
    lbtest.main()
