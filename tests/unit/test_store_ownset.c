/*
 * store/ownset.c: a handle's own flag changes by UID, against a plain
 * array of the highest MODSEQ per UID, under additions in every order
 * (upwards, downwards, a second pass, random) mixed with lookups.
 */
#include <stdlib.h>
#include <string.h>

#include "store/ownset.h"
#include "t.h"

#define NUID	3000

static uint64_t	ref[NUID + 1];	/* 0: no own change */

/* v[0..n) by UID, one each, once folded. */
static bool
folded_ok(const struct ownset *s)
{
	size_t	i;

	if (s->sorted != s->n)
		return false;
	for (i = 0; i < s->n; i++)
		if ((i > 0 && s->v[i - 1].uid >= s->v[i].uid) || ref[s->v[i].uid] != s->v[i].modseq)
			return false;
	return true;
}

static unsigned
check_all(struct ownset *s)
{
	unsigned	bad = 0;
	uint32_t	uid;
	uint64_t	ms;
	bool		got;

	for (uid = 1; uid <= NUID; uid++) {
		ms = 0;
		got = ownset_get(s, uid, &ms);
		if (got != (ref[uid] != 0) || (got && ms != ref[uid]))
			bad++;
	}
	return bad;
}

static void
add(struct ownset *s, uint32_t uid, uint64_t ms)
{
	ownset_add(s, uid, ms);
	if (ms > ref[uid])
		ref[uid] = ms;
}

static void
test_orders(void)
{
	struct ownset	 s = { 0 };
	uint64_t	 ms = 1, got;
	uint32_t	 uid;
	unsigned	 bad = 0, seed = 5, i;

	/* upwards: every one lands in the sorted part */
	for (uid = 1001; uid <= 2000; uid++)
		add(&s, uid, ++ms);
	t_int(s.sorted, 1000);
	t_int(s.n, 1000);
	/* a second pass: updated in place, nothing added */
	for (uid = 1001; uid <= 2000; uid++)
		add(&s, uid, ++ms);
	t_int(s.n, 1000);
	/* a lower range after it: out of order, folded once it outgrows the rest */
	for (uid = 1; uid <= 1000; uid++)
		add(&s, uid, ++ms);
	t_ok(s.n >= 1000 && s.n <= 2000);
	t_int(check_all(&s), 0);
	t_ok(folded_ok(&s));
	/* downwards, each looked up as it comes (FETCH BODY[] setting \Seen) */
	for (uid = NUID; uid > 2000; uid--) {
		add(&s, uid, ++ms);
		if (!ownset_get(&s, uid, &got) || got != ms)
			bad++;
	}
	t_int(bad, 0);
	/* random, an older MODSEQ never wins over a newer one */
	for (i = 0; i < 20000; i++) {
		seed = seed * 1103515245 + 12345;
		uid = 1 + (seed >> 8) % NUID;
		add(&s, uid, (seed >> 4) % 7 == 0 ? 1 : ++ms);
		if (i % 997 == 0)
			bad += check_all(&s);
	}
	t_int(bad, 0);
	t_int(check_all(&s), 0);
	ownset_fold(&s);
	t_ok(folded_ok(&s));
	t_int(s.n, NUID);
	/* reset: nothing is own any more */
	ownset_reset(&s);
	memset(ref, 0, sizeof(ref));
	t_int(check_all(&s), 0);
	add(&s, 7, ++ms);
	t_int(check_all(&s), 0);
	ownset_free(&s);
	t_ok(s.v == NULL && s.n == 0);
}

int
main(void)
{
	t_begin("store_ownset");
	test_orders();
	return t_end();
}
