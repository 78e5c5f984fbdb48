"""Admin verbs (issue 2, items 4 and 6): domain / user / forward / transport
add, del, list; `user check` against hashes letterbox wrote and hashes typed
in by hand (DES crypt as MySQL's ENCRYPT() made it); bad input gives one
"letterbox: " line, a sysexits code, and leaves the database and files as
they were."""
import os
import pwd
import sqlite3
import subprocess
import unittest

import lbtest

EX_USAGE, EX_DATAERR, EX_NOUSER, EX_UNAVAILABLE, EX_TEMPFAIL, EX_NOPERM, EX_CONFIG = \
    64, 65, 67, 69, 75, 77, 78


class AdminTest(lbtest.InstanceTest):
    def setUp(self):
        super().setUp()
        self.db = os.path.join(self.inst.dir, "letterbox.db")

    # -- helpers ---------------------------------------------------------
    def ok(self, *args, stdin=None):
        r = self.inst.cli(*args, stdin=stdin)
        self.assertEqual(r.rc, 0, "%s: %r" % (" ".join(args), r))
        return r

    def fails(self, code, *args, stdin=None):
        r = self.inst.cli(*args, stdin=stdin)
        self.assertEqual(r.rc, code, "%s: %r" % (" ".join(args), r))
        lines = r.err.splitlines()
        self.assertEqual(len(lines), 1, "want one error line: %r" % r)
        self.assertTrue(lines[0].startswith("letterbox: "), repr(r))
        self.assertEqual(r.out, "", repr(r))
        return r

    def sql(self, query, *params):
        con = sqlite3.connect(self.db)
        try:
            rows = con.execute(query, params).fetchall()
            con.commit()
        finally:
            con.close()
        return rows

    def dump(self):
        """The database's content and the instance's files (name, size, mode, owner)."""
        con = sqlite3.connect(self.db)
        try:
            text = "\n".join(con.iterdump())
        finally:
            con.close()
        files = []
        for root, dirs, names in os.walk(self.inst.dir):
            for n in sorted(dirs + names):
                p = os.path.join(root, n)
                if n.startswith("letterbox.db"):
                    continue  # -wal/-shm come and go with connections
                st = os.lstat(p)
                files.append((os.path.relpath(p, self.inst.dir), st.st_size, st.st_mode,
                              st.st_uid, st.st_gid))
        return text, sorted(files)

    def assert_unchanged(self, code, *args, stdin=None):
        before = self.dump()
        self.fails(code, *args, stdin=stdin)
        self.assertEqual(self.dump(), before, "%s changed something" % " ".join(args))

    def lines(self, *args):
        return self.ok(*args).out.splitlines()


class AcceptanceTest(AdminTest):
    def test_domain_user_list_hash(self):
        self.ok("domain", "add", "example.com")
        self.ok("user", "add", "sales@example.com", stdin="secret\n")
        self.assertEqual(self.lines("user", "list"), ["sales@example.com"])
        self.assertEqual(self.lines("domain", "list"), ["example.com"])
        (h,), = self.sql("SELECT password FROM users WHERE email = ?", "sales@example.com")
        self.assertTrue(h.startswith("$y$"), h)
        self.ok("user", "check", "sales@example.com", stdin="secret\n")
        self.fails(EX_NOPERM, "user", "check", "sales@example.com", stdin="Secret\n")
        # passwd replaces the hash
        self.ok("user", "passwd", "SALES@Example.com", stdin="other\n")
        self.ok("user", "check", "sales@example.com", stdin="other\n")
        self.fails(EX_NOPERM, "user", "check", "sales@example.com", stdin="secret\n")
        self.fails(EX_NOUSER, "user", "passwd", "nobody@example.com", stdin="x\n")

    def test_des_hash_inserted_by_hand(self):
        self.ok("domain", "add", "example.com")
        h = lbtest.des_crypt("password", "ab")
        self.assertEqual(len(h), 13)
        self.sql("INSERT INTO users (email, password) VALUES (?, ?)", "Old@Example.COM", h)
        self.ok("user", "check", "old@example.com", stdin="password\n")
        self.ok("user", "check", "OLD@example.com", stdin="password\n")
        self.fails(EX_NOPERM, "user", "check", "old@example.com", stdin="wrong\n")
        self.fails(EX_NOPERM, "user", "check", "old@example.com", stdin="\n")
        self.fails(EX_NOPERM, "user", "check", "nobody@example.com", stdin="password\n")
        self.assertIn("Old@Example.COM", self.lines("user", "list"))
        # The same from sqlite3's own CLI, as an admin following the classic guide would.
        subprocess.run(["sqlite3", self.db,
                        "INSERT INTO users (email, password) VALUES ('cli@example.com', '%s')" % h],
                       check=True)
        self.ok("user", "check", "cli@example.com", stdin="password\n")

    def test_user_check_modern_hashes_by_hand(self):
        self.ok("domain", "add", "example.com")
        try:
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import crypt
        except ImportError:
            self.skipTest("no crypt module")
        for i, salt in enumerate(("$1$saltsalt", "$5$saltsalt", "$6$saltsalt")):
            self.sql("INSERT INTO users VALUES (?, ?)", "u%d@example.com" % i,
                     crypt.crypt("pw%d" % i, salt))
            self.ok("user", "check", "u%d@example.com" % i, stdin="pw%d\n" % i)
            self.fails(EX_NOPERM, "user", "check", "u%d@example.com" % i, stdin="pw\n")


class BadInputTest(AdminTest):
    def setUp(self):
        super().setUp()
        self.ok("domain", "add", "example.com")
        self.ok("user", "add", "sales@example.com", stdin="secret\n")
        self.ok("forward", "add", "info@example.com", "sales@example.com")
        self.ok("transport", "set", "example.com", "virtual:")

    def test_acceptance_bad_input(self):
        self.assert_unchanged(EX_DATAERR, "user", "add", 'x"@', stdin="pw\n")
        self.assert_unchanged(EX_DATAERR, "domain", "add", "../etc")
        self.assert_unchanged(EX_DATAERR, "forward", "add", "a@b", "")

    def test_unknown_config_key(self):
        with open(self.inst.conf, "a") as f:
            f.write("no_such_key = 1\n")
        for args in (("domain", "add", "new.example"), ("domain", "list"),
                     ("user", "add", "new@example.com"), ("user", "check", "sales@example.com")):
            before = self.dump()
            r = self.fails(EX_CONFIG, *args, stdin="pw\n")
            self.assertIn("no_such_key", r.err)
            self.assertEqual(self.dump(), before)

    def test_more_bad_input(self):
        cases = [
            (EX_DATAERR, ("domain", "add", "")),
            (EX_DATAERR, ("domain", "add", "example.com")),          # exists
            (EX_DATAERR, ("domain", "add", "EXAMPLE.COM")),
            (EX_DATAERR, ("domain", "add", "a b.example")),
            (EX_DATAERR, ("domain", "add", "x'; DROP TABLE users; --")),
            (EX_DATAERR, ("domain", "del", "example.com")),          # users remain
            (EX_NOUSER, ("domain", "del", "other.example")),
            (EX_DATAERR, ("user", "add", "sales@example.com")),       # exists
            (EX_DATAERR, ("user", "add", "Sales@EXAMPLE.com")),
            (EX_DATAERR, ("user", "add", "bob@not-hosted.example")),
            (EX_DATAERR, ("user", "add", '"../../etc"@example.com')),
            (EX_DATAERR, ("user", "add", "x' OR '1'='1@example.com")),
            (EX_DATAERR, ("user", "add", "@example.com")),
            (EX_NOUSER, ("user", "del", "nobody@example.com")),
            (EX_DATAERR, ("user", "list", "bad domain")),
            (EX_DATAERR, ("forward", "add", "info@example.com", "x@y.org")),   # exists
            (EX_DATAERR, ("forward", "add", "x@not-hosted.example", "x@y.org")),
            (EX_DATAERR, ("forward", "add", "@not-hosted.example", "x@y.org")),
            (EX_DATAERR, ("forward", "add", "new@example.com", "x@y.org,notanaddress")),
            (EX_DATAERR, ("forward", "add", "new@example.com", " , ")),
            (EX_NOUSER, ("forward", "del", "nobody@example.com")),
            (EX_DATAERR, ("transport", "set", "example.com", "lmtp:unix:/run/lmtp")),
            (EX_DATAERR, ("transport", "set", "example.com", "smtp:[mx.example.net]:99999")),
            (EX_DATAERR, ("transport", "set", "example.com", "nonsense")),
            (EX_DATAERR, ("transport", "set", "../x", "virtual:")),
            (EX_NOUSER, ("transport", "del", "other.example")),
            (EX_USAGE, ("domain",)),
            (EX_USAGE, ("domain", "frob", "x")),
            (EX_USAGE, ("user", "add")),
            (EX_USAGE, ("forward", "add", "a@example.com")),
            (EX_USAGE, ("transport", "set", "example.com")),
        ]
        for code, args in cases:
            with self.subTest(args=args):
                self.assert_unchanged(code, *args, stdin="pw\n")

    def test_password_input(self):
        self.assert_unchanged(EX_DATAERR, "user", "add", "new@example.com", stdin="")
        self.assert_unchanged(EX_DATAERR, "user", "add", "new@example.com", stdin="\n")
        self.assert_unchanged(EX_DATAERR, "user", "add", "new@example.com", stdin="x" * 5000 + "\n")
        self.assert_unchanged(EX_DATAERR, "user", "passwd", "sales@example.com", stdin="")
        # CRLF from a Windows script is one line
        self.ok("user", "add", "crlf@example.com", stdin="pw\r\n")
        self.ok("user", "check", "crlf@example.com", stdin="pw\n")

    def test_missing_database(self):
        os.unlink(self.db)
        r = self.fails(EX_UNAVAILABLE, "domain", "list")
        self.assertIn("letterbox.db", r.err)
        self.assertFalse(os.path.exists(self.db), "a missing database must not be created")

    def test_locked_database(self):
        con = sqlite3.connect(self.db, isolation_level=None)
        try:
            con.execute("BEGIN EXCLUSIVE")
            con.execute("INSERT INTO domains VALUES ('locked.example')")
            self.fails(EX_TEMPFAIL, "domain", "add", "new.example")
            con.execute("ROLLBACK")
        finally:
            con.close()
        self.assertEqual(self.lines("domain", "list"), ["example.com"])


class VerbsTest(AdminTest):
    def test_domains(self):
        self.ok("domain", "add", "Example.COM")
        self.ok("domain", "add", "bücher.example")
        self.assertEqual(self.lines("domain", "list"), ["example.com", "xn--bcher-kva.example"])
        self.ok("domain", "del", "XN--BCHER-KVA.example")
        self.assertEqual(self.lines("domain", "list"), ["example.com"])

    def test_users(self):
        self.ok("domain", "add", "example.com")
        self.ok("domain", "add", "example.org")
        self.ok("user", "add", "B@Example.com", stdin="pw\n")
        self.ok("user", "add", "a@example.com", stdin="pw\n")
        self.ok("user", "add", "c@example.org", stdin="pw\n")
        self.ok("user", "add", "josé@example.org", stdin="pw\n")
        self.assertEqual(self.lines("user", "list"),
                         ["a@example.com", "b@example.com", "c@example.org", "josé@example.org"])
        self.assertEqual(self.lines("user", "list", "example.com"), ["a@example.com", "b@example.com"])
        self.assertEqual(self.lines("user", "list", "nothing.example"), [])
        self.ok("user", "check", "josé@example.org", stdin="pw\n")
        self.ok("user", "del", "B@EXAMPLE.COM")
        self.assertEqual(self.lines("user", "list", "example.com"), ["a@example.com"])
        # A domain with users cannot go; without them it can.
        r = self.fails(EX_DATAERR, "domain", "del", "example.org")
        self.assertIn("2 user", r.err)
        self.ok("user", "del", "c@example.org")
        self.ok("user", "del", "josé@example.org")
        self.ok("domain", "del", "example.org")

    def test_forwards(self):
        self.ok("domain", "add", "example.com")
        self.ok("forward", "add", "Info@example.com", "a@x.org, B@Y.ORG")
        self.ok("forward", "add", "team@example.com", "a@x.org", "b@x.org")
        self.ok("forward", "add", "@example.com", "info@example.com")
        self.assertEqual(self.lines("forward", "list"),
                         ["@example.com\tinfo@example.com",
                          "info@example.com\ta@x.org,B@y.org",
                          "team@example.com\ta@x.org,b@x.org"])
        self.ok("forward", "del", "INFO@example.com")
        self.ok("forward", "del", "@EXAMPLE.com")
        self.assertEqual(self.lines("forward", "list"), ["team@example.com\ta@x.org,b@x.org"])

    def test_transports(self):
        self.ok("transport", "set", "example.com", "smtp:[mx.example.net]:2525")
        self.ok("transport", "set", "relay.example", "smtp:mx.example.net")
        self.ok("transport", "set", "example.com", "virtual:")      # replaces
        self.ok("transport", "set", "gone.example", "error:5.1.1 no such domain")
        self.ok("transport", "set", "ip.example", "relay:[192.0.2.1]:25")
        self.assertEqual(self.lines("transport", "list"),
                         ["example.com\tvirtual:",
                          "gone.example\terror:5.1.1 no such domain",
                          "ip.example\trelay:[192.0.2.1]:25",
                          "relay.example\tsmtp:mx.example.net"])
        self.ok("transport", "del", "gone.example")
        self.assertEqual(len(self.lines("transport", "list")), 3)

    def test_rows_by_hand_are_seen(self):
        self.sql("INSERT INTO domains VALUES ('Hand.Example')")
        self.sql("INSERT INTO forwardings VALUES ('@HAND.example', 'x@y.org')")
        self.sql("INSERT INTO transport VALUES ('hand.example', 'virtual:')")
        self.fails(EX_DATAERR, "domain", "add", "hand.example")
        self.fails(EX_DATAERR, "forward", "add", "@hand.example", "z@y.org")
        self.ok("user", "add", "u@hand.example", stdin="pw\n")
        self.assertEqual(self.lines("user", "list", "HAND.example"), ["u@hand.example"])
        self.ok("forward", "del", "@hand.example")
        self.ok("user", "del", "u@hand.example")
        self.ok("domain", "del", "hand.example")
        self.assertEqual(self.lines("domain", "list"), [])

    def test_files_stay_owned_by_mail_owner(self):
        if os.geteuid() != 0:
            self.skipTest("not root")
        pw = pwd.getpwnam(self.inst.cli("config", "get", "mail_owner").out.strip())
        self.ok("domain", "add", "example.com")
        self.ok("user", "add", "a@example.com", stdin="pw\n")
        for n in os.listdir(self.inst.dir):
            if n.startswith("letterbox.db"):
                s = os.stat(os.path.join(self.inst.dir, n))
                self.assertEqual((s.st_uid, s.st_gid), (pw.pw_uid, pw.pw_gid), n)
                self.assertEqual(s.st_mode & 0o777, 0o600, n)


if __name__ == "__main__":
    unittest.main()
