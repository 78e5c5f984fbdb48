/*
 * FETCH attribute lists (RFC 3501 6.4.5, RFC 9051 6.4.5, RFC 3516 BINARY,
 * RFC 7162 MODSEQ/CHANGEDSINCE/VANISHED, RFC 8474 EMAILID/THREADID,
 * RFC 8514 SAVEDATE, RFC 8970 PREVIEW) parsed into items in request
 * order, macros expanded, with the section grammar (part numbers, HEADER,
 * HEADER.FIELDS[.NOT] (list), TEXT, MIME) and <partial>.  The result owns
 * its memory and outlives the argument tree.
 */
#ifndef LB_IMAP_FETCH_PARSE_H
#define LB_IMAP_FETCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/arena.h"
#include "imap/arg.h"

enum fetch_item_type {
	FETCH_ENVELOPE, FETCH_FLAGS, FETCH_INTERNALDATE, FETCH_RFC822, FETCH_RFC822_HEADER,
	FETCH_RFC822_SIZE, FETCH_RFC822_TEXT,
	FETCH_BODY,		/* BODY without "[": the non-extensible BODYSTRUCTURE */
	FETCH_BODYSTRUCTURE, FETCH_UID, FETCH_MODSEQ, FETCH_EMAILID, FETCH_THREADID,
	FETCH_SAVEDATE, FETCH_PREVIEW,
	FETCH_BODY_SECTION,	/* BODY[...] and BODY.PEEK[...] */
	FETCH_BINARY,		/* BINARY[...] and BINARY.PEEK[...] */
	FETCH_BINARY_SIZE,	/* BINARY.SIZE[...] */
};

enum fetch_section_text {
	FETCH_SEC_ALL,		/* "" (whole message or whole part) */
	FETCH_SEC_HEADER, FETCH_SEC_HEADER_FIELDS, FETCH_SEC_HEADER_FIELDS_NOT,
	FETCH_SEC_TEXT, FETCH_SEC_MIME,
};

#define FETCH_MAX_PART_DEPTH	100	/* as the MIME parser's depth limit */

struct fetch_item {
	enum fetch_item_type	 type;
	bool			 peek;		/* .PEEK: do not set \Seen */
	const uint32_t		*part;		/* section-part "1.2.3" */
	size_t			 nparts;
	enum fetch_section_text	 text;
	const char *const	*fields;	/* HEADER.FIELDS names, NUL-terminated */
	size_t			 nfields;
	bool			 partial;
	uint64_t		 offset, count;	/* <offset.count>, count > 0 */
	const char		*label;		/* name for the reply: "BODY[1.HEADER]<0>" */
};

#define FETCH_WANT(t)	(1u << (t))

struct fetch_attrs {
	struct fetch_item	*items;
	size_t			 n;
	unsigned		 want;		/* FETCH_WANT() of every item type */
	bool			 sets_seen;	/* RFC822, RFC822.TEXT or non-PEEK BODY[] */
	bool			 changedsince;	/* RFC 7162 3.1.4 modifier */
	uint64_t		 changedsince_modseq;
	bool			 vanished;	/* RFC 7162 3.2.6 (UID FETCH only) */
	unsigned		 refs;		/* owners (loop only): NOTIFY's spec and its runs */
	struct imap_arena	 arena;
};

/*
 * Parse what follows the sequence set: an item or macro or a list of
 * items, then an optional modifier list.  uid (UID FETCH) adds UID when
 * missing; CHANGEDSINCE adds MODSEQ.  Returns 0 and *fa_r (free with
 * fetch_attrs_free), or -1 with *err_r a static message (reply BAD).
 */
int	 fetch_parse(const struct imap_arg *args, size_t nargs, bool uid,
	    struct fetch_attrs **fa_r, const char **err_r);
/*
 * One more owner of fa (NOTIFY's MessageNew list, shared by each pushed
 * FETCH run); returns fa.  fetch_attrs_free drops one owner and frees
 * with the last.  On the loop only: the count is not atomic.
 */
struct fetch_attrs *fetch_attrs_ref(struct fetch_attrs *fa);
void	 fetch_attrs_free(struct fetch_attrs **fap);

#endif
