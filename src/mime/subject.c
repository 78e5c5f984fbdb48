/*
 * RFC 5256 2.1 base subject extraction; see subject.h.  The steps work on
 * one decoded copy of the value with a [b, e) window that only shrinks,
 * so each step is a prefix or suffix test and the whole is linear in the
 * length times the number of decorations removed.
 */
#include <string.h>

#include "lib/str.h"
#include "mime/rfc2047.h"
#include "mime/rfc5322.h"
#include "mime/subject.h"

static bool
wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* s[b..e) starts with lit, any ASCII case */
static bool
starts_i(const char *s, size_t b, size_t e, const char *lit)
{
	size_t n = strlen(lit);

	return e - b >= n && str_ieq(s + b, n, lit);
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP at s[p]: the offset after it, or 0. */
static size_t
blob(const char *s, size_t p, size_t e)
{
	if (p >= e || s[p] != '[')
		return 0;
	for (p++; p < e && s[p] != '[' && s[p] != ']'; p++)
		;
	if (p >= e || s[p] != ']')
		return 0;
	for (p++; p < e && wsp(s[p]); p++)
		;
	return p;
}

/* subj-leader's second form: *subj-blob subj-refwd at s[p]: after it, or 0. */
static size_t
refwd_leader(const char *s, size_t p, size_t e)
{
	size_t q;

	while ((q = blob(s, p, e)) != 0)
		p = q;
	if (starts_i(s, p, e, "re"))
		p += 2;
	else if (starts_i(s, p, e, "fwd"))
		p += 3;
	else if (starts_i(s, p, e, "fw"))
		p += 2;
	else
		return 0;
	while (p < e && wsp(s[p]))
		p++;
	if ((q = blob(s, p, e)) != 0)
		p = q;
	return p < e && s[p] == ':' ? p + 1 : 0;
}

int
mime_base_subject(const char *s, size_t len, struct buf *out, bool *is_reply_r)
{
	struct buf	 dec, col;
	const char	*d;
	size_t		 i, b, e, q;
	bool		 reply = false, changed;
	int		 r;

	/* step 1: decode encoded words, unfold, one space for any white space */
	buf_init(&dec, HDR_VALUE_MAX * 2);
	buf_init(&col, HDR_VALUE_MAX * 2);
	(void)rfc2047_decode(s, len, &dec);
	for (i = 0; i < dec.len; i++) {
		char c = dec.data[i];

		if (c == '\r' || c == '\n' || c == '\t')
			c = ' ';
		if (c == ' ' && col.len > 0 && col.data[col.len - 1] == ' ')
			continue;
		if (c != '\0' && buf_addc(&col, c) < 0)
			break;		/* cut at the buffer's max: still a subject */
	}
	d = col.data != NULL ? col.data : "";
	b = 0;
	e = col.len;
	for (;;) {
		/* step 2: subj-trailer = "(fwd)" / WSP, from the end */
		for (;;) {
			if (e > b && wsp(d[e - 1]))
				e--;
			else if (e - b >= 5 && str_ieq(d + e - 5, 5, "(fwd)")) {
				e -= 5;
				reply = true;
			} else
				break;
		}
		/* steps 3 and 4, until neither changes anything */
		do {
			changed = false;
			for (;;) {
				if (b < e && wsp(d[b]))
					b++;
				else if ((q = refwd_leader(d, b, e)) != 0) {
					b = q;
					reply = true;
				} else
					break;
			}
			/* step 4: a leading blob goes if something is left after it */
			if ((q = blob(d, b, e)) != 0 && q < e) {
				b = q;
				changed = true;
			}
		} while (changed);
		/* step 5: subj-fwd = "[fwd:" subject "]" */
		if (starts_i(d, b, e, "[fwd:") && e - b > 5 && d[e - 1] == ']') {
			b += 5;
			e--;
			reply = true;
			continue;
		}
		break;
	}
	r = buf_add(out, d + b, e - b);
	buf_clear(&dec);
	buf_clear(&col);
	if (is_reply_r != NULL)
		*is_reply_r = reply;
	return r;
}
