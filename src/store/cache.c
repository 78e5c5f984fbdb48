/*
 * Parsed-structure cache (letterbox-cache): ENVELOPE, BODY and
 * BODYSTRUCTURE strings per UID, so a second FETCH never reparses a
 * message.  Append-only, one write(2) per message with O_APPEND, so
 * concurrent writers do not interleave:
 *	LBC2 V<uidvalidity>
 *	<uid> <field 0-2> <len> <base name>\n<len bytes>\n
 * A record is used only when its base name is the message's: should a UID
 * ever name another message (an index rebuilt by hand), the cache cannot
 * answer with the wrong message's ENVELOPE.  Only a cache: a record that
 * does not parse ends the usable part, a file for another UIDVALIDITY or
 * version is replaced, and deleting the file is safe.
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
#include "mime/mime.h"
#include "store/store_int.h"

#define CACHE_FIELD_MAX	(16U * 1024 * 1024)
#define CACHE_NFIELDS	3
#define CACHE_LINE_MAX	1200	/* record line: numbers and a base name */

void
cache_msg_free(struct store_msg *m)
{
	int	i;

	for (i = 0; i < CACHE_NFIELDS; i++) {
		if (m->cache_own_ & (1u << i))
			free((char *)(uintptr_t)m->cache_[i]);
		m->cache_[i] = NULL;
		m->cache_len_[i] = 0;
	}
	m->cache_own_ = 0;
}

void
cache_unmap_all(struct store_mailbox *mb)
{
	size_t	i;

	for (i = 0; i < mb->ncmaps; i++)
		munmap(mb->cmaps[i].p, mb->cmaps[i].len);
	free(mb->cmaps);
	mb->cmaps = NULL;
	mb->ncmaps = 0;
}

/* One record: "<uid> <field> <len> <base>\n<len bytes>\n". */
struct cache_rec {
	uint32_t	 uid;
	unsigned	 f;
	const char	*base, *data;
	size_t		 base_len, len;
	const char	*end;		/* just past the record */
};

/* The record at p: 1 found, 0 incomplete (being written, a crash), -1 garbage. */
static int
cache_next(const char *p, const char *end, struct cache_rec *r)
{
	const char	*nl, *sp1, *sp2, *sp3;
	uint64_t	 uid, f, n;

	nl = memchr(p, '\n', (size_t)(end - p) < CACHE_LINE_MAX ?
	    (size_t)(end - p) : CACHE_LINE_MAX);
	if (nl == NULL)
		return (size_t)(end - p) >= CACHE_LINE_MAX ? -1 : 0;
	sp1 = memchr(p, ' ', (size_t)(nl - p));
	sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(nl - sp1 - 1)) : NULL;
	sp3 = sp2 != NULL ? memchr(sp2 + 1, ' ', (size_t)(nl - sp2 - 1)) : NULL;
	if (sp3 == NULL ||
	    parse_u64(p, (size_t)(sp1 - p), UINT32_MAX, &uid) == -1 ||
	    parse_u64(sp1 + 1, (size_t)(sp2 - sp1 - 1), CACHE_NFIELDS - 1, &f) == -1 ||
	    parse_u64(sp2 + 1, (size_t)(sp3 - sp2 - 1), CACHE_FIELD_MAX, &n) == -1)
		return -1;
	if ((size_t)(end - nl - 1) < n + 1)
		return 0;
	if (nl[1 + n] != '\n')
		return -1;
	r->uid = (uint32_t)uid;
	r->f = (unsigned)f;
	r->base = sp3 + 1;
	r->base_len = (size_t)(nl - sp3 - 1);
	r->data = nl + 1;
	r->len = (size_t)n;
	r->end = nl + 1 + n + 1;
	return 1;
}

/* Parse records in data[0..len); returns the bytes consumed (whole records). */
static size_t
cache_parse(struct store_mailbox *mb, const char *data, size_t len)
{
	const char		*p = data, *end = data + len;
	struct cache_rec	 r;
	struct store_msg	*m;
	ssize_t			 idx;
	int			 rc;

	while (p < end && (rc = cache_next(p, end, &r)) == 1) {
		idx = store_find_uid(mb, r.uid);
		if (idx >= 0) {
			m = &mb->msgs[idx];
			/* No copy: the field points into the map (offset table). */
			if (m->cache_[r.f] == NULL && r.base_len == m->base_len &&
			    memcmp(r.base, m->name, m->base_len) == 0) {
				m->cache_[r.f] = r.data;
				m->cache_len_[r.f] = (uint32_t)r.len;
			}
		}
		p = r.end;
	}
	if (p < end && rc == -1)
		mb->cache_bad = true;
	return (size_t)(p - data);
}

/*
 * After an expunge (under the folder lock): rewrite the cache without the
 * records of messages no longer in the index, when they are at least a
 * quarter of it.  Temp + rename; readers keep their maps of the old file.
 */
void
cache_compact(struct store_mailbox *mb)
{
	char			 path[PATH_MAX], tmp[PATH_MAX], uniq[300], *data;
	const char		*p, *end;
	struct cache_rec	 r;
	struct ul_rec		*u;
	struct buf		 out;
	size_t			 len, dead = 0, total = 0;
	int			 fd;

	if (ul_read_file(mb->dir, CACHE_FILE, &data, &len) != 0)
		return;
	p = memchr(data, '\n', len);
	if (p == NULL || len < 5 || memcmp(data, "LBC2 ", 5) != 0) {
		free(data);
		return;
	}
	end = data + len;
	buf_init(&out, SIZE_MAX);
	if (buf_add(&out, data, (size_t)(p + 1 - data)) == -1)
		goto out;
	for (p++; p < end && cache_next(p, end, &r) == 1; p = r.end) {
		total++;
		u = ul_find_uid(&mb->ul, r.uid);
		if (u == NULL || u->base_len != r.base_len || memcmp(u->name, r.base, r.base_len) != 0) {
			dead++;
			continue;
		}
		if (buf_add(&out, p, (size_t)(r.end - p)) == -1)
			goto out;
	}
	if (dead == 0 || dead * 4 < total || name_unique(uniq, sizeof(uniq)) == -1 ||
	    st_join(path, sizeof(path), mb->dir, "/", CACHE_FILE) == -1 ||
	    st_join(tmp, sizeof(tmp), mb->dir, "/tmp/", uniq) == -1)
		goto out;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1)
		goto out;
	/* Records appended by others while we read are lost: only a cache. */
	if (fs_write_all(fd, out.data, out.len) == 0 && close(fd) == 0)
		(void)rename(tmp, path);
	else {
		close(fd);
		unlink(tmp);
	}
out:
	buf_clear(&out);
	free(data);
}

/*
 * Parse what is new in the file (all of it when it was replaced), through
 * a read-only map of the whole file: the view's fields point into it.
 */
static void
cache_load(struct store_mailbox *mb)
{
	char		 path[PATH_MAX], hdr[64];
	const char	*data, *nl;
	struct stat	 st;
	void		*map;
	size_t		 len, off;
	int		 fd, r;

	if (st_join(path, sizeof(path), mb->dir, "/", CACHE_FILE) == -1)
		return;
	mb->cache_loaded = true;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		if (fd != -1)
			close(fd);
		mb->cache_ino = 0;
		mb->cache_off = 0;
		return;
	}
	if (st.st_ino != mb->cache_ino) {
		mb->cache_ino = st.st_ino;
		mb->cache_off = 0;
		mb->cache_bad = false;
	}
	if (mb->cache_bad || st.st_size <= mb->cache_off ||
	    (uint64_t)st.st_size > 1024ULL * 1024 * 1024 || mb->ncmaps >= 64) {
		close(fd);
		return;
	}
	len = (size_t)st.st_size;
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return;
	mb->cmaps = xreallocarray(mb->cmaps, mb->ncmaps + 1, sizeof(*mb->cmaps));
	mb->cmaps[mb->ncmaps].p = map;
	mb->cmaps[mb->ncmaps++].len = len;
	data = map;
	off = (size_t)mb->cache_off;
	if (off == 0) {
		r = snprintf(hdr, sizeof(hdr), "LBC2 V%u\n", mb->ul.uidvalidity);
		nl = memchr(data, '\n', len < 64 ? len : 64);
		if (nl == NULL || (size_t)(nl - data + 1) != (size_t)r ||
		    memcmp(data, hdr, (size_t)r) != 0) {
			mb->cache_bad = true;	/* other UIDVALIDITY: start over */
			return;
		}
		off = (size_t)r;
	}
	off += cache_parse(mb, data + off, len - off);
	mb->cache_off = (off_t)off;
}

/* Append one message's records (a whole new file when the old one is unusable). */
static void
cache_put(struct store_mailbox *mb, const struct buf *rec)
{
	char	 path[PATH_MAX], tmp[PATH_MAX], uniq[300];
	struct buf hdr;
	struct stat st;
	int	 fd;

	/* Not under the folder lock: a unique temp name per writer. */
	if (st_join(path, sizeof(path), mb->dir, "/", CACHE_FILE) == -1 ||
	    name_unique(uniq, sizeof(uniq)) == -1 ||
	    st_join(tmp, sizeof(tmp), mb->dir, "/tmp/", uniq) == -1)
		return;
	if (!mb->cache_bad) {
		fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd != -1) {
			/* Nobody else appended since our last read: skip our own
			 * record next time (we hold its fields) instead of mapping
			 * the file again for it. */
			if (fs_write_all(fd, rec->data, rec->len) == 0 && fstat(fd, &st) == 0 &&
			    st.st_ino == mb->cache_ino &&
			    st.st_size == mb->cache_off + (off_t)rec->len)
				mb->cache_off = st.st_size;
			close(fd);
			return;
		}
		if (errno != ENOENT)
			return;
	}
	/* New file: it appears complete with its header (temp + rename). */
	buf_init(&hdr, SIZE_MAX);
	buf_addf(&hdr, "LBC2 V%u\n", mb->ul.uidvalidity);
	if (buf_add(&hdr, rec->data, rec->len) == -1) {
		buf_clear(&hdr);
		return;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd != -1) {
		if (fs_write_all(fd, hdr.data, hdr.len) == 0 && close(fd) == 0)
			(void)rename(tmp, path);
		else {
			close(fd);
			unlink(tmp);
		}
	}
	buf_clear(&hdr);
	mb->cache_bad = false;
	mb->cache_ino = 0;	/* reread from the start next time (finds ours too) */
	mb->cache_off = 0;
}

/*
 * The message as IMAP serves it: LF files (what we and others write) get
 * their CRs back, so BODYSTRUCTURE sizes and line counts are of the CRLF
 * form, like RFC822.SIZE.  NULL when the file is CRLF already.
 */
static char *
crlf_copy(const char *data, size_t len, size_t *len_r)
{
	const char	*p = data, *end = data + len, *nl;
	char		*out;
	size_t		 n = 0, lfs = 0;

	for (nl = data; nl < end && (nl = memchr(nl, '\n', (size_t)(end - nl))) != NULL; nl++)
		if (nl == data || nl[-1] != '\r')
			lfs++;
	if (lfs == 0)
		return NULL;
	out = xmalloc(len + lfs + 1);
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			memcpy(out + n, p, (size_t)(end - p));
			n += (size_t)(end - p);
			break;
		}
		memcpy(out + n, p, (size_t)(nl - p));
		n += (size_t)(nl - p);
		if (nl == data || nl[-1] != '\r')
			out[n++] = '\r';
		out[n++] = '\n';
		p = nl + 1;
	}
	*len_r = n;
	return out;
}

/* Map and parse message idx; fill all fields and append them to the file. */
static int
cache_compute(struct store_mailbox *mb, size_t idx)
{
	struct store_msg	*m = &mb->msgs[idx];
	struct mime_part	*root;
	struct stat		 st;
	struct buf		 out[CACHE_NFIELDS], rec;
	const char		*data = "";
	void			*map = NULL;
	char			*crlf = NULL;
	size_t			 len = 0, maplen = 0, clen;
	int			 fd, i, saved;

	if ((fd = store_msg_open(mb, idx)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (st.st_size > 0) {
		len = maplen = (size_t)st.st_size;
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED)
			goto fail;
		data = map;
		if ((crlf = crlf_copy(data, len, &clen)) != NULL) {
			data = crlf;
			len = clen;
		}
	}
	close(fd);
	root = mime_parse(data, len);
	for (i = 0; i < CACHE_NFIELDS; i++)
		buf_init(&out[i], CACHE_FIELD_MAX);
	(void)mime_envelope(data, root->hdr_len, &out[STORE_CACHE_ENVELOPE]);
	(void)mime_bodystructure(root, false, &out[STORE_CACHE_BODY]);
	(void)mime_bodystructure(root, true, &out[STORE_CACHE_BODYSTRUCTURE]);
	mime_free(&root);
	free(crlf);
	if (map != NULL)
		munmap(map, maplen);
	buf_init(&rec, SIZE_MAX);
	for (i = 0; i < CACHE_NFIELDS; i++) {
		size_t n;

		buf_addf(&rec, "%u %d %zu %.*s\n", m->uid, i, out[i].len, (int)m->base_len,
		    m->name);
		if (buf_add(&rec, buf_str(&out[i]), out[i].len) == -1 || buf_addc(&rec, '\n') == -1)
			break;
		if (m->cache_own_ & (1u << i))
			free((char *)(uintptr_t)m->cache_[i]);
		m->cache_[i] = buf_take(&out[i], &n);
		if (m->cache_[i] == NULL)
			m->cache_[i] = xstrdup("");
		m->cache_own_ |= (uint8_t)(1u << i);
		m->cache_len_[i] = (uint32_t)n;
	}
	if (i == CACHE_NFIELDS)
		cache_put(mb, &rec);
	buf_clear(&rec);
	for (i = 0; i < CACHE_NFIELDS; i++)
		buf_clear(&out[i]);
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
store_msg_cached(struct store_mailbox *mb, size_t idx, enum store_cache_field f,
    const char **data_r, size_t *len_r)
{
	struct store_msg	*m;

	if (idx >= mb->nmsgs || (unsigned)f >= CACHE_NFIELDS) {
		errno = EINVAL;
		return -1;
	}
	m = &mb->msgs[idx];
	if (m->cache_[f] == NULL) {
		/* Another process may have cached it meanwhile: read the tail. */
		cache_load(mb);
		if (m->cache_[f] == NULL && cache_compute(mb, idx) == -1)
			return -1;
	}
	*data_r = m->cache_[f];
	*len_r = m->cache_len_[f];
	return 0;
}
