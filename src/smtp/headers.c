/*
 * Submission header fix-up: Message-ID: and Date: added when missing
 * (headers.h).  A byte-at-a-time state machine over the header section;
 * once it has ended, the rest of the message is copied in one piece.
 */
#include <stdio.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "smtp/headers.h"

enum {
	HF_START,	/* at the start of a header line */
	HF_NAME,	/* collecting a field name, up to ':' */
	HF_LINE,	/* in a field body or continuation line, up to LF */
	HF_BODY,	/* the header section has ended */
};

void
hdrfix_init(struct hdrfix *h, const char *msgid_field, const char *date_field)
{
	memset(h, 0, sizeof(*h));
	h->state = HF_START;
	snprintf(h->msgid, sizeof(h->msgid), "%s", msgid_field);
	snprintf(h->date, sizeof(h->date), "%s", date_field);
}

bool
hdrfix_done(const struct hdrfix *h)
{
	return h->state == HF_BODY;
}

/* The header section ends here: add what is missing (and an empty line). */
static int
add_missing(struct hdrfix *h, struct buf *out, bool blank)
{
	if (!h->have_msgid && buf_adds(out, h->msgid) < 0)
		return -1;
	if (!h->have_date && buf_adds(out, h->date) < 0)
		return -1;
	h->have_msgid = h->have_date = true;
	h->state = HF_BODY;
	return blank ? buf_add(out, "\r\n", 2) : 0;
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* At ':' after a name: is it a field name (RFC 5322 3.6.8, obs: trailing WSP)? */
static bool
name_ok(struct hdrfix *h, size_t *len_r)
{
	size_t n = h->nname, i;

	while (n > 0 && is_wsp(h->name[n - 1]))
		n--;
	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (is_wsp(h->name[i]))
			return false;
	*len_r = n;
	return true;
}

static void
note_field(struct hdrfix *h, size_t n)
{
	if (str_ieq(h->name, n, "Message-ID"))
		h->have_msgid = true;
	else if (str_ieq(h->name, n, "Date"))
		h->have_date = true;
}

int
hdrfix_feed(struct hdrfix *h, const char *p, size_t len, struct buf *out)
{
	size_t	i, n;
	char	c;

	for (i = 0; i < len && h->state != HF_BODY; i++) {
		c = p[i];
		switch (h->state) {
		case HF_START:
			if (c == '\r' || c == '\n') {		/* the empty line */
				if (add_missing(h, out, false) < 0 || buf_addc(out, c) < 0)
					return -1;
			} else if (is_wsp(c)) {			/* continuation */
				h->state = HF_LINE;
				if (buf_addc(out, c) < 0)
					return -1;
			} else {
				h->nname = 0;
				h->state = HF_NAME;
				i--;				/* collect c as a name byte */
			}
			break;
		case HF_NAME:
			if (c == ':' && name_ok(h, &n)) {
				note_field(h, n);
				h->state = HF_LINE;
				if (buf_add(out, h->name, h->nname) < 0 || buf_addc(out, c) < 0)
					return -1;
			} else if (c != ':' && ((c > ' ' && c < 127) || is_wsp(c)) &&
			    h->nname < HDRFIX_NAME_MAX) {
				h->name[h->nname++] = c;
			} else {
				/* Not a header field: the body starts with this line. */
				if (add_missing(h, out, true) < 0 || buf_add(out, h->name, h->nname) < 0 ||
				    buf_addc(out, c) < 0)
					return -1;
			}
			break;
		case HF_LINE:
			if (c == '\n')
				h->state = HF_START;
			if (buf_addc(out, c) < 0)
				return -1;
			break;
		}
	}
	if (i < len && buf_add(out, p + i, len - i) < 0)
		return -1;
	return 0;
}

int
hdrfix_finish(struct hdrfix *h, struct buf *out)
{
	switch (h->state) {
	case HF_NAME:		/* the message ends in a line without ':' */
		if (add_missing(h, out, true) < 0 || buf_add(out, h->name, h->nname) < 0)
			return -1;
		return 0;
	case HF_LINE:		/* the last field line has no CRLF (BDAT) */
		if (buf_add(out, "\r\n", 2) < 0)
			return -1;
		return add_missing(h, out, false);
	case HF_START:
		return add_missing(h, out, false);
	}
	return 0;
}

/* ---- header_size_limit ---- */

enum { HL_BOL, HL_BOL_CR, HL_NAME, HL_REST, HL_END, HL_OVER };

void
hdrlen_init(struct hdrlen *h, uint64_t max)
{
	memset(h, 0, sizeof(*h));
	h->max = max;
}

int
hdrlen_feed(struct hdrlen *h, const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len && h->state != HL_END && h->state != HL_OVER; i++) {
		unsigned char c = (unsigned char)p[i];

		switch (h->state) {
		case HL_BOL:
			if (c == '\n') {
				h->state = HL_END;
				continue;
			}
			h->nname = 0;
			h->state = c == '\r' ? HL_BOL_CR : c == ' ' || c == '\t' ? HL_REST : HL_NAME;
			if (h->state == HL_NAME && (c < 33 || c > 126 || c == ':')) {
				h->state = HL_END;	/* not a field: the body starts here */
				continue;
			}
			h->nname = 1;
			break;
		case HL_BOL_CR:
			h->state = c == '\n' ? HL_END : HL_REST;
			if (h->state == HL_END)
				continue;
			break;
		case HL_NAME:
			if (c == ':')
				h->state = HL_REST;
			else if (c < 33 || c > 126 || ++h->nname > HDRFIX_NAME_MAX) {
				h->state = HL_END;	/* not a field */
				continue;
			}
			break;
		case HL_REST:
			if (c == '\n')
				h->state = HL_BOL;
			break;
		}
		if (++h->n > h->max)
			h->state = HL_OVER;
	}
	return h->state == HL_OVER ? -1 : h->state == HL_END ? 1 : 0;
}
