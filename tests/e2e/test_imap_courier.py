"""IMAP names and folder views (issue 13, namespaces part): a Maildir as
Courier-IMAP leaves it taken over in place under imap_namespace = courier
(UIDVALIDITY, UIDs, subscriptions, mUTF-7 names, POP3 UIDLs), the name
translation of the courier view in every command, and the modern view's
LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE (RFC 6154),
STATUS SIZE (RFC 8438) and ENABLE IMAP4rev2 (RFC 9051)."""
import os
import poplib
import re

import lbtest
from test_imap import ImapBase, USER, PASSWORD
from test_pop3 import Pop3Base


def message(subject):
    """A small message and its RFC 822 (CRLF) size, as Courier writes ,S=."""
    body = ("From: bob@example.org\nSubject: %s\n\nhello\n" % subject).encode()
    return body, len(body) + body.count(b"\n")


def maildir(path, folder=False):
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    if folder:
        open(os.path.join(path, "maildirfolder"), "w").close()


def put(path, base, info, subject):
    data, size = message(subject)
    base = "%s,S=%d" % (base, size)
    with open(os.path.join(path, "cur", base + ":2," + info), "wb") as f:
        f.write(data)
    return base, size


class RawImap:
    """One imaps session with tagged commands, lines as str."""

    def __init__(self, test):
        self.t = test
        self.s, self.f, greeting = test.raw("imaps")
        test.assertTrue(greeting.startswith(b"* OK"), greeting)
        self.n = 0
        self.ok("LOGIN %s \"%s\"" % (USER, PASSWORD))

    def cmd(self, line):
        self.n += 1
        tag = b"t%d" % self.n
        self.s.sendall(tag + b" " + line.encode() + b"\r\n")
        lines = [l.decode("utf-8").rstrip("\r\n") for l in self.t.read_tagged(self.f, tag)]
        return lines[:-1], lines[-1].split(" ", 2)[1], lines[-1]

    def ok(self, line):
        untagged, status, last = self.cmd(line)
        self.t.assertEqual(status, "OK", (line, untagged, last))
        return untagged

    def close(self):
        self.cmd("LOGOUT")
        self.s.close()


class CourierTakeoverTest(ImapBase):
    owner = Pop3Base.owner
    chown_tree = Pop3Base.chown_tree
    conf = {"auth_failure_delay": "0", "imap_namespace": "courier"}

    def setUp(self):
        super().setUp()
        md = self.inst.maildir(USER)
        self.md = md
        maildir(md)
        b1, s1 = put(md, "1000000001.M1P1.courier", "S", "one")
        b2, s2 = put(md, "1000000002.M2P1.courier", "", "two")
        with open(os.path.join(md, "courierimapuiddb"), "w") as f:
            f.write("1 4242 17\n11 %s\n12 %s\n" % (b1, b2))
        os.makedirs(os.path.join(md, "courierimapkeywords"))
        with open(os.path.join(md, "courierimapkeywords", ":list"), "w") as f:
            f.write("$Label1\n\n%s:0\n" % b1)
        with open(os.path.join(md, "courierimapsubscribed"), "w") as f:
            f.write("INBOX\nINBOX.Sent\nINBOX.Entw&APw-rfe\n")
        # Courier's POP3 gave UID<uid>-<uidvalidity> for these two.
        with open(os.path.join(md, "courierpop3dsizelist"), "w") as f:
            f.write("/3 20 4242\n%s:2,S %d 11:4242\n%s:2, %d 12:4242\n" % (b1, s1, b2, s2))
        sent = os.path.join(md, ".Sent")
        maildir(sent, folder=True)
        b3, _ = put(sent, "1000000003.M3P1.courier", "S", "sent")
        with open(os.path.join(sent, "courierimapuiddb"), "w") as f:
            f.write("1 5151 3\n2 %s\n" % b3)
        maildir(os.path.join(md, ".Entw&APw-rfe"), folder=True)
        self.chown_tree(md)	# the daemon runs as mail_owner

    def test_courier_maildir_taken_over(self):
        self.inst.start(wait_for=("imap", "imaps", "pop3"))
        self.addCleanup(self.inst.kill)
        m = RawImap(self)
        self.assertEqual(m.ok("NAMESPACE"), ['* NAMESPACE (("INBOX." ".")) NIL NIL'])
        # The same UIDVALIDITY and UIDNEXT as Courier's uiddb.
        sel = "\n".join(m.ok("SELECT INBOX"))
        self.assertIn("* 2 EXISTS", sel)
        self.assertIn("[UIDVALIDITY 4242]", sel)
        self.assertIn("[UIDNEXT 17]", sel)
        # Courier's keywords are the folder's keywords (FLAGS lists them).
        self.assertIn("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)", sel)
        # The same UIDs, flags and keywords.
        self.assertEqual(m.ok("UID SEARCH ALL"), ["* SEARCH 11 12"])
        self.assertEqual(m.ok("UID SEARCH KEYWORD $Label1"), ["* SEARCH 11"])
        self.assertEqual(m.ok("UID FETCH 1:* (FLAGS)"), [
            "* 1 FETCH (FLAGS (\\Seen \\Recent $Label1) UID 11)",
            "* 2 FETCH (FLAGS (\\Recent) UID 12)"])
        m.ok("UNSELECT")
        self.assertEqual(m.ok("STATUS INBOX.Sent (MESSAGES UIDNEXT UIDVALIDITY)"),
                         ["* STATUS INBOX.Sent (MESSAGES 1 UIDNEXT 3 UIDVALIDITY 5151)"])
        sel = "\n".join(m.ok("EXAMINE INBOX.Sent"))
        self.assertIn("[UIDVALIDITY 5151]", sel)
        m.ok("SELECT INBOX.Entw&APw-rfe")
        # LIST and LSUB show Courier's names, and nothing was added to the Maildir.
        self.assertEqual(sorted(m.ok('LIST "" "*"')), sorted([
            '* LIST (\\HasChildren) "." INBOX',
            '* LIST (\\HasNoChildren) "." INBOX.Entw&APw-rfe',
            '* LIST (\\HasNoChildren \\Sent) "." INBOX.Sent']))
        self.assertEqual(m.ok('LIST "" "%"'), ['* LIST (\\HasChildren) "." INBOX'])
        self.assertEqual(len(m.ok('LIST "INBOX." "%"')), 2)
        self.assertEqual(m.ok('LIST "" ""'), ['* LIST (\\Noselect) "." ""'])
        self.assertEqual(sorted(m.ok('LSUB "" "*"')), [
            '* LSUB () "." INBOX', '* LSUB () "." INBOX.Entw&APw-rfe',
            '* LSUB () "." INBOX.Sent'])
        self.assertFalse(os.path.exists(os.path.join(self.md, ".Trash")))
        m.close()
        # POP3 gives Courier's UIDLs.
        p = poplib.POP3("127.0.0.1", self.inst.port("pop3"), timeout=20)
        p.stls(self.ctx)
        p.user(USER)
        self.assertTrue(p.pass_(PASSWORD).startswith(b"+OK"))
        self.assertEqual(p.uidl()[1], [b"1 UID11-4242", b"2 UID12-4242"])
        p.quit()

    def test_courier_names_in_every_command(self):
        self.start()
        m = RawImap(self)
        # CREATE / RENAME / DELETE / SUBSCRIBE / STATUS / SELECT translate INBOX.a.b <-> .a.b.
        m.ok("CREATE INBOX.Work.Projects")
        self.assertTrue(os.path.isdir(os.path.join(self.md, ".Work.Projects", "cur")))
        m.ok("CREATE INBOX.Old.")	# the trailing separator is a hint
        self.assertTrue(os.path.isdir(os.path.join(self.md, ".Old")))
        m.ok("RENAME INBOX.Work.Projects INBOX.Done")
        self.assertTrue(os.path.isdir(os.path.join(self.md, ".Done")))
        m.ok("SUBSCRIBE INBOX.Done")
        self.assertIn('* LSUB () "." INBOX.Done', m.ok('LSUB "" "INBOX.D*"'))
        self.assertEqual(m.ok("STATUS inbox.Done (MESSAGES)"),
                         ["* STATUS INBOX.Done (MESSAGES 0)"])
        m.ok("SELECT INBOX.Done")
        # APPEND names the folder as the other commands do: INBOX.Sent is .Sent
        msg = "Subject: saved\r\n\r\nsent copy\r\n"
        m.ok("APPEND INBOX.Sent (\\Seen) {%d+}\r\n%s" % (len(msg), msg))
        sent = [n for d in ("cur", "new") for n in os.listdir(os.path.join(self.md, ".Sent", d))]
        self.assertEqual(len(sent), 2, sent)
        self.assertEqual(m.ok("STATUS INBOX.Sent (MESSAGES)"),
                         ["* STATUS INBOX.Sent (MESSAGES 2)"])
        untagged, status, last = m.cmd("APPEND Sent {%d+}\r\n%s" % (len(msg), msg))
        self.assertEqual(status, "NO", last)
        self.assertIn("[CANNOT]", last)
        m.ok("DELETE INBOX.Old")
        self.assertFalse(os.path.exists(os.path.join(self.md, ".Old")))
        # Names outside INBOX. or with the store's '/' are not in Courier's view.
        for bad in ("CREATE Foo", "CREATE INBOX.a/b", "SELECT Sent", "CREATE INBOX.a..b"):
            untagged, status, last = m.cmd(bad)
            self.assertEqual(status, "NO", (bad, last))
            self.assertIn("[CANNOT]", last)
        # The parent .Tmp is missing on disk: listed as not selectable.
        m.ok("CREATE INBOX.Tmp.Sub")
        lines = m.ok('LIST "" "INBOX.T%"')
        self.assertEqual(lines, ['* LIST (\\Noselect \\HasChildren) "." INBOX.Tmp'])
        lines = m.ok('LIST "" "INBOX.T*"')
        self.assertEqual(lines[1:], ['* LIST (\\HasNoChildren) "." INBOX.Tmp.Sub'])
        # UTF8=ACCEPT: the same folder in UTF-8.
        self.assertEqual(m.ok("ENABLE UTF8=ACCEPT"), ["* ENABLED UTF8=ACCEPT"])
        lines = m.ok('LIST "" "INBOX.Entw*"')
        self.assertEqual(lines, ['* LIST (\\HasNoChildren) "." "INBOX.Entwürfe"'])
        m.ok('CREATE "INBOX.Grüße"')
        self.assertTrue(os.path.isdir(os.path.join(self.md, ".Gr&APwA3w-e")))
        m.close()


class ImportCourierTest(lbtest.InstanceTest):
    def test_import_postfix_detects_courier_maildirs(self):
        """courierimapuiddb in a Maildir below virtual_mailbox_base -> the courier view."""
        etc = os.path.join(self.inst.tmp, "etc")
        base = os.path.join(self.inst.tmp, "vmail")
        os.makedirs(etc)
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write("myhostname = mx.example.org\nvirtual_mailbox_base = %s\n" % base)
        outs = []
        for courier in (False, True):
            if courier:
                maildir(os.path.join(base, "example.org", "ann"))
                open(os.path.join(base, "example.org", "ann", "courierimapuiddb"), "w").close()
            out = os.path.join(self.inst.tmp, "out%d.conf" % courier)
            r = self.inst.run("import-postfix", "--postfix-dir", etc, "--courier-dir",
                              "/nonexistent", "--pam-dir", "/nonexistent", out, conf=False)
            self.assertEqual(r.rc, 0, r)
            with open(out) as f:
                outs.append(f.read())
        self.assertNotIn("imap_namespace", outs[0])
        # The key is checked: only the two views exist.
        r = self.inst.cli("config", "set", "imap_namespace", "dovecot")
        self.assertNotEqual(r.rc, 0, r)
        self.assertIn("want modern or courier", r.out + r.err)
        self.assertIn("imap_namespace = courier\n", outs[1])
        self.assertIn("example.org/ann/courierimapuiddb", outs[1])


class ListExtendedTest(ImapBase):
    """The modern view: no prefix, '/'; RFC 6154 folders for a new user."""

    def test_special_use_list_extended_status(self):
        self.start()
        m = RawImap(self)
        self.assertEqual(m.ok("NAMESPACE"), ['* NAMESPACE (("" "/")) NIL NIL'])
        caps = " ".join(m.ok("CAPABILITY"))
        for c in ("IMAP4rev1", "IMAP4rev2", "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE",
                  "STATUS=SIZE"):
            self.assertIn(" " + c, caps)
        # SPECIAL-USE selection: exactly the five, created on the first look.
        self.assertEqual(sorted(m.ok('LIST (SPECIAL-USE) "" "*"')), [
            '* LIST (\\HasNoChildren \\Archive) "/" Archive',
            '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
            '* LIST (\\HasNoChildren \\Junk) "/" Junk',
            '* LIST (\\HasNoChildren \\Sent) "/" Sent',
            '* LIST (\\HasNoChildren \\Trash) "/" Trash'])
        md = self.inst.maildir(USER)
        for d in (".Sent", ".Drafts", ".Trash", ".Junk", ".Archive"):
            self.assertTrue(os.path.isdir(os.path.join(md, d, "cur")), d)
        # Subscribed too: LIST (SUBSCRIBED) and RETURN (SUBSCRIBED).
        subs = m.ok('LIST (SUBSCRIBED) "" "*"')
        self.assertEqual(len(subs), 6, subs)
        self.assertTrue(all("\\Subscribed" in l for l in subs), subs)
        self.assertIn('* LIST (\\HasNoChildren \\Subscribed) "/" INBOX',
                      m.ok('LIST "" "INBOX" RETURN (SUBSCRIBED)'))
        # Multiple patterns; a deleted-and-subscribed folder is \NonExistent.
        m.ok("CREATE a/b")
        m.ok("SUBSCRIBE a/b")
        m.ok("CREATE Gone")
        m.ok("SUBSCRIBE Gone")
        m.ok("DELETE Gone")
        lines = m.ok('LIST "" (INBOX Sent "a/%")')
        self.assertEqual([l.rsplit(" ", 1)[1] for l in lines], ["INBOX", "Sent", "a/b"])
        lines = m.ok('LIST (SUBSCRIBED) "" "Gone"')
        self.assertEqual(lines, ['* LIST (\\NonExistent \\Subscribed) "/" Gone'])
        # RECURSIVEMATCH: "a" is not subscribed but has a subscribed child.
        self.assertEqual(m.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"').count(
            '* LIST (\\NonExistent \\HasChildren) "/" a ("CHILDINFO" ("SUBSCRIBED"))'), 1)
        untagged, status, last = m.cmd('LIST (RECURSIVEMATCH) "" "*"')
        self.assertEqual(status, "BAD", last)
        untagged, status, last = m.cmd('LIST (BOGUS) "" "*"')
        self.assertEqual(status, "BAD", last)
        # LIST-STATUS: a STATUS line after each selectable mailbox's LIST line.
        lines = m.ok('LIST "" "%" RETURN (STATUS (MESSAGES UIDNEXT SIZE))')
        self.assertIn('* STATUS Sent (MESSAGES 0 UIDNEXT 1 SIZE 0)', lines)
        i = lines.index('* LIST (\\HasNoChildren \\Sent) "/" Sent')
        self.assertEqual(lines[i + 1], '* STATUS Sent (MESSAGES 0 UIDNEXT 1 SIZE 0)')
        self.assertFalse(any(l.startswith("* STATUS a ") for l in lines), lines)
        untagged, status, last = m.cmd('LIST "" "%" RETURN (STATUS)')
        self.assertEqual(status, "BAD", last)
        # IMAP4rev2: ENABLE answers it, and the missing parent is \NonExistent in plain LIST.
        self.assertEqual(m.ok("ENABLE IMAP4rev2"), ["* ENABLED IMAP4rev2"])
        self.assertEqual(m.ok('LIST "" "a"'), ['* LIST (\\NonExistent \\HasChildren) "/" a'])
        m.close()

    def test_status_size_counts_messages(self):
        self.inst.start(wait_for=("smtp", "imap", "imaps"))
        self.addCleanup(self.inst.kill)
        import smtplib
        msg = b"From: bob@example.org\r\nSubject: s\r\n\r\nbody\r\n"
        smtp = smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=20)
        smtp.sendmail("bob@example.org", [USER], msg)
        smtp.quit()
        lbtest.wait_files(self.inst.maildir(USER), 1)
        m = RawImap(self)
        lines = m.ok("STATUS INBOX (MESSAGES UNSEEN RECENT UIDNEXT UIDVALIDITY SIZE)")
        self.assertEqual(len(lines), 1, lines)
        got = re.match(r"\* STATUS INBOX \((.*)\)$", lines[0])
        self.assertIsNotNone(got, lines)
        items = got.group(1).split()
        st = dict(zip(items[0::2], map(int, items[1::2])))
        self.assertEqual(sorted(st), ["MESSAGES", "RECENT", "SIZE", "UIDNEXT", "UIDVALIDITY",
                                      "UNSEEN"])
        self.assertEqual((st["MESSAGES"], st["UNSEEN"], st["UIDNEXT"]), (1, 1, 2))
        # The delivered file adds a Return-Path/Received trace: at least the message.
        self.assertGreaterEqual(st["SIZE"], len(msg))
        sel = "\n".join(m.ok("SELECT INBOX"))
        self.assertIn("[UIDVALIDITY %d]" % st["UIDVALIDITY"], sel)
        # RFC 9051 DELETED: mark the message \\Deleted on disk (as another client would).
        md = self.inst.maildir(USER)
        m.ok("UNSELECT")	# SELECT moved it to cur/ (":2,"), kept \\Recent for us
        name = os.listdir(os.path.join(md, "cur"))[0]
        os.rename(os.path.join(md, "cur", name),
                  os.path.join(md, "cur", name.split(":2,")[0] + ":2,ST"))
        self.assertEqual(m.ok("STATUS INBOX (MESSAGES DELETED UNSEEN)"),
                         ["* STATUS INBOX (MESSAGES 1 UNSEEN 0 DELETED 1)"])
        lines = m.ok('LIST "" "INBOX" RETURN (STATUS (DELETED))')
        self.assertEqual(lines[1], "* STATUS INBOX (DELETED 1)")
        untagged, status, last = m.cmd("STATUS INBOX (BOGUS)")
        self.assertEqual(status, "BAD", last)
        m.close()
