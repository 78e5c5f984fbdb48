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
		/* RFC 5322 2.2.3: lines starting with WSP continue the field. */
		while (end < it->len && (d[end] == ' ' || d[end] == '\t'))
			end = line_end(d, it->len, end);
		it->pos = end;
		if (d[start] == ' ' || d[start] == '\t')
			continue;	/* continuation without a field */
		n = line_end(d, it->len, start) - start;
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

/* --- address lists (RFC 5322 3.4, obsolete forms 4.4) --- */

enum tok_kind { T_END, T_WORD, T_SPECIAL };

struct addr_lexer {
	const char	*s;
	size_t		 len, pos;
	struct buf	 tok;		/* text of the current word */
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

static void
lex_next(struct addr_lexer *lx)
{
	char	c;

	lx->space_before = false;
	buf_reset(&lx->tok);
	for (;;) {
		if (lx->pos >= lx->len) {
			lx->kind = T_END;
			return;
		}
		c = lx->s[lx->pos];
		if (is_wsp(c)) {
			lx->pos++;
			lx->space_before = true;
		} else if (c == '(') {
			lex_comment(lx);
			lx->space_before = true;
		} else
			break;
	}
	if (c == '"') {
		lx->pos++;
		while (lx->pos < lx->len && lx->s[lx->pos] != '"') {
			if (lx->s[lx->pos] == '\\' && lx->pos + 1 < lx->len)
				lx->pos++;
			truncating(buf_addc(&lx->tok, lx->s[lx->pos++]));
		}
		lx->pos++;	/* closing quote (or past the end) */
		lx->kind = T_WORD;
		return;
	}
	if (c == '[') {		/* domain literal, kept with its brackets */
		while (lx->pos < lx->len && lx->s[lx->pos] != ']') {
			if (lx->s[lx->pos] == '\\' && lx->pos + 1 < lx->len)
				lx->pos++;
			truncating(buf_addc(&lx->tok, lx->s[lx->pos++]));
		}
		truncating(buf_addc(&lx->tok, ']'));
		lx->pos++;
		lx->kind = T_WORD;
		return;
	}
	if (c != '\0' && strchr("<>@,;:.", c) != NULL) {
		lx->pos++;
		lx->kind = T_SPECIAL;
		lx->special = c;
		return;
	}
	while (lx->pos < lx->len) {
		c = lx->s[lx->pos];
		if (is_wsp(c) || (c != '\0' && strchr("()<>@,;:.\"[]", c) != NULL))
			break;
		truncating(buf_addc(&lx->tok, c));
		lx->pos++;
	}
	if (lx->tok.len == 0) {	/* a stray ')' or ']' */
		lx->pos++;
		lx->kind = T_SPECIAL;
		lx->special = c;
		return;
	}
	lx->kind = T_WORD;
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
		t = lx->kind == T_WORD ? (lx->tok.data ? lx->tok.data : "") : ".";
		n = lx->kind == T_WORD ? lx->tok.len : 1;
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

/* After '<': [route ":"] local "@" domain ">" (RFC 5322 4.4 obs-angle-addr). */
static void
parse_angle(struct addr_lexer *lx, struct addr_list *l, char *name)
{
	struct buf	adl, local, domain;

	buf_init(&adl, HDR_VALUE_MAX);
	buf_init(&local, HDR_VALUE_MAX);
	buf_init(&domain, HDR_VALUE_MAX);
	lex_next(lx);
	if (lex_is(lx, '@')) {
		/* obs-route: "@a,@b:" kept as the IMAP adl */
		while (lx->kind != T_END && !lex_is(lx, ':') && !lex_is(lx, '>')) {
			if (lx->kind == T_WORD)
				truncating(buf_add(&adl, lx->tok.data, lx->tok.len));
			else
				truncating(buf_addc(&adl, lx->special));
			lex_next(lx);
		}
		if (lex_is(lx, ':'))
			lex_next(lx);
	}
	lex_collect(lx, &local, false);
	if (lex_is(lx, '@')) {
		lex_next(lx);
		lex_collect(lx, &domain, false);
	}
	/* skip whatever is left up to '>' */
	while (lx->kind != T_END && !lex_is(lx, '>'))
		lex_next(lx);
	if (lex_is(lx, '>'))
		lex_next(lx);
	if (local.len == 0 && domain.len == 0 && adl.len == 0) {
		/* "<>": the null path; keep it as an empty mailbox */
		addr_push(l, name, NULL, xstrdup(""), xstrdup(""));
	} else
		addr_push(l, name, dup_or_null(&adl),
		    local.len ? dup_or_null(&local) : xstrdup("MISSING_MAILBOX"),
		    domain.len ? dup_or_null(&domain) : xstrdup("MISSING_DOMAIN"));
	buf_clear(&adl);
	buf_clear(&local);
	buf_clear(&domain);
}

size_t
hdr_parse_addresses(const char *value, size_t len, size_t max,
    struct hdr_addr **addrs_r)
{
	struct addr_lexer	lx;
	struct addr_list	l = { NULL, 0, max };
	struct buf		unf, phrase, local, domain;
	bool			in_group = false;
	char			*name;

	buf_init(&unf, HDR_VALUE_MAX);
	(void)hdr_unfold(value, len, &unf);
	memset(&lx, 0, sizeof(lx));
	lx.s = unf.data ? unf.data : "";
	lx.len = unf.len;
	buf_init(&lx.tok, HDR_VALUE_MAX);
	buf_init(&lx.comment, HDR_VALUE_MAX);
	buf_init(&phrase, HDR_VALUE_MAX);
	buf_init(&local, HDR_VALUE_MAX);
	buf_init(&domain, HDR_VALUE_MAX);
	lex_next(&lx);
	while (lx.kind != T_END && l.n < max) {
		buf_reset(&phrase);
		buf_reset(&lx.comment);
		buf_reset(&local);
		buf_reset(&domain);
		/* the phrase keeps its words as written, local parts do not */
		lex_collect2(&lx, &phrase, &local);
		if (lex_is(&lx, ':') && !in_group) {
			addr_push(&l, NULL, NULL, dup_or_null(&phrase), NULL);
			in_group = true;
			lex_next(&lx);
		} else if (lex_is(&lx, '<')) {
			parse_angle(&lx, &l, dup_or_null(&phrase));
		} else if (lex_is(&lx, '@')) {
			lex_next(&lx);
			lex_collect(&lx, &domain, false);
			name = lx.comment.len ? dup_or_null(&lx.comment) : NULL;
			addr_push(&l, name, NULL,
			    local.len ? dup_or_null(&local) : xstrdup("MISSING_MAILBOX"),
			    domain.len ? dup_or_null(&domain) : xstrdup("MISSING_DOMAIN"));
		} else if (phrase.len > 0) {
			/* a bare word: a mailbox without domain */
			addr_push(&l, lx.comment.len ? dup_or_null(&lx.comment) : NULL,
			    NULL, dup_or_null(&phrase), xstrdup("MISSING_DOMAIN"));
		}
		/* anything up to the next separator is junk */
		while (lx.kind != T_END && !lex_is(&lx, ',') && !lex_is(&lx, ';') &&
		    !lex_is(&lx, '<') && lx.kind != T_WORD)
			lex_next(&lx);
		if (lex_is(&lx, ';')) {
			if (in_group)
				addr_push(&l, NULL, NULL, NULL, NULL);
			in_group = false;
			lex_next(&lx);
		} else if (lex_is(&lx, ','))
			lex_next(&lx);
	}
	if (in_group) {
		/* unterminated group: close it so clients see balanced markers */
		if (l.n >= max && max > 0) {
			struct hdr_addr *last = &l.v[--l.n];

			free(last->name);
			free(last->adl);
			free(last->mailbox);
			free(last->host);
		}
		addr_push(&l, NULL, NULL, NULL, NULL);
	}
	buf_clear(&unf);
	buf_clear(&lx.tok);
	buf_clear(&lx.comment);
	buf_clear(&phrase);
	buf_clear(&local);
	buf_clear(&domain);
	*addrs_r = l.v;
	return l.n;
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
