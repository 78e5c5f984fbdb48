/*
 * CONDSTORE / QRESYNC responses (RFC 7162); see condstore.h.  The view's
 * messages carry their modseq (store_msg) and the store logs expunged
 * UID ranges with theirs, so a resync walks the view once and the log
 * once, and sends only what changed since the client's modseq.
 */
#include <stdlib.h>

#include "imap/client.h"
#include "imap/condstore.h"
#include "imap/select_parse.h"
#include "imap/seqset.h"
#include "imap/view.h"
#include "lib/buf.h"
#include "store/store.h"

#define VANISHED_LINE	8000	/* bytes of UIDs per VANISHED response */

bool
imap_condstore(const struct imap_client *c)
{
	return (c->enabled & IMAP_E_CONDSTORE) != 0;
}

bool
imap_qresync(const struct imap_client *c)
{
	return (c->enabled & IMAP_E_QRESYNC) != 0;
}

uint64_t
imap_highestmodseq(const struct store_mailbox *mb)
{
	uint64_t m = store_highestmodseq(mb);

	/*
	 * RFC 7162 7: mod-sequence-value >= 1.  A folder indexed before the
	 * store started at 1 may say 0 while empty; its first message then
	 * has modseq 1, which the client learns of as a new UID anyway.
	 */
	return m > 0 ? m : 1;
}

void
imap_highestmodseq_write(struct imap_client *c)
{
	imap_untagged(c, "OK [HIGHESTMODSEQ %llu] Highest",
	    (unsigned long long)imap_highestmodseq(c->mb));
}

void
imap_condstore_on(struct imap_client *c)
{
	if (imap_condstore(c))
		return;
	c->enabled |= IMAP_E_CONDSTORE;
	if (c->state == IMAP_S_SELECTED && c->mb != NULL)
		imap_highestmodseq_write(c);
}

void
imap_vanished_write(struct imap_client *c, bool earlier, const struct seqset *uids)
{
	struct buf	 b;
	struct seqset	 one;
	size_t		 i;

	if (uids->n == 0)
		return;
	buf_init(&b, 64 * 1024);
	seqset_init(&one);
	for (i = 0; i < uids->n; i++) {
		if (b.len == 0)
			(void)buf_addf(&b, "* VANISHED %s", earlier ? "(EARLIER) " : "");
		else
			(void)buf_addf(&b, ",");
		seqset_reset(&one);
		seqset_add_range(&one, uids->r[i].lo, uids->r[i].hi);
		(void)seqset_format(&one, &b);
		if (b.len >= VANISHED_LINE || i + 1 == uids->n) {
			(void)buf_addf(&b, "\r\n");
			imap_write(c, b.data, b.len);
			buf_reset(&b);
		}
	}
	seqset_clear(&one);
	buf_clear(&b);
}

/*
 * a..b less the UIDs still in the view (very old history may have merged
 * expunged ranges over messages that still exist; those never vanish).
 * One pass over the view's messages inside a..b.
 */
static void
add_gone(const struct store_mailbox *mb, uint32_t a, uint32_t b, struct seqset *out)
{
	size_t		 idx = store_lower_bound(mb, a), n = store_count(mb);
	uint64_t	 cur = a;
	uint32_t	 uid;

	for (; idx < n && (uid = store_msg_uid(mb, idx)) <= b; idx++) {
		if (uid > cur)
			seqset_add_range(out, (uint32_t)cur, uid - 1);
		cur = (uint64_t)uid + 1;
	}
	if (cur <= b)
		seqset_add_range(out, (uint32_t)cur, b);
}

void
imap_vanished_since(const struct imap_client *c, uint64_t since, const struct seqset *within,
    struct seqset *out)
{
	static const struct seq_range all = { 1, UINT32_MAX };
	struct store_uid_range	*r = NULL;
	const struct seq_range	*w = within != NULL ? within->r : &all;
	size_t			 n = 0, nw = within != NULL ? within->n : 1, i = 0, k = 0;
	uint32_t		 below = store_uidnext(c->mb), a, b;

	seqset_reset(out);
	(void)store_expunged_since(c->mb, since, &r, &n);
	/* Both lists ascending and disjoint: intersect them in one merge. */
	while (i < n && k < nw && below > 1) {
		a = r[i].lo > w[k].lo ? r[i].lo : w[k].lo;
		b = r[i].hi < w[k].hi ? r[i].hi : w[k].hi;
		if (b > below - 1)
			b = below - 1;
		if (a <= b)
			add_gone(c->mb, a, b, out);
		if (r[i].hi < w[k].hi)
			i++;
		else
			k++;
	}
	free(r);
	seqset_normalize(out);
}

void
imap_qresync_select(struct imap_client *c, const struct select_params *p)
{
	struct seqset		 gone;
	size_t			 i, n = store_count(c->mb);

	if (p->uidvalidity != store_uidvalidity(c->mb))
		return;
	seqset_init(&gone);
	imap_vanished_since(c, p->modseq, p->has_known ? &p->known_uids : NULL, &gone);
	imap_vanished_write(c, true, &gone);
	seqset_clear(&gone);
	for (i = 0; i < n; i++) {
		if (store_msg_modseq(c->mb, i) > p->modseq && (!p->has_known ||
		    seqset_contains(&p->known_uids, store_msg_uid(c->mb, i))))
			imap_view_write_flags(c, i, true);
	}
}
