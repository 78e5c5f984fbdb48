"""IMAP QUOTA (RFC 9208, issue 14 item 4) and the per-user limit (issue 12
item 8): GETQUOTAROOT/GETQUOTA report what APPEND/COPY enforce, with the
limit from quota_query (users.quota, as Postfix/Courier guides keep it)
or virtual_mailbox_limit; SETQUOTA is refused; DELETE of a folder gives
its bytes back.  imaplib has getquotaroot/getquota/setquota."""
import os
import sqlite3

import lbtest
from test_imap import ImapBase, USER, PASSWORD

OTHER = "bob@example.com"


def msg(n, tag=b"q"):
    return b"From: a@example.org\r\nSubject: " + tag + b"\r\n\r\n" + b"x" * n + b"\r\n"


class ImapQuotaCmdTest(ImapBase):
    conf = {"auth_failure_delay": "0", "virtual_mailbox_limit": "20480",
            "quota_query": "SELECT quota FROM users WHERE email = '%s'"}

    def setUp(self):
        super().setUp()
        r = self.inst.cli("user", "add", OTHER, stdin=PASSWORD + "\n")
        self.assertEqual(r.rc, 0, r)
        db = os.path.join(self.inst.dir, "letterbox.db")
        con = sqlite3.connect(db)
        con.execute("ALTER TABLE users ADD COLUMN quota varchar(32)")
        # USER: 10 KiB in Courier's form; OTHER: NULL -> virtual_mailbox_limit (20 KiB).
        con.execute("UPDATE users SET quota = '10240S,100C' WHERE email = ?", (USER,))
        con.commit()
        con.close()
        self.start()

    def login(self, user=USER):
        m = self.imaps()
        self.assertEqual(m.login(user, PASSWORD)[0], "OK")
        return m

    def quota(self, m, box="INBOX"):
        typ, data = m.getquotaroot(box)
        self.assertEqual(typ, "OK", data)
        roots, quotas = data
        self.assertEqual(roots, [box.encode() + b' ""'])
        used, limit = quotas[0].decode().split("(STORAGE ")[1].rstrip(")").split()
        return int(used), int(limit)

    def test_getquota_append_overquota_delete(self):
        m = self.login()
        caps = m.capability()[1][0].decode().split()
        for c in ("QUOTA", "QUOTA=RES-STORAGE"):
            self.assertIn(c, caps)
        self.assertNotIn("QUOTA=RES-MESSAGE", caps)  # counts are not enforced
        self.assertEqual(self.quota(m), (0, 10))
        typ, data = m.getquota('""')
        self.assertEqual((typ, data), ("OK", [b'"" (STORAGE 0 10)']))
        self.assertEqual(m.getquota("nosuch")[0], "NO")
        self.assertEqual(m.getquotaroot("NoSuchBox")[0], "NO")
        typ, data = m.setquota('""', "(STORAGE 99999)")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NOPERM]", data[0])
        # Fill: 3 x 3000 fit in 10240, the fourth does not.
        m.create("Folder")
        for i in range(3):
            self.assertEqual(m.append("Folder", None, None, msg(3000))[0], "OK")
        used, limit = self.quota(m, "Folder")
        self.assertEqual(limit, 10)
        self.assertGreaterEqual(used, 9)
        typ, data = m.append("INBOX", None, None, msg(3000))
        self.assertEqual(typ, "NO")
        self.assertIn(b"[OVERQUOTA]", data[0])
        # COPY over the limit too.
        m.select("Folder")
        typ, data = m.copy("1:2", "INBOX")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[OVERQUOTA]", data[0])
        m.close()
        # DELETE gives the folder's bytes back: maildirsize says so and APPEND works again.
        self.assertEqual(m.delete("Folder")[0], "OK")
        self.assertEqual(self.quota(m), (0, 10))
        self.assertEqual(m.append("INBOX", None, None, msg(3000))[0], "OK")
        m.logout()
        # The other user has no quota row value: the config's 20 KiB.
        m = self.login(OTHER)
        self.assertEqual(self.quota(m), (0, 20))
        m.logout()

    def test_delivery_uses_the_per_user_limit(self):
        import smtplib
        smtp = smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=20)
        # 12 KB: over USER's 10 KiB, under OTHER's 20 KiB.
        try:
            smtp.sendmail("a@example.org", [USER, OTHER], msg(12000))
        except smtplib.SMTPException:
            pass
        smtp.quit()
        self.assertEqual(len(lbtest.wait_files(self.inst.maildir(OTHER), 1)), 1)
        self.inst.wait_log("to=<%s>" % USER)
        line = [l for l in self.inst.log().splitlines() if "to=<%s>" % USER in l][0]
        self.assertIn("5.2.3", line)  # larger than the whole (per-user) quota: bounced
        self.assertFalse(os.listdir(os.path.join(self.inst.maildir(USER), "new"))
                         if os.path.isdir(os.path.join(self.inst.maildir(USER), "new")) else [])
