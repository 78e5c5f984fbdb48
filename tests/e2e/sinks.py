"""Loopback peers for end-to-end tests of remote delivery (stdlib only).

    sink = SMTPSink(rcpt={"temp@remote.test": (450, "4.2.0 busy")})
    sink.start()                      # 127.0.0.1:sink.port, a thread per connection
    ... letterbox transport set remote.test smtp:[127.0.0.1]:<sink.port> ...
    msgs = sink.wait_messages(1)      # list of Transaction, blocks up to timeout
    sink.stop()

    dns = DNSServer({"remote.test": {"MX": [(10, "mx.remote.test")]},
                     "mx.remote.test": {"A": ["127.0.0.1"]},
                     "nullmx.test": {"MX": [(0, ".")]}})
    dns.start()                       # 127.0.0.1:dns.port (UDP); dns_resolver = 127.0.0.1:<port>
    dns.stop()

Names not in the table get NXDOMAIN; a name in the table without the asked
type gets an empty answer (NODATA), as a real server would.

The SMTP sink answers per recipient from `rcpt` (exact address, lower case)
or the function `rcpt_fn(addr) -> (code, text) | None`; everything else
gets 250.  Replies can be changed between deliveries (sink.rcpt[...] = ...)
so a test can answer 450 first and 250 after `queue flush`.

Run this file to self-test: python3 tests/e2e/sinks.py
"""
import socket
import socketserver
import ssl
import struct
import threading
import time


class Transaction:
    """One MAIL..DATA transaction as the sink saw it."""

    def __init__(self):
        self.helo = None
        self.tls = False
        self.mail_from = None          # address without <>
        self.mail_params = ""          # "SIZE=123 BODY=8BITMIME RET=HDRS ..."
        self.rcpts = []                # accepted recipients
        self.rcpt_params = {}          # addr -> "NOTIFY=... ORCPT=..."
        self.rejected = []             # (addr, code)
        self.data = b""                # message bytes, dot-unstuffed, CRLF
        self.raw = b""                 # as on the wire (dot-stuffed), without the final "."

    def __repr__(self):
        return "<Transaction from=%r to=%r %d bytes>" % (self.mail_from, self.rcpts,
                                                          len(self.data))


def _addr(arg):
    """'FROM:<a@b> SIZE=1' -> ('a@b', 'SIZE=1')."""
    _, _, rest = arg.partition(":")
    rest = rest.strip()
    if rest.startswith("<"):
        end = rest.find(">")
        if end < 0:
            return None, ""
        return rest[1:end], rest[end + 1:].strip()
    addr, _, params = rest.partition(" ")
    return addr, params.strip()


class SMTPSink:
    """A scriptable SMTP server on 127.0.0.1 that records what it receives."""

    def __init__(self, rcpt=None, rcpt_fn=None, greeting=(220, "sink.test ESMTP"),
                 mail_reply=(250, "2.1.0 Ok"), data_reply=(250, "2.0.0 Ok: queued"),
                 pipelining=True, dsn=True, starttls=None, port=0, max_line=4096):
        """starttls: None, or (certfile, keyfile) to offer STARTTLS with."""
        self.rcpt = dict(rcpt or {})
        self.rcpt_fn = rcpt_fn
        self.greeting = greeting
        self.mail_reply = mail_reply
        self.data_reply = data_reply
        self.pipelining = pipelining
        self.dsn = dsn
        self.max_line = max_line
        self.ctx = None
        if starttls:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(starttls[0], starttls[1])
        self.messages = []             # completed Transactions
        self.commands = []             # every command line (str), all connections
        self.connections = 0
        self.batches = 0               # times several commands arrived in one read
        self._cond = threading.Condition()
        self._want_port = port
        self._server = None
        self._thread = None

    # -- control --
    def start(self):
        sink = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                sink._session(self.request)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server(("127.0.0.1", self._want_port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def wait_messages(self, n, timeout=30):
        """Block until at least n transactions completed; returns the list."""
        end = time.time() + timeout
        with self._cond:
            while len(self.messages) < n:
                left = end - time.time()
                if left <= 0:
                    raise TimeoutError("sink: %d of %d messages after %ss" %
                                       (len(self.messages), n, timeout))
                self._cond.wait(left)
            return list(self.messages)

    def reply_for(self, addr):
        r = self.rcpt.get(addr.lower())
        if r is None and self.rcpt_fn:
            r = self.rcpt_fn(addr)
        return r or (250, "2.1.5 Ok")

    # -- the session --
    def _session(self, sock):
        with self._cond:
            self.connections += 1
        io = _LineIO(sock, self.max_line)
        tx = Transaction()
        tls = False

        def send(code, text, more=()):
            lines = list(more) + [text]
            out = "".join("%d%s%s\r\n" % (code, "-" if i < len(lines) - 1 else " ", l)
                          for i, l in enumerate(lines))
            io.write(out.encode())

        send(*self.greeting)
        if self.greeting[0] != 220:
            io.close()
            return
        helo = None
        mail_ok = False
        while True:
            line = io.readline()
            if line is None:
                return
            if io.pending():
                with self._cond:
                    self.batches += 1
            text = line.decode("utf-8", "replace")
            with self._cond:
                self.commands.append(text)
            verb = text[:4].upper()
            arg = text[4:].strip() if len(text) > 4 else ""
            if verb == "EHLO":
                helo = arg
                caps = ["sink.test"]
                if self.pipelining:
                    caps.append("PIPELINING")
                if self.ctx and not tls:
                    caps.append("STARTTLS")
                if self.dsn:
                    caps.append("DSN")
                caps += ["8BITMIME", "SMTPUTF8", "SIZE 52428800"]
                send(250, caps[-1], caps[:-1])
            elif verb == "HELO":
                helo = arg
                send(250, "sink.test")
            elif text.upper() == "STARTTLS" and self.ctx and not tls:
                send(220, "2.0.0 Ready to start TLS")
                io.starttls(self.ctx)
                tls = True
                helo = None
                tx = Transaction()
            elif verb == "MAIL":
                tx = Transaction()
                tx.helo = helo
                tx.tls = tls
                tx.mail_from, tx.mail_params = _addr(arg)
                send(*self.mail_reply)
                mail_ok = self.mail_reply[0] // 100 == 2
            elif verb == "RCPT":
                addr, params = _addr(arg)
                if tx.mail_from is None or not mail_ok:
                    send(503, "5.5.1 Error: need MAIL command")
                    continue
                code, msg = self.reply_for(addr or "")
                if code // 100 == 2:
                    tx.rcpts.append(addr)
                    tx.rcpt_params[addr] = params
                else:
                    tx.rejected.append((addr, code))
                send(code, msg)
            elif verb == "DATA":
                if not tx.rcpts:
                    send(554, "5.5.1 Error: no valid recipients")
                    continue
                send(354, "End data with <CR><LF>.<CR><LF>")
                raw = []
                while True:
                    l = io.readline(limit=1 << 20)
                    if l is None:
                        return
                    if l == b".":
                        break
                    raw.append(l)
                tx.raw = b"".join(x + b"\r\n" for x in raw)
                tx.data = b"".join((x[1:] if x.startswith(b".") else x) + b"\r\n"
                                   for x in raw)
                code, msg = self.data_reply
                send(code, msg)
                if code // 100 == 2:
                    with self._cond:
                        self.messages.append(tx)
                        self._cond.notify_all()
                tx = Transaction()
            elif verb == "RSET":
                tx = Transaction()
                send(250, "2.0.0 Ok")
            elif verb == "QUIT":
                send(221, "2.0.0 Bye")
                io.close()
                return
            elif verb == "NOOP":
                send(250, "2.0.0 Ok")
            else:
                send(502, "5.5.2 Error: command not recognized")


class _LineIO:
    """CRLF line reader over a socket that can switch to TLS."""

    def __init__(self, sock, max_line):
        self.sock = sock
        self.buf = b""
        self.max_line = max_line
        sock.settimeout(60)

    def pending(self):
        return b"\n" in self.buf

    def readline(self, limit=None):
        limit = limit or self.max_line
        while b"\n" not in self.buf:
            if len(self.buf) > limit:
                return None
            try:
                chunk = self.sock.recv(65536)
            except (OSError, ssl.SSLError):
                return None
            if not chunk:
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line[:-1] if line.endswith(b"\r") else line

    def write(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            pass

    def starttls(self, ctx):
        # Plaintext pipelined after STARTTLS must not survive into TLS.
        self.buf = b""
        self.sock = ctx.wrap_socket(self.sock, server_side=True)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------- DNS

TYPES = {"A": 1, "CNAME": 5, "MX": 15, "TXT": 16, "AAAA": 28}


def _qname(pkt, off):
    labels = []
    while True:
        n = pkt[off]
        off += 1
        if n == 0:
            return ".".join(labels).lower(), off
        if n & 0xC0:
            raise ValueError("compression in a query")
        labels.append(pkt[off:off + n].decode("ascii", "replace"))
        off += n


def _name(name):
    name = name.rstrip(".")
    if not name:
        return b"\0"
    out = b""
    for label in name.split("."):
        b = label.encode("ascii")
        out += bytes([len(b)]) + b
    return out + b"\0"


class DNSServer:
    """A tiny authoritative-for-everything DNS server on 127.0.0.1 (UDP).

    records: {name: {"MX": [(pref, host)], "A": ["127.0.0.1"], "AAAA": ["::1"],
                     "CNAME": "target"}}.  MX (0, ".") is the null MX (RFC 7505).
    servfail: names answered with SERVFAIL; drop: names never answered (timeouts).
    """

    def __init__(self, records=None, servfail=(), drop=(), port=0):
        self.records = {k.lower().rstrip("."): v for k, v in (records or {}).items()}
        self.servfail = {n.lower() for n in servfail}
        self.drop = {n.lower() for n in drop}
        self.queries = []              # (name, type name)
        self._want_port = port
        self._server = None

    def start(self):
        dns = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                resp = dns.answer(data)
                if resp:
                    sock.sendto(resp, self.client_address)

        self._server = socketserver.ThreadingUDPServer(("127.0.0.1", self._want_port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    @property
    def resolver(self):
        """The value for the dns_resolver config key."""
        return "127.0.0.1:%d" % self.port

    def _rr(self, qtype, value):
        if qtype == 15:
            pref, host = value
            rdata = struct.pack(">H", pref) + _name(host)
        elif qtype == 1:
            rdata = socket.inet_pton(socket.AF_INET, value)
        elif qtype == 28:
            rdata = socket.inet_pton(socket.AF_INET6, value)
        elif qtype == 5:
            rdata = _name(value)
        elif qtype == 16:
            b = value.encode()
            rdata = bytes([len(b)]) + b
        else:
            return None
        # owner: pointer to the question name at offset 12
        return struct.pack(">HHHIH", 0xC00C, qtype, 1, 60, len(rdata)) + rdata

    def answer(self, data):
        if len(data) < 12:
            return None
        qid, flags, qd = struct.unpack(">HHH", data[:6])
        try:
            name, off = _qname(data, 12)
        except (IndexError, ValueError):
            return None
        if qd != 1 or off + 4 > len(data):
            return None
        qtype = struct.unpack(">H", data[off:off + 2])[0]
        tname = {v: k for k, v in TYPES.items()}.get(qtype, str(qtype))
        self.queries.append((name, tname))
        if name in self.drop:
            return None
        question = data[12:off + 4]
        rcode, answers = 0, []
        if name in self.servfail:
            rcode = 2
        elif name not in self.records:
            rcode = 3
        else:
            rec = self.records[name]
            if "CNAME" in rec and tname != "CNAME":
                answers.append(self._rr(5, rec["CNAME"]))
                # answer the target too when we know it (owner = target, uncompressed)
                tgt = self.records.get(rec["CNAME"].lower().rstrip("."), {})
                for v in tgt.get(tname, []) if isinstance(tgt.get(tname), list) else []:
                    rr = self._rr(qtype, v)
                    if rr:
                        answers.append(_name(rec["CNAME"]) + rr[2:])
            else:
                vals = rec.get(tname, [])
                if not isinstance(vals, list):
                    vals = [vals]
                for v in vals:
                    rr = self._rr(qtype, v)
                    if rr:
                        answers.append(rr)
        hdr = struct.pack(">HHHHHH", qid, 0x8180 | (flags & 0x0100) | rcode, 1,
                          len(answers), 0, 0)
        return hdr + question + b"".join(answers)


def dns_query(port, name, qtype="MX", timeout=2):
    """A minimal client (for the self-test): returns (rcode, ancount, raw)."""
    qid = 0x4242
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + _name(name) + \
        struct.pack(">HH", TYPES[qtype], 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.sendto(q, ("127.0.0.1", port))
    r, _ = s.recvfrom(4096)
    s.close()
    _, flags, _, an = struct.unpack(">HHHH", r[:8])
    return flags & 0xF, an, r


if __name__ == "__main__":
    import smtplib

    with SMTPSink(rcpt={"temp@remote.test": (450, "4.2.0 busy"),
                        "bad@remote.test": (550, "5.1.1 unknown")}) as sink:
        c = smtplib.SMTP("127.0.0.1", sink.port)
        c.ehlo("selftest")
        assert c.has_extn("pipelining")
        refused = {}
        try:
            refused = c.sendmail("a@example.test",
                                 ["ok@remote.test", "temp@remote.test", "bad@remote.test"],
                                 b"Subject: hi\r\n\r\n.dot line\r\nbody\r\n")
        except smtplib.SMTPRecipientsRefused as e:
            raise SystemExit("unexpected: %r" % e)
        c.quit()
        m = sink.wait_messages(1, timeout=5)[0]
        assert m.rcpts == ["ok@remote.test"], m.rcpts
        assert set(refused) == {"temp@remote.test", "bad@remote.test"}, refused
        assert m.data == b"Subject: hi\r\n\r\n.dot line\r\nbody\r\n", m.data
        assert m.raw.startswith(b"Subject: hi\r\n\r\n..dot"), m.raw
    with DNSServer({"remote.test": {"MX": [(10, "mx.remote.test")]},
                    "mx.remote.test": {"A": ["127.0.0.1"]},
                    "nullmx.test": {"MX": [(0, ".")]}}) as dns:
        assert dns_query(dns.port, "remote.test")[:2] == (0, 1)
        assert dns_query(dns.port, "mx.remote.test", "A")[:2] == (0, 1)
        assert dns_query(dns.port, "mx.remote.test", "AAAA")[:2] == (0, 0)
        assert dns_query(dns.port, "nullmx.test")[:2] == (0, 1)
        assert dns_query(dns.port, "nowhere.test")[:2] == (3, 0)
    print("sinks self-test ok")
