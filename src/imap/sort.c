/*
 * SORT keys and ordering; see sort.h.  Every key of every message is
 * computed once, when it is added: integers inline, strings (already
 * case-folded) in one pool, so the comparisons during the sort are plain
 * memcmp and the pool is one allocation however many messages there are.
 */
#include <stdlib.h>
#include <string.h>

#include "imap/date.h"
#include "imap/sort.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "mime/rfc2047.h"
#include "mime/subject.h"

static const struct {
	const char	*name;
	enum sort_key	 key;
} names[] = {
	{ "ARRIVAL", SORT_ARRIVAL }, { "CC", SORT_CC }, { "DATE", SORT_DATE },
	{ "FROM", SORT_FROM }, { "SIZE", SORT_SIZE }, { "SUBJECT", SORT_SUBJECT },
	{ "TO", SORT_TO }, { "DISPLAYFROM", SORT_DISPLAYFROM }, { "DISPLAYTO", SORT_DISPLAYTO },
};

int
sort_parse_criteria(const struct imap_arg *list, struct sort_criteria *c, const char **err_r)
{
	const struct imap_arg	*a;
	size_t			 i, j;
	bool			 rev = false;

	memset(c, 0, sizeof(*c));
	if (!imap_arg_is_list(list) || list->count == 0) {
		*err_r = "Missing sort criteria";
		return -1;
	}
	for (i = 0; i < list->count; i++) {
		a = &list->list[i];
		if (!rev && imap_arg_is_atom(a, "REVERSE")) {
			rev = true;
			continue;
		}
		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++)
			if (imap_arg_is_atom(a, names[j].name))
				break;
		if (j == sizeof(names) / sizeof(names[0])) {
			*err_r = "Unknown sort key";
			return -1;
		}
		if (c->n == SORT_KEYS_MAX) {
			*err_r = "Too many sort keys";
			return -1;
		}
		c->key[c->n] = names[j].key;
		c->reverse[c->n++] = rev;
		rev = false;
	}
	if (rev) {
		*err_r = "REVERSE without a sort key";
		return -1;
	}
	return 0;
}

bool
sort_needs_envelope(const struct sort_criteria *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->key[i] != SORT_ARRIVAL && c->key[i] != SORT_SIZE)
			return true;
	return false;
}

/* ---- keys ---- */

/* i;ascii-casemap: a-z as A-Z, from byte `from` on */
static void
fold(struct buf *b, size_t from)
{
	size_t i;

	for (i = from; i < b->len; i++)
		if (b->data[i] >= 'a' && b->data[i] <= 'z')
			b->data[i] = (char)(b->data[i] - 'a' + 'A');
}

int64_t
sort_sent_date(const struct envelope *e, int64_t idate)
{
	int64_t t;

	if (e != NULL && e->date.s != NULL &&
	    imap_parse_rfc5322_date(e->date.s, e->date.len, &t) == 0)
		return t;
	return idate;
}

int
sort_subject_key(const struct envelope *e, struct buf *out, bool *is_reply_r)
{
	size_t	 from = out->len;
	int	 r = 0;

	if (is_reply_r != NULL)
		*is_reply_r = false;
	if (e != NULL && e->subject.s != NULL)
		r = mime_base_subject(e->subject.s, e->subject.len, out, is_reply_r);
	fold(out, from);
	return r;
}

int
sort_addr_key(const struct env_addr *a, bool display, struct buf *out)
{
	size_t	 from = out->len;
	int	 r = 0;

	if (a == NULL || a->mailbox.s == NULL)
		return 0;
	if (!display)
		r = buf_add(out, a->mailbox.s, a->mailbox.len);
	else if (a->name.s != NULL && a->name.len > 0)
		r = rfc2047_decode(a->name.s, a->name.len, out);
	else if (buf_add(out, a->mailbox.s, a->mailbox.len) < 0 || (a->host.s != NULL &&
	    (buf_addc(out, '@') < 0 || buf_add(out, a->host.s, a->host.len) < 0)))
		r = -1;
	fold(out, from);
	return r;
}

/* ---- the table ---- */

struct sort_val {
	int64_t		 num;
	size_t		 off, len;	/* strings: in the pool */
};

struct sort_table {
	struct sort_criteria	 c;
	struct buf		 pool;
	struct sort_val		*vals;		/* n * c.n */
	uint32_t		*seqs, *uids;
	uint32_t		*order;		/* indices, sorted */
	size_t			 n, cap;
};

struct sort_table *
sort_table_new(const struct sort_criteria *c)
{
	struct sort_table *t = xcalloc(1, sizeof(*t));

	t->c = *c;
	buf_init(&t->pool, SIZE_MAX / 2);
	return t;
}

static bool
is_string(enum sort_key k)
{
	return k != SORT_ARRIVAL && k != SORT_DATE && k != SORT_SIZE;
}

void
sort_table_add(struct sort_table *t, const struct sort_msg *m)
{
	struct sort_val	*v;
	size_t		 k, start;

	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->vals = xreallocarray(t->vals, t->cap, sizeof(*t->vals) * (t->c.n ? t->c.n : 1));
		t->seqs = xreallocarray(t->seqs, t->cap, sizeof(*t->seqs));
		t->uids = xreallocarray(t->uids, t->cap, sizeof(*t->uids));
	}
	t->seqs[t->n] = m->seq;
	t->uids[t->n] = m->uid;
	for (k = 0; k < t->c.n; k++) {
		v = &t->vals[t->n * t->c.n + k];
		memset(v, 0, sizeof(*v));
		start = t->pool.len;
		switch (t->c.key[k]) {
		case SORT_ARRIVAL:
			v->num = m->idate;
			break;
		case SORT_DATE:
			v->num = sort_sent_date(m->env, m->idate);
			break;
		case SORT_SIZE:
			v->num = (int64_t)m->size;
			break;
		case SORT_SUBJECT:
			(void)sort_subject_key(m->env, &t->pool, NULL);
			break;
		case SORT_FROM:
		case SORT_DISPLAYFROM:
			(void)sort_addr_key(m->env ? &m->env->from : NULL,
			    t->c.key[k] == SORT_DISPLAYFROM, &t->pool);
			break;
		case SORT_TO:
		case SORT_DISPLAYTO:
			(void)sort_addr_key(m->env ? &m->env->to : NULL,
			    t->c.key[k] == SORT_DISPLAYTO, &t->pool);
			break;
		case SORT_CC:
			(void)sort_addr_key(m->env ? &m->env->cc : NULL, false, &t->pool);
			break;
		}
		v->off = start;
		v->len = t->pool.len - start;
	}
	t->n++;
}

static int
cmp(const void *a, const void *b, void *arg)
{
	const struct sort_table	*t = arg;
	uint32_t		 x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	const struct sort_val	*vx, *vy;
	size_t			 k, n;
	int			 r;

	for (k = 0; k < t->c.n; k++) {
		vx = &t->vals[x * t->c.n + k];
		vy = &t->vals[y * t->c.n + k];
		if (is_string(t->c.key[k])) {
			n = vx->len < vy->len ? vx->len : vy->len;
			r = n ? memcmp(t->pool.data + vx->off, t->pool.data + vy->off, n) : 0;
			if (r == 0)
				r = vx->len < vy->len ? -1 : vx->len > vy->len;
		} else
			r = vx->num < vy->num ? -1 : vx->num > vy->num;
		if (r != 0)
			return t->c.reverse[k] ? -r : r;
	}
	return t->seqs[x] < t->seqs[y] ? -1 : t->seqs[x] > t->seqs[y];
}

size_t
sort_table_sort(struct sort_table *t, const uint32_t **seqs_r, const uint32_t **uids_r)
{
	uint32_t	*s, *u;
	size_t		 i;

	t->order = xreallocarray(t->order, t->n + 1, sizeof(*t->order));
	for (i = 0; i < t->n; i++)
		t->order[i] = (uint32_t)i;
	qsort_r(t->order, t->n, sizeof(*t->order), cmp, t);
	s = xreallocarray(NULL, t->n + 1, sizeof(*s));
	u = xreallocarray(NULL, t->n + 1, sizeof(*u));
	for (i = 0; i < t->n; i++) {
		s[i] = t->seqs[t->order[i]];
		u[i] = t->uids[t->order[i]];
	}
	free(t->seqs);
	free(t->uids);
	t->seqs = s;
	t->uids = u;
	/* the key rows now refer to old positions: keys are not needed again */
	xfree(&t->vals);
	buf_clear(&t->pool);
	*seqs_r = t->seqs;
	*uids_r = t->uids;
	return t->n;
}

void
sort_table_free(struct sort_table **tp)
{
	struct sort_table *t = *tp;

	if (t == NULL)
		return;
	buf_clear(&t->pool);
	free(t->vals);
	free(t->seqs);
	free(t->uids);
	free(t->order);
	free(t);
	*tp = NULL;
}
