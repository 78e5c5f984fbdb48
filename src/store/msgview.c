/*
 * The session's view of a folder (store.h: "The session's view"): which
 * messages it shows, in order, and the flags it last reported.  That is
 * all a handle keeps per message (struct view_ent, 12 bytes); names,
 * sizes, MODSEQs and internal dates are read from the index snapshot the
 * process shares (flock.c), under the folder mutex, when asked for.
 *
 * A message another handle expunged stays in this view until this
 * handle's sync reports it; meanwhile the index no longer has it, so it
 * shows with its last flags and no file (store_msg_open: ENOENT).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/xmalloc.h"
#include "store/ownset.h"
#include "store/store_int.h"

void
st_view_free(struct store_mailbox *mb)
{
	free(mb->vw);
	if (mb->own != NULL)
		ownset_free(mb->own);
	free(mb->own);
	mb->vw = NULL;
	mb->own = NULL;
	mb->nmsgs = 0;
}

/* The index record of uid (mutex held), trying next to the last hit first:
 * FETCH 1:* and SEARCH walk the view in order. */
static struct ul_rec *
rec_of(const struct store_mailbox *mb, uint32_t uid)
{
	/* Only a lookup hint: const callers (store_msg_get) move it too. */
	size_t			*hint = &((struct store_mailbox *)mb)->v_hint;
	struct uidlist		*ul = mb->ul;
	struct ul_rec		*r;
	size_t			 h = *hint;

	if (ul->uidvalidity != mb->v_uidvalidity)
		return NULL;	/* rebuilt: our UIDs name other messages */
	if (h < ul->n && ul->recs[h].uid == uid)
		return &ul->recs[h];
	if (h + 1 < ul->n && ul->recs[h + 1].uid == uid) {
		*hint = h + 1;
		return &ul->recs[h + 1];
	}
	if ((r = ul_find_uid(ul, uid)) != NULL)
		*hint = (size_t)(r - ul->recs);
	return r;
}

/*
 * The MODSEQ to tell for view entry v whose index record is r (mutex
 * held; NULL: gone from the index).  The shared index may be ahead of the
 * view: another session changed the message and this view has not
 * reported it yet.  Telling that MODSEQ with the flags the view still
 * shows would let a CONDSTORE client cache the old flags under the new
 * MODSEQ and miss the change for good (CHANGEDSINCE skips it), and would
 * go backwards once told.  So a MODSEQ past the view's HIGHESTMODSEQ is
 * told only when it is this handle's own change (a STORE's answer); else
 * the view's HIGHESTMODSEQ, at which the flags it shows held, until the
 * sync reports the change.  Never decreases: both bounds only grow.
 */
static uint64_t
view_modseq(const struct store_mailbox *mb, const struct view_ent *v, const struct ul_rec *r)
{
	uint64_t	ms = mb->v_highestmodseq > 0 ? mb->v_highestmodseq : 1, own;

	if (r != NULL && r->modseq <= ms)
		return r->modseq;
	/* gone from the index (another session's EXPUNGE): our own last change
	 * may still have been told, e.g. the STORE that set \Deleted */
	if (mb->own != NULL && ownset_get(mb->own, v->uid, &own) &&
	    (r == NULL || own <= r->modseq) && own > ms)
		ms = own;
	return ms;
}

static void
view_fill(const struct store_mailbox *mb, size_t idx, struct store_msg *m, bool indexed)
{
	const struct view_ent	*v = &mb->vw[idx];
	const struct ul_rec	*r = indexed ? rec_of(mb, v->uid) : NULL;
	size_t			 len;

	/* Field by field: zeroing all of name[] would cost more than the rest. */
	m->uid = v->uid;
	m->flags = v->flags & STORE_F_ALL;
	m->keywords = v->keywords;
	m->recent = (v->flags & VIEW_RECENT) != 0;
	m->in_new = false;
	m->modseq = view_modseq(mb, v, r);
	m->size = m->vsize = 0;
	m->base_len = 0;
	m->idate_ = 0;
	m->name[0] = '\0';
	if (r == NULL || (len = strlen(r->name)) >= sizeof(m->name))
		return;
	memcpy(m->name, r->name, len + 1);
	m->in_new = r->in_new;
	m->size = r->size;
	m->vsize = r->vsize;
	m->base_len = r->base_len;
	m->idate_ = r->idate;
}

void
st_view_get(const struct store_mailbox *mb, size_t idx, struct store_msg *m)
{
	/* Holding the lock means holding the mutex (st_lock). */
	bool	take = mb->lockfd == -1;
	bool	ok = !take || st_mutex_lock(mb) == 0;

	view_fill(mb, idx, m, ok);
	if (take && ok)
		st_mutex_unlock(mb);
}

size_t
store_count(const struct store_mailbox *mb)
{
	return mb->nmsgs;
}

int
store_msg_get(const struct store_mailbox *mb, size_t idx, struct store_msg *m_r)
{
	if (idx >= mb->nmsgs) {
		errno = EINVAL;
		return -1;
	}
	st_view_get(mb, idx, m_r);
	return 0;
}

uint32_t
store_msg_uid(const struct store_mailbox *mb, size_t idx)
{
	return idx < mb->nmsgs ? mb->vw[idx].uid : 0;
}

uint32_t
store_msg_flags(const struct store_mailbox *mb, size_t idx)
{
	return idx < mb->nmsgs ? mb->vw[idx].flags & STORE_F_ALL : 0;
}

uint32_t
store_msg_keywords(const struct store_mailbox *mb, size_t idx)
{
	return idx < mb->nmsgs ? mb->vw[idx].keywords : 0;
}

uint64_t
store_msg_modseq(const struct store_mailbox *mb, size_t idx)
{
	bool			 take = mb->lockfd == -1;
	const struct ul_rec	*r;
	uint64_t		 ms;

	if (idx >= mb->nmsgs)
		return 0;
	/* Gone from the index (or no mutex): as view_fill says then. */
	ms = mb->v_highestmodseq > 0 ? mb->v_highestmodseq : 1;
	if (take && st_mutex_lock(mb) == -1)
		return ms;
	r = rec_of(mb, mb->vw[idx].uid);
	ms = view_modseq(mb, &mb->vw[idx], r);
	if (take)
		st_mutex_unlock(mb);
	return ms;
}

bool
store_msg_recent(const struct store_mailbox *mb, size_t idx)
{
	return idx < mb->nmsgs && (mb->vw[idx].flags & VIEW_RECENT) != 0;
}

size_t
store_lower_bound(const struct store_mailbox *mb, uint32_t uid)
{
	size_t	lo = 0, hi = mb->nmsgs, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (mb->vw[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

ssize_t
store_find_uid(const struct store_mailbox *mb, uint32_t uid)
{
	size_t	i = store_lower_bound(mb, uid);

	return i < mb->nmsgs && mb->vw[i].uid == uid ? (ssize_t)i : -1;
}

/* ---- this handle's own flag changes ---- */

void
st_view_flags(struct store_mailbox *mb, size_t idx, const struct ul_rec *r, bool changed)
{
	struct view_ent	*v = &mb->vw[idx];
	uint32_t	 f, k;

	name_flags(r->name, &f, &k);
	v->flags = f | (v->flags & VIEW_RECENT);
	v->keywords = k;
	if (!changed)
		return;
	if (mb->own == NULL)
		mb->own = xcalloc(1, sizeof(*mb->own));
	ownset_add(mb->own, r->uid, r->modseq);
}

/* Was r's last change our own?  own is folded (by UID); *k walks it along. */
static bool
own_change(const struct store_mailbox *mb, size_t *k, const struct ul_rec *r)
{
	const struct ownset	*o = mb->own;

	if (o == NULL)
		return false;
	while (*k < o->n && o->v[*k].uid < r->uid)
		(*k)++;
	return *k < o->n && o->v[*k].uid == r->uid && o->v[*k].modseq == r->modseq;
}

/* ---- merging the index into the view (store_sync) ---- */

void
st_ev_expunged(struct sync_ev *ev, size_t idx, uint32_t uid)
{
	if (ev->nx == ev->xcap) {
		ev->xcap = ev->xcap ? ev->xcap * 2 : 16;
		ev->xidx = xreallocarray(ev->xidx, ev->xcap, sizeof(*ev->xidx));
		ev->xuid = xreallocarray(ev->xuid, ev->xcap, sizeof(*ev->xuid));
	}
	ev->xidx[ev->nx] = idx;
	ev->xuid[ev->nx++] = uid;
}

void
st_ev_fire(struct sync_ev *ev, const struct store_sync_cb *cb, void *arg)
{
	size_t	k;

	for (k = 0; cb != NULL && cb->expunged != NULL && k < ev->nx; k++)
		cb->expunged(arg, ev->xidx[k], ev->xuid[k]);
	for (k = 0; cb != NULL && cb->changed != NULL && k < ev->nchg; k++)
		cb->changed(arg, ev->chg[k]);
	free(ev->xidx);
	free(ev->xuid);
	free(ev->chg);
	memset(ev, 0, sizeof(*ev));
}

/*
 * A message of both is reported changed when its flags differ from what
 * the view was told, or its MODSEQ is past the view's HIGHESTMODSEQ and
 * not from our own change (CONDSTORE clients want the new MODSEQ).
 */
static bool
view_changed(const struct store_mailbox *mb, struct view_ent *v, const struct ul_rec *r,
    size_t *k)
{
	uint32_t	f, kw;
	bool		chg;

	name_flags(r->name, &f, &kw);
	chg = (v->flags & STORE_F_ALL) != f || v->keywords != kw ||
	    (r->modseq > mb->v_highestmodseq && !own_change(mb, k, r));
	v->flags = f | (v->flags & VIEW_RECENT);
	v->keywords = kw;
	return chg;
}

void
st_view_reconcile(struct store_mailbox *mb, struct sync_ev *ev)
{
	struct uidlist		*ul = mb->ul;
	struct view_ent		*out;
	struct ul_rec		*r;
	size_t			 i = 0, j = 0, n = 0, k = 0;
	uint32_t		 f, kw;

	/* Nothing new since the last time: no work that grows with the folder. */
	if (mb->v_version == ul->version && mb->v_uidvalidity == ul->uidvalidity)
		return;
	/* Index rebuilt (new UIDVALIDITY): the old UIDs mean nothing, all
	 * of the view goes (IMAP must then close the session, RFC 3501 2.3.1.1). */
	if (mb->v_uidvalidity != 0 && mb->v_uidvalidity != ul->uidvalidity) {
		for (i = 0; i < mb->nmsgs; i++)
			st_ev_expunged(ev, 0, mb->vw[i].uid);
		mb->nmsgs = 0;
		if (mb->own != NULL)
			ownset_reset(mb->own);
		i = 0;
		cache_reset(mb);
	}
	if (mb->own != NULL)
		ownset_fold(mb->own);
	/* Exactly the index's size: the view is most of a session's memory. */
	out = xreallocarray(NULL, ul->n + 1, sizeof(*out));
	ev->chg = xreallocarray(NULL, mb->nmsgs + 1, sizeof(*ev->chg));
	while (i < mb->nmsgs || j < ul->n) {
		r = j < ul->n ? &ul->recs[j] : NULL;
		if (r == NULL || (i < mb->nmsgs && mb->vw[i].uid < r->uid)) {
			/* In the view, gone from the index: expunged. */
			st_ev_expunged(ev, n, mb->vw[i].uid);
			i++;
			continue;
		}
		if (i < mb->nmsgs && mb->vw[i].uid == r->uid) {
			out[n] = mb->vw[i++];
			if (view_changed(mb, &out[n], r, &k))
				ev->chg[ev->nchg++] = n;
		} else {
			/* New to this view. */
			name_flags(r->name, &f, &kw);
			out[n].uid = r->uid;
			out[n].flags = f;
			out[n].keywords = kw;
			if (r->uid >= mb->recent_lo && r->uid < mb->recent_hi)
				out[n].flags |= VIEW_RECENT;
		}
		n++;
		j++;
	}
	free(mb->vw);
	mb->vw = out;
	mb->nmsgs = n;
	if (mb->own != NULL)
		ownset_reset(mb->own);
	mb->v_uidvalidity = ul->uidvalidity;
	mb->v_uidnext = ul->uidnext;
	mb->v_highestmodseq = ul->highestmodseq;
	mb->v_version = ul->version;
}

/* ---- the message's file ---- */

int
store_msg_path(const struct store_mailbox *mb, size_t idx, char *dst, size_t dstsz)
{
	struct store_msg	m;

	if (store_msg_get(mb, idx, &m) == -1)
		return -1;
	if (m.name[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	return st_join(dst, dstsz, mb->dir, m.in_new ? "/new/" : "/cur/", m.name);
}

int
st_relocate(struct store_mailbox *mb, struct store_msg *m)
{
	char	*nname;
	bool	 in_new;
	int	 rc;

	if (m->name[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	rc = st_find_base(mb, m->name, m->base_len, &nname, &in_new);
	if (rc != 0) {
		if (rc == 1)
			errno = ENOENT;
		return -1;
	}
	if (strlen(nname) >= sizeof(m->name)) {
		free(nname);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(m->name, nname, strlen(nname) + 1);
	m->in_new = in_new;
	free(nname);
	st_scan_suspect(mb);
	return 0;
}

void
store_msg_dirs_hold(struct store_mailbox *mb)
{
	mb->dirs_held = true;
}

void
store_msg_dirs_release(struct store_mailbox *mb)
{
	int	i;

	for (i = 0; i < 2; i++) {
		if (mb->dirfd[i] != -1)
			close(mb->dirfd[i]);
		mb->dirfd[i] = -1;
	}
	mb->dirs_held = false;
}

int
st_dirfd(struct store_mailbox *mb, bool in_new)
{
	char	 path[PATH_MAX];
	int	*dfd = &mb->dirfd[in_new ? 0 : 1];

	if (!mb->dirs_held)
		return -1;
	if (*dfd == -1 && st_join(path, sizeof(path), mb->dir, in_new ? "/new" : "/cur", "") == 0)
		*dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return *dfd;
}

/* m's file, relative to its held directory when there is one. */
static int
open_file(struct store_mailbox *mb, const struct store_msg *m)
{
	char	 path[PATH_MAX];
	int	 dfd = st_dirfd(mb, m->in_new);

	if (dfd != -1)
		return openat(dfd, m->name, O_RDONLY | O_CLOEXEC);
	if (st_join(path, sizeof(path), mb->dir, m->in_new ? "/new/" : "/cur/", m->name) == -1)
		return -1;
	return open(path, O_RDONLY | O_CLOEXEC);
}

int
store_msg_open(struct store_mailbox *mb, size_t idx)
{
	struct store_msg	 m;
	int			 fd, tries;

	if (store_msg_get(mb, idx, &m) == -1)
		return -1;
	for (tries = 0; tries < 3; tries++) {
		if (m.name[0] == '\0') {
			errno = ENOENT;
			return -1;
		}
		fd = open_file(mb, &m);
		if (fd != -1 || errno != ENOENT)
			return fd;
		if (st_relocate(mb, &m) == -1)
			return -1;
	}
	errno = ENOENT;
	return -1;
}

/* The sizes a name without ",S=" leaves unknown: the file's (and its
 * ",W=" when it has one). */
void
st_rec_learn(struct ul_rec *r, uint64_t size, int64_t mtime)
{
	if (r->size == 0 && size > 0) {
		r->size = size;
		if (!name_size(r->name, r->base_len, 'W', &r->vsize))
			r->vsize = size;
		r->learned = true;
	}
	if (r->idate == 0 && mtime > 0) {
		r->idate = mtime;
		r->learned = true;
	}
}

void
st_learn(struct store_mailbox *mb, uint32_t uid, uint64_t size, int64_t mtime)
{
	bool		 take = mb->lockfd == -1;
	struct ul_rec	*r;

	if (take && st_mutex_lock(mb) == -1)
		return;
	if ((r = rec_of(mb, uid)) != NULL) {
		st_rec_learn(r, size, mtime);
		if (r->learned)
			mb->ul->learned = true;
	}
	if (take)
		st_mutex_unlock(mb);
}

/* One stat of message idx (m from store_msg_get): its size and mtime into
 * the index and m.  A file renamed elsewhere is found by store_msg_open. */
static int
msg_stat(struct store_mailbox *mb, size_t idx, struct store_msg *m)
{
	char		 path[PATH_MAX];
	struct stat	 st;
	int		 fd, rc;

	if (st_join(path, sizeof(path), mb->dir, m->in_new ? "/new/" : "/cur/", m->name) == -1)
		return -1;
	if ((rc = stat(path, &st)) == -1 && errno == ENOENT) {
		if ((fd = store_msg_open(mb, idx)) == -1)
			return -1;
		rc = fstat(fd, &st);
		close(fd);
	}
	if (rc == -1)
		return -1;
	st_learn(mb, m->uid, (uint64_t)st.st_size, st.st_mtime);
	if (m->size == 0) {
		m->size = (uint64_t)st.st_size;
		if (!name_size(m->name, m->base_len, 'W', &m->vsize))
			m->vsize = m->size;
	}
	if (m->idate_ == 0)
		m->idate_ = st.st_mtime;
	return 0;
}

int
store_msg_size(struct store_mailbox *mb, size_t idx, struct store_msg *m)
{
	if (m->size != 0)
		return 0;
	if (m->name[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	return msg_stat(mb, idx, m);
}

int64_t
store_msg_idate(struct store_mailbox *mb, size_t idx)
{
	struct store_msg	 m;
	int64_t			 sec, usec;

	if (store_msg_get(mb, idx, &m) == -1)
		return 0;
	if (m.idate_ != 0)
		return m.idate_;
	/* The stat learns the size too, when it is not known yet. */
	if (m.name[0] != '\0' && msg_stat(mb, idx, &m) == 0 && m.idate_ != 0)
		return m.idate_;
	name_time(m.name, &sec, &usec);
	m.idate_ = sec > 0 ? sec : 1;
	st_learn(mb, m.uid, 0, m.idate_);
	return m.idate_;
}
