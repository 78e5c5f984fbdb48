/*
 * Small string helpers for bytes that carry their length (wire data) and
 * for NUL-terminated config text.  Nothing here allocates unless its name
 * says so.
 */
#ifndef LB_STR_H
#define LB_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Parse an unsigned decimal of exactly len bytes: digits only (no sign,
 * no space), value <= max.  Returns 0 and sets *v_r, or -1.
 */
int	 parse_u64(const char *s, size_t len, uint64_t max, uint64_t *v_r);

/* Case-insensitive ASCII compare of a length-carrying token with a C string. */
bool	 str_ieq(const char *s, size_t len, const char *lit);
bool	 str_iprefix(const char *s, size_t len, const char *lit);
void	 str_lower(char *s);			/* ASCII only, in place */
char	*str_trim(char *s);			/* in place; returns start */
/* Copy with truncation; always NUL-terminates; returns strlen(src). */
size_t	 str_copy(char *dst, const char *src, size_t dstsz);
/* Split "a, b ,c" on commas/white space: calls fn for each non-empty token. */
int	 str_each_item(const char *list, int (*fn)(const char *item, size_t len, void *arg), void *arg);
bool	 str_has_nul(const void *p, size_t len);
/* Value of one hex digit (either case): 0..15, or -1 for anything else,
 * including a negative (signed char) c. */
int	 str_hexval(int c);
/*
 * One UTF-8 sequence at s[*i] (s holds len bytes, *i < len): its code
 * point with *i moved past it, or -1 (*i unchanged) when malformed,
 * overlong, a surrogate or past U+10FFFF.
 */
int32_t	 str_utf8_next(const unsigned char *s, size_t len, size_t *i);
/* Code point cp (<= U+10FFFF) as UTF-8 into u; returns its length, 1..4. */
size_t	 str_utf8_put(uint32_t cp, char u[4]);
/* v in decimal at dst, no NUL (at most STR_U64_MAX bytes); returns the length. */
#define STR_U64_MAX	20
size_t	 str_u64(char *dst, uint64_t v);
/* How many bytes of s[0..len) are c. */
size_t	 str_count(const char *s, size_t len, char c);
/*
 * in[0..len), which holds no CR, into out with a CR before each LF; out
 * has room for len + (LFs in in) + 16 bytes, at[] for the LFs.  at[k] :=
 * where in out the k-th CR went.  Returns the bytes written.
 */
size_t	 str_lf_to_crlf(const char *in, size_t len, char *out, size_t *at);
/*
 * LFs in s[0..len) without a CR before them; cr_before: the byte before
 * s[0] is a CR.  What an LF-to-CRLF conversion adds.
 */
size_t	 str_bare_lfs(const char *s, size_t len, bool cr_before);
/*
 * in[0..len) into out[0..cap) with a CR put before each LF that has none
 * (cr_before as above), until in ends or the next byte, or the CR and LF
 * of a bare LF, would not fit.  *used_r: the bytes of in taken.  Returns
 * the bytes written.
 */
size_t	 str_crlf_fit(const char *in, size_t len, bool cr_before, char *out, size_t cap,
	    size_t *used_r);

#endif
