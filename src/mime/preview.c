/*
 * FETCH PREVIEW text (RFC 8970), see preview.h.  The chosen part is
 * decoded by mime_part_text() into at most PREVIEW_SCAN bytes, then one
 * pass reduces it: HTML markup dropped, entities decoded, white space
 * collapsed, cut at PREVIEW_CHARS code points.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "mime/preview.h"

/* ---- choosing the part ---- */

static bool
is_attachment(const struct mime_part *p)
{
	return p->disposition != NULL && strcasecmp(p->disposition, "attachment") == 0;
}

/* First leaf text/<subtype> that is not an attachment, in pre-order. */
static const struct mime_part *
find_text(const struct mime_part *root, const char *subtype)
{
	const struct mime_part	*p = root;

	while (p != NULL) {
		if (!(p->flags & (MIME_F_MULTIPART | MIME_F_MESSAGE)) && !is_attachment(p) &&
		    strcasecmp(p->type, "text") == 0 && strcasecmp(p->subtype, subtype) == 0)
			return p;
		/* an enclosed message (a forward) is not this message's text */
		if (p->children != NULL && !(p->flags & MIME_F_MESSAGE)) {
			p = p->children;
			continue;
		}
		while (p != NULL && p != root && p->next == NULL)
			p = p->parent;
		p = (p == NULL || p == root) ? NULL : p->next;
	}
	return NULL;
}

static int
collect_cb(const char *text, size_t len, void *arg)
{
	struct buf	*b = arg;
	size_t		 room = PREVIEW_SCAN - b->len;

	if (len > room)
		len = room;
	if (buf_add(b, text, len) < 0)
		return -1;
	return b->len >= PREVIEW_SCAN ? 1 : 0;
}

int
mime_preview(const struct mime_part *root, struct buf *out)
{
	const struct mime_part	*p;
	struct buf		 text;
	bool			 html = false;
	int			 r;

	if ((p = find_text(root, "plain")) == NULL) {
		if ((p = find_text(root, "html")) == NULL)
			return 0;
		html = true;
	}
	buf_init(&text, PREVIEW_SCAN);
	/* decoded text is mostly no longer than the body: one allocation, not a doubling series */
	(void)buf_space(&text, p->body_len < PREVIEW_SCAN - 64 ? p->body_len + 64 : PREVIEW_SCAN);
	(void)mime_part_text(p, collect_cb, &text);
	r = mime_preview_text(buf_str(&text), text.len, html, PREVIEW_CHARS, out);
	buf_clear(&text);
	return r;
}

/* ---- reducing the text ---- */

struct pv {
	struct buf	*out;
	size_t		 max, chars;
	bool		 space;		/* a space is pending (only written before more text) */
	bool		 full;		/* max reached or out full */
	int		 err;
};

/* Append code point cp as UTF-8 and count it. */
static void
put_cp(struct pv *v, uint32_t cp)
{
	char	u[4];
	int	rc;

	/* ASCII, nearly all of it: no encoding step, no memcpy of one byte */
	if (cp < 0x80)
		rc = buf_addc(v->out, (char)cp);
	else
		rc = buf_add(v->out, u, str_utf8_put(cp, u));
	if (rc < 0) {
		v->full = true;
		v->err = -1;
		return;
	}
	if (++v->chars >= v->max)
		v->full = true;
}

/* Write the pending space before more text; false when the text stops there. */
static bool
pending_space(struct pv *v)
{
	if (!v->space)
		return true;
	v->space = false;
	/* no trailing space when the cut falls right after it */
	if (v->chars + 1 >= v->max) {
		v->full = true;
		return false;
	}
	put_cp(v, ' ');
	return !v->full;
}

/* Text code point cp: white space and controls collapse into one pending space. */
static void
emit(struct pv *v, uint32_t cp)
{
	if (v->full)
		return;
	if (cp < 0x20 || cp == 0x7f || cp == ' ' || cp == 0xa0 || (cp >= 0x80 && cp < 0xa0) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0x200b || cp == 0xfeff) {
		v->space = v->chars > 0;
		return;
	}
	if (pending_space(v))
		put_cp(v, cp);
}

/* The code point at s[*i]; a byte that starts no valid sequence gives U+FFFD. */
static uint32_t
next_cp(const unsigned char *s, size_t len, size_t *i)
{
	int32_t	cp = str_utf8_next(s, len, i);

	if (cp >= 0)
		return (uint32_t)cp;
	(*i)++;
	return 0xfffd;
}

/* HTML entity at s[i] ('&'): its code point and length, or 0 when not one. */
static size_t
entity(const char *s, size_t len, size_t i, uint32_t *cp_r)
{
	static const struct {
		const char	*name;
		uint32_t	 cp;
	} named[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
		{ "nbsp", 0xa0 }, { "copy", 0xa9 }, { "reg", 0xae }, { "hellip", 0x2026 },
		{ "mdash", 0x2014 }, { "ndash", 0x2013 }, { "rsquo", 0x2019 }, { "lsquo", 0x2018 },
		{ "rdquo", 0x201d }, { "ldquo", 0x201c }, { "euro", 0x20ac }, { "zwnj", 0x200b },
	};
	size_t		j = i + 1, k;
	uint32_t	v = 0;
	bool		hex;

	if (j < len && s[j] == '#') {
		hex = ++j < len && (s[j] == 'x' || s[j] == 'X');
		j += hex;
		for (k = j; k < len && k < j + 8; k++) {
			int d = s[k] >= '0' && s[k] <= '9' ? s[k] - '0' :
			    hex && s[k] >= 'a' && s[k] <= 'f' ? s[k] - 'a' + 10 :
			    hex && s[k] >= 'A' && s[k] <= 'F' ? s[k] - 'A' + 10 : -1;
			if (d < 0)
				break;
			v = v * (hex ? 16 : 10) + (uint32_t)d;
		}
		if (k == j)
			return 0;
		*cp_r = v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ? 0xfffd : v;
		return (k < len && s[k] == ';' ? k + 1 : k) - i;
	}
	for (k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
		size_t n = strlen(named[k].name);

		if (j + n < len && s[j + n] == ';' && strncasecmp(s + j, named[k].name, n) == 0) {
			*cp_r = named[k].cp;
			return n + 2;
		}
	}
	return 0;
}

/* Tag at s[i] ('<'): its end (past '>'), and whether it opens a skipped block. */
static size_t
tag_end(const char *s, size_t len, size_t i, const char **skip_r)
{
	static const char *const blocks[] = { "style", "script", "head", "title" };
	const char	*gt;
	size_t		 k, n;

	*skip_r = NULL;
	if (i + 4 <= len && memcmp(s + i, "<!--", 4) == 0) {
		const char *e = memmem(s + i + 4, len - i - 4, "-->", 3);

		return e != NULL ? (size_t)(e - s) + 3 : len;
	}
	gt = memchr(s + i, '>', len - i);
	for (k = 0; k < sizeof(blocks) / sizeof(blocks[0]); k++) {
		n = strlen(blocks[k]);
		if (i + 1 + n < len && strncasecmp(s + i + 1, blocks[k], n) == 0 &&
		    (s[i + 1 + n] == '>' || s[i + 1 + n] == ' ' || s[i + 1 + n] == '\t' ||
		    s[i + 1 + n] == '\r' || s[i + 1 + n] == '\n' || s[i + 1 + n] == '/'))
			*skip_r = blocks[k];
	}
	return gt != NULL ? (size_t)(gt - s) + 1 : len;
}

/* Past the "</name ...>" closing a skipped block (len when unclosed). */
static size_t
block_end(const char *s, size_t len, size_t i, const char *name)
{
	size_t	n = strlen(name);
	const char *gt;

	for (; i + 2 + n <= len; i++) {
		if (s[i] == '<' && s[i + 1] == '/' && strncasecmp(s + i + 2, name, n) == 0) {
			gt = memchr(s + i, '>', len - i);
			return gt != NULL ? (size_t)(gt - s) + 1 : len;
		}
	}
	return len;
}

/*
 * A run of printable ASCII with single spaces inside (most of any text):
 * what emit() would do code point by code point, with one append.  When
 * that append does not fit, the code points go one by one, to stop where
 * emit() stops.
 */
static void
emit_run(struct pv *v, const char *s, size_t n)
{
	size_t	i, k;

	if (v->full || !pending_space(v))
		return;
	k = n < v->max - v->chars ? n : v->max - v->chars;
	/* cut right after a space: emit() leaves that space out */
	if (buf_add(v->out, s, k < n && s[k - 1] == ' ' ? k - 1 : k) == 0) {
		if (k < n && s[k - 1] == ' ') {
			v->chars += k - 1;
			v->full = true;
		} else if ((v->chars += k) >= v->max)
			v->full = true;
		return;
	}
	for (i = 0; i < n && !v->full; i++)
		emit(v, (unsigned char)s[i]);
}

static bool
run_byte(char c, bool html)
{
	return c > ' ' && c < 0x7f && !(html && (c == '<' || c == '&'));
}

/*
 * Bytes from s[i] on that emit_run() can take: printable ASCII (not
 * markup in HTML), and single spaces between such bytes.
 */
static size_t
run_len(const char *s, size_t len, size_t i, bool html)
{
	size_t	j = i;

	while (j < len && run_byte(s[j], html)) {
		j++;
		if (j + 1 < len && s[j] == ' ' && run_byte(s[j + 1], html))
			j++;
	}
	return j - i;
}

int
mime_preview_text(const char *s, size_t len, bool html, size_t max, struct buf *out)
{
	struct pv	 v = { out, max, 0, false, max == 0, 0 };
	const char	*skip;
	uint32_t	 cp;
	size_t		 i = 0, n;

	while (i < len && !v.full) {
		if (html && s[i] == '<') {
			i = tag_end(s, len, i, &skip);
			if (skip != NULL)
				i = block_end(s, len, i, skip);
			/* a tag separates words (<br>, </p>, </td>) */
			v.space = v.chars > 0;
			continue;
		}
		if (html && s[i] == '&' && (n = entity(s, len, i, &cp)) > 0) {
			emit(&v, cp);
			i += n;
			continue;
		}
		if ((n = run_len(s, len, i, html)) > 0) {
			emit_run(&v, s + i, n);
			i += n;
			continue;
		}
		emit(&v, next_cp((const unsigned char *)s, len, &i));
	}
	return v.err;
}
