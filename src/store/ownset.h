/*
 * A handle's own flag changes since its view last synced: for each UID
 * the MODSEQ of the last change this handle made (msgview.c tells the
 * MODSEQs of its own STOREs, and the sync does not report them back).
 * Only the last change of a UID matters: the index's MODSEQ of that
 * message is never below it.  Adding is amortized O(log n) whatever the
 * order (STORE walks UIDs upwards, a second STORE on a lower range
 * comes after); a lookup first folds the out-of-order additions in.
 * Internal to src/store/.
 */
#ifndef LB_STORE_OWNSET_H
#define LB_STORE_OWNSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct view_own {
	uint32_t	 uid;
	uint64_t	 modseq;
};

struct ownset {
	struct view_own	*v;		/* v[0..sorted): by UID, one each; then added out of order */
	size_t		 n, sorted, cap;
};

/* uid's last own change is now modseq (kept if it is above the one held). */
void	 ownset_add(struct ownset *s, uint32_t uid, uint64_t modseq);
/* uid's last own change: true with *modseq_r, or false when there is none. */
bool	 ownset_get(struct ownset *s, uint32_t uid, uint64_t *modseq_r);
/* Forget all (the view synced); the memory stays for the next changes. */
void	 ownset_reset(struct ownset *s);
void	 ownset_free(struct ownset *s);
/* Fold the out-of-order additions in: v[0..n) by UID, one each.  O(n + t log t). */
void	 ownset_fold(struct ownset *s);

#endif
