/*
 * libFuzzer harness for the IMAP protocol libraries in src/imap/: the
 * incremental command parser, sequence sets, SEARCH and FETCH argument
 * parsers, quoting and modified UTF-7.
 *
 * The input is a client byte stream.  It is fed to the parser twice: in
 * one piece, and in pieces whose sizes come from the input.  Both runs
 * must report the same events (commands, errors, continuations, literal
 * starts) and the same streamed literal bytes: a parser whose result
 * depends on where TCP split the stream is a smuggling bug.  Every parsed
 * command's arguments then go through the other parsers, with round-trip
 * checks (seqset format -> parse, mUTF-7 decode -> encode, string write ->
 * parse back).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/date.h"
#include "imap/fetch_parse.h"
#include "imap/mutf7.h"
#include "imap/parser.h"
#include "imap/quote.h"
#include "imap/search_parse.h"
#include "imap/seqset.h"
#include "lib/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct imap_parser_limits lim = {
	.max_line = 2048, .max_literal = 1024, .max_message = 4096,
	.max_nonsync = 512, .max_depth = 8, .max_args = 200,
};

static void
must(int ok)
{
	if (!ok)
		abort();
}

static void
log_args(struct buf *log, const struct imap_arg *a, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		must(buf_addf(log, " %d:%zu:", (int)a[i].type, a[i].len) == 0);
		if (a[i].str != NULL) {
			must(a[i].str[a[i].len] == '\0');
			must(buf_add(log, a[i].str, a[i].len) == 0);
		}
		if (a[i].type == IMAP_ARG_LIST) {
			must(buf_addc(log, '(') == 0);
			log_args(log, a[i].list, a[i].count);
			must(buf_addc(log, ')') == 0);
		}
	}
}

/* Write s as an astring, parse it back: the same bytes must come out. */
static void
roundtrip_string(const char *s, size_t len)
{
	struct imap_parser	*p = imap_parser_new(&lim);
	const struct imap_cmd	*c;
	struct buf		 line;
	const char		*got;
	size_t			 used, glen, off = 0;
	enum imap_parse		 r;

	buf_init(&line, 1 << 16);
	must(buf_adds(&line, "T X ") == 0);
	must(imap_write_astring(&line, s, len, 0) == 0);
	must(buf_adds(&line, "\r\n") == 0);
	do {
		r = imap_parser_feed(p, line.data + off, line.len - off, &used);
		off += used;
		if (r == IMAP_PARSE_CONTINUE)
			imap_parser_continue(p);
	} while (r == IMAP_PARSE_CONTINUE);
	/* NUL cannot travel in a plain literal; everything else must */
	if (memchr(s, '\0', len) == NULL && len <= lim.max_literal && line.len <= lim.max_line) {
		must(r == IMAP_PARSE_DONE);
		c = imap_parser_command(p);
		must(c->nargs == 1 && imap_arg_astring(&c->args[0], &got, &glen));
		must(glen == len && memcmp(got, s, len) == 0);
	}
	buf_clear(&line);
	imap_parser_free(&p);
}

static void
check_seqset(const char *s, size_t len)
{
	struct seqset	 a, b;
	struct buf	 out;
	const char	*err;
	size_t		 i;

	seqset_init(&a);
	seqset_init(&b);
	buf_init(&out, 1 << 20);
	if (seqset_parse(&a, s, len, 0, &err) == 0 && !a.saved) {
		seqset_resolve(&a, len > 3 ? (uint32_t)len * 1000 : 0);
		must(seqset_format(&a, &out) == 0);
		must(seqset_parse(&b, out.data ? out.data : "", out.len, 0, &err) == 0 || a.n == 0);
		seqset_resolve(&b, 1);
		must(a.n == b.n);
		for (i = 0; i < a.n; i++) {
			must(a.r[i].lo <= a.r[i].hi);
			must(a.r[i].lo == b.r[i].lo && a.r[i].hi == b.r[i].hi);
			must(seqset_contains(&a, a.r[i].lo) && seqset_contains(&a, a.r[i].hi));
			if (i > 0)
				must(a.r[i].lo > a.r[i - 1].hi + 1);
		}
	}
	buf_clear(&out);
	seqset_clear(&a);
	seqset_clear(&b);
}

static void
check_mutf7(const char *s, size_t len)
{
	struct buf	 dec, enc;

	buf_init(&dec, 1 << 16);
	buf_init(&enc, 1 << 17);
	if (mutf7_decode(s, len, &dec) == 0) {
		/* strict: exactly one spelling, so encoding gives the input back */
		must(utf8_valid(dec.data ? dec.data : "", dec.len));
		must(mutf7_encode(dec.data ? dec.data : "", dec.len, &enc) == 0);
		must(enc.len == len && (len == 0 || memcmp(enc.data, s, len) == 0));
	}
	buf_reset(&enc);
	if (utf8_valid(s, len)) {
		buf_reset(&dec);
		must(mutf7_encode(s, len, &enc) == 0);
		must(mutf7_decode(enc.data ? enc.data : "", enc.len, &dec) == 0);
		must(dec.len == len && (len == 0 || memcmp(dec.data, s, len) == 0));
	}
	buf_clear(&dec);
	buf_clear(&enc);
}

/* date-time: parse -> format -> parse gives the same instant and zone */
static void
check_datetime(const char *s, size_t len)
{
	char		 out[IMAP_DATETIME_LEN + 1];
	int64_t		 utc, utc2;
	int		 zone, zone2;
	uint32_t	 ymd;

	if (imap_parse_datetime(s, len, &utc, &zone) == 0) {
		imap_format_datetime(utc, zone, out);
		must(imap_parse_datetime(out, IMAP_DATETIME_LEN, &utc2, &zone2) == 0);
		must(utc2 == utc && zone2 == zone);
	}
	if (imap_parse_date(s, len, &ymd) == 0)
		must(ymd >= 101 && ymd <= 99991231);
}

static void
check_command(const struct imap_cmd *c, bool deep)
{
	struct search_query	*q = NULL;
	struct search_error	 serr;
	struct fetch_attrs	*fa = NULL;
	const char		*err;
	size_t			 i;

	if (search_parse(c->args, c->nargs, 16, &q, &serr) == 0)
		must(q->root != NULL && q->root->type == SEARCH_AND);
	else
		must(q == NULL && serr.msg != NULL);
	search_query_free(&q);
	if (c->nargs > 0) {
		if (fetch_parse(c->args + 1, c->nargs - 1, c->nargs & 1, &fa, &err) == 0)
			must(fa->n > 0);
		else
			must(fa == NULL && err != NULL);
		fetch_attrs_free(&fa);
	}
	if (!deep)
		return;
	for (i = 0; i < c->nargs && i < 4; i++) {
		const struct imap_arg *a = &c->args[i];

		if (a->type == IMAP_ARG_ATOM)
			check_seqset(a->str, a->len);
		if (a->str != NULL) {
			check_datetime(a->str, a->len);
			check_mutf7(a->str, a->len);
			roundtrip_string(a->str, a->len);
		}
	}
}

/* Feed all of in[] in pieces (steps cycled; NULL = one piece); log events. */
static void
run(const char *in, size_t n, const uint8_t *steps, size_t nsteps, struct buf *log,
    struct buf *stream, bool deep)
{
	struct imap_parser	*p = imap_parser_new(&lim);
	const struct imap_parse_error *e;
	size_t			 off = 0, k, used, si = 0, events = 0, c;
	enum imap_parse		 r;

	while (off < n) {
		k = n - off;
		if (nsteps > 0 && (k = (size_t)steps[si++ % nsteps] % 23 + 1) > n - off)
			k = n - off;
		for (c = 0;;) {
			r = imap_parser_feed(p, in + off + c, k - c, &used);
			must(used <= k - c);
			c += used;
			if (r == IMAP_PARSE_MORE) {
				must(c == k);
				break;
			}
			/* DATA chunks follow the split; only their bytes must agree */
			if (r != IMAP_PARSE_DATA)
				must(buf_addf(log, "\n%d", (int)r) == 0);
			switch (r) {
			case IMAP_PARSE_CONTINUE:
				/* refuse some continuations, the same ones in every run */
				if (++events % 5 == 4)
					imap_parser_reset(p);
				else
					imap_parser_continue(p);
				break;
			case IMAP_PARSE_DATA:
				must(used > 0 && buf_add(stream, in + off + c - used, used) == 0);
				break;
			case IMAP_PARSE_LITERAL:
				must(imap_parser_literal_left(p) == imap_parser_literal(p)->size);
				/* FALLTHROUGH */
			case IMAP_PARSE_DONE:
				must(buf_addf(log, " %s %s", imap_parser_command(p)->tag,
				    imap_parser_command(p)->name) == 0);
				log_args(log, imap_parser_command(p)->args,
				    imap_parser_command(p)->nargs);
				if (r == IMAP_PARSE_DONE)
					check_command(imap_parser_command(p), deep);
				break;
			case IMAP_PARSE_ERROR:
				e = imap_parser_error(p);
				must(e->msg != NULL);
				must(buf_addf(log, " %s %s %d", e->msg, e->tag ? e->tag : "*",
				    e->close) == 0);
				if (e->close)
					goto out;
				break;
			default:
				abort();
			}
		}
		off += k;
	}
out:
	imap_parser_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf	 la, lb, sa, sb;
	char		*copy;

	if (size > 1 << 16)
		return 0;
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	buf_init(&la, 1 << 24);
	buf_init(&lb, 1 << 24);
	buf_init(&sa, 1 << 20);
	buf_init(&sb, 1 << 20);
	run(copy, size, NULL, 0, &la, &sa, true);
	run(copy, size, data, size < 64 ? size : 64, &lb, &sb, false);
	must(la.len == lb.len && (la.len == 0 || memcmp(la.data, lb.data, la.len) == 0));
	must(sa.len == sb.len && (sa.len == 0 || memcmp(sa.data, sb.data, sa.len) == 0));
	buf_clear(&la);
	buf_clear(&lb);
	buf_clear(&sa);
	buf_clear(&sb);
	free(copy);
	return 0;
}
