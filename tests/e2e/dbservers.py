"""Real SQL servers for end-to-end tests, in temporary directories.

    db = MariaDB()             # mariadb-install-db + mariadbd on 127.0.0.1:PORT and a socket
    db.sql("CREATE DATABASE mail")
    db.create_user("mail_admin", "secret", "mail")
    url = db.url("mail_admin", "secret", "mail")     # mysql://mail_admin:secret@127.0.0.1:PORT/mail
    db.stop(); db.start()      # an outage: the data directory survives
    db.cleanup()               # stop and remove everything

    pg = PostgreSQL()          # initdb + postgres (as the `postgres` user when we are root)

Both start in a second or two.  have_mariadb() / have_postgresql() say
whether the binaries are installed (tests skip otherwise).  Nothing here
knows about letterbox; SMTP/POP3/IMAP tests reuse it as is.
"""
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

CLASSIC_SCHEMA_MYSQL = [
    "CREATE TABLE domains (domain varchar(50) NOT NULL, PRIMARY KEY (domain))",
    "CREATE TABLE forwardings (source varchar(80) NOT NULL, destination TEXT NOT NULL,"
    " PRIMARY KEY (source))",
    "CREATE TABLE users (email varchar(80) NOT NULL, password varchar(20) NOT NULL,"
    " PRIMARY KEY (email))",
    "CREATE TABLE transport (domain varchar(128) NOT NULL default '',"
    " transport varchar(128) NOT NULL default '', UNIQUE KEY domain (domain))",
]
# PostgreSQL has no "UNIQUE KEY name (col)": the same constraint, its syntax.
CLASSIC_SCHEMA_PGSQL = CLASSIC_SCHEMA_MYSQL[:3] + [
    "CREATE TABLE transport (domain varchar(128) NOT NULL default '',"
    " transport varchar(128) NOT NULL default '', UNIQUE (domain))",
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _wait(pred, timeout, what, proc=None, log=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    tail = ""
    if log and os.path.exists(log):
        with open(log, errors="replace") as f:
            tail = f.read()[-3000:]
    raise RuntimeError("%s did not come up:\n%s" % (what, tail))


def _port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def have_mariadb():
    return all(shutil.which(b) for b in ("mariadb-install-db", "mariadbd", "mariadb"))


def _pg_bindir():
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    return None


def have_postgresql():
    return _pg_bindir() is not None and shutil.which("psql") is not None


class MariaDB:
    kind = "mysql"
    schema = CLASSIC_SCHEMA_MYSQL

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="lbtest-mariadb-")
        os.chmod(self.tmp, 0o755)
        self.datadir = os.path.join(self.tmp, "data")
        self.socket = os.path.join(self.tmp, "mysqld.sock")
        self.log = os.path.join(self.tmp, "mariadbd.log")
        self.port = free_port()
        self.proc = None
        r = subprocess.run(["mariadb-install-db", "--no-defaults", "--datadir=" + self.datadir,
                            "--auth-root-authentication-method=normal", "--skip-test-db",
                            "--user=" + pwd.getpwuid(os.getuid()).pw_name],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("mariadb-install-db failed:\n" + r.stdout + r.stderr)
        self.start()

    def start(self):
        args = ["mariadbd", "--no-defaults", "--datadir=" + self.datadir,
                "--socket=" + self.socket, "--port=%d" % self.port, "--bind-address=127.0.0.1",
                "--skip-networking=0", "--pid-file=" + os.path.join(self.tmp, "mariadbd.pid"),
                "--log-error=" + self.log, "--innodb-buffer-pool-size=16M", "--skip-log-bin",
                "--innodb-log-file-size=8M", "--skip-name-resolve"]
        if os.getuid() == 0:
            args.append("--user=root")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(lambda: os.path.exists(self.socket) and _port_open(self.port), 30, "mariadbd",
              self.proc, self.log)

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def sql(self, stmt, db=None, check=True):
        """Run SQL as root over the socket; returns the tab-separated output (no headers)."""
        cmd = ["mariadb", "--no-defaults", "-S", self.socket, "-uroot", "-N", "-B", "-e", stmt]
        if db:
            cmd.append(db)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if check and r.returncode != 0:
            raise RuntimeError("SQL failed: %s\n%s" % (stmt, r.stderr))
        return r.stdout

    def create_db(self, name):
        self.sql("CREATE DATABASE %s" % name)

    def create_user(self, user, password, db):
        for host in ("%", "localhost"):
            self.sql("CREATE USER '%s'@'%s' IDENTIFIED BY '%s'" % (user, host, password))
            self.sql("GRANT ALL ON %s.* TO '%s'@'%s'" % (db, user, host))

    def url(self, user, password, db):
        auth = user + (":" + password if password is not None else "") + "@"
        return "mysql://%s127.0.0.1:%d/%s" % (auth, self.port, db)

    def cleanup(self):
        self.stop()
        if os.environ.get("LBTEST_KEEP"):
            print("kept", self.tmp)
            return
        shutil.rmtree(self.tmp, ignore_errors=True)


class PostgreSQL:
    kind = "pgsql"
    schema = CLASSIC_SCHEMA_PGSQL

    def __init__(self):
        self.bindir = _pg_bindir()
        self.tmp = tempfile.mkdtemp(prefix="lbtest-pg-")
        os.chmod(self.tmp, 0o755)
        self.datadir = os.path.join(self.tmp, "data")
        self.log = os.path.join(self.tmp, "postgres.log")
        self.port = free_port()
        self.proc = None
        # initdb and postgres refuse to run as root: use the postgres system user
        # then, as our direct child (so signals reach the postmaster itself).
        self.runas = {}
        if os.getuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                pw = pwd.getpwnam("nobody")
            os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
            self.runas = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        r = subprocess.run([os.path.join(self.bindir, "initdb"), "-D", self.datadir,
                                         "-U", "postgres", "--auth-local=trust",
                                         "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8",
                                         "--no-locale"],
                           capture_output=True, text=True, timeout=120, cwd=self.tmp,
                           **self.runas)
        if r.returncode != 0:
            raise RuntimeError("initdb failed:\n" + r.stdout + r.stderr)
        self.start()

    @property
    def socket(self):
        return os.path.join(self.tmp, ".s.PGSQL.%d" % self.port)

    def start(self):
        logf = open(self.log, "a")
        self.proc = subprocess.Popen(
            [os.path.join(self.bindir, "postgres"), "-D", self.datadir,
             "-k", self.tmp, "-p", str(self.port), "-h", "127.0.0.1",
             "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "shared_buffers=16MB"],
            stdout=logf, stderr=subprocess.STDOUT, cwd=self.tmp, **self.runas)
        logf.close()
        _wait(lambda: os.path.exists(self.socket) and _port_open(self.port)
              and self._ready(), 30, "postgres", self.proc, self.log)

    def _ready(self):
        r = subprocess.run(["psql", "-h", self.tmp, "-p", str(self.port), "-U", "postgres",
                            "-d", "postgres", "-Atc", "SELECT 1"],
                           capture_output=True, text=True, timeout=10)
        return r.returncode == 0

    def stop(self, sig=signal.SIGINT):
        """SIGINT is PostgreSQL's fast shutdown: sessions are cut, as when a server dies."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def sql(self, stmt, db="postgres", check=True):
        r = subprocess.run(["psql", "-h", self.tmp, "-p", str(self.port), "-U", "postgres",
                            "-d", db, "-v", "ON_ERROR_STOP=1", "-AtF", "\t", "-c", stmt],
                           capture_output=True, text=True, timeout=30)
        if check and r.returncode != 0:
            raise RuntimeError("SQL failed: %s\n%s" % (stmt, r.stderr))
        return r.stdout

    def create_db(self, name):
        self.sql("CREATE DATABASE %s" % name)

    def create_user(self, user, password, db):
        self.sql("CREATE USER %s PASSWORD '%s'" % (user, password))
        self.sql("ALTER DATABASE %s OWNER TO %s" % (db, user))
        self.sql("GRANT ALL ON SCHEMA public TO %s" % user, db=db)

    def url(self, user, password, db):
        auth = user + (":" + password if password is not None else "") + "@"
        return "postgresql://%s127.0.0.1:%d/%s" % (auth, self.port, db)

    def cleanup(self):
        self.stop()
        if os.environ.get("LBTEST_KEEP"):
            print("kept", self.tmp)
            return
        shutil.rmtree(self.tmp, ignore_errors=True)
