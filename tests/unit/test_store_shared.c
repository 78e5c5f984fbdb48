/*
 * The per-process shared index (issue 12): handles on one folder share
 * one snapshot (a second open does not read the index again), a first
 * sync trusts the index's recorded scan instead of reading the
 * directories, and each session's view still changes only at its sync,
 * MODSEQs included: what a view tells for a message never goes back and
 * never runs ahead of the flags it shows (the shared index may be ahead).
 */
#include <time.h>

#include "t.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store_t.h"

static void
test_shared(void)
{
	char			 dir[512];
	struct store_mailbox	*mb, *mb2, *mb3;
	struct ul_rec		*recs;
	struct rec		 r;
	uint64_t		 version;
	time_t			 old = time(NULL) - 3600;

	snprintf(dir, sizeof(dir), "%s/shared", tmpdir);
	mkmaildir(dir);
	put_some(dir, 0, 50);
	set_mtime(dir, "cur", old);
	set_mtime(dir, "new", old);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 50);

	/* A second handle: the same snapshot, not read again. */
	recs = mb->ul->recs;
	version = mb->ul->version;
	mb2 = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_ok(mb2->ul == mb->ul);
	t_int(store_sync(mb2, NULL, NULL), 0);
	t_int(store_count(mb2), 50);
	t_ok(mb->ul->recs == recs && mb->ul->version == version);

	/* A first sync trusts the recorded scan: a file slipped in without
	 * changing the directory's mtime is not seen (no readdir)... */
	put_some(dir, 50, 51);
	set_mtime(dir, "cur", old);
	mb3 = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb3, NULL, NULL), 0);
	t_int(store_count(mb3), 50);
	store_close(&mb3);
	/* ...also when the snapshot is read from disk (no other handle). */
	store_close(&mb2);
	store_close(&mb);
	mb3 = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_ok(mb3->ul->n == 0);
	t_int(store_sync(mb3, NULL, NULL), 0);
	t_int(store_count(mb3), 50);
	mb = mb3;
	mb2 = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb2, NULL, NULL), 0);
	/* The view of mb2 changes only at its sync. */
	t_int(store_set_flags(mb, 3, STORE_FLAGS_ADD, STORE_F_FLAGGED, 0, 0), 0);
	t_ok(tmsg(mb, 3).flags & STORE_F_FLAGGED);
	t_ok(!(tmsg(mb2, 3).flags & STORE_F_FLAGGED));
	memset(&r, 0, sizeof(r));
	t_int(store_sync(mb2, &rec_cb, &r), 0);
	t_int(r.nchg, 1);
	t_int(r.chg[0], 3);
	t_ok(tmsg(mb2, 3).flags & STORE_F_FLAGGED);
	t_int(tmsg(mb2, 3).modseq, tmsg(mb, 3).modseq);
	store_close(&mb2);
	store_close(&mb);
	/* The rename above was mb's own: the index records the mtime it left,
	 * so a new handle still reads no directory... */
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_ok(mb->ul->n == 0);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(mb->scans, 0);
	t_int(store_count(mb), 50);
	store_close(&mb);
	/* ...but one changed by someone else is read. */
	set_mtime(dir, "cur", old + 1);
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(mb->scans, 1);
	t_int(store_count(mb), 51);
	store_close(&mb);
}

/* MODSEQs told by a view while the shared index runs ahead of it. */
static void
test_view_modseq(void)
{
	char			 dir[512];
	struct store_mailbox	*a, *b;
	uint64_t		 told, own;
	uint32_t		 uid;

	snprintf(dir, sizeof(dir), "%s/modseq", tmpdir);
	mkmaildir(dir);
	put_some(dir, 0, 3);
	a = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	b = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(a, NULL, NULL), 0);
	t_int(store_sync(b, NULL, NULL), 0);
	told = tmsg(a, 0).modseq;
	t_ok(told <= store_highestmodseq(a));

	/* b changes message 1: a still shows the old flags, so it must not
	 * pair them with b's MODSEQ (a CONDSTORE client would then miss the
	 * change); it tells its own HIGHESTMODSEQ until its sync reports it */
	t_int(store_set_flags(b, 0, STORE_FLAGS_ADD, STORE_F_FLAGGED, 0, 0), 0);
	t_ok(tmsg(b, 0).modseq > store_highestmodseq(a));
	t_ok(!(tmsg(a, 0).flags & STORE_F_FLAGGED));
	t_int(tmsg(a, 0).modseq, store_highestmodseq(a));
	t_int(store_msg_modseq(a, 0), store_highestmodseq(a));
	t_ok(tmsg(a, 0).modseq >= told);

	/* a's own change is told at once (the STORE's answer), also with
	 * b's change still unreported */
	t_int(store_set_flags(a, 1, STORE_FLAGS_ADD, STORE_F_SEEN, 0, 0), 0);
	own = tmsg(a, 1).modseq;
	t_ok(own > tmsg(b, 0).modseq);
	t_int(store_msg_modseq(a, 1), own);

	/* b expunges what a just changed: a's view keeps the message until
	 * its sync and must not tell a smaller MODSEQ for it meanwhile */
	uid = store_msg_uid(a, 1);
	t_int(store_sync(b, NULL, NULL), 0);
	t_int(store_expunge(b, &uid, 1), 0);
	t_int(store_msg_modseq(a, 1), own);
	t_int(tmsg(a, 1).modseq, own);
	t_str(tmsg(a, 1).name, "");		/* gone: FETCH skips it */

	/* after a's sync: the index's values, b's change reported */
	t_int(store_sync(a, NULL, NULL), 0);
	t_int(store_count(a), 2);
	t_ok(tmsg(a, 0).flags & STORE_F_FLAGGED);
	t_int(tmsg(a, 0).modseq, tmsg(b, 0).modseq);
	store_close(&b);
	store_close(&a);
}

int
main(void)
{
	t_begin("store_shared");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lb-storeshared-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_shared();
	test_view_modseq();
	rm_tree(tmpdir);
	return t_end();
}
