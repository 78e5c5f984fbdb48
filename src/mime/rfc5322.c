/*
 * RFC 5322 header fields and address lists (see rfc5322.h).  Field
 * iteration works on the caller's bytes; only unfolded values and parsed
 * addresses are copied, and those are capped at HDR_VALUE_MAX.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "mime/rfc5322.h"

/* Appends to buffers capped at HDR_VALUE_MAX may fail: the text is then cut short, on purpose. */
static inline void
truncating(int r)
{
	(void)r;
}

/* Length of the empty line at p (CRLF or LF), or 0 if it is not empty. */
static size_t
empty_line(const char *p, size_t left)
{
	if (left >= 1 && p[0] == '\n')
		return 1;
	if (left >= 2 && p[0] == '\r' && p[1] == '\n')
		return 2;
	return 0;
}

/* Offset just past the LF ending the line that starts at pos (or len). */
static size_t
line_end(const char *data, size_t len, size_t pos)
{
	const char *nl = memchr(data + pos, '\n', len - pos);

	return nl ? (size_t)(nl - data) + 1 : len;
}

size_t
hdr_block_len(const char *data, size_t len)
{
	size_t pos = 0, e;

	while (pos < len) {
		if ((e = empty_line(data + pos, len - pos)) != 0)
			return pos + e;
		pos = line_end(data, len, pos);
	}
	return len;
}

void
hdr_iter_init(struct hdr_iter *it, const char *data, size_t len)
{
	it->data = data;
	it->len = len;
	it->pos = 0;
}

int
hdr_next(struct hdr_iter *it, struct hdr_field *f_r)
{
	const char	*d = it->data;
	const char	*colon;
	size_t		 start, end, vend, n;

	while (it->pos < it->len) {
		start = it->pos;
		if (empty_line(d + start, it->len - start))
			return 0;
		end = line_end(d, it->len, start);
		n = end - start;	/* the first line, where the colon is */
		/* RFC 5322 2.2.3: lines starting with WSP continue the field. */
		while (end < it->len && (d[end] == ' ' || d[end] == '\t'))
			end = line_end(d, it->len, end);
		it->pos = end;
		if (d[start] == ' ' || d[start] == '\t')
			continue;	/* continuation without a field */
		if ((colon = memchr(d + start, ':', n)) == NULL)
			continue;	/* not a field: skip, best effort */
		f_r->name = d + start;
		f_r->name_len = (size_t)(colon - f_r->name);
		/* RFC 5322 4.5: obsolete WSP between name and colon */
		while (f_r->name_len > 0 && (f_r->name[f_r->name_len - 1] == ' ' ||
		    f_r->name[f_r->name_len - 1] == '\t'))
			f_r->name_len--;
		vend = end;
		if (vend > start && d[vend - 1] == '\n')
			vend--;
		if (vend > start && d[vend - 1] == '\r')
			vend--;
		f_r->value = colon + 1;
		f_r->value_len = vend > (size_t)(f_r->value - d) ?
		    vend - (size_t)(f_r->value - d) : 0;
		f_r->off = start;
		f_r->len = end - start;
		return 1;
	}
	return 0;
}

bool
hdr_find(const char *data, size_t len, const char *name, struct hdr_field *f_r)
{
	struct hdr_iter	it;

	hdr_iter_init(&it, data, len);
	while (hdr_next(&it, f_r) == 1)
		if (str_ieq(f_r->name, f_r->name_len, name))
			return true;
	return false;
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
hdr_unfold(const char *value, size_t len, struct buf *out)
{
	size_t	i, start;

	if (len > HDR_VALUE_MAX)
		len = HDR_VALUE_MAX;
	while (len > 0 && is_wsp(value[len - 1]))
		len--;
	for (i = 0; i < len && is_wsp(value[i]); i++)
		;
	while (i < len) {
		start = i;
		while (i < len && value[i] != '\r' && value[i] != '\n' && value[i] != '\0')
			i++;
		if (i > start && buf_add(out, value + start, i - start) < 0)
			return -1;
		i++;	/* skip the CR, LF or NUL */
	}
	return 0;
}

const char *
hdr_unfold_view(const char *value, size_t len, struct buf *scratch, size_t *len_r)
{
	size_t	i;

	if (len > HDR_VALUE_MAX)
		len = HDR_VALUE_MAX;
	for (i = 0; i < len; i++)
		if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0')
			break;
	if (i < len) {
		(void)hdr_unfold(value, len, scratch);
		*len_r = scratch->len;
		return buf_str(scratch);
	}
	/* one line, nothing to drop: hdr_unfold() would only trim it */
	while (len > 0 && is_wsp(value[len - 1]))
		len--;
	for (i = 0; i < len && is_wsp(value[i]); i++)
		;
	*len_r = len - i;
	return value + i;
}

/* --- address lists (RFC 5322 3.4, obsolete forms 4.4) --- */

enum tok_kind { T_END, T_WORD, T_SPECIAL };

/*
 * Character classes of the lexer, one table look-up a byte instead of
 * strchr() calls: atom text, white space, the specials that are tokens of
 * their own, and the ones that open or close something.
 */
enum { LC_ATOM, LC_WSP, LC_SPECIAL, LC_BRACKET };

static const unsigned char lex_class[256] = {
	['\t'] = LC_WSP, ['\n'] = LC_WSP, ['\r'] = LC_WSP, [' '] = LC_WSP,
	['<'] = LC_SPECIAL, ['>'] = LC_SPECIAL, ['@'] = LC_SPECIAL, [','] = LC_SPECIAL,
	[';'] = LC_SPECIAL, [':'] = LC_SPECIAL, ['.'] = LC_SPECIAL,
	['('] = LC_BRACKET, [')'] = LC_BRACKET, ['"'] = LC_BRACKET, ['['] = LC_BRACKET,
	[']'] = LC_BRACKET,
};

struct addr_lexer {
	const char	*s;
	size_t		 len, pos;
	const char	*t;		/* text of the current word: in s, or tok's */
	size_t		 n;
	struct buf	 tok;		/* a word that is not a run of s (escapes) */
	struct buf	 comment;	/* last comment seen */
	enum tok_kind	 kind;
	char		 special;
	bool		 space_before;	/* white space or comment before it */
};

/* Skip a (nested) comment starting at s[pos] == '(', remembering its text. */
static void
lex_comment(struct addr_lexer *lx)
{
	int	depth = 0;
	char	c;

	buf_reset(&lx->comment);
	while (lx->pos < lx->len) {
		c = lx->s[lx->pos++];
		if (c == '\\' && lx->pos < lx->len) {
			truncating(buf_addc(&lx->comment, lx->s[lx->pos++]));
			continue;
		}
		if (c == '(') {
			if (depth++ == 0)
				continue;
		} else if (c == ')') {
			if (--depth == 0)
				return;
		}
		truncating(buf_addc(&lx->comment, c));
	}
}

/*
 * The rest of a quoted string or domain literal from lx->pos (its opening
 * byte for a literal, which is kept), through tok, byte by byte: the form
 * with escapes or without its closing byte.  A backslash takes the byte
 * after it; one at the very end stays.
 */
static void
lex_escaped(struct addr_lexer *lx, char close)
{
	while (lx->pos < lx->len && lx->s[lx->pos] != close) {
		if (lx->s[lx->pos] == '\\' && lx->pos + 1 < lx->len)
			lx->pos++;
		truncating(buf_addc(&lx->tok, lx->s[lx->pos++]));
	}
}

/* Where a quoted string or domain literal from s[from] ends: at close, or at a backslash. */
static size_t
lex_span(const struct addr_lexer *lx, size_t from, char close)
{
	size_t	i;

	for (i = from; i < lx->len && lx->s[i] != close && lx->s[i] != '\\'; i++)
		;
	return i;
}

static void
lex_next(struct addr_lexer *lx)
{
	const char	*s = lx->s;
	size_t		 start, e;
	unsigned char	 c;

	lx->space_before = false;
	lx->t = "";
	lx->n = 0;
	for (;;) {
		if (lx->pos >= lx->len) {
			lx->kind = T_END;
			return;
		}
		c = (unsigned char)s[lx->pos];
		if (lex_class[c] == LC_WSP) {
			lx->pos++;
			lx->space_before = true;
		} else if (c == '(') {
			lex_comment(lx);
			lx->space_before = true;
		} else
			break;
	}
	lx->kind = T_WORD;
	start = lx->pos;
	if (c == '"') {
		/* nearly always a run of s up to the closing quote */
		if ((e = lex_span(lx, ++start, '"')) >= lx->len || s[e] == '"') {
			lx->t = s + start;
			lx->n = e - start;
			lx->pos = e + 1;	/* closing quote (or past the end) */
			return;
		}
		buf_reset(&lx->tok);
		lx->pos = start;
		lex_escaped(lx, '"');
		lx->pos++;
	} else if (c == '[') {
		/* domain literal, kept with its brackets */
		if ((e = lex_span(lx, start, ']')) < lx->len && s[e] == ']') {
			lx->t = s + start;
			lx->n = e + 1 - start;
			lx->pos = e + 1;
			return;
		}
		buf_reset(&lx->tok);
		lex_escaped(lx, ']');
		truncating(buf_addc(&lx->tok, ']'));
		lx->pos++;
	} else if (lex_class[c] == LC_SPECIAL) {
		lx->pos++;
		lx->kind = T_SPECIAL;
		lx->special = (char)c;
		return;
	} else {
		while (lx->pos < lx->len && lex_class[(unsigned char)s[lx->pos]] == LC_ATOM)
			lx->pos++;
		if (lx->pos == start) {	/* a stray ')' or ']' */
			lx->pos++;
			lx->kind = T_SPECIAL;
			lx->special = (char)c;
			return;
		}
		lx->t = s + start;
		lx->n = lx->pos - start;
		return;
	}
	lx->t = buf_str(&lx->tok);
	lx->n = lx->tok.len;
}

static bool
lex_is(const struct addr_lexer *lx, char special)
{
	return lx->kind == T_SPECIAL && lx->special == special;
}

/*
 * Collect words and dots: into phrase with spaces where the input had
 * white space (display names), into local without (local parts, domains).
 * Either may be NULL.
 */
static void
lex_collect2(struct addr_lexer *lx, struct buf *phrase, struct buf *local)
{
	const char	*t;
	size_t		 n;

	while (lx->kind == T_WORD || lex_is(lx, '.')) {
		t = lx->kind == T_WORD ? lx->t : ".";
		n = lx->kind == T_WORD ? lx->n : 1;
		if (phrase != NULL) {
			if (lx->space_before && phrase->len > 0)
				truncating(buf_addc(phrase, ' '));
			truncating(buf_add(phrase, t, n));
		}
		if (local != NULL)
			truncating(buf_add(local, t, n));
		lex_next(lx);
	}
}

static void
lex_collect(struct addr_lexer *lx, struct buf *out, bool spaces)
{
	lex_collect2(lx, spaces ? out : NULL, spaces ? NULL : out);
}

static char *
dup_or_null(const struct buf *b)
{
	return b->len ? xstrndup(b->data, b->len) : NULL;
}

struct addr_list {
	struct hdr_addr	*v;
	size_t		 n, max;
};

static void
addr_push(struct addr_list *l, char *name, char *adl, char *mailbox, char *host)
{
	struct hdr_addr *a;

	if (l->n >= l->max) {
		free(name);
		free(adl);
		free(mailbox);
		free(host);
		return;
	}
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	a = &l->v[l->n++];
	a->name = name;
	a->adl = adl;
	a->mailbox = mailbox;
	a->host = host;
}

/* Scratch of one address-list parse, reused from address to address. */
struct addr_parse {
	struct addr_lexer	 lx;
	struct addr_list	 l;
	struct buf		 phrase, local, domain, adl;
};

/* After '<': [route ":"] local "@" domain ">" (RFC 5322 4.4 obs-angle-addr). */
static void
parse_angle(struct addr_parse *ap, char *name)
{
	struct addr_lexer	*lx = &ap->lx;

	buf_reset(&ap->adl);
	buf_reset(&ap->local);
	buf_reset(&ap->domain);
	lex_next(lx);
	if (lex_is(lx, '@')) {
		/* obs-route: "@a,@b:" kept as the IMAP adl */
		while (lx->kind != T_END && !lex_is(lx, ':') && !lex_is(lx, '>')) {
			if (lx->kind == T_WORD)
				truncating(buf_add(&ap->adl, lx->t, lx->n));
			else
				truncating(buf_addc(&ap->adl, lx->special));
			lex_next(lx);
		}
		if (lex_is(lx, ':'))
			lex_next(lx);
	}
	lex_collect(lx, &ap->local, false);
	if (lex_is(lx, '@')) {
		lex_next(lx);
		lex_collect(lx, &ap->domain, false);
	}
	/* skip whatever is left up to '>' */
	while (lx->kind != T_END && !lex_is(lx, '>'))
		lex_next(lx);
	if (lex_is(lx, '>'))
		lex_next(lx);
	if (ap->local.len == 0 && ap->domain.len == 0 && ap->adl.len == 0) {
		/* "<>": the null path; keep it as an empty mailbox */
		addr_push(&ap->l, name, NULL, xstrdup(""), xstrdup(""));
	} else
		addr_push(&ap->l, name, dup_or_null(&ap->adl),
		    ap->local.len ? dup_or_null(&ap->local) : xstrdup("MISSING_MAILBOX"),
		    ap->domain.len ? dup_or_null(&ap->domain) : xstrdup("MISSING_DOMAIN"));
}

/* The lexer's input: the value unfolded (no copy for a one-line value). */
static void
lex_input(struct addr_lexer *lx, const char *value, size_t len, struct buf *unf)
{
	lx->s = hdr_unfold_view(value, len, unf, &lx->len);
}

size_t
hdr_parse_addresses(const char *value, size_t len, size_t max,
    struct hdr_addr **addrs_r)
{
	struct addr_parse	 ap;
	struct addr_lexer	*lx = &ap.lx;
	struct buf		 unf;
	bool			 in_group = false;
	char			*name;

	memset(&ap, 0, sizeof(ap));
	ap.l.max = max;
	buf_init(&unf, HDR_VALUE_MAX);
	lex_input(lx, value, len, &unf);
	buf_init(&lx->tok, HDR_VALUE_MAX);
	buf_init(&lx->comment, HDR_VALUE_MAX);
	buf_init(&ap.phrase, HDR_VALUE_MAX);
	buf_init(&ap.local, HDR_VALUE_MAX);
	buf_init(&ap.domain, HDR_VALUE_MAX);
	buf_init(&ap.adl, HDR_VALUE_MAX);
	lex_next(lx);
	while (lx->kind != T_END && ap.l.n < max) {
		buf_reset(&ap.phrase);
		buf_reset(&lx->comment);
		buf_reset(&ap.local);
		buf_reset(&ap.domain);
		/* the phrase keeps its words as written, local parts do not */
		lex_collect2(lx, &ap.phrase, &ap.local);
		if (lex_is(lx, ':') && !in_group) {
			addr_push(&ap.l, NULL, NULL, dup_or_null(&ap.phrase), NULL);
			in_group = true;
			lex_next(lx);
		} else if (lex_is(lx, '<')) {
			parse_angle(&ap, dup_or_null(&ap.phrase));
		} else if (lex_is(lx, '@')) {
			lex_next(lx);
			lex_collect(lx, &ap.domain, false);
			name = lx->comment.len ? dup_or_null(&lx->comment) : NULL;
			addr_push(&ap.l, name, NULL,
			    ap.local.len ? dup_or_null(&ap.local) : xstrdup("MISSING_MAILBOX"),
			    ap.domain.len ? dup_or_null(&ap.domain) : xstrdup("MISSING_DOMAIN"));
		} else if (ap.phrase.len > 0) {
			/* a bare word: a mailbox without domain */
			addr_push(&ap.l, lx->comment.len ? dup_or_null(&lx->comment) : NULL,
			    NULL, dup_or_null(&ap.phrase), xstrdup("MISSING_DOMAIN"));
		}
		/* anything up to the next separator is junk */
		while (lx->kind != T_END && !lex_is(lx, ',') && !lex_is(lx, ';') &&
		    !lex_is(lx, '<') && lx->kind != T_WORD)
			lex_next(lx);
		if (lex_is(lx, ';')) {
			if (in_group)
				addr_push(&ap.l, NULL, NULL, NULL, NULL);
			in_group = false;
			lex_next(lx);
		} else if (lex_is(lx, ','))
			lex_next(lx);
	}
	if (in_group) {
		/* unterminated group: close it so clients see balanced markers */
		if (ap.l.n >= max && max > 0) {
			struct hdr_addr *last = &ap.l.v[--ap.l.n];

			free(last->name);
			free(last->adl);
			free(last->mailbox);
			free(last->host);
		}
		addr_push(&ap.l, NULL, NULL, NULL, NULL);
	}
	buf_clear(&unf);
	buf_clear(&lx->tok);
	buf_clear(&lx->comment);
	buf_clear(&ap.phrase);
	buf_clear(&ap.local);
	buf_clear(&ap.domain);
	buf_clear(&ap.adl);
	*addrs_r = ap.l.v;
	return ap.l.n;
}

void
hdr_addrs_free(struct hdr_addr **addrs, size_t n)
{
	size_t	i;

	if (*addrs == NULL)
		return;
	for (i = 0; i < n; i++) {
		free((*addrs)[i].name);
		free((*addrs)[i].adl);
		free((*addrs)[i].mailbox);
		free((*addrs)[i].host);
	}
	xfree(addrs);
}
