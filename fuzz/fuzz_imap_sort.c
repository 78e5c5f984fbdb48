/*
 * libFuzzer harness for SORT and THREAD (src/imap/sort.h, thread.h,
 * envelope.h, mime/subject.h, imap/date.h): the input is
 * "<sort or thread arguments>\n<bytes>".  The arguments go through the real
 * command parser, then sort_parse_criteria() and the charset/search-key
 * parse SORT and THREAD use.  The bytes are read as a cached ENVELOPE, as a
 * Subject and a Date value, and as a header whose ENVELOPE (mime_envelope)
 * must always read back; lines of the bytes become messages for both
 * THREAD algorithms and for a sort table.  Checks: the ENVELOPE round trip,
 * a base subject never grows, every message appears once in the threads.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/date.h"
#include "imap/envelope.h"
#include "imap/parser.h"
#include "imap/search_run.h"
#include "imap/sort.h"
#include "imap/thread.h"
#include "lib/buf.h"
#include "mime/mime.h"
#include "mime/subject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NMSG	16

static const struct imap_parser_limits lim = {
	.max_line = 4096, .max_literal = 1024, .max_message = 4096,
	.max_nonsync = 1024, .max_depth = 8, .max_args = 200,
};

static void
must(int ok)
{
	if (!ok)
		abort();
}

static void
commands(const struct imap_cmd *cmd)
{
	struct sort_criteria	 crit;
	struct search_query	*q = NULL;
	struct search_error	 err;
	const char		*msg;

	if (cmd->nargs > 0 && sort_parse_criteria(&cmd->args[0], &crit, &msg) == 0)
		must(crit.n > 0 && crit.n <= SORT_KEYS_MAX);
	if (cmd->nargs > 0 && search_parse_charset_first(cmd->args + 1, cmd->nargs - 1, &q,
	    &err) == 0)
		search_query_free(&q);
}

/* Each line of the bytes: "subject|date|message-id|in-reply-to|references". */
static void
threads(const char *p, size_t len)
{
	struct thread_msg	 m[NMSG];
	struct buf		 subj[NMSG], out;
	const char		*f[5], *e = p + len, *nl, *bar;
	size_t			 fl[5], n = 0, i, k, count;
	struct sort_criteria	 crit = { 3, { SORT_SUBJECT, SORT_DATE, SORT_SIZE },
				    { false, true, false } };
	struct sort_table	*t = sort_table_new(&crit);
	struct envelope		 env;
	struct sort_msg		 sm;
	const uint32_t		*seqs, *uids;
	bool			 reply;

	while (p < e && n < NMSG) {
		nl = memchr(p, '\n', (size_t)(e - p));
		if (nl == NULL)
			nl = e;
		for (k = 0; k < 5; k++) {
			bar = memchr(p, '|', (size_t)(nl - p));
			f[k] = p;
			fl[k] = (size_t)((bar != NULL ? bar : nl) - p);
			p = bar != NULL ? bar + 1 : nl;
		}
		buf_init(&subj[n], 1 << 16);
		(void)mime_base_subject(f[0], fl[0], &subj[n], &reply);
		must(subj[n].len <= fl[0] * 3 + 16);	/* decoding may widen, a little */
		m[n] = (struct thread_msg){ .id = (uint32_t)n + 1, .seq = (uint32_t)n + 1,
		    .subject = buf_str(&subj[n]), .subject_len = subj[n].len, .is_reply = reply,
		    .message_id = f[2], .message_id_len = fl[2], .in_reply_to = f[3],
		    .in_reply_to_len = fl[3], .references = f[4], .references_len = fl[4] };
		if (imap_parse_rfc5322_date(f[1], fl[1], &m[n].date) < 0)
			m[n].date = (int64_t)n;
		memset(&env, 0, sizeof(env));
		sm = (struct sort_msg){ .seq = (uint32_t)n + 1, .uid = (uint32_t)n + 1,
		    .size = fl[1], .env = n % 2 ? &env : NULL };
		sort_table_add(t, &sm);
		n++;
		p = nl < e ? nl + 1 : e;
	}
	count = sort_table_sort(t, &seqs, &uids);
	must(count == n);
	sort_table_free(&t);
	for (k = 0; k < 2; k++) {
		buf_init(&out, 1 << 20);
		must(thread_build(k ? THREAD_REFERENCES : THREAD_ORDEREDSUBJECT, m, n, &out) == 0);
		/* every message once: count the numbers written */
		for (i = 0, count = 0; i < out.len; i++)
			if (out.data[i] >= '0' && out.data[i] <= '9' &&
			    (i + 1 == out.len || out.data[i + 1] < '0' || out.data[i + 1] > '9'))
				count++;
		must(count == n);
		buf_clear(&out);
	}
	for (i = 0; i < n; i++)
		buf_clear(&subj[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*in = (const char *)data, *nl = memchr(in, '\n', size);
	size_t			 clen = nl != NULL ? (size_t)(nl - in) : size, used, off = 0, len;
	const char		*b = nl != NULL ? nl + 1 : "";
	size_t			 blen = nl != NULL ? size - clen - 1 : 0;
	struct imap_parser	*p;
	enum imap_parse		 r = IMAP_PARSE_MORE;
	struct envelope		 e;
	struct buf		 out;
	int64_t			 t;
	char			*line;

	if (clen > 2000)
		return 0;
	line = malloc(clen + 16);
	must(line != NULL);
	memcpy(line, "A SORT ", 7);
	memcpy(line + 7, in, clen);
	memcpy(line + 7 + clen, "\r\n", 2);
	len = clen + 9;
	p = imap_parser_new(&lim);
	while (off < len && r != IMAP_PARSE_DONE && r != IMAP_PARSE_ERROR) {
		r = imap_parser_feed(p, line + off, len - off, &used);
		if (r == IMAP_PARSE_CONTINUE)
			imap_parser_continue(p);
		off += used;
	}
	if (r == IMAP_PARSE_DONE)
		commands(imap_parser_command(p));
	imap_parser_free(&p);
	free(line);

	(void)envelope_read(b, blen, &e);
	envelope_clear(&e);
	(void)imap_parse_rfc5322_date(b, blen, &t);
	/* what the cache stores must read back */
	buf_init(&out, 1 << 20);
	if (mime_envelope(b, blen, &out) == 0) {
		must(envelope_read(out.data, out.len, &e) == 0);
		envelope_clear(&e);
	}
	buf_clear(&out);
	threads(b, blen);
	return 0;
}
