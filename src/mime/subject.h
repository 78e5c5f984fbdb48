/*
 * The base subject of RFC 5256 2.1 (what SORT SUBJECT and THREAD compare):
 * the Subject value with RFC 2047 words decoded, white space collapsed and
 * the reply/forward decorations ("Re:", "Fwd:", "[list]", "(fwd)",
 * "[fwd: ...]") removed.  Pure: no allocation beyond the caller's buffer.
 */
#ifndef LB_MIME_SUBJECT_H
#define LB_MIME_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

/*
 * Append the base subject of the raw (possibly folded, encoded) Subject
 * value s[0..len) to out, case kept (comparisons use i;ascii-casemap).
 * *is_reply_r tells whether a "Re:", "Fwd:", "(fwd)" or "[fwd: ]" was
 * removed (RFC 5256 3 REFERENCES step 5 prefers non-replies); may be NULL.
 * Returns 0, or -1 when out reached its max.
 */
int	 mime_base_subject(const char *s, size_t len, struct buf *out, bool *is_reply_r);

#endif
