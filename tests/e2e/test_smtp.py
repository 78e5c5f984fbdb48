"""SMTP server, queue and Maildir delivery end to end (issue 3), with smtplib,
swaks and raw sockets against the real daemon."""
import glob
import os
import signal
import smtplib
import socket
import subprocess
import threading
import time
import unittest

from lbtest import InstanceTest, Instance, raw_session, read_msg, wait_files, queue_empty


MSG = (b"From: Alice <alice@example.org>\r\nTo: sales@example.com\r\nSubject: hello\r\n"
       b"Message-ID: <t1@example.org>\r\n\r\nLine one\r\n.leading dot\r\nLast line\r\n")


class SmtpBase(InstanceTest):
    def setUp(self):
        super().setUp()
        i = self.inst
        for cmd in (("domain", "add", "example.com"), ("domain", "add", "example.net")):
            self.assertEqual(i.cli(*cmd).rc, 0)
        for u in ("sales@example.com", "bob@example.com", "carol@example.com", "dave@example.net"):
            self.assertEqual(i.cli("user", "add", u, stdin="pw\n").rc, 0, u)
        i.start()

    def tearDown(self):
        self.stop_clean()

    def smtp(self):
        s = smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=10)
        s.ehlo("client.example.org")
        return s


class TestDelivery(SmtpBase):
    def test_delivery_intact_with_trace_headers(self):
        with self.smtp() as s:
            code, resp = s.docmd("MAIL FROM:<alice@example.org>")
            self.assertEqual(code, 250)
            self.assertEqual(s.docmd("RCPT TO:<Sales@Example.COM>")[0], 250)
            code, resp = s.data(MSG)
            self.assertEqual(code, 250, resp)
            self.assertIn(b"queued as", resp)
            qid = resp.split()[-1].decode()
        files = wait_files(self.inst.maildir("sales@example.com"), 1)
        self.assertEqual(len(files), 1, self.inst.log()[-3000:])
        raw = open(files[0], "rb").read()
        self.assertNotIn(b"\r", raw)           # LF on disk, as Postfix's virtual(8) writes
        data = read_msg(files[0])
        self.assertTrue(data.startswith(b"Return-Path: <alice@example.org>\r\nDelivered-To: "), data[:200])
        self.assertIn(b"Received: from client.example.org", data)
        self.assertIn(b"by mail.example.test (letterbox) with ESMTP id " + qid.encode(), data)
        self.assertTrue(data.endswith(MSG), data[-300:])
        self.assertIn(",S=%d,W=%d" % (len(raw), len(data)), files[0])
        self.assertTrue(self.inst.wait_log("qid=%s: to=<" % qid))
        self.assertTrue(self.inst.wait_log("status=sent"))
        self.assertTrue(self.inst.wait_log("accepted from=<alice@example.org>"))
        mode = os.stat(self.inst.maildir("sales@example.com")).st_mode & 0o777
        self.assertEqual(mode, 0o700)
        # the spool is empty once delivered
        self.assertTrue(queue_empty(self.inst), os.listdir(os.path.join(self.inst.dir, "spool", "queue")))

    def test_unknown_user_550_and_relay_denied(self):
        with self.smtp() as s:
            s.docmd("MAIL FROM:<a@example.org>")
            code, resp = s.docmd("RCPT TO:<nobody@example.com>")
            self.assertEqual(code, 550)
            self.assertIn(b"5.1.1", resp)
            # from mynetworks (127.0.0.1) relaying is allowed
            self.assertEqual(s.docmd("RCPT TO:<x@remote.test>")[0], 250)
        # outside mynetworks: relay denied, local still fine
        self.inst.stop()
        self.assertEqual(self.inst.cli("config", "set", "mynetworks", "192.0.2.0/24").rc, 0)
        self.inst.start()
        with self.smtp() as s:
            s.docmd("MAIL FROM:<a@example.org>")
            code, resp = s.docmd("RCPT TO:<x@remote.test>")
            self.assertEqual(code, 554)
            self.assertIn(b"Relay access denied", resp)
            self.assertEqual(s.docmd("RCPT TO:<bob@example.com>")[0], 250)

    def test_size_limits(self):
        self.inst.stop()
        self.inst.cli("config", "set", "message_size_limit", "20000")
        self.inst.start()
        with self.smtp() as s:
            self.assertIn(b"SIZE 20000", s.ehlo_resp)
            code, resp = s.docmd("MAIL FROM:<a@example.org> SIZE=30000")
            self.assertEqual(code, 552)
            s.docmd("RSET")
            s.docmd("MAIL FROM:<a@example.org> SIZE=100")
            s.docmd("RCPT TO:<bob@example.com>")
            code, resp = s.data(b"Subject: big\r\n\r\n" + b"x" * 998 + b"\r\n" + (b"y" * 998 + b"\r\n") * 25)
            self.assertEqual(code, 552)
            # the session goes on, and a later message is the only one delivered
            self.assertEqual(s.noop()[0], 250)
            s.sendmail("a@example.org", ["bob@example.com"], b"Subject: marker\r\n\r\nx\r\n")
        files = wait_files(self.inst.maildir("bob@example.com"), 1)
        self.assertEqual(len(files), 1)
        self.assertIn(b"Subject: marker", open(files[0], "rb").read())
        self.assertTrue(queue_empty(self.inst))
        self.assertEqual(len(wait_files(self.inst.maildir("bob@example.com"), 1)), 1)

    def test_pipelining(self):
        port = self.inst.port("smtp")
        out = raw_session(port, b"EHLO p.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@example.com>\r\n"
                          b"RCPT TO:<nobody@example.com>\r\nRCPT TO:<carol@example.com>\r\nDATA\r\n"
                          b"Subject: piped\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        codes = [l[:3] for l in out.split("\r\n") if l and l[3:4] == " "]
        self.assertEqual(codes, ["220", "250", "250", "250", "550", "250", "354", "250", "221"], out)
        self.assertEqual(len(wait_files(self.inst.maildir("bob@example.com"), 1)), 1)
        self.assertEqual(len(wait_files(self.inst.maildir("carol@example.com"), 1)), 1)

    def test_bdat(self):
        body = b"Subject: chunks\r\n\r\nfirst part\r\n.not stuffed\r\n"
        port = self.inst.port("smtp")
        out = raw_session(port, b"EHLO b.example\r\nMAIL FROM:<a@example.org> BODY=BINARYMIME\r\n"
                          b"RCPT TO:<bob@example.com>\r\nBDAT 20\r\n" + body[:20] +
                          b"BDAT %d LAST\r\n" % (len(body) - 20) + body[20:] + b"QUIT\r\n")
        self.assertIn("CHUNKING", out)
        self.assertIn("250 2.0.0 Ok: 20 octets received", out)
        self.assertIn("queued as", out)
        files = wait_files(self.inst.maildir("bob@example.com"), 1)
        self.assertEqual(len(files), 1)
        self.assertTrue(read_msg(files[0]).endswith(body))

    def test_smuggling_attempt(self):
        port = self.inst.port("smtp")
        smuggled = (b"Subject: outer\r\n\r\nouter body\n.\nMAIL FROM:<evil@example.org>\n"
                    b"RCPT TO:<carol@example.com>\nDATA\nSubject: smuggled\n\nevil\n.\n"
                    b"\r\n.\r\nQUIT\r\n")
        out = raw_session(port, b"EHLO s.example\r\nMAIL FROM:<a@example.org>\r\n"
                          b"RCPT TO:<bob@example.com>\r\nDATA\r\n" + smuggled)
        self.assertEqual(out.count("queued as"), 1, out)
        files = wait_files(self.inst.maildir("bob@example.com"), 1)
        self.assertEqual(len(files), 1)
        data = open(files[0], "rb").read()
        self.assertIn(b"MAIL FROM:<evil@example.org>", data)   # stayed message text
        # carol gets only a marker sent afterwards, never the smuggled message
        with self.smtp() as s:
            s.sendmail("a@example.org", ["carol@example.com"], b"Subject: marker\r\n\r\nx\r\n")
        files = wait_files(self.inst.maildir("carol@example.com"), 1)
        self.assertTrue(queue_empty(self.inst))
        files = wait_files(self.inst.maildir("carol@example.com"), 1)
        self.assertEqual(len(files), 1)
        self.assertIn(b"Subject: marker", open(files[0], "rb").read())

    def test_swaks(self):
        r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % self.inst.port("smtp"),
                            "--to", "dave@example.net", "--from", "you@example.org",
                            "--header", "Subject: swaks test"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        files = wait_files(self.inst.maildir("dave@example.net"), 1)
        self.assertEqual(len(files), 1)
        self.assertIn(b"Subject: swaks test", open(files[0], "rb").read())

    def test_commands_and_limits(self):
        port = self.inst.port("smtp")
        out = raw_session(port, b"MAIL FROM:<a@b.example>\r\nEHLO x\r\nVRFY bob@example.com\r\nEXPN x\r\n"
                          b"HELP\r\nNOOP\r\nFOO\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"
                          b"MAIL FROM:<a@b.example>\r\nMAIL FROM:<c@d.example>\r\nRSET\r\n"
                          b"MAIL FROM:<broken\r\n" + b"X" * 5000 + b"\r\n")
        lines = [l for l in out.split("\r\n") if l and l[3:4] == " "]
        codes = [l[:3] for l in lines]
        self.assertEqual(codes[:13], ["220", "503", "250", "252", "502", "214", "250", "502", "503", "503",
                                      "250", "503", "250"], out)
        self.assertEqual(codes[13], "501")
        self.assertEqual(codes[14], "500")  # line too long closes
        self.assertTrue(self.inst.wait_log("line too long"))

    def test_http_client_dropped(self):
        out = raw_session(self.inst.port("smtp"), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn("221 2.7.0", out)


class TestForwarding(SmtpBase):
    def test_forward_two_mailboxes_and_self_copy(self):
        i = self.inst
        self.assertEqual(i.cli("forward", "add", "team@example.com", "bob@example.com,carol@example.com").rc, 0)
        self.assertEqual(i.cli("forward", "add", "sales@example.com", "sales@example.com,dave@example.net").rc, 0)
        with self.smtp() as s:
            s.sendmail("a@example.org", ["team@example.com"], b"Subject: team\r\n\r\nhi team\r\n")
            s.sendmail("a@example.org", ["sales@example.com"], b"Subject: sales\r\n\r\nhi sales\r\n")
        for who in ("bob@example.com", "carol@example.com", "sales@example.com", "dave@example.net"):
            files = wait_files(i.maildir(who), 1)
            self.assertEqual(len(files), 1, who + "\n" + i.log()[-3000:])
        d = open(wait_files(i.maildir("bob@example.com"), 1)[0], "rb").read()
        self.assertIn(b"Delivered-To: bob@example.com", d)
        self.assertTrue(i.wait_log("orig_to=<team@example.com>"))

    def test_catchall_and_loop(self):
        i = self.inst
        self.assertEqual(i.cli("forward", "add", "@example.net", "carol@example.com").rc, 0)
        self.assertEqual(i.cli("forward", "add", "ping@example.com", "pong@example.com").rc, 0)
        self.assertEqual(i.cli("forward", "add", "pong@example.com", "ping@example.com").rc, 0)
        with self.smtp() as s:
            s.sendmail("a@example.org", ["anything@example.net"], b"Subject: catch\r\n\r\nx\r\n")
            # an existing mailbox wins over the catch-all
            s.sendmail("a@example.org", ["dave@example.net"], b"Subject: dave\r\n\r\nx\r\n")
            # issue 10: a loop cannot be delivered, so it is refused at RCPT (no backscatter)
            s.docmd("MAIL FROM:<a@example.org>")
            code, resp = s.docmd("RCPT TO:<ping@example.com>")
            self.assertEqual(code, 550, resp)
            self.assertIn(b"5.4.6", resp)
            s.docmd("RSET")
        self.assertEqual(len(wait_files(i.maildir("carol@example.com"), 1)), 1)
        self.assertEqual(len(wait_files(i.maildir("dave@example.net"), 1)), 1)
        self.assertTrue(i.wait_log("5.4.6"), i.log()[-3000:])
        self.assertTrue(queue_empty(i), os.listdir(os.path.join(i.dir, "spool", "queue")))

    def test_postmaster_and_sendmail_root_reach_aliases(self):
        i = self.inst
        with open(os.path.join(i.dir, "aliases"), "w") as f:
            f.write("postmaster: root\nroot: bob@example.com\n")
        with self.smtp() as s:
            s.sendmail("a@example.org", ["postmaster@example.com"], b"Subject: pm\r\n\r\nx\r\n")
            s.sendmail("a@example.org", ["postmaster"], b"Subject: bare pm\r\n\r\nx\r\n")
        r = i.cli("sendmail", "root", stdin="Subject: cron output\n\nhello from cron\n")
        self.assertEqual(r.rc, 0, r)
        files = wait_files(i.maildir("bob@example.com"), 3)
        self.assertEqual(len(files), 3, i.log()[-3000:])
        texts = b"".join(read_msg(f) for f in files)
        self.assertIn(b"hello from cron\r\n", texts)
        self.assertIn(b"Message-ID: <", texts)

    def test_sendmail_t_and_f(self):
        i = self.inst
        r = i.cli("sendmail", "-t", "-f", "robot@example.org",
                  stdin="To: Bob <bob@example.com>\nBcc: carol@example.com\nSubject: t\n\nbody\n.\nnot read\n")
        self.assertEqual(r.rc, 0, r)
        b = wait_files(i.maildir("bob@example.com"), 1)
        c = wait_files(i.maildir("carol@example.com"), 1)
        self.assertEqual((len(b), len(c)), (1, 1))
        d = open(b[0], "rb").read()
        self.assertTrue(d.startswith(b"Return-Path: <robot@example.org>"))
        self.assertNotIn(b"Bcc:", d)
        self.assertNotIn(b"not read", d)


class TestDurability(unittest.TestCase):
    """200 messages over 10 sessions, SIGKILL mid-way, restart: nothing acknowledged is lost."""

    def test_kill9(self):
        inst = Instance()
        self.addCleanup(inst.cleanup)
        inst.cli("domain", "add", "example.com")
        users = ["u%d@example.com" % k for k in range(10)]
        for u in users:
            inst.cli("user", "add", u, stdin="pw\n")
        inst.start()
        acked = []
        lock = threading.Lock()

        def sender(k):
            try:
                s = smtplib.SMTP("127.0.0.1", inst.port("smtp"), timeout=10)
                s.ehlo("d.example")
                for n in range(20):
                    tag = "m-%d-%d" % (k, n)
                    msg = ("Subject: %s\r\nX-Tag: %s\r\n\r\n" % (tag, tag) + "z" * 3000 + "\r\n").encode()
                    s.sendmail("a@example.org", [users[k]], msg)
                    with lock:
                        acked.append((users[k], tag))
            except Exception:
                pass

        threads = [threading.Thread(target=sender, args=(k,)) for k in range(10)]
        for t in threads:
            t.start()
        deadline = time.time() + 30
        while time.time() < deadline:
            with lock:
                if len(acked) >= 60:
                    break
            time.sleep(0.01)
        inst.stop(sig=signal.SIGKILL)
        for t in threads:
            t.join()
        self.assertGreater(len(acked), 0)
        inst.start()
        deadline = time.time() + 30
        while time.time() < deadline:
            if not os.listdir(os.path.join(inst.dir, "spool", "queue")):
                break
            time.sleep(0.1)
        lost, dups = 0, 0
        for u, tag in acked:
            n = 0
            for f in glob.glob(os.path.join(inst.maildir(u), "new", "*")):
                if ("X-Tag: %s\r\n" % tag).encode() in read_msg(f):
                    n += 1
            lost += n == 0
            dups += max(0, n - 1)
        print("durability: acked=%d lost=%d duplicates=%d" % (len(acked), lost, dups))
        self.assertEqual(lost, 0)
        self.assertEqual(dups, 0)
        rc = inst.stop()
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()


class TestLimits(InstanceTest):
    def setUp(self):
        super().setUp()
        i = self.inst
        i.cli("domain", "add", "example.com")
        i.cli("user", "add", "bob@example.com", stdin="pw\n")
        for k, v in (("smtpd_recipient_limit", "3"), ("smtpd_hard_error_limit", "5"),
                     ("smtpd_timeout", "2s"), ("smtpd_client_connection_count_limit", "2"),
                     ("mynetworks", "192.0.2.0/24")):
            self.assertEqual(i.cli("config", "set", k, v).rc, 0)
        i.start()

    def tearDown(self):
        self.stop_clean()

    def test_recipient_limit(self):
        with smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=10) as s:
            s.ehlo("x")
            s.docmd("MAIL FROM:<a@example.org>")
            for _ in range(3):
                self.assertEqual(s.docmd("RCPT TO:<bob@example.com>")[0], 250)
            code, resp = s.docmd("RCPT TO:<bob@example.com>")
            self.assertEqual(code, 452)
            self.assertIn(b"4.5.3", resp)

    def test_error_limit_disconnects(self):
        out = raw_session(self.inst.port("smtp"), b"EHLO x\r\n" + b"BOGUS\r\n" * 8)
        self.assertIn("421 4.7.0", out)
        self.assertEqual(out.count("502 5.5.2"), 5, out)
        self.assertTrue(self.inst.wait_log("too many errors"))

    def test_idle_timeout(self):
        s = socket.create_connection(("127.0.0.1", self.inst.port("smtp")), timeout=10)
        t0 = time.time()
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        self.assertIn(b"421 4.4.2", data)
        self.assertLess(time.time() - t0, 6)

    def test_connections_per_client(self):
        time.sleep(0.5)     # the harness's readiness probe has gone
        a = socket.create_connection(("127.0.0.1", self.inst.port("smtp")))
        b = socket.create_connection(("127.0.0.1", self.inst.port("smtp")))
        self.assertTrue(a.recv(100).startswith(b"220"))
        self.assertTrue(b.recv(100).startswith(b"220"))
        c = socket.create_connection(("127.0.0.1", self.inst.port("smtp")))
        self.assertIn(b"421 4.7.0", c.recv(200))
        for s in (a, b, c):
            s.close()
