/* String helpers; see str.h. */
#include <ctype.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "lib/str.h"

int
parse_u64(const char *s, size_t len, uint64_t max, uint64_t *v_r)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (len == 0 || len > 20)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*v_r = v;
	return 0;
}

static int
lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

bool
str_ieq(const char *s, size_t len, const char *lit)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (lit[i] == '\0' || lc((unsigned char)s[i]) != lc((unsigned char)lit[i]))
			return false;
	return lit[len] == '\0';
}

bool
str_iprefix(const char *s, size_t len, const char *lit)
{
	size_t i;

	for (i = 0; lit[i] != '\0'; i++)
		if (i >= len || lc((unsigned char)s[i]) != lc((unsigned char)lit[i]))
			return false;
	return true;
}

void
str_lower(char *s)
{
	for (; *s; s++)
		*s = (char)lc((unsigned char)*s);
}

char *
str_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

size_t
str_copy(char *dst, const char *src, size_t dstsz)
{
	size_t n = strlen(src);

	if (dstsz > 0) {
		size_t c = n < dstsz - 1 ? n : dstsz - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

int
str_each_item(const char *list, int (*fn)(const char *item, size_t len, void *arg), void *arg)
{
	const char *p = list;

	while (*p) {
		size_t n;

		while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		n = strcspn(p, ", \t\r\n");
		if (n > 0) {
			int r = fn(p, n, arg);
			if (r != 0)
				return r;
		}
		p += n;
	}
	return 0;
}

bool
str_has_nul(const void *p, size_t len)
{
	return memchr(p, '\0', len) != NULL;
}

int
str_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int32_t
str_utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char	 c = s[*i];
	int32_t		 cp, min;
	size_t		 n, k;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf)
		n = 1, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 2, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 3, cp = c & 0x07, min = 0x10000;
	else
		return -1;
	if (len - *i <= n)
		return -1;
	for (k = 1; k <= n; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[*i + k] & 0x3f);
	}
	/* overlong forms, surrogates and past U+10FFFF are not UTF-8 (RFC 3629 3) */
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*i += n + 1;
	return cp;
}

size_t
str_utf8_put(uint32_t cp, char u[4])
{
	if (cp < 0x80) {
		u[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	u[0] = (char)(0xf0 | (cp >> 18));
	u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	u[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Per number it formats, a printf costs some 800 instructions: FETCH writes several a message. */
size_t
str_u64(char *dst, uint64_t v)
{
	char	t[STR_U64_MAX];
	size_t	n = 0, i;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		dst[i] = t[n - 1 - i];
	return n;
}

/*
 * Counting lines of a body: memchr a line costs ~30 instructions.  With
 * SSE2 (every x86-64) 16 bytes take a compare and a subtract into byte
 * counters, summed every 255 rounds; elsewhere blocks of 64 with a
 * byte-wide counter, a loop compilers vectorize at -O2.
 */
size_t
str_count(const char *s, size_t len, char c)
{
	size_t		n = 0, i, k;
#ifdef __SSE2__
	const __m128i	cv = _mm_set1_epi8(c);
	__m128i		acc;

	while (len >= 16) {
		k = len / 16 < 255 ? len / 16 : 255;
		len -= k * 16;
		acc = _mm_setzero_si128();
		for (; k >= 4; k -= 4, s += 64) {
			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)s), cv));
			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(s + 16)), cv));
			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(s + 32)), cv));
			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(s + 48)), cv));
		}
		for (; k > 0; k--, s += 16)
			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)s), cv));
		acc = _mm_sad_epu8(acc, _mm_setzero_si128());
		n += (size_t)_mm_cvtsi128_si32(acc) + (size_t)_mm_extract_epi16(acc, 4);
	}
#else
	unsigned char	b;

	for (; len >= 64; s += 64, len -= 64) {
		b = 0;
		for (k = 0; k < 64; k++)
			b += s[k] == c;
		n += b;
	}
#endif
	for (i = 0; i < len; i++)
		n += s[i] == c;
	return n;
}

/*
 * With SSE2 a run without LF goes over 16 bytes a store; at an LF the 16
 * bytes stored past it are overwritten from there on (out's 16 spare
 * bytes take the last store).  A memchr and a memcpy a line cost ~3 times
 * as much on 72-byte lines.
 */
size_t
str_lf_to_crlf(const char *in, size_t len, char *out, size_t *at)
{
	const char	*p = in, *end = in + len;
	char		*o = out;
	size_t		 k = 0;
#ifdef __SSE2__
	const __m128i	 lf = _mm_set1_epi8('\n');
	__m128i		 v, w;
	unsigned	 m, i;

	while (end - p >= 16) {
		v = _mm_loadu_si128((const __m128i *)p);
		_mm_storeu_si128((__m128i *)o, v);
		m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf));
		if (m == 0 && end - p >= 32) {
			/* a second 16 in the same round: most lines are 60-80 bytes */
			w = _mm_loadu_si128((const __m128i *)(p + 16));
			_mm_storeu_si128((__m128i *)(o + 16), w);
			m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(w, lf)) << 16;
			if (m == 0) {
				p += 32;
				o += 32;
				continue;
			}
		}
		if (m == 0) {
			p += 16;
			o += 16;
			continue;
		}
		i = (unsigned)__builtin_ctz(m);
		p += i + 1;
		o += i;
		at[k++] = (size_t)(o - out);
		*o++ = '\r';
		*o++ = '\n';
	}
#endif
	for (; p < end; p++) {
		if (*p == '\n') {
			at[k++] = (size_t)(o - out);
			*o++ = '\r';
		}
		*o++ = *p;
	}
	return (size_t)(o - out);
}

/*
 * With SSE2, 16 bytes a step: an LF is bare unless the byte before it,
 * loaded one byte back, is a CR; the bare ones are summed in byte-wide
 * counters as in str_count.  27 GB/s against 9.6 for a memchr a line.
 */
size_t
str_bare_lfs(const char *s, size_t len, bool cr_before)
{
	size_t		 n = 0, i = 0, k;
#ifdef __SSE2__
	const __m128i	 lf = _mm_set1_epi8('\n'), crv = _mm_set1_epi8('\r');
	__m128i		 acc, bare;

	if (len > 16) {
		/* the first byte by hand: the vectors read the byte before each */
		n = s[0] == '\n' && !cr_before;
		for (i = 1; len - i >= 16;) {
			/* byte-wide counters, summed before they can wrap */
			k = (len - i) / 16 < 255 ? (len - i) / 16 : 255;
			acc = _mm_setzero_si128();
			for (; k > 0; k--, i += 16) {
				bare = _mm_andnot_si128(
				    _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(s + i - 1)), crv),
				    _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(s + i)), lf));
				acc = _mm_sub_epi8(acc, bare);
			}
			acc = _mm_sad_epu8(acc, _mm_setzero_si128());
			n += (size_t)_mm_cvtsi128_si32(acc) + (size_t)_mm_extract_epi16(acc, 4);
		}
		cr_before = s[i - 1] == '\r';
	}
#endif
	for (; i < len; i++) {
		if (s[i] == '\n' && !cr_before)
			n++;
		cr_before = s[i] == '\r';
	}
	return n;
}

size_t
str_crlf_fit(const char *in, size_t len, bool cr_before, char *out, size_t cap, size_t *used_r)
{
	const char	*p = in, *end = in + len, *nl;
	size_t		 o = 0, seg;
	bool		 cr;

	/*
	 * A line at a time: glibc's memchr and memcpy beat 16-byte SSE2 steps
	 * here (6.0 against 7.3 GB/s on 70-byte lines, AVX-512 machine).
	 */
	while (p < end && o < cap) {
		nl = memchr(p, '\n', (size_t)(end - p));
		seg = (size_t)((nl != NULL ? nl : end) - p);
		if (seg > cap - o)
			seg = cap - o;
		memcpy(out + o, p, seg);
		o += seg;
		p += seg;
		if (p != nl)
			break;	/* in or the room ended */
		cr = nl == in ? !cr_before : nl[-1] != '\r';
		if (cap - o < (cr ? 2U : 1U))
			break;
		if (cr)
			out[o++] = '\r';
		out[o++] = '\n';
		p = nl + 1;
	}
	*used_r = (size_t)(p - in);
	return o;
}
