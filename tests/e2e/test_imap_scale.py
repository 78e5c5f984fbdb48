"""IMAP at scale (issue 15), functional only (times and memory are figures
in `make bench`, never assertions here): 1,000 IDLE sessions held at once
all get the push of one delivery; a 20,000-message FETCH streams while a
second session's NOOP is answered; the per-user session limit answers
NO [LIMIT] and frees its slot on logout.  The IDLE sessions are raw sockets
driven by one selector, every wait bounded by a deadline."""
import os
import resource
import selectors
import smtplib
import socket
import sqlite3
import subprocess
import threading
import time

import lbtest
from test_imap import ImapBase, USER, PASSWORD

N_IDLE = 1000
N_FETCH = 20000


def sha512_crypt(password):
    """A cheap hash (SHA512-CRYPT, ~ms) so 1,000 logins fit the test's time."""
    return subprocess.run(["openssl", "passwd", "-6", password], capture_output=True,
                          text=True, check=True).stdout.strip()


class ImapScaleTest(ImapBase):
    conf = {"auth_failure_delay": "0", "disable_plaintext_auth": "no",
            "imap_max_connections": "3000", "imap_client_connection_count_limit": "3000",
            "imap_user_connection_limit": "3000"}

    def setUp(self):
        super().setUp()
        db = sqlite3.connect(os.path.join(self.inst.dir, "letterbox.db"))
        db.execute("UPDATE users SET password = ? WHERE email = ?", (sha512_crypt(PASSWORD), USER))
        db.commit()
        db.close()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < N_IDLE + 200 <= hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))

    def login_line(self):
        return ('a LOGIN "%s" "%s"\r\n' % (USER, PASSWORD)).encode()

    def deliver(self, subject):
        with smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=20) as s:
            s.sendmail("bob@example.org", [USER],
                       "From: bob@example.org\r\nSubject: %s\r\n\r\nhello\r\n" % subject)

    def test_thousand_idle_sessions_all_get_the_push(self):
        self.inst.start(wait_for=("smtp", "imap"))
        self.addCleanup(self.inst.kill)
        sel = selectors.DefaultSelector()
        self.addCleanup(sel.close)
        socks, data = [], {}
        # LOGIN, SELECT and IDLE pipelined; the server answers them in order.
        script = self.login_line() + b"b SELECT INBOX\r\nc IDLE\r\n"

        def pump(until, deadline):
            while not until() and time.time() < deadline:
                for key, _ in sel.select(timeout=0.5):
                    s = key.fileobj
                    try:
                        chunk = s.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        chunk = b""
                    if not chunk:
                        sel.unregister(s)
                        data[s] += b"<EOF>"
                        continue
                    data[s] += chunk

        def add_session():
            s = socket.create_connection(("127.0.0.1", self.inst.port("imap")), timeout=20)
            self.addCleanup(s.close)
            s.sendall(script)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            socks.append(s)
            data[s] = b""

        def idling(s):
            return b"\r\n+ " in data[s] or data[s].startswith(b"+ ")

        # Open in batches so the listen backlog and the logins keep up.
        deadline = time.time() + 90
        while len(socks) < N_IDLE and time.time() < deadline:
            for _ in range(min(100, N_IDLE - len(socks))):
                add_session()
            batch = socks[-100:]
            pump(lambda: all(idling(s) or b"<EOF>" in data[s] for s in batch), deadline)
        not_idle = [data[s][-200:] for s in socks if not idling(s)]
        self.assertEqual(not_idle[:3], [], "%d of %d sessions not idling" % (len(not_idle), len(socks)))
        self.assertEqual(len(socks), N_IDLE)
        for s in socks:
            data[s] = b""
        self.deliver("push to all")
        pump(lambda: all(b"* 1 EXISTS" in data[s] for s in socks), time.time() + 60)
        missing = [s for s in socks if b"* 1 EXISTS" not in data[s]]
        self.assertEqual(len(missing), 0, "%d sessions got no push; e.g. %r" %
                         (len(missing), data[missing[0]][-200:] if missing else b""))
        # DONE ends every IDLE with its tagged OK.
        for s in socks:
            s.setblocking(True)
            s.sendall(b"DONE\r\nd LOGOUT\r\n")
            s.setblocking(False)
        pump(lambda: all(b"c OK" in data[s] for s in socks), time.time() + 60)
        self.assertEqual(sum(1 for s in socks if b"c OK" not in data[s]), 0)
        self.stop_clean()

    def test_big_fetch_streams_while_noop_is_answered(self):
        self.inst.start(wait_for=("smtp", "imap"))
        self.addCleanup(self.inst.kill)
        self.deliver("seed")		# the Maildir exists, owned by the mail owner
        md = self.inst.maildir(USER)
        lbtest.wait_files(md, 1)
        st = os.stat(md)
        body = b"line of text for the fetch test\r\n" * 30
        for i in range(N_FETCH):
            path = os.path.join(md, "cur", "17000%05d.M%dP1.host:2," % (i, i))
            with open(path, "wb") as f:
                f.write(b"Subject: m %d\r\nMessage-ID: <%d@x>\r\n\r\n" % (i, i) + body)
            os.chown(path, st.st_uid, st.st_gid)
        big, bf, _ = self.raw()
        big.sendall(self.login_line() + b"b SELECT INBOX\r\n")
        lines = self.read_tagged(bf, b"b")
        self.assertIn(b"* %d EXISTS\r\n" % (N_FETCH + 1), lines)
        other, of, _ = self.raw()
        other.sendall(self.login_line() + b"b SELECT INBOX\r\n")
        self.read_tagged(of, b"b")

        got = {"items": 0, "tagged": b""}

        def reader():
            # Reads the whole response as fast as it comes: no backpressure,
            # so only the server's own yielding lets the other session in.
            while True:
                line = bf.readline()
                if not line:
                    return
                if line.startswith(b"* ") and b" FETCH " in line:
                    got["items"] += 1
                    n = int(line[line.rindex(b"{") + 1:-3]) if line.endswith(b"}\r\n") else 0
                    bf.read(n)
                elif line.startswith(b"f "):
                    got["tagged"] = line
                    return

        t = threading.Thread(target=reader, daemon=True)
        big.sendall(b"f FETCH 1:* (UID RFC822.SIZE ENVELOPE BODY.PEEK[])\r\n")
        t.start()
        lbtest.wait_until(lambda: got["items"] > 0, timeout=30)
        rounds, worst = 0, 0.0
        while t.is_alive() and rounds < 20:
            rounds += 1
            t0 = time.time()
            other.sendall(b"n%d NOOP\r\n" % rounds)
            self.read_tagged(of, b"n%d" % rounds)
            worst = max(worst, time.time() - t0)
            time.sleep(0.05)
        t.join(60)
        self.assertFalse(t.is_alive(), "FETCH did not finish; %d items" % got["items"])
        self.assertTrue(got["tagged"].startswith(b"f OK"), got["tagged"])
        self.assertEqual(got["items"], N_FETCH + 1)
        self.assertGreater(rounds, 0)
        # A generous deadline: the NOOP waits for no more than a chunk of the FETCH.
        self.assertLess(worst, 2.0, "NOOP round trip during the FETCH")
        for s in (big, other):
            s.close()
        self.stop_clean()

    def small_messages(self, n, stamp):
        """Start the server and put n small messages (plus a delivered
        seed) into the user's cur/; returns the Maildir."""
        self.inst.start(wait_for=("smtp", "imap"))
        self.addCleanup(self.inst.kill)
        self.deliver("seed")
        md = self.inst.maildir(USER)
        lbtest.wait_files(md, 1)
        st = os.stat(md)
        for i in range(n):
            path = os.path.join(md, "cur", "%d%05d.M%dP1.host:2," % (stamp, i, i))
            with open(path, "wb") as f:
                f.write(b"Subject: s %d\r\n\r\nbody\r\n" % i)
            os.chown(path, st.st_uid, st.st_gid)
        return md

    def test_big_store_streams_in_order(self):
        """STORE 1:* +FLAGS streams its FETCH responses as the socket drains:
        with the client not reading, another session is still served; then
        every response arrives, in order, before the tagged OK and the
        pipelined NOOP."""
        n = 6000
        md = self.small_messages(n, 17100)
        big, bf, _ = self.raw()
        big.sendall(self.login_line() + b"b SELECT INBOX\r\n")
        self.assertIn(b"* %d EXISTS\r\n" % (n + 1), self.read_tagged(bf, b"b"))
        other, of, _ = self.raw()
        other.sendall(self.login_line() + b"b SELECT INBOX\r\n")
        self.read_tagged(of, b"b")
        big.sendall(b"s STORE 1:* +FLAGS (\\Flagged)\r\nt NOOP\r\n")
        other.sendall(b"n NOOP\r\n")
        self.assertTrue(self.read_tagged(of, b"n")[-1].startswith(b"n OK"))
        lines = self.read_tagged(bf, b"t")
        fetches = [ln for ln in lines if b" FETCH (" in ln]
        self.assertEqual(len(fetches), n + 1)
        self.assertEqual([int(ln.split()[1]) for ln in fetches], list(range(1, n + 2)))
        self.assertTrue(all(b"\\Flagged" in ln for ln in fetches))
        tagged = [ln for ln in lines if not ln.startswith(b"* ")]
        self.assertEqual(len(tagged), 2, tagged)
        self.assertTrue(tagged[0].startswith(b"s OK"), tagged)
        self.assertEqual(lines[-2:], tagged)
        self.assertLess(lines.index(fetches[-1]), lines.index(tagged[0]))
        # Every batch reached the files (Maildir flags in the names).
        names = os.listdir(os.path.join(md, "cur"))
        self.assertEqual(len(names), n + 1)
        self.assertEqual([x for x in names if "F" not in x.rsplit(":2,", 1)[1]], [])
        # UNCHANGEDSINCE across batches: the messages changed after the
        # 3,000th's modseq fail, whichever batch they fall in, in one MODIFIED.
        big.sendall(b"c FETCH 3000 (MODSEQ)\r\n")
        ms = [ln for ln in self.read_tagged(bf, b"c") if b" FETCH (" in ln][0]
        since = int(ms[ms.index(b"MODSEQ (") + 8:].split(b")")[0])
        big.sendall(b"u STORE 1:* (UNCHANGEDSINCE %d) -FLAGS.SILENT (\\Flagged)\r\n" % since)
        lines = self.read_tagged(bf, b"u")
        self.assertTrue(lines[-1].startswith(b"u OK [MODIFIED 3001:%d]" % (n + 1)), lines[-1])
        self.assertEqual(len([ln for ln in lines if b" FETCH (" in ln]), 3000)	# MODSEQs
        big.sendall(b"v SEARCH FLAGGED\r\n")
        found = [ln for ln in self.read_tagged(bf, b"v") if ln.startswith(b"* SEARCH")][0]
        self.assertEqual([int(x) for x in found.split()[2:]], list(range(3001, n + 2)))
        for s in (big, other):
            s.close()
        self.stop_clean()

    def test_big_fetch_sets_seen_in_batches(self):
        """FETCH 1:* BODY[] of unseen messages over several output batches
        (one lock and one index commit each): every message comes with its
        \Seen, UID and a MODSEQ of its own; the files carry S; a second
        session's STORE is served meanwhile and then sees every \Seen."""
        n = 1500
        md = self.small_messages(0, 0)
        st = os.stat(md)
        body = b"".join(b"line %04d %s\r\n" % (k, b"x" * 60) for k in range(16))
        for i in range(n):
            path = os.path.join(md, "cur", "17300%05d.M%dP1.host:2," % (i, i))
            with open(path, "wb") as f:
                f.write(b"Subject: s %d\r\n\r\n" % i + body)
            os.chown(path, st.st_uid, st.st_gid)
        total = n + 1		# and the delivered seed
        big, bf, _ = self.raw()
        big.sendall(self.login_line() + b"b SELECT INBOX (CONDSTORE)\r\n")
        self.assertIn(b"* %d EXISTS\r\n" % total, self.read_tagged(bf, b"b"))
        other, of, _ = self.raw()
        other.sendall(self.login_line() + b"b SELECT INBOX\r\n")
        self.read_tagged(of, b"b")
        big.sendall(b"f FETCH 1:* BODY[]\r\nt NOOP\r\n")
        bf.readline()			# the first response: the batches have started
        other.sendall(b"s STORE 1 +FLAGS (\\Flagged)\r\n")
        self.assertTrue(self.read_tagged(of, b"s")[-1].startswith(b"s OK"))
        lines = self.read_tagged(bf, b"t")
        self.assertTrue(any(ln.startswith(b"f OK") for ln in lines), lines[-3:])
        # the items after each literal: FLAGS (\Seen), UID, MODSEQ
        tails = [ln for ln in lines if ln.startswith(b" FLAGS (")]
        self.assertEqual(len(tails), total, tails[:2])
        modseqs = [int(ln[ln.index(b"MODSEQ (") + 8:].split(b")")[0]) for ln in tails]
        self.assertTrue(all(b"\\Seen" in ln for ln in tails))
        self.assertEqual(len(set(modseqs)), len(modseqs))
        self.assertEqual(modseqs, sorted(modseqs))
        names = os.listdir(os.path.join(md, "cur"))
        self.assertEqual(len(names), total)
        self.assertEqual([x for x in names if "S" not in x.rsplit(":2,", 1)[1]], [])
        other.sendall(b"n NOOP\r\nu SEARCH UNSEEN\r\nv SEARCH SEEN\r\n")
        lines = self.read_tagged(of, b"v")
        found = [ln for ln in lines if ln.startswith(b"* SEARCH")]
        self.assertEqual(found[0].split()[2:], [])
        self.assertEqual(len(found[1].split()[2:]), total)
        # Seen already: a second FETCH BODY[] sets nothing and tells no FLAGS.
        big.sendall(b"g FETCH 1:* BODY[]\r\n")
        lines = self.read_tagged(bf, b"g")
        self.assertEqual([ln for ln in lines if b"FLAGS (" in ln], [])
        for s in (big, other):
            s.close()
        self.stop_clean()

    def test_big_store_session_gone_midway(self):
        """The client drops while a STORE 1:* runs in batches: the rest of
        the chain is abandoned cleanly (the handle closed by the job), and
        the mailbox and the server go on."""
        n = 7000
        self.small_messages(n, 17200)
        big, bf, _ = self.raw()
        big.sendall(self.login_line() + b"b SELECT INBOX\r\n")
        self.read_tagged(bf, b"b")
        big.sendall(b"s STORE 1:* +FLAGS (\\Seen)\r\n")
        bf.readline()			# the first response: the chain has started
        big.close()
        other, of, _ = self.raw()
        other.sendall(self.login_line() + b"b SELECT INBOX\r\n")
        self.assertIn(b"* %d EXISTS\r\n" % (n + 1), self.read_tagged(of, b"b"))
        other.sendall(b"s STORE 1:* +FLAGS (\\Answered)\r\n")
        lines = self.read_tagged(of, b"s")
        self.assertTrue(lines[-1].startswith(b"s OK"), lines[-1])
        self.assertEqual(len([ln for ln in lines if b"\\Answered" in ln]), n + 1)
        other.close()
        self.stop_clean()

    def test_user_connection_limit(self):
        r = self.inst.cli("config", "set", "imap_user_connection_limit", "3")
        self.assertEqual(r.rc, 0, r)
        self.inst.start(wait_for=("imap",))
        self.addCleanup(self.inst.kill)
        held = []
        for _ in range(3):
            s, f, _g = self.raw()
            s.sendall(self.login_line())
            self.assertTrue(self.read_tagged(f, b"a")[-1].startswith(b"a OK"))
            held.append((s, f))
        s, f, _g = self.raw()
        s.sendall(self.login_line())
        line = self.read_tagged(f, b"a")[-1]
        self.assertTrue(line.startswith(b"a NO [LIMIT] "), line)
        # still not authenticated: SELECT is refused
        s.sendall(b"b SELECT INBOX\r\n")
        self.assertTrue(self.read_tagged(f, b"b")[-1].startswith(b"b BAD"))
        self.assertTrue(self.inst.wait_log("user-connection-limit=3"))
        # one logs out: its slot is free again
        hs, hf = held.pop()
        hs.sendall(b"z LOGOUT\r\n")
        self.read_tagged(hf, b"z")
        hs.close()

        def again():
            s.sendall(b"c LOGIN \"%s\" \"%s\"\r\n" % (USER.encode(), PASSWORD.encode()))
            return self.read_tagged(f, b"c")[-1].startswith(b"c OK")
        self.assertTrue(lbtest.wait_until(again, timeout=10))
        for hs, _hf in held:
            hs.close()
        s.close()
        self.stop_clean()


if __name__ == "__main__":
    import unittest
    unittest.main()
