/*
 * THREAD algorithms (RFC 5256 3); see thread.h.  Both build one tree of
 * nodes in an array (index 0 is the invisible root whose children are the
 * threads), then share the sibling sort (RFC 5256 3 step 6 / ORDEREDSUBJECT's
 * date order) and the output.  Every walk uses an explicit stack; the
 * loop check of REFERENCES step 1 walks at most LOOP_WALK_MAX ancestors
 * (a longer chain is treated as a loop: the link is not made).
 */
#include <stdlib.h>
#include <string.h>

#include "imap/thread.h"
#include "lib/xmalloc.h"

#define NONE		UINT32_MAX
#define ROOT		0
#define LOOP_WALK_MAX	100000

struct node {
	uint32_t	 parent, child, prev, next;
	uint32_t	 msg;		/* index into m, NONE for a dummy */
	uint32_t	 seq;		/* sort key: the message's, or the first child's */
	int64_t		 date;
};

/* string -> node, open addressing; keys are borrowed from the inputs */
struct slot {
	const char	*key;
	size_t		 len;
	uint32_t	 node;
};
struct htab {
	struct slot	*s;
	size_t		 cap, n;
};

struct tree {
	const struct thread_msg	*m;
	struct node		*v;
	size_t			 nv, cap;
};

/* ---- hash table ---- */

static uint64_t
hash(const char *p, size_t n)
{
	uint64_t	 h = 1469598103934665603ULL;
	size_t		 i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

static struct slot *
ht_find(struct htab *t, const char *key, size_t len)
{
	size_t	 i;

	for (i = hash(key, len) & (t->cap - 1);; i = (i + 1) & (t->cap - 1))
		if (t->s[i].key == NULL ||
		    (t->s[i].len == len && memcmp(t->s[i].key, key, len) == 0))
			return &t->s[i];
}

static void
ht_init(struct htab *t, size_t want)
{
	t->cap = 16;
	while (t->cap < want * 2)
		t->cap *= 2;
	t->s = xcalloc(t->cap, sizeof(*t->s));
	t->n = 0;
}

/* The slot for key: empty (key NULL) when absent; set it, then ht_added(). */
static struct slot *
ht_slot(struct htab *t, const char *key, size_t len)
{
	struct slot	*old = t->s;
	size_t		 oldcap = t->cap, i;

	if ((t->n + 1) * 2 > t->cap) {
		t->cap *= 2;
		t->s = xcalloc(t->cap, sizeof(*t->s));
		for (i = 0; i < oldcap; i++)
			if (old[i].key != NULL)
				*ht_find(t, old[i].key, old[i].len) = old[i];
		free(old);
	}
	return ht_find(t, key, len);
}

static void
ht_put(struct htab *t, struct slot *sl, const char *key, size_t len, uint32_t node)
{
	if (sl->key == NULL)
		t->n++;
	sl->key = key;
	sl->len = len;
	sl->node = node;
}

/* ---- tree ---- */

static uint32_t
new_node(struct tree *t, uint32_t msg)
{
	struct node *x;

	if (t->nv == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	x = &t->v[t->nv];
	x->parent = x->child = x->prev = x->next = NONE;
	x->msg = msg;
	x->seq = msg != NONE ? t->m[msg].seq : 0;
	x->date = msg != NONE ? t->m[msg].date : 0;
	return (uint32_t)t->nv++;
}

static void
unlink_node(struct tree *t, uint32_t c)
{
	struct node *x = &t->v[c];

	if (x->parent == NONE)
		return;
	if (x->prev != NONE)
		t->v[x->prev].next = x->next;
	else
		t->v[x->parent].child = x->next;
	if (x->next != NONE)
		t->v[x->next].prev = x->prev;
	x->parent = x->prev = x->next = NONE;
}

static void
link_node(struct tree *t, uint32_t p, uint32_t c)
{
	struct node *x = &t->v[c];

	x->parent = p;
	x->prev = NONE;
	x->next = t->v[p].child;
	if (x->next != NONE)
		t->v[x->next].prev = c;
	t->v[p].child = c;
}

/* Would making p the parent of c close a loop (c is p or above p)? */
static bool
would_loop(const struct tree *t, uint32_t p, uint32_t c)
{
	unsigned steps = 0;

	/* the usual case, O(1): what has no children is above nothing */
	if (t->v[c].child == NONE)
		return p == c;
	for (; p != NONE; p = t->v[p].parent)
		if (p == c || ++steps > LOOP_WALK_MAX)
			return true;
	return false;
}

/* ---- msg-ids ---- */

void
thread_msgids(const char *v, size_t len, bool (*cb)(const char *id, size_t len, void *arg),
    void *arg)
{
	const char	*p = v, *e = v + len, *lt, *gt, *inner;

	if (v == NULL)
		return;
	while (p < e && (lt = memchr(p, '<', (size_t)(e - p))) != NULL) {
		if ((gt = memchr(lt + 1, '>', (size_t)(e - lt - 1))) == NULL)
			return;
		/* "<a <b>": the first is broken, the id starts at the inner '<' */
		if ((inner = memchr(lt + 1, '<', (size_t)(gt - lt - 1))) != NULL) {
			p = inner;
			continue;
		}
		p = gt + 1;
		if (gt - lt > 1 && !cb(lt, (size_t)(gt - lt + 1), arg))
			return;
	}
}

static bool
first_id_cb(const char *id, size_t len, void *arg)
{
	struct thread_idref *r = arg;

	r->p = id;
	r->len = len;
	return false;
}

bool
thread_first_msgid(const char *v, size_t len, struct thread_idref *id_r)
{
	id_r->p = NULL;
	id_r->len = 0;
	thread_msgids(v, len, first_id_cb, id_r);
	return id_r->p != NULL;
}

struct refs_walk {
	struct tree	*t;
	struct htab	*ids;
	uint32_t	 prev;
};

/* The container of id, a new dummy when none exists yet. */
static uint32_t
container(struct tree *t, struct htab *ids, const char *id, size_t len)
{
	struct slot	*sl = ht_slot(ids, id, len);
	uint32_t	 c;

	if (sl->key != NULL)
		return sl->node;
	c = new_node(t, NONE);
	ht_put(ids, sl, id, len, c);
	return c;
}

/* REFERENCES step 1.B: each reference the parent of the next, when free */
static bool
ref_cb(const char *id, size_t len, void *arg)
{
	struct refs_walk	*w = arg;
	uint32_t		 c = container(w->t, w->ids, id, len);

	if (w->prev != NONE && w->t->v[c].parent == NONE && !would_loop(w->t, w->prev, c))
		link_node(w->t, w->prev, c);
	w->prev = c;
	return true;
}

/* REFERENCES step 1 for message i */
static void
add_message(struct tree *t, struct htab *ids, uint32_t i)
{
	const struct thread_msg	*m = &t->m[i];
	struct thread_idref	 first;
	struct refs_walk	 w = { t, ids, NONE };
	struct slot		*sl;
	uint32_t		 c;

	/* A: the message's container; a duplicate Message-ID gets its own */
	if (!thread_first_msgid(m->message_id, m->message_id_len, &first))
		c = new_node(t, i);
	else if ((sl = ht_slot(ids, first.p, first.len))->key == NULL) {
		c = new_node(t, i);
		ht_put(ids, sl, first.p, first.len, c);
	} else if (t->v[sl->node].msg == NONE) {
		c = sl->node;
		t->v[c].msg = i;
		t->v[c].seq = m->seq;
		t->v[c].date = m->date;
	} else
		c = new_node(t, i);
	/* B: References, else the first msg-id of In-Reply-To */
	if (m->references != NULL && m->references_len > 0)
		thread_msgids(m->references, m->references_len, ref_cb, &w);
	if (w.prev == NONE) {
		if (thread_first_msgid(m->in_reply_to, m->in_reply_to_len, &first))
			ref_cb(first.p, first.len, &w);
	}
	/* C: the last reference is the parent, replacing any earlier guess */
	unlink_node(t, c);
	if (w.prev != NONE && !would_loop(t, w.prev, c))
		link_node(t, w.prev, c);
}

/* REFERENCES step 4: drop empty dummies, promote the children of others */
static void
prune(struct tree *t)
{
	uint32_t	*stack = xreallocarray(NULL, t->nv + 1, sizeof(*stack));
	size_t		 sp = 0;
	uint32_t	 p, c, nx, k, first, last;

	stack[sp++] = ROOT;
	while (sp > 0) {
		p = stack[--sp];
		for (c = t->v[p].child; c != NONE; c = nx) {
			nx = t->v[c].next;
			if (t->v[c].msg != NONE) {
				stack[sp++] = c;
				continue;
			}
			if (t->v[c].child == NONE) {
				unlink_node(t, c);
				continue;
			}
			first = t->v[c].child;
			/* not at the top unless it is the only child */
			if (p == ROOT && t->v[first].next != NONE) {
				stack[sp++] = c;
				continue;
			}
			for (k = first, last = first; k != NONE; last = k, k = t->v[k].next)
				t->v[k].parent = p;
			t->v[first].prev = t->v[c].prev;
			t->v[last].next = t->v[c].next;
			if (t->v[c].prev != NONE)
				t->v[t->v[c].prev].next = first;
			else
				t->v[p].child = first;
			if (t->v[c].next != NONE)
				t->v[t->v[c].next].prev = last;
			t->v[c].parent = t->v[c].child = t->v[c].prev = t->v[c].next = NONE;
			nx = first;	/* the promoted children are examined in turn */
		}
	}
	free(stack);
}

/* The message whose subject stands for node r (a dummy: its first child's). */
static const struct thread_msg *
subject_msg(const struct tree *t, uint32_t r)
{
	unsigned steps = 0;

	while (t->v[r].msg == NONE && t->v[r].child != NONE && ++steps < LOOP_WALK_MAX)
		r = t->v[r].child;
	return t->v[r].msg != NONE ? &t->m[t->v[r].msg] : NULL;
}

/* REFERENCES step 5: threads whose base subjects are equal are merged */
static void
merge_subjects(struct tree *t)
{
	struct htab		 subj;
	struct slot		*sl;
	const struct thread_msg	*rm, *tm;
	uint32_t		*roots, r, x, d, k;
	size_t			 n = 0, i;
	bool			 rd, xd;

	for (r = t->v[ROOT].child; r != NONE; r = t->v[r].next)
		n++;
	roots = xreallocarray(NULL, n + 1, sizeof(*roots));
	n = 0;
	for (r = t->v[ROOT].child; r != NONE; r = t->v[r].next)
		roots[n++] = r;
	ht_init(&subj, n);
	for (i = 0; i < n; i++) {
		r = roots[i];
		if ((rm = subject_msg(t, r)) == NULL || rm->subject_len == 0)
			continue;
		sl = ht_slot(&subj, rm->subject, rm->subject_len);
		if (sl->key == NULL) {
			ht_put(&subj, sl, rm->subject, rm->subject_len, r);
			continue;
		}
		x = sl->node;
		tm = subject_msg(t, x);
		if ((t->v[x].msg != NONE && t->v[r].msg == NONE) ||
		    (t->v[x].msg != NONE && t->v[r].msg != NONE && tm->is_reply && !rm->is_reply))
			sl->node = r;
	}
	for (i = 0; i < n; i++) {
		r = roots[i];
		if (t->v[r].parent != ROOT || (rm = subject_msg(t, r)) == NULL ||
		    rm->subject_len == 0)
			continue;
		sl = ht_slot(&subj, rm->subject, rm->subject_len);
		if ((x = sl->node) == r)
			continue;
		tm = subject_msg(t, x);
		rd = t->v[r].msg == NONE;
		xd = t->v[x].msg == NONE;
		if (rd && xd) {
			while ((k = t->v[r].child) != NONE) {
				unlink_node(t, k);
				link_node(t, x, k);
			}
			unlink_node(t, r);
		} else if (xd) {
			unlink_node(t, r);
			link_node(t, x, r);
		} else if (rd || (tm->is_reply && !rm->is_reply)) {
			unlink_node(t, x);
			link_node(t, r, x);
			sl->node = r;
		} else if (!tm->is_reply && rm->is_reply) {
			unlink_node(t, r);
			link_node(t, x, r);
		} else {
			d = new_node(t, NONE);
			unlink_node(t, x);
			unlink_node(t, r);
			link_node(t, ROOT, d);
			link_node(t, d, x);
			link_node(t, d, r);
			sl->node = d;
		}
	}
	free(subj.s);
	free(roots);
}

/* ---- step 6: siblings by sent date, then sequence number ---- */

static int
by_date(const void *a, const void *b, void *arg)
{
	const struct node	*v = arg;
	const struct node	*x = &v[*(const uint32_t *)a], *y = &v[*(const uint32_t *)b];

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
sort_siblings(struct tree *t)
{
	uint32_t	*order = xreallocarray(NULL, t->nv + 1, sizeof(*order));
	uint32_t	*kids = xreallocarray(NULL, t->nv + 1, sizeof(*kids));
	size_t		 head = 0, n = 0, nk, i;
	uint32_t	 p, k;

	/* breadth-first order; walked backwards, children come before parents */
	order[n++] = ROOT;
	for (head = 0; head < n; head++)
		for (k = t->v[order[head]].child; k != NONE; k = t->v[k].next)
			order[n++] = k;
	while (n > 0) {
		p = order[--n];
		nk = 0;
		for (k = t->v[p].child; k != NONE; k = t->v[k].next)
			kids[nk++] = k;
		if (nk == 0)
			continue;
		qsort_r(kids, nk, sizeof(*kids), by_date, t->v);
		t->v[p].child = NONE;
		for (i = nk; i-- > 0;) {
			t->v[kids[i]].parent = NONE;
			link_node(t, p, kids[i]);
		}
		if (t->v[p].msg == NONE) {
			t->v[p].date = t->v[kids[0]].date;
			t->v[p].seq = t->v[kids[0]].seq;
		}
	}
	free(kids);
	free(order);
}

/* ---- output ---- */

enum act { A_VISIT, A_OPEN, A_CLOSE, A_SPACE };
struct action {
	uint32_t	 node;
	enum act	 a;
};

static size_t
nkids(const struct tree *t, uint32_t x, size_t max)
{
	size_t		 n = 0;
	uint32_t	 k;

	for (k = t->v[x].child; k != NONE && n < max; k = t->v[k].next)
		n++;
	return n;
}

/*
 * thread-members / thread-nested (RFC 5256 4): a message, then its only
 * child inline, or each of several children in parentheses; a dummy has
 * no number of its own.
 */
static int
format(const struct tree *t, struct buf *out)
{
	struct action	*st = xreallocarray(NULL, t->nv * 4 + 4, sizeof(*st));
	size_t		 sp = 0, nk;
	uint32_t	 r, x, k, last;
	int		 rc = 0;

	for (r = t->v[ROOT].child; r != NONE && rc == 0; r = t->v[r].next) {
		if (t->v[r].msg == NONE && t->v[r].child == NONE)
			continue;
		st[sp++] = (struct action){ r, A_CLOSE };
		st[sp++] = (struct action){ r, A_VISIT };
		rc |= buf_addc(out, '(');
		while (sp > 0 && rc == 0) {
			struct action a = st[--sp];

			if (a.a != A_VISIT) {
				rc |= buf_addc(out, a.a == A_OPEN ? '(' : a.a == A_CLOSE ? ')' : ' ');
				continue;
			}
			x = a.node;
			if (t->v[x].msg != NONE)
				rc |= buf_addf(out, "%u", t->m[t->v[x].msg].id) < 0 ? -1 : 0;
			if ((nk = nkids(t, x, 2)) == 0)
				continue;
			if (nk == 1) {
				st[sp++] = (struct action){ t->v[x].child, A_VISIT };
				if (t->v[x].msg != NONE)
					st[sp++] = (struct action){ x, A_SPACE };
				continue;
			}
			/* pushed backwards: the last child first */
			for (last = t->v[x].child; t->v[last].next != NONE; last = t->v[last].next)
				;
			for (k = last; k != NONE; k = t->v[k].prev) {
				st[sp++] = (struct action){ k, A_CLOSE };
				st[sp++] = (struct action){ k, A_VISIT };
				st[sp++] = (struct action){ k, A_OPEN };
			}
			if (t->v[x].msg != NONE)
				st[sp++] = (struct action){ x, A_SPACE };
		}
	}
	free(st);
	return rc;
}

/* ---- the algorithms ---- */

static int
by_subject(const void *a, const void *b, void *arg)
{
	const struct thread_msg	*m = arg;
	const struct thread_msg	*x = &m[*(const uint32_t *)a], *y = &m[*(const uint32_t *)b];
	size_t			 n = x->subject_len < y->subject_len ? x->subject_len :
				    y->subject_len;
	int			 c = memcmp(x->subject, y->subject, n);

	if (c != 0)
		return c;
	if (x->subject_len != y->subject_len)
		return x->subject_len < y->subject_len ? -1 : 1;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ORDEREDSUBJECT (RFC 5256 3): one thread per base subject, the earliest
 * message its parent and the others its children. */
static void
ordered_subject(struct tree *t, size_t n)
{
	uint32_t	*ord = xreallocarray(NULL, n + 1, sizeof(*ord));
	uint32_t	 i, lead = NONE, lead_msg = 0, x;

	for (i = 0; i < n; i++)
		ord[i] = i;
	qsort_r(ord, n, sizeof(*ord), by_subject, (void *)t->m);
	for (i = 0; i < n; i++) {
		x = new_node(t, ord[i]);
		if (lead != NONE && t->m[ord[i]].subject_len == t->m[lead_msg].subject_len &&
		    memcmp(t->m[ord[i]].subject, t->m[lead_msg].subject,
		    t->m[lead_msg].subject_len) == 0) {
			link_node(t, lead, x);
			continue;
		}
		lead = x;
		lead_msg = ord[i];
		link_node(t, ROOT, x);
	}
	free(ord);
}

int
thread_build(enum thread_algo algo, const struct thread_msg *m, size_t n, struct buf *out)
{
	struct tree	 t = { m, NULL, 0, 0 };
	struct htab	 ids;
	uint32_t	 i;
	int		 rc;

	(void)new_node(&t, NONE);	/* ROOT */
	if (algo == THREAD_ORDEREDSUBJECT)
		ordered_subject(&t, n);
	else {
		ht_init(&ids, n);
		for (i = 0; i < n; i++)
			add_message(&t, &ids, i);
		free(ids.s);
		/* step 2: the root set */
		for (i = 1; i < t.nv; i++)
			if (t.v[i].parent == NONE)
				link_node(&t, ROOT, i);
		prune(&t);
		merge_subjects(&t);
	}
	sort_siblings(&t);
	rc = format(&t, out);
	free(t.v);
	return rc;
}
