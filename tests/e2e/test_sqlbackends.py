"""MySQL/MariaDB and PostgreSQL directory backends (issue 6), driven through
the admin CLI against real servers started in temporary directories
(dbservers.py): the classic guide's schema with its narrow
users.password varchar(20), rows inserted by hand (a DES crypt password),
lookups, lists, a narrow-column `user add` refused with the ALTER TABLE to
run, injection-shaped addresses, Postfix-style query overrides, the
server stopped (exit 75 within seconds) and restarted (works again), and
`import-postfix` on the classic guide's files.  SMTP/POP3/IMAP-level tests
reuse dbservers.py once those servers exist."""
import os
import pwd
import re
import shutil
import subprocess
import time
import unittest

import dbservers
import lbtest

EX_DATAERR, EX_TEMPFAIL, EX_NOPERM = 65, 75, 77
DB_USER, DB_PASS, DB_NAME = "mail_admin", "mail_admin_password", "mail"
FIXTURE = os.path.join(lbtest.ROOT, "tests", "data", "postfix-classic")


class SqlBackendMixin:
    """The tests; subclasses say which server (server_class) and how to reach it."""
    server_class = None
    password_in_file = True

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.server_class()
        try:
            cls.srv.create_db(DB_NAME)
            cls.srv.create_user(DB_USER, DB_PASS, DB_NAME)
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    # -- per test: the classic tables, fresh, with rows typed by hand ---------
    def setUp(self):
        if self.srv.proc is None:
            self.srv.start()
        for t in ("domains", "forwardings", "users", "transport", "mailbox"):
            self.srv.sql("DROP TABLE IF EXISTS %s" % t, db=DB_NAME)
        for stmt in self.srv.schema:
            self.srv.sql(stmt, db=DB_NAME)
        self.grant()
        self.srv.sql("INSERT INTO domains (domain) VALUES ('example.com')", db=DB_NAME)
        self.srv.sql("INSERT INTO users (email, password) VALUES ('sales@example.com', '%s')"
                     % lbtest.des_crypt("password", "ab"), db=DB_NAME)
        self.srv.sql("INSERT INTO forwardings (source, destination) VALUES"
                     " ('info@example.com', 'sales@example.com')", db=DB_NAME)
        self.srv.sql("INSERT INTO transport (domain, transport) VALUES"
                     " ('relay.example', 'smtp:[192.0.2.1]:2525')", db=DB_NAME)
        self.inst = lbtest.Instance()
        self.addCleanup(self.inst.cleanup)
        self.point_at_server(self.inst)

    def grant(self):
        if self.srv.kind == "pgsql":
            self.srv.sql("GRANT ALL ON ALL TABLES IN SCHEMA public TO %s" % DB_USER, db=DB_NAME)

    def point_at_server(self, inst):
        if self.password_in_file:
            # Like Postfix's 0640 root:postfix *.cf: the mail owner (admin verbs, daemon) reads it.
            pwfile = os.path.join(inst.tmp, "db.pass")
            with open(pwfile, "w") as f:
                f.write(DB_PASS + "\n")
            os.chmod(pwfile, 0o640)
            if os.getuid() == 0:
                os.chown(pwfile, 0, pwd.getpwnam("vmail").pw_gid)
            self.cli_ok("config", "set", "database", self.srv.url(DB_USER, None, DB_NAME), inst=inst)
            self.cli_ok("config", "set", "database_password_file", pwfile, inst=inst)
        else:
            self.cli_ok("config", "set", "database", self.srv.url(DB_USER, DB_PASS, DB_NAME),
                        inst=inst)

    def cli(self, *args, stdin=None, inst=None):
        return (inst or self.inst).run(*args, stdin=stdin)

    def cli_ok(self, *args, stdin=None, inst=None):
        r = self.cli(*args, stdin=stdin, inst=inst)
        self.assertEqual(r.rc, 0, r)
        return r

    def check(self, email, password):
        return self.cli("user", "check", email, stdin=password + "\n")

    # -- lookups ----------------------------------------------------------
    def test_user_check_des_hash(self):
        self.assertEqual(self.check("sales@example.com", "password").rc, 0)
        self.assertEqual(self.check("Sales@EXAMPLE.com", "password").rc, 0)
        r = self.check("sales@example.com", "wrong")
        self.assertEqual(r.rc, EX_NOPERM, r)
        self.assertEqual(self.check("nobody@example.com", "password").rc, EX_NOPERM)

    def test_lists(self):
        self.assertEqual(self.cli_ok("domain", "list").out, "example.com\n")
        self.assertEqual(self.cli_ok("user", "list").out, "sales@example.com\n")
        self.assertEqual(self.cli_ok("user", "list", "example.com").out, "sales@example.com\n")
        self.assertEqual(self.cli_ok("user", "list", "other.example").out, "")
        self.assertEqual(self.cli_ok("forward", "list").out,
                         "info@example.com\tsales@example.com\n")
        self.assertEqual(self.cli_ok("transport", "list").out,
                         "relay.example\tsmtp:[192.0.2.1]:2525\n")

    def test_row_added_by_hand_is_live(self):
        self.assertEqual(self.check("new@example.com", "password").rc, EX_NOPERM)
        self.srv.sql("INSERT INTO users (email, password) VALUES ('New@Example.com', '%s')"
                     % lbtest.des_crypt("password", "ab"), db=DB_NAME)
        self.assertEqual(self.check("new@example.com", "password").rc, 0)
        self.srv.sql("DELETE FROM users WHERE email = 'New@Example.com'", db=DB_NAME)
        self.assertEqual(self.check("new@example.com", "password").rc, EX_NOPERM)

    def test_admin_writes(self):
        self.cli_ok("domain", "add", "second.example")
        self.cli_ok("forward", "add", "@second.example", "sales@example.com")
        self.cli_ok("transport", "set", "second.example", "smtp:[192.0.2.2]")
        r = self.cli("domain", "del", "second.example")
        self.assertEqual(r.rc, EX_DATAERR, r)		# still has a catch-all
        self.cli_ok("forward", "del", "@second.example")
        self.cli_ok("transport", "del", "second.example")
        self.cli_ok("domain", "del", "second.example")
        self.assertEqual(self.cli_ok("domain", "list").out, "example.com\n")
        self.cli_ok("user", "del", "sales@example.com")
        self.assertEqual(self.srv.sql("SELECT count(*) FROM users", db=DB_NAME).strip(), "0")

    # -- the narrow column (issue 6, item 4) --------------------------------
    def test_narrow_password_column(self):
        r = self.cli("user", "add", "new@example.com", stdin="s3cret-pass\n")
        self.assertEqual(r.rc, EX_DATAERR, r)
        self.assertIn("ALTER TABLE users", r.err)
        self.assertIn(self.widen_sql, r.err)
        self.assertEqual(self.srv.sql("SELECT count(*) FROM users WHERE email = 'new@example.com'",
                                      db=DB_NAME).strip(), "0")
        r = self.cli("user", "passwd", "sales@example.com", stdin="s3cret-pass\n")
        self.assertNotEqual(r.rc, 0, r)
        self.assertIn(self.widen_sql, r.err)
        # The old DES hash is intact: nobody was locked out.
        self.assertEqual(self.check("sales@example.com", "password").rc, 0)
        self.srv.sql(self.widen_sql, db=DB_NAME)
        self.cli_ok("user", "add", "new@example.com", stdin="s3cret-pass\n")
        self.assertEqual(self.check("new@example.com", "s3cret-pass").rc, 0)
        self.cli_ok("user", "passwd", "sales@example.com", stdin="n3w-pass\n")
        self.assertEqual(self.check("sales@example.com", "n3w-pass").rc, 0)
        stored = self.srv.sql("SELECT password FROM users WHERE email = 'sales@example.com'",
                              db=DB_NAME).strip()
        self.assertTrue(stored.startswith("$y$"), stored)

    def test_config_check_warns_narrow_column(self):
        r = self.cli("config", "check")
        self.assertIn("users.password", r.err)
        self.assertIn(self.widen_sql, r.err)

    # -- hostile input ------------------------------------------------------
    def test_injection_shaped_address_is_unknown(self):
        for addr in ("x' OR '1'='1@example.com", "\"x' OR '1'='1\"@example.com",
                     "\"x' OR 1=1 -- \"@example.com", "sales@example.com' OR '1'='1"):
            r = self.check(addr, "password")
            self.assertIn(r.rc, (EX_NOPERM, EX_DATAERR), r)
            self.assertNotIn("SQL", r.err)
        # Tables intact.
        self.assertEqual(self.cli_ok("user", "list").out, "sales@example.com\n")

    def test_query_overrides(self):
        """Postfix-style *_query templates against a schema that is not the seed's."""
        self.srv.sql("CREATE TABLE mailbox (username varchar(255) NOT NULL, password"
                     " varchar(255) NOT NULL, maildir varchar(255) NOT NULL, active int NOT NULL,"
                     " PRIMARY KEY (username))", db=DB_NAME)
        self.grant()
        self.srv.sql("INSERT INTO mailbox VALUES ('alice@example.org', '%s', 'example.org/alice/', 1),"
                     " ('bob@example.org', '%s', 'example.org/bob/', 0)"
                     % (lbtest.des_crypt("password", "ab"), lbtest.des_crypt("password", "ab")), db=DB_NAME)
        self.cli_ok("config", "set", "password_query",
                    "SELECT password FROM mailbox WHERE username = '%u@%d' AND active = 1")
        self.assertEqual(self.check("alice@example.org", "password").rc, 0)
        self.assertEqual(self.check("bob@example.org", "password").rc, EX_NOPERM)	# inactive
        self.assertEqual(self.check("sales@example.com", "password").rc, EX_NOPERM)	# not in mailbox
        r = self.check("\"x' OR '1'='1\"@example.org", "password")
        self.assertEqual(r.rc, EX_NOPERM, r)
        self.cli_ok("config", "set", "password_query", "SELECT password FROM mailbox WHERE '%x'")
        r = self.check("alice@example.org", "password")
        self.assertNotEqual(r.rc, 0, r)
        self.assertIn("password_query", r.err)

    # -- outage ---------------------------------------------------------------
    def test_database_down_is_a_temporary_failure(self):
        self.srv.stop()
        try:
            t0 = time.time()
            r = self.check("sales@example.com", "password")
            self.assertEqual(r.rc, EX_TEMPFAIL, r)
            self.assertLess(time.time() - t0, 8)
            r = self.cli("domain", "add", "down.example")
            self.assertEqual(r.rc, EX_TEMPFAIL, r)
        finally:
            self.srv.start()
        self.assertEqual(self.check("sales@example.com", "password").rc, 0)


class MariaDBTest(SqlBackendMixin, unittest.TestCase):
    server_class = dbservers.MariaDB
    password_in_file = True
    widen_sql = "ALTER TABLE users MODIFY password varchar(255) NOT NULL"

    def test_socket_url_and_escapes(self):
        """mysql://USER:PASS@/DB?socket=PATH, the password %XX-escaped in the URL."""
        self.cli_ok("config", "set", "database_password_file", "")
        self.cli_ok("config", "set", "database", "mysql://%s:%s@/%s?socket=%s"
                    % (DB_USER, DB_PASS.replace("_", "%5F"), DB_NAME, self.srv.socket))
        self.assertEqual(self.check("sales@example.com", "password").rc, 0)
        self.cli_ok("config", "set", "database", "mysql://%s:wrong@/%s?socket=%s"
                    % (DB_USER, DB_NAME, self.srv.socket))
        r = self.check("sales@example.com", "password")
        self.assertEqual(r.rc, 69, r)		# refused login: unavailable, not "retry"
        self.assertIn("Access denied", r.err)
        self.assertNotIn("wrong", r.err)	# no password in messages
        r = self.cli("config", "set", "database", "mysql://%s@/%s?sock=x" % (DB_USER, DB_NAME))
        r = self.check("sales@example.com", "password")
        self.assertEqual(r.rc, 69, r)
        self.assertIn("socket=PATH", r.err)

    def test_import_postfix(self):
        """The classic guide's Postfix/Courier/PAM files -> a config that serves the same users."""
        src = os.path.join(self.inst.tmp, "etc")
        shutil.copytree(FIXTURE, src)
        # The fixture says 127.0.0.1 (port 3306); our server listens elsewhere.
        for fn in os.listdir(src):
            if fn.endswith(".cf") and fn != "main.cf":
                p = os.path.join(src, fn)
                with open(p) as f:
                    text = f.read()
                with open(p, "w") as f:
                    f.write(re.sub(r"(?m)^hosts = .*$", "hosts = 127.0.0.1:%d" % self.srv.port, text))
        out = os.path.join(self.inst.tmp, "imported", "letterbox.conf")
        os.makedirs(os.path.dirname(out))
        os.chmod(os.path.dirname(out), 0o755)
        r = self.inst.run("import-postfix", "--postfix-dir", src, "--courier-dir",
                          os.path.join(src, "courier"), "--pam-dir", os.path.join(src, "pam.d"),
                          out, conf=False)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("not carried over", r.out)
        self.assertIn("virtual_mailbox_limit_maps", r.out)
        with open(out) as f:
            conf = f.read()
        self.assertIn("database = mysql://mail_admin@127.0.0.1:%d/mail\n" % self.srv.port, conf)
        self.assertIn("virtual_mailbox_base = /home/vmail\n", conf)
        self.assertIn("imap_namespace = courier\n", conf)	# authmysqlrc: Courier served it
        self.assertIn("myhostname = server1.example.com\n", conf)
        self.assertIn("smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated,"
                      " reject_unauth_destination\n", conf)
        self.assertNotIn(DB_PASS, conf)		# the secret lives in its own 0640 file
        self.assertNotIn("_query =", conf)	# the classic queries are the built-in lookups
        m = re.search(r"(?m)^database_password_file = (.*)$", conf)
        self.assertTrue(m, conf)
        self.assertEqual(os.stat(m.group(1)).st_mode & 0o777, 0o640)
        r = subprocess.run([lbtest.BIN, "-c", out, "config", "check"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([lbtest.BIN, "-c", out, "user", "check", "sales@example.com"],
                           input="password\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([lbtest.BIN, "-c", out, "forward", "list"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.stdout, "info@example.com\tsales@example.com\n", r.stderr)
        # Refuses to overwrite.
        r = self.inst.run("import-postfix", "--postfix-dir", src, out, conf=False)
        self.assertNotEqual(r.rc, 0, r)

    def test_import_postfix_custom_queries(self):
        """A non-classic query is carried over as an override and works."""
        src = os.path.join(self.inst.tmp, "etc")
        os.makedirs(src)
        with open(os.path.join(src, "main.cf"), "w") as f:
            f.write("myhostname = mx.example.org\nvirtual_mailbox_base = /srv/mail\n"
                    "virtual_mailbox_maps = mysql:/etc/postfix/mb.cf\n")
        with open(os.path.join(src, "mb.cf"), "w") as f:
            f.write("user = %s\npassword = %s\ndbname = %s\nhosts = inet:127.0.0.1:%d\n"
                    "query = SELECT CONCAT(email, '/') FROM users WHERE email='%%s'\n"
                    % (DB_USER, DB_PASS, DB_NAME, self.srv.port))
        out = os.path.join(self.inst.tmp, "custom.conf")
        r = self.inst.run("import-postfix", "--postfix-dir", src, "--courier-dir", "/nonexistent",
                          "--pam-dir", "/nonexistent", out, conf=False)
        self.assertEqual(r.rc, 0, r)
        with open(out) as f:
            conf = f.read()
        self.assertIn("mailbox_query = SELECT CONCAT(email, '/') FROM users WHERE email='%s'\n",
                      conf)
        self.assertNotIn("imap_namespace", conf)
        r = subprocess.run([lbtest.BIN, "-c", out, "config", "check"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)


class PostgreSQLTest(SqlBackendMixin, unittest.TestCase):
    server_class = dbservers.PostgreSQL
    password_in_file = False
    widen_sql = "ALTER TABLE users ALTER COLUMN password TYPE varchar(255)"


if __name__ == "__main__":
    unittest.main()
