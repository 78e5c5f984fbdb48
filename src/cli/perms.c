/*
 * Who owns what in an instance that root runs (issue 10): the mail owner
 * must not be able to become root, so everything root reads (the config,
 * the aliases file, the TLS key) belongs to root and is not writable by it,
 * while what the daemon writes (SQLite database, spool, Maildirs) belongs
 * to it.  The instance directory is root:OWNER mode 1775 when the SQLite
 * database lives there (SQLite creates -wal/-shm next to it; the sticky bit
 * keeps the owner from replacing root's files).  perms_init() sets this
 * layout for `init`; perms_fix() repairs an older instance when `serve`
 * starts as root, with one log line per change.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/*
 * Give path (not followed if a symlink) owner uid:gid and mode, each only
 * when it differs.  1 changed, 0 unchanged or absent, -1/errno.
 */
static int
set_perm(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
	struct stat	st;
	int		fd, changed = 0, saved;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (st.st_uid != uid || st.st_gid != gid) {
		if (fchown(fd, uid, gid) != 0)
			goto fail;
		changed = 1;
	}
	/* chown clears set-id bits: compare the mode after it. */
	if (changed || (st.st_mode & 07777) != mode) {
		if (fchmod(fd, mode) != 0)
			goto fail;
		changed |= (st.st_mode & 07777) != mode;
	}
	close(fd);
	return changed;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* The SQLite database's path, or NULL (another backend). */
static char *
sqlite_path(const struct conf *c)
{
	const char *db = conf_str(c, CK_DATABASE);

	if (strncmp(db, "sqlite:", 7) != 0 || db[7] == '\0')
		return NULL;
	if (db[7] == '/')
		return xstrdup(db + 7);
	return xasprintf("%s/%s", conf_str(c, CK_CONFIG_DIRECTORY), db + 7);
}

/* Does the SQLite database live directly in the config directory? */
static bool
db_in_confdir(const struct conf *c)
{
	char	*db = sqlite_path(c), *slash;
	bool	 in;

	if (db == NULL)
		return false;
	slash = strrchr(db, '/');
	in = slash != NULL && (size_t)(slash - db) == strlen(conf_str(c, CK_CONFIG_DIRECTORY)) &&
	    strncmp(db, conf_str(c, CK_CONFIG_DIRECTORY), (size_t)(slash - db)) == 0;
	free(db);
	return in;
}

/* The directory of the TLS key, when it is below the config directory. */
static char *
tls_dir(const struct conf *c)
{
	const char	*key = conf_str(c, CK_SMTPD_TLS_KEY_FILE), *cd = conf_str(c, CK_CONFIG_DIRECTORY);
	const char	*slash = strrchr(key, '/');
	size_t		 cl = strlen(cd);

	if (slash == NULL || strncmp(key, cd, cl) != 0 || key[cl] != '/' || slash == key + cl)
		return NULL;
	return xstrndup(key, (size_t)(slash - key));
}

/* The database and its -wal/-shm: the mail owner's, 0600 (password hashes). */
static int
perm_db(const struct conf *c, const struct passwd *pw, bool logit)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char	*db = sqlite_path(c);
	size_t	 i;
	int	 r = 0;

	for (i = 0; db != NULL && i < 3 && r >= 0; i++) {
		char *p = xasprintf("%s%s", db, sfx[i]);

		if ((r = set_perm(p, pw->pw_uid, pw->pw_gid, 0600)) > 0 && logit)
			log_warnx("serve: %s was readable by others or not the mail owner's; now %s, mode 0600",
			    p, pw->pw_name);
		free(p);
	}
	free(db);
	return r < 0 ? -1 : 0;
}

int
perms_init(const struct conf *c, const char *conf_path, const struct passwd *pw, gid_t drop_gid,
    char **err_r)
{
	const char	*cd = conf_str(c, CK_CONFIG_DIRECTORY);
	const char	*qd = conf_str(c, CK_QUEUE_DIRECTORY);
	char		*td = tls_dir(c), *md = xasprintf("%s/maildrop", qd);
	struct {
		const char	*path;
		uid_t		 uid;
		gid_t		 gid;
		mode_t		 mode;
	} t[] = {
		{ cd, 0, db_in_confdir(c) ? pw->pw_gid : 0, db_in_confdir(c) ? 01775 : 0755 },
		{ conf_path, 0, 0, 0644 },
		{ conf_str(c, CK_ALIAS_MAPS), 0, 0, 0644 },
		{ td, 0, 0, 0755 },
		{ conf_str(c, CK_SMTPD_TLS_KEY_FILE), 0, 0, 0600 },
		{ conf_str(c, CK_SMTPD_TLS_CERT_FILE), 0, 0, 0644 },
		{ qd, pw->pw_uid, drop_gid, 0710 },
		{ md, pw->pw_uid, drop_gid, 01730 },
		{ conf_str(c, CK_VIRTUAL_MAILBOX_BASE), pw->pw_uid, pw->pw_gid, 0700 },
	};
	size_t	i;
	int	r = 0;

	for (i = 0; i < sizeof(t) / sizeof(t[0]) && r == 0; i++)
		if (t[i].path != NULL && *t[i].path != '\0' && set_perm(t[i].path, t[i].uid, t[i].gid,
		    t[i].mode) < 0) {
			*err_r = xasprintf("%s: %s", t[i].path, strerror(errno));
			r = -1;
		}
	if (r == 0 && perm_db(c, pw, false) < 0) {
		*err_r = xasprintf("database: %s", strerror(errno));
		r = -1;
	}
	free(td);
	free(md);
	return r;
}

/* root's file that the owner could write: give it to root, drop group/other write. */
static void
fix_root_file(const char *path, const struct passwd *pw)
{
	struct stat	st;

	if (path == NULL || *path == '\0' || lstat(path, &st) != 0 || S_ISLNK(st.st_mode))
		return;
	if (st.st_uid != pw->pw_uid && !(st.st_mode & S_IWOTH) &&
	    !((st.st_mode & S_IWGRP) && st.st_gid == pw->pw_gid))
		return;
	if (set_perm(path, 0, st.st_gid == pw->pw_gid ? pw->pw_gid : st.st_gid,
	    st.st_mode & 07755 & ~(mode_t)(S_ISUID | S_ISGID)) > 0)
		log_warnx("serve: %s was writable by the mail owner %s; now owner root, mode %04o",
		    path, pw->pw_name, (unsigned)(st.st_mode & 0755));
}

void
perms_fix(const struct conf *c, const char *conf_path, const struct passwd *pw)
{
	const char	*cd = conf_str(c, CK_CONFIG_DIRECTORY);
	char		*td = tls_dir(c);
	struct stat	 st;

	fix_root_file(conf_path, pw);
	fix_root_file(conf_str(c, CK_ALIAS_MAPS), pw);
	fix_root_file(td, pw);
	fix_root_file(conf_str(c, CK_SMTPD_TLS_KEY_FILE), pw);
	free(td);
	/* An instance directory the owner owns (an older init): root's, sticky. */
	if (lstat(cd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == pw->pw_uid &&
	    set_perm(cd, 0, db_in_confdir(c) ? pw->pw_gid : st.st_gid,
	    db_in_confdir(c) ? 01775 : 0755) > 0)
		log_warnx("serve: %s belonged to the mail owner %s; now root:%u mode %s", cd,
		    pw->pw_name, (unsigned)(db_in_confdir(c) ? pw->pw_gid : st.st_gid),
		    db_in_confdir(c) ? "1775" : "0755");
	if (perm_db(c, pw, true) < 0)
		log_warn("serve: cannot fix the database's owner and mode");
}
