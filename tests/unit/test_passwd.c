/*
 * Unit tests for src/auth/passwd.c.  Every vector was made by a tool other
 * than this code: python3 crypt.crypt(), `openssl passwd -1/-5/-6` and
 * `mkpasswd -m ...` (whois package); the DES row is what MySQL's
 * ENCRYPT('password', 'ab') stores.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "auth/passwd.h"
#include "t.h"

#define R_OK	PASSWD_MATCH
#define R_NO	PASSWD_MISMATCH
#define R_UN	PASSWD_UNSUPPORTED

static const struct {
	const char		*pw;
	const char		*stored;
	bool			 plain;
	enum passwd_result	 want;
} cases[] = {
	/* traditional DES, 13 chars (MySQL ENCRYPT('password','ab')) */
	{ "password", "abJnggxhB/yWI", false, R_OK },
	{ "passwore", "abJnggxhB/yWI", false, R_NO },
	{ "password", "ddIObUcGgKq3c", false, R_OK },		/* mkpasswd -m descrypt */
	{ "Password", "ddIObUcGgKq3c", false, R_NO },
	/* DES only uses 8 characters: documented crypt(3) behaviour */
	{ "passwordEXTRA", "abJnggxhB/yWI", false, R_OK },
	{ "password", "{DES-CRYPT}abJnggxhB/yWI", false, R_OK },
	{ "password", "{CRYPT}abJnggxhB/yWI", false, R_OK },
	{ "wrong", "{DES-CRYPT}abJnggxhB/yWI", false, R_NO },

	/* $1$ md5crypt (openssl passwd -1 -salt saltsalt password) */
	{ "password", "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", false, R_OK },
	{ "password1", "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", false, R_NO },
	{ "password", "{MD5-CRYPT}$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", false, R_OK },
	{ "passwor", "{MD5-CRYPT}$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", false, R_NO },

	/* $5$ sha256crypt (openssl passwd -5 -salt saltsalt password) */
	{ "password", "$5$saltsalt$gOjOtoMpVhru2uyjeJSEc/JaLQWOXMNmlOnj6T4AtC.", false, R_OK },
	{ "", "$5$saltsalt$gOjOtoMpVhru2uyjeJSEc/JaLQWOXMNmlOnj6T4AtC.", false, R_NO },
	{ "password", "{SHA256-CRYPT}$5$saltsalt$gOjOtoMpVhru2uyjeJSEc/JaLQWOXMNmlOnj6T4AtC.", false, R_OK },
	{ "PASSWORD", "{SHA256-CRYPT}$5$saltsalt$gOjOtoMpVhru2uyjeJSEc/JaLQWOXMNmlOnj6T4AtC.", false, R_NO },

	/* $6$ sha512crypt (openssl passwd -6 -salt saltsalt password) */
	{ "password", "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/", false, R_OK },
	{ "password ", "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/", false, R_NO },
	{ "password", "{SHA512-CRYPT}$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/", false, R_OK },
	{ "password", "{sha512-crypt}$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/", false, R_OK },
	{ "x", "{SHA512-CRYPT}$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/", false, R_NO },

	/* bcrypt: mkpasswd -m bcrypt / bcrypt-a, python3 crypt for $2y$ */
	{ "password", "$2b$05$8RpqcqL4Na6McCspHBgT9uMCm0sIBirg0ExWs7Pvf3LbVRm30y3Ti", false, R_OK },
	{ "passw0rd", "$2b$05$8RpqcqL4Na6McCspHBgT9uMCm0sIBirg0ExWs7Pvf3LbVRm30y3Ti", false, R_NO },
	{ "password", "$2a$05$ELHbpKE59RkL0ZeaFQp/ZeBxuzwTRod70Jz70Xo3/tKzSNDB1GUNy", false, R_OK },
	{ "passwor", "$2a$05$ELHbpKE59RkL0ZeaFQp/ZeBxuzwTRod70Jz70Xo3/tKzSNDB1GUNy", false, R_NO },
	{ "password", "$2y$05$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu", false, R_OK },
	{ "password", "{BLF-CRYPT}$2y$05$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu", false, R_OK },
	{ "Password", "{BLF-CRYPT}$2y$05$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu", false, R_NO },
	{ "password", "$2b$05$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu", false, R_OK },

	/* yescrypt: mkpasswd -m yescrypt; python3 crypt with a fixed salt */
	{ "password", "$y$j9T$UR85Ba07baF6gZ7wV0mO//$f5npAEROXchcG.YNbnYVlwqV4NyWFWNFILGDxboB1y7", false, R_OK },
	{ "password2", "$y$j9T$UR85Ba07baF6gZ7wV0mO//$f5npAEROXchcG.YNbnYVlwqV4NyWFWNFILGDxboB1y7", false, R_NO },
	{ "password", "{YESCRYPT}$y$j9T$abcdefghijklmnop$7asOTx5b6Exfl3myM6K0pLBn.I2hsEvu7G0F7NMfaO.", false, R_OK },
	{ "pass", "{YESCRYPT}$y$j9T$abcdefghijklmnop$7asOTx5b6Exfl3myM6K0pLBn.I2hsEvu7G0F7NMfaO.", false, R_NO },

	/* $7$ scrypt: mkpasswd -m scrypt; python3 crypt with a fixed salt */
	{ "password", "$7$CU..../....s3/.NVzuzwNZJcmqUWkvT.$AvOjxuiyEYb2kneqSe.ji7h/fl8.5ExTnvia/GHTzy2", false, R_OK },
	{ "drowssap", "$7$CU..../....s3/.NVzuzwNZJcmqUWkvT.$AvOjxuiyEYb2kneqSe.ji7h/fl8.5ExTnvia/GHTzy2", false, R_NO },
	{ "password", "{CRYPT}$7$CU..../....abcdefghijklmnop$Sq.34kg1gPTFUeOPpE6fyMzMfdgqET/x8Nv3KaQxh9.", false, R_OK },
	{ "password!", "{CRYPT}$7$CU..../....abcdefghijklmnop$Sq.34kg1gPTFUeOPpE6fyMzMfdgqET/x8Nv3KaQxh9.", false, R_NO },

	/* a mislabelled but valid crypt string verifies, as in Dovecot */
	{ "password", "{MD5-CRYPT}$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/", false, R_OK },

	/* plaintext: refused unless allowed */
	{ "secret", "{PLAIN}secret", false, R_UN },
	{ "secret", "{PLAIN}secret", true, R_OK },
	{ "secret", "{plain}secret", true, R_OK },
	{ "secreT", "{PLAIN}secret", true, R_NO },
	{ "secre", "{PLAIN}secret", true, R_NO },
	{ "secrets", "{PLAIN}secret", true, R_NO },
	{ "", "{PLAIN}secret", true, R_NO },
	{ "secret", "{CLEARTEXT}secret", false, R_UN },
	{ "secret", "{CLEARTEXT}secret", true, R_OK },
	{ "other", "{CLEARTEXT}secret", true, R_NO },
	{ "", "{PLAIN}", true, R_OK },
	{ "x", "{PLAIN}", true, R_NO },
	/* the empty stored hash is the empty plaintext password */
	{ "", "", false, R_UN },
	{ "anything", "", false, R_UN },
	{ "", "", true, R_OK },
	{ "anything", "", true, R_NO },
	/* a plaintext stored without a scheme is never compared as plaintext */
	{ "secret", "secret", true, R_UN },

	/* unknown or malformed */
	{ "password", "{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", true, R_UN },
	{ "password", "{PLAIN-MD5}5f4dcc3b5aa765d61d8327deb882cf99", true, R_UN },
	{ "password", "{PLAIN.b64}cGFzc3dvcmQ=", true, R_UN },
	{ "password", "{SHA512-CRYPT", false, R_UN },
	{ "password", "{}abJnggxhB/yWI", false, R_UN },
	{ "password", "{CRYPT}", false, R_UN },
	{ "password", "{SHA512-CRYPT}", false, R_UN },
	{ "password", "{YESCRYPT}secret", false, R_UN },
	{ "password", "abJnggxhB/yW", false, R_UN },		/* DES cut short */
	{ "password", "abJnggxhB/yWIx", false, R_UN },		/* DES too long */
	{ "password", "ab:nggxhB/yWI", false, R_UN },		/* outside the DES alphabet */
	{ "password", "*0", false, R_UN },			/* libxcrypt failure token */
	{ "password", "*", false, R_UN },
	{ "password", "!", false, R_UN },			/* locked account */
	{ "password", "!abJnggxhB/yWI", false, R_UN },
	/* crypt(3) accepts these settings, but the hash part is missing */
	{ "password", "$1$", false, R_UN },
	{ "password", "$6$saltsalt$", false, R_UN },
	{ "password", "$6$saltsalt$short", false, R_UN },
	{ "password", "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh", false, R_UN },
	{ "password", "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/x", false, R_UN },
	{ "password", "$2b$05$8RpqcqL4Na6McCspHBgT9uMCm0sIBirg0ExWs7Pvf3LbVRm30y3T", false, R_UN },
	{ "password", "$2b$05$short", false, R_UN },
	{ "password", "$2b$99$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu", false, R_UN },
	{ "password", "$2x$05$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu", false, R_UN },
	{ "password", "$y$", false, R_UN },
	{ "password", "$y$j9T$", false, R_UN },
	{ "password", "$7$", false, R_UN },
	{ "password", "$sha1$40000$jtNX3nZ2$hBNaIXkt4wBI2o5rsi8KejSjNqIq", false, R_UN },
	{ "password", "_J9..CCCCXBrJUJV154M", false, R_UN },	/* BSDi: not accepted */
	{ "password", "$md5$rounds=904$Vc3VgyFx44iS8.Yu$Dk1Cn2dZFVRXxV1QCyRP6/", false, R_UN },
	{ "password", "$3$$8846f7eaee8fb117ad06bdd830b7586c", false, R_UN },	/* NT hash */
	{ "password", "$gy$j9T$abcdefghijklmnop$", false, R_UN },
	{ "password", "$", false, R_UN },
	{ "password", "$$$", false, R_UN },
};

static void
test_table(void)
{
	size_t	 i;
	int	 got;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = passwd_verify(cases[i].pw, cases[i].stored, cases[i].plain);
		if (!t_int(got, cases[i].want))
			printf("  case %zu: pw=\"%s\" stored=\"%s\" plain=%d\n",
			    i, cases[i].pw, cases[i].stored, cases[i].plain);
	}
}

static void
test_null(void)
{
	t_int(passwd_verify(NULL, "abJnggxhB/yWI", false), R_UN);
	t_int(passwd_verify("password", NULL, false), R_UN);
	t_int(passwd_verify(NULL, NULL, true), R_UN);
	t_ok(passwd_hash(NULL) == NULL);
	t_ok(passwd_needs_upgrade(NULL));
}

static void
test_long(void)
{
	char	 pw[PASSWD_INPUT_MAX + 2];
	char	*h;

	/* 300 x: python3 crypt.crypt('x' * 300, '$6$saltsalt$') */
	memset(pw, 'x', 300);
	pw[300] = '\0';
	t_int(passwd_verify(pw, "$6$saltsalt$FymJtOlIksbVcNpPDPnizLCDeNGcl9ImMFZ3Y/czWldJfFhkmy.0dYLVf/2XPO5Eh/0VPaZuBspZbV2gh3d6Q.", false), R_OK);
	pw[299] = '\0';
	t_int(passwd_verify(pw, "$6$saltsalt$FymJtOlIksbVcNpPDPnizLCDeNGcl9ImMFZ3Y/czWldJfFhkmy.0dYLVf/2XPO5Eh/0VPaZuBspZbV2gh3d6Q.", false), R_NO);
	/* DES: 'x' * 300 and 'x' * 8 hash alike (only 8 characters count) */
	t_int(passwd_verify(pw, "abzDJoqKYZJww", false), R_OK);

	/* the longest accepted password round-trips; one more is refused */
	memset(pw, 'y', PASSWD_INPUT_MAX);
	pw[PASSWD_INPUT_MAX] = '\0';
	h = passwd_hash(pw);
	t_ok(h != NULL);
	if (h != NULL) {
		t_int(passwd_verify(pw, h, false), R_OK);
		pw[PASSWD_INPUT_MAX - 1] = 'z';
		t_int(passwd_verify(pw, h, false), R_NO);
		pw[PASSWD_INPUT_MAX - 1] = 'y';
	}
	free(h);
	pw[PASSWD_INPUT_MAX] = 'y';
	pw[PASSWD_INPUT_MAX + 1] = '\0';
	t_ok(passwd_hash(pw) == NULL);
	t_int(passwd_verify(pw, "{PLAIN}x", true), R_NO);
	t_int(passwd_verify(pw, "abJnggxhB/yWI", false), R_NO);
	t_int(passwd_verify(pw, "{PLAIN}x", false), R_UN);
	t_int(passwd_verify(pw, "{SSHA}x", true), R_UN);
}

static void
test_hash(void)
{
	static const char *const pws[] = {
		"password", "", "p\xc3\xa4sswort", "with space", "{PLAIN}x", "$y$",
	};
	char	*h, *h2;
	size_t	 i;

	for (i = 0; i < sizeof(pws) / sizeof(pws[0]); i++) {
		h = passwd_hash(pws[i]);
		if (!t_ok(h != NULL))
			continue;
		t_ok(strncmp(h, "$y$", 3) == 0);
		t_int(passwd_verify(pws[i], h, false), R_OK);
		t_int(passwd_verify("not it", h, false), R_NO);
		t_ok(!passwd_needs_upgrade(h));
		free(h);
	}
	/* fresh salt each time */
	h = passwd_hash("password");
	h2 = passwd_hash("password");
	t_ok(h != NULL && h2 != NULL && strcmp(h, h2) != 0);
	free(h);
	free(h2);
}

static void
test_upgrade(void)
{
	t_ok(!passwd_needs_upgrade("$y$j9T$UR85Ba07baF6gZ7wV0mO//$f5npAEROXchcG.YNbnYVlwqV4NyWFWNFILGDxboB1y7"));
	t_ok(!passwd_needs_upgrade("{YESCRYPT}$y$j9T$abcdefghijklmnop$7asOTx5b6Exfl3myM6K0pLBn.I2hsEvu7G0F7NMfaO."));
	t_ok(!passwd_needs_upgrade("{CRYPT}$y$j9T$abcdefghijklmnop$7asOTx5b6Exfl3myM6K0pLBn.I2hsEvu7G0F7NMfaO."));
	t_ok(passwd_needs_upgrade("abJnggxhB/yWI"));
	t_ok(passwd_needs_upgrade("$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/"));
	t_ok(passwd_needs_upgrade("$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/"));
	t_ok(passwd_needs_upgrade("$2b$05$8RpqcqL4Na6McCspHBgT9uMCm0sIBirg0ExWs7Pvf3LbVRm30y3Ti"));
	t_ok(passwd_needs_upgrade("$7$CU..../....s3/.NVzuzwNZJcmqUWkvT.$AvOjxuiyEYb2kneqSe.ji7h/fl8.5ExTnvia/GHTzy2"));
	t_ok(passwd_needs_upgrade("{SHA512-CRYPT}$6$saltsalt$x"));
	t_ok(passwd_needs_upgrade("{PLAIN}secret"));
	t_ok(passwd_needs_upgrade(""));
	t_ok(passwd_needs_upgrade("$y"));
}

int
main(void)
{
	t_begin("passwd");
	test_table();
	test_null();
	test_long();
	test_hash();
	test_upgrade();
	return t_end();
}
