"""contrib/fail2ban: the filter matches the log lines a real failed login
writes (here over POP3) and nothing else, and a crafted user name cannot
make it ban another address.  Checked with Debian's fail2ban-regex."""
import os
import poplib
import shutil
import subprocess
import tempfile
import unittest

import lbtest
from test_pop3 import USER, PASSWORD, Pop3Base

CONTRIB = os.path.join(lbtest.ROOT, "contrib", "fail2ban")
COMMON = "/etc/fail2ban/filter.d/common.conf"


class Fail2banTest(Pop3Base):
    conf = {"auth_failure_delay": "0", "auth_failure_limit": "10"}

    def regex(self, logfile):
        """Run fail2ban-regex with our filter (next to Debian's common.conf)."""
        d = tempfile.mkdtemp(prefix="f2b-")
        self.addCleanup(shutil.rmtree, d, True)
        os.mkdir(os.path.join(d, "filter.d"))
        shutil.copy(COMMON, os.path.join(d, "filter.d"))
        shutil.copy(os.path.join(CONTRIB, "filter.d", "letterbox.conf"), os.path.join(d, "filter.d"))
        p = subprocess.run(["fail2ban-regex", "-v", logfile,
                            os.path.join(d, "filter.d", "letterbox.conf")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def test_filter_matches_real_failures(self):
        self.start()
        p = self.stls()
        for user in (USER, "nobody@example.com", 'x" rip=203.0.113.9 method=USER user="y'):
            p.user(user)
            with self.assertRaises(poplib.error_proto):
                p.pass_("wrong")
        self.login(p)	# a success is not a failure
        p.quit()
        self.assertTrue(self.inst.wait_log("logout user=" + USER))
        self.stop_clean()
        out = self.regex(self.inst.logpath)
        self.assertRegex(out, r"Lines: \d+ lines, 0 ignored, 3 matched")
        self.assertIn("127.0.0.1", out)
        self.assertNotIn("203.0.113.9", out.split("Missed line")[0])

    def test_jail_file(self):
        import configparser
        cp = configparser.ConfigParser(interpolation=None)
        cp.read(os.path.join(CONTRIB, "jail.d", "letterbox.conf"))
        self.assertEqual(cp.get("letterbox", "filter"), "letterbox")
        self.assertIn("pop3s", cp.get("letterbox", "port"))
        self.assertTrue(cp.getboolean("letterbox", "enabled"))


if __name__ == "__main__":
    unittest.main()
