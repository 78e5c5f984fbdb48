"""End-to-end test harness: a real letterbox instance in a temporary directory.

    inst = Instance()                 # letterbox init TMP --port-base N
    inst.cli("domain", "add", "example.com")
    inst.start()                      # letterbox serve, waits for the listeners
    ... talk to inst.port("smtp") with smtplib ...
    inst.stop()                       # SIGTERM; fails on sanitizer reports

Tests are unittest.TestCase classes in tests/e2e/test_*.py; run.py runs them.
LETTERBOX_BIN names the binary (the runner sets it to build/ or build-asan/).
"""
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("LETTERBOX_BIN", os.path.join(ROOT, "build", "letterbox"))
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer")
PORTS = {"smtp": 25, "submission": 587, "submissions": 465, "imap": 143, "imaps": 993,
         "pop3": 110, "pop3s": 995}


# Port bases this process holds.  Each is claimed by binding an abstract Unix
# socket named after it: the abstract namespace belongs to the network
# namespace, so every test run that can share a port shares the claims too --
# two `make test` runs at once, a developer's run, and a CI run in a chroot
# (whose /tmp is its own).  The daemon binds with SO_REUSEPORT, so a clash
# would not fail, it would share the port.
_port_locks = {}


def _claim(base):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind("\0letterbox-test-port-%d" % base)
    except OSError:
        s.close()
        return None
    return s


def free_port_base():
    """A base N such that N+25 .. N+995 are all free on 127.0.0.1, claimed for
    this process until release_port_base(N)."""
    for _ in range(400):
        # below the kernel's ephemeral range (32768+), so client sockets never take them
        base = 2000 + (int.from_bytes(os.urandom(2), "big") % 270) * 100
        if base in _port_locks:
            continue
        claim = _claim(base)
        if claim is None:
            continue
        ok = True
        for p in PORTS.values():
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", base + p))
            except OSError:
                ok = False
            finally:
                s.close()
            if not ok:
                break
        if ok:
            _port_locks[base] = claim
            return base
        claim.close()
    raise RuntimeError("no free port range")


def release_port_base(base):
    claim = _port_locks.pop(base, None)
    if claim is not None:
        claim.close()


def wait_files(path, n, timeout=15, subdirs=("new", "cur")):
    """Wait until the Maildir at path holds n messages in subdirs; returns them sorted
    (fewer when the timeout passed, so a test can also assert that nothing came)."""
    deadline = time.time() + timeout
    files = []
    while time.time() < deadline:
        # a reader (IMAP's scan) may rename new/X to cur/X:2, between the two globs:
        # one message is counted once, by its base name
        seen = {}
        for d in subdirs:
            for f in glob.glob(os.path.join(path, d, "*")):
                seen[os.path.basename(f).split(":", 1)[0]] = f
        files = sorted(seen.values())
        if len(files) >= n:
            return files
        time.sleep(0.05)
    return files


def wait_until(cond, timeout=15, step=0.05):
    """Poll cond() until it is true or the deadline passes; returns its last value."""
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v or time.time() >= deadline:
            return v
        time.sleep(step)


def queue_empty(inst, timeout=15):
    """Wait until the instance's spool queue is empty; True when it is."""
    q = os.path.join(inst.dir, "spool", "queue")
    return wait_until(lambda: not os.listdir(q), timeout)


def read_msg(path):
    """A message file as POP3/IMAP serve it: Maildir files hold LF line ends (as
    Postfix, Courier and Dovecot write them); each LF not after a CR becomes CRLF."""
    with open(path, "rb") as f:
        return re.sub(rb"(?<!\r)\n", b"\r\n", f.read())


def raw_session(port, data, timeout=10, banner_first=False, tls_ctx=None, server_hostname=None):
    """Send data in one write (pipelining; after the banner line with banner_first) and
    return everything the server said until it closed, as text.  tls_ctx wraps the
    socket first (implicit TLS)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if tls_ctx is not None:
        s = tls_ctx.wrap_socket(s, server_hostname=server_hostname)
    out = b""
    while banner_first and b"\r\n" not in out:
        chunk = s.recv(4096)
        if not chunk:
            break
        out += chunk
    s.sendall(data)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return out.decode(errors="replace")


# crypt('password', 'ab') with traditional DES (as MySQL's ENCRYPT() wrote it); fixed
# so the tests do not need Python's deprecated crypt module.
DES_PASSWORD = "abJnggxhB/yWI"


def des_crypt(password, salt):
    """DES crypt via libcrypt, when Python still has it; else the fixed value."""
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import crypt
        return crypt.crypt(password, salt)
    except ImportError:
        assert (password, salt) == ("password", "ab")
        return DES_PASSWORD


class CliResult:
    def __init__(self, p):
        self.rc = p.returncode
        self.out = p.stdout
        self.err = p.stderr

    def __repr__(self):
        return "rc=%d out=%r err=%r" % (self.rc, self.out, self.err)


def sanitizer_report(text):
    return any(m in text for m in SANITIZER_MARKS)


class Instance:
    def __init__(self, hostname="mail.example.test", init=True):
        # The instance dir must be traversable by the mail owner (vmail) when run as root.
        self.tmp = tempfile.mkdtemp(prefix="lbtest-")
        os.chmod(self.tmp, 0o755)
        self.dir = os.path.join(self.tmp, "inst")
        self.conf = os.path.join(self.dir, "letterbox.conf")
        self.base = free_port_base()
        self.proc = None
        self.logpath = os.path.join(self.tmp, "serve.log")
        self.logfile = None
        if init:
            r = self.run("init", self.dir, "--hostname", hostname, "--port-base", str(self.base),
                         conf=False)
            if r.rc != 0:
                raise RuntimeError("init failed: %r" % r)

    def port(self, service):
        return self.base + PORTS[service]

    def run(self, *args, stdin=None, conf=True, env=None, timeout=60):
        cmd = [BIN] + (["-c", self.conf] if conf else []) + list(args)
        e = dict(os.environ)
        if env:
            e.update(env)
        p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout, env=e)
        if sanitizer_report(p.stderr):
            raise AssertionError("sanitizer report from %s:\n%s" % (" ".join(args), p.stderr))
        return CliResult(p)

    cli = run

    def start(self, wait_for=("smtp",), extra=()):
        self.logfile = open(self.logpath, "a")
        self.proc = subprocess.Popen([BIN, "-c", self.conf, "serve"] + list(extra),
                                     stdout=self.logfile, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        for svc in wait_for:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError("serve exited %d:\n%s" % (self.proc.returncode, self.log()))
                try:
                    socket.create_connection(("127.0.0.1", self.port(svc)), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise RuntimeError("serve did not listen on %s:\n%s" % (svc, self.log()))
                    time.sleep(0.05)
        return self.proc

    def log(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, text, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.log():
                return True
            time.sleep(0.05)
        return False

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stop the daemon; returns its exit code.  Raises on sanitizer reports."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("serve did not stop within %ds:\n%s" % (timeout, self.log()[-4000:]))
        rc = self.proc.returncode
        self.proc = None
        self.logfile.close()
        if sanitizer_report(self.log()):
            raise AssertionError("sanitizer report in serve log:\n" + self.log()[-8000:])
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        if self.logfile:
            self.logfile.close()

    def chown_vmail(self):
        """Run as root, give vmail/ to the mail owner (the daemon runs as it)
        after a test wrote Maildir files itself."""
        if os.geteuid() != 0:
            return
        import pwd
        pw = pwd.getpwnam(self.cli("config", "get", "mail_owner").out.strip())
        for root, dirs, files in os.walk(os.path.join(self.dir, "vmail")):
            os.chown(root, pw.pw_uid, pw.pw_gid)
            for name in files:
                os.chown(os.path.join(root, name), pw.pw_uid, pw.pw_gid)

    def maildir(self, addr):
        local, domain = addr.rsplit("@", 1)
        return os.path.join(self.dir, "vmail", domain.lower(), local.lower())

    def cleanup(self):
        self.kill()
        release_port_base(self.base)
        if os.environ.get("LBTEST_KEEP"):
            print("kept", self.tmp)
            return
        shutil.rmtree(self.tmp, ignore_errors=True)


class InstanceTest(unittest.TestCase):
    """A TestCase with a fresh instance per test in self.inst (not started)."""
    hostname = "mail.example.test"

    def setUp(self):
        self.inst = Instance(self.hostname)
        self.addCleanup(self.inst.cleanup)

    def stop_clean(self):
        rc = self.inst.stop()
        self.assertEqual(rc, 0, "serve exit status; log:\n" + self.inst.log()[-4000:])
