/* A handle's own flag changes by UID; see ownset.h. */
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "store/ownset.h"

/* First of v[0..n) whose UID is not below uid. */
static size_t
lower(const struct view_own *v, size_t n, uint32_t uid)
{
	size_t	lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
by_uid(const void *a, const void *b)
{
	const struct view_own	*x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

void
ownset_add(struct ownset *s, uint32_t uid, uint64_t modseq)
{
	size_t	i = lower(s->v, s->sorted, uid);

	if (i < s->sorted && s->v[i].uid == uid) {
		if (modseq > s->v[i].modseq)
			s->v[i].modseq = modseq;
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	s->v[s->n].uid = uid;
	s->v[s->n].modseq = modseq;
	/* above all sorted ones and nothing out of order yet: still sorted */
	if (s->n++ == s->sorted && i == s->sorted)
		s->sorted++;
	/* out-of-order ones folded in once they are as many as the rest */
	else if (s->n - s->sorted > 64 && s->n - s->sorted > s->sorted)
		ownset_fold(s);
}

void
ownset_fold(struct ownset *s)
{
	struct view_own	*out;
	size_t		 t = s->n - s->sorted, i = 0, j, k = 0, e;

	if (t == 0)
		return;
	/* of one UID's entries the highest MODSEQ stays, whatever their order */
	qsort(s->v + s->sorted, t, sizeof(*s->v), by_uid);
	out = xreallocarray(NULL, s->n, sizeof(*out));
	j = s->sorted;
	while (i < s->sorted || j < s->n) {
		if (j == s->n || (i < s->sorted && s->v[i].uid <= s->v[j].uid))
			e = i++;
		else
			e = j++;
		if (k > 0 && out[k - 1].uid == s->v[e].uid) {
			if (s->v[e].modseq > out[k - 1].modseq)
				out[k - 1].modseq = s->v[e].modseq;
		} else
			out[k++] = s->v[e];
	}
	free(s->v);
	s->v = out;
	s->n = s->sorted = k;
	s->cap = s->n;
}

bool
ownset_get(struct ownset *s, uint32_t uid, uint64_t *modseq_r)
{
	size_t	i, t = s->n - s->sorted;
	bool	found = false;

	/*
	 * A short tail is scanned, a long one folded in: past sqrt(n) a
	 * scan costs more than the fold would.  (A FETCH BODY[] that sets
	 * \Seen message by message adds one and looks it up in turn.)
	 */
	if (t > 64 && t * t > s->sorted) {
		ownset_fold(s);
	}
	i = lower(s->v, s->sorted, uid);
	if (i < s->sorted && s->v[i].uid == uid) {
		*modseq_r = s->v[i].modseq;
		found = true;
	}
	for (i = s->sorted; i < s->n; i++)
		if (s->v[i].uid == uid && (!found || s->v[i].modseq > *modseq_r)) {
			*modseq_r = s->v[i].modseq;
			found = true;
		}
	return found;
}

void
ownset_reset(struct ownset *s)
{
	s->n = s->sorted = 0;
}

void
ownset_free(struct ownset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
