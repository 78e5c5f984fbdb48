/*
 * Transfer-encoding and charset decoders (see decode.h).  RFC 2045 6.7
 * (quoted-printable) and 6.8 (base64); charsets through iconv(3).
 */
#include <errno.h>
#include <iconv.h>
#include <string.h>

#include "lib/base64.h"
#include "lib/str.h"
#include "mime/decode.h"

enum xfer_kind
xfer_kind_of(const char *cte)
{
	if (cte == NULL)
		return XFER_IDENT;
	if (str_ieq(cte, strlen(cte), "base64"))
		return XFER_BASE64;
	if (str_ieq(cte, strlen(cte), "quoted-printable"))
		return XFER_QP;
	return XFER_IDENT;
}

void
xfer_init(struct xfer_dec *d, enum xfer_kind kind)
{
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->nqp = -1;
}

/* Write the held whitespace: something other than a line end followed it. */
static size_t
qp_ws_flush(struct xfer_dec *d, char *out)
{
	size_t n = d->nws;

	memcpy(out, d->ws, n);
	d->nws = 0;
	return n;
}

static bool
qp_space(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * QP: handle one byte.  d->nqp >= 0: "=" seen plus nqp bytes (and the
 * whitespace in ws after the "=").  Output per call: at most the held
 * bytes plus 4, so a feed of len bytes writes len + XFER_OUT_SLACK.
 */
static size_t
qp_byte(struct xfer_dec *d, char c, char *out)
{
	size_t	n = 0;
	int	hi, lo;

	if (d->nqp < 0) {
		if (d->cr) {
			d->cr = false;
			if (c == '\n') {	/* a hard line end: padding before it goes */
				d->nws = 0;
				out[0] = '\r';
				out[1] = '\n';
				return 2;
			}
			n = qp_ws_flush(d, out);
			out[n++] = '\r';
			return n + qp_byte(d, c, out + n);
		}
		if (qp_space(c)) {
			if (d->nws == sizeof(d->ws))	/* too long for padding: text */
				n = qp_ws_flush(d, out);
			d->ws[d->nws++] = c;
			return n;
		}
		if (c == '\r') {
			d->cr = true;
			return 0;
		}
		if (c == '\n') {
			d->nws = 0;
			out[0] = '\n';
			return 1;
		}
		n = qp_ws_flush(d, out);
		if (c == '=')
			d->nqp = 0;
		else
			out[n++] = c;
		return n;
	}
	if (d->nqp == 0) {
		if (c == '\n') {		/* soft line break "=\n" (padding allowed) */
			d->nqp = -1;
			d->nws = 0;
			return 0;
		}
		if (qp_space(c) && d->nws < sizeof(d->ws)) {
			d->ws[d->nws++] = c;
			return 0;
		}
		if (c == '\r' || (d->nws == 0 && str_hexval((unsigned char)c) >= 0)) {
			d->qp[d->nqp++] = c;
			return 0;
		}
		out[n++] = '=';		/* stray "=": literal, RFC 2045 6.7 note */
		n += qp_ws_flush(d, out + n);
		d->nqp = -1;
		return n + qp_byte(d, c, out + n);
	}
	/* one byte after "=" is pending */
	d->nqp = -1;
	if (d->qp[0] == '\r') {
		if (c == '\n') {		/* soft line break "=\r\n" */
			d->nws = 0;
			return 0;
		}
		out[n++] = '=';
		n += qp_ws_flush(d, out + n);
		out[n++] = '\r';
		return n + qp_byte(d, c, out + n);
	}
	hi = str_hexval((unsigned char)d->qp[0]);
	lo = str_hexval((unsigned char)c);
	if (lo >= 0) {
		out[n++] = (char)(hi << 4 | lo);
		return n;
	}
	out[n++] = '=';
	out[n++] = d->qp[0];
	return n + qp_byte(d, c, out + n);
}

size_t
xfer_feed(struct xfer_dec *d, const char *in, size_t len, char *out)
{
	size_t	i, n = 0;

	switch (d->kind) {
	case XFER_IDENT:
		memcpy(out, in, len);
		return len;
	case XFER_BASE64:
		/* anything outside the alphabet ("=", CRLF, junk) is skipped */
		return base64_stream_feed(&d->b64, in, len, out);
	case XFER_QP:
		for (i = 0; i < len; i++)
			n += qp_byte(d, in[i], out + n);
		return n;
	}
	return 0;
}

size_t
xfer_finish(struct xfer_dec *d, char *out)
{
	size_t	n = 0;

	/* whitespace that ends the part ends its last line: padding */
	if (d->kind == XFER_QP && d->nqp >= 0) {
		out[n++] = '=';
		n += qp_ws_flush(d, out + n);
		if (d->nqp == 1)
			out[n++] = d->qp[0];
	} else if (d->kind == XFER_QP && d->cr)
		out[n++] = '\r';
	xfer_init(d, d->kind);
	return n;
}

static bool
charset_is_utf8ish(const char *cs)
{
	size_t	n = strlen(cs);

	return str_ieq(cs, n, "us-ascii") || str_ieq(cs, n, "utf-8") ||
	    str_ieq(cs, n, "utf8") || str_ieq(cs, n, "ascii");
}

int
charset_conv_init(struct charset_conv *c, const char *charset)
{
	iconv_t	cd;

	memset(c, 0, sizeof(*c));
	if (charset == NULL || charset_is_utf8ish(charset))
		return 0;
	/* "//" would let a header pick iconv options such as //TRANSLIT */
	if (strlen(charset) > 64 || strchr(charset, '/') != NULL)
		return -1;
	cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1)
		return -1;
	c->cd = cd;
	return 0;
}

static const char replacement[] = "\xef\xbf\xbd";	/* U+FFFD */

/* Run iconv over in[0..*len); leaves an incomplete tail in *in, *len. */
static int
conv_run(struct charset_conv *c, char **in, size_t *len, struct buf *out)
{
	char	tmp[1024], *op;
	size_t	ol, r;

	while (*len > 0) {
		op = tmp;
		ol = sizeof(tmp);
		r = iconv((iconv_t)c->cd, in, len, &op, &ol);
		if (op > tmp && buf_add(out, tmp, (size_t)(op - tmp)) < 0)
			return -1;
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		if (errno == EINVAL)		/* incomplete: wait for more */
			return 0;
		/* EILSEQ or anything else: one replacement, skip a byte */
		if (buf_add(out, replacement, 3) < 0)
			return -1;
		(*in)++;
		(*len)--;
	}
	return 0;
}

int
charset_conv_feed(struct charset_conv *c, const char *in, size_t len,
    struct buf *out)
{
	char	*p;
	size_t	 l, take;

	if (c->cd == NULL)
		return buf_add(out, in, len);
	/* finish a sequence split across chunks, a byte at a time */
	while (c->npend > 0 && len > 0) {
		c->pend[c->npend++] = *in++;
		len--;
		p = c->pend;
		l = c->npend;
		if (conv_run(c, &p, &l, out) < 0)
			return -1;
		memmove(c->pend, p, l);
		c->npend = l;
		if (c->npend == sizeof(c->pend)) {
			/* no charset has sequences this long: give up on it */
			if (buf_add(out, replacement, 3) < 0)
				return -1;
			memmove(c->pend, c->pend + 1, --c->npend);
		}
	}
	p = (char *)in;
	l = len;
	if (conv_run(c, &p, &l, out) < 0)
		return -1;
	take = l < sizeof(c->pend) - c->npend ? l : sizeof(c->pend) - c->npend;
	memcpy(c->pend + c->npend, p, take);
	c->npend += take;
	return 0;
}

int
charset_conv_finish(struct charset_conv *c, struct buf *out)
{
	int	r = 0;

	if (c->npend > 0)
		r = buf_add(out, replacement, 3);
	charset_conv_clear(c);
	return r;
}

void
charset_conv_clear(struct charset_conv *c)
{
	if (c->cd != NULL)
		iconv_close((iconv_t)c->cd);
	memset(c, 0, sizeof(*c));
}

int
charset_to_utf8(const char *charset, const char *in, size_t len, struct buf *out)
{
	struct charset_conv	c;
	int			unknown;

	unknown = charset_conv_init(&c, charset) < 0;
	if (charset_conv_feed(&c, in, len, out) < 0 ||
	    charset_conv_finish(&c, out) < 0)
		return -1;
	return unknown ? 1 : 0;
}
