/*
 * RFC 5322 header parsing over a byte range that the caller owns (usually
 * an mmap'd Maildir file): iterate fields without copying, unfold values
 * into a bounded buffer, and parse address lists (RFC 5322 3.4 with the
 * obsolete syntax of section 4.4: routes, groups, comments, quoted strings)
 * into IMAP address tuples (RFC 3501 7.4.2: name, adl, mailbox, host).
 * Nothing here scans a byte more than a constant number of times, so a
 * 100 MB header line costs one memchr, not a copy.
 */
#ifndef LB_MIME_RFC5322_H
#define LB_MIME_RFC5322_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

/* Values longer than this are truncated when unfolded (parsing and output). */
#define HDR_VALUE_MAX	(64 * 1024)

struct hdr_field {
	const char	*name;		/* borrowed from the input range */
	size_t		 name_len;
	const char	*value;		/* raw: after the colon, folding kept, */
	size_t		 value_len;	/* final line ending not included */
	size_t		 off;		/* offset of the field in the range */
	size_t		 len;		/* whole field incl. its line ending */
};

struct hdr_iter {
	const char	*data;
	size_t		 len, pos;
};

/*
 * Find the end of the header block at the start of data[0..len): returns
 * the offset just past the empty line (or len when there is none), so
 * that [0, return) is the header and the body starts there.  Bare LF and
 * CRLF line endings are both accepted.
 */
size_t	 hdr_block_len(const char *data, size_t len);

void	 hdr_iter_init(struct hdr_iter *it, const char *data, size_t len);
/*
 * Next field of the header range: 1 with *f_r filled (pointers borrowed
 * from the range), 0 at the end (empty line or end of range).  Lines that
 * are not fields (no colon, leading white space at the start) are skipped.
 */
int	 hdr_next(struct hdr_iter *it, struct hdr_field *f_r);
/* First field called name (case-insensitive); false when absent. */
bool	 hdr_find(const char *data, size_t len, const char *name, struct hdr_field *f_r);
/*
 * Append value with folding removed (every CR and LF dropped, RFC 5322
 * 2.2.3) and leading/trailing white space trimmed; at most HDR_VALUE_MAX
 * bytes are taken.  NUL bytes are dropped.  Returns -1 only if out fills.
 */
int	 hdr_unfold(const char *value, size_t len, struct buf *out);
/*
 * What hdr_unfold() would append to an empty buffer: the value itself
 * (trimmed) when it is one line, else unfolded into scratch.  Borrowed
 * from value or scratch; *len_r its length.
 */
const char *hdr_unfold_view(const char *value, size_t len, struct buf *scratch, size_t *len_r);

/* One IMAP address tuple; any member may be NULL (NIL). */
struct hdr_addr {
	char	*name, *adl, *mailbox, *host;
};

/*
 * Parse an address-list header value (raw, folded is fine) into IMAP
 * tuples: group start is (NIL NIL "group" NIL) and group end
 * (NIL NIL NIL NIL) as RFC 3501 requires; a mailbox without a domain gets
 * host "MISSING_DOMAIN" and a domain without local part mailbox
 * "MISSING_MAILBOX" (as Dovecot does) so that host is never NIL outside
 * groups.  Comments become the name when there is no display name.
 * Returns the number of tuples (at most max) in a new array *addrs_r that
 * the caller frees with hdr_addrs_free().  Never fails on bad input:
 * best effort.
 */
size_t	 hdr_parse_addresses(const char *value, size_t len, size_t max,
	    struct hdr_addr **addrs_r);
void	 hdr_addrs_free(struct hdr_addr **addrs, size_t n);

#endif
