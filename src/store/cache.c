/*
 * Parsed-structure cache (letterbox-cache): per UID, the ENVELOPE, BODY,
 * BODYSTRUCTURE, PREVIEW strings and MIME part offsets of a message, so a second
 * FETCH never reparses it and BODY[1.2] reads only that part's bytes.
 *	header: "LBC4", u32 UIDVALIDITY, 8 bytes zero (LBC3: no PREVIEW)
 *	records (cache_rec.c): a group of up to CACHE_GROUP_MAX messages'
 *	payloads deflated together (before groups: one message a record)
 * A miss parses that message and the uncached ones after it in the view
 * (up to a group, CACHE_AHEAD_BYTES of files), as a FETCH 1:* will ask
 * for them next.  Append-only, one write(2) per group with O_APPEND, so
 * concurrent writers do not interleave.  A process maps the file read-only and keeps
 * an offset table (uid -> record) built from the record headers, both
 * shared by its handles on the folder (struct cache_shared, used under the
 * folder mutex); a handle keeps the last CACHE_RING decoded records.  A
 * record is used only when its base-name hash is the message's: should a
 * UID ever name another message (an index rebuilt by hand), the cache
 * cannot answer with the wrong message's ENVELOPE.  Only a cache: a record that does not parse ends the usable
 * part (the next writer starts a new file), a file for another UIDVALIDITY
 * or version is replaced, an expunge compacts it, and deleting it is safe.
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
#include "lib/fblob.h"
#include "lib/fsutil.h"
#include "lib/xmalloc.h"
#include "store/store_int.h"

#define CACHE_FILE_HDR	16
#define CACHE_FILE_MAX	(1024U * 1024 * 1024)	/* offsets fit 32 bits */

static void
cache_unmap(struct cache_shared *c)
{
	if (c->map != NULL)
		munmap((void *)(uintptr_t)c->map, c->maplen);
	c->map = NULL;
	c->maplen = 0;
}

void
cache_shared_clear(struct cache_shared *c)
{
	cache_unmap(c);
	free(c->tab);
	memset(c, 0, sizeof(*c));
}

/* The handle's decoded records (and its own state when it had no mutex);
 * the folder's shared state lives on with the other handles. */
void
cache_reset(struct store_mailbox *mb)
{
	struct cache_state	*c = &mb->cache;
	size_t			 i;

	for (i = 0; i < CACHE_RING; i++)
		cache_ent_clear(&c->ring[i]);
	c->ring_next = 0;
	free(c->graw);
	c->graw = NULL;
	c->grawlen = 0;
	c->gino = 0;
	cache_shared_clear(&c->own_sh);
}

/* Forget what we read of the file (gone or replaced): read it afresh. */
static void
cache_forget(struct cache_shared *c)
{
	cache_unmap(c);
	c->ino = 0;
	c->off = 0;
	c->ntab = 0;
	c->tab_sorted = true;
}

/* Fill the temp file fd with a then b, and rename it to path.  0 or -1. */
static int
write_new(int fd, const char *tmp, const char *path, const void *a, size_t alen,
    const void *b, size_t blen)
{
	int	rc = -1;

	if (fs_write_all(fd, a, alen) == 0 && (blen == 0 || fs_write_all(fd, b, blen) == 0))
		rc = 0;
	if (close(fd) == -1)
		rc = -1;
	if (rc == 0 && rename(tmp, path) == 0)
		return 0;
	unlink(tmp);
	return -1;
}

static void
file_header(unsigned char hdr[CACHE_FILE_HDR], uint32_t uidvalidity)
{
	memset(hdr, 0, CACHE_FILE_HDR);
	memcpy(hdr, "LBC4", 4);
	hdr[4] = (unsigned char)uidvalidity;
	hdr[5] = (unsigned char)(uidvalidity >> 8);
	hdr[6] = (unsigned char)(uidvalidity >> 16);
	hdr[7] = (unsigned char)(uidvalidity >> 24);
}

/* ---- the offset table ---- */

static void
tab_add(struct cache_shared *c, uint32_t uid, uint32_t off)
{
	if (c->ntab == c->tabcap) {
		c->tabcap = c->tabcap ? c->tabcap * 2 : 64;
		c->tab = xreallocarray(c->tab, c->tabcap, sizeof(*c->tab));
	}
	if (c->ntab > 0 && c->tab[c->ntab - 1].uid >= uid)
		c->tab_sorted = false;
	c->tab[c->ntab].uid = uid;
	c->tab[c->ntab++].off = off;
}

static int
slot_cmp(const void *a, const void *b)
{
	const struct cache_slot	*x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Offset of uid's record (the latest one written), or -1. */
static int64_t
tab_find(struct cache_shared *c, uint32_t uid)
{
	size_t	lo = 0, hi, mid, i, j;

	if (!c->tab_sorted && c->ntab > 1) {
		qsort(c->tab, c->ntab, sizeof(*c->tab), slot_cmp);
		for (i = j = 0; i < c->ntab; i++) {
			if (j > 0 && c->tab[j - 1].uid == c->tab[i].uid)
				j--;	/* a later record of the uid replaces it */
			c->tab[j++] = c->tab[i];
		}
		c->ntab = j;
		c->tab_sorted = true;
	}
	hi = c->ntab;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (c->tab[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->ntab && c->tab[lo].uid == uid ? (int64_t)c->tab[lo].off : -1;
}

/*
 * Let go of the map's resident pages (they stay in the page cache; a
 * later read faults them back in cheaply).  A FETCH 1:* reads every
 * record, and the file is ~400 bytes a message: without this the map
 * held 40 MB of resident pages per session at 100,000 messages, for
 * records each read once.  Called after a parse of the record headers
 * and every CACHE_DROP_BYTES of records inflated, so a handle keeps at
 * most about that many bytes of pages resident.
 */
#define CACHE_DROP_BYTES	(64 * 1024)

static void
cache_drop_pages(struct cache_shared *c)
{
	if (c->map != NULL)
		(void)madvise((void *)(uintptr_t)c->map, c->maplen, MADV_DONTNEED);
	c->touched = 0;
}

/*
 * The parse of a whole file's headers (a new handle's first look) touches
 * all of its pages: they go every PARSE_DROP_BYTES, not only at the end
 * (measured at 100,000 messages: the session's RSS peaked 40 MB higher
 * for a moment, the whole map, during a warm FETCH 1:*).
 */
#define PARSE_DROP_BYTES	(256 * 1024)

/* Record headers in map[off..len): into the table; returns the end of the whole ones. */
static size_t
cache_parse(struct cache_shared *c, size_t off, size_t len)
{
	size_t		rlen, i, n, page = (size_t)sysconf(_SC_PAGESIZE);
	size_t		dropped = off & ~(page - 1);
	int		r;

	while (off < len) {
		if (off - dropped >= PARSE_DROP_BYTES) {
			(void)madvise((void *)(uintptr_t)(c->map + dropped),
			    (off & ~(page - 1)) - dropped, MADV_DONTNEED);
			dropped = off & ~(page - 1);
		}
		if ((r = cache_rec_span(c->map + off, len - off, &rlen)) == -1) {
			c->bad = true;
			break;
		}
		if (r == 0)
			break;	/* being written (or a crash) */
		n = cache_rec_count(c->map + off);
		for (i = 0; i < n; i++)
			tab_add(c, cache_rec_uid(c->map + off, i), (uint32_t)off);
		off += rlen;
	}
	return off;
}

/*
 * Map the file again when it was replaced, others appended to it, or need
 * (an offset of our own appends) is past the map; read the new records.
 * Under the folder mutex, as everything that touches mb->cache.sh.
 */
static void
cache_map(struct store_mailbox *mb, size_t need)
{
	struct cache_shared	*c = mb->cache.sh;
	char			 path[PATH_MAX];
	unsigned char		 hdr[CACHE_FILE_HDR];
	struct stat		 st;
	void			*map;
	size_t			 off;
	int			 fd;

	if (st_join(path, sizeof(path), mb->dir, "/", CACHE_FILE) == -1)
		return;
	/* The index was rebuilt: check the file's header again. */
	if (c->uidv != mb->ul->uidvalidity) {
		cache_forget(c);
		c->uidv = mb->ul->uidvalidity;
	}
	/*
	 * A stat first: on a cold FETCH this runs once per message, and the
	 * file has mostly grown by our own appends only (nothing to map).
	 */
	if (stat(path, &st) == -1) {
		if (c->ino != 0)
			cache_forget(c);
		return;
	}
	if (st.st_ino != c->ino) {
		cache_forget(c);
		c->ino = st.st_ino;
		c->bad = false;
	}
	if (c->bad || (size_t)st.st_size <= c->maplen || (uint64_t)st.st_size > CACHE_FILE_MAX ||
	    (st.st_size == c->off && need <= c->maplen))
		return;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		if (fd != -1)
			close(fd);
		return;
	}
	/* replaced between the stat and the open: the next call starts over */
	if (st.st_ino != c->ino || (size_t)st.st_size <= c->maplen ||
	    (uint64_t)st.st_size > CACHE_FILE_MAX) {
		close(fd);
		return;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return;
	/* Decoded records are copies: the old map can go. */
	cache_unmap(c);
	c->map = map;
	c->maplen = (size_t)st.st_size;
	off = (size_t)c->off;
	if (off == 0) {
		file_header(hdr, c->uidv);
		if (c->maplen < CACHE_FILE_HDR || memcmp(c->map, hdr, CACHE_FILE_HDR) != 0) {
			c->bad = true;	/* other UIDVALIDITY or version: start over */
			return;
		}
		off = CACHE_FILE_HDR;
	}
	c->off = (off_t)cache_parse(c, off, c->maplen);
	cache_drop_pages(c);
}

/* ---- writing ---- */

/* Append one record (a whole new file when the old one is unusable);
 * under the folder mutex. */
static void
cache_put_locked(struct store_mailbox *mb, const struct buf *rec,
    const struct cache_member *m, size_t n)
{
	struct cache_shared	*c = mb->cache.sh;
	char			 path[PATH_MAX], tmp[PATH_MAX], uniq[300];
	unsigned char		 hdr[CACHE_FILE_HDR];
	struct stat		 st;
	size_t			 i;
	int			 fd;

	if (st_join(path, sizeof(path), mb->dir, "/", CACHE_FILE) == -1)
		return;
	if (!c->bad) {
		fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd != -1) {
			/* Nobody else appended since our last read: our record is
			 * at the old end, so the table need not wait for a reread. */
			if (fs_write_all(fd, rec->data, rec->len) == 0 && fstat(fd, &st) == 0 &&
			    st.st_ino == c->ino && st.st_size == c->off + (off_t)rec->len &&
			    (uint64_t)st.st_size <= CACHE_FILE_MAX) {
				for (i = 0; i < n; i++)
					tab_add(c, m[i].uid, (uint32_t)c->off);
				/* the payloads the handle holds are this record's */
				mb->cache.gino = c->ino;
				mb->cache.goff = (uint32_t)c->off;
				c->off = st.st_size;
			}
			close(fd);
			return;
		}
		if (errno != ENOENT)
			return;
	}
	/* New file: it appears complete with its header (temp + rename; not
	 * under the folder lock, so a unique temp name per writer). */
	if (name_unique(uniq, sizeof(uniq)) == -1 ||
	    st_join(tmp, sizeof(tmp), mb->dir, "/tmp/", uniq) == -1)
		return;
	file_header(hdr, mb->ul->uidvalidity);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return;
	(void)write_new(fd, tmp, path, hdr, sizeof(hdr), rec->data, rec->len);
	/* Reread from the start next time (finds ours too). */
	cache_forget(c);
	c->bad = false;
}

static void
cache_put(struct store_mailbox *mb, const struct buf *rec, const struct cache_member *m,
    size_t n)
{
	/* Holding the lock means holding the mutex (st_lock). */
	bool	take = mb->lockfd == -1;

	if (take && st_mutex_lock(mb) == -1)
		return;
	cache_put_locked(mb, rec, m, n);
	if (take)
		st_mutex_unlock(mb);
}

/*
 * Larger message files are mapped, smaller ones read (lib/fblob.h: an
 * munmap per message cost more than the parse when a FETCH fills the
 * cache for a whole mailbox).
 */
#define READ_MAX	(256 * 1024)

/* Message idx's payload appended to raw (its file read and parsed): 0 or -1. */
static int
payload_of(struct store_mailbox *mb, size_t idx, struct buf *raw)
{
	struct fblob	 file;
	int		 fd, rc, saved;

	if ((fd = store_msg_open(mb, idx)) == -1)
		return -1;
	fblob_init(&file);
	rc = fblob_load(&file, fd, READ_MAX);
	saved = errno;
	close(fd);
	if (rc == -1) {
		errno = saved;
		return -1;
	}
	/* The size and date a scan left unknown, for free (store_msg_size). */
	st_learn(mb, mb->vw[idx].uid, file.len, file.mtime);
	rc = cache_payload_build(file.data, file.len, raw);
	fblob_clear(&file);
	if (rc == -1)
		errno = EFBIG;
	return rc;
}

/* Is uid in the offset table?  Takes the folder mutex when need be. */
static bool
cache_has(struct store_mailbox *mb, uint32_t uid)
{
	bool	take = mb->lockfd == -1, has;

	if (take && st_mutex_lock(mb) == -1)
		return true;	/* no parse ahead, then */
	has = tab_find(mb->cache.sh, uid) >= 0;
	if (take)
		st_mutex_unlock(mb);
	return has;
}

/*
 * Files parsed ahead of a miss at most (by their index sizes), so that a
 * miss on one message never costs much more than a group of small ones.
 */
#define CACHE_AHEAD_BYTES	(1024 * 1024)

/*
 * Parse message idx into e, and with it the uncached messages after it in
 * the view (up to a group); append them as one group.  The payloads stay
 * in the handle (graw) so the next misses are a copy, not an inflate.
 */
static int
cache_compute(struct store_mailbox *mb, size_t idx, uint64_t hash, struct cache_ent *e)
{
	struct cache_state	*c = &mb->cache;
	struct cache_member	 m[CACHE_GROUP_MAX];
	struct store_msg	 msg;
	struct buf		 raw, rec;
	size_t			 n = 1, i, at, bytes = 0, cnt = store_count(mb), len;
	int			 rc = -1;

	buf_init(&raw, SIZE_MAX);
	if (payload_of(mb, idx, &raw) == -1) {
		buf_clear(&raw);
		return -1;
	}
	m[0].uid = mb->vw[idx].uid;
	m[0].hash = hash;
	m[0].len = (uint32_t)raw.len;
	for (i = idx + 1; i < cnt && n < CACHE_GROUP_MAX && raw.len < CACHE_GROUP_RAW &&
	    bytes < CACHE_AHEAD_BYTES; i++) {
		if (store_msg_get(mb, i, &msg) == -1 || msg.name[0] == '\0')
			continue;
		if (cache_has(mb, msg.uid))
			break;	/* cached from here on, most likely */
		bytes += msg.size;
		at = raw.len;
		if (payload_of(mb, i, &raw) == -1) {
			raw.len = at;	/* gone meanwhile: its turn comes when asked for */
			continue;
		}
		m[n].uid = msg.uid;
		m[n].hash = cache_base_hash(msg.name, msg.base_len);
		m[n++].len = (uint32_t)(raw.len - at);
	}
	if (cache_ent_set(e, m[0].uid, hash, raw.data, m[0].len) == 0) {
		rc = 0;
		buf_init(&rec, SIZE_MAX);
		free(c->graw);
		c->graw = NULL;
		c->gino = 0;
		if (cache_group_build(&raw, m, n, &rec) == 0) {
			cache_put(mb, &rec, m, n);
			if (c->gino != 0) {	/* appended where the table says */
				c->graw = buf_take(&raw, &len);
				c->grawlen = len;
			}
		}
		buf_clear(&rec);
	}
	buf_clear(&raw);
	return rc;
}

/* ---- reading ---- */

/* The record of uid from the file into e when its base hash matches: 0,
 * else -1.  Under the folder mutex: the map may be replaced. */
static int
cache_read(struct store_mailbox *mb, uint32_t uid, uint64_t hash, struct cache_ent *e)
{
	struct cache_shared	*c = mb->cache.sh;
	struct cache_state	*s = &mb->cache;
	uint64_t		 rhash;
	size_t			 rlen, moff, mlen;
	int64_t			 off;

	off = tab_find(c, uid);
	if (off < 0)
		return -1;
	/* Appended by us after the map was made: map the file again. */
	if ((size_t)off >= c->maplen ||
	    cache_rec_span(c->map + off, c->maplen - (size_t)off, &rlen) == 0)
		cache_map(mb, (size_t)c->off);
	if ((size_t)off >= c->maplen ||
	    cache_rec_span(c->map + off, c->maplen - (size_t)off, &rlen) != 1)
		return -1;
	if (cache_rec_find(c->map + off, uid, &rhash, &moff, &mlen) == -1 || rhash != hash)
		return -1;
	if (s->graw == NULL || s->gino != c->ino || s->goff != (uint32_t)off) {
		free(s->graw);
		s->graw = NULL;
		if (cache_rec_inflate(c->map + off, &s->graw, &s->grawlen) == -1) {
			c->bad = true;	/* torn or garbled: the next writer starts afresh */
			return -1;
		}
		s->gino = c->ino;
		s->goff = (uint32_t)off;
		c->touched += rlen;
		if (c->touched >= CACHE_DROP_BYTES)
			cache_drop_pages(c);
	}
	if (moff > s->grawlen || mlen > s->grawlen - moff)
		return -1;
	return cache_ent_set(e, uid, hash, s->graw + moff, mlen);
}

/* Decoded record of message idx: the ring, the file, else a parse. */
static struct cache_ent *
cache_get(struct store_mailbox *mb, size_t idx)
{
	struct cache_state	*c = &mb->cache;
	struct store_msg	 msg, *m = &msg;
	struct cache_ent	*e;
	uint64_t		 hash;
	size_t			 i;
	bool			 take = mb->lockfd == -1, found;

	if (store_msg_get(mb, idx, m) == -1)
		return NULL;
	if (m->name[0] == '\0') {
		errno = ENOENT;
		return NULL;
	}
	hash = cache_base_hash(m->name, m->base_len);
	for (i = 0; i < CACHE_RING; i++)
		if (c->ring[i].uid == m->uid && c->ring[i].hash == hash)
			return &c->ring[i];
	e = &c->ring[c->ring_next];
	c->ring_next = (c->ring_next + 1) % CACHE_RING;
	cache_ent_clear(e);
	if (take && st_mutex_lock(mb) == -1)
		return NULL;
	found = cache_read(mb, m->uid, hash, e) == 0;
	if (!found) {
		/* Another process may have cached it meanwhile: read the tail. */
		cache_map(mb, 0);
		found = cache_read(mb, m->uid, hash, e) == 0;
	}
	if (take)
		st_mutex_unlock(mb);
	/* The parse runs without the mutex (it reads the message file). */
	if (found || cache_compute(mb, idx, hash, e) == 0)
		return e;
	return NULL;
}

int
store_msg_cached(struct store_mailbox *mb, size_t idx, enum store_cache_field f,
    const char **data_r, size_t *len_r)
{
	struct cache_ent	*e;

	if ((unsigned)f >= CACHE_NFIELDS) {
		errno = EINVAL;
		return -1;
	}
	if ((e = cache_get(mb, idx)) == NULL)
		return -1;
	*data_r = e->f[f];
	*len_r = e->flen[f];
	return 0;
}

int
store_msg_parts(struct store_mailbox *mb, size_t idx, const struct store_part **parts_r,
    size_t *n_r)
{
	struct cache_ent	*e;

	if ((e = cache_get(mb, idx)) == NULL)
		return -1;
	*parts_r = e->parts;
	*n_r = e->nparts;
	return 0;
}

ssize_t
store_parts_find(const struct store_part *parts, size_t nparts, const uint32_t *nums,
    size_t n, bool *as_msg_r)
{
	size_t	x = 0, k, j, i;
	bool	as_msg = true;

	if (nparts == 0)
		return -1;
	for (k = 0; k < n; k++) {
		if (nums[k] == 0)
			return -1;
		if (!as_msg && (parts[x].flags & STORE_PART_MESSAGE) && x + 1 < nparts) {
			x++;	/* into the enclosed message (its first child) */
			as_msg = true;
		}
		if (parts[x].flags & STORE_PART_MULTIPART) {
			for (j = x + 1, i = 0; j < nparts; j++)
				if (parts[j].parent == x && ++i == nums[k])
					break;
			if (j == nparts)
				return -1;
			x = j;
		} else if (!(as_msg && nums[k] == 1))
			return -1;	/* a single-part body has only part 1 */
		as_msg = false;
	}
	*as_msg_r = as_msg;
	return (ssize_t)x;
}

/* ---- compaction ---- */

/* Is member i of the record at off a message of the index with no later record? */
static bool
member_live(struct store_mailbox *mb, struct cache_shared *c, const unsigned char *p,
    size_t off, size_t i, struct cache_member *m_r, size_t *moff_r)
{
	struct ul_rec	*u;
	size_t		 mlen;

	cache_rec_member(p, i, &m_r->uid, &m_r->hash, moff_r, &mlen);
	m_r->len = (uint32_t)mlen;
	u = ul_find_uid(mb->ul, m_r->uid);
	return u != NULL && cache_base_hash(u->name, u->base_len) == m_r->hash &&
	    tab_find(c, m_r->uid) == (int64_t)off;
}

/*
 * Append the record at off to out with only its live members: as it is
 * when all are, nothing when none is, else a new group of the live ones
 * (when it does not inflate or build: left out, only a cache).  0, or -1
 * when out is full.
 */
static int
compact_rec(struct store_mailbox *mb, struct cache_shared *c, size_t off, size_t rlen,
    struct buf *out)
{
	const unsigned char	*p = c->map + off;
	struct cache_member	 m[CACHE_GROUP_MAX];
	size_t			 moff[CACHE_GROUP_MAX], i, k = 0, n = cache_rec_count(p), glen;
	struct buf		 raw;
	char			*g;

	for (i = 0; i < n; i++)
		if (member_live(mb, c, p, off, i, &m[k], &moff[k]))
			k++;
	if (k == n)
		return buf_add(out, p, rlen);
	if (k == 0 || cache_rec_inflate(p, &g, &glen) == -1)
		return 0;
	/* (cache_rec_span checked that the members' lengths add up to glen) */
	buf_init(&raw, SIZE_MAX);
	for (i = 0; i < k; i++)
		if (buf_add(&raw, g + moff[i], m[i].len) == -1)
			break;
	if (i == k)
		(void)cache_group_build(&raw, m, k, out);
	buf_clear(&raw);
	free(g);
	return 0;
}

/*
 * After an expunge of removed messages (under the folder lock): rewrite
 * the cache without the records of messages no longer in the index (or
 * superseded), when they are at least a quarter of its bytes.  Read
 * whole only after a big expunge, or when the offset table (the record
 * headers) shows a quarter of its UIDs gone.  Temp + rename; other handles
 * see the new inode and rebuild their offset tables.
 */
void
cache_compact(struct store_mailbox *mb, size_t removed)
{
	char			 path[PATH_MAX], tmp[PATH_MAX], uniq[300], *data;
	unsigned char		 hdr[CACHE_FILE_HDR];
	const unsigned char	*p;
	struct cache_shared	 c;
	struct buf		 out;
	size_t			 len, end, off, rlen, dead;
	int			 fd;

	if (removed < 256 && removed * 8 < mb->ul->n + removed) {
		/* The record headers tell how many UIDs the file holds. */
		cache_map(mb, 0);
		(void)tab_find(mb->cache.sh, 0);	/* sorted, one slot per uid */
		if (mb->cache.sh->ntab - mb->cache.sh->ntab / 4 <= mb->ul->n)
			return;
	}
	if (ul_read_file(mb->dir, CACHE_FILE, &data, &len) != 0)
		return;
	file_header(hdr, mb->ul->uidvalidity);
	if (len < CACHE_FILE_HDR || memcmp(data, hdr, CACHE_FILE_HDR) != 0) {
		free(data);
		return;
	}
	memset(&c, 0, sizeof(c));
	c.map = (const unsigned char *)data;
	c.maplen = len;
	end = cache_parse(&c, CACHE_FILE_HDR, len);
	(void)tab_find(&c, 0);	/* sorts, keeps each uid's latest record */
	buf_init(&out, SIZE_MAX);
	if (buf_add(&out, hdr, sizeof(hdr)) == -1)
		goto out;
	/* In file order, so a later record of a uid stays the later one. */
	for (off = CACHE_FILE_HDR; off < end; off += rlen) {
		p = c.map + off;
		(void)cache_rec_span(p, end - off, &rlen);
		if (compact_rec(mb, &c, off, rlen, &out) == -1)
			goto out;
	}
	dead = (end - CACHE_FILE_HDR) - (out.len - CACHE_FILE_HDR);
	if (dead * 4 < end - CACHE_FILE_HDR || name_unique(uniq, sizeof(uniq)) == -1 ||
	    st_join(path, sizeof(path), mb->dir, "/", CACHE_FILE) == -1 ||
	    st_join(tmp, sizeof(tmp), mb->dir, "/tmp/", uniq) == -1)
		goto out;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1)
		goto out;
	/* Records appended by others while we read are lost: only a cache. */
	if (write_new(fd, tmp, path, out.data, out.len, NULL, 0) == 0)
		cache_forget(mb->cache.sh);	/* the table is of the old file */
out:
	buf_clear(&out);
	free(c.tab);
	free(data);
}
