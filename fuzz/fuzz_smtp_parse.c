/*
 * libFuzzer harness for the SMTP command parsers (src/smtp/parse.h) and
 * the DATA decoder (src/smtp/data.h): everything a client controls before
 * the message is spooled.
 *
 * The input is one command line (copied to an exact-size buffer, so ASan
 * catches a read past it) given to every parser, and also a DATA stream fed
 * to smtp_data_feed() twice: in one call, and in pieces whose sizes come
 * from the input.  Both runs must consume the same bytes and produce the
 * same output (a decoder that depends on where TCP split the stream is a
 * smuggling bug), and the output must obey data.h's bound and end in CRLF
 * when the end of data was seen.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "smtp/data.h"
#include "smtp/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_str(const char *s, size_t cap)
{
	if (memchr(s, '\0', cap) == NULL)
		abort();	/* not NUL-terminated inside its array */
}

static void
parse_args(const char *line, size_t len)
{
	struct smtp_mail	 m;
	struct smtp_rcpt	 r;
	const char		*reply;
	uint64_t		 sz;
	bool			 last;

	memset(&m, 0, sizeof(m));
	reply = NULL;
	if (smtp_parse_mail(line, len, &m, &reply) == 0) {
		check_str(m.path, sizeof(m.path));
		check_str(m.envid, sizeof(m.envid));
		check_str(m.auth, sizeof(m.auth));
	} else if (reply == NULL)
		abort();
	memset(&r, 0, sizeof(r));
	reply = NULL;
	if (smtp_parse_rcpt(line, len, len & 1, &r, &reply) == 0) {
		check_str(r.path, sizeof(r.path));
		check_str(r.orcpt, sizeof(r.orcpt));
	} else if (reply == NULL)
		abort();
	reply = NULL;
	if (smtp_parse_bdat(line, len, &sz, &last, &reply) != 0 && reply == NULL)
		abort();
	(void)smtp_mailbox_valid(line, len, true);
	(void)smtp_mailbox_valid(line, len, false);
	(void)smtp_xtext_valid(line, len);
}

/* As the session does: the verb, then its arguments; and the raw line too. */
static void
parse_line(const char *line, size_t len)
{
	const char	*args;
	size_t		 alen;

	(void)smtp_parse_verb(line, len, &args, &alen);
	if (args < line || args > line + len || alen > (size_t)(line + len - args))
		abort();
	parse_args(args, alen);
	parse_args(line, len);
}

/* Feed p[0..n) in pieces (steps[] cycled; 0 = all at once). */
static size_t
feed(const char *p, size_t n, const uint8_t *steps, size_t nsteps, struct buf *out,
    bool *done_r)
{
	struct smtp_data	 d;
	size_t			 off = 0, k, used, si = 0;

	smtp_data_init(&d);
	*done_r = false;
	while (off < n && !*done_r) {
		k = n - off;
		if (nsteps > 0) {
			k = (size_t)steps[si++ % nsteps] % 17 + 1;
			if (k > n - off)
				k = n - off;
		}
		/* data.h: out must allow 2 * len + 4 more bytes */
		if (out->max - out->len < 2 * k + 4)
			abort();
		used = smtp_data_feed(&d, p + off, k, out, done_r);
		if (used > k || (used < k && !*done_r))
			abort();
		off += used;
	}
	if (d.out != out->len)
		abort();
	return off;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*copy;
	const char	*nl;
	struct buf	 a, b;
	size_t		 ua, ub, llen;
	bool		 da, db;

	if (size > 1 << 16)
		return 0;
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);

	/* The first line (up to LF) as a command, as conn_readline hands it over. */
	nl = memchr(copy, '\n', size);
	llen = nl != NULL ? (size_t)(nl - copy) : size;
	if (llen > 0 && copy[llen - 1] == '\r')
		llen--;
	parse_line(copy, llen);
	/* And the whole input: a line with any bytes in it. */
	parse_line(copy, size);

	buf_init(&a, 2 * (size_t)size + 64);
	buf_init(&b, 2 * (size_t)size + 64);
	ua = feed(copy, size, NULL, 0, &a, &da);
	ub = feed(copy, size, data, size < 64 ? size : 64, &b, &db);
	if (ua != ub || da != db || a.len != b.len ||
	    (a.len > 0 && memcmp(a.data, b.data, a.len) != 0))
		abort();
	/* A message as stored: every line ends in CRLF. */
	if (da && a.len > 0 && (a.len < 2 || memcmp(a.data + a.len - 2, "\r\n", 2) != 0))
		abort();
	buf_clear(&a);
	buf_clear(&b);
	free(copy);
	return 0;
}
