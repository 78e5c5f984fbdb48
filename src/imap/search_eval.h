/*
 * SEARCH evaluation (RFC 3501 6.4.4, RFC 9051 6.4.4): a query from
 * search_parse.h against one message at a time.  Pure: the message is a
 * struct of what the view already knows (flags, UID, size, dates) plus a
 * callback that hands over the message bytes only when a key needs them,
 * so a flags-only search never opens a file and unit tests need no store.
 *
 * Text keys match case-insensitively (simple Unicode case folding of
 * Latin, Greek and Cyrillic) on decoded content: header values with
 * RFC 2047 words decoded, bodies transfer-decoded and converted to UTF-8
 * (src/mime).  Dates compare as days, disregarding time and zone.
 */
#ifndef LB_IMAP_SEARCH_EVAL_H
#define LB_IMAP_SEARCH_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/search_parse.h"

/* One message as the evaluator sees it; the caller fills it per message. */
struct search_msg {
	uint32_t	 seq, uid;
	uint32_t	 flags;		/* STORE_F_* bits (store/store.h) */
	uint32_t	 keywords;	/* bit i = keyword i (ctx->keyword_index) */
	bool		 recent;
	uint64_t	 size;		/* RFC822.SIZE (CRLF size) */
	uint64_t	 modseq;
	int64_t		 idate;		/* internal date, seconds since 1970 */
	uint32_t	 iday;		/* internal date as yyyymmdd in the server's zone */
	uint32_t	 sday;		/* save date (RFC 8514), likewise */
	const char	*emailid;	/* RFC 8474; NULL = none */
};

struct search_ctx {
	int64_t		 now;		/* OLDER / YOUNGER */
	/* RFC 5182: the saved result as UIDs (normalised), NULL = nothing saved */
	const struct seqset *saved;
	/* Keyword number of name, or -1 when the mailbox has no such keyword. */
	int		(*keyword_index)(void *arg, const char *name);
	/*
	 * The message's bytes (header and body, LF or CRLF line ends) for
	 * message m; borrowed until the next call.  Returns 0, or -1 when
	 * they cannot be read (the message then matches no content key).
	 */
	int		(*content)(void *arg, const struct search_msg *m, const char **data_r,
			    size_t *len_r);
	void		*arg;
};

/* Result of search_eval(). */
enum search_result { SEARCH_NO = 0, SEARCH_YES = 1 };

/*
 * Prepare q for a mailbox view of max_seq messages whose highest UID is
 * max_uid: "*" in sequence sets and UID sets resolved.  Call once before
 * evaluating; again when the view changed.
 */
void	 search_eval_prepare(struct search_query *q, uint32_t max_seq, uint32_t max_uid);

/* Does any key of q need the message's bytes (headers, body, Date:)? */
bool	 search_needs_content(const struct search_query *q);
/* ...its internal date (BEFORE ON SINCE OLDER YOUNGER)?  Its size (LARGER
 * SMALLER)?  Either may cost a stat of a message the index has not sized. */
bool	 search_needs_idate(const struct search_query *q);
bool	 search_needs_size(const struct search_query *q);

/*
 * Does message m match q?  ctx->content is called at most once, and only
 * when the cheap keys leave the answer open.
 */
enum search_result search_eval(const struct search_query *q, const struct search_ctx *ctx,
	    const struct search_msg *m);

/*
 * Case-insensitive substring test on UTF-8 (exposed for tests).  An empty
 * needle matches everything.
 */
bool	 search_text_match(const char *hay, size_t hlen, const char *needle, size_t nlen);

/* The day of an RFC 5322 Date: value as yyyymmdd; 0, or -1 if unparsable. */
int	 search_parse_sent_date(const char *s, size_t len, uint32_t *yyyymmdd_r);

#endif
