/*
 * The per-folder index.  Two files, both only written under the folder
 * lock:
 *   letterbox-uidlist	a snapshot, written whole by temp + fsync + rename:
 *	LB2 V<uidvalidity> N<uidnext> M<highestmodseq> G<generation> R<first recent>
 *	x <lo> <hi> <modseq>			(expunged UID ranges, ascending)
 *	<uid> <modseq> <size> <vsize> <idate> <n|c> <file name>
 *   letterbox-uidlist.log	what changed since that snapshot (ullog.c),
 *	appended with one write + fdatasync per change; compacted into a
 *	new snapshot when it grows.
 * Lines are in UID order; 0 in size/vsize/idate means "not known yet".
 * Old "LB1" snapshots (no R, no x lines) are read too.  Also imports
 * Dovecot's dovecot-uidlist and Courier's courierimapuiddb (base name ->
 * UID) -- only when a folder's index is first created (store.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "store/store_int.h"

#define UL_MAX_FILE	(1024UL * 1024 * 1024)
#define UL_MAX_XRANGES	4096	/* more are merged (see ul_xr_add) */

/*
 * The names the snapshot gave its records live in one block (load_base):
 * 100,000 small mallocs were a fifth of a cold open, most of it first
 * touching the fresh heap pages.  A record whose name changes later gets a
 * malloc'd one; this frees a name of either kind.
 */
void
ul_name_free(const struct uidlist *ul, char *name)
{
	uintptr_t	p = (uintptr_t)name, a = (uintptr_t)ul->names;

	if (p < a || p >= a + ul->names_cap)
		free(name);
}

void
ul_clear(struct uidlist *ul)
{
	size_t	i;

	for (i = 0; i < ul->n; i++)
		ul_name_free(ul, ul->recs[i].name);
	if (ul->names != NULL)
		munmap(ul->names, ul->names_cap);
	free(ul->recs);
	free(ul->hash);
	free(ul->xr);
	free(ul->dirty);
	free(ul->pend);
	memset(ul, 0, sizeof(*ul));
}

/*
 * A hint that a big block (the records, the names) be backed by huge
 * pages: first touching 6.4 MB of 4 KiB pages (100,000 records) cost
 * ~20 ms here, 2 MiB pages almost nothing.  Only the 2 MiB-aligned middle
 * of a block can have them.
 */
static void
hugepage_hint(void *p, size_t len)
{
	const uintptr_t	 huge = 2u * 1024 * 1024;
	uintptr_t	 lo = ((uintptr_t)p + huge - 1) & ~(huge - 1);
	uintptr_t	 hi = ((uintptr_t)p + len) & ~(huge - 1);

	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

static void
recs_hugepage_hint(struct uidlist *ul)
{
	hugepage_hint(ul->recs, ul->cap * sizeof(*ul->recs));
}

/*
 * Fault in a block that is about to be filled in one call rather than a
 * trap per page: a trap costs ~10 us in this VM, and the records of
 * 100,000 messages are 1,600 pages where huge pages are not had.
 */
static void
prefault(void *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t	a = (uintptr_t)p & ~(uintptr_t)4095;

	(void)madvise((void *)a, len + ((uintptr_t)p - a), MADV_POPULATE_WRITE);
#else
	(void)p;
	(void)len;
#endif
}

struct ul_rec *
ul_add(struct uidlist *ul)
{
	struct ul_rec	*r;

	if (ul->n == ul->cap) {
		ul->cap = ul->cap ? ul->cap * 2 : 64;
		ul->recs = xreallocarray(ul->recs, ul->cap, sizeof(*ul->recs));
		recs_hugepage_hint(ul);
	}
	r = &ul->recs[ul->n++];
	memset(r, 0, sizeof(*r));
	ul->version++;
	return r;
}

void
ul_uncount(struct uidlist *ul, struct ul_rec *r)
{
	if (!r->counted)
		return;
	if (!r->counted_seen)
		ul->nunseen--;
	if (r->counted_new)
		ul->nnew--;
	ul->total_size -= r->counted_size;
	if (r->counted_nosize)
		ul->nosize--;
	r->counted = false;
}

void
ul_count(struct uidlist *ul, struct ul_rec *r)
{
	uint32_t	flags, kw;

	ul_uncount(ul, r);
	name_flags(r->name, &flags, &kw);
	r->counted = true;
	r->counted_seen = (flags & STORE_F_SEEN) != 0;
	r->counted_size = r->vsize;
	r->counted_new = r->in_new;
	r->counted_nosize = r->size == 0;
	if (r->counted_nosize)
		ul->nosize++;
	if (!r->counted_seen)
		ul->nunseen++;
	if (r->counted_new)
		ul->nnew++;
	ul->total_size += r->counted_size;
}

void
ul_touch(struct uidlist *ul, struct ul_rec *r)
{
	ul_count(ul, r);
	ul->version++;
	if (r->dirty)
		return;
	r->dirty = true;
	if (ul->ndirty == ul->dirtycap) {
		ul->dirtycap = ul->dirtycap ? ul->dirtycap * 2 : 16;
		ul->dirty = xreallocarray(ul->dirty, ul->dirtycap, sizeof(*ul->dirty));
	}
	ul->dirty[ul->ndirty++] = r->uid;
}

static void
hash_put(struct uidlist *ul, size_t i)
{
	struct ul_rec	*r = &ul->recs[i];
	size_t		 h = name_hash(r->name, r->base_len) & (ul->hcap - 1);

	while (ul->hash[h] != 0)
		h = (h + 1) & (ul->hcap - 1);
	ul->hash[h] = (uint32_t)i + 1;
}

/*
 * The base-name table is built when first looked up, not at every change:
 * only a scan of the directories uses it, and a new session on a folder
 * whose index is current never scans (hashing 100,000 names was a third
 * of opening such a folder).  hcap is set here already: it tells that
 * the records are complete enough to look names up in (see scan_dir).
 */
void
ul_rehash(struct uidlist *ul)
{
	size_t		 cap = 64;

	while (cap < ul->n * 2 + 16)
		cap *= 2;
	if (cap != ul->hcap) {
		free(ul->hash);
		ul->hash = NULL;
		ul->hcap = cap;
	}
	ul->hash_ok = false;
}

static void
hash_build(struct uidlist *ul)
{
	size_t	i;

	if (ul->hash == NULL)
		ul->hash = xcalloc(ul->hcap, sizeof(*ul->hash));
	else
		memset(ul->hash, 0, ul->hcap * sizeof(*ul->hash));
	for (i = 0; i < ul->n; i++)
		hash_put(ul, i);
	ul->hash_ok = true;
}

struct ul_rec *
ul_find_base(struct uidlist *ul, const char *name, size_t base_len)
{
	size_t		 h;
	struct ul_rec	*r;

	if (ul->hcap == 0)
		return NULL;
	if (!ul->hash_ok)
		hash_build(ul);
	h = name_hash(name, base_len) & (ul->hcap - 1);
	while (ul->hash[h] != 0) {
		r = &ul->recs[ul->hash[h] - 1];
		if (r->base_len == base_len && memcmp(r->name, name, base_len) == 0)
			return r;
		h = (h + 1) & (ul->hcap - 1);
	}
	return NULL;
}

/*
 * UIDs ascend, so uid's record is at most at index g = uid - first uid,
 * and in a folder with few expunges exactly there: one probe settles
 * most lookups (replaying the change log looks up every changed record,
 * and a binary search over 100,000 records missed the cache at each step).
 */
static size_t
lower_bound(const struct uidlist *ul, uint32_t uid)
{
	size_t	lo = 0, hi = ul->n, mid, g;

	if (ul->n > 0 && uid > ul->recs[0].uid) {
		g = uid - ul->recs[0].uid;
		if (g < ul->n && ul->recs[g].uid == uid)
			return g;
		if (g < ul->n)
			hi = g;		/* recs[g].uid > uid: the answer is before */
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ul->recs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct ul_rec *
ul_find_uid(struct uidlist *ul, uint32_t uid)
{
	size_t	lo = lower_bound(ul, uid);

	return lo < ul->n && ul->recs[lo].uid == uid ? &ul->recs[lo] : NULL;
}

void
ul_upsert(struct uidlist *ul, struct ul_rec *nr)
{
	size_t		 i = lower_bound(ul, nr->uid);
	struct ul_rec	*r;
	bool		 same_base;

	if (i < ul->n && ul->recs[i].uid == nr->uid) {
		r = &ul->recs[i];
		same_base = r->base_len == nr->base_len &&
		    memcmp(r->name, nr->name, r->base_len) == 0;
		ul_uncount(ul, r);
		ul_name_free(ul, r->name);
		*r = *nr;
		ul_count(ul, r);
		if (!same_base)
			ul_rehash(ul);
		ul->version++;
		return;
	}
	(void)ul_add(ul);
	memmove(&ul->recs[i + 1], &ul->recs[i], (ul->n - 1 - i) * sizeof(*ul->recs));
	ul->recs[i] = *nr;
	ul_count(ul, &ul->recs[i]);
	if (nr->uid >= ul->uidnext)
		ul->uidnext = nr->uid + 1;
	if (i == ul->n - 1)
		ul_hash_last(ul);
	else
		ul_rehash(ul);
}

/* New UIDs come last: one hash insert, unless the table fills up. */
void
ul_hash_last(struct uidlist *ul)
{
	if (ul->hash_ok && ul->hcap >= ul->n * 2 + 16)
		hash_put(ul, ul->n - 1);
	else
		ul_rehash(ul);
}

void
ul_remove_range(struct uidlist *ul, uint32_t lo, uint32_t hi)
{
	size_t	i = lower_bound(ul, lo), j = i;

	while (j < ul->n && ul->recs[j].uid <= hi) {
		ul_uncount(ul, &ul->recs[j]);
		ul_name_free(ul, ul->recs[j++].name);
	}
	if (j == i)
		return;
	memmove(&ul->recs[i], &ul->recs[j], (ul->n - j) * sizeof(*ul->recs));
	ul->n -= j - i;
	ul_rehash(ul);
	ul->version++;
}

/* Is there a message with lo <= uid <= hi? */
static bool
live_between(const struct uidlist *ul, uint32_t lo, uint32_t hi)
{
	size_t	i;

	if (lo > hi)
		return false;
	i = lower_bound(ul, lo);
	return i < ul->n && ul->recs[i].uid <= hi;
}

/*
 * Ranges stay exact: two are joined only when nothing but expunged or
 * never-used UIDs lie between them and they share the modseq.  Past
 * UL_MAX_XRANGES the oldest distinctions go: neighbours are joined under
 * the higher modseq (VANISHED (EARLIER) may then name a few UIDs that
 * went a little before the client's modseq, which RFC 7162 3.2.5.1 allows).
 */
void
ul_xr_add(struct uidlist *ul, uint32_t lo, uint32_t hi, uint64_t modseq)
{
	struct ul_xrange	*last;
	size_t			 i, j;

	ul->version++;
	last = ul->nxr > 0 ? &ul->xr[ul->nxr - 1] : NULL;
	if (last != NULL && last->modseq == modseq && lo > last->hi &&
	    !live_between(ul, last->hi + 1, lo - 1)) {
		last->hi = hi;
		return;
	}
	if (ul->nxr == ul->xrcap) {
		ul->xrcap = ul->xrcap ? ul->xrcap * 2 : 16;
		ul->xr = xreallocarray(ul->xr, ul->xrcap, sizeof(*ul->xr));
	}
	/* Usually past the end; a foreign expunge of an old UID goes in order. */
	for (i = ul->nxr; i > 0 && ul->xr[i - 1].lo > lo; i--)
		;
	memmove(&ul->xr[i + 1], &ul->xr[i], (ul->nxr - i) * sizeof(*ul->xr));
	ul->xr[i].lo = lo;
	ul->xr[i].hi = hi;
	ul->xr[i].modseq = modseq;
	ul->nxr++;
	if (ul->nxr <= UL_MAX_XRANGES)
		return;
	for (i = 0, j = 1; j < ul->nxr; j++) {
		if (ul->xr[j].lo <= ul->xr[i].hi + 1 ||
		    !live_between(ul, ul->xr[i].hi + 1, ul->xr[j].lo - 1)) {
			if (ul->xr[j].hi > ul->xr[i].hi)
				ul->xr[i].hi = ul->xr[j].hi;
			if (ul->xr[j].modseq > ul->xr[i].modseq)
				ul->xr[i].modseq = ul->xr[j].modseq;
		} else
			ul->xr[++i] = ul->xr[j];
	}
	ul->nxr = i + 1;
}

void
ul_expunged(struct uidlist *ul, uint32_t uid, uint64_t modseq)
{
	struct ul_xrange	*p;
	struct ul_rec		*r;

	if ((r = ul_find_uid(ul, uid)) != NULL)
		ul_uncount(ul, r);
	ul_xr_add(ul, uid, uid, modseq);
	p = ul->npend > 0 ? &ul->pend[ul->npend - 1] : NULL;
	if (p != NULL && p->modseq == modseq && p->hi + 1 == uid) {
		p->hi = uid;
		return;
	}
	if (ul->npend == ul->pendcap) {
		ul->pendcap = ul->pendcap ? ul->pendcap * 2 : 8;
		ul->pend = xreallocarray(ul->pend, ul->pendcap, sizeof(*ul->pend));
	}
	ul->pend[ul->npend].lo = ul->pend[ul->npend].hi = uid;
	ul->pend[ul->npend++].modseq = modseq;
}

/* Open dir/file for reading, with its stat: 0, 1 missing, -1 (EFBIG: too big). */
static int
open_index_file(const char *dir, const char *file, int *fd_r, struct stat *st)
{
	char	path[PATH_MAX];
	int	fd, e;

	if (st_join(path, sizeof(path), dir, "/", file) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 1 : -1;
	e = fstat(fd, st) == -1 ? errno : (uint64_t)st->st_size > UL_MAX_FILE ? EFBIG : 0;
	if (e != 0) {
		close(fd);
		errno = e;
		return -1;
	}
	*fd_r = fd;
	return 0;
}

/* Read all of dir/file (NUL-terminated).  0 ok, 1 missing, -1 error. */
int
ul_read_file(const char *dir, const char *file, char **data_r, size_t *len_r)
{
	struct stat	 st;
	int		 fd, rc;
	char		*data;
	size_t		 got = 0;
	ssize_t		 r;

	if ((rc = open_index_file(dir, file, &fd, &st)) != 0)
		return rc;
	data = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		r = read(fd, data + got, (size_t)st.st_size - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	data[got] = '\0';
	*data_r = data;
	*len_r = got;
	return 0;
}

/*
 * Next space-separated field of [*p, end) as a number (at most
 * UINT64_MAX / 2).  One pass over the digits: it runs six times for each
 * of the index's lines when a folder is opened.
 */
static int
field_u64(const char **p, const char *end, uint64_t *v_r)
{
	const char	*s = *p;
	uint64_t	 v = 0;
	size_t		 nd = 0;

	for (; s < end && *s != ' '; s++, nd++) {
		if (*s < '0' || *s > '9' || nd == 19)
			return -1;	/* 19 digits cannot overflow 64 bits */
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (nd == 0 || v > UINT64_MAX / 2)
		return -1;
	*v_r = v;
	*p = s < end ? s + 1 : s;
	return 0;
}

/*
 * Header "LB2 V.. N.. M.. G.. R.. C.. U.. Z.. E.. K.. A.. [Q..]" (or LB1): C
 * messages, U unseen, Z total CRLF size of those whose size is known, Q
 * how many are not (absent: 0; never fewer than after any commit of the
 * log that follows, see ullog.c needs_compaction), E/K new/ and cur/
 * mtimes (ns) at the last scan, A its time.  0, or -1 if malformed.
 */
int
ul_parse_header(const char *s, size_t len, struct uidlist *ul)
{
	const char	*p = s, *end = s + len, *e;
	uint64_t	 v;

	if (len < 4 || (memcmp(s, "LB1 ", 4) != 0 && memcmp(s, "LB2 ", 4) != 0))
		return -1;
	p += 4;
	while (p < end) {
		e = memchr(p, ' ', (size_t)(end - p));
		if (e == NULL)
			e = end;
		if (e - p < 2 || parse_u64(p + 1, (size_t)(e - p - 1), UINT64_MAX / 2, &v) == -1)
			return -1;
		switch (*p) {
		case 'V': ul->uidvalidity = (uint32_t)v; break;
		case 'N': ul->uidnext = (uint32_t)v; break;
		case 'M': ul->highestmodseq = v; break;
		case 'G': ul->gen = v; break;
		case 'R': ul->first_recent = (uint32_t)v; break;
		case 'C': ul->hdr_messages = (uint32_t)v; break;
		case 'U': ul->nunseen = (uint32_t)v; break;
		case 'Z': ul->total_size = v; break;
		case 'E': ul->scan_new_ns = v; break;
		case 'K': ul->scan_cur_ns = v; break;
		case 'A': ul->scan_at = (int64_t)v; break;
		case 'Q': ul->nosize = (uint32_t)v; break;
		default: break;		/* fields of later versions */
		}
		p = e + 1;
	}
	return ul->uidvalidity != 0 && ul->uidnext != 0 ? 0 : -1;
}

void
ul_hvals_get(const struct uidlist *ul, uint64_t v[UL_HVALS])
{
	v[0] = ul->uidnext;
	v[1] = ul->highestmodseq;
	v[2] = ul->first_recent;
	v[3] = ul->n;
	v[4] = ul->nunseen;
	v[5] = ul->total_size;
	v[6] = ul->scan_new_ns;
	v[7] = ul->scan_cur_ns;
	v[8] = (uint64_t)ul->scan_at;
}

/* Only what a reader cannot count itself: the rest it keeps by ul_count. */
void
ul_hvals_set(struct uidlist *ul, const uint64_t v[UL_HVALS])
{
	ul->uidnext = (uint32_t)v[0];
	ul->highestmodseq = v[1];
	ul->first_recent = (uint32_t)v[2];
	ul->scan_new_ns = v[6];
	ul->scan_cur_ns = v[7];
	ul->scan_at = (int64_t)v[8];
	ul->version++;
}

/* The fields of a record line; its name is [*name_r, nl), not copied. */
static int
parse_rec_fields(const char *p, const char *nl, struct ul_rec *r, const char **name_r)
{
	uint64_t	uid, modseq, size, vsize, idate;

	if (field_u64(&p, nl, &uid) == -1 || field_u64(&p, nl, &modseq) == -1 ||
	    field_u64(&p, nl, &size) == -1 || field_u64(&p, nl, &vsize) == -1 ||
	    field_u64(&p, nl, &idate) == -1 || nl - p < 3 ||
	    (p[0] != 'n' && p[0] != 'c') || p[1] != ' ' || uid == 0 || uid > UINT32_MAX)
		return -1;
	memset(r, 0, sizeof(*r));
	r->uid = (uint32_t)uid;
	r->modseq = modseq;
	r->size = size;
	r->vsize = vsize;
	r->idate = (int64_t)idate;
	r->in_new = p[0] == 'n';
	*name_r = p + 2;
	return 0;
}

int
ul_parse_rec(const char *p, const char *nl, struct ul_rec *r)
{
	const char	*name;

	if (parse_rec_fields(p, nl, r, &name) == -1)
		return -1;
	r->name = xstrndup(name, (size_t)(nl - name));
	r->base_len = (uint16_t)name_base_len(r->name);
	return 0;
}

int
ul_format_rec(struct buf *b, const struct ul_rec *r)
{
	return buf_addf(b, "%u %llu %llu %llu %lld %c %s\n", r->uid,
	    (unsigned long long)r->modseq, (unsigned long long)r->size,
	    (unsigned long long)r->vsize, (long long)r->idate,
	    r->in_new ? 'n' : 'c', r->name);
}

void
ul_fstate_set(struct ul_fstate *fs, const struct stat *st)
{
	fs->ino = st->st_ino;
	fs->size = st->st_size;
	fs->mtim = st->st_mtim;
}

static int
fstate_get(const char *dir, const char *file, struct ul_fstate *st_r)
{
	char		path[PATH_MAX];
	struct stat	st;

	if (st_join(path, sizeof(path), dir, "/", file) == -1 || stat(path, &st) == -1)
		return -1;
	ul_fstate_set(st_r, &st);
	return 0;
}

static bool
fstate_same(const struct ul_fstate *a, const struct ul_fstate *b)
{
	return a->ino == b->ino && a->size == b->size && a->mtim.tv_sec == b->mtim.tv_sec &&
	    a->mtim.tv_nsec == b->mtim.tv_nsec;
}

bool
ul_current(const struct uidlist *ul, const char *dir)
{
	struct ul_fstate	st;

	/* Every change appends to the log or replaces it (new inode); the
	 * snapshot is checked too: someone may have replaced it (shared
	 * snapshots live as long as a session). */
	return ul->loaded && ul->log_ok && fstate_get(dir, UIDLIST_LOG, &st) == 0 &&
	    fstate_same(&st, &ul->logst) && fstate_get(dir, UIDLIST_FILE, &st) == 0 &&
	    fstate_same(&st, &ul->basest);
}

/*
 * Map the snapshot read-only (MAP_POPULATE: one call maps its pages).
 * Not read(2) into a buffer: at 100,000 messages that buffer was 6.5 MB
 * of fresh memory, and first touching fresh pages is most of what a
 * cold open costs on this kind of machine (a VM: ~10 us a page).  The
 * file is never written in place (temp + rename), so the map stays whole.
 * 0 ok (*data_r: munmap(len) it), 1 missing, -1 error.
 */
static int
map_snapshot(const char *dir, const char **data_r, size_t *len_r, struct ul_fstate *st_r)
{
	struct stat	 st;
	void		*map;
	int		 fd, rc;

	if ((rc = open_index_file(dir, UIDLIST_FILE, &fd, &st)) != 0)
		return rc;
	/* The inode read: a snapshot replaced meanwhile differs next time. */
	ul_fstate_set(st_r, &st);
	map = st.st_size > 0 ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE |
	    MAP_POPULATE, fd, 0) : NULL;
	close(fd);
	if (map == MAP_FAILED)
		return -1;
	*data_r = map;
	*len_r = (size_t)st.st_size;
	return 0;
}

static void
unmap_snapshot(const char *data, size_t len)
{
	if (data != NULL)
		munmap((void *)(uintptr_t)data, len);
}

/* Give back the pages of the names block past its first used bytes. */
static void
names_trim(struct uidlist *ul, size_t used)
{
	size_t	pg = (size_t)sysconf(_SC_PAGESIZE), keep = (used + pg - 1) / pg * pg;

	if (keep == 0)
		keep = pg;
	if (keep < ul->names_cap) {
		munmap(ul->names + keep, ul->names_cap - keep);
		ul->names_cap = keep;
	}
}

/* The snapshot alone.  0 ok, 1 missing or broken. */
static int
load_base(struct uidlist *ul, const char *dir)
{
	const char	*data = NULL, *nl, *line, *end;
	size_t		 len, used = 0;
	uint64_t	 lo, hi, modseq;
	const char	*p;
	struct ul_rec	*r;
	struct ul_fstate bst;
	int		 rc;

	memset(&bst, 0, sizeof(bst));
	rc = map_snapshot(dir, &data, &len, &bst);
	if (rc != 0)
		return rc;
	ul_clear(ul);
	ul->basest = bst;
	if (len == 0)
		goto bad;	/* (no map: data is NULL) */
	end = data + len;
	nl = memchr(data, '\n', len);
	if (nl == NULL || ul_parse_header(data, (size_t)(nl - data), ul) == -1)
		goto bad;
	ul->log_required = memcmp(data, "LB2 ", 4) == 0;
	/* Room for every name (each is shorter than its line); the unused
	 * tail is given back below. */
	ul->names = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ul->names == MAP_FAILED) {
		ul->names = NULL;
		goto bad;
	}
	ul->names_cap = len;
	hugepage_hint(ul->names, len);
	/* The header's count sizes the array once (room for the log's new
	 * messages too): no doubling copies of a 100,000-record array. */
	if (ul->hdr_messages > 0 && ul->hdr_messages <= len / 16) {
		ul->cap = (size_t)ul->hdr_messages + ul->hdr_messages / 16 + 64;
		ul->recs = xreallocarray(NULL, ul->cap, sizeof(*ul->recs));
		recs_hugepage_hint(ul);
		prefault(ul->recs, ul->cap * sizeof(*ul->recs));
	}
	for (line = nl + 1; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			goto bad;	/* never happens: written whole then renamed */
		if (line[0] == 'x') {
			p = line + 2;
			if (nl - line < 2 || field_u64(&p, nl, &lo) == -1 ||
			    field_u64(&p, nl, &hi) == -1 || field_u64(&p, nl, &modseq) == -1 ||
			    lo == 0 || lo > hi || hi > UINT32_MAX)
				goto bad;
			ul_xr_add(ul, (uint32_t)lo, (uint32_t)hi, modseq);
			continue;
		}
		r = ul_add(ul);
		if (parse_rec_fields(line, nl, r, &p) == -1 ||
		    (ul->n > 1 && r->uid <= ul->recs[ul->n - 2].uid)) {
			ul->n--;
			goto bad;
		}
		r->name = ul->names + used;
		memcpy(r->name, p, (size_t)(nl - p));
		r->name[nl - p] = '\0';
		used += (size_t)(nl - p) + 1;
		/* Of the string (a NUL byte in the line would end it). */
		r->base_len = (uint16_t)name_base_len(r->name);
		if (r->uid >= ul->uidnext)
			ul->uidnext = r->uid + 1;
	}
	/* Count ourselves rather than trust the header's totals. */
	ul->nunseen = 0;
	ul->nnew = 0;
	ul->total_size = 0;
	ul->snap_nosize = ul->nosize;	/* the header's Q */
	ul->nosize = 0;
	for (size_t i = 0; i < ul->n; i++)
		ul_count(ul, &ul->recs[i]);
	if (ul->first_recent == 0)
		ul->first_recent = ul->uidnext;	/* LB1: nothing is recent */
	ul->base_size = (off_t)len;
	unmap_snapshot(data, len);
	names_trim(ul, used);
	ul_rehash(ul);
	return 0;
bad:
	/* A broken index is rebuilt from the Maildir (new UIDVALIDITY). */
	unmap_snapshot(data, len);
	ul_clear(ul);
	return 1;
}

/* Read the log from ul->log_off on and apply its whole commits. */
static int
load_log_tail(struct uidlist *ul, const char *dir, bool from_start)
{
	char		 path[PATH_MAX], *data;
	struct stat	 st;
	uint64_t	 gen;
	size_t		 len, hdr;
	ssize_t		 got, used;
	int		 fd;
	const char	*nl;

	if (st_join(path, sizeof(path), dir, "/", UIDLIST_LOG) == -1)
		return -1;
	/* No log beside a snapshot that had one: its changes (UIDs handed
	 * out, expunges) are lost, so these UIDs cannot be trusted. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno != ENOENT ? -1 : ul->log_required ? 3 : 1;
	if (fstat(fd, &st) == -1 || (uint64_t)st.st_size > UL_MAX_FILE) {
		close(fd);
		return -1;
	}
	if (from_start)
		ul->log_off = 0;
	len = st.st_size > ul->log_off ? (size_t)(st.st_size - ul->log_off) : 0;
	data = xmalloc(len + 1);
	got = len > 0 ? pread(fd, data, len, ul->log_off) : 0;
	close(fd);
	if (got < 0) {
		free(data);
		return -1;
	}
	len = (size_t)got;
	hdr = 0;
	if (from_start) {
		/* "LBL1 G<gen>": a log of another snapshot is stale (a crash
		 * between the two renames of a compaction): ignore it. */
		nl = memchr(data, '\n', len);
		if (nl == NULL || nl - data < 6 || memcmp(data, "LBL1 G", 6) != 0 ||
		    parse_u64(data + 6, (size_t)(nl - data - 6), UINT64_MAX / 2, &gen) == -1) {
			free(data);
			return 3;
		}
		if (gen != ul->gen) {
			free(data);
			return gen > ul->gen ? 2 : 1;
		}
		hdr = (size_t)(nl - data + 1);
	}
	used = ullog_apply(ul, data + hdr, len - hdr);
	free(data);
	if (used == -1)
		return 3;	/* garbled: rebuild rather than guess */
	ul->log_off += (off_t)(hdr + (size_t)used);
	ul_fstate_set(&ul->logst, &st);
	ul->log_ok = true;
	ul->disk_uidnext = ul->uidnext;
	return 0;
}

int
ul_load(struct uidlist *ul, const char *dir)
{
	struct ul_fstate	st;
	int			tries, rc;

	/* Same snapshot and log, grown: only the new tail. */
	if (ul->loaded && ul->log_ok && fstate_get(dir, UIDLIST_FILE, &st) == 0 &&
	    fstate_same(&st, &ul->basest) && fstate_get(dir, UIDLIST_LOG, &st) == 0 &&
	    st.ino == ul->logst.ino && st.size >= ul->logst.size) {
		if (fstate_same(&st, &ul->logst))
			return 0;
		if (load_log_tail(ul, dir, false) == 0)
			return 0;
	}
	for (tries = 0; tries < 5; tries++) {
		if ((rc = load_base(ul, dir)) != 0)
			return rc;
		ul->loaded = true;
		rc = load_log_tail(ul, dir, true);
		if (rc == 2 && tries < 4)
			continue;	/* compacted between our two reads */
		if (rc == 2 || rc == 3) {
			/* A log newer than any snapshot (should not happen, see
			 * ul_write), a missing or garbled one: the UIDs cannot be
			 * trusted; rebuild (with a new UIDVALIDITY). */
			ul_clear(ul);
			return 1;
		}
		if (rc == -1)
			return -1;
		if (rc == 1)
			ul->log_ok = false;	/* the next commit starts a new log */
		ul->disk_uidnext = ul->uidnext;
		return 0;
	}
	errno = EAGAIN;
	return -1;
}

int
ul_write(struct uidlist *ul, const char *dir, bool dosync)
{
	char		 tmp[PATH_MAX], path[PATH_MAX];
	struct buf	 b;
	size_t		 i;
	int		 fd, saved;

	if (st_join(tmp, sizeof(tmp), dir, "/", UIDLIST_FILE ".tmp") == -1 ||
	    st_join(path, sizeof(path), dir, "/", UIDLIST_FILE) == -1)
		return -1;
	buf_init(&b, UL_MAX_FILE);
	ul->gen++;
	buf_addf(&b, "LB2 V%u N%u M%llu G%llu R%u C%zu U%u Z%llu E%llu K%llu A%lld",
	    ul->uidvalidity, ul->uidnext, (unsigned long long)ul->highestmodseq,
	    (unsigned long long)ul->gen, ul->first_recent, ul->n, ul->nunseen,
	    (unsigned long long)ul->total_size, (unsigned long long)ul->scan_new_ns,
	    (unsigned long long)ul->scan_cur_ns, (long long)ul->scan_at);
	/* Only when not 0, so older readers' headers look the same. */
	if (ul->nosize > 0)
		buf_addf(&b, " Q%u", ul->nosize);
	buf_addf(&b, "\n");
	for (i = 0; i < ul->nxr; i++)
		buf_addf(&b, "x %u %u %llu\n", ul->xr[i].lo, ul->xr[i].hi,
		    (unsigned long long)ul->xr[i].modseq);
	for (i = 0; i < ul->n; i++) {
		if (ul_format_rec(&b, &ul->recs[i]) == -1) {
			buf_clear(&b);
			errno = EFBIG;
			return -1;
		}
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1) {
		buf_clear(&b);
		return -1;
	}
	if (fs_write_all(fd, b.data, b.len) == -1 || (dosync && fdatasync(fd) == -1)) {
		saved = errno;
		close(fd);
		unlink(tmp);
		buf_clear(&b);
		errno = saved;
		return -1;
	}
	ul->base_size = (off_t)b.len;
	ul->snap_nosize = ul->nosize;
	buf_clear(&b);
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	(void)fstate_get(dir, UIDLIST_FILE, &ul->basest);
	/*
	 * The snapshot holds everything: a fresh log for it.  The snapshot's
	 * rename reaches the disk first: a new log beside the old snapshot
	 * would name a generation no snapshot has.
	 */
	if (dosync && fs_fsync_dir(dir) == -1)
		return -1;
	ul->log_ok = false;
	if (ullog_create(dir, ul->gen, dosync, &ul->logst, &ul->log_off) == -1 ||
	    (dosync && fs_fsync_dir(dir) == -1))
		return -1;
	ul->log_ok = true;
	for (i = 0; i < ul->n; i++)
		ul->recs[i].dirty = false;
	ul->ndirty = ul->npend = 0;
	ul->disk_uidnext = ul->uidnext;
	(void)uidv_write(dir, ul->uidvalidity, ul->uidnext, false);
	return 0;
}

/* ---- import of other servers' UID lists ---- */

static void
import_line(struct uidlist *ul, uint64_t uid, const char *name, size_t len)
{
	struct ul_rec	*r;
	size_t		 base;

	if (uid == 0 || uid > UINT32_MAX || len == 0)
		return;
	r = ul_add(ul);
	r->uid = (uint32_t)uid;
	r->name = xstrndup(name, len);
	base = name_base_len(r->name);
	r->name[base] = '\0';
	r->base_len = (uint16_t)base;
	if (r->uid >= ul->uidnext)
		ul->uidnext = r->uid + 1;
}

/*
 * Dovecot v3: "3 V<uidvalidity> N<uidnext> ..." then "<uid> [<ext> ...] :<base>".
 * Dovecot v1 and Courier: "1 <uidvalidity> <uidnext>" then "<uid> <name>".
 */
static int
import_parse(struct uidlist *ul, char *data, size_t len)
{
	char		*end = data + len, *line, *nl, *sp, *colon;
	const char	*p;
	uint64_t	 v, uid;
	int		 version;

	nl = memchr(data, '\n', len);
	if (nl == NULL || len < 2 || data[1] != ' ')
		return -1;
	version = data[0] - '0';
	if (version == 3) {
		p = data + 2;
		while (p < nl) {
			sp = memchr(p, ' ', (size_t)(nl - p));
			if (sp == NULL)
				sp = nl;
			if (sp - p >= 2 && parse_u64(p + 1, (size_t)(sp - p - 1), UINT32_MAX, &v) == 0) {
				if (*p == 'V')
					ul->uidvalidity = (uint32_t)v;
				else if (*p == 'N')
					ul->uidnext = (uint32_t)v;
			}
			p = sp + 1;
		}
	} else if (version == 1) {
		p = data + 2;
		if (field_u64(&p, nl, &v) == -1 || v > UINT32_MAX)
			return -1;
		ul->uidvalidity = (uint32_t)v;
		if (field_u64(&p, nl, &v) == -1 || v > UINT32_MAX)
			return -1;
		ul->uidnext = (uint32_t)v;
	} else
		return -1;
	if (ul->uidvalidity == 0)
		return -1;
	for (line = nl + 1; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			nl = end;
		sp = memchr(line, ' ', (size_t)(nl - line));
		if (sp == NULL || parse_u64(line, (size_t)(sp - line), UINT32_MAX, &uid) == -1)
			continue;
		if (version == 3) {
			colon = memchr(sp, ':', (size_t)(nl - sp));
			if (colon == NULL)
				continue;
			import_line(ul, uid, colon + 1, (size_t)(nl - colon - 1));
		} else
			import_line(ul, uid, sp + 1, (size_t)(nl - sp - 1));
	}
	return 0;
}

static int
rec_uid_cmp(const void *a, const void *b)
{
	const struct ul_rec *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

int
ul_import(struct uidlist *ul, const char *dir)
{
	static const char *const files[] = { "dovecot-uidlist", "courierimapuiddb" };
	char		*data;
	size_t		 len, i, j;
	int		 rc;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		rc = ul_read_file(dir, files[i], &data, &len);
		if (rc != 0)
			continue;
		ul_clear(ul);
		rc = import_parse(ul, data, len);
		free(data);
		if (rc == -1) {
			ul_clear(ul);
			continue;
		}
		qsort(ul->recs, ul->n, sizeof(*ul->recs), rec_uid_cmp);
		/* Drop duplicate UIDs (a corrupt list): keep the first. */
		for (i = j = 0; i < ul->n; i++) {
			if (j > 0 && ul->recs[j - 1].uid == ul->recs[i].uid) {
				ul_name_free(ul, ul->recs[i].name);
				continue;
			}
			ul->recs[j++] = ul->recs[i];
		}
		ul->n = j;
		ul_rehash(ul);
		return 0;
	}
	return 1;
}
