/*
 * Modified UTF-7 (RFC 3501 5.1.3) <-> UTF-8 for folder names on disk.
 * IMAP clients name folders in modified UTF-7 and we keep those names;
 * Courier-IMAP before 5.0 wrote them to disk that way too, but Courier 5
 * (and Dovecot with UTF-8 names) write UTF-8 directories.  The listing
 * shows a UTF-8 directory under its modified UTF-7 name, and opening that
 * name finds the UTF-8 directory when the UTF-7 one does not exist.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "store/store_int.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
b64_val(char c)
{
	const char	*p = c != '\0' ? strchr(b64, c) : NULL;

	return p != NULL ? (int)(p - b64) : -1;
}

/* Put code point cp as UTF-8; returns the bytes written (<= 4). */
static size_t
put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

char *
mutf7_to_utf8(const char *s)
{
	size_t		 len = strlen(s), o = 0, start;
	char		*out = xmalloc(len * 2 + 1);
	uint32_t	 bits, nbits, u, hi;
	int		 v;

	while (*s != '\0') {
		if (*s != '&') {
			out[o++] = *s++;
			continue;
		}
		if (*++s == '-') {		/* "&-" is '&' */
			out[o++] = '&';
			s++;
			continue;
		}
		bits = nbits = hi = 0;
		start = o;
		for (; *s != '-'; s++) {
			if ((v = b64_val(*s)) < 0)
				goto bad;
			bits = bits << 6 | (uint32_t)v;
			nbits += 6;
			if (nbits < 16)
				continue;
			nbits -= 16;
			u = (bits >> nbits) & 0xffff;
			if (u >= 0xd800 && u < 0xdc00) {
				if (hi != 0)
					goto bad;
				hi = u;
				continue;
			}
			if (u >= 0xdc00 && u < 0xe000) {
				if (hi == 0)
					goto bad;
				u = 0x10000 + ((hi - 0xd800) << 10) + (u - 0xdc00);
				hi = 0;
			} else if (hi != 0 || u < 0x80)
				goto bad;	/* ASCII must not be encoded */
			o += put_utf8(out + o, u);
		}
		/* Whole 16-bit units only: fewer than 6 spare bits, all zero,
		 * and something encoded ("&-" is the only empty form). */
		if (hi != 0 || nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0 || o == start)
			goto bad;
		s++;
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* Next code point of valid UTF-8 at *s; 0 at a bad sequence. */
static uint32_t
get_utf8(const unsigned char **s)
{
	const unsigned char	*p = *s;
	uint32_t		 cp;
	int			 n, i;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	n = p[0] >= 0xf0 ? 3 : p[0] >= 0xe0 ? 2 : 1;
	cp = p[0] & (0x3f >> n);
	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp < 0xe000))
		return 0;
	*s = p + n + 1;
	return cp;
}

char *
utf8_to_mutf7(const char *str)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 o = 0;
	char			*out = xmalloc(strlen(str) * 4 + 3);
	uint32_t		 cp, bits, nbits, units[2];
	int			 nu, i;

	while (*s != '\0') {
		if (*s >= 0x20 && *s < 0x7f) {
			out[o++] = (char)*s;
			if (*s++ == '&')
				out[o++] = '-';
			continue;
		}
		out[o++] = '&';
		bits = nbits = 0;
		while (*s != '\0' && (*s < 0x20 || *s >= 0x7f)) {
			if (*s < 0x80) {
				cp = *s++;	/* a control byte: encoded too */
			} else if ((cp = get_utf8(&s)) == 0) {
				free(out);
				return NULL;
			}
			nu = 1;
			units[0] = cp;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				units[0] = 0xd800 + (cp >> 10);
				units[1] = 0xdc00 + (cp & 0x3ff);
				nu = 2;
			}
			for (i = 0; i < nu; i++) {
				bits = bits << 16 | units[i];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					out[o++] = b64[(bits >> nbits) & 0x3f];
				}
			}
		}
		if (nbits > 0)
			out[o++] = b64[(bits << (6 - nbits)) & 0x3f];
		out[o++] = '-';
	}
	out[o] = '\0';
	return out;
}
