/*
 * Base64 codecs (see base64.h): one alphabet and one reverse lookup
 * serve the strict SASL decoder, the encoder and the MIME stream decoder.
 */
#include <string.h>

#include "lib/base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of an alphabet character, or -1 (for '=' too). */
static int
b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
base64_decode(const char *in, size_t len, unsigned char *out)
{
	const unsigned char	*p = (const unsigned char *)in;
	size_t			 i, o = 0;
	int			 v[4], k, pad;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		pad = 0;
		for (k = 0; k < 4; k++) {
			if (p[i + k] == '=' && i + 4 == len && k >= 2) {
				/* Padding only in the last quantum, and only at its end. */
				pad++;
				v[k] = 0;
				continue;
			}
			if (pad > 0 || (v[k] = b64_val(p[i + k])) < 0)
				return -1;
		}
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
		/* RFC 4648 §3.5: the bits dropped by padding must be zero. */
		if ((pad == 2 && (v[1] & 15) != 0) || (pad == 1 && (v[2] & 3) != 0))
			return -1;
	}
	return (long)o;
}

size_t
base64_encode(const void *in, size_t n, char *out)
{
	const unsigned char	*p = in;
	size_t			 i, o = 0;
	unsigned		 v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (i < n) {
		v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

void
base64_stream_init(struct base64_stream *st)
{
	memset(st, 0, sizeof(*st));
}

size_t
base64_stream_feed(struct base64_stream *st, const char *in, size_t len, char *out)
{
	size_t	i, n = 0;
	int	v;

	for (i = 0; i < len; i++) {
		/* RFC 2045 6.8: characters outside the alphabet are ignored. */
		if ((v = b64_val((unsigned char)in[i])) < 0)
			continue;
		st->bits = (st->bits << 6 | (unsigned int)v) & 0xffffff;
		if ((st->nbits += 6) >= 8) {
			st->nbits -= 8;
			out[n++] = (char)(st->bits >> st->nbits & 0xff);
		}
	}
	return n;
}
