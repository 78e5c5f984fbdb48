/*
 * Sequence sets; see seqset.h.  Parsing is strict: nz-number has no
 * leading zero and fits 32 bits (RFC 9051 9: nz-number, seq-number),
 * and neither an empty element nor a trailing ":" or "," is accepted.
 */
#include <stdlib.h>
#include <string.h>

#include "imap/seqset.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

void
seqset_init(struct seqset *s)
{
	memset(s, 0, sizeof(*s));
}

void
seqset_clear(struct seqset *s)
{
	free(s->r);
	seqset_init(s);
}

void
seqset_reset(struct seqset *s)
{
	s->n = 0;
	s->saved = false;
}

void
seqset_copy(struct seqset *dst, const struct seqset *src)
{
	size_t i;

	seqset_reset(dst);
	for (i = 0; i < src->n; i++)
		seqset_add_range(dst, src->r[i].lo, src->r[i].hi);
}

static void
push(struct seqset *s, uint32_t lo, uint32_t hi)
{
	if (s->n == s->cap) {
		s->cap = s->cap < 8 ? 8 : s->cap * 2;
		s->r = xreallocarray(s->r, s->cap, sizeof(*s->r));
	}
	s->r[s->n].lo = lo;
	s->r[s->n].hi = hi;
	s->n++;
}

/* One seq-number at *pos: nz-number or "*".  -1 on bad syntax. */
static int
parse_number(const char *t, size_t len, size_t *pos, unsigned flags, uint32_t *v_r)
{
	size_t		 i = *pos;
	uint64_t	 v = 0;

	if (i < len && t[i] == '*') {
		if (flags & SEQSET_NO_STAR)
			return -1;
		*pos = i + 1;
		*v_r = SEQ_STAR;
		return 0;
	}
	if (i >= len || t[i] < '1' || t[i] > '9')
		return -1;	/* empty, 0, or a leading zero */
	for (; i < len && t[i] >= '0' && t[i] <= '9'; i++) {
		v = v * 10 + (uint64_t)(t[i] - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	*pos = i;
	*v_r = (uint32_t)v;
	return 0;
}

int
seqset_parse(struct seqset *s, const char *text, size_t len, unsigned flags,
    const char **err_r)
{
	size_t		 pos = 0;
	uint32_t	 lo, hi;

	seqset_reset(s);
	if (len == 1 && text[0] == '$') {
		if (flags & SEQSET_NO_SAVED) {
			*err_r = "Saved search result not allowed here";
			return -1;
		}
		s->saved = true;
		return 0;
	}
	for (;;) {
		if (parse_number(text, len, &pos, flags, &lo) < 0)
			goto bad;
		hi = lo;
		if (pos < len && text[pos] == ':') {
			pos++;
			if (parse_number(text, len, &pos, flags, &hi) < 0)
				goto bad;
		}
		push(s, lo, hi);
		if (pos == len)
			return 0;
		if (text[pos] != ',')
			goto bad;
		pos++;
	}
bad:
	seqset_reset(s);
	*err_r = "Invalid sequence set";
	return -1;
}

bool
seqset_syntax_start(const char *text, size_t len)
{
	return len > 0 && ((text[0] >= '0' && text[0] <= '9') || text[0] == '*' ||
	    (len == 1 && text[0] == '$'));
}

static int
cmp_range(const void *a, const void *b)
{
	const struct seq_range	*x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

void
seqset_normalize(struct seqset *s)
{
	size_t	 i, o;

	for (i = 0; i < s->n; i++) {
		if (s->r[i].lo > s->r[i].hi) {
			uint32_t t = s->r[i].lo;

			s->r[i].lo = s->r[i].hi;
			s->r[i].hi = t;
		}
	}
	if (s->n < 2)
		return;
	qsort(s->r, s->n, sizeof(*s->r), cmp_range);
	for (o = 0, i = 1; i < s->n; i++) {
		/* overlapping or adjacent: hi + 1 without overflow */
		if (s->r[i].lo <= s->r[o].hi || s->r[i].lo - 1 == s->r[o].hi) {
			if (s->r[i].hi > s->r[o].hi)
				s->r[o].hi = s->r[i].hi;
		} else
			s->r[++o] = s->r[i];
	}
	s->n = o + 1;
}

void
seqset_resolve(struct seqset *s, uint32_t max)
{
	size_t	 i, o = 0;

	for (i = 0; i < s->n; i++) {
		struct seq_range r = s->r[i];

		if (r.lo == SEQ_STAR)
			r.lo = max;
		if (r.hi == SEQ_STAR)
			r.hi = max;
		if (r.lo == 0 || r.hi == 0)
			continue;	/* "*" in an empty mailbox matches nothing */
		s->r[o++] = r;
	}
	s->n = o;
	seqset_normalize(s);
}

void
seqset_add_range(struct seqset *s, uint32_t lo, uint32_t hi)
{
	if (lo == 0 || hi == 0)
		return;
	push(s, lo < hi ? lo : hi, lo < hi ? hi : lo);
}

void
seqset_append(struct seqset *s, uint32_t v)
{
	if (v == 0)
		return;
	if (s->n > 0 && s->r[s->n - 1].hi != UINT32_MAX && s->r[s->n - 1].hi + 1 == v)
		s->r[s->n - 1].hi = v;
	else
		push(s, v, v);
}

bool
seqset_contains(const struct seqset *s, uint32_t v)
{
	size_t	 lo = 0, hi = s->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v < s->r[mid].lo)
			hi = mid;
		else if (v > s->r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

uint64_t
seqset_count(const struct seqset *s)
{
	uint64_t	 n = 0;
	size_t		 i;

	for (i = 0; i < s->n; i++)
		n += (uint64_t)s->r[i].hi - s->r[i].lo + 1;
	return n;
}

uint32_t
seqset_max(const struct seqset *s)
{
	return s->n > 0 ? s->r[s->n - 1].hi : 0;
}

bool
seqset_next(const struct seqset *s, struct seqset_iter *it, uint32_t *v_r)
{
	if (it->i >= s->n)
		return false;
	if (it->next == 0)
		it->next = s->r[it->i].lo;
	*v_r = (uint32_t)it->next;
	if (it->next >= s->r[it->i].hi) {
		it->i++;
		it->next = 0;
	} else
		it->next++;
	return true;
}

static int
add_num(struct buf *out, uint32_t v)
{
	return v == SEQ_STAR ? buf_addc(out, '*') : buf_addf(out, "%u", v);
}

int
seqset_format(const struct seqset *s, struct buf *out)
{
	size_t	 i;

	if (s->saved)
		return buf_addc(out, '$');
	for (i = 0; i < s->n; i++) {
		if ((i > 0 && buf_addc(out, ',') < 0) || add_num(out, s->r[i].lo) < 0)
			return -1;
		if (s->r[i].hi != s->r[i].lo &&
		    (buf_addc(out, ':') < 0 || add_num(out, s->r[i].hi) < 0))
			return -1;
	}
	return 0;
}
