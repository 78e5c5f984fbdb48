/*
 * Submission header fix-up (RFC 6409 8.2, 8.3): a streaming filter over a
 * message as stored (the client's bytes after our Received: header) that
 * notes whether the header section has a Message-ID: and a Date: field
 * and, where it ends, inserts the missing ones.  Nothing is buffered
 * beyond the name of the current header field (at most HDRFIX_NAME_MAX
 * bytes), so a header section of any length streams through.
 *
 * The header section ends at the empty line, or at the first line that
 * is neither a field ("name:" with printable name characters) nor a
 * continuation (starting with SP or HTAB); in that second case an empty
 * line is inserted after the added fields so the stray line becomes the
 * body, as Postfix's cleanup does.  A message that ends inside its header
 * section gets the fields at its end (after a CRLF if the last line had
 * none).
 */
#ifndef LB_SMTP_HEADERS_H
#define LB_SMTP_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

#define HDRFIX_NAME_MAX		77	/* longer "names" are no header field */
#define HDRFIX_FIELD_MAX	320	/* one generated field, with its CRLF */

struct hdrfix {
	int	 state;			/* private */
	char	 name[HDRFIX_NAME_MAX + 1];
	size_t	 nname;
	bool	 have_msgid, have_date;
	char	 msgid[HDRFIX_FIELD_MAX];	/* "Message-ID: <...>\r\n" to add if missing */
	char	 date[HDRFIX_FIELD_MAX];	/* "Date: ...\r\n" */
};

/*
 * Start a message.  msgid_field and date_field are complete field lines
 * ending in CRLF (truncated to HDRFIX_FIELD_MAX - 1 bytes).
 */
void	hdrfix_init(struct hdrfix *h, const char *msgid_field, const char *date_field);

/*
 * Filter len bytes of p into out (appended).  Returns 0, or -1 if out is
 * full (out->max); out may then hold part of the result.  out->max must
 * allow len + HDRFIX_NAME_MAX + 2 * HDRFIX_FIELD_MAX + 4 more bytes.
 */
int	hdrfix_feed(struct hdrfix *h, const char *p, size_t len, struct buf *out);

/* The end of the message: adds the fields if the header section never ended. */
int	hdrfix_finish(struct hdrfix *h, struct buf *out);

/* True once the header section has ended: feed() only copies from now on. */
bool	hdrfix_done(const struct hdrfix *h);

/*
 * header_size_limit (issue 10): measures the header section of a message
 * as it streams by, with the same idea of its end as hdrfix (the empty
 * line, or the first line that is neither a field nor a continuation;
 * bare LF counts as a line end too, for BDAT).
 */
#include <stdint.h>

struct hdrlen {
	int		 state;		/* private */
	size_t		 nname;
	uint64_t	 n, max;
};

void	hdrlen_init(struct hdrlen *h, uint64_t max);
/* 1: the header section has ended within max; 0: still inside it; -1: it passed max (sticky). */
int	hdrlen_feed(struct hdrlen *h, const char *p, size_t len);

#endif
