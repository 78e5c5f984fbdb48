/*
 * Shared by the IMAP unit tests: feed one command line through the real
 * parser, whole or a few bytes at a time.
 */
#ifndef LB_IMAP_T_H
#define LB_IMAP_T_H

#include <string.h>

#include "imap/parser.h"

static const struct imap_parser_limits lim = {
	.max_line = 65536, .max_literal = 65536, .max_message = 1 << 20,
	.max_nonsync = 4096, .max_depth = 16, .max_args = 5000,
};

/* Parse one command line; step 0 = whole, else bytes per feed.  NULL on error. */
static const struct imap_cmd *
parse_line(struct imap_parser *p, const char *line, size_t step)
{
	size_t		 len = strlen(line), off = 0, n, used;
	enum imap_parse	 r = IMAP_PARSE_MORE;

	while (off < len) {
		n = step == 0 || step > len - off ? len - off : step;
		r = imap_parser_feed(p, line + off, n, &used);
		if (r == IMAP_PARSE_CONTINUE)
			imap_parser_continue(p);
		off += used;
		if (r == IMAP_PARSE_DONE || r == IMAP_PARSE_ERROR)
			break;
	}
	return r == IMAP_PARSE_DONE && off == len ? imap_parser_command(p) : NULL;
}

#endif
