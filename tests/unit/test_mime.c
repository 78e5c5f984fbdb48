/*
 * MIME parser tests: the corpus under tests/data/mime (each NAME.eml with
 * NAME.expected holding BODYSTRUCTURE, BODY and ENVELOPE, hand-checked
 * against RFC 3501 and Dovecot 2.3), section ranges, address lists,
 * encoded words, RFC 2231, search text, hostile input and every prefix of
 * every corpus message.  Run from the repository root.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "mime/decode.h"
#include "mime/mime.h"
#include "mime/rfc2047.h"
#include "mime/rfc5322.h"
#include "t.h"

#define DATA	"tests/data/mime"

static char *
slurp(const char *path, size_t *len_r)
{
	FILE	*f = fopen(path, "rb");
	char	*p;
	long	 n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = xmalloc((size_t)n + 1);
	*len_r = fread(p, 1, (size_t)n, f);
	p[*len_r] = '\0';
	fclose(f);
	return p;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *
bs(const struct mime_part *p, bool ext)
{
	struct buf b;

	buf_init(&b, 64 << 20);
	t_ok(mime_bodystructure(p, ext, &b) == 0);
	return buf_take(&b, NULL);
}

static char *
env(const char *data, size_t len)
{
	struct buf b;

	buf_init(&b, 64 << 20);
	t_ok(mime_envelope(data, len, &b) == 0);
	return buf_take(&b, NULL);
}

/* Check one corpus message against its .expected lines. */
static void
corpus_one(const char *name)
{
	char	 path[512], *data, *exp, *line, *save = NULL, *got;
	size_t	 len, elen;
	struct mime_part *p;

	snprintf(path, sizeof(path), "%s/%s.eml", DATA, name);
	data = slurp(path, &len);
	snprintf(path, sizeof(path), "%s/%s.expected", DATA, name);
	exp = slurp(path, &elen);
	if (!t_ok(data != NULL && exp != NULL)) {
		printf("  missing %s\n", path);
		free(data);
		free(exp);
		return;
	}
	p = mime_parse(data, len);
	for (line = exp; line != NULL && *line != '\0'; line = save) {
		if ((save = strchr(line, '\n')) != NULL)
			*save++ = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strncmp(line, "BODYSTRUCTURE ", 14) == 0) {
			got = bs(p, true);
			if (!t_str(got, line + 14))
				printf("  in %s\n", name);
		} else if (strncmp(line, "BODY ", 5) == 0) {
			got = bs(p, false);
			if (!t_str(got, line + 5))
				printf("  in %s\n", name);
		} else if (strncmp(line, "ENVELOPE ", 9) == 0) {
			got = env(data, p->hdr_len);
			if (!t_str(got, line + 9))
				printf("  in %s\n", name);
		} else {
			t_ok(!"unknown .expected line");
			continue;
		}
		free(got);
	}
	mime_free(&p);
	t_ok(p == NULL);
	free(data);
	free(exp);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the corpus messages, sorted; returns count. */
static size_t
corpus_names(char ***names_r)
{
	DIR		*d = opendir(DATA);
	struct dirent	*e;
	char		**v = NULL;
	size_t		 n = 0, l;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".eml") != 0)
			continue;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrndup(e->d_name, l - 4);
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_str);
	*names_r = v;
	return n;
}

static int
count_cb(const char *text, size_t len, void *arg)
{
	*(size_t *)arg += len;
	return 0;
}

static int
collect_cb(const char *text, size_t len, void *arg)
{
	struct buf *b = arg;

	if (buf_add(b, text, len) < 0)
		return 1;
	return 0;
}

/* Every prefix of a message: parse and all views, no crash (ASan run). */
static void
prefixes(const char *name)
{
	char	 path[512], *data, *copy;
	size_t	 len, i, off, sl, n;
	struct mime_part *p;
	struct buf b;
	static const char *const secs[] = { "", "1", "2", "1.1", "2.HEADER", "2.TEXT",
	    "1.MIME", "2.1.2", "HEADER", "TEXT", "1.2.3.4.MIME" };

	snprintf(path, sizeof(path), "%s/%s.eml", DATA, name);
	if ((data = slurp(path, &len)) == NULL)
		return;
	buf_init(&b, 64 << 20);
	for (i = 0; i <= len; i++) {
		/* an exact-size copy so ASan sees any read past the end */
		copy = xmalloc(i ? i : 1);
		memcpy(copy, data, i);
		p = mime_parse(copy, i);
		buf_reset(&b);
		if (mime_bodystructure(p, true, &b) < 0 ||
		    mime_envelope(copy, p->hdr_len, &b) < 0)
			t_ok(!"output failed");
		for (size_t k = 0; k < sizeof(secs) / sizeof(secs[0]); k++)
			if (mime_section(p, secs[k], &off, &sl) == 0 &&
			    (off > i || sl > i - off))
				t_ok(!"section out of range");
		n = 0;
		mime_search_text(p, MIME_TEXT_HEADERS | MIME_TEXT_BODY, count_cb, &n);
		mime_free(&p);
		free(copy);
	}
	buf_clear(&b);
	free(data);
	t_ok(1);
}

static void
test_corpus(void)
{
	char	**names = NULL;
	size_t	 n, i;

	n = corpus_names(&names);
	t_ok(n >= 13);
	for (i = 0; i < n; i++) {
		corpus_one(names[i]);
		prefixes(names[i]);
		free(names[i]);
	}
	free(names);
}

/* Section spec -> exact bytes expected at that range (NULL: no section). */
static void
check_section(const char *data, const struct mime_part *p, const char *spec,
    const char *want_prefix, const char *want_suffix)
{
	size_t	off, len;
	int	r = mime_section(p, spec, &off, &len);

	if (want_prefix == NULL) {
		if (!t_int(r, -1))
			printf("  section %s\n", spec);
		return;
	}
	if (!t_int(r, 0)) {
		printf("  section %s\n", spec);
		return;
	}
	if (!t_ok(len >= strlen(want_prefix) &&
	    memcmp(data + off, want_prefix, strlen(want_prefix)) == 0) ||
	    !t_ok(len >= strlen(want_suffix) &&
	    memcmp(data + off + len - strlen(want_suffix), want_suffix,
	    strlen(want_suffix)) == 0))
		printf("  section %s: \"%.*s\"\n", spec, (int)(len > 80 ? 80 : len),
		    data + off);
}

static void
test_sections(void)
{
	char	*d;
	size_t	 len;
	struct mime_part *p;

	d = slurp(DATA "/06-message-rfc822.eml", &len);
	if (!t_ok(d != NULL))
		return;
	p = mime_parse(d, len);
	check_section(d, p, "", "From: Bob", "--fwd--\r\n");
	check_section(d, p, "HEADER", "From: Bob", "fwd\"\r\n\r\n");
	check_section(d, p, "header", "From: Bob", "fwd\"\r\n\r\n");
	check_section(d, p, "HEADER.FIELDS (From To)", "From: Bob", "\r\n\r\n");
	check_section(d, p, "TEXT", "--fwd\r\n", "--fwd--\r\n");
	check_section(d, p, "1", "Forwarding this.", "this.\r\n");
	check_section(d, p, "1.MIME", "Content-Type: text/plain", "\r\n\r\n");
	check_section(d, p, "2", "Date: Mon", "--inner--\r\n");
	check_section(d, p, "2.MIME", "Content-Type: message/rfc822", "attachment\r\n\r\n");
	check_section(d, p, "2.HEADER", "Date: Mon", "\"inner\"\r\n\r\n");
	check_section(d, p, "2.TEXT", "--inner\r\n", "--inner--\r\n");
	check_section(d, p, "2.1", "Are you free?", "free?");
	check_section(d, p, "2.2", "<p>Are", "</p>");
	check_section(d, p, "2.2.MIME", "Content-Type: text/html", "\r\n\r\n");
	check_section(d, p, "3", NULL, NULL);
	check_section(d, p, "1.HEADER", NULL, NULL);	/* not message/rfc822 */
	check_section(d, p, "2.3", NULL, NULL);
	check_section(d, p, "MIME", NULL, NULL);
	check_section(d, p, "0", NULL, NULL);
	check_section(d, p, "1.1", NULL, NULL);
	check_section(d, p, "2.x", NULL, NULL);
	mime_free(&p);
	free(d);

	/* a single-part message: part 1 is its body, 1.MIME its header */
	d = slurp(DATA "/01-plain.eml", &len);
	p = mime_parse(d, len);
	check_section(d, p, "1", "Hi Bob,", "-- Alice\r\n");
	check_section(d, p, "TEXT", "Hi Bob,", "-- Alice\r\n");
	check_section(d, p, "1.MIME", "Return-Path:", "us-ascii\r\n\r\n");
	check_section(d, p, "2", NULL, NULL);
	check_section(d, p, "1.1", NULL, NULL);
	mime_free(&p);
	free(d);

	/* nesting: 1.1.2 = html inside alternative inside related */
	d = slurp(DATA "/05-related-in-mixed.eml", &len);
	p = mime_parse(d, len);
	check_section(d, p, "1.1.2", "<p>See", "</p>");
	check_section(d, p, "1.2.MIME", "Content-Type: image/png", "inline\r\n\r\n");
	check_section(d, p, "2", "notes", "notes");
	check_section(d, p, "1.1.3", NULL, NULL);
	mime_free(&p);
	free(d);
}

static const struct {
	const char	*in;
	const char	*want;	/* "name|adl|mailbox|host;..." with ~ for NIL */
} addr_cases[] = {
	{ "a@b.c", "~|~|a|b.c;" },
	{ "\"Joe Q. Public\" <john.q.public@example.com>",
	  "Joe Q. Public|~|john.q.public|example.com;" },
	{ "Joe Q. Public <john@example.com>", "Joe Q. Public|~|john|example.com;" },
	{ "a@b.c (Alice)", "Alice|~|a|b.c;" },
	{ "<@r1,@r2:q@w.e>", "~|@r1,@r2|q|w.e;" },
	{ "G: x@y.z, w@v.u;", "~|~|G|~;~|~|x|y.z;~|~|w|v.u;~|~|~|~;" },
	{ "undisclosed-recipients:;", "~|~|undisclosed-recipients|~;~|~|~|~;" },
	{ "G: x@y.z", "~|~|G|~;~|~|x|y.z;~|~|~|~;" },	/* unterminated group */
	{ "bare", "~|~|bare|MISSING_DOMAIN;" },
	{ "<@b.c>", "~|@b.c|MISSING_MAILBOX|MISSING_DOMAIN;" },
	{ "x@[192.0.2.1]", "~|~|x|[192.0.2.1];" },
	{ "\"a b\"@c.d", "~|~|a b|c.d;" },
	{ "john . doe @ example . com", "~|~|john.doe|example.com;" },
	{ "<>", "~|~||;" },
	{ "", "" },
	{ ",,,", "" },
	{ "a@b, ,c@d", "~|~|a|b;~|~|c|d;" },
	{ "\"unterminated <a@b>", "~|~|unterminated <a@b>|MISSING_DOMAIN;" },
	{ "((nested) comment) x@y", "~|~|x|y;" },
	{ "(((unbalanced) comment) x@y", "" },		/* all comment */
	{ "A <a@b> <c@d>", "A|~|a|b;~|~|c|d;" },
	{ "=?utf-8?q?J=C3=BCrgen?= <j@x>", "=?utf-8?q?J=C3=BCrgen?=|~|j|x;" },
	/* words the lexer cannot take as a run of the input: escapes, no closing byte */
	{ "\"a\\\"b\\\\c\" <x@y>", "a\"b\\c|~|x|y;" },
	{ "\"end\\", "~|~|end\\|MISSING_DOMAIN;" },
	{ "x@[1.2\\]3]", "~|~|x|[1.2]3];" },
	{ "x@[192.0.2.1", "~|~|x|[192.0.2.1];" },
	{ "\"open <a@b>", "~|~|open <a@b>|MISSING_DOMAIN;" },
	/* folded and padded values (unfolded first), one line (taken as it is) */
	{ "Joe\r\n <j@x>,\r\n\tk@y", "Joe|~|j|x;~|~|k|y;" },
	{ " \t a@b \t ", "~|~|a|b;" },
	{ "x)y@z ]w", "~|~|x|MISSING_DOMAIN;~|~|y|z;~|~|w|MISSING_DOMAIN;" },
	{ "(c1) a@b (c2), (c3) d@e", "c2|~|a|b;~|~|d|e;" },
};

static void
test_addresses(void)
{
	struct hdr_addr	*a;
	struct buf	 b;
	size_t		 i, k, n;

	buf_init(&b, 1 << 20);
	for (i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
		buf_reset(&b);
		n = hdr_parse_addresses(addr_cases[i].in, strlen(addr_cases[i].in), 100, &a);
		for (k = 0; k < n; k++)
			(void)buf_addf(&b, "%s|%s|%s|%s;", a[k].name ? a[k].name : "~",
			    a[k].adl ? a[k].adl : "~", a[k].mailbox ? a[k].mailbox : "~",
			    a[k].host ? a[k].host : "~");
		if (!t_str(buf_str(&b), addr_cases[i].want))
			printf("  input %s\n", addr_cases[i].in);
		hdr_addrs_free(&a, n);
	}
	/* the cap holds and a group stays balanced */
	n = hdr_parse_addresses("G: a@b, c@d, e@f;", 17, 2, &a);
	t_int(n, 2);
	t_ok(n == 2 && a[1].mailbox == NULL && a[1].host == NULL);
	hdr_addrs_free(&a, n);
	buf_clear(&b);
}

static const struct {
	const char	*in;
	const char	*want;
} ew_cases[] = {
	{ "=?ISO-8859-1?Q?a?=", "a" },
	{ "=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\xc3\xa9 Pirard" },
	{ "=?UTF-8?B?R3LDvMOfZQ==?=", "Gr\xc3\xbc\xc3\x9f" "e" },
	{ "=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab" },	/* RFC 2047 8 */
	{ "=?ISO-8859-1?Q?a?=  \r\n =?ISO-8859-2?Q?_b?=", "a b" },
	{ "=?ISO-8859-1?Q?a?= b", "a b" },
	{ "=?utf-8?q?=E2=82?= =?utf-8?q?=AC?=", "\xe2\x82\xac" },	/* split char */
	{ "=?x-unknown?Q?raw?=", "=?x-unknown?Q?raw?=" },
	{ "=?utf-8*en?Q?lang?=", "lang" },		/* RFC 2231 5 */
	{ "=?utf-8?X?bad?=", "=?utf-8?X?bad?=" },
	{ "=?utf-8?Q?no end", "=?utf-8?Q?no end" },
	{ "=?", "=?" },
	{ "=?=?utf-8?q?x?=", "=?x" },
	{ "=?utf-8?B?!!!?=", "" },			/* junk base64: nothing */
	{ "=?utf-8?q?=ZZ?=", "=ZZ" },
	{ "=?utf-8?q?\xff?=", "\xff" },			/* passed through */
	{ "=?iso-8859-1?q?\xff?=", "\xc3\xbf" },
	{ "plain text", "plain text" },
};

static void
test_encoded_words(void)
{
	struct buf	b;
	size_t		i;

	buf_init(&b, 1 << 20);
	for (i = 0; i < sizeof(ew_cases) / sizeof(ew_cases[0]); i++) {
		buf_reset(&b);
		t_ok(rfc2047_decode(ew_cases[i].in, strlen(ew_cases[i].in), &b) == 0);
		if (!t_str(buf_str(&b), ew_cases[i].want))
			printf("  input %s\n", ew_cases[i].in);
	}
	/* output cap: -1, never an overflow */
	buf_clear(&b);
	buf_init(&b, 4);
	t_int(rfc2047_decode("=?utf-8?q?abcdef?=", 18, &b), -1);
	buf_clear(&b);

	buf_init(&b, 1 << 20);
	t_int(rfc2231_decode("iso-8859-1'en'%A3%20rates", 25, &b), 0);
	t_str(buf_str(&b), "\xc2\xa3 rates");
	buf_reset(&b);
	t_int(rfc2231_decode("UTF-8''%E2%82%AC", 16, &b), 0);
	t_str(buf_str(&b), "\xe2\x82\xac");
	buf_reset(&b);
	t_int(rfc2231_decode("nope''%41", 9, &b), 1);
	t_str(buf_str(&b), "A");
	buf_reset(&b);
	t_int(rfc2231_decode("no quotes", 9, &b), 0);
	t_str(buf_str(&b), "no quotes");
	buf_clear(&b);
}

static void
test_params(void)
{
	struct mime_param	*pv;
	char			*tok;
	size_t			 n;
	const char		*v;

	v = "text/plain; charset=\"us-ascii\" ; format=flowed;junk; =x; delsp=yes";
	n = mime_params_parse(v, strlen(v), &tok, &pv);
	t_str(tok, "text/plain");
	t_int(n, 3);
	if (n == 3) {
		t_str(pv[0].name, "charset");
		t_str(pv[0].value, "us-ascii");
		t_str(pv[2].name, "delsp");
	}
	free(tok);
	mime_params_free(&pv, n);

	/* continuations out of order, plain only: joined, no star */
	v = "attachment; filename*1=\"b c\"; filename*0=a; size=3";
	n = mime_params_parse(v, strlen(v), &tok, &pv);
	t_int(n, 2);
	if (n == 2) {
		t_str(pv[0].name, "filename");
		t_str(pv[0].value, "ab c");
		t_str(pv[1].name, "size");
	}
	free(tok);
	mime_params_free(&pv, n);

	/* a gap stops the merge (RFC 2231 3) */
	v = "x; a*0=1; a*2=3";
	n = mime_params_parse(v, strlen(v), &tok, &pv);
	t_ok(n >= 1 && strcmp(pv[0].value, "1") == 0);
	free(tok);
	mime_params_free(&pv, n);

	/* hostile: more parameters than the cap */
	{
		struct buf b;

		buf_init(&b, 1 << 20);
		t_ok(buf_adds(&b, "x/y") == 0);
		for (int i = 0; i < 1000; i++)
			(void)buf_addf(&b, "; p%d*%d*=v", i % 7, i);
		n = mime_params_parse(b.data, b.len, &tok, &pv);
		t_ok(n <= MIME_PARAMS_MAX);
		free(tok);
		mime_params_free(&pv, n);
		buf_clear(&b);
	}
}

static void
test_search_text(void)
{
	char		*d;
	size_t		 len;
	struct mime_part *p;
	struct buf	 b;

	buf_init(&b, 16 << 20);
	d = slurp(DATA "/03-alternative.eml", &len);
	p = mime_parse(d, len);
	t_int(mime_search_text(p, MIME_TEXT_BODY, collect_cb, &b), 0);
	t_ok(strstr(buf_str(&b), "Caf\xc3\xa9 news: prices = low.") != NULL);
	t_ok(strstr(buf_str(&b), "Soft break here.") != NULL);
	t_ok(strstr(buf_str(&b), "Newsletter") == NULL);	/* no headers */
	mime_free(&p);
	free(d);

	buf_reset(&b);
	d = slurp(DATA "/07-encoded-words.eml", &len);
	p = mime_parse(d, len);
	t_int(mime_search_text(p, MIME_TEXT_HEADERS | MIME_TEXT_BODY, collect_cb, &b), 0);
	t_ok(strstr(buf_str(&b), "From: Andr\xc3\xa9 Pirard <PIRARD@vm1.ulg.ac.be>\n") != NULL);
	t_ok(strstr(buf_str(&b), "Subject: If you can read this you understand the example.\n") != NULL);
	t_ok(strstr(buf_str(&b), "=?x-unknown?Q?kept_raw?= and \xe2\x82\xac") != NULL);
	t_ok(strstr(buf_str(&b), "\nAndr\xc3\xa9\r\n") != NULL);
	mime_free(&p);
	free(d);

	/* base64 attachment text and nested message headers */
	buf_reset(&b);
	d = slurp(DATA "/11-bare-lf.eml", &len);
	p = mime_parse(d, len);
	t_int(mime_search_text(p, MIME_TEXT_BODY, collect_cb, &b), 0);
	t_ok(strstr(buf_str(&b), "hello world") != NULL);
	mime_free(&p);
	free(d);

	buf_reset(&b);
	d = slurp(DATA "/06-message-rfc822.eml", &len);
	p = mime_parse(d, len);
	t_int(mime_search_text(p, MIME_TEXT_HEADERS, collect_cb, &b), 0);
	t_ok(strstr(buf_str(&b), "Subject: Lunch on Friday?\n") != NULL);
	t_ok(strstr(buf_str(&b), "Subject: Fwd: Lunch on Friday?\n") != NULL);
	/* the callback can stop the walk */
	t_int(mime_search_text(p, MIME_TEXT_HEADERS, collect_cb, &(struct buf){ 0 }), 1);
	mime_free(&p);
	free(d);
	buf_clear(&b);
}

static void
test_decoders(void)
{
	struct xfer_dec	d;
	char		out[64 + XFER_OUT_SLACK];
	size_t		n;
	const char	*qp = "a=3Db=\r\nc=\nd=ZZe=4";
	const char	*b64 = "aGVs\r\nbG8=!!";
	size_t		i;
	struct buf	b;

	/* QP fed a byte at a time gives the same as all at once */
	xfer_init(&d, XFER_QP);
	for (i = n = 0; qp[i] != '\0'; i++)
		n += xfer_feed(&d, qp + i, 1, out + n);
	n += xfer_finish(&d, out + n);
	t_int(n, strlen("a=bcd=ZZe=4"));
	t_ok(n == 11 && memcmp(out, "a=bcd=ZZe=4", 11) == 0);

	/* RFC 2045 6.7 rules 3 and 5: whitespace ending a line is padding, also
	 * between a soft break's "=" and the line end; not inside a line */
	{
		static const char *const qpws[][2] = {
			{ "hello  \r\nbar=\r\n\r\n", "hello\r\nbar\r\n" },
			{ "foo\t \t= \r\n=62\r\n", "foo\t \tb\r\n" },
			{ "foo = \t\r\nbar\n", "foo bar\n" },
			{ "a \tb  \nc=  \nd", "a \tb\ncd" },
			{ "x= y\r z  ", "x= y\r z" },
			{ "trail= ", "trail= " },
		};
		size_t k;

		for (k = 0; k < sizeof(qpws) / sizeof(qpws[0]); k++) {
			xfer_init(&d, XFER_QP);
			for (i = n = 0; qpws[k][0][i] != '\0'; i++)
				n += xfer_feed(&d, qpws[k][0] + i, 1, out + n);
			n += xfer_finish(&d, out + n);
			out[n] = '\0';
			if (!t_str(out, qpws[k][1]))
				printf("  qp input %zu\n", k);
			/* all at once gives the same */
			xfer_init(&d, XFER_QP);
			n = xfer_feed(&d, qpws[k][0], strlen(qpws[k][0]), out);
			n += xfer_finish(&d, out + n);
			out[n] = '\0';
			t_str(out, qpws[k][1]);
		}
	}

	xfer_init(&d, XFER_BASE64);
	for (i = n = 0; b64[i] != '\0'; i++)
		n += xfer_feed(&d, b64 + i, 1, out + n);
	n += xfer_finish(&d, out + n);
	t_ok(n == 5 && memcmp(out, "hello", 5) == 0);

	/* charset converter: a multibyte char split across feeds; bad bytes */
	buf_init(&b, 1 << 10);
	{
		struct charset_conv c;

		t_int(charset_conv_init(&c, "UTF-16LE"), 0);
		t_int(charset_conv_feed(&c, "A", 1, &b), 0);
		t_int(charset_conv_feed(&c, "\0B\0", 3, &b), 0);
		t_int(charset_conv_finish(&c, &b), 0);
		t_str(buf_str(&b), "AB");
		buf_reset(&b);
		t_int(charset_conv_init(&c, "x-no-such-charset"), -1);
		t_int(charset_conv_feed(&c, "\xff", 1, &b), 0);
		charset_conv_clear(&c);
		t_str(buf_str(&b), "\xff");
		buf_reset(&b);
		t_int(charset_conv_init(&c, "UTF-8//TRANSLIT"), -1);
		charset_conv_clear(&c);
		t_int(charset_conv_init(&c, "SHIFT_JIS"), 0);
		t_int(charset_conv_feed(&c, "\x82\xa0\x82", 3, &b), 0);	/* "あ" + half */
		t_int(charset_conv_finish(&c, &b), 0);
		t_str(buf_str(&b), "\xe3\x81\x82\xef\xbf\xbd");
	}
	buf_clear(&b);
}

/* Build "depth" nested multiparts, each with its own boundary. */
static char *
deep_message(size_t depth, bool close, size_t *len_r)
{
	struct buf	b;
	size_t		i;

	buf_init(&b, 256 << 20);
	t_ok(buf_adds(&b, "Subject: deep\r\n") == 0);
	for (i = 0; i < depth; i++)
		(void)buf_addf(&b, "Content-Type: multipart/mixed; boundary=\"b%zu\"\r\n\r\n--b%zu\r\n",
		    i, i);
	t_ok(buf_adds(&b, "Content-Type: text/plain\r\n\r\nleaf\r\n") == 0);
	for (i = depth; close && i-- > 0;)
		(void)buf_addf(&b, "--b%zu--\r\n", i);
	return buf_take(&b, len_r);
}

static size_t
tree_depth(const struct mime_part *p)
{
	size_t	d = 0;

	while (p->children != NULL) {
		p = p->children;
		d++;
	}
	return d;
}

static void
test_hostile(void)
{
	struct mime_part *p;
	char		*m, *s;
	size_t		 len, n, off, sl, i;
	double		 t0;
	struct buf	 b;

	/* unterminated boundary: parts end at EOF */
	m = "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nA\r\n--x\r\n\r\nB";
	p = mime_parse(m, strlen(m));
	s = bs(p, false);
	t_str(s, "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0)"
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0) \"mixed\")");
	free(s);
	mime_free(&p);

	/* multipart whose boundary never appears: one empty part, as Dovecot */
	m = "Content-Type: multipart/mixed; boundary=nope\r\n\r\nbody\r\n";
	p = mime_parse(m, strlen(m));
	s = bs(p, false);
	t_str(s, "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")");
	free(s);
	mime_free(&p);

	/* multipart without boundary parameter: opaque text/plain */
	m = "Content-Type: multipart/mixed\r\n\r\nbody\r\n";
	p = mime_parse(m, strlen(m));
	s = bs(p, false);
	t_str(s, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1)");
	free(s);
	mime_free(&p);

	/* inner part without close delimiter is closed by the outer one */
	m = "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
	    "Content-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\n\r\nx\r\n"
	    "--o\r\n\r\ny\r\n--o--\r\n";
	p = mime_parse(m, strlen(m));
	s = bs(p, false);
	t_str(s, "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0) \"alternative\")"
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0) \"mixed\")");
	free(s);
	mime_free(&p);

	/* a boundary that is a prefix of another is not confused with it */
	m = "Content-Type: multipart/mixed; boundary=ab\r\n\r\n--ab\r\n"
	    "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\nx\r\n--ab--x\r\n--a--\r\n--ab--\r\n";
	p = mime_parse(m, strlen(m));
	t_ok(p->children != NULL && p->children->children != NULL &&
	    p->children->children->body_len == strlen("x\r\n--ab--x"));
	mime_free(&p);

	/* 10,000-deep nesting: bounded depth, fast */
	m = deep_message(10000, true, &len);
	t0 = now();
	p = mime_parse(m, len);
	s = bs(p, true);
	t_ok(tree_depth(p) == MIME_MAX_DEPTH);
	t_ok(strlen(s) < 1 << 20);
	free(s);
	s = env(m, p->hdr_len);
	free(s);
	t_ok(mime_section(p, "1.1.1.1.1.1", &off, &sl) == 0);
	n = 0;
	mime_search_text(p, MIME_TEXT_HEADERS | MIME_TEXT_BODY, count_cb, &n);
	mime_free(&p);
	t_ok(now() - t0 < 2.0);
	free(m);

	/* same, unterminated */
	m = deep_message(10000, false, &len);
	t0 = now();
	p = mime_parse(m, len);
	t_ok(tree_depth(p) == MIME_MAX_DEPTH);
	mime_free(&p);
	t_ok(now() - t0 < 2.0);
	free(m);

	/* 10,000 nested message/rfc822 */
	buf_init(&b, 64 << 20);
	for (i = 0; i < 10000; i++)
		t_ok(buf_adds(&b, "Content-Type: message/rfc822\r\n\r\n") == 0);
	t_ok(buf_adds(&b, "Subject: x\r\n\r\nbody\r\n") == 0);
	t0 = now();
	p = mime_parse(b.data, b.len);
	t_ok(tree_depth(p) == MIME_MAX_DEPTH);
	s = bs(p, true);
	t_ok(s != NULL && s[0] == '(');
	free(s);
	mime_free(&p);
	t_ok(now() - t0 < 2.0);

	/* 20,000 flat parts: capped at MIME_MAX_PARTS */
	buf_reset(&b);
	t_ok(buf_adds(&b, "Content-Type: multipart/mixed; boundary=z\r\n\r\n") == 0);
	for (i = 0; i < 20000; i++)
		t_ok(buf_adds(&b, "--z\r\n\r\nx\r\n") == 0);
	t_ok(buf_adds(&b, "--z--\r\n") == 0);
	t0 = now();
	p = mime_parse(b.data, b.len);
	t_ok(p->nchildren == MIME_MAX_PARTS - 1);
	t_ok(p->body_off + p->body_len == b.len);
	mime_free(&p);
	t_ok(now() - t0 < 2.0);
	buf_clear(&b);

	/* a 100 MB header line, made in memory: one pass, no big copies */
	len = 100u << 20;
	m = xmalloc(len);
	memcpy(m, "Subject: ", 9);
	memset(m + 9, 'a', len - 9 - 30);
	memcpy(m + len - 30, "\r\nContent-Type: text/x\r\n\r\nok\r\n", 30);
	t0 = now();
	p = mime_parse(m, len);
	t_str(p->subtype, "x");
	t_int(p->body_len, 4);
	s = env(m, p->hdr_len);
	t_ok(strlen(s) < 2 * HDR_VALUE_MAX);	/* the subject was cut */
	free(s);
	s = bs(p, true);
	free(s);
	n = 0;
	mime_search_text(p, MIME_TEXT_HEADERS | MIME_TEXT_BODY, count_cb, &n);
	t_ok(n < 4 * HDR_VALUE_MAX);
	mime_free(&p);
	/* and as the Content-Type value itself, with no end of header */
	memcpy(m, "Content-Type: multipart/mixed; boundary=", 40);
	memset(m + len - 30, 'b', 30);
	p = mime_parse(m, len);
	t_int(p->hdr_len, len);
	s = bs(p, true);
	free(s);
	mime_free(&p);
	t_ok(now() - t0 < 5.0);
	free(m);

	/* broken transfer encodings and encoded words still give text */
	m = "Subject: =?utf-8?B?####?= =?bogus?Q?=?= =?utf-8?Q?ok?=\r\n"
	    "Content-Type: multipart/mixed; boundary=q\r\n\r\n"
	    "--q\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n%%%%aGk=====@@@\r\n"
	    "--q\r\nContent-Type: text/plain; charset=x-bogus\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n=\r\n=4=X=\r\n"
	    "--q\r\nContent-Type: text/plain; charset=utf-16\r\n\r\n\xff\r\n--q--\r\n";
	buf_init(&b, 1 << 20);
	p = mime_parse(m, strlen(m));
	t_int(mime_search_text(p, MIME_TEXT_HEADERS | MIME_TEXT_BODY, collect_cb, &b), 0);
	t_ok(strstr(buf_str(&b), "hi") != NULL);
	t_ok(strstr(buf_str(&b), "=?bogus?Q?=?=ok") != NULL);
	mime_free(&p);
	buf_clear(&b);

	/* NUL bytes in headers and bodies */
	{
		static const char nul[] = "Subject: a\0b\r\nFrom: x\0@y\r\n"
		    "Content-Type: text/plain; name=\"a\0b\"\r\n\r\nbo\0dy\r\n";

		p = mime_parse(nul, sizeof(nul) - 1);
		s = env(nul, p->hdr_len);
		t_ok(memchr(s, '\0', strlen(s)) == NULL && strstr(s, "\"ab\"") != NULL);
		free(s);
		s = bs(p, true);
		t_ok(strstr(s, "\"ab\"") != NULL);
		t_int(p->body_len, 7);
		free(s);
		mime_free(&p);
	}

	/* empty input, lone CR, header only */
	p = mime_parse("", 0);
	s = bs(p, true);
	t_str(s, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)");
	free(s);
	s = env("", 0);
	t_str(s, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	free(s);
	mime_free(&p);
	mime_free(&p);		/* harmless twice */
	p = mime_parse("\r", 1);
	mime_free(&p);
}

/* hdr_unfold_view gives what hdr_unfold appends, copied or not. */
static void
test_unfold_view(void)
{
	static const char *const in[] = {
		"", " ", " plain value ", "\tTab\t", "folded\r\n value", "a\nb", "lone\rcr",
		" \r\n ", "x  y",
	};
	struct buf	 want, scratch;
	const char	*v;
	size_t		 i, len;

	buf_init(&want, HDR_VALUE_MAX);
	buf_init(&scratch, HDR_VALUE_MAX);
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		buf_reset(&want);
		buf_reset(&scratch);
		(void)hdr_unfold(in[i], strlen(in[i]), &want);
		v = hdr_unfold_view(in[i], strlen(in[i]), &scratch, &len);
		t_int(len, want.len);
		t_ok(memcmp(v, buf_str(&want), len) == 0);
	}
	/* a NUL is dropped as hdr_unfold drops it */
	buf_reset(&want);
	buf_reset(&scratch);
	(void)hdr_unfold("a\0b", 3, &want);
	v = hdr_unfold_view("a\0b", 3, &scratch, &len);
	t_int(len, 2);
	t_ok(len == want.len && memcmp(v, "ab", 2) == 0);
	buf_clear(&want);
	buf_clear(&scratch);
}

/* RFC 3501 7.4.2: Sender and Reply-To, absent or empty, are From's list again. */
static void
test_envelope_from_copies(void)
{
	static const struct {
		const char	*hdr;
		const char	*want;
	} cases[] = {
		{ "From: A <a@x>\r\nTo: t@y\r\n\r\n",
		  "(NIL NIL ((\"A\" NIL \"a\" \"x\")) ((\"A\" NIL \"a\" \"x\")) "
		  "((\"A\" NIL \"a\" \"x\")) ((NIL NIL \"t\" \"y\")) NIL NIL NIL NIL)" },
		{ "Sender: s@z\r\nFrom: a@x\r\n\r\n",
		  "(NIL NIL ((NIL NIL \"a\" \"x\")) ((NIL NIL \"s\" \"z\")) "
		  "((NIL NIL \"a\" \"x\")) NIL NIL NIL NIL NIL)" },
		{ "From: a@x\r\nSender: \r\nReply-To: r@w\r\n\r\n",
		  "(NIL NIL ((NIL NIL \"a\" \"x\")) ((NIL NIL \"a\" \"x\")) "
		  "((NIL NIL \"r\" \"w\")) NIL NIL NIL NIL NIL)" },
		{ "Reply-To: r@w\r\n\r\n",
		  "(NIL NIL NIL NIL ((NIL NIL \"r\" \"w\")) NIL NIL NIL NIL NIL)" },
	};
	size_t	 i;
	char	*s;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = env(cases[i].hdr, strlen(cases[i].hdr));
		t_str(s, cases[i].want);
		free(s);
	}
}

static void
test_imap_string(void)
{
	struct buf	b;

	buf_init(&b, 1 << 20);
	t_ok(mime_imap_string(&b, "a\"b\\c", 5) == 0);
	t_str(buf_str(&b), "\"a\\\"b\\\\c\"");
	buf_reset(&b);
	t_ok(mime_imap_string(&b, "a\r\nb", 4) == 0);
	t_str(buf_str(&b), "{4}\r\na\r\nb");
	buf_reset(&b);
	t_ok(mime_imap_string(&b, "\xc3\xa9", 2) == 0);
	t_str(buf_str(&b), "{2}\r\n\xc3\xa9");
	buf_reset(&b);
	t_ok(mime_imap_string(&b, NULL, 0) == 0);
	t_str(buf_str(&b), "NIL");
	buf_reset(&b);
	t_ok(mime_imap_string(&b, "", 0) == 0);
	t_str(buf_str(&b), "\"\"");
	buf_reset(&b);
	/* quoted: escapes and NULs at either end and side by side */
	t_ok(mime_imap_string(&b, "\"\0a\\\\\0\0b\"", 9) == 0);
	t_str(buf_str(&b), "\"\\\"a\\\\\\\\b\\\"\"");
	buf_reset(&b);
	t_ok(mime_imap_string(&b, "\0\0", 2) == 0);
	t_str(buf_str(&b), "\"\"");
	buf_clear(&b);
	/* output cap */
	buf_init(&b, 3);
	t_int(mime_imap_string(&b, "abcdef", 6), -1);
	buf_clear(&b);
}

int
main(void)
{
	t_begin("mime");
	test_corpus();
	test_sections();
	test_addresses();
	test_encoded_words();
	test_params();
	test_decoders();
	test_search_text();
	test_imap_string();
	test_envelope_from_copies();
	test_unfold_view();
	test_hostile();
	return t_end();
}
