/*
 * Small per-folder facts kept next to cur/ (RFC 8474 MAILBOXID, RFC 6154
 * special use given at CREATE) and the per-message ids and dates derived
 * from file names (RFC 8474 EMAILID, RFC 8514 save date).  The folder
 * files live in the folder's own directory, so RENAME carries them along
 * and DELETE takes them away: a folder created again under an old name
 * gets a new MAILBOXID, as RFC 8474 4.1 wants.
 *	letterbox-mailboxid	"F" + 24 hex digits, written once
 *	letterbox-specialuse	the use attributes, e.g. "\Sent", one line
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/str.h"
#include "store/store_int.h"

#define MAILBOXID_FILE	"letterbox-mailboxid"
#define SPECIALUSE_FILE	"letterbox-specialuse"
#define META_MAX	256	/* bytes a folder file may hold */

/* ---- message ids and dates (pure) ---- */

void
store_msg_emailid(const struct store_msg *m, char id_r[STORE_OBJID_SIZE])
{
	(void)snprintf(id_r, STORE_OBJID_SIZE, "M%016llx",
	    (unsigned long long)name_emailid(m->name, m->base_len));
}

int64_t
store_msg_savedate(struct store_mailbox *mb, size_t idx)
{
	struct store_msg	 m;
	int64_t			 sec, usec;

	if (store_msg_get(mb, idx, &m) == -1)
		return 0;

	/*
	 * Delivery, APPEND and COPY/MOVE all name the file afresh in this
	 * folder ("<sec>.M<usec>..."), so that time is when it was saved
	 * here.  A name without a plausible time (another program's): the
	 * internal date, which for mail delivered there is the same moment.
	 */
	name_time(m.name, &sec, &usec);
	if (sec >= 100000000 && sec < (int64_t)1 << 40)
		return sec;
	return store_msg_idate(mb, idx);
}

/* ---- folder files ---- */

static int
meta_path(const char *root, const char *folder, const char *file, char *dst, size_t dstsz)
{
	char	dir[PATH_MAX];

	if (store_folder_path(root, folder, dir, sizeof(dir)) == -1)
		return -1;
	return st_join(dst, dstsz, dir, "/", file);
}

/* The file's text without the line end: 1, 0 when there is none, -1/errno. */
static int
meta_read(const char *path, char *dst, size_t dstsz)
{
	ssize_t	n;
	int	fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, dst, dstsz - 1);
	saved = errno;
	close(fd);
	if (n < 0) {
		errno = saved;
		return -1;
	}
	while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == '\r'))
		n--;
	dst[n] = '\0';
	return 1;
}

/*
 * Write text + "\n" to path durably: a temp file beside it, fsync, then
 * link (exclusive: the first writer wins, -1/EEXIST for the others) or
 * rename (replace), and the directory fsynced.  0 or -1/errno.
 */
static int
meta_write(const char *path, const char *text, bool exclusive)
{
	char	tmp[PATH_MAX], uniq[300], dir[PATH_MAX];
	char	*slash;
	int	fd, rc = -1, saved;

	if (name_unique(uniq, sizeof(uniq)) == -1 ||
	    st_join(tmp, sizeof(tmp), path, ".tmp.", uniq) == -1)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1)
		return -1;
	if (fs_write_all(fd, text, strlen(text)) == 0 && fs_write_all(fd, "\n", 1) == 0 &&
	    fsync(fd) == 0)
		rc = 0;
	saved = errno;
	close(fd);
	if (rc == 0)
		rc = exclusive ? link(tmp, path) : rename(tmp, path);
	saved = rc == -1 ? errno : saved;
	(void)unlink(tmp);
	if (rc == 0) {
		str_copy(dir, path, sizeof(dir));
		if ((slash = strrchr(dir, '/')) != NULL) {
			*slash = '\0';
			(void)fs_fsync_dir(dir);
		}
		return 0;
	}
	errno = saved;
	return -1;
}

static bool
objid_valid(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return i > 0 && i < STORE_OBJID_SIZE;
}

int
store_mailbox_id(const char *root, const char *folder, char id_r[STORE_OBJID_SIZE])
{
	char		path[PATH_MAX], text[META_MAX], fresh[STORE_OBJID_SIZE];
	unsigned char	rnd[12];
	size_t		i;
	int		r, tries;

	if (meta_path(root, folder, MAILBOXID_FILE, path, sizeof(path)) == -1)
		return -1;
	for (tries = 0; tries < 3; tries++) {
		if ((r = meta_read(path, text, sizeof(text))) == -1)
			return -1;
		if (r == 1 && objid_valid(text)) {
			str_copy(id_r, text, STORE_OBJID_SIZE);
			return 0;
		}
		if (!store_folder_exists(root, folder)) {
			errno = ENOENT;
			return -1;
		}
		/* 96 random bits: never the id of another folder, now or deleted */
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -1;
		fresh[0] = 'F';
		for (i = 0; i < sizeof(rnd); i++)
			(void)snprintf(fresh + 1 + 2 * i, 3, "%02x", rnd[i]);
		/* a damaged file is replaced; else the first of two racing writers wins */
		if (meta_write(path, fresh, r == 0) == 0) {
			str_copy(id_r, fresh, STORE_OBJID_SIZE);
			return 0;
		}
		if (errno != EEXIST)
			return -1;
	}
	errno = EIO;
	return -1;
}

int
store_folder_special_use(const char *root, const char *name, char *dst, size_t dstsz)
{
	char	path[PATH_MAX];

	if (meta_path(root, name, SPECIALUSE_FILE, path, sizeof(path)) == -1)
		return -1;
	return meta_read(path, dst, dstsz);
}

int
store_folder_set_special_use(const char *root, const char *name, const char *uses)
{
	char	path[PATH_MAX];
	size_t	i;

	for (i = 0; uses[i] != '\0'; i++)
		if (uses[i] == '\n' || uses[i] == '\r')
			break;
	if (uses[i] != '\0' || i >= META_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (meta_path(root, name, SPECIALUSE_FILE, path, sizeof(path)) == -1)
		return -1;
	if (!store_folder_exists(root, name)) {
		errno = ENOENT;
		return -1;
	}
	return meta_write(path, uses, false);
}
