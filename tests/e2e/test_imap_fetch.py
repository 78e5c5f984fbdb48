"""FETCH and UID FETCH (issue 13): every item of RFC 3501 / RFC 9051 and
RFC 3516 BINARY, byte-exact CRLF output from LF and CRLF files, \\Seen,
messages expunged under the session, and a large FETCH 1:* BODY[] streamed
while another session is served.  Messages arrive by SMTP or are written
into the Maildir directly; the bytes are compared with what Python's email
module and the file itself say.  A small raw client reads the responses
(imaplib cannot read literal8)."""
import base64
import email
import email.policy
import os
import re
import smtplib
import socket
import subprocess
import time

import lbtest
from test_imap import ImapBase, USER, PASSWORD

BOUNDARY = "=_outer_42"
PART1 = (b"Caf=C3=A9 au lait, line one=\r\n continues\r\n"
         b"second line\r\n")
ATTACH = bytes(range(256)) * 40 + b"\x00tail\x00"
ATTACH_B64 = base64.encodebytes(ATTACH).replace(b"\n", b"\r\n").rstrip(b"\r\n")
INNER = (b"From: Inner <inner@example.org>\r\nSubject: inner one\r\n"
         b"Content-Type: text/plain\r\n\r\ninner body\r\nline 2\r\n")
HEADER = (b"From: Bob <bob@example.org>\r\nTo: alice@example.com\r\n"
          b"Subject: multipart test\r\nX-Extra: folded\r\n value\r\n"
          b"MIME-Version: 1.0\r\n"
          b"Content-Type: multipart/mixed; boundary=\"" + BOUNDARY.encode() + b"\"\r\n")
MIME1 = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
MIME2 = (b"Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
         b"Content-Disposition: attachment; filename=\"a.bin\"\r\n"
         b"Content-Transfer-Encoding: base64\r\n")
MIME3 = b"Content-Type: message/rfc822\r\n"
B = b"--" + BOUNDARY.encode()
TEXT = (b"preamble\r\n" + B + b"\r\n" + MIME1 + b"\r\n" + PART1 + b"\r\n" +
        B + b"\r\n" + MIME2 + b"\r\n" + ATTACH_B64 + b"\r\n" +
        B + b"\r\n" + MIME3 + b"\r\n" + INNER + b"\r\n" + B + b"--\r\n")
MESSAGE = HEADER + b"\r\n" + TEXT


class Raw:
    """A raw IMAP connection that reads literals ({n} and ~{n}) exactly."""

    def __init__(self, test, svc="imap"):
        self.t = test
        self.s, self.f, greeting = test.raw(svc)
        test.assertTrue(greeting.startswith(b"* OK"), greeting)
        self.n = 0

    def close(self):
        self.f.close()
        self.s.close()

    def send(self, cmd):
        self.n += 1
        tag = b"t%d" % self.n
        self.s.sendall(tag + b" " + cmd + b"\r\n")
        return tag

    def read_response(self):
        """One response: its text with literal bytes inline, and the literals."""
        out, lits = b"", []
        while True:
            line = self.f.readline()
            self.t.assertNotEqual(line, b"", "connection closed after %r" % out[-300:])
            out += line
            m = re.search(rb"~?\{(\d+)\}\r\n$", line)
            if not m:
                return out, lits
            data = self.f.read(int(m.group(1)))
            lits.append(data)
            out += data

    def cmd(self, cmd):
        """Send cmd; (untagged responses as [(text, literals)], tagged line)."""
        tag = self.send(cmd)
        resp = []
        while True:
            text, lits = self.read_response()
            if text.startswith(tag + b" "):
                return resp, text
            resp.append((text, lits))

    def ok(self, cmd):
        resp, tagged = self.cmd(cmd)
        self.t.assertIn(b" OK ", tagged, (cmd, tagged))
        return resp


def parse(data, pos=0):
    """Parse one IMAP value at data[pos:]: (value, next pos).  Lists are
    Python lists, literals and quoted strings bytes, atoms bytes (an atom
    keeps any [...] it holds, so BODY[HEADER.FIELDS (A B)]<0> is one)."""
    while data[pos:pos + 1] == b" ":
        pos += 1
    c = data[pos:pos + 1]
    if c == b"(":
        items, pos = [], pos + 1
        while True:
            while data[pos:pos + 1] == b" ":
                pos += 1
            if data[pos:pos + 1] == b")":
                return items, pos + 1
            v, pos = parse(data, pos)
            items.append(v)
    if c == b'"':
        out, pos = b"", pos + 1
        while data[pos:pos + 1] != b'"':
            if data[pos:pos + 1] == b"\\":
                pos += 1
            out += data[pos:pos + 1]
            pos += 1
        return out, pos + 1
    m = re.match(rb"~?\{(\d+)\}\r\n", data[pos:])
    if m:
        start = pos + m.end()
        return data[start:start + int(m.group(1))], start + int(m.group(1))
    start, depth = pos, 0
    while pos < len(data):
        ch = data[pos:pos + 1]
        if ch == b"[":
            depth += 1
        elif ch == b"]":
            depth -= 1
        elif depth == 0 and ch in (b" ", b")", b"(", b"\r"):
            break
        pos += 1
    return data[start:pos], pos


def fetch_dict(text):
    """'* n FETCH (K V K V)' to (n, {K: V})."""
    m = re.match(rb"\* (\d+) FETCH ", text)
    assert m, text
    items, _ = parse(text, m.end())
    return int(m.group(1)), {items[i].upper() if isinstance(items[i], bytes) else items[i]:
                             items[i + 1] for i in range(0, len(items), 2)}


def fetches(resp):
    return [fetch_dict(text) for text, _ in resp if re.match(rb"\* \d+ FETCH ", text)]


def crlf(b):
    return re.sub(rb"(?<!\r)\n", b"\r\n", b)


class ImapFetchTest(ImapBase):
    conf = {"auth_failure_delay": "0", "disable_plaintext_auth": "no"}

    def deliver(self, msgs):
        smtp = smtplib.SMTP("127.0.0.1", self.inst.port("smtp"), timeout=20)
        for m in msgs:
            smtp.sendmail("bob@example.org", [USER], m)
        smtp.quit()
        return lbtest.wait_files(self.inst.maildir(USER), len(msgs))

    def put_file(self, name, data, sub="cur"):
        """A message written into the Maildir by another program."""
        md = self.inst.maildir(USER)
        st = os.stat(md)
        path = os.path.join(md, sub, name)
        with open(path, "wb") as f:
            f.write(data)
        os.chown(path, st.st_uid, st.st_gid)
        return path

    def login(self, svc="imap"):
        r = Raw(self, svc)
        r.ok(b'LOGIN "%s" "%s"' % (USER.encode(), PASSWORD.encode()))
        return r

    def select(self, r, cmd=b"SELECT INBOX"):
        resp = r.ok(cmd)
        return int([t for t, _ in resp if t.endswith(b" EXISTS\r\n")][0].split()[1])

    def one(self, r, cmd):
        f = fetches(r.ok(cmd))
        self.assertEqual(len(f), 1, f)
        return f[0][1]

    def test_sections_partial_and_binary(self):
        self.inst.start(wait_for=("smtp", "imap", "imaps"))
        self.addCleanup(self.inst.kill)
        path = self.deliver([MESSAGE])[0]
        disk = lbtest.read_msg(path)
        r = self.login("imaps")
        self.assertEqual(self.select(r), 1)
        parsed = email.message_from_bytes(disk, policy=email.policy.compat32)
        parts = parsed.get_payload()

        d = self.one(r, b"FETCH 1 (BODY.PEEK[] RFC822.SIZE BODY.PEEK[HEADER] BODY.PEEK[TEXT])")
        self.assertEqual(d[b"BODY[]"], disk)
        self.assertEqual(int(d[b"RFC822.SIZE"]), len(disk))
        hdr_end = disk.index(b"\r\n\r\n") + 4
        self.assertEqual(d[b"BODY[HEADER]"], disk[:hdr_end])
        self.assertEqual(d[b"BODY[TEXT]"], disk[hdr_end:])
        self.assertTrue(disk.endswith(MESSAGE))

        d = self.one(r, b"FETCH 1 (BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2] BODY.PEEK[3] "
                        b"BODY.PEEK[3.HEADER] BODY.PEEK[3.TEXT] BODY.PEEK[3.1] BODY.PEEK[4])")
        self.assertEqual(d[b"BODY[1]"], PART1)
        self.assertEqual(d[b"BODY[1]"], parts[0].get_payload().encode())
        self.assertEqual(d[b"BODY[1.MIME]"], MIME1 + b"\r\n")
        self.assertEqual(d[b"BODY[2]"], ATTACH_B64)
        self.assertEqual(d[b"BODY[3]"], INNER)
        self.assertEqual(d[b"BODY[3.HEADER]"], INNER[:INNER.index(b"\r\n\r\n") + 4])
        self.assertEqual(d[b"BODY[3.TEXT]"], b"inner body\r\nline 2\r\n")
        self.assertEqual(d[b"BODY[3.1]"], b"inner body\r\nline 2\r\n")
        self.assertEqual(d[b"BODY[4]"], b"")		# no such part: empty (Dovecot)

        d = self.one(r, b"FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject X-EXTRA)] "
                        b"BODY.PEEK[HEADER.FIELDS.NOT (Subject X-Extra MIME-Version "
                        b"Content-Type Return-Path Delivered-To Received)] "
                        b"BODY.PEEK[3.HEADER.FIELDS (SUBJECT)] RFC822.HEADER)")
        self.assertEqual(d[b"BODY[HEADER.FIELDS (SUBJECT X-EXTRA)]"],
                         b"Subject: multipart test\r\nX-Extra: folded\r\n value\r\n\r\n")
        rest = d[b"BODY[HEADER.FIELDS.NOT (SUBJECT X-EXTRA MIME-VERSION CONTENT-TYPE "
                 b"RETURN-PATH DELIVERED-TO RECEIVED)]"]
        self.assertTrue(rest.startswith(b"From: Bob") or b"\r\nFrom: Bob" in rest, rest)
        self.assertNotIn(b"Subject", rest)
        self.assertTrue(rest.endswith(b"\r\n\r\n"))
        self.assertEqual(d[b"BODY[3.HEADER.FIELDS (SUBJECT)]"], b"Subject: inner one\r\n\r\n")
        self.assertEqual(d[b"RFC822.HEADER"], disk[:hdr_end])

        # partial: windows of the CRLF bytes, past the end is empty
        d = self.one(r, b"FETCH 1 (BODY.PEEK[]<10.20> BODY.PEEK[2]<0.5> "
                        b"BODY.PEEK[TEXT]<5.100000000> BODY.PEEK[1]<100000.10>)")
        self.assertEqual(d[b"BODY[]<10>"], disk[10:30])
        self.assertEqual(d[b"BODY[2]<0>"], ATTACH_B64[:5])
        self.assertEqual(d[b"BODY[TEXT]<5>"], disk[hdr_end + 5:])
        self.assertEqual(d[b"BODY[1]<100000>"], b"")

        # BINARY: decoded content; NUL in it -> literal8
        resp = r.ok(b"FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[1] BINARY.SIZE[1] "
                    b"BINARY.PEEK[2]<3.7>)")
        text = resp[0][0]
        self.assertIn(b"BINARY[2] ~{%d}\r\n" % len(ATTACH), text)
        d = fetch_dict(text)[1]
        self.assertEqual(d[b"BINARY[2]"], ATTACH)
        self.assertEqual(d[b"BINARY[2]"], parts[1].get_payload(decode=True))
        self.assertEqual(int(d[b"BINARY.SIZE[2]"]), len(ATTACH))
        self.assertEqual(d[b"BINARY[1]"], parts[0].get_payload(decode=True))
        self.assertEqual(d[b"BINARY[1]"].decode("utf-8"),
                         "Café au lait, line one continues\r\nsecond line\r\n")
        self.assertEqual(int(d[b"BINARY.SIZE[1]"]), len(d[b"BINARY[1]"]))
        self.assertEqual(d[b"BINARY[2]<3>"], ATTACH[3:10])

        # the structure's sizes are those of the bytes FETCH returns
        d = self.one(r, b"FETCH 1 (BODYSTRUCTURE BODY ENVELOPE)")
        bs = d[b"BODYSTRUCTURE"]
        self.assertEqual(bs[3], b"mixed")
        self.assertEqual(int(bs[0][6]), len(PART1))
        self.assertEqual(int(bs[1][6]), len(ATTACH_B64))
        self.assertEqual(int(bs[2][6]), len(INNER))
        self.assertEqual(d[b"ENVELOPE"][1], b"multipart test")
        self.assertEqual(d[b"ENVELOPE"][2][0][2:], [b"bob", b"example.org"])
        self.assertEqual(d[b"BODY"][len(d[b"BODY"]) - 1], b"mixed")

        # nothing above set \Seen (all PEEK)
        self.assertEqual(self.one(r, b"FETCH 1 FLAGS")[b"FLAGS"], [b"\\Recent"])
        r.close()
        self.stop_clean()

    def test_simple_items_macros_seen_and_uid(self):
        self.inst.start(wait_for=("smtp", "imap", "imaps"))
        self.addCleanup(self.inst.kill)
        self.deliver([b"From: a@example.org\r\nSubject: s%d\r\n\r\nbody %d\r\n" % (i, i)
                      for i in range(3)])
        r = self.login()
        caps = r.ok(b"CAPABILITY")[0][0]
        self.assertIn(b" BINARY", caps)	# RFC 3516
        self.assertEqual(self.select(r, b"EXAMINE INBOX"), 3)
        # EXAMINE: a non-PEEK fetch does not set \Seen
        d = self.one(r, b"FETCH 1 (BODY[TEXT])")
        self.assertEqual(d[b"BODY[TEXT]"], b"body 0\r\n")
        self.assertNotIn(b"FLAGS", d)
        self.assertEqual(self.select(r), 3)

        f = fetches(r.ok(b"FETCH 1:* FAST"))
        self.assertEqual([n for n, _ in f], [1, 2, 3])
        for n, d in f:
            self.assertEqual(set(d), {b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE"})
            self.assertRegex(d[b"INTERNALDATE"].decode(),
                             r"^[ \d]\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}$")
        d = self.one(r, b"FETCH 2 ALL")
        self.assertEqual(set(d), {b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE", b"ENVELOPE"})
        self.assertEqual(d[b"ENVELOPE"][1], b"s1")
        d = self.one(r, b"FETCH 2 FULL")
        self.assertEqual(set(d), {b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE", b"ENVELOPE",
                                  b"BODY"})
        self.assertEqual(d[b"BODY"][:2], [b"text", b"plain"])

        # UID FETCH always says UID; UIDs outside the view are left out
        f = fetches(r.ok(b"UID FETCH 1:* FLAGS"))
        self.assertEqual([(n, d[b"UID"]) for n, d in f], [(1, b"1"), (2, b"2"), (3, b"3")])
        f = fetches(r.ok(b"UID FETCH 2,7:9 (UID RFC822.SIZE)"))
        self.assertEqual([(n, d[b"UID"]) for n, d in f], [(2, b"2")])
        self.assertEqual(fetches(r.ok(b"UID FETCH 50:60 FLAGS")), [])

        # \Seen: PEEK leaves it, BODY[] and RFC822 set it and say so
        d = self.one(r, b"FETCH 1 (BODY.PEEK[])")
        self.assertNotIn(b"FLAGS", d)
        d = self.one(r, b"FETCH 1 (BODY[])")
        self.assertIn(b"\\Seen", d[b"FLAGS"])
        d = self.one(r, b"FETCH 2 (FLAGS RFC822)")
        self.assertIn(b"\\Seen", d[b"FLAGS"])
        self.assertTrue(d[b"RFC822"].endswith(b"Subject: s1\r\n\r\nbody 1\r\n"))
        d = self.one(r, b"UID FETCH 3 (RFC822.TEXT)")
        self.assertEqual((d[b"UID"], d[b"RFC822.TEXT"]), (b"3", b"body 2\r\n"))
        self.assertIn(b"\\Seen", d[b"FLAGS"])
        # the flag is on disk (another session sees it)
        names = os.listdir(os.path.join(self.inst.maildir(USER), "cur"))
        self.assertEqual(sum(1 for n in names if re.search(r":2,[A-Z]*S", n)), 3, names)

        # errors: BAD, and the session goes on
        for bad in (b"FETCH 0 FLAGS", b"FETCH 4 FLAGS", b"FETCH 1 (BODY[)", b"FETCH 1",
                    b"FETCH 1 (FLAGS BOGUS)", b"FETCH 1 BODY[1]<1.0>", b"FETCH x FLAGS",
                    b"FETCH 1 (FLAGS) (CHANGEDSINCE x)", b"UID BOGUS 1"):
            resp, tagged = r.cmd(bad)
            self.assertIn(b" BAD ", tagged, bad)
        # pipelined: answered in order
        r.s.sendall(b"p1 FETCH 1 UID\r\np2 NOOP\r\np3 FETCH 2 UID\r\n")
        lines = [r.read_response()[0] for _ in range(5)]
        self.assertTrue(lines[0].startswith(b"* 1 FETCH (UID 1)"), lines)
        self.assertTrue(lines[1].startswith(b"p1 OK"), lines)
        self.assertTrue(lines[2].startswith(b"p2 OK"), lines)
        self.assertTrue(lines[3].startswith(b"* 2 FETCH (UID 2)"), lines)
        self.assertTrue(lines[4].startswith(b"p3 OK"), lines)
        r.ok(b"LOGOUT")
        r.close()
        self.stop_clean()

    def test_lf_and_crlf_files_and_unknown_cte(self):
        self.inst.start(wait_for=("smtp", "imap", "imaps"))
        self.addCleanup(self.inst.kill)
        self.deliver([b"Subject: first\r\n\r\nx\r\n"])
        lf = MESSAGE.replace(b"\r\n", b"\n")
        # names without ,W=: the CRLF size must come from the bytes
        self.put_file("1700000001.M1P1.host,S=%d:2," % len(lf), lf)
        self.put_file("1700000002.M2P2.host:2,S", MESSAGE)
        uu = (b"Subject: uu\nContent-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n"
              b"\nbegin 644 a\n#86)C\n`\nend\n")
        self.put_file("1700000003.M3P3.host:2,", uu)
        r = self.login()
        self.assertEqual(self.select(r), 4)
        subj = dict((n, d[b"BODY[HEADER.FIELDS (SUBJECT)]"]) for n, d in
                    fetches(r.ok(b"FETCH 1:* BODY.PEEK[HEADER.FIELDS (SUBJECT)]")))
        multi = [n for n in subj if subj[n] == b"Subject: multipart test\r\n\r\n"]
        uun = [n for n in subj if subj[n] == b"Subject: uu\r\n\r\n"][0]
        self.assertEqual(len(multi), 2, subj)
        # RFC822.SIZE alone reads no file: the size of the CRLF form from the cache
        sizes = dict(fetches(r.ok(b"FETCH 1:* (RFC822.SIZE)")))
        self.assertEqual([int(sizes[n][b"RFC822.SIZE"]) for n in multi], [len(MESSAGE)] * 2)
        self.assertEqual(int(sizes[uun][b"RFC822.SIZE"]), len(crlf(uu)))
        items = (b"(RFC822.SIZE BODY.PEEK[] BODY.PEEK[1] BODY.PEEK[2]<7.100> BINARY.PEEK[2] "
                 b"BINARY.SIZE[1] BODY.PEEK[HEADER.FIELDS (X-Extra)] BODYSTRUCTURE ENVELOPE)")
        f = dict(fetches(r.ok(b"FETCH %d,%d " % tuple(multi) + items)))
        a, b = f[multi[0]], f[multi[1]]
        self.assertEqual(a, b)
        self.assertEqual(a[b"BODY[]"], MESSAGE)
        self.assertEqual(int(a[b"RFC822.SIZE"]), len(MESSAGE))
        self.assertEqual(a[b"BODY[1]"], PART1)
        self.assertEqual(a[b"BINARY[2]"], ATTACH)
        self.assertEqual(a[b"BODY[HEADER.FIELDS (X-EXTRA)]"], b"X-Extra: folded\r\n value\r\n\r\n")
        # RFC 3516: an encoding we cannot undo
        resp, tagged = r.cmd(b"FETCH %d BINARY.PEEK[1]" % uun)
        self.assertIn(b"NO [UNKNOWN-CTE]", tagged)
        self.assertEqual(self.one(r, b"FETCH %d BODY.PEEK[1]" % uun)[b"BODY[1]"],
                         b"begin 644 a\r\n#86)C\r\n`\r\nend\r\n")
        r.close()
        self.stop_clean()

    def test_wrong_size_in_file_names(self):
        """,S= in a file name only spares the server a stat when it reads the
        file: a name that says less or more than the file holds still gives
        the whole file, from LF and CRLF files alike."""
        self.inst.start(wait_for=("smtp", "imap", "imaps"))
        self.addCleanup(self.inst.kill)
        self.deliver([b"Subject: first\r\n\r\nx\r\n"])
        lf = MESSAGE.replace(b"\r\n", b"\n")
        self.put_file("1700000011.M1P1.host,S=%d:2," % (len(lf) - 100), lf)
        self.put_file("1700000012.M2P2.host,S=%d:2," % (len(lf) + 1), lf)
        self.put_file("1700000013.M3P3.host,S=%d:2," % (len(MESSAGE) - 1), MESSAGE)
        self.put_file("1700000014.M4P4.host,S=%d:2," % len(MESSAGE), MESSAGE)
        r = self.login()
        self.assertEqual(self.select(r), 5)
        got = dict((n, d[b"BODY[]"]) for n, d in fetches(r.ok(b"FETCH 1:* BODY.PEEK[]")))
        self.assertEqual(sorted(got), [1, 2, 3, 4, 5])
        other = [v for v in got.values() if v != MESSAGE]
        self.assertEqual(len(other), 1, [len(v) for v in got.values()])
        self.assertTrue(other[0].endswith(b"Subject: first\r\n\r\nx\r\n"), other[0][-200:])
        r.close()
        self.stop_clean()

    def test_expunged_by_another_session(self):
        self.inst.start(wait_for=("smtp", "imap", "imaps"))
        self.addCleanup(self.inst.kill)
        paths = self.deliver([b"Subject: m%d\r\n\r\nbody %d\r\n" % (i, i) for i in range(3)])
        r = self.login()
        self.assertEqual(self.select(r), 3)
        # another program (a POP3 DELE, another server) removes message 2
        cur = os.path.join(self.inst.maildir(USER), "cur")
        victim = [os.path.join(cur, p) for p in os.listdir(cur)
                  if lbtest.read_msg(os.path.join(cur, p)).endswith(b"body 1\r\n")]
        self.assertEqual(len(victim), 1)
        os.unlink(victim[0])
        resp, tagged = r.cmd(b"FETCH 1:3 (UID BODY.PEEK[TEXT])")
        got = dict((n, d[b"BODY[TEXT]"]) for n, d in fetches(resp))
        self.assertEqual(got, {1: b"body 0\r\n", 3: b"body 2\r\n"})
        self.assertIn(b"NO [EXPUNGEISSUED]", tagged)
        # what the view still knows is answered
        self.assertEqual(len(fetches(r.ok(b"FETCH 1:3 (UID FLAGS)"))), 3)
        r.ok(b"NOOP")
        r.close()
        self.stop_clean()

    def test_large_fetch_streams_while_others_are_served(self):
        self.inst.start(wait_for=("smtp", "imap", "imaps"))
        self.addCleanup(self.inst.kill)
        self.deliver([b"Subject: seed\r\n\r\nseed\r\n"])
        n, size = 300, 100 * 1024
        body = (b"0123456789abcdefghijklmnopqrstuvwxyz" * 3 + b"\n") * (size // 109)
        for i in range(n):
            data = b"Subject: big %d\nMessage-ID: <%d@x>\n\n" % (i, i) + body
            self.put_file("17000%05d.M%dP1.host:2," % (i, i), data)
        big = self.login()
        self.assertEqual(self.select(big), n + 1)
        rss0 = self.rss()
        big.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        tag = big.send(b"FETCH 1:* BODY.PEEK[]")
        # the first bytes arrive; the client then stops reading
        self.assertTrue(big.f.peek(1))
        other = self.login("imaps")
        self.select(other)
        t0 = time.time()
        other.ok(b"NOOP")
        other.ok(b"FETCH 1 (BODY.PEEK[TEXT])")
        self.assertLess(time.time() - t0, 5, "other session held up by the big FETCH")
        # nothing like the 30 MB response sits in the server's memory
        self.assertLess(self.rss() - rss0, 16 * 1024 * 1024)
        seen = set()
        while True:
            text, lits = big.read_response()
            if text.startswith(tag + b" "):
                self.assertIn(b" OK ", text)
                break
            self.assertEqual(len(lits), 1, text[:100])
            if lits[0].startswith(b"Return-Path:"):
                continue	# the seed delivered by SMTP
            i = int(re.match(rb"Subject: big (\d+)\r\n", lits[0]).group(1))
            self.assertEqual(lits[0], crlf(b"Subject: big %d\nMessage-ID: <%d@x>\n\n" % (i, i) +
                                           body))
            seen.add(i)
        self.assertEqual(seen, set(range(n)))
        other.ok(b"LOGOUT")
        big.ok(b"LOGOUT")
        self.stop_clean()

    def test_client_gone_and_shutdown_mid_fetch(self):
        """A client that leaves, and a daemon stopped, while a FETCH is streaming
        (a job on the pool holds the session's mailbox): nothing leaks or crashes."""
        self.inst.start(wait_for=("smtp", "imap", "imaps"))
        self.addCleanup(self.inst.kill)
        self.deliver([b"Subject: seed\r\n\r\nseed\r\n"])
        body = b"x" * 99 + b"\n"
        for i in range(60):
            self.put_file("17000%05d.M%dP1.host:2," % (i, i), b"Subject: %d\n\n" % i + body * 1000)
        for svc in ("imap", "imaps"):
            gone = self.login(svc)
            self.select(gone)
            gone.send(b"FETCH 1:* BODY[]")		# sets \Seen on the pool as it goes
            self.assertTrue(gone.f.read(50000))
            gone.s.shutdown(socket.SHUT_RDWR)
            gone.close()
        r = self.login()
        self.assertEqual(self.select(r), 61)
        self.assertEqual(len(fetches(r.ok(b"FETCH 1:* (UID RFC822.SIZE)"))), 61)
        r.ok(b"LOGOUT")
        r.close()
        busy = self.login("imaps")
        self.select(busy)
        busy.send(b"FETCH 1:* BODY.PEEK[]")
        self.assertTrue(busy.f.read(50000))
        self.stop_clean()

    def test_imaplib_starttls_and_curl(self):
        """Real clients: imaplib over 143 + STARTTLS and over 993, curl's
        imap://...;UID=n (UID FETCH n BODY[]) with STARTTLS and implicit TLS."""
        self.inst.start(wait_for=("smtp", "imap", "imaps"))
        self.addCleanup(self.inst.kill)
        path = self.deliver([MESSAGE])[0]
        disk = lbtest.read_msg(path)
        for starttls in (True, False):
            if starttls:
                m = self.imap()
                m.starttls(ssl_context=self.ctx)
            else:
                m = self.imaps()
            m.login(USER, PASSWORD)
            self.assertEqual(m.select("INBOX"), ("OK", [b"1"]))
            typ, data = m.fetch("1", "(UID RFC822.SIZE BODY.PEEK[])")
            self.assertEqual(typ, "OK")
            self.assertEqual(data[0][1], disk)
            self.assertIn(b"RFC822.SIZE %d" % len(disk), data[0][0])
            typ, data = m.uid("FETCH", "1", "(BODY.PEEK[2]<0.10>)")
            self.assertEqual((typ, data[0][1]), ("OK", ATTACH_B64[:10]))
            self.assertIn(b"UID 1", data[0][0] + data[1])
            m.logout()
        cert = os.path.join(self.inst.dir, "tls", "cert.pem")
        for scheme, svc, extra in (("imap", "imap", ["--ssl-reqd"]), ("imaps", "imaps", [])):
            port = self.inst.port(svc)
            p = subprocess.run(["curl", "-sS", "--max-time", "20", "--cacert", cert,
                                "--resolve", "mail.example.test:%d:127.0.0.1" % port,
                                "-u", "%s:%s" % (USER, PASSWORD)] + extra +
                               ["%s://mail.example.test:%d/INBOX;UID=1" % (scheme, port)],
                               capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 0, p)
            self.assertEqual(p.stdout, disk)
        self.stop_clean()

    def rss(self):
        with open("/proc/%d/status" % self.inst.proc.pid) as f:
            return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) * 1024
