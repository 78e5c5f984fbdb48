/*
 * Base64 (RFC 4648 §4, the standard alphabet) in the two flavours mail
 * needs: a strict one-shot codec for SASL (RFC 4954, RFC 4616), which
 * rejects anything that is not canonical base64, and a lenient streaming
 * decoder for MIME bodies and encoded words (RFC 2045 6.8, RFC 2047),
 * which skips line breaks and junk and keeps a few bits between chunks.
 * Nothing here allocates.
 */
#ifndef LB_BASE64_H
#define LB_BASE64_H

#include <stddef.h>

/* Room base64_encode() needs for n bytes (including the NUL). */
#define BASE64_ENCODE_SIZE(n)	(4 * (((n) + 2) / 3) + 1)
/* Most bytes base64_decode() writes for len characters. */
#define BASE64_DECODE_MAX(len)	((len) / 4 * 3)

/*
 * Strict decoding of len bytes of in: the standard alphabet, '=' padding
 * to a multiple of 4 and only at the end, unused bits zero (RFC 4648
 * §3.5), no white space or anything else.  out must hold
 * BASE64_DECODE_MAX(len) bytes.  Returns the decoded length (the output
 * may contain NUL bytes), or -1 on any malformation (out then holds
 * garbage the caller should wipe if it was secret).
 */
long	 base64_decode(const char *in, size_t len, unsigned char *out);

/* Encode n bytes into out (BASE64_ENCODE_SIZE(n) bytes, NUL-terminated);
 * returns the length without the NUL. */
size_t	 base64_encode(const void *in, size_t n, char *out);

/* Lenient streaming decoder; all-zero is the initial state. */
struct base64_stream {
	unsigned int	 bits;		/* pending bits, the newest lowest */
	int		 nbits;		/* how many of them (0..14) */
};

void	 base64_stream_init(struct base64_stream *st);
/*
 * Decode in[0..len) into out, which must hold len * 3 / 4 + 1 bytes (len
 * bytes is always enough).  Characters outside the alphabet ('=', CR, LF,
 * junk) are skipped; a chunk may end anywhere, even inside a quantum.
 * Returns the number of bytes written.  Leftover bits at the end of the
 * input (a truncated quantum) carry no complete byte and are dropped.
 */
size_t	 base64_stream_feed(struct base64_stream *st, const char *in, size_t len,
	    char *out);

#endif
