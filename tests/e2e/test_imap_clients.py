"""Real IMAP clients against letterbox (issue 13, "Real clients"): mbsync (isync)
syncs INBOX and a folder both ways, curl lists and fetches over imap:// and
imaps://, mutt in tmux reads a message over imaps, fetchmail fetches with --keep
and --nokeep.  Every client is a subprocess with a timeout; tmux runs on a
socket of its own and its server is killed by its PID.

The client helpers take (host, port, user, password, CA file, work dir) and know
nothing of the instance, so the same configurations can be pointed at another
server: they were checked against Dovecot 2.3 that way.  The instance is made
with --hostname localhost so that the clients verify its certificate by name
(isync 1.4 refuses a name mismatch even for a certificate it was given)."""
import glob
import os
import pty
import re
import select
import signal
import smtplib
import subprocess
import time
import uuid

import lbtest
from test_imap import ImapBase, PASSWORD, USER

HOST = "localhost"	# the certificate's name; resolves to 127.0.0.1


def run(cmd, timeout=60, **kw):
    """subprocess.run with output captured; the child is killed at the timeout."""
    return subprocess.run(cmd, capture_output=True, timeout=timeout, **kw)


def run_pty(cmd, timeout=60, env=None):
    """Run cmd with stdout/stderr on a pseudo-terminal (mbsync prints its counters
    only to a terminal); returns (exit status, output text).  Reads as it goes so
    the child never blocks on a full terminal buffer; killed at the timeout."""
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    out = b""
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(master, 65536)
                except OSError:		# EIO: every writer closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            elif p.poll() is not None:
                break
        else:
            p.kill()
            p.wait()
            raise AssertionError("%s ran past %ds:\n%s" % (cmd[0], timeout, out.decode(errors="replace")))
        return p.wait(timeout=10), out.decode(errors="replace")
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
            p.wait()


def message(subject, body, to=USER):
    mid = "<%s@clients.test>" % uuid.uuid4().hex
    return ("From: bob@example.org\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: %s\r\n"
            "Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n\r\n%s\r\n" % (to, subject, mid, body)).encode()


def put_maildir(path, data, owner_of=None):
    """Write one message into the Maildir at path (tmp/ then rename into new/), owned
    like owner_of (the daemon runs as the mail owner and must be able to rename it)."""
    name = "%d.%s.clients" % (time.time(), uuid.uuid4().hex)
    tmp = os.path.join(path, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(data)
    if owner_of is not None:
        st = os.stat(owner_of)
        os.chown(tmp, st.st_uid, st.st_gid)
    os.rename(tmp, os.path.join(path, "new", name))
    return name


def maildir_state(path):
    """{unique name: flags} of the messages in a Maildir (new/ and cur/)."""
    out = {}
    for d in ("new", "cur"):
        for f in glob.glob(os.path.join(path, d, "*")):
            base = os.path.basename(f)
            uniq, _, flags = base.partition(":2,")
            out[uniq] = flags
    return out


def subjects(files):
    """The sorted Subject values of message files (None for a file without one)."""
    subj = []
    for f in files:
        with open(f, "rb") as fh:
            m = re.search(rb"^Subject: (.*?)\r?$", fh.read(), re.M)
        subj.append(m.group(1).decode() if m else None)
    return sorted(subj, key=str)


def maildir_subjects(path):
    return subjects(glob.glob(os.path.join(path, "new", "*")) + glob.glob(os.path.join(path, "cur", "*")))


def write_file(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def work_subdir(work, name):
    path = os.path.join(work, name)
    os.makedirs(path, exist_ok=True)
    return path


# ---- mbsync -----------------------------------------------------------------

def mbsync_config(work, port, user, password, cafile, tls="IMAPS"):
    """An mbsyncrc syncing every folder both ways between the server and a Maildir
    tree under work/local (INBOX at work/local/INBOX).  SSLType is isync 1.4's
    name (1.5 calls it TLSType and still takes the old one)."""
    local = work_subdir(work, "local")
    rc = write_file(os.path.join(work, "mbsyncrc"),
                    "IMAPAccount acct\nHost %s\nPort %d\nUser %s\nPass \"%s\"\nSSLType %s\n"
                    "CertificateFile %s\nTimeout 20\n\n"
                    "IMAPStore far\nAccount acct\n\n"
                    "MaildirStore near\nPath %s/\nInbox %s/INBOX\nSubFolders Verbatim\n\n"
                    "Channel ch\nFar :far:\nNear :near:\nPatterns *\nCreate Both\nExpunge Both\n"
                    "SyncState *\n" % (HOST, port, user, password, tls, cafile, local, local))
    return rc, local


COUNTERS = re.compile(r"C: (\d+)/(\d+)\s+B: (\d+)/(\d+)\s+F: \+(\d+)/(\d+) \*(\d+)/(\d+) "
                      r"#(\d+)/(\d+)\s+N: \+(\d+)/(\d+) \*(\d+)/(\d+) #(\d+)/(\d+)")


def mbsync(rc, timeout=90):
    """Run mbsync -a on a terminal; returns (status, output, last counters) where
    counters is {'far': (new, flags, expunged), 'near': (...)}, each the final
    'done' figure of mbsync's progress line (None when it printed none)."""
    status, out = run_pty(["mbsync", "-c", rc, "-a"], timeout=timeout)
    found = COUNTERS.findall(out)
    counters = None
    if found:
        v = [int(x) for x in found[-1]]
        counters = {"far": (v[5], v[7], v[9]), "near": (v[11], v[13], v[15])}
    return status, out, counters


# ---- fetchmail --------------------------------------------------------------

def fetchmail_config(work, port, user, password, cafile, implicit_tls=True):
    """A fetchmailrc polling INBOX over IMAP, delivering each message through an
    MDA script that writes it to a file in work/out."""
    out = work_subdir(work, "out")
    mda = write_file(os.path.join(work, "mda.sh"),
                     '#!/bin/sh\nf=$(mktemp "%s/msg.XXXXXX") && exec cat > "$f"\n' % out, 0o755)
    tls = "ssl" if implicit_tls else 'sslproto "tls1.2+"'
    # mode 0600: fetchmail refuses an rc file others can read
    rc = write_file(os.path.join(work, "fetchmailrc"),
                    "set no syslog\n"
                    "poll %s service %d protocol IMAP auth password timeout 30\n"
                    "  user \"%s\" there password \"%s\" is \"root\" here\n"
                    "  %s sslcertck sslcertfile \"%s\"\n  mda \"%s\"\n"
                    % (HOST, port, user, password, tls, cafile, mda), 0o600)
    return rc, out


def fetchmail(work, rc, *opts, timeout=90):
    """One poll; fetchmail exits 0 when it fetched mail, 1 when there was none."""
    env = dict(os.environ, FETCHMAILHOME=work)
    return run(["fetchmail", "-f", rc, "--nodetach", "-v"] + list(opts), timeout=timeout, env=env)


# ---- mutt in tmux -----------------------------------------------------------

class Tmux:
    """A tmux server on a socket of its own running one command in a 150x40 pane."""

    def __init__(self, work, cmd):
        self.sock = os.path.join(work, "tmux.sock")
        r = run(["tmux", "-S", self.sock, "-f", "/dev/null", "new-session", "-d",
                 "-x", "150", "-y", "40", cmd], timeout=20)
        if r.returncode != 0:
            raise AssertionError("tmux: %r" % r)
        r = run(["tmux", "-S", self.sock, "display-message", "-p", "#{pid}"], timeout=20)
        self.pid = int(r.stdout.strip())

    def screen(self):
        r = run(["tmux", "-S", self.sock, "capture-pane", "-p"], timeout=20)
        return r.stdout.decode(errors="replace") if r.returncode == 0 else ""

    def keys(self, *keys):
        run(["tmux", "-S", self.sock, "send-keys"] + list(keys), timeout=20)

    def wait_for(self, pattern, timeout=20):
        """The screen once it matches the regex pattern, or None at the deadline."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.screen()
            if re.search(pattern, s):
                return s
            time.sleep(0.1)
        return None

    def close(self):
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        lbtest.wait_until(lambda: not os.path.exists("/proc/%d" % self.pid), 5)
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def muttrc(work, port, user, password, cafile):
    return write_file(os.path.join(work, "muttrc"),
                      'set folder="imaps://%s@%s:%d/"\nset spoolfile="+INBOX"\n'
                      'set imap_pass="%s"\nset ssl_ca_certificates_file="%s"\n'
                      'set ssl_force_tls=yes\n'
                      'set header_cache=""\nset message_cachedir=""\nset sort=date\n'
                      'set wait_key=no\nset move=no\nset mark_old=no\nset pager_stop=yes\n'
                      'set help=no\nset quit=yes\nset timeout=5\n'
                      % (user.replace("@", "%40"), HOST, port, password, cafile))


class ImapClientsTest(ImapBase):
    hostname = HOST

    def setUp(self):
        super().setUp()
        self.cafile = os.path.join(self.inst.dir, "tls", "cert.pem")
        self.work = os.path.join(self.inst.tmp, "client")
        os.makedirs(self.work)
        self.inst.start(wait_for=("smtp", "imap", "imaps"))
        self.addCleanup(self.inst.kill)
        self.box = self.inst.maildir(USER)

    def deliver(self, *subjects):
        smtp = smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=20)
        for s in subjects:
            smtp.sendmail("bob@example.org", [USER], message(s, "body of " + s))
        smtp.quit()
        self.assertTrue(lbtest.queue_empty(self.inst))

    def server_folder(self, name, *subjects):
        """CREATE name over IMAP, then put messages in its Maildir directly."""
        m = self.imaps()
        m.login(USER, PASSWORD)
        self.assertEqual(m.create(name)[0], "OK")
        m.logout()
        path = os.path.join(self.box, "." + name)
        for s in subjects:
            put_maildir(path, message(s, "body of " + s), owner_of=path)
        return path

    def test_mbsync_both_ways_then_nothing(self):
        self.deliver("in-1", "in-2")
        work_box = self.server_folder("Work", "work-1")
        rc, local = mbsync_config(self.work, self.inst.port("imaps"), USER, PASSWORD, self.cafile)

        # 1: server -> client
        st, out, cnt = mbsync(rc)
        self.assertEqual(st, 0, out)
        self.assertEqual(maildir_subjects(os.path.join(local, "INBOX")), ["in-1", "in-2"], out)
        self.assertEqual(maildir_subjects(os.path.join(local, "Work")), ["work-1"], out)
        self.assertEqual(cnt["near"][0], 3, out)

        # 2: client -> server: a new message in each folder, a flag set on one
        put_maildir(os.path.join(local, "INBOX"), message("local-in", "from the client"))
        put_maildir(os.path.join(local, "Work"), message("local-work", "from the client"))
        flagged = next(f for f in glob.glob(os.path.join(local, "INBOX", "*", "*"))
                       if subjects([f]) == ["in-1"])
        base = os.path.basename(flagged).partition(":2,")[0]
        os.rename(flagged, os.path.join(local, "INBOX", "cur", base + ":2,FS"))
        st, out, cnt = mbsync(rc)
        self.assertEqual(st, 0, out)
        self.assertEqual(cnt["far"][0], 2, out)		# two messages appended
        self.assertGreaterEqual(cnt["far"][1], 1, out)	# one flag change stored
        self.assertEqual(maildir_subjects(self.box), ["in-1", "in-2", "local-in"])
        self.assertEqual(maildir_subjects(work_box), ["local-work", "work-1"])
        self.assertIn("FS", maildir_state(self.box).values())

        # 3: nothing changed on either side: nothing moves, no file changes
        before = (maildir_state(self.box), maildir_state(work_box),
                  maildir_state(os.path.join(local, "INBOX")), maildir_state(os.path.join(local, "Work")))
        st, out, cnt = mbsync(rc)
        self.assertEqual(st, 0, out)
        self.assertEqual(cnt, {"far": (0, 0, 0), "near": (0, 0, 0)}, out)
        after = (maildir_state(self.box), maildir_state(work_box),
                 maildir_state(os.path.join(local, "INBOX")), maildir_state(os.path.join(local, "Work")))
        self.assertEqual(before, after)
        self.stop_clean()

    def test_mbsync_starttls(self):
        self.deliver("tls-1")
        rc, local = mbsync_config(self.work, self.inst.port("imap"), USER, PASSWORD, self.cafile,
                                  tls="STARTTLS")
        st, out, cnt = mbsync(rc)
        self.assertEqual(st, 0, out)
        self.assertEqual(maildir_subjects(os.path.join(local, "INBOX")), ["tls-1"], out)
        self.assertTrue(self.inst.wait_log("login user=%s method=PLAIN tls=TLS" % USER))
        self.stop_clean()

    def curl(self, scheme, svc, path, *extra):
        port = self.inst.port(svc)
        tls = ["--ssl-reqd"] if scheme == "imap" else []
        return run(["curl", "-sS", "--max-time", "30", "--cacert", self.cafile,
                    "-u", "%s:%s" % (USER, PASSWORD)] + tls + list(extra) +
                   ["%s://%s:%d/%s" % (scheme, HOST, port, path)], timeout=40)

    def test_curl_lists_and_fetches(self):
        self.deliver("curl-1", "curl-2")
        self.server_folder("Projects")
        for scheme, svc in (("imap", "imap"), ("imaps", "imaps")):
            p = self.curl(scheme, svc, "")
            self.assertEqual(p.returncode, 0, p)
            self.assertIn(b'* LIST (\\HasNoChildren) "/" INBOX\r\n', p.stdout, p)
            self.assertIn(b'"/" Projects\r\n', p.stdout, p)
            p = self.curl(scheme, svc, "INBOX;UID=2")
            self.assertEqual(p.returncode, 0, p)
            self.assertIn(b"Subject: curl-2\r\n", p.stdout, p)
            self.assertTrue(p.stdout.endswith(b"\r\nbody of curl-2\r\n"), p)
            # a SEARCH through the URL's query
            p = self.curl(scheme, svc, "INBOX?SUBJECT%20curl-1")
            self.assertEqual(p.returncode, 0, p)
            self.assertRegex(p.stdout, rb"(?m)^\* SEARCH 1\r?$", p)
        p = self.curl("imaps", "imaps", "INBOX;UID=99")
        self.assertEqual(p.returncode, 78, p)	# CURLE_REMOTE_FILE_NOT_FOUND
        self.stop_clean()

    def test_mutt_reads_a_message(self):
        self.deliver("mutt-1", "mutt-2")
        rc = muttrc(self.work, self.inst.port("imaps"), USER, PASSWORD, self.cafile)
        t = Tmux(self.work, "env HOME=%s TERM=xterm mutt -n -F %s" % (self.work, rc))
        self.addCleanup(t.close)
        s = t.wait_for(r"mutt-1[\s\S]*mutt-2")
        self.assertIsNotNone(s, t.screen())
        self.assertIn("=INBOX", s)
        self.assertRegex(s, r"Msgs:2 New:2")
        t.keys("Enter")		# the cursor is on the first new message
        s = t.wait_for(r"body of mutt-\d")
        self.assertIsNotNone(s, t.screen())
        n = re.search(r"body of mutt-(\d)", s).group(1)
        self.assertIn("Subject: mutt-%s" % n, s)
        t.keys("q")
        self.assertIsNotNone(t.wait_for(r"Msgs:2"), t.screen())
        t.keys("q")		# quit syncs the \Seen flag
        self.assertTrue(lbtest.wait_until(lambda: not os.path.exists("/proc/%d" % t.pid), 20),
                        t.screen())
        seen = [f for f in maildir_state(self.box).values() if "S" in f]
        self.assertEqual(len(seen), 1, maildir_state(self.box))
        self.stop_clean()

    def test_fetchmail_keep_then_nokeep(self):
        self.deliver("fm-1", "fm-2")
        rc, out = fetchmail_config(self.work, self.inst.port("imaps"), USER, PASSWORD, self.cafile)
        p = fetchmail(self.work, rc, "--keep")
        self.assertEqual(p.returncode, 0, p)
        self.assertEqual(subjects(glob.glob(out + "/*")), ["fm-1", "fm-2"], p)
        # kept: still on the server, now seen
        st = maildir_state(self.box)
        self.assertEqual(len(st), 2, st)
        self.assertTrue(all("S" in f for f in st.values()), st)
        # nothing unseen: nothing fetched (exit 1 is "no mail")
        p = fetchmail(self.work, rc, "--keep")
        self.assertEqual(p.returncode, 1, p)
        self.assertEqual(len(os.listdir(out)), 2)
        # --nokeep --all: every message fetched, then deleted and expunged
        self.deliver("fm-3")
        p = fetchmail(self.work, rc, "--nokeep", "--all")
        self.assertEqual(p.returncode, 0, p)
        self.assertEqual(subjects(glob.glob(out + "/*")), ["fm-1", "fm-1", "fm-2", "fm-2", "fm-3"], p)
        self.assertEqual(maildir_state(self.box), {}, p)
        self.stop_clean()

    def test_fetchmail_starttls(self):
        self.deliver("fmtls-1")
        rc, out = fetchmail_config(self.work, self.inst.port("imap"), USER, PASSWORD, self.cafile,
                                   implicit_tls=False)
        p = fetchmail(self.work, rc, "--keep")
        self.assertEqual(p.returncode, 0, p)
        self.assertEqual(subjects(glob.glob(out + "/*")), ["fmtls-1"], p)
        self.assertIn(b"STARTTLS", p.stdout + p.stderr)
        self.stop_clean()
