"""`letterbox init` and `letterbox cert create`: the self-signed certificate,
checked with the real openssl(1) tool (names, validity, key match, modes,
ownership when run as root)."""
import os
import pwd
import stat
import subprocess
import unittest

import lbtest


def openssl(*args):
    p = subprocess.run(["openssl"] + list(args), capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


class CertTest(lbtest.InstanceTest):
    def paths(self):
        tls = os.path.join(self.inst.dir, "tls")
        return os.path.join(tls, "cert.pem"), os.path.join(tls, "key.pem")

    def check_pair(self, cert, key, name):
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(cert).st_mode), 0o644)
        rc, out = openssl("x509", "-in", cert, "-noout", "-subject", "-ext", "subjectAltName")
        self.assertEqual(rc, 0, out)
        self.assertIn("CN = " + name, out)
        self.assertIn("DNS:" + name, out)
        self.assertEqual(out.count("DNS:"), 1, out)
        rc, out = openssl("verify", "-CAfile", cert, cert)
        self.assertEqual(rc, 0, out)
        self.assertIn(": OK", out)
        # Usable as a server certificate for exactly that name.
        rc, out = openssl("verify", "-purpose", "sslserver", "-verify_hostname", name,
                          "-CAfile", cert, cert)
        self.assertEqual(rc, 0, out)
        rc, out = openssl("verify", "-verify_hostname", "not-" + name, "-CAfile", cert, cert)
        self.assertNotEqual(rc, 0, out)
        # The key belongs to the certificate, RSA 2048, not encrypted.
        rc1, pub_c = openssl("x509", "-in", cert, "-noout", "-pubkey")
        rc2, pub_k = openssl("pkey", "-in", key, "-pubout", "-passin", "pass:")
        self.assertEqual((rc1, rc2), (0, 0), pub_k)
        self.assertEqual(pub_c, pub_k)
        rc, out = openssl("x509", "-in", cert, "-noout", "-text")
        self.assertIn("Public-Key: (2048 bit)", out)
        self.assertIn("sha256WithRSAEncryption", out)
        # Valid for (about) ten years: still valid in 9 years, not in 11.
        self.assertEqual(openssl("x509", "-in", cert, "-noout", "-checkend",
                                 str(9 * 365 * 86400))[0], 0)
        self.assertNotEqual(openssl("x509", "-in", cert, "-noout", "-checkend",
                                    str(11 * 365 * 86400))[0], 0)
        if os.geteuid() == 0:
            # Issue 10.2: root reads the key before the privilege drop; the mail
            # owner must not be able to write (or read) it.
            for p in (cert, key):
                st = os.stat(p)
                self.assertEqual((st.st_uid, st.st_gid), (0, 0), p)

    def test_init_makes_cert(self):
        cert, key = self.paths()
        self.check_pair(cert, key, "mail.example.test")

    def test_cert_create_hostname(self):
        cert, key = self.paths()
        with open(cert) as f:
            old = f.read()
        r = self.inst.cli("cert", "create", "--hostname", "mx.other.test")
        self.assertEqual(r.rc, 0, r)
        self.assertIn(cert, r.out)
        with open(cert) as f:
            self.assertNotEqual(f.read(), old)
        self.check_pair(cert, key, "mx.other.test")
        self.assertEqual([n for n in os.listdir(os.path.dirname(cert)) if "tmp" in n], [])

    def test_cert_create_default_is_myhostname(self):
        r = self.inst.cli("config", "set", "myhostname", "smtp.default.test")
        self.assertEqual(r.rc, 0, r)
        r = self.inst.cli("cert", "create")
        self.assertEqual(r.rc, 0, r)
        cert, key = self.paths()
        self.check_pair(cert, key, "smtp.default.test")

    def test_cert_create_new_dir_and_umask(self):
        d = os.path.join(self.inst.dir, "certs", "sub")
        for k, v in (("smtpd_tls_cert_file", d + "/c.pem"), ("smtpd_tls_key_file", d + "/k.pem")):
            r = self.inst.cli("config", "set", k, v)
            self.assertEqual(r.rc, 0, r)
        p = subprocess.run([lbtest.BIN, "-c", self.inst.conf, "cert", "create"],
                           capture_output=True, text=True, timeout=60, umask=0o077)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(d).st_mode), 0o755)
        self.check_pair(d + "/c.pem", d + "/k.pem", "mail.example.test")

    def test_bad_usage(self):
        for args, code in ((("cert",), 64), (("cert", "delete"), 64),
                           (("cert", "create", "--hostname"), 64),
                           (("cert", "create", "--bogus"), 64),
                           (("cert", "create", "--hostname", "a,DNS:evil.test"), 64),
                           (("cert", "create", "--hostname", "a b"), 64)):
            r = self.inst.cli(*args)
            self.assertEqual(r.rc, code, "%r: %r" % (args, r))
            self.assertTrue(r.err.startswith("letterbox: ") or r.err.startswith("usage:"), r)
        # Nothing was touched by the failures.
        cert, key = self.paths()
        self.check_pair(cert, key, "mail.example.test")

    def test_unwritable_dir(self):
        r = self.inst.cli("config", "set", "smtpd_tls_key_file", "/proc/nonexistent/k.pem")
        self.assertEqual(r.rc, 0, r)
        r = self.inst.cli("cert", "create")
        self.assertEqual(r.rc, 73, r)		# EX_CANTCREAT
        self.assertTrue(r.err.startswith("letterbox: "), r)
        self.assertIn("/proc/nonexistent", r.err)


if __name__ == "__main__":
    unittest.main()
