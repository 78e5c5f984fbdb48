/*
 * libFuzzer harness for SELECT / EXAMINE parameters (src/imap/
 * select_parse.h, RFC 7162 CONDSTORE / QRESYNC): the input is a command
 * line, parsed by the real command parser, and when it has a parameter
 * list, by select_params_parse().  Checks what the session relies on:
 * an accepted QRESYNC has a non-zero UIDVALIDITY and modseq, known UIDs
 * are normalised without "*", the seq-match sets hold as many numbers as
 * each other, and a refusal leaves nothing allocated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/parser.h"
#include "imap/select_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

static uint64_t
count(const struct seqset *s)
{
	uint64_t	 n = 0;
	size_t		 i;

	for (i = 0; i < s->n; i++) {
		must(s->r[i].lo != SEQ_STAR && s->r[i].hi != SEQ_STAR);
		n += (s->r[i].lo <= s->r[i].hi ? s->r[i].hi - s->r[i].lo :
		    s->r[i].lo - s->r[i].hi) + 1ull;
	}
	return n;
}

static void
check(const struct imap_arg *list)
{
	struct select_params	 p;
	const char		*err = NULL;
	size_t			 i;

	if (select_params_parse(list, &p, &err) < 0) {
		must(err != NULL && p.known_uids.r == NULL && p.seq_match.r == NULL &&
		    p.uid_match.r == NULL && !p.qresync && !p.condstore);
		return;
	}
	if (p.qresync) {
		must(p.condstore && p.uidvalidity != 0 && p.modseq != 0);
		for (i = 0; i < p.known_uids.n; i++) {
			must(p.known_uids.r[i].lo <= p.known_uids.r[i].hi);
			must(i == 0 || p.known_uids.r[i - 1].hi + 1ull < p.known_uids.r[i].lo);
		}
		(void)count(&p.known_uids);
		must(p.has_known || p.known_uids.n == 0);
		must(count(&p.seq_match) == count(&p.uid_match));
	}
	select_params_clear(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser	*ps = imap_parser_new(&lim);
	const struct imap_cmd	*cmd;
	enum imap_parse		 r = IMAP_PARSE_MORE;
	size_t			 off = 0, used;

	while (off < size) {
		r = imap_parser_feed(ps, (const char *)data + off, size - off, &used);
		if (r == IMAP_PARSE_CONTINUE)
			imap_parser_continue(ps);
		off += used;
		if (r == IMAP_PARSE_DONE || r == IMAP_PARSE_ERROR || used == 0)
			break;
	}
	if (r == IMAP_PARSE_DONE && (cmd = imap_parser_command(ps)) != NULL) {
		if (cmd->nargs >= 2)
			check(&cmd->args[1]);
		if (cmd->nargs >= 1)
			check(&cmd->args[cmd->nargs - 1]);
	}
	imap_parser_free(&ps);
	return 0;
}
