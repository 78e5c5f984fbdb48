/*
 * MIME structure parser (see mime.h): one pass over the lines of the
 * message with a stack of open entities.  A line starting with "--" is
 * checked against the boundaries of the open multiparts, innermost first
 * (RFC 2046 5.1.1); a match ends every entity above that multipart, so
 * an inner part that forgot its close delimiter is closed by the outer
 * one.  The CRLF before a delimiter belongs to the delimiter, so a part's
 * body ends before it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "mime/mime.h"
#include "mime/rfc2047.h"
#include "mime/rfc5322.h"

enum frame_state {
	FS_HEADER,		/* reading the part's header */
	FS_BODY,		/* leaf body */
	FS_MULTI,		/* multipart: preamble or between parts */
	FS_EPILOGUE,		/* multipart after its close delimiter */
	FS_MESSAGE,		/* message/rfc822: its child is above */
};

struct frame {
	struct mime_part	*part;
	enum frame_state	 state;
	const char		*boundary;	/* FS_MULTI: borrowed from params */
	size_t			 blen;
	size_t			 lf_at_body;	/* LFs before the body start */
	struct mime_part	*last;		/* last child so far */
};

struct parser {
	const char		*data;
	size_t			 len;
	struct frame		 stack[2 * MIME_MAX_DEPTH + 4];
	size_t			 nstack;
	size_t			 nparts;
};

/* New part after *last (the parent's last child, NULL for the first). */
static struct mime_part *
part_new(struct parser *ps, struct mime_part *parent, struct mime_part **last,
    size_t hdr_off)
{
	struct mime_part *p = xcalloc(1, sizeof(*p));

	p->data = ps->data;
	p->hdr_off = hdr_off;
	p->parent = parent;
	if (parent != NULL) {
		p->depth = parent->depth + 1;
		if (*last == NULL)
			parent->children = p;
		else
			(*last)->next = p;
		*last = p;
		parent->nchildren++;
	}
	ps->nparts++;
	return p;
}

static void
push(struct parser *ps, struct mime_part *p, enum frame_state st)
{
	struct frame *f = &ps->stack[ps->nstack++];

	memset(f, 0, sizeof(*f));
	f->part = p;
	f->state = st;
}

static char *
unfolded(const struct hdr_field *f)
{
	struct buf	b;

	buf_init(&b, HDR_VALUE_MAX);
	(void)hdr_unfold(f->value, f->value_len, &b);
	return buf_take(&b, NULL);
}

/* First white-space-delimited word (Content-Transfer-Encoding). */
static char *
first_word(const struct hdr_field *f)
{
	char	*s = unfolded(f), *e;

	for (e = s; *e != '\0' && *e != ' ' && *e != '\t' && *e != '(' && *e != ';'; e++)
		;
	*e = '\0';
	if (*s == '\0')
		xfree(&s);
	return s;
}

static void
set_type(struct mime_part *p, const struct hdr_field *f)
{
	char	*v = unfolded(f), *tok = NULL, *slash;
	char	*t0, *t1, *s0, *s1;

	p->nparams = mime_params_parse(v, strlen(v), &tok, &p->params);
	free(v);
	if (tok == NULL || (slash = strchr(tok, '/')) == NULL)
		goto bad;
	t0 = tok;
	t1 = slash;
	while (t1 > t0 && (t1[-1] == ' ' || t1[-1] == '\t'))
		t1--;
	s0 = slash + 1;
	while (*s0 == ' ' || *s0 == '\t')
		s0++;
	s1 = s0 + strcspn(s0, " \t(");
	if (t1 == t0 || s1 == s0)
		goto bad;
	p->type = xstrndup(t0, (size_t)(t1 - t0));
	p->subtype = xstrndup(s0, (size_t)(s1 - s0));
	free(tok);
	return;
bad:
	/* RFC 2045 5.2: an invalid Content-Type means text/plain us-ascii */
	free(tok);
	mime_params_free(&p->params, p->nparams);
	p->nparams = 0;
}

static void
set_disposition(struct mime_part *p, const struct hdr_field *f)
{
	char	*v = unfolded(f);

	p->ndisp_params = mime_params_parse(v, strlen(v), &p->disposition,
	    &p->disp_params);
	free(v);
	if (p->disposition == NULL)
		mime_params_free(&p->disp_params, p->ndisp_params);
	if (p->disposition == NULL)
		p->ndisp_params = 0;
}

static const char *
param_get(const struct mime_part *p, const char *name)
{
	size_t	i;

	for (i = 0; i < p->nparams; i++)
		if (strcasecmp(p->params[i].name, name) == 0)
			return p->params[i].value;
	return NULL;
}

static bool
ieq(const char *a, const char *b)
{
	return a != NULL && strcasecmp(a, b) == 0;
}

/* Header field f is named lit: the length first, most names differ there. */
#define FIELD_IS(f, lit) \
	((f)->name_len == sizeof(lit) - 1 && str_ieq((f)->name, (f)->name_len, (lit)))

/* Parse the MIME header of p (first occurrence of each field wins). */
static void
parse_header(struct mime_part *p)
{
	struct hdr_iter		 it;
	struct hdr_field	 f;
	const struct mime_part	*par = p->parent;

	hdr_iter_init(&it, p->data + p->hdr_off, p->hdr_len);
	while (hdr_next(&it, &f) == 1) {
		if (f.name_len < 8 || !str_iprefix(f.name, f.name_len, "content-"))
			continue;
		if (FIELD_IS(&f, "content-type") && p->type == NULL &&
		    p->nparams == 0)
			set_type(p, &f);
		else if (FIELD_IS(&f, "content-transfer-encoding") &&
		    p->encoding == NULL)
			p->encoding = first_word(&f);
		else if (FIELD_IS(&f, "content-id") && p->id == NULL)
			p->id = unfolded(&f);
		else if (FIELD_IS(&f, "content-description") &&
		    p->description == NULL)
			p->description = unfolded(&f);
		else if (FIELD_IS(&f, "content-md5") && p->md5 == NULL)
			p->md5 = unfolded(&f);
		else if (FIELD_IS(&f, "content-disposition") &&
		    p->disposition == NULL)
			set_disposition(p, &f);
		else if (FIELD_IS(&f, "content-language") &&
		    p->language == NULL)
			p->language = unfolded(&f);
		else if (FIELD_IS(&f, "content-location") &&
		    p->location == NULL)
			p->location = unfolded(&f);
	}
	if (p->type == NULL) {
		/* RFC 2046 5.1.5: parts of a digest default to message/rfc822 */
		if (par != NULL && (par->flags & MIME_F_MULTIPART) &&
		    ieq(par->subtype, "digest")) {
			p->type = xstrdup("message");
			p->subtype = xstrdup("rfc822");
		} else {
			p->type = xstrdup("text");
			p->subtype = xstrdup("plain");
		}
	}
	if (ieq(p->type, "text")) {
		p->flags |= MIME_F_TEXT;
		/* RFC 2045 5.2 default, spelled out as Dovecot does */
		if (param_get(p, "charset") == NULL) {
			p->params = xreallocarray(p->params, p->nparams + 1,
			    sizeof(*p->params));
			p->params[p->nparams].name = xstrdup("charset");
			p->params[p->nparams++].value = xstrdup("us-ascii");
		}
	}
}

static bool
is_container_type(const struct mime_part *p)
{
	return ieq(p->type, "multipart") ||
	    (ieq(p->type, "message") && ieq(p->subtype, "rfc822"));
}

/*
 * The header of the top frame ended at body_off: decide what the body is.
 * may_descend is false when the header was cut off by a boundary or EOF.
 */
static void
header_done(struct parser *ps, size_t body_off, size_t lf_at_body, bool may_descend)
{
	struct frame		*f = &ps->stack[ps->nstack - 1];
	struct mime_part	*p = f->part;
	const char		*b;
	bool			 room;

	p->hdr_len = body_off - p->hdr_off;
	p->body_off = body_off;
	f->lf_at_body = lf_at_body;
	f->state = FS_BODY;
	parse_header(p);
	room = may_descend && p->depth < MIME_MAX_DEPTH && ps->nparts < MIME_MAX_PARTS;
	if (ieq(p->type, "multipart") && (b = param_get(p, "boundary")) != NULL &&
	    *b != '\0' && room) {
		p->flags |= MIME_F_MULTIPART;
		f->state = FS_MULTI;
		f->boundary = b;
		f->blen = strlen(b);
	} else if (ieq(p->type, "message") && ieq(p->subtype, "rfc822") && room) {
		p->flags |= MIME_F_MESSAGE;
		f->state = FS_MESSAGE;
		push(ps, part_new(ps, p, &f->last, body_off), FS_HEADER);
		ps->stack[ps->nstack - 1].lf_at_body = lf_at_body;
	} else if (is_container_type(p))
		p->flags |= MIME_F_OPAQUE;
}

/*
 * Close the top frame; its part ends at end (before the line break that
 * precedes a delimiter, or the end of data).  lf_at_end counts the LFs in
 * data[0..end).
 */
static void
frame_close(struct parser *ps, size_t end, size_t lf_at_end)
{
	struct frame		*f = &ps->stack[ps->nstack - 1];
	struct mime_part	*p = f->part;

	if (f->state == FS_HEADER) {
		/* header cut short: it takes everything, the body is empty */
		if (end < p->hdr_off)
			end = p->hdr_off;
		header_done(ps, end, lf_at_end, false);
		f = &ps->stack[ps->nstack - 1];
	}
	if (end < p->body_off) {
		end = p->body_off;
		lf_at_end = f->lf_at_body;
	}
	p->body_len = end - p->body_off;
	p->body_lines = lf_at_end - f->lf_at_body;
	ps->nstack--;
}

/*
 * Does the line data[ls..le) (le past its LF) close a multipart on the
 * stack?  Returns the frame index or -1; *close_r for "--boundary--".
 */
static int
match_boundary(const struct parser *ps, size_t ls, size_t le, bool *close_r)
{
	const char	*l = ps->data + ls;
	size_t		 n = le - ls, i, k;
	int		 fi;

	while (n > 0 && (l[n - 1] == '\n' || l[n - 1] == '\r' || l[n - 1] == ' ' ||
	    l[n - 1] == '\t'))
		n--;
	for (fi = (int)ps->nstack - 1; fi >= 0; fi--) {
		const struct frame *f = &ps->stack[fi];

		/* a multipart frame stays FS_MULTI while its parts sit above it */
		if (f->state != FS_MULTI || n < 2 + f->blen ||
		    memcmp(l + 2, f->boundary, f->blen) != 0)
			continue;
		k = 2 + f->blen;
		*close_r = false;
		if (n - k >= 2 && l[k] == '-' && l[k + 1] == '-') {
			*close_r = true;
			k += 2;
		}
		/* RFC 2046 5.1.1: only white space may follow the boundary */
		for (i = k; i < n; i++)
			if (l[i] != ' ' && l[i] != '\t')
				break;
		if (i == n)
			return fi;
	}
	return -1;
}

/* A delimiter of the multipart in stack[fi] starts at ls. */
static void
on_delimiter(struct parser *ps, int fi, bool is_close, size_t ls, size_t le,
    size_t lf_at_ls, size_t lf_at_le)
{
	struct frame	*f;
	size_t		 end = ls, lf_end = lf_at_ls;

	/* the line break before the delimiter is part of it (RFC 2046 5.1.1) */
	if (end > 0 && ps->data[end - 1] == '\n') {
		end--;
		lf_end--;
		if (end > 0 && ps->data[end - 1] == '\r')
			end--;
	}
	while ((int)ps->nstack - 1 > fi)
		frame_close(ps, end, lf_end);
	f = &ps->stack[fi];
	if (is_close || ps->nparts >= MIME_MAX_PARTS) {
		/* past the part limit the rest is lumped into the epilogue */
		f->state = FS_EPILOGUE;
		return;
	}
	push(ps, part_new(ps, f->part, &f->last, le), FS_HEADER);
	ps->stack[ps->nstack - 1].lf_at_body = lf_at_le;
}

static bool
has_multi(const struct parser *ps)
{
	size_t	i;

	for (i = 0; i < ps->nstack; i++)
		if (ps->stack[i].state == FS_MULTI)
			return true;
	return false;
}

/*
 * The start of the next line after the one at from that begins with "--"
 * (len if none): a memchr for '-' rather than one for each line end.
 */
static size_t
next_dashes(const char *data, size_t from, size_t len)
{
	const char	*p = data + from, *end = data + len;

	while (p < end && (p = memchr(p, '-', (size_t)(end - p))) != NULL) {
		if (p > data + from && p[-1] == '\n' && p + 1 < end && p[1] == '-')
			return (size_t)(p - data);
		p++;
	}
	return len;
}

struct mime_part *
mime_parse(const char *data, size_t len)
{
	struct parser		 ps;
	struct mime_part	*root;
	const char		*nl;
	size_t			 pos = 0, le, lf = 0, lf_next;
	bool			 is_close;
	int			 fi;

	/* push() clears each frame it uses: not the whole stack (8 KB) */
	ps.data = data;
	ps.len = len;
	ps.nstack = 0;
	ps.nparts = 0;
	root = part_new(&ps, NULL, NULL, 0);
	push(&ps, root, FS_HEADER);
	while (pos < len) {
		if (ps.stack[ps.nstack - 1].state != FS_HEADER &&
		    !(len - pos >= 2 && data[pos] == '-' && data[pos + 1] == '-')) {
			/* in a body only a delimiter line can matter: skip to one, count the LFs */
			le = has_multi(&ps) ? next_dashes(data, pos, len) : len;
			lf += str_count(data + pos, le - pos, '\n');
			pos = le;
			continue;
		}
		nl = memchr(data + pos, '\n', len - pos);
		le = nl ? (size_t)(nl - data) + 1 : len;
		lf_next = lf + (nl ? 1 : 0);
		if (le - pos >= 2 && data[pos] == '-' && data[pos + 1] == '-' &&
		    has_multi(&ps) &&
		    (fi = match_boundary(&ps, pos, le, &is_close)) >= 0) {
			on_delimiter(&ps, fi, is_close, pos, le, lf, lf_next);
		} else if (ps.stack[ps.nstack - 1].state == FS_HEADER &&
		    (data[pos] == '\n' || (data[pos] == '\r' && le - pos == 2 && nl))) {
			header_done(&ps, le, lf_next, true);
		}
		pos = le;
		lf = lf_next;
	}
	while (ps.nstack > 0)
		frame_close(&ps, len, lf);
	return root;
}

static void
part_free_fields(struct mime_part *p)
{
	free(p->type);
	free(p->subtype);
	mime_params_free(&p->params, p->nparams);
	free(p->id);
	free(p->description);
	free(p->encoding);
	free(p->md5);
	free(p->disposition);
	mime_params_free(&p->disp_params, p->ndisp_params);
	free(p->language);
	free(p->location);
	free(p);
}

void
mime_free(struct mime_part **pp)
{
	struct mime_part	*p = *pp, *next;

	/* depth-first without recursion: descend, free leaves, climb */
	while (p != NULL) {
		if (p->children != NULL) {
			next = p->children;
			p->children = NULL;
			p = next;
			continue;
		}
		next = p->next != NULL ? p->next : p->parent;
		part_free_fields(p);
		p = next;
	}
	*pp = NULL;
}
