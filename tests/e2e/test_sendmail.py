"""`letterbox sendmail` keeps the message body byte for byte (issue 9.6).

Every case pipes a message to `sendmail` as cron or mailx would and compares
the body stored in the Maildir with the body that went in.  Line endings are
compared after normalising CRLF to LF on both sides: sendmail normalises its
input to CRLF, and the store may write either CRLF or LF on disk (it is being
changed to LF); a missing final line ending is added.  Nothing else may
change: no line lost, moved into the header, quoted (">From ") or added.
"""
import os
import subprocess
import unittest

import lbtest

# name: (extra sendmail args, input bytes, expected body bytes or None = the input's body)
CASES = {
    "lf_no_date": ([], b"Subject: lf\nTo: x@example.com\n\nline 1\n\nline 3\n", None),
    "crlf_no_date": ([], b"Subject: crlf\r\n\r\nline 1\r\n\r\nline 3\r\n", None),
    "mixed": ([], b"Subject: mixed\r\nX-A: 1\n\r\nbody 1\r\nbody 2\nbody 3\r\n", None),
    "with_date_and_mid": ([], b"Subject: dated\nDate: Fri, 04 Dec 2026 10:00:00 +0000\n"
                              b"Message-ID: <abc@example.org>\n\nkeep me\n", None),
    "with_date_only": ([], b"Subject: d\nDate: Fri, 04 Dec 2026 10:00:00 +0000\n\nx\n", None),
    "with_mid_only": ([], b"Subject: m\nMessage-ID: <m@example.org>\n\ny\n", None),
    "empty_body": ([], b"Subject: empty\n\n", b""),
    "headers_only": ([], b"Subject: headers only\nX-B: 2\n", b""),
    "from_line_in_body": ([], b"Subject: from\n\nFrom here on\nFrom: not a header\n>From x\n", None),
    "dot_line_with_i": (["-i"], b"Subject: dot\n\nbefore\n.\n..\nafter\n", None),
    "dot_line_ends_input": ([], b"Subject: dot2\n\nbefore\n.\nnot read\n", b"before\n"),
    "no_header_at_all": ([], b"just a body line\nsecond: looks like a field\n", None),
    "leading_empty_line": ([], b"\nbody after an empty header\n", None),
    "folded_header": ([], b"Subject: folded\n  across two lines\n\nbody\n", None),
    "no_final_newline": ([], b"Subject: nl\n\nno newline at the end", None),
    "blank_lines_in_body": ([], b"Subject: blanks\n\n\n\nafter two blank lines\n\n", None),
    "t_option": (["-t"], b"To: {rcpt}\nSubject: -t\nBcc: {rcpt}\n\nhello -t\n", None),
    "cron_options": (["-FCronDaemon", "-i", "-B8BITMIME", "-oem"],
                     b"Content-Type: text/plain; charset=UTF-8\nSubject: Cron <root@host> job\n\n"
                     b"output \xc3\xa9\n", None),
}


def norm(b):
    b = b.replace(b"\r\n", b"\n")
    return b if b == b"" or b.endswith(b"\n") else b + b"\n"


def input_body(msg):
    """The body of the input as a mail reader sees it: after the first empty
    line, or all of it when the first line is not a header field."""
    m = msg.replace(b"\r\n", b"\n")
    first = m.split(b"\n", 1)[0]
    if first and b":" not in first:
        return m
    if m.startswith(b"\n"):
        return m[1:]
    return m.split(b"\n\n", 1)[1] if b"\n\n" in m else b""


class SendmailBodyTest(lbtest.InstanceTest):
    def test_bodies_byte_identical(self):
        i = self.inst
        i.cli("domain", "add", "example.com")
        names = sorted(CASES)
        for n in names:
            self.assertEqual(i.cli("user", "add", "%s@example.com" % n.replace("_", "-"),
                                   stdin="pw\n").rc, 0)
        i.start()
        # The queue manager's start-up recovery removes unfinished temp files:
        # submit once it has run (the listeners open before it).
        self.assertTrue(i.wait_log("qmgr: started"), i.log())
        for n in names:
            rcpt = "%s@example.com" % n.replace("_", "-")
            args, data, want = CASES[n]
            data = data.replace(b"{rcpt}", rcpt.encode())
            argv = [lbtest.BIN, "-c", i.conf, "sendmail"] + args + ([] if "-t" in args else [rcpt])
            p = subprocess.run(argv, input=data, capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 0, "%s: %r" % (n, p.stderr))
            self.assertFalse(lbtest.sanitizer_report(p.stderr.decode(errors="replace")), p.stderr)
        for n in names:
            rcpt = "%s@example.com" % n.replace("_", "-")
            args, data, want = CASES[n]
            files = lbtest.wait_files(i.maildir(rcpt), 1)
            self.assertEqual(len(files), 1, "%s: %s" % (n, i.log()[-2000:]))
            stored = open(files[0], "rb").read().replace(b"\r\n", b"\n")
            self.assertIn(b"\n\n", stored, n)
            head, body = stored.split(b"\n\n", 1)
            expect = input_body(data) if want is None else want
            self.assertEqual(norm(body), norm(expect), "%s: stored %r" % (n, stored))
            # The header got what sendmail adds, once, and no body line.
            for h in (b"\nDate: ", b"\nMessage-ID: ", b"\nFrom: "):
                self.assertEqual(head.count(h), 1, "%s: %r" % (n, head))
            self.assertNotIn(b"Bcc:", head, n)
        self.stop_clean()


if __name__ == "__main__":
    unittest.main()
