/*
 * Message previews for IMAP FETCH PREVIEW (RFC 8970): up to 256 characters
 * of the message's first text part, transfer-decoded, converted to UTF-8,
 * HTML reduced to its text, white space collapsed.  Pure functions over a
 * parsed message (mime.h) or a text held in memory; the store caches the
 * result (letterbox-cache), so a message is read for its preview once.
 */
#ifndef LB_MIME_PREVIEW_H
#define LB_MIME_PREVIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "mime/mime.h"

#define PREVIEW_CHARS	256		/* RFC 8970 3: at most 256 characters */
#define PREVIEW_SCAN	(64 * 1024)	/* decoded bytes looked at, at most */

/*
 * Append the preview of the message root to out: the first text/plain
 * part that is not an attachment, else the first text/html one; nothing
 * (an empty preview) when there is none.  Returns 0, or -1 when out is
 * full.  Never more than PREVIEW_CHARS code points (4 bytes each at most).
 */
int	 mime_preview(const struct mime_part *root, struct buf *out);

/*
 * The preview of UTF-8 text s[0..len) (html: tags dropped, style/script/
 * head content skipped, entities decoded) appended to out: control
 * characters and white space runs become one space, leading and trailing
 * space dropped, invalid UTF-8 replaced by U+FFFD, cut after max code
 * points.  Returns 0, or -1 when out is full.
 */
int	 mime_preview_text(const char *s, size_t len, bool html, size_t max, struct buf *out);

#endif
