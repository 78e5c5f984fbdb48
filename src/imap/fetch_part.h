/*
 * Which bytes of a message a FETCH section names (RFC 3501 6.4.5, RFC 9051
 * 6.4.5 section-spec, RFC 3516 section-binary), on the MIME tree of the
 * message (mime.h): part numbers "1.2.3" (into message/rfc822 parts too),
 * then HEADER, HEADER.FIELDS[.NOT], TEXT, MIME or the whole.  Pure.
 */
#ifndef LB_IMAP_FETCH_PART_H
#define LB_IMAP_FETCH_PART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/fetch_parse.h"
#include "mime/decode.h"

struct mime_part;

struct fetch_range {
	bool			 found;		/* false: no such part (the reply is "") */
	size_t			 off, len;	/* in the message's bytes */
	/* the body part it is the content of (BINARY undoes its encoding);
	 * NULL when it is a message, a header or a MIME header */
	const struct mime_part	*body;
};

/*
 * The part "part[0].part[1]..." names: NULL when there is none.  n == 0
 * is the message itself.  *as_msg_r: the result is a message (the top
 * level), not a body part.
 */
const struct mime_part *fetch_part_find(const struct mime_part *root, const uint32_t *part,
	    size_t n, bool *as_msg_r);

/* The range of item it's section (part numbers and text; fields are the caller's). */
void	 fetch_section_range(const struct mime_part *root, const struct fetch_item *it,
	    struct fetch_range *r_out);

/* RFC 3516 4.1: the encodings BINARY can undo (none, 7bit, 8bit, binary,
 * base64, quoted-printable, any case); -1 for any other. */
int	 fetch_cte_kind(const char *cte, enum xfer_kind *k_r);

#endif
