/*
 * MIME structure parser for IMAP (RFC 2045-2047, RFC 2046 5.1 multipart,
 * RFC 2046 5.2.1 message/rfc822) over a message held in memory by the
 * caller, usually an mmap'd Maildir file: nothing of the body is copied;
 * parts are described by offsets into that range.  Produces what IMAP
 * needs: BODY/BODYSTRUCTURE and ENVELOPE strings (RFC 3501 7.4.2), byte
 * ranges for BODY[section] (RFC 3501 6.4.5) and decoded text for SEARCH.
 *
 * Sizes and line counts are of the bytes as stored: a message with bare LF
 * line endings is parsed the same way (LF ends a line everywhere) and its
 * sizes count one byte per line end, which is what FETCH then returns.
 * Callers that convert LF to CRLF on output must adjust sizes themselves.
 *
 * Hostile input gets a best-effort structure in O(len * MIME_MAX_DEPTH)
 * time at worst: one pass over the lines; a line starting with "--" is
 * compared against the open boundaries (at most MIME_MAX_DEPTH).
 * Containers past MIME_MAX_DEPTH, or once MIME_MAX_PARTS parts exist, are
 * opaque leaves, reported as text/plain (STYLE.md §7); header values are
 * cut at HDR_VALUE_MAX when parsed.
 */
#ifndef LB_MIME_MIME_H
#define LB_MIME_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "mime/rfc2047.h"

#define MIME_MAX_DEPTH	100
#define MIME_MAX_PARTS	10000

enum {
	MIME_F_MULTIPART = 0x01,	/* container: children are its parts */
	MIME_F_MESSAGE	 = 0x02,	/* message/rfc822: one child, the message */
	MIME_F_OPAQUE	 = 0x04,	/* container type we did not descend into */
	MIME_F_TEXT	 = 0x08,	/* text/\*: BODYSTRUCTURE carries lines */
};

struct mime_part {
	struct mime_part	*parent, *children, *next;
	const char		*data;		/* the whole message, borrowed */
	size_t			 hdr_off, hdr_len;	/* incl. the empty line */
	size_t			 body_off, body_len;
	size_t			 body_lines;	/* LFs in the body, see mime.c */
	unsigned int		 flags, depth, nchildren;

	/*
	 * From the MIME header, as written (IMAP clients compare without case,
	 * Dovecot keeps the case too); NULL when absent.  type and subtype are
	 * always set (defaults: text/plain, message/rfc822 in a digest).
	 */
	char			*type, *subtype;
	struct mime_param	*params;
	size_t			 nparams;
	char			*id, *description, *encoding, *md5;
	char			*disposition;
	struct mime_param	*disp_params;
	size_t			 ndisp_params;
	char			*language, *location;
};

/*
 * Parse data[0..len) as an RFC 5322 message.  Never fails: any input
 * gives a tree (best effort).  The tree borrows data: keep it mapped while
 * the tree is used.  Free with mime_free().
 */
struct mime_part *mime_parse(const char *data, size_t len);
void	 mime_free(struct mime_part **p);

/*
 * Append the IMAP BODY (extended = false) or BODYSTRUCTURE (true) of part
 * (normally the root) to out.  Returns 0, or -1 when out reached its max.
 */
int	 mime_bodystructure(const struct mime_part *part, bool extended,
	    struct buf *out);

/*
 * Append the ENVELOPE of the header data[0..hdr_len) to out (RFC 3501
 * 7.4.2; Sender and Reply-To default to From).  Returns 0 or -1 (out full).
 */
int	 mime_envelope(const char *data, size_t hdr_len, struct buf *out);

/*
 * Resolve an IMAP section spec (without brackets or <partial>):
 * "", "HEADER", "TEXT", "1", "1.2.MIME", "3.HEADER.FIELDS (To From)",
 * "2.TEXT"...  (RFC 3501 6.4.5, case-insensitive) to a byte range of the
 * message.  For HEADER.FIELDS[.NOT] the range is the whole header; picking
 * the fields is the caller's (hdr_next() helps).  Returns 0 with *off_r
 * and *len_r set, or -1 when the section does not exist (IMAP then
 * returns an empty string).
 */
int	 mime_section(const struct mime_part *root, const char *spec,
	    size_t *off_r, size_t *len_r);

enum {
	MIME_TEXT_HEADERS = 0x1,	/* header fields, RFC 2047-decoded */
	MIME_TEXT_BODY	  = 0x2,	/* text/\* bodies, transfer- and charset-decoded */
};

/*
 * Called with successive UTF-8 chunks (at most a few KiB each) for SEARCH;
 * a chunk never spans two parts or header fields, and each ends with
 * "\n" at a part/field end.  Return 0 to go on, anything else to stop.
 */
typedef int (*mime_text_cb)(const char *text, size_t len, void *arg);

/*
 * Walk the message and feed decoded text to cb: with MIME_TEXT_HEADERS
 * each header field of the message and of enclosed messages as
 * "Name: value\n", with MIME_TEXT_BODY the body of each text part.
 * Memory stays bounded whatever the part size.  Returns 0 after the last
 * chunk, or the first non-zero value cb returned.
 */
int	 mime_search_text(const struct mime_part *root, int flags,
	    mime_text_cb cb, void *arg);

/*
 * The body of one (text) part p, transfer- and charset-decoded, to cb in
 * chunks as mime_search_text does (the last one ends with "\n").  Returns
 * 0, or the first non-zero value cb returned.
 */
int	 mime_part_text(const struct mime_part *p, mime_text_cb cb, void *arg);

/*
 * Append s[0..len) as an IMAP string: a quoted string when it is short
 * 7-bit text without CR/LF, else a literal {n}\r\n...; s == NULL gives
 * NIL.  NUL bytes are dropped (IMAP4rev1 strings cannot hold them).
 */
int	 mime_imap_string(struct buf *out, const char *s, size_t len);

#endif
