/*
 * RFC 2047 encoded words and RFC 2045/2231 parameters (see rfc2047.h).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "mime/decode.h"
#include "mime/rfc2047.h"

/* Appends to buffers capped at HDR_VALUE_MAX may fail: the text is then cut short, on purpose. */
static inline void
truncating(int r)
{
	(void)r;
}

#define CHARSET_MAX	64

struct eword {
	char		 charset[CHARSET_MAX + 1];
	char		 enc;		/* 'B' or 'Q' */
	const char	*text;
	size_t		 text_len;
	size_t		 end;		/* offset past "?=" */
};

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parse "=?cs?E?text?=" at s[pos]; no white space allowed inside. */
static bool
eword_parse(const char *s, size_t len, size_t pos, struct eword *w)
{
	size_t	i = pos + 2, cs = i, n;

	while (i < len && s[i] != '?' && !is_space(s[i]))
		i++;
	n = i - cs;
	if (i + 2 >= len || s[i] != '?' || n == 0 || n > CHARSET_MAX)
		return false;
	memcpy(w->charset, s + cs, n);
	w->charset[n] = '\0';
	/* RFC 2231 5: "charset*language" */
	if (strchr(w->charset, '*') != NULL)
		*strchr(w->charset, '*') = '\0';
	w->enc = s[i + 1];
	if (w->enc == 'b')
		w->enc = 'B';
	if (w->enc == 'q')
		w->enc = 'Q';
	if ((w->enc != 'B' && w->enc != 'Q') || s[i + 2] != '?')
		return false;
	i += 3;
	w->text = s + i;
	while (i < len && !is_space(s[i])) {
		if (s[i] == '?' && i + 1 < len && s[i + 1] == '=') {
			w->text_len = (size_t)(s + i - w->text);
			w->end = i + 2;
			return true;
		}
		i++;
	}
	return false;
}

/* Payload of a word into bytes (not yet converted) appended to acc. */
static int
eword_bytes(const struct eword *w, struct buf *acc)
{
	struct xfer_dec	 d;
	char		 tmp[256 + XFER_OUT_SLACK];
	size_t		 i, n;
	int		 hi, lo;

	if (w->enc == 'B') {
		xfer_init(&d, XFER_BASE64);
		for (i = 0; i < w->text_len; i += 256) {
			n = w->text_len - i < 256 ? w->text_len - i : 256;
			n = xfer_feed(&d, w->text + i, n, tmp);
			if (buf_add(acc, tmp, n) < 0)
				return -1;
		}
		return 0;
	}
	for (i = 0; i < w->text_len; i++) {
		char c = w->text[i];

		if (c == '_')		/* RFC 2047 4.2 (2) */
			c = ' ';
		else if (c == '=' && i + 2 < w->text_len &&
		    (hi = str_hexval(w->text[i + 1])) >= 0 &&
		    (lo = str_hexval(w->text[i + 2])) >= 0) {
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (buf_addc(acc, c) < 0)
			return -1;
	}
	return 0;
}

struct ew_acc {
	struct buf	 bytes;		/* decoded, not yet converted */
	char		 charset[CHARSET_MAX + 1];
	size_t		 raw_start, raw_end;	/* the words as written */
};

static int
acc_flush(struct ew_acc *a, const char *s, struct buf *out)
{
	struct charset_conv	c;
	int			r = 0;

	if (a->raw_end == a->raw_start)
		return 0;
	if (charset_conv_init(&c, a->charset) < 0)
		r = buf_add(out, s + a->raw_start, a->raw_end - a->raw_start);
	else if ((r = charset_conv_feed(&c, a->bytes.data ? a->bytes.data : "",
	    a->bytes.len, out)) == 0)
		r = charset_conv_finish(&c, out);
	charset_conv_clear(&c);
	buf_reset(&a->bytes);
	a->raw_start = a->raw_end = 0;
	return r;
}

static bool
all_space(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (!is_space(s[i]))
			return false;
	return true;
}

int
rfc2047_decode(const char *s, size_t len, struct buf *out)
{
	struct ew_acc	 a;
	struct eword	 w;
	const char	*q;
	size_t		 pos = 0, j;
	int		 r = 0;

	memset(&a, 0, sizeof(a));
	buf_init(&a.bytes, out->max);
	while (pos < len && r == 0) {
		q = len - pos >= 2 ? memmem(s + pos, len - pos, "=?", 2) : NULL;
		j = q ? (size_t)(q - s) : len;
		if (q != NULL && !eword_parse(s, len, j, &w)) {
			if ((r = acc_flush(&a, s, out)) == 0)
				r = buf_add(out, s + pos, j + 2 - pos);
			pos = j + 2;
			continue;
		}
		/* RFC 2047 6.2: white space between adjacent words is dropped */
		if (!(a.raw_end > a.raw_start && q != NULL && all_space(s + pos, j - pos))) {
			if ((r = acc_flush(&a, s, out)) == 0)
				r = buf_add(out, s + pos, j - pos);
		}
		if (q == NULL || r != 0)
			break;
		if (a.raw_end > a.raw_start && strcasecmp(a.charset, w.charset) != 0)
			r = acc_flush(&a, s, out);
		if (a.raw_end == a.raw_start) {
			memcpy(a.charset, w.charset, sizeof(a.charset));
			a.raw_start = j;
		}
		if (r == 0)
			r = eword_bytes(&w, &a.bytes);
		a.raw_end = w.end;
		pos = w.end;
	}
	if (r == 0)
		r = acc_flush(&a, s, out);
	buf_clear(&a.bytes);
	return r;
}

/* --- parameters --- */

struct raw_param {
	const char	*name;		/* base name, without "*N" / "*" */
	size_t		 name_len;
	int		 index;		/* -1: no continuation number */
	bool		 extended;	/* trailing "*": charset'lang'%XX */
	char		*value;
	bool		 used;
};

static size_t
skip_space(const char *v, size_t len, size_t i)
{
	while (i < len && is_space(v[i]))
		i++;
	return i;
}

/* Read a token or quoted string at v[*ip] into a new string. */
static char *
read_value(const char *v, size_t len, size_t *ip)
{
	struct buf	b;
	size_t		i = *ip;

	size_t		start;

	buf_init(&b, len + 1);
	if (i < len && v[i] == '"') {
		for (i++; i < len && v[i] != '"'; i++) {
			/* the run up to a quote or backslash in one append */
			for (start = i; i < len && v[i] != '"' && v[i] != '\\'; i++)
				;
			truncating(buf_add(&b, v + start, i - start));
			if (i >= len || v[i] == '"')
				break;
			if (i + 1 < len)
				i++;
			truncating(buf_addc(&b, v[i]));
		}
		if (i < len)
			i++;
	} else {
		for (start = i; i < len && v[i] != ';' && !is_space(v[i]); i++)
			;
		truncating(buf_add(&b, v + start, i - start));
	}
	*ip = i;
	return buf_take(&b, NULL);
}

/* Split "name*3*" into base, index and extended flag. */
static void
split_name(struct raw_param *p, const char *n, size_t len)
{
	const char	*star = memchr(n, '*', len);
	uint64_t	 idx;
	size_t		 dl;

	p->name = n;
	p->name_len = len;
	p->index = -1;
	p->extended = false;
	if (star == NULL)
		return;
	p->name_len = (size_t)(star - n);
	star++;
	dl = len - (size_t)(star - n);	/* after the first "*": "", "N" or "N*" */
	if (dl == 0 || (dl > 1 && star[dl - 1] == '*')) {
		p->extended = true;
		if (dl > 0)
			dl--;
	}
	if (dl > 0 && parse_u64(star, dl, 999, &idx) == 0)
		p->index = (int)idx;
	else if (dl > 0) {
		p->name_len = len;	/* "a*b": not RFC 2231, keep it whole */
		p->extended = false;
	}
}

static bool
attr_char(unsigned char c)
{
	/* RFC 2231 7: attribute-char, no specials, %, *, ' or space */
	return c > 0x20 && c < 0x7f && strchr("*'%()<>@,;:\\\"/[]?=", c) == NULL;
}

/* name[0..len) (up to a NUL, as "%.*s"), with a '*' when star: no printf, it runs per parameter. */
static char *
param_name(const char *name, size_t len, bool star)
{
	char	*s;

	len = strnlen(name, len);
	s = xmalloc(len + 2);
	memcpy(s, name, len);
	s[len] = '*';
	s[len + star] = '\0';
	return s;
}

/* Merge the continuation segments of raw[first] (RFC 2231 3-4). */
static void
merge_param(struct raw_param *raw, size_t n, size_t first, struct mime_param *out)
{
	struct buf	 b;
	bool		 ext = false;
	size_t		 i, k;
	const char	*s;
	int		 want;

	for (i = 0; i < n; i++)
		if (!raw[i].used && raw[i].index >= 0 && raw[i].extended &&
		    raw[i].name_len == raw[first].name_len &&
		    strncasecmp(raw[i].name, raw[first].name, raw[i].name_len) == 0)
			ext = true;
	buf_init(&b, HDR_PARAM_VALUE_MAX);
	for (want = 0;; want++) {
		for (i = 0; i < n; i++)
			if (!raw[i].used && raw[i].index == want &&
			    raw[i].name_len == raw[first].name_len &&
			    strncasecmp(raw[i].name, raw[first].name, raw[i].name_len) == 0)
				break;
		if (i == n)
			break;	/* RFC 2231 3: stop at the first gap */
		raw[i].used = true;
		s = raw[i].value;
		if (!ext || raw[i].extended) {
			truncating(buf_adds(&b, s));
			continue;
		}
		for (k = 0; s[k] != '\0'; k++) {
			if (attr_char((unsigned char)s[k]))
				truncating(buf_addc(&b, s[k]));
			else
				(void)buf_addf(&b, "%%%02X", (unsigned char)s[k]);
		}
	}
	out->name = param_name(raw[first].name, raw[first].name_len, ext);
	out->value = buf_take(&b, NULL);
}

size_t
mime_params_parse(const char *v, size_t len, char **token_r,
    struct mime_param **params_r)
{
	struct raw_param	 raw[MIME_PARAMS_MAX];
	struct mime_param	*out;
	size_t			 nraw = 0, nout = 0, i, start, j;

	i = skip_space(v, len, 0);
	start = i;
	while (i < len && v[i] != ';')
		i++;
	j = i;
	while (j > start && is_space(v[j - 1]))
		j--;
	*token_r = j > start ? xstrndup(v + start, j - start) : NULL;
	while (i < len && nraw < MIME_PARAMS_MAX) {
		i = skip_space(v, len, i + 1);	/* past ';' */
		start = i;
		while (i < len && v[i] != '=' && v[i] != ';' && !is_space(v[i]))
			i++;
		j = i;
		i = skip_space(v, len, i);
		if (i >= len || v[i] != '=' || j == start) {
			while (i < len && v[i] != ';')	/* junk: skip to ';' */
				i++;
			continue;
		}
		split_name(&raw[nraw], v + start, j - start);
		i = skip_space(v, len, i + 1);
		raw[nraw].value = read_value(v, len, &i);
		raw[nraw].used = false;
		nraw++;
		while (i < len && v[i] != ';')
			i++;
	}
	out = nraw ? xcalloc(nraw, sizeof(*out)) : NULL;
	for (i = 0; i < nraw; i++) {
		if (raw[i].used)
			continue;
		if (raw[i].index < 0) {
			raw[i].used = true;
			out[nout].name = param_name(raw[i].name, raw[i].name_len,
			    raw[i].extended);
			out[nout++].value = raw[i].value;	/* handed over */
			raw[i].value = NULL;
		} else
			merge_param(raw, nraw, i, &out[nout++]);
	}
	for (i = 0; i < nraw; i++)
		free(raw[i].value);
	*params_r = out;
	return nout;
}

void
mime_params_free(struct mime_param **params, size_t n)
{
	size_t	i;

	if (*params == NULL)
		return;
	for (i = 0; i < n; i++) {
		free((*params)[i].name);
		free((*params)[i].value);
	}
	xfree(params);
}

int
rfc2231_decode(const char *v, size_t len, struct buf *out)
{
	struct buf	 bytes;
	const char	*q1, *q2;
	char		 cs[CHARSET_MAX + 1];
	size_t		 i, n;
	int		 r, hi, lo;

	q1 = memchr(v, '\'', len);
	q2 = q1 ? memchr(q1 + 1, '\'', len - (size_t)(q1 + 1 - v)) : NULL;
	if (q2 == NULL)
		return buf_add(out, v, len);
	n = (size_t)(q1 - v);
	if (n > CHARSET_MAX)
		n = 0;
	memcpy(cs, v, n);
	cs[n] = '\0';
	buf_init(&bytes, out->max);
	for (i = (size_t)(q2 + 1 - v); i < len; i++) {
		char c = v[i];

		if (c == '%' && i + 2 < len && (hi = str_hexval(v[i + 1])) >= 0 &&
		    (lo = str_hexval(v[i + 2])) >= 0) {
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (buf_addc(&bytes, c) < 0) {
			buf_clear(&bytes);
			return -1;
		}
	}
	r = charset_to_utf8(n ? cs : NULL, bytes.data ? bytes.data : "", bytes.len, out);
	buf_clear(&bytes);
	return r;
}
