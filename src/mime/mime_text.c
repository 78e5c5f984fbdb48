/*
 * Decoded text of a message for IMAP SEARCH (see mime.h): header fields
 * with RFC 2047 words decoded, text parts transfer-decoded (RFC 2045 6.7,
 * 6.8) and converted to UTF-8, streamed in small chunks so memory does
 * not grow with the part.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "mime/decode.h"
#include "mime/mime.h"
#include "mime/rfc2047.h"
#include "mime/rfc5322.h"

#define CHUNK	4096

/* Output buffers have room for a chunk's worst case; a cut is harmless. */
static inline void
truncating(int r)
{
	(void)r;
}

static int
emit_headers(const struct mime_part *m, mime_text_cb cb, void *arg)
{
	struct hdr_iter		it;
	struct hdr_field	f;
	struct buf		unf, out;
	int			r = 0;

	buf_init(&unf, HDR_VALUE_MAX);
	buf_init(&out, 4 * HDR_VALUE_MAX);
	hdr_iter_init(&it, m->data + m->hdr_off, m->hdr_len);
	while (r == 0 && hdr_next(&it, &f) == 1) {
		buf_reset(&unf);
		buf_reset(&out);
		(void)hdr_unfold(f.value, f.value_len, &unf);
		/* a value cut at the buffer's max still gets searched */
		truncating(buf_add(&out, f.name, f.name_len > 256 ? 256 : f.name_len));
		truncating(buf_add(&out, ": ", 2));
		truncating(rfc2047_decode(unf.data ? unf.data : "", unf.len, &out));
		if (buf_addc(&out, '\n') < 0)
			out.data[out.len - 1] = '\n';
		r = cb(out.data, out.len, arg);
	}
	buf_clear(&unf);
	buf_clear(&out);
	return r;
}

static const char *
charset_of(const struct mime_part *p)
{
	size_t	i;

	for (i = 0; i < p->nparams; i++)
		if (strcasecmp(p->params[i].name, "charset") == 0)
			return p->params[i].value;
	return NULL;
}

int
mime_part_text(const struct mime_part *p, mime_text_cb cb, void *arg)
{
	struct xfer_dec		 d;
	struct charset_conv	 cv;
	struct buf		 out;
	char			 dec[CHUNK + XFER_OUT_SLACK];
	size_t			 off, n, dn;
	int			 r = 0;

	xfer_init(&d, xfer_kind_of(p->encoding));
	/* unknown charset: pass bytes through, better than nothing */
	(void)charset_conv_init(&cv, charset_of(p));
	buf_init(&out, 8 * CHUNK);
	(void)buf_space(&out, CHUNK + CHUNK / 2);	/* a chunk, a little grown by conversion */
	for (off = 0; off < p->body_len && r == 0; off += n) {
		n = p->body_len - off < CHUNK ? p->body_len - off : CHUNK;
		dn = xfer_feed(&d, p->data + p->body_off + off, n, dec);
		buf_reset(&out);
		truncating(charset_conv_feed(&cv, dec, dn, &out));
		if (out.len > 0)
			r = cb(out.data, out.len, arg);
	}
	if (r == 0) {
		buf_reset(&out);
		dn = xfer_finish(&d, dec);
		truncating(charset_conv_feed(&cv, dec, dn, &out));
		truncating(charset_conv_finish(&cv, &out));
		truncating(buf_addc(&out, '\n'));
		r = cb(out.data, out.len, arg);
	}
	charset_conv_clear(&cv);
	buf_clear(&out);
	return r;
}

static bool
is_message_root(const struct mime_part *p)
{
	return p->parent == NULL || (p->parent->flags & MIME_F_MESSAGE);
}

int
mime_search_text(const struct mime_part *root, int flags, mime_text_cb cb, void *arg)
{
	const struct mime_part	*p = root;
	int			 r = 0;

	/* pre-order walk without recursion */
	while (p != NULL && r == 0) {
		if ((flags & MIME_TEXT_HEADERS) && is_message_root(p))
			r = emit_headers(p, cb, arg);
		if (r == 0 && (flags & MIME_TEXT_BODY) && (p->flags & MIME_F_TEXT) &&
		    !(p->flags & (MIME_F_MULTIPART | MIME_F_MESSAGE)))
			r = mime_part_text(p, cb, arg);
		if (p->children != NULL) {
			p = p->children;
			continue;
		}
		while (p != NULL && p != root && p->next == NULL)
			p = p->parent;
		p = (p == NULL || p == root) ? NULL : p->next;
	}
	return r;
}
