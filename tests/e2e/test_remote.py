"""Remote delivery through the queue (issue 4): transport table, MX lookups
against a DNS server the test runs, deferrals and queue flush, bounces
(RFC 3464 DSNs) into the sender's Maildir, never to <>."""
import email
import email.policy
import os
import smtplib
import time

from lbtest import InstanceTest, wait_files
from sinks import SMTPSink, DNSServer


class RemoteBase(InstanceTest):
    def setUp(self):
        super().setUp()
        self.sink = SMTPSink()
        self.sink.start()
        self.addCleanup(self.sink.stop)
        self.dns = DNSServer({"remote.test": {"MX": [(10, "mx.remote.test")]},
                              "mx.remote.test": {"A": ["127.0.0.1"]},
                              "nullmx.test": {"MX": [(0, ".")]}})
        self.dns.start()
        self.addCleanup(self.dns.stop)
        i = self.inst
        i.cli("domain", "add", "example.com")
        i.cli("user", "add", "sales@example.com", stdin="pw\n")
        i.cli("config", "set", "dns_resolver", self.dns.resolver)
        i.cli("config", "set", "minimal_backoff_time", "60s")
        i.start()

    def tearDown(self):
        self.stop_clean()

    def send(self, sender, rcpts, body=b"Subject: out\r\n\r\nhello remote\r\n.dot line\r\n"):
        with smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=10) as s:
            s.sendmail(sender, rcpts, body)

    def queue_empty(self, timeout=15):
        q = os.path.join(self.inst.dir, "spool", "queue")
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not os.listdir(q):
                return True
            time.sleep(0.05)
        return False


class RemoteTest(RemoteBase):
    def test_relay_via_transport(self):
        self.assertEqual(self.inst.cli("transport", "set", "remote.test",
                                       "smtp:[127.0.0.1]:%d" % self.sink.port).rc, 0)
        self.send("sales@example.com", ["bob@remote.test", "carol@remote.test"])
        msgs = self.sink.wait_messages(1)
        self.assertEqual(len(msgs), 1, self.inst.log()[-3000:])
        self.assertEqual(sorted(msgs[0].rcpts), ["bob@remote.test", "carol@remote.test"])
        self.assertEqual(msgs[0].mail_from, "sales@example.com")
        self.assertIn(b"\r\n.dot line\r\n", msgs[0].data)
        self.assertIn(b"Received: from", msgs[0].data)
        self.assertTrue(self.queue_empty())
        self.assertTrue(self.inst.wait_log("status=sent"))

    def test_mx_lookup(self):
        # smtp:host:port looks up the MX of host (Postfix semantics), here via our DNS server
        self.inst.cli("transport", "set", "remote.test", "smtp:remote.test:%d" % self.sink.port)
        self.send("sales@example.com", ["dave@remote.test"])
        msgs = self.sink.wait_messages(1)
        self.assertEqual(len(msgs), 1, self.inst.log()[-3000:])
        self.assertTrue(self.inst.wait_log("relay=mx.remote.test[127.0.0.1]"), self.inst.log()[-3000:])

    def test_deferred_then_flush(self):
        self.inst.cli("transport", "set", "remote.test", "smtp:[127.0.0.1]:%d" % self.sink.port)
        self.sink.rcpt["later@remote.test"] = (450, "4.2.0 mailbox busy")
        self.send("sales@example.com", ["later@remote.test"])
        self.assertTrue(self.inst.wait_log("status=deferred"), self.inst.log()[-3000:])
        r = self.inst.cli("queue", "list")
        self.assertEqual(r.rc, 0)
        self.assertIn("<later@remote.test>\tdeferred", r.out)
        self.assertIn("450", r.out)
        del self.sink.rcpt["later@remote.test"]
        self.assertEqual(self.inst.cli("queue", "flush").rc, 0)
        self.assertTrue(self.queue_empty(), self.inst.log()[-3000:])
        self.assertTrue(any("later@remote.test" in m.rcpts for m in self.sink.wait_messages(1)))

    def test_bounce_dsn_to_sender(self):
        self.inst.cli("transport", "set", "remote.test", "smtp:[127.0.0.1]:%d" % self.sink.port)
        self.sink.rcpt["nobody@remote.test"] = (550, "5.1.1 no such user")
        self.send("sales@example.com", ["nobody@remote.test"],
                  b"Subject: will bounce\r\nMessage-ID: <b1@example.com>\r\n\r\nbody\r\n")
        files = wait_files(self.inst.maildir("sales@example.com"), 1)
        self.assertEqual(len(files), 1, self.inst.log()[-3000:])
        msg = email.message_from_bytes(open(files[0], "rb").read(), policy=email.policy.default)
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        self.assertIn("MAILER-DAEMON", msg["From"])
        parts = [p.get_content_type() for p in msg.iter_parts()]
        self.assertEqual(parts[:2], ["text/plain", "message/delivery-status"])
        status = open(files[0], "rb").read().decode(errors="replace")
        self.assertIn("Final-Recipient: rfc822; nobody@remote.test", status)
        self.assertIn("Action: failed", status)
        self.assertIn("Status: 5.1.1", status)
        self.assertIn("Diagnostic-Code: smtp; 550", status)
        self.assertIn("Subject: will bounce", status)
        self.assertTrue(open(files[0], "rb").read().startswith(b"Return-Path: <>"))
        self.assertTrue(self.queue_empty())

    def test_no_bounce_to_null_sender(self):
        self.inst.cli("transport", "set", "remote.test", "smtp:[127.0.0.1]:%d" % self.sink.port)
        self.sink.rcpt["nobody@remote.test"] = (550, "5.1.1 no such user")
        self.send("", ["nobody@remote.test"])
        self.assertTrue(self.inst.wait_log("status=bounced"), self.inst.log()[-3000:])
        # never a DSN to <>: the failed bounce goes to postmaster once (double bounce)
        self.assertTrue(self.inst.wait_log("to=<postmaster@mail.example.test>"), self.inst.log()[-3000:])
        self.assertTrue(self.queue_empty())
        # every delivery is done, and none reached the sender's mailbox
        self.assertEqual(wait_files(self.inst.maildir("sales@example.com"), 1, timeout=0), [])
        self.assertNotIn("to=<>", self.inst.log())

    def test_null_mx_and_error_transport(self):
        self.inst.cli("transport", "set", "closed.test", "error:5.7.1 we do not deliver there")
        self.send("sales@example.com", ["a@nullmx.test"])
        self.send("sales@example.com", ["b@closed.test"])
        files = wait_files(self.inst.maildir("sales@example.com"), 2)
        self.assertEqual(len(files), 2, self.inst.log()[-3000:])
        text = b"".join(open(f, "rb").read() for f in files).decode(errors="replace")
        self.assertIn("Status: 5.1.10", text)
        self.assertIn("we do not deliver there", text)

    def test_notify_success(self):
        self.inst.cli("transport", "set", "remote.test", "smtp:[127.0.0.1]:%d" % self.sink.port)
        with smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=10) as s:
            s.ehlo("x")
            s.mail("sales@example.com", ["RET=HDRS", "ENVID=abc"])
            s.rcpt("ok@remote.test", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;ok@remote.test"])
            s.data(b"Subject: notify\r\n\r\nx\r\n")
        msgs = self.sink.wait_messages(1)
        self.assertEqual(len(msgs), 1)
        # the sink offers DSN: the parameters travel on, no success notice from us
        self.assertIn("RET=HDRS", msgs[0].mail_params)
        self.assertIn("ENVID=abc", msgs[0].mail_params)
        self.assertTrue(self.queue_empty())


class DelayWarningTest(RemoteBase):
    def test_delay_warning_then_delivery(self):
        i = self.inst
        i.stop()
        i.cli("config", "set", "delay_warning_time", "1s")
        i.cli("config", "set", "minimal_backoff_time", "1s")
        i.cli("transport", "set", "remote.test", "smtp:[127.0.0.1]:%d" % self.sink.port)
        i.start()
        self.sink.rcpt["slow@remote.test"] = (451, "4.3.0 try later")
        self.send("sales@example.com", ["slow@remote.test"])
        files = wait_files(i.maildir("sales@example.com"), 1, timeout=20)
        self.assertEqual(len(files), 1, i.log()[-3000:])
        text = open(files[0], "rb").read().decode(errors="replace")
        self.assertIn("Action: delayed", text)
        self.assertIn("Will-Retry-Until:", text)
        # still queued, and delivered once the peer accepts: no failure notice follows
        del self.sink.rcpt["slow@remote.test"]
        self.assertTrue(self.queue_empty(timeout=20), i.log()[-3000:])
        self.assertEqual(len(wait_files(i.maildir("sales@example.com"), 2, timeout=1)), 1)
