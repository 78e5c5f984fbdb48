/*
 * Maildir++ folders: IMAP names ('/' separator) <-> directories ".a.b",
 * list, create, rename (with children), delete, and the subscriptions
 * file.  See store.h for the name encoding.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "store/store_int.h"

#define FOLDER_NAME_MAX	400
#define SUBS_FILE	"subscriptions"
#define COURIER_SUBS_FILE "courierimapsubscribed"

static bool
is_inbox(const char *name, size_t len)
{
	return len == 5 && strncasecmp(name, "INBOX", 5) == 0;
}

bool
store_folder_valid(const char *name)
{
	size_t	len = strlen(name), i, start = 0;

	if (len == 0 || len > FOLDER_NAME_MAX || name[0] == '/' || name[len - 1] == '/')
		return false;
	for (i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (i < len && (c < 0x20 || c == 0x7f))
			return false;
		if (i == len || c == '/') {
			/* No empty, "." or ".." components: no surprises on disk. */
			if (i == start || (i - start == 1 && name[start] == '.') ||
			    (i - start == 2 && name[start] == '.' && name[start + 1] == '.'))
				return false;
			start = i + 1;
		}
	}
	return true;
}

int
folder_disk_name(const char *name, char *dst, size_t dstsz)
{
	size_t	n = 0, i, len;

	if (!store_folder_valid(name)) {
		errno = EINVAL;
		return -1;
	}
	len = strlen(name);
	if (is_inbox(name, len)) {
		if (dstsz < 1)
			goto toolong;
		dst[0] = '\0';
		return 0;
	}
	if (n + 1 >= dstsz)
		goto toolong;
	dst[n++] = '.';
	for (i = 0; i < len; i++) {
		if (n + 4 >= dstsz)
			goto toolong;
		/* "INBOX/x": INBOX is spelt upper case whatever the client sent. */
		if (i < 5 && len > 5 && name[5] == '/' && is_inbox(name, 5)) {
			dst[n++] = "INBOX"[i];
			continue;
		}
		if (name[i] == '/')
			dst[n++] = '.';
		else if (name[i] == '.' || name[i] == '%') {
			memcpy(dst + n, name[i] == '.' ? "%2E" : "%25", 3);
			n += 3;
		} else
			dst[n++] = name[i];
	}
	dst[n] = '\0';
	return 0;
toolong:
	errno = ENAMETOOLONG;
	return -1;
}

/* ".a.b%2Ec" (without the leading '.') -> "a/b.c"; malloc'd. */
static char *
folder_decode(const char *disk)
{
	size_t	len = strlen(disk), i, n = 0;
	char	*out = xmalloc(len + 1);

	for (i = 0; i < len; i++) {
		if (disk[i] == '.')
			out[n++] = '/';
		else if (disk[i] == '%' && disk[i + 1] == '2' &&
		    (disk[i + 2] == 'E' || disk[i + 2] == 'e')) {
			out[n++] = '.';
			i += 2;
		} else if (disk[i] == '%' && disk[i + 1] == '2' && disk[i + 2] == '5') {
			out[n++] = '%';
			i += 2;
		} else
			out[n++] = disk[i];
	}
	out[n] = '\0';
	return out;
}

static size_t
root_len(const char *root)
{
	size_t	len = strlen(root);

	while (len > 1 && root[len - 1] == '/')
		len--;
	return len;
}

/* A directory named in UTF-8 (Courier 5, Dovecot with UTF-8 names) is
 * listed under its modified UTF-7 name, as IMAP clients expect. */
static char *
folder_decode_any(const char *disk)
{
	char		*name = folder_decode(disk), *m;
	const char	*p;

	for (p = name; *p != '\0' && (unsigned char)*p < 0x80; p++)
		;
	if (*p == '\0' || (m = utf8_to_mutf7(name)) == NULL)
		return name;
	free(name);
	return m;
}

static int
path_of(const char *root, const char *name, char *dst, size_t dstsz)
{
	char	disk[FOLDER_NAME_MAX * 3 + 8];
	int	r;

	if (folder_disk_name(name, disk, sizeof(disk)) == -1)
		return -1;
	r = snprintf(dst, dstsz, "%.*s%s%s", (int)root_len(root), root,
	    disk[0] != '\0' ? "/" : "", disk);
	if (r < 0 || (size_t)r >= dstsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
store_folder_path(const char *root, const char *name, char *dst, size_t dstsz)
{
	char		 alt[PATH_MAX], *u8;
	struct stat	 st;
	int		 r;

	if (path_of(root, name, dst, dstsz) == -1)
		return -1;
	/* "Entw&APw-rfe" not on disk: maybe as UTF-8 ("Entwürfe"). */
	if (strchr(name, '&') == NULL || stat(dst, &st) == 0 ||
	    (u8 = mutf7_to_utf8(name)) == NULL)
		return 0;
	r = path_of(root, u8, alt, sizeof(alt));
	free(u8);
	if (r == 0 && stat(alt, &st) == 0 && strlen(alt) < dstsz)
		memcpy(dst, alt, strlen(alt) + 1);
	return 0;
}

bool
store_folder_exists(const char *root, const char *name)
{
	char		path[PATH_MAX];
	struct stat	st;

	if (store_folder_path(root, name, path, sizeof(path)) == -1)
		return false;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- listing ---- */

struct names {
	char	**v;
	size_t	 n, cap;
};

static void
names_add(struct names *ns, char *s)
{
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 32;
		ns->v = xreallocarray(ns->v, ns->cap, sizeof(*ns->v));
	}
	ns->v[ns->n++] = s;
}

static void
names_free(struct names *ns)
{
	size_t	i;

	for (i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

/* Directory names of all folders under root (".x" entries that are dirs). */
static int
disk_folders(const char *root, struct names *ns)
{
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	int		 r;

	r = snprintf(path, sizeof(path), "%.*s", (int)root_len(root), root);
	if (r < 0 || (size_t)r >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		/* ".." prefix: ours being deleted, and "." / "..". */
		if (de->d_name[0] != '.' || de->d_name[1] == '\0' || de->d_name[1] == '.')
			continue;
		if (de->d_type != DT_DIR) {
			if (de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
				continue;
			if (st_join(path + r, sizeof(path) - (size_t)r, "/", de->d_name, "") == -1 ||
			    stat(path, &st) == -1 || !S_ISDIR(st.st_mode)) {
				path[r] = '\0';
				continue;
			}
			path[r] = '\0';
		}
		names_add(ns, xstrdup(de->d_name));
	}
	closedir(d);
	return 0;
}

static int
folder_cmp(const void *a, const void *b)
{
	const struct store_folder *x = a, *y = b;

	if (strcmp(x->name, "INBOX") == 0)
		return strcmp(y->name, "INBOX") == 0 ? 0 : -1;
	if (strcmp(y->name, "INBOX") == 0)
		return 1;
	return strcmp(x->name, y->name);
}

static ssize_t
folder_find(const struct store_folder *v, size_t n, const char *name)
{
	struct store_folder	key = { (char *)name, 0 };
	struct store_folder	*f;

	f = bsearch(&key, v, n, sizeof(*v), folder_cmp);
	return f != NULL ? f - v : -1;
}

/* Does any name in sorted v start with prefix + "/"? */
static bool
has_children(const struct store_folder *v, size_t n, const char *name)
{
	size_t	len = strlen(name), lo = 0, hi = n, mid;
	char	*pfx = xasprintf("%s/", name);
	bool	 yes;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (folder_cmp(&v[mid], &(struct store_folder){ pfx, 0 }) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	yes = lo < n && strncmp(v[lo].name, pfx, len + 1) == 0;
	free(pfx);
	return yes;
}

int
store_folder_list(const char *root, struct store_folder **list_r, size_t *n_r)
{
	struct names		 ns;
	struct store_folder	*v;
	size_t			 i, n = 0, cap, base, k;
	char			*p;

	memset(&ns, 0, sizeof(ns));
	if (disk_folders(root, &ns) == -1)
		return -1;
	cap = ns.n + 1;
	v = xcalloc(cap, sizeof(*v));
	v[n++].name = xstrdup("INBOX");
	for (i = 0; i < ns.n; i++)
		v[n++].name = folder_decode_any(ns.v[i] + 1);
	names_free(&ns);
	qsort(v, n, sizeof(*v), folder_cmp);
	/* Missing parents of "a/b/c" ("a", "a/b") are listed as \NonExistent. */
	base = n;
	for (i = 0; i < base; i++) {
		for (p = strchr(v[i].name, '/'); p != NULL; p = strchr(p + 1, '/')) {
			char *parent = xstrndup(v[i].name, (size_t)(p - v[i].name));

			if (folder_find(v, base, parent) >= 0) {
				free(parent);
				continue;
			}
			for (k = base; k < n; k++)
				if (strcmp(v[k].name, parent) == 0)
					break;
			if (k < n) {
				free(parent);
				continue;
			}
			if (n == cap) {
				cap *= 2;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			v[n].name = parent;
			v[n++].flags = STORE_FOLDER_NONEXISTENT;
		}
	}
	qsort(v, n, sizeof(*v), folder_cmp);
	for (i = 0; i < n; i++)
		if (has_children(v, n, v[i].name))
			v[i].flags |= STORE_FOLDER_CHILDREN;
	*list_r = v;
	*n_r = n;
	return 0;
}

void
store_folder_list_free(struct store_folder **list, size_t n)
{
	size_t	i;

	if (*list == NULL)
		return;
	for (i = 0; i < n; i++)
		free((*list)[i].name);
	xfree(list);
}

/* ---- create, rename, delete ---- */

/* Make folder name (see store_folder_create), its root not fsynced. */
static int
folder_make(const char *root, const char *name)
{
	static const char *const subs[] = { "/cur", "/new", "/tmp" };
	char	dir[PATH_MAX], path[PATH_MAX];
	size_t	i;
	int	fd;

	if (store_folder_path(root, name, dir, sizeof(dir)) == -1)
		return -1;
	if (is_inbox(name, strlen(name))) {
		errno = EEXIST;
		return -1;
	}
	if (mkdir(dir, 0700) == -1)
		return -1;	/* EEXIST when it exists; ENOENT without a root */
	for (i = 0; i < 3; i++) {
		if (st_join(path, sizeof(path), dir, subs[i], "") == -1 ||
		    (mkdir(path, 0700) == -1 && errno != EEXIST))
			return -1;
	}
	if (st_join(path, sizeof(path), dir, "/maildirfolder", "") == -1)
		return -1;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) != -1)
		close(fd);
	(void)fs_fsync_dir(dir);
	return 0;
}

static void
root_fsync(const char *root)
{
	char	path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%.*s", (int)root_len(root), root) > 0)
		(void)fs_fsync_dir(path);
}

int
store_folder_create(const char *root, const char *name)
{
	if (folder_make(root, name) == -1)
		return -1;
	root_fsync(root);
	return 0;
}

int
store_folders_create(const char *root, const char *const *names, size_t n, bool *ok_r)
{
	size_t	i;
	bool	made = false, any = false;

	for (i = 0; i < n; i++) {
		ok_r[i] = folder_make(root, names[i]) == 0;
		made |= ok_r[i];
		if (!ok_r[i] && errno == EEXIST)
			ok_r[i] = true;
		any |= ok_r[i];
	}
	if (made)
		root_fsync(root);
	return any || n == 0 ? 0 : -1;
}

/* Disk names of the children of disk name d (".a" -> ".a.b", ".a.b.c"). */
static int
children_of(const char *root, const char *d, struct names *out)
{
	struct names	all;
	size_t		i, len = strlen(d);

	memset(&all, 0, sizeof(all));
	if (disk_folders(root, &all) == -1)
		return -1;
	for (i = 0; i < all.n; i++) {
		if (strncmp(all.v[i], d, len) == 0 && all.v[i][len] == '.') {
			names_add(out, all.v[i]);
			all.v[i] = NULL;
		}
	}
	names_free(&all);
	return 0;
}

static int
subs_rename(const char *root, const char *oldname, const char *newname);

int
store_folder_rename(const char *root, const char *oldname, const char *newname)
{
	char		 od[FOLDER_NAME_MAX * 3 + 8], nd[FOLDER_NAME_MAX * 3 + 8];
	char		 from[PATH_MAX], to[PATH_MAX];
	struct names	 kids;
	struct stat	 st;
	size_t		 i, olen = 0;
	bool		 exists;
	int		 r, rl = (int)root_len(root);

	if (folder_disk_name(oldname, od, sizeof(od)) == -1 ||
	    folder_disk_name(newname, nd, sizeof(nd)) == -1)
		return -1;
	olen = strlen(od);
	/* INBOX either side, or into its own subtree. */
	if (od[0] == '\0' || nd[0] == '\0' || strcmp(od, nd) == 0 ||
	    (strncmp(nd, od, olen) == 0 && nd[olen] == '.')) {
		errno = EINVAL;
		return -1;
	}
	memset(&kids, 0, sizeof(kids));
	if (children_of(root, od, &kids) == -1)
		return -1;
	snprintf(from, sizeof(from), "%.*s/%s", rl, root, od);
	exists = stat(from, &st) == 0;
	if (!exists && kids.n == 0) {
		names_free(&kids);
		errno = ENOENT;
		return -1;
	}
	/* Check every target first, so a failure leaves nothing half moved. */
	for (i = 0; i <= kids.n; i++) {
		r = snprintf(to, sizeof(to), "%.*s/%s%s", rl, root, nd,
		    i < kids.n ? kids.v[i] + olen : "");
		if (r < 0 || (size_t)r >= sizeof(to)) {
			names_free(&kids);
			errno = ENAMETOOLONG;
			return -1;
		}
		if (lstat(to, &st) == 0) {
			names_free(&kids);
			errno = EEXIST;
			return -1;
		}
	}
	if (exists) {
		snprintf(to, sizeof(to), "%.*s/%s", rl, root, nd);
		if (rename(from, to) == -1) {
			names_free(&kids);
			return -1;
		}
	}
	for (i = 0; i < kids.n; i++) {
		snprintf(from, sizeof(from), "%.*s/%s", rl, root, kids.v[i]);
		snprintf(to, sizeof(to), "%.*s/%s%s", rl, root, nd, kids.v[i] + olen);
		if (rename(from, to) == -1) {
			names_free(&kids);
			return -1;
		}
	}
	names_free(&kids);
	snprintf(to, sizeof(to), "%.*s", rl, root);
	(void)fs_fsync_dir(to);
	(void)subs_rename(root, oldname, newname);
	return 0;
}

static int
rm_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path) == -1 && errno != ENOENT ? -1 : 0;
}

int
store_folder_delete(const char *root, const char *name)
{
	char		 d[FOLDER_NAME_MAX * 3 + 8], from[PATH_MAX], to[PATH_MAX];
	struct names	 kids;
	uint32_t	 rnd = 0;
	uint64_t	 bytes = 0, count = 0;
	int		 rl = (int)root_len(root), r;

	if (folder_disk_name(name, d, sizeof(d)) == -1)
		return -1;
	if (d[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	memset(&kids, 0, sizeof(kids));
	if (children_of(root, d, &kids) == -1)
		return -1;
	if (kids.n > 0) {
		names_free(&kids);
		errno = ENOTEMPTY;
		return -1;
	}
	(void)getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK);
	r = snprintf(from, sizeof(from), "%.*s/%s", rl, root, d);
	if (r < 0 || (size_t)r >= sizeof(from) ||
	    snprintf(to, sizeof(to), "%.*s/.%s.%ld.%08x", rl, root, d, (long)getpid(), rnd) >=
	    (int)sizeof(to)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Rename first: the folder is gone at once for everyone ("..name": not listed). */
	if (rename(from, to) == -1)
		return -1;
	/* Its messages leave the quota (Courier's maildirquota forgot this),
	 * even when some file resists removal: a recalculation skips "..name"
	 * folders too, so the file and a recount agree either way. */
	st_dir_usage(to, &bytes, &count);
	r = nftw(to, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	st_quota_note(root, -(int64_t)bytes, -(int64_t)count);
	return r == -1 ? -1 : 0;
}

/* ---- subscriptions ---- */

static int
subs_path(const char *root, char *dst, size_t dstsz)
{
	int	r = snprintf(dst, dstsz, "%.*s/%s", (int)root_len(root), root, SUBS_FILE);

	if (r < 0 || (size_t)r >= dstsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line of the file as our name, or NULL to skip it. */
static char *
subs_line(char *line, bool v2)
{
	char	*p;

	if (line[0] == '\0')
		return NULL;
	if (v2) {
		for (p = line; *p != '\0'; p++)
			if (*p == '\t')
				*p = '/';
		return xstrdup(line);
	}
	/* Courier: "INBOX.a.b" for ".a.b"; Dovecot v1 with Maildir++: "a.b". */
	if (strncmp(line, "INBOX.", 6) == 0)
		line += 6;
	for (p = line; *p != '\0'; p++)
		if (*p == '.')
			*p = '/';
	return xstrdup(line);
}

int
store_subscriptions(const char *root, char ***names_r, size_t *n_r)
{
	char		 path[PATH_MAX], line[FOLDER_NAME_MAX * 3 + 8], *nl, *s;
	FILE		*f;
	struct names	 ns;
	bool		 v2 = false, first = true;
	size_t		 i, j;

	memset(&ns, 0, sizeof(ns));
	*names_r = NULL;
	*n_r = 0;
	if (subs_path(root, path, sizeof(path)) == -1)
		return -1;
	/* Courier's file ("INBOX.a.b" lines) until we write our own. */
	if ((f = fopen(path, "re")) == NULL && errno == ENOENT &&
	    snprintf(path, sizeof(path), "%.*s/%s", (int)root_len(root), root,
	    COURIER_SUBS_FILE) < (int)sizeof(path))
		f = fopen(path, "re");
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (first && strcmp(line, "V\t2") == 0) {
			v2 = true;
			first = false;
			continue;
		}
		first = false;
		if ((s = subs_line(line, v2)) == NULL)
			continue;
		if (!store_folder_valid(s)) {
			free(s);
			continue;
		}
		names_add(&ns, s);
	}
	fclose(f);
	if (ns.n > 0)
		qsort(ns.v, ns.n, sizeof(*ns.v), str_cmp);
	for (i = j = 0; i < ns.n; i++) {
		if (j > 0 && strcmp(ns.v[j - 1], ns.v[i]) == 0) {
			free(ns.v[i]);
			continue;
		}
		ns.v[j++] = ns.v[i];
	}
	*names_r = ns.v;
	*n_r = j;
	return 0;
}

void
store_subscriptions_free(char ***names, size_t n)
{
	size_t	i;

	if (*names == NULL)
		return;
	for (i = 0; i < n; i++)
		free((*names)[i]);
	xfree(names);
}

/* Dovecot's v2 format, so Dovecot can read it back: '\t' separates levels. */
static int
subs_write(const char *root, char **v, size_t n)
{
	char		path[PATH_MAX], tmp[PATH_MAX], uniq[300];
	struct buf	b;
	size_t		i, k;
	int		fd, saved;

	if (subs_path(root, path, sizeof(path)) == -1 ||
	    name_unique(uniq, sizeof(uniq)) == -1 ||
	    st_join(tmp, sizeof(tmp), path, ".tmp.", uniq) == -1)
		return -1;
	buf_init(&b, 16 * 1024 * 1024);
	if (buf_adds(&b, "V\t2\n\n") == -1)
		goto toobig;
	for (i = 0; i < n; i++) {
		if (v[i] == NULL)
			continue;
		for (k = 0; v[i][k] != '\0'; k++)
			if (buf_addc(&b, v[i][k] == '/' ? '\t' : v[i][k]) == -1)
				goto toobig;
		if (buf_addc(&b, '\n') == -1)
			goto toobig;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || fs_write_all(fd, b.data, b.len) == -1 || fsync(fd) == -1) {
		saved = errno;
		if (fd != -1) {
			close(fd);
			unlink(tmp);
		}
		buf_clear(&b);
		errno = saved;
		return -1;
	}
	buf_clear(&b);
	close(fd);
	if (rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
toobig:
	buf_clear(&b);
	errno = EFBIG;
	return -1;
}

int
store_subscribe_list(const char *root, const char *const *names, size_t nnames,
    bool subscribe)
{
	char	**v;
	size_t	  n, i, k;
	int	  rc = 0;
	bool	  found, change = false;

	for (k = 0; k < nnames; k++) {
		if (!store_folder_valid(names[k])) {
			errno = EINVAL;
			return -1;
		}
	}
	/* Not locked: two sessions subscribing at the same instant may lose
	 * one change (as with Dovecot's and Courier's files); never corrupts. */
	if (store_subscriptions(root, &v, &n) == -1)
		return -1;
	for (k = 0; k < nnames; k++) {
		found = false;
		for (i = 0; i < n; i++) {
			if (v[i] != NULL && strcmp(v[i], names[k]) == 0) {
				found = true;
				if (!subscribe)
					xfree(&v[i]);
			}
		}
		if (found != subscribe) {
			change = true;
			if (subscribe) {
				v = xreallocarray(v, n + 1, sizeof(*v));
				v[n++] = xstrdup(names[k]);
			}
		}
	}
	if (change)
		rc = subs_write(root, v, n);
	store_subscriptions_free(&v, n);
	return rc;
}

int
store_subscribe(const char *root, const char *name, bool subscribe)
{
	return store_subscribe_list(root, &name, 1, subscribe);
}

static int
subs_rename(const char *root, const char *oldname, const char *newname)
{
	char	**v, *s;
	size_t	  n, i, olen = strlen(oldname);
	bool	  any = false;
	int	  rc = 0;

	if (store_subscriptions(root, &v, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (strncmp(v[i], oldname, olen) == 0 && (v[i][olen] == '\0' || v[i][olen] == '/')) {
			s = xasprintf("%s%s", newname, v[i] + olen);
			free(v[i]);
			v[i] = s;
			any = true;
		}
	}
	if (any)
		rc = subs_write(root, v, n);
	store_subscriptions_free(&v, n);
	return rc;
}
