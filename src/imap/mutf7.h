/*
 * Mailbox name encodings: modified UTF-7 (RFC 3501 5.1.3, what rev1
 * clients send and see) to and from UTF-8 (RFC 9051 / RFC 6855
 * UTF8=ACCEPT), plus a strict UTF-8 validator.  Both directions reject
 * anything with two spellings: overlong UTF-8, surrogates, printable
 * ASCII inside a base64 run, adjacent runs, non-zero padding bits.
 */
#ifndef LB_IMAP_MUTF7_H
#define LB_IMAP_MUTF7_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

/* Well-formed UTF-8 (RFC 3629): shortest form, no surrogates, <= U+10FFFF. */
bool	 utf8_valid(const char *s, size_t len);
/* Only 0x20..0x7e: what a rev1 quoted string or mUTF-7 name may hold. */
bool	 ascii_printable(const char *s, size_t len);

/*
 * Append the encoding/decoding of s[0..len) to out.  Return 0, or -1 when
 * the input is not valid (out may then hold part of the result) or out is
 * full.
 */
int	 mutf7_encode(const char *utf8, size_t len, struct buf *out);
int	 mutf7_decode(const char *mutf7, size_t len, struct buf *out);

#endif
