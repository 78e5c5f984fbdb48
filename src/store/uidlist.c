/*
 * The per-folder index, letterbox-uidlist: read in one go, written whole
 * by temp + fsync + rename (always under the folder lock, see store.c).
 *
 *	LB1 V<uidvalidity> N<uidnext> M<highestmodseq> G<generation>
 *	<uid> <modseq> <size> <vsize> <idate> <n|c> <file name>
 *	...
 * Lines are in UID order; 0 in size/vsize/idate means "not known yet".
 * The generation grows with every write, so a reader tells whether its
 * copy is current from the first line alone.  Also imports Dovecot's
 * dovecot-uidlist and Courier's courierimapuiddb (base name -> UID).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "store/store_int.h"

#define UL_MAX_FILE	(1024UL * 1024 * 1024)

void
ul_clear(struct uidlist *ul)
{
	size_t	i;

	for (i = 0; i < ul->n; i++)
		free(ul->recs[i].name);
	free(ul->recs);
	free(ul->hash);
	memset(ul, 0, sizeof(*ul));
}

struct ul_rec *
ul_add(struct uidlist *ul)
{
	struct ul_rec	*r;

	if (ul->n == ul->cap) {
		ul->cap = ul->cap ? ul->cap * 2 : 64;
		ul->recs = xreallocarray(ul->recs, ul->cap, sizeof(*ul->recs));
	}
	r = &ul->recs[ul->n++];
	memset(r, 0, sizeof(*r));
	return r;
}

void
ul_rehash(struct uidlist *ul)
{
	size_t		 i, cap = 64, h;
	struct ul_rec	*r;

	while (cap < ul->n * 2 + 16)
		cap *= 2;
	if (cap != ul->hcap) {
		free(ul->hash);
		ul->hash = xcalloc(cap, sizeof(*ul->hash));
		ul->hcap = cap;
	} else
		memset(ul->hash, 0, cap * sizeof(*ul->hash));
	for (i = 0; i < ul->n; i++) {
		r = &ul->recs[i];
		h = name_hash(r->name, r->base_len) & (cap - 1);
		while (ul->hash[h] != 0)
			h = (h + 1) & (cap - 1);
		ul->hash[h] = (uint32_t)i + 1;
	}
}

struct ul_rec *
ul_find_base(struct uidlist *ul, const char *name, size_t base_len)
{
	size_t		 h;
	struct ul_rec	*r;

	if (ul->hcap == 0)
		return NULL;
	h = name_hash(name, base_len) & (ul->hcap - 1);
	while (ul->hash[h] != 0) {
		r = &ul->recs[ul->hash[h] - 1];
		if (r->base_len == base_len && memcmp(r->name, name, base_len) == 0)
			return r;
		h = (h + 1) & (ul->hcap - 1);
	}
	return NULL;
}

struct ul_rec *
ul_find_uid(struct uidlist *ul, uint32_t uid)
{
	size_t	lo = 0, hi = ul->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ul->recs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ul->n && ul->recs[lo].uid == uid ? &ul->recs[lo] : NULL;
}

/* Read all of dir/file (NUL-terminated).  0 ok, 1 missing, -1 error. */
static int
read_file(const char *dir, const char *file, char **data_r, size_t *len_r)
{
	char		 path[PATH_MAX];
	struct stat	 st;
	int		 fd;
	char		*data;
	size_t		 got = 0;
	ssize_t		 r;

	if (st_join(path, sizeof(path), dir, "/", file) == -1)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 1 : -1;
	if (fstat(fd, &st) == -1 || (uint64_t)st.st_size > UL_MAX_FILE) {
		if (errno == 0)
			errno = EFBIG;
		close(fd);
		return -1;
	}
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

/* Next space-separated field of [*p, end) as a number. */
static int
field_u64(const char **p, const char *end, uint64_t *v_r)
{
	const char	*s = *p, *e;

	e = memchr(s, ' ', (size_t)(end - s));
	if (e == NULL)
		e = end;
	if (parse_u64(s, (size_t)(e - s), UINT64_MAX / 2, v_r) == -1)
		return -1;
	*p = e < end ? e + 1 : e;
	return 0;
}

/* Header "LB1 V.. N.. M.. G.."; returns 0 and the values, -1 if malformed. */
static int
parse_header(const char *s, size_t len, struct uidlist *ul)
{
	const char	*p = s, *end = s + len, *e;
	uint64_t	 v;

	if (len < 4 || memcmp(s, "LB1 ", 4) != 0)
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
		default: break;		/* later versions may add fields */
		}
		p = e + 1;
	}
	return ul->uidvalidity != 0 && ul->uidnext != 0 ? 0 : -1;
}

bool
ul_current(const struct uidlist *ul, const char *dir)
{
	char		path[PATH_MAX], line[256], *nl;
	struct uidlist	tmp;
	int		fd;
	ssize_t		r;

	if (!ul->loaded || st_join(path, sizeof(path), dir, "/", UIDLIST_FILE) == -1)
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return false;
	r = pread(fd, line, sizeof(line) - 1, 0);
	close(fd);
	if (r <= 0)
		return false;
	line[r] = '\0';
	if ((nl = strchr(line, '\n')) == NULL)
		return false;
	memset(&tmp, 0, sizeof(tmp));
	if (parse_header(line, (size_t)(nl - line), &tmp) == -1)
		return false;
	/* The generation restarts at 1 after a rebuild; UIDVALIDITY does not repeat. */
	return tmp.gen == ul->gen && tmp.uidvalidity == ul->uidvalidity &&
	    tmp.uidnext == ul->uidnext && tmp.highestmodseq == ul->highestmodseq;
}

int
ul_load(struct uidlist *ul, const char *dir)
{
	char		*data, *nl, *line, *end;
	const char	*p;
	size_t		 len;
	uint64_t	 uid, modseq, size, vsize, idate;
	struct ul_rec	*r;
	int		 rc;

	rc = read_file(dir, UIDLIST_FILE, &data, &len);
	if (rc != 0)
		return rc;
	ul_clear(ul);
	end = data + len;
	nl = memchr(data, '\n', len);
	if (nl == NULL || parse_header(data, (size_t)(nl - data), ul) == -1)
		goto bad;
	for (line = nl + 1; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			goto bad;	/* never happens: written whole then renamed */
		p = line;
		if (field_u64(&p, nl, &uid) == -1 || field_u64(&p, nl, &modseq) == -1 ||
		    field_u64(&p, nl, &size) == -1 || field_u64(&p, nl, &vsize) == -1 ||
		    field_u64(&p, nl, &idate) == -1 || nl - p < 3 ||
		    (p[0] != 'n' && p[0] != 'c') || p[1] != ' ' || uid == 0 ||
		    uid > UINT32_MAX || (ul->n > 0 && uid <= ul->recs[ul->n - 1].uid))
			goto bad;
		r = ul_add(ul);
		r->uid = (uint32_t)uid;
		r->modseq = modseq;
		r->size = size;
		r->vsize = vsize;
		r->idate = (int64_t)idate;
		r->in_new = p[0] == 'n';
		r->name = xstrndup(p + 2, (size_t)(nl - p - 2));
		r->base_len = (uint16_t)name_base_len(r->name);
		if (r->uid >= ul->uidnext)
			ul->uidnext = r->uid + 1;
	}
	free(data);
	ul_rehash(ul);
	ul->loaded = true;
	return 0;
bad:
	/* A broken index is rebuilt from the Maildir (new UIDVALIDITY). */
	free(data);
	ul_clear(ul);
	return 1;
}

int
ul_write(struct uidlist *ul, const char *dir, bool dosync)
{
	char		 tmp[PATH_MAX], path[PATH_MAX];
	struct buf	 b;
	struct ul_rec	*r;
	size_t		 i;
	int		 fd, saved;

	if (st_join(tmp, sizeof(tmp), dir, "/", UIDLIST_FILE ".tmp") == -1 ||
	    st_join(path, sizeof(path), dir, "/", UIDLIST_FILE) == -1)
		return -1;
	buf_init(&b, UL_MAX_FILE);
	ul->gen++;
	buf_addf(&b, "LB1 V%u N%u M%llu G%llu\n", ul->uidvalidity, ul->uidnext,
	    (unsigned long long)ul->highestmodseq, (unsigned long long)ul->gen);
	for (i = 0; i < ul->n; i++) {
		r = &ul->recs[i];
		if (buf_addf(&b, "%u %llu %llu %llu %lld %c %s\n", r->uid,
		    (unsigned long long)r->modseq, (unsigned long long)r->size,
		    (unsigned long long)r->vsize, (long long)r->idate,
		    r->in_new ? 'n' : 'c', r->name) == -1) {
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
	buf_clear(&b);
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
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
		rc = read_file(dir, files[i], &data, &len);
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
				free(ul->recs[i].name);
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
