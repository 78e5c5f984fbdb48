/*
 * Modified UTF-7 <-> UTF-8 for mailbox names (RFC 3501 5.1.3): printable
 * ASCII stands for itself except "&", written "&-"; anything else is
 * UTF-16 in base64 (with "," for "/") between "&" and "-".
 */
#include <stdint.h>
#include <string.h>

#include "imap/mutf7.h"
#include "lib/buf.h"
#include "lib/str.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

bool
utf8_valid(const char *s, size_t len)
{
	size_t	 i = 0;

	while (i < len)
		if (str_utf8_next((const unsigned char *)s, len, &i) < 0)
			return false;
	return true;
}

bool
ascii_printable(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static int
put_utf8(struct buf *out, uint32_t cp)
{
	char	 u[4];

	return buf_add(out, u, str_utf8_put(cp, u));
}

/* Base64 writer state for one "&...-" run. */
struct b64w {
	uint32_t	 bits;
	unsigned	 nbits;
};

static int
b64_put16(struct buf *out, struct b64w *w, uint32_t unit)
{
	w->bits = (w->bits << 16) | unit;
	w->nbits += 16;
	while (w->nbits >= 6) {
		w->nbits -= 6;
		if (buf_addc(out, b64[(w->bits >> w->nbits) & 0x3f]) < 0)
			return -1;
	}
	w->bits &= (1u << w->nbits) - 1;
	return 0;
}

int
mutf7_encode(const char *utf8, size_t len, struct buf *out)
{
	const unsigned char	*s = (const unsigned char *)utf8;
	struct b64w		 w = { 0, 0 };
	bool			 inb64 = false;
	size_t			 i = 0;
	int32_t			 cp;

	while (i < len) {
		if ((cp = str_utf8_next(s, len, &i)) < 0)
			return -1;
		if (cp >= 0x20 && cp <= 0x7e) {
			if (inb64) {
				if (w.nbits > 0 && buf_addc(out, b64[(w.bits << (6 - w.nbits)) & 0x3f]) < 0)
					return -1;
				if (buf_addc(out, '-') < 0)
					return -1;
				inb64 = false;
				w.bits = w.nbits = 0;
			}
			if (buf_addc(out, (char)cp) < 0 || (cp == '&' && buf_addc(out, '-') < 0))
				return -1;
			continue;
		}
		if (!inb64 && buf_addc(out, '&') < 0)
			return -1;
		inb64 = true;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			if (b64_put16(out, &w, 0xd800 | (uint32_t)(cp >> 10)) < 0 ||
			    b64_put16(out, &w, 0xdc00 | (uint32_t)(cp & 0x3ff)) < 0)
				return -1;
		} else if (b64_put16(out, &w, (uint32_t)cp) < 0)
			return -1;
	}
	if (inb64) {
		if (w.nbits > 0 && buf_addc(out, b64[(w.bits << (6 - w.nbits)) & 0x3f]) < 0)
			return -1;
		if (buf_addc(out, '-') < 0)
			return -1;
	}
	return 0;
}

/* Value of a modified-base64 character, or -1. */
static int
b64_val(unsigned char c)
{
	const char	*p = c != 0 ? strchr(b64, c) : NULL;

	return p != NULL ? (int)(p - b64) : -1;
}

/* Decode the base64 run s[*i..] up to "-" (consumed).  -1 if invalid. */
static int
decode_run(const unsigned char *s, size_t len, size_t *i, struct buf *out)
{
	uint32_t	 bits = 0, hi = 0;
	unsigned	 nbits = 0, units = 0;
	int		 v;

	for (; *i < len && s[*i] != '-'; (*i)++) {
		if ((v = b64_val(s[*i])) < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t unit = (bits >> nbits) & 0xffff;

		bits &= (1u << nbits) - 1;
		units++;
		if (hi != 0) {
			if (unit < 0xdc00 || unit > 0xdfff)
				return -1;	/* high surrogate without its low half */
			if (put_utf8(out, 0x10000 + ((hi - 0xd800) << 10) + (unit - 0xdc00)) < 0)
				return -1;
			hi = 0;
		} else if (unit >= 0xd800 && unit <= 0xdbff)
			hi = unit;
		else if (unit >= 0xdc00 && unit <= 0xdfff)
			return -1;	/* lone low surrogate */
		else if (unit >= 0x20 && unit <= 0x7e)
			return -1;	/* printable ASCII must stand for itself */
		else if (put_utf8(out, unit) < 0)
			return -1;
	}
	/* RFC 3501 5.1.3 / RFC 2152: the run ends in "-", holds >= 1 unit, and
	 * its padding (< 6 bits) is zero. */
	if (*i >= len || units == 0 || hi != 0 || nbits >= 6 || bits != 0)
		return -1;
	(*i)++;
	return 0;
}

int
mutf7_decode(const char *mutf7, size_t len, struct buf *out)
{
	const unsigned char	*s = (const unsigned char *)mutf7;
	size_t			 i = 0;
	bool			 after_run = false;

	while (i < len) {
		if (s[i] < 0x20 || s[i] > 0x7e)
			return -1;
		if (s[i] != '&') {
			if (buf_addc(out, (char)s[i++]) < 0)
				return -1;
			after_run = false;
			continue;
		}
		i++;
		if (i < len && s[i] == '-') {
			if (buf_addc(out, '&') < 0)
				return -1;
			i++;
			after_run = false;
			continue;
		}
		/* "&AOQ-&AOQ-" must be written as one run "&AOQA5A-" */
		if (after_run || decode_run(s, len, &i, out) < 0)
			return -1;
		after_run = true;
	}
	return 0;
}
