/*
 * SEARCH criteria (RFC 3501 6.4.4, RFC 9051 6.4.4) parsed from the
 * command's argument tree into a tree of keys, with RFC 7162 MODSEQ,
 * RFC 5032 OLDER/YOUNGER, RFC 8514 SAVED*, RFC 8474 EMAILID/THREADID,
 * RFC 4731/9051 RETURN (ESEARCH) options, RFC 5182 "$" and CHARSET
 * (UTF-8 and US-ASCII only).  The query owns everything
 * in it (strings are copied): it outlives the parser's argument tree.
 */
#ifndef LB_IMAP_SEARCH_PARSE_H
#define LB_IMAP_SEARCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/arena.h"
#include "imap/arg.h"
#include "imap/seqset.h"

enum search_key_type {
	/* flags and states: no operand */
	SEARCH_ALL, SEARCH_ANSWERED, SEARCH_DELETED, SEARCH_DRAFT, SEARCH_FLAGGED,
	SEARCH_NEW, SEARCH_OLD, SEARCH_RECENT, SEARCH_SEEN, SEARCH_UNANSWERED,
	SEARCH_UNDELETED, SEARCH_UNDRAFT, SEARCH_UNFLAGGED, SEARCH_UNSEEN,
	SEARCH_SAVEDATESUPPORTED,	/* RFC 8514: the mailbox keeps save dates */
	/* str: a keyword */
	SEARCH_KEYWORD, SEARCH_UNKEYWORD,
	/* str: an objectid (RFC 8474) */
	SEARCH_EMAILID, SEARCH_THREADID,
	/* str: substring of a header or the text (RFC 9051: decoded, case-insensitive) */
	SEARCH_BCC, SEARCH_CC, SEARCH_FROM, SEARCH_TO, SEARCH_SUBJECT, SEARCH_BODY,
	SEARCH_TEXT,
	SEARCH_HEADER,		/* field: header name; str: substring ("" = has the header) */
	/* date: internal date (BEFORE ON SINCE) or Date: header (SENT*) */
	SEARCH_BEFORE, SEARCH_ON, SEARCH_SINCE, SEARCH_SENTBEFORE, SEARCH_SENTON,
	SEARCH_SENTSINCE,
	SEARCH_SAVEDBEFORE, SEARCH_SAVEDON, SEARCH_SAVEDSINCE,	/* save date, RFC 8514 */
	/* num */
	SEARCH_LARGER, SEARCH_SMALLER,	/* RFC822.SIZE */
	SEARCH_OLDER, SEARCH_YOUNGER,	/* seconds of internal date age, RFC 5032 */
	SEARCH_MODSEQ,			/* num: modseq >= it; field: entry name or NULL */
	/* set */
	SEARCH_SEQSET, SEARCH_UIDSET,	/* set.saved: "$" */
	/* tree */
	SEARCH_AND,			/* child: a list linked by next (parentheses) */
	SEARCH_OR,			/* child and child->next */
	SEARCH_NOT,			/* child */
};

enum search_modseq_type { SEARCH_MODSEQ_ALL, SEARCH_MODSEQ_PRIV, SEARCH_MODSEQ_SHARED };

struct search_key {
	enum search_key_type	 type;
	struct search_key	*next;		/* next key ANDed with this one */
	struct search_key	*child;
	const char		*field;		/* HEADER name, MODSEQ entry; NUL-terminated */
	size_t			 field_len;
	const char		*str;		/* NUL-terminated */
	size_t			 len;
	uint64_t		 num;
	uint32_t		 date;		/* yyyymmdd: compare as integers */
	enum search_modseq_type	 modseq_type;
	struct seqset		 set;
	struct search_key	*set_next;	/* keys holding a set, for freeing */
};

/* RETURN options (RFC 4731, RFC 5182) */
#define SEARCH_RET_MIN		0x01
#define SEARCH_RET_MAX		0x02
#define SEARCH_RET_ALL		0x04
#define SEARCH_RET_COUNT	0x08
#define SEARCH_RET_SAVE		0x10

struct search_query {
	struct search_key	*root;		/* SEARCH_AND of the top-level keys */
	bool			 esearch;	/* RETURN given: answer with ESEARCH */
	unsigned		 ret;		/* SEARCH_RET_*; RETURN () means ALL */
	bool			 uses_modseq;	/* RFC 7162 3.1.5: add (MODSEQ n) to the reply */
	bool			 uses_saved;	/* "$" appears */
	struct imap_arena	 arena;
	struct search_key	*sets;
};

struct search_error {
	const char	*msg;
	const char	*code;		/* e.g. "BADCHARSET (UTF-8 US-ASCII)", or NULL */
	bool		 no;		/* tagged NO instead of BAD */
};

/*
 * Parse args[0..nargs) (what follows "SEARCH").  max_depth bounds NOT, OR
 * and parentheses.  Returns 0 and *q_r (free with search_query_free), or
 * -1 with *err filled (static strings).
 */
int	 search_parse(const struct imap_arg *args, size_t nargs, unsigned max_depth,
	    struct search_query **q_r, struct search_error *err);
void	 search_query_free(struct search_query **qp);

#endif
