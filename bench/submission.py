#!/usr/bin/env python3
"""Authenticated submission over implicit TLS (port 465): TLS handshakes/s and
messages/s.  Figures, not a test.

    bench/submission.py HOST PORT USER PASSWORD RCPT [N] [CONC]
"""
import smtplib
import ssl
import sys
import threading
import time


def main():
    host, port, user, pw, rcpt = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    n = int(sys.argv[6]) if len(sys.argv) > 6 else 1000
    conc = int(sys.argv[7]) if len(sys.argv) > 7 else 10
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    body = b"Subject: submission bench\r\n\r\n" + b"x" * 4000 + b"\r\n"

    def handshakes(k, out):
        done = 0
        for _ in range(k):
            s = smtplib.SMTP_SSL(host, port, context=ctx, timeout=30)
            s.ehlo("bench")
            s.quit()
            done += 1
        out.append(done)

    def messages(k, out):
        s = smtplib.SMTP_SSL(host, port, context=ctx, timeout=30)
        s.login(user, pw)
        for _ in range(k):
            s.sendmail(user, [rcpt], body)
        s.quit()
        out.append(k)

    for name, fn, total in (("tls handshakes", handshakes, n // 2), ("auth submission", messages, n)):
        out = []
        threads = [threading.Thread(target=fn, args=(total // conc, out)) for _ in range(conc)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        dt = time.time() - t0
        print("submission %s: n=%d conc=%d %.2f s, %.1f/s" % (name, sum(out), conc, dt, sum(out) / dt))


if __name__ == "__main__":
    main()
