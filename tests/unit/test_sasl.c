/* SASL PLAIN / LOGIN state machines (the base64 codec: test_base64.c). */
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"
#include "lib/base64.h"
#include "t.h"

/* base64 of raw bytes (may contain NUL), for building PLAIN responses. */
static char *
b64(const char *p, size_t n)
{
	char *out = malloc(BASE64_ENCODE_SIZE(n));

	base64_encode(p, n, out);
	return out;
}

static const struct {
	const char	*raw;		/* PLAIN message, '|' stands for NUL */
	int		 want;		/* enum sasl_status */
	const char	*login, *password;
} plain[] = {
	{ "|alice@example.com|secret", SASL_DONE, "alice@example.com", "secret" },
	{ "alice@example.com|alice@example.com|pw", SASL_DONE, "alice@example.com", "pw" },
	{ "Alice@Example.com|alice@example.com|pw", SASL_DONE, "alice@example.com", "pw" },
	{ "|alice@example.com|", SASL_DONE, "alice@example.com", "" },
	{ "|u|pass word with spaces", SASL_DONE, "u", "pass word with spaces" },
	{ "bob@example.com|alice@example.com|pw", SASL_ERROR, NULL, NULL },	/* authzid differs */
	{ "||pw", SASL_ERROR, NULL, NULL },					/* empty authcid */
	{ "alice|pw", SASL_ERROR, NULL, NULL },					/* one NUL */
	{ "|alice|pw|x", SASL_ERROR, NULL, NULL },				/* three NULs */
	{ "alice", SASL_ERROR, NULL, NULL },
	/* RFC 4954 §4 "AUTH PLAIN =": a valid, empty message that names nobody
	 * (the login then fails: 535, not a 501 syntax error) */
	{ "", SASL_DONE, "", "" },
};

/* Run a PLAIN exchange; initial: send the response on the command line. */
static int
run_plain(const char *raw, bool initial, struct sasl *s)
{
	char		 msg[256] = { 0 }, *enc;
	size_t		 n = strlen(raw), i;
	const char	*ch, *err;
	int		 st;

	for (i = 0; i < n; i++)
		msg[i] = raw[i] == '|' ? '\0' : raw[i];
	enc = b64(msg, n);
	sasl_init(s, SASL_PLAIN);
	if (initial)
		st = sasl_start(s, n == 0 ? "=" : enc, n == 0 ? 1 : strlen(enc), &ch, &err);
	else {
		st = sasl_start(s, NULL, 0, &ch, &err);
		t_int(st, SASL_CONTINUE);
		t_str(ch, "");
		st = sasl_step(s, enc, strlen(enc), &ch, &err);
	}
	free(enc);
	return st;
}

static void
test_plain(void)
{
	struct sasl	s;
	size_t		i;
	int		ini, st;

	for (ini = 0; ini < 2; ini++)
		for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
			st = run_plain(plain[i].raw, ini, &s);
			if (!t_int(st, plain[i].want))
				printf("  case %zu initial=%d\n", i, ini);
			if (st == SASL_DONE) {
				t_str(sasl_login(&s), plain[i].login);
				t_str(sasl_password(&s), plain[i].password);
			}
			sasl_clear(&s);
			t_ok(s.login == NULL && s.password == NULL);
		}
}

static void
test_plain_misc(void)
{
	struct sasl	 s;
	const char	*ch, *err;
	char		*big;

	/* "*" cancels (not on the command line, where it is just bad base64). */
	sasl_init(&s, SASL_PLAIN);
	t_int(sasl_start(&s, NULL, 0, &ch, &err), SASL_CONTINUE);
	t_int(sasl_step(&s, "*", 1, &ch, &err), SASL_CANCEL);
	sasl_clear(&s);
	sasl_init(&s, SASL_PLAIN);
	t_int(sasl_start(&s, "*", 1, &ch, &err), SASL_ERROR);
	sasl_clear(&s);

	/* Bad base64. */
	sasl_init(&s, SASL_PLAIN);
	t_int(sasl_start(&s, "AGFsaWNlAHB3", 12, &ch, &err), SASL_DONE);	/* "\0alice\0pw" */
	t_str(sasl_login(&s), "alice");
	/* No step after completion. */
	t_int(sasl_step(&s, "AGFsaWNlAHB3", 12, &ch, &err), SASL_ERROR);
	sasl_clear(&s);
	sasl_init(&s, SASL_PLAIN);
	t_int(sasl_start(&s, "AGFsaWNlAHB3=", 13, &ch, &err), SASL_ERROR);
	t_str(err, "invalid base64");
	sasl_clear(&s);

	/* Oversize: one byte past the limit fails before decoding. */
	big = malloc(SASL_RESPONSE_MAX + 5);
	memset(big, 'A', SASL_RESPONSE_MAX + 4);
	sasl_init(&s, SASL_PLAIN);
	t_int(sasl_start(&s, big, SASL_RESPONSE_MAX + 4, &ch, &err), SASL_ERROR);
	t_str(err, "response too long");
	sasl_clear(&s);
	/* At the limit it is decoded (and is no valid PLAIN message: no NULs). */
	sasl_init(&s, SASL_PLAIN);
	t_int(sasl_start(&s, big, SASL_RESPONSE_MAX, &ch, &err), SASL_ERROR);
	t_str(err, "malformed PLAIN response");
	sasl_clear(&s);
	free(big);

	t_ok(sasl_mech_parse("plain", 5, &s.mech) == 0 && s.mech == SASL_PLAIN);
	t_ok(sasl_mech_parse("LOGIN", 5, &s.mech) == 0 && s.mech == SASL_LOGIN);
	t_ok(sasl_mech_parse("CRAM-MD5", 8, &s.mech) < 0);
	t_ok(sasl_mech_parse("PLAINX", 6, &s.mech) < 0);
	t_str(sasl_mech_name(SASL_LOGIN), "LOGIN");
}

static void
test_login(void)
{
	struct sasl	 s;
	const char	*ch, *err;

	/* RFC-less but universal: "Username:" then "Password:". */
	sasl_init(&s, SASL_LOGIN);
	t_int(sasl_start(&s, NULL, 0, &ch, &err), SASL_CONTINUE);
	t_str(ch, "VXNlcm5hbWU6");
	t_int(sasl_step(&s, "Ym9i", 4, &ch, &err), SASL_CONTINUE);		/* "bob" */
	t_str(ch, "UGFzc3dvcmQ6");
	t_int(sasl_step(&s, "c2VjcmV0", 8, &ch, &err), SASL_DONE);		/* "secret" */
	t_str(sasl_login(&s), "bob");
	t_str(sasl_password(&s), "secret");
	sasl_clear(&s);

	/* User name as initial response (AUTH LOGIN Ym9i). */
	sasl_init(&s, SASL_LOGIN);
	t_int(sasl_start(&s, "Ym9i", 4, &ch, &err), SASL_CONTINUE);
	t_str(ch, "UGFzc3dvcmQ6");
	t_int(sasl_step(&s, "", 0, &ch, &err), SASL_DONE);			/* empty password */
	t_str(sasl_password(&s), "");
	sasl_clear(&s);

	/* Cancel at either step. */
	sasl_init(&s, SASL_LOGIN);
	t_int(sasl_start(&s, NULL, 0, &ch, &err), SASL_CONTINUE);
	t_int(sasl_step(&s, "*", 1, &ch, &err), SASL_CANCEL);
	sasl_clear(&s);
	sasl_init(&s, SASL_LOGIN);
	t_int(sasl_start(&s, "Ym9i", 4, &ch, &err), SASL_CONTINUE);
	t_int(sasl_step(&s, "*", 1, &ch, &err), SASL_CANCEL);
	sasl_clear(&s);

	/* Empty user name, NUL in the name, bad base64. */
	sasl_init(&s, SASL_LOGIN);
	t_int(sasl_start(&s, "=", 1, &ch, &err), SASL_ERROR);
	sasl_clear(&s);
	sasl_init(&s, SASL_LOGIN);
	t_int(sasl_start(&s, NULL, 0, &ch, &err), SASL_CONTINUE);
	t_int(sasl_step(&s, "Ym9iAA==", 8, &ch, &err), SASL_ERROR);		/* "bob\0" */
	sasl_clear(&s);
	sasl_init(&s, SASL_LOGIN);
	t_int(sasl_start(&s, NULL, 0, &ch, &err), SASL_CONTINUE);
	t_int(sasl_step(&s, "Ym9i", 4, &ch, &err), SASL_CONTINUE);
	t_int(sasl_step(&s, "c2Vjc", 5, &ch, &err), SASL_ERROR);
	t_int(sasl_step(&s, "c2VjcmV0", 8, &ch, &err), SASL_ERROR);		/* dead after an error */
	sasl_clear(&s);
}

/*
 * Byte at a time: every prefix of a valid response is either invalid base64
 * or a different, shorter message; none may crash or yield the full
 * credentials, and only the whole response does.
 */
static void
test_prefixes(void)
{
	static const char	 raw[] = "\0alice@example.com\0s3cr3t";
	char			*enc = b64(raw, sizeof(raw) - 1);
	size_t			 n = strlen(enc), i;
	struct sasl		 s;
	const char		*ch, *err;
	int			 st, done = 0;

	for (i = 0; i <= n; i++) {
		sasl_init(&s, SASL_PLAIN);
		st = sasl_start(&s, enc, i, &ch, &err);
		if (st == SASL_DONE) {
			done++;
			if (i == n) {
				t_str(sasl_login(&s), "alice@example.com");
				t_str(sasl_password(&s), "s3cr3t");
			} else
				t_ok(strcmp(sasl_password(&s), "s3cr3t") != 0);
		} else
			t_int(st, SASL_ERROR);
		sasl_clear(&s);
	}
	t_ok(done >= 1);
	free(enc);
}

int
main(void)
{
	t_begin("sasl");
	test_plain();
	test_plain_misc();
	test_login();
	test_prefixes();
	return t_end();
}
