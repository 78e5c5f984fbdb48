"""IMAP COMPRESS=DEFLATE (RFC 4978, issue 14 item 5): on plain TCP, after
STARTTLS and on 993; IDLE pushes arrive through the compressor at once; a
big FETCH 1:* BODY[] streams through it; COMPRESSIONACTIVE the second
time; a corrupt stream ends the session.  imaplib has no COMPRESS, so a raw
socket with zlib's raw deflate (wbits -15) on both sides."""
import smtplib
import socket
import time
import zlib

import lbtest
from test_imap import ImapBase, USER, PASSWORD


class ZConn:
    """A line-oriented IMAP client whose both directions deflate after compress()."""

    def __init__(self, sock):
        self.s = sock
        self.buf = b""
        self.z_out = None
        self.z_in = None
        self.wire_in = 0

    def send(self, data):
        if self.z_out is not None:
            data = self.z_out.compress(data) + self.z_out.flush(zlib.Z_SYNC_FLUSH)
        self.s.sendall(data)

    def compress(self):
        self.z_out = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.z_in = zlib.decompressobj(-15)
        # What arrived after the OK was already compressed.
        rest, self.buf = self.buf, b""
        self.buf = self.z_in.decompress(rest)

    def _fill(self, deadline):
        self.s.settimeout(max(0.01, deadline - time.time()))
        data = self.s.recv(65536)
        if not data:
            raise EOFError("closed; have %r" % self.buf[-200:])
        self.wire_in += len(data)
        self.buf += self.z_in.decompress(data) if self.z_in is not None else data

    def readline(self, timeout=20):
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            self._fill(deadline)
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def read_exact(self, n, timeout=20):
        deadline = time.time() + timeout
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def tagged(self, tag, timeout=20):
        lines = []
        while True:
            line = self.readline(timeout)
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def cmd(self, tag, line):
        self.send(tag + b" " + line + b"\r\n")
        return self.tagged(tag)


class ImapCompressTest(ImapBase):
    conf = {"auth_failure_delay": "0", "disable_plaintext_auth": "no"}

    def setUp(self):
        super().setUp()
        self.inst.start(wait_for=("smtp", "imap", "imaps"))
        self.addCleanup(self.inst.kill)

    def deliver(self, bodies):
        smtp = smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=20)
        for i, body in enumerate(bodies):
            smtp.sendmail("bob@example.org", [USER],
                          b"From: bob@example.org\r\nSubject: m%d\r\n\r\n" % i + body)
        smtp.quit()

    def connect(self, svc="imap", starttls=False):
        s = socket.create_connection(("127.0.0.1", self.inst.port(svc)), timeout=20)
        if svc == "imaps":
            s = self.ctx.wrap_socket(s)
        c = ZConn(s)
        self.assertTrue(c.readline().startswith(b"* OK"))
        if starttls:
            self.assertTrue(c.cmd(b"t", b"STARTTLS")[-1].startswith(b"t OK"))
            c.s = self.ctx.wrap_socket(s)
        lines = c.cmd(b"l", b'LOGIN "%s" "%s"' % (USER.encode(), PASSWORD.encode()))
        self.assertTrue(lines[-1].startswith(b"l OK"), lines)
        self.assertIn(b"COMPRESS=DEFLATE", b"".join(lines))
        lines = c.cmd(b"z", b"COMPRESS DEFLATE")
        self.assertEqual(lines[-1], b"z OK DEFLATE active.\r\n")
        c.compress()
        return c

    def test_compress_plain_idle_push(self):
        self.deliver([b"one\r\n"])
        lbtest.wait_files(self.inst.maildir(USER), 1)
        c = self.connect()
        # Refused the second time; the session goes on, compressed.
        self.assertEqual(c.cmd(b"z2", b"COMPRESS DEFLATE")[-1],
                         b"z2 NO [COMPRESSIONACTIVE] DEFLATE is already active.\r\n")
        self.assertTrue(c.cmd(b"b", b"COMPRESS GZIP")[-1].startswith(b"b BAD"))
        lines = c.cmd(b"s", b"SELECT INBOX")
        self.assertIn(b"* 1 EXISTS\r\n", lines)
        c.send(b"i IDLE\r\n")
        self.assertEqual(c.readline(), b"+ idling\r\n")
        t0 = time.time()
        self.deliver([b"two\r\n"])
        got = []
        while time.time() - t0 < 2.0:
            try:
                line = c.readline(timeout=t0 + 2.0 - time.time())
            except (socket.timeout, TimeoutError):
                break
            got.append(line)
            if line == b"* 2 EXISTS\r\n":
                break
        self.assertIn(b"* 2 EXISTS\r\n", got)
        self.assertLess(time.time() - t0, 2.0)
        c.send(b"DONE\r\n")
        self.assertEqual(c.tagged(b"i")[-1], b"i OK IDLE terminated.\r\n")
        lines = c.cmd(b"o", b"LOGOUT")
        self.assertTrue(lines[0].startswith(b"* BYE"), lines)
        self.assertTrue(lines[-1].startswith(b"o OK"), lines)
        self.inst.wait_log("compress method=deflate")

    def test_compress_tls_and_big_fetch(self):
        # Compressible bodies (2 x ~600 KiB) and one that is not.
        big = [b"line %06d of a long and very repetitive message\r\n" % i for i in range(12000)]
        noise = lbtest_random(200 * 1024)
        self.deliver([b"".join(big), b"".join(big[:6000]), noise])
        lbtest.wait_files(self.inst.maildir(USER), 3)
        for svc, starttls in (("imaps", False), ("imap", True)):
            c = self.connect(svc, starttls)
            c.cmd(b"s", b"SELECT INBOX")
            c.send(b"f FETCH 1:* BODY[]\r\n")
            sizes = []
            for _ in range(3):
                head = c.readline()
                self.assertRegex(head, rb"^\* \d FETCH \(BODY\[\] \{\d+\}\r\n$")
                n = int(head.rsplit(b"{", 1)[1][:-3])
                body = c.read_exact(n)
                self.assertTrue(body.startswith(b"Return-Path:") or b"Subject:" in body)
                sizes.append(n)
                # BODY[] sets \Seen: the first time FLAGS follow.
                self.assertTrue(c.readline().endswith(b")\r\n"))
            self.assertEqual(c.tagged(b"f")[-1][:4], b"f OK")
            self.assertGreater(sum(sizes), 900000)
            # The wire carried much less than the text (deflate at work).
            self.assertLess(c.wire_in, sum(sizes) * 0.6, (c.wire_in, sizes))
            # STARTTLS is not offered (and refused) under compression.
            self.assertTrue(c.cmd(b"o", b"LOGOUT")[-1].startswith(b"o OK"))

    def test_corrupt_stream_closes(self):
        c = self.connect()
        c.s.sendall(b"\xff\xfe\xfd garbage that is not deflate\r\n")
        with self.assertRaises((EOFError, ConnectionResetError)):
            for _ in range(10):
                c.readline(timeout=10)
        self.inst.wait_log("corrupt compressed input")


def lbtest_random(n):
    import os
    return b"\r\n".join(os.urandom(n // 80).hex().encode()[i:i + 76]
                        for i in range(0, n // 40, 76)) + b"\r\n"
