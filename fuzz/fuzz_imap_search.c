/*
 * libFuzzer harness for SEARCH evaluation (src/imap/search_eval.h): the
 * input is "<criteria>\n<message>".  The criteria go through the real
 * command parser and search_parse(); the query is then evaluated against
 * the message (decoded headers and bodies, dates, case folding) under
 * flags taken from the input.  Checks: evaluation never reads the message
 * more than once, a query without content keys never reads it, and the
 * text matcher agrees with itself on folded input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/parser.h"
#include "imap/search_eval.h"
#include "imap/search_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct imap_parser_limits lim = {
	.max_line = 4096, .max_literal = 1024, .max_message = 4096,
	.max_nonsync = 1024, .max_depth = 8, .max_args = 200,
};

struct msgdata {
	const char	*p;
	size_t		 len;
	unsigned	 calls;
};

static void
must(int ok)
{
	if (!ok)
		abort();
}

static int
content_cb(void *arg, const struct search_msg *m, const char **data_r, size_t *len_r)
{
	struct msgdata *md = arg;

	md->calls++;
	if (m->flags & 0x80000000u)	/* an unreadable message now and then */
		return -1;
	*data_r = md->p;
	*len_r = md->len;
	return 0;
}

static int
keyword_cb(void *arg, const char *name)
{
	return (int)(strlen(name) % 30) - 3;	/* some unknown, some out of 26 */
}

static void
evaluate(const struct imap_cmd *cmd, const char *msg, size_t mlen, uint32_t bits)
{
	struct search_query	*q = NULL;
	struct search_error	 err;
	struct msgdata		 md = { msg, mlen, 0 };
	struct seqset		 saved;
	struct search_ctx	 ctx = { .now = 1700000000, .keyword_index = keyword_cb,
				    .content = content_cb, .arg = &md };
	struct search_msg	 m = {
		.seq = 1 + (bits & 7), .uid = 1 + (bits >> 3 & 0xff), .flags = bits,
		.keywords = bits >> 8, .recent = bits & 0x100, .size = mlen, .modseq = bits & 0xfff,
		.idate = 1600000000 + (int64_t)(bits & 0xffff) * 1000, .iday = 20200101 + (bits & 0x1f),
	};

	if (search_parse(cmd->args, cmd->nargs, 8, &q, &err) < 0)
		return;
	seqset_init(&saved);
	seqset_add_range(&saved, 1, 1 + (bits & 0x3f));
	ctx.saved = (bits & 0x200) ? &saved : NULL;
	search_eval_prepare(q, 8, 256);
	(void)search_eval(q, &ctx, &m);
	must(md.calls <= 1);
	if (!search_needs_content(q))
		must(md.calls == 0);
	search_query_free(&q);
	seqset_clear(&saved);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*in = (const char *)data, *nl = memchr(in, '\n', size);
	size_t			 clen = nl != NULL ? (size_t)(nl - in) : size, used, off = 0, len;
	const char		*msg = nl != NULL ? nl + 1 : "";
	size_t			 mlen = nl != NULL ? size - clen - 1 : 0;
	struct imap_parser	*p;
	enum imap_parse		 r = IMAP_PARSE_MORE;
	char			*line;
	uint32_t		 bits = 0, d;

	if (clen > 2000)
		return 0;
	line = malloc(clen + 16);
	must(line != NULL);
	memcpy(line, "A SEARCH ", 9);
	memcpy(line + 9, in, clen);
	memcpy(line + 9 + clen, "\r\n", 2);
	len = clen + 11;
	if (clen >= 4)
		memcpy(&bits, in, 4);
	p = imap_parser_new(&lim);
	while (off < len && r != IMAP_PARSE_DONE && r != IMAP_PARSE_ERROR) {
		r = imap_parser_feed(p, line + off, len - off, &used);
		if (r == IMAP_PARSE_CONTINUE)
			imap_parser_continue(p);
		off += used;
	}
	if (r == IMAP_PARSE_DONE)
		evaluate(imap_parser_command(p), msg, mlen, bits);
	imap_parser_free(&p);
	free(line);

	/* the matcher: a haystack always contains itself and its empty prefix */
	must(search_text_match(msg, mlen, msg, mlen));
	must(search_text_match(msg, mlen, "", 0));
	if (search_parse_sent_date(msg, mlen, &d) == 0)
		must(d >= 101 && d <= 99991231);
	return 0;
}
