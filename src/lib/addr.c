/*
 * Mail address and domain validation and normalization.
 * Local part: RFC 5321 4.1.2 Dot-string / Quoted-string (atext of RFC 5322
 * 3.2.3), with UTF-8 (RFC 6531 3.3) only when the caller allows it.
 * Domain: LDH labels (RFC 1035 2.3.1, RFC 5890), U-labels converted to
 * A-labels with libidn2 (IDNA2008 + TR46 non-transitional), lower case.
 * All error texts are static and read well after "letterbox: ".
 */
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "lib/addr.h"
#include "lib/xmalloc.h"

#define DOMAIN_DNS_MAX	253	/* RFC 1035 wire limit, without the root dot */
#define LABEL_MAX	63
#define ADDR_MAX	(ADDR_PATH_MAX - 2)	/* the path without "<" ">" */
#define DOMAIN_IN_MAX	1024	/* raw (UTF-8) input bound before libidn2 */

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629 4), or 0 when it
 * is malformed: overlong forms, surrogates, past U+10FFFF, truncated.  C1
 * controls (U+0080..U+009F) are refused too: they are controls all the same.
 */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		if (p[0] == 0xc2)
			lo = 0xa0;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

static bool
utf8_valid(const unsigned char *p, size_t n)
{
	size_t	 i, k;

	for (i = 0; i < n; i += k)
		if ((k = utf8_seq(p + i, n - i)) == 0)
			return false;
	return true;
}

/* RFC 5322 3.2.3 atext, ASCII part. */
static bool
atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Dot-string = Atom *("." Atom); returns NULL or the error text. */
static const char *
dot_check(const unsigned char *s, size_t len, bool utf8)
{
	size_t	 i, k;

	for (i = 0; i < len; i += k) {
		k = 1;
		if (s[i] == '.') {
			if (i == 0)
				return "invalid address: local part starts with '.'";
			if (s[i - 1] == '.')
				return "invalid address: local part has '..' (quote it)";
		} else if (s[i] == '"')
			return "invalid address: stray '\"' in local part";
		else if (s[i] >= 0x80) {
			if (!utf8)
				return "invalid address: non-ASCII local part";
			if ((k = utf8_seq(s + i, len - i)) == 0)
				return "invalid address: bad UTF-8 in local part";
		} else if (!atext(s[i]))
			return "invalid address: invalid character in local part";
	}
	if (len > 0 && s[len - 1] == '.')
		return "invalid address: local part ends with '.'";
	return NULL;
}

/*
 * RFC 5321 4.1.2 Quoted-string = DQUOTE *QcontentSMTP DQUOTE
 * (qtextSMTP %d32-33 / %d35-91 / %d93-126, quoted-pairSMTP "\" %d32-126),
 * plus UTF-8 when allowed (RFC 6531 3.3).  s[0] is the opening quote.
 */
static const char *
quoted_check(const unsigned char *s, size_t len, bool utf8)
{
	size_t	 i, k;

	for (i = 1; i < len; i += k) {
		k = 1;
		if (s[i] == '"')
			return i == len - 1 ? NULL :
			    "invalid address: text after the closing '\"'";
		if (s[i] == '\\') {
			if (i + 1 >= len)
				return "invalid address: unterminated quoted string";
			if (s[i + 1] < 32 || s[i + 1] > 126)
				return "invalid address: bad '\\' escape in quoted string";
			k = 2;
		} else if (s[i] >= 0x80) {
			if (!utf8)
				return "invalid address: non-ASCII local part";
			if ((k = utf8_seq(s + i, len - i)) == 0)
				return "invalid address: bad UTF-8 in local part";
		} else if (s[i] < 32 || s[i] == 127)
			return "invalid address: control character in quoted string";
	}
	return "invalid address: unterminated quoted string";
}

static const char *
local_check(const char *s, size_t len, bool utf8)
{
	if (len == 0)
		return "invalid address: empty local part";
	if (len > ADDR_LOCAL_MAX)
		return "invalid address: local part longer than 64 octets";
	if (s[0] == '"')
		return quoted_check((const unsigned char *)s, len, utf8);
	return dot_check((const unsigned char *)s, len, utf8);
}

bool
addr_local_valid(const char *s, size_t len, bool utf8)
{
	return s != NULL && local_check(s, len, utf8) == NULL;
}

/* A lower-case ASCII domain: LDH labels, lengths, hyphens. */
static const char *
ldh_check(const char *d)
{
	size_t	 n = strlen(d), i, start, l;
	bool	 digits;

	if (n == 0)
		return "invalid domain: empty";
	if (d[n - 1] == '.')
		return "invalid domain: trailing dot";
	if (n > DOMAIN_DNS_MAX)
		return "invalid domain: longer than 253 octets";
	for (start = 0; start <= n; start = i + 1) {
		digits = true;
		for (i = start; i < n && d[i] != '.'; i++) {
			if (d[i] >= '0' && d[i] <= '9')
				continue;
			digits = false;
			if (!(d[i] >= 'a' && d[i] <= 'z') && d[i] != '-')
				return "invalid domain: invalid character "
				    "(letters, digits, '-' and '.' only)";
		}
		l = i - start;
		if (l == 0)
			return "invalid domain: empty label";
		if (l > LABEL_MAX)
			return "invalid domain: label longer than 63 octets";
		if (d[start] == '-')
			return "invalid domain: label starts with '-'";
		if (d[i - 1] == '-')
			return "invalid domain: label ends with '-'";
		/* RFC 3696 2: no all-numeric TLD; "1.2.3.4" is an IP, not a name */
		if (i == n && digits)
			return "invalid domain: all-numeric top-level label "
			    "(address literals are not accepted)";
	}
	return NULL;
}

/* Each "xn--" label must be a valid A-label (decodes to a valid U-label). */
static const char *
alabel_check(const char *d)
{
	const char	*p = d, *dot;
	char		*label, *out;
	size_t		 l;
	int		 r;

	for (;;) {
		dot = strchr(p, '.');
		l = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (l >= 4 && strncmp(p, "xn--", 4) == 0) {
			label = xstrndup(p, l);
			out = NULL;
			r = idn2_to_ascii_8z(label, &out,
			    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
			free(label);
			idn2_free(out);
			if (r != IDN2_OK)
				return "invalid domain: bad A-label (xn--)";
		}
		if (dot == NULL)
			return NULL;
		p = dot + 1;
	}
}

static int
domain_norm(const char *s, size_t len, char **norm_r, const char **err_r)
{
	char		*d, *out = NULL;
	const char	*err;
	bool		 eight = false;
	size_t		 i;
	int		 r;
	unsigned char	 c;

	*norm_r = NULL;
	if (len == 0) {
		*err_r = "invalid domain: empty";
		return -1;
	}
	if (s[0] == '[') {
		*err_r = "invalid domain: address literals ([...]) are not accepted";
		return -1;
	}
	if (len > DOMAIN_IN_MAX) {
		*err_r = "invalid domain: too long";
		return -1;
	}
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '\0')
			*err_r = "invalid domain: contains NUL";
		else if (c < 0x20 || c == 0x7f)
			*err_r = "invalid domain: contains a control character";
		else if (c == ' ')
			*err_r = "invalid domain: contains a space";
		else if (c == '/' || c == '\\')
			*err_r = "invalid domain: contains '/' or '\\'";
		else if (c == '@')
			*err_r = "invalid domain: contains '@'";
		else {
			eight |= c >= 0x80;
			continue;
		}
		return -1;
	}

	if (eight) {
		if (!utf8_valid((const unsigned char *)s, len)) {
			*err_r = "invalid domain: bad UTF-8";
			return -1;
		}
		d = xstrndup(s, len);
		r = idn2_to_ascii_8z(d, &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
		free(d);
		if (r != IDN2_OK) {
			idn2_free(out);
			*err_r = "invalid domain: not a valid internationalized name";
			return -1;
		}
		d = xstrdup(out);
		idn2_free(out);
	} else
		d = xstrndup(s, len);

	for (i = 0; d[i] != '\0'; i++)
		if (d[i] >= 'A' && d[i] <= 'Z')
			d[i] += 'a' - 'A';
	if ((err = ldh_check(d)) != NULL || (err = alabel_check(d)) != NULL) {
		free(d);
		*err_r = err;
		return -1;
	}
	*norm_r = d;
	return 0;
}

int
domain_normalize(const char *s, char **norm_r, const char **err_r)
{
	if (s == NULL) {
		*norm_r = NULL;
		*err_r = "invalid domain: empty";
		return -1;
	}
	return domain_norm(s, strlen(s), norm_r, err_r);
}

const char *
addr_at(const char *addr)
{
	return addr != NULL ? strrchr(addr, '@') : NULL;
}

int
addr_normalize(const char *s, size_t len, bool utf8, char **norm_r,
    const char **err_r)
{
	const char	*at, *err;
	char		*dom, *res;
	size_t		 llen, dlen;

	*norm_r = NULL;
	if (s == NULL || len == 0) {
		*err_r = "invalid address: empty";
		return -1;
	}
	if (memchr(s, '\0', len) != NULL) {
		*err_r = "invalid address: contains NUL";
		return -1;
	}
	if (len > ADDR_MAX) {
		*err_r = "invalid address: longer than 254 octets";
		return -1;
	}
	/* The domain holds no '@', so the last one separates (a quoted local part may). */
	if ((at = memrchr(s, '@', len)) == NULL) {
		*err_r = "invalid address: missing '@'";
		return -1;
	}
	llen = (size_t)(at - s);
	if (llen + 1 == len) {
		*err_r = "invalid address: empty domain";
		return -1;
	}
	if ((err = local_check(s, llen, utf8)) != NULL) {
		*err_r = err;
		return -1;
	}
	if (domain_norm(at + 1, len - llen - 1, &dom, err_r) == -1)
		return -1;
	dlen = strlen(dom);
	if (llen + 1 + dlen > ADDR_MAX) {
		free(dom);
		*err_r = "invalid address: longer than 254 octets";
		return -1;
	}
	res = xmalloc(llen + 1 + dlen + 1);
	memcpy(res, s, llen);
	res[llen] = '@';
	memcpy(res + llen + 1, dom, dlen + 1);
	free(dom);
	*norm_r = res;
	return 0;
}

/*
 * "john"@x and john@x are the same mailbox (RFC 5321 4.1.2 SHOULD NOT need
 * quoting): when the unescaped content of a quoted local part is itself a
 * Dot-string, return it unquoted (allocated); otherwise NULL.
 */
static char *
unquote(const char *s, size_t len)
{
	char	*u;
	size_t	 i, n = 0;

	if (len < 2 || s[0] != '"')
		return NULL;
	u = xmalloc(len);
	for (i = 1; i < len - 1; i++) {
		if (s[i] == '\\')
			i++;
		u[n++] = s[i];
	}
	if (n == 0 || dot_check((const unsigned char *)u, n, true) != NULL) {
		free(u);
		return NULL;
	}
	u[n] = '\0';
	return u;
}

char *
addr_lookup_key(const char *addr, bool case_sensitive)
{
	const char	*err, *at;
	char		*norm, *u, *res;
	size_t		 i, llen;

	if (addr == NULL ||
	    addr_normalize(addr, strlen(addr), true, &norm, &err) == -1)
		return NULL;
	at = strrchr(norm, '@');
	llen = (size_t)(at - norm);
	if ((u = unquote(norm, llen)) != NULL) {
		res = xasprintf("%s%s", u, at);
		llen = strlen(u);
		free(u);
		free(norm);
		norm = res;
	}
	/* ASCII only: UTF-8 bytes are left as they are (no Unicode folding). */
	if (!case_sensitive)
		for (i = 0; i < llen; i++)
			if (norm[i] >= 'A' && norm[i] <= 'Z')
				norm[i] += 'a' - 'A';
	return norm;
}
