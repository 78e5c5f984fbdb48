/*
 * The SQLite directory backend (the embedded default, `database =
 * sqlite:PATH`).  One connection per thread (opened without SQLite's own
 * mutexes), WAL so the daemon's readers never wait for an admin write,
 * a 2 s busy timeout, and every statement prepared once per connection and
 * reused with bound parameters.  Owns the SQL text of this dialect; the
 * logic lives in directory.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "directory/backend.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define SQLITE_BUSY_MS	2000	/* an admin write holds the lock for milliseconds */
#define SQLITE_MAXCOLS	4

struct sqlite_dir {
	sqlite3		*db;
	char		*path;
	sqlite3_stmt	*st[DIR_S_COUNT];	/* prepared on first use */
	sqlite3_stmt	*qst[DIR_Q_COUNT];	/* the *_query overrides, likewise */
};

/* ?1 DOM_SUFFIX is "@domain": the last length(?1) characters of the column. */
static const char *const sqlite_sql[DIR_S_COUNT] = {
	[DIR_S_BEGIN] = "BEGIN IMMEDIATE",
	[DIR_S_COMMIT] = "COMMIT",
	[DIR_S_ROLLBACK] = "ROLLBACK",
	[DIR_S_DOMAIN_GET] = "SELECT domain FROM domains WHERE lower(domain) = ?1 ORDER BY domain",
	[DIR_S_USER_GET] = "SELECT email, password FROM users WHERE lower(email) = ?1 ORDER BY email",
	[DIR_S_FORWARD_GET] = "SELECT source, destination FROM forwardings WHERE lower(source) = ?1"
	    " ORDER BY source",
	[DIR_S_TRANSPORT_GET] = "SELECT domain, transport FROM transport WHERE lower(domain) = ?1"
	    " ORDER BY domain",
	[DIR_S_DOMAIN_INS] = "INSERT INTO domains (domain) VALUES (?1)",
	[DIR_S_DOMAIN_DEL] = "DELETE FROM domains WHERE domain = ?1",
	[DIR_S_DOMAIN_REFS] = "SELECT (SELECT count(*) FROM users"
	    " WHERE substr(lower(email), -length(?1)) = ?1),"
	    " (SELECT count(*) FROM forwardings WHERE substr(lower(source), -length(?1)) = ?1)",
	[DIR_S_USER_INS] = "INSERT INTO users (email, password) VALUES (?1, ?2)",
	[DIR_S_USER_DEL] = "DELETE FROM users WHERE email = ?1",
	[DIR_S_USER_SETPW] = "UPDATE users SET password = ?2 WHERE email = ?1",
	[DIR_S_FORWARD_INS] = "INSERT INTO forwardings (source, destination) VALUES (?1, ?2)",
	[DIR_S_FORWARD_DEL] = "DELETE FROM forwardings WHERE source = ?1",
	[DIR_S_TRANSPORT_INS] = "INSERT INTO transport (domain, transport) VALUES (?1, ?2)",
	[DIR_S_TRANSPORT_UPD] = "UPDATE transport SET transport = ?2 WHERE domain = ?1",
	[DIR_S_TRANSPORT_DEL] = "DELETE FROM transport WHERE domain = ?1",
	[DIR_S_DOMAIN_LIST] = "SELECT domain FROM domains ORDER BY domain",
	[DIR_S_USER_LIST] = "SELECT email FROM users ORDER BY email",
	[DIR_S_USER_LIST_DOM] = "SELECT email FROM users WHERE substr(lower(email), -length(?1)) = ?1"
	    " ORDER BY email",
	[DIR_S_FORWARD_LIST] = "SELECT source, destination FROM forwardings ORDER BY source",
	[DIR_S_TRANSPORT_LIST] = "SELECT domain, transport FROM transport ORDER BY domain",
};

/*
 * The seed schema, exactly as the classic Postfix/Courier guide has it in
 * SQLite's flavour, plus indexes on lower(key) so the case-folding lookups
 * do not scan (a database without them still works, just slower).
 */
static const char sqlite_schema[] =
    "BEGIN;"
    "CREATE TABLE IF NOT EXISTS domains (domain varchar(50) NOT NULL, PRIMARY KEY (domain));"
    "CREATE TABLE IF NOT EXISTS forwardings (source varchar(80) NOT NULL,"
    " destination TEXT NOT NULL, PRIMARY KEY (source));"
    "CREATE TABLE IF NOT EXISTS users (email varchar(80) NOT NULL,"
    " password varchar(20) NOT NULL, PRIMARY KEY (email));"
    "CREATE TABLE IF NOT EXISTS transport (domain varchar(128) NOT NULL default '',"
    " transport varchar(128) NOT NULL default '', UNIQUE (domain));"
    "CREATE INDEX IF NOT EXISTS letterbox_domains_lower ON domains (lower(domain));"
    "CREATE INDEX IF NOT EXISTS letterbox_forwardings_lower ON forwardings (lower(source));"
    "CREATE INDEX IF NOT EXISTS letterbox_users_lower ON users (lower(email));"
    "CREATE INDEX IF NOT EXISTS letterbox_transport_lower ON transport (lower(domain));"
    "COMMIT;";

static struct sqlite_dir *
sq(struct directory *d)
{
	return d->priv;
}

/* Busy, locked, I/O and the like pass; a bad statement or constraint does not. */
static enum dir_exec
sqlite_kind(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_ERROR:
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_TOOBIG:
		return DIR_X_PERM;
	default:
		return DIR_X_TEMP;
	}
}

static enum dir_exec
sqlite_fail(struct sqlite_dir *s, int rc, char **err_r)
{
	*err_r = xasprintf("sqlite %s: %s", s->path,
	    s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	return sqlite_kind(rc);
}

static bool
sqlite_match(const char *database)
{
	return strncmp(database, "sqlite:", 7) == 0;
}

/*
 * The database holds password hashes: 0600, like its -wal/-shm (SQLite
 * gives those the database file's mode).  A file made before that rule,
 * still group or world readable, is fixed when its owner opens it.
 */
static void
sqlite_private(const char *path, bool create)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	struct stat	 st;
	size_t		 i;
	int		 fd;

	if (create && (fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		char *p = xasprintf("%s%s", path, sfx[i]);

		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    (st.st_mode & 077) != 0) {
			if (chmod(p, st.st_mode & 0600) == 0)
				log_warnx("directory: %s was mode %04o; now 0600", p,
				    (unsigned)(st.st_mode & 07777));
		}
		free(p);
	}
}

static int
sqlite_open(struct directory *d, const char *database, const char *confdir, bool create,
    char **err_r)
{
	struct sqlite_dir	*s;
	const char		*path = database + 7;
	struct stat		 st;
	int			 rc, flags;

	if (*path == '\0') {
		*err_r = xstrdup("database: sqlite: wants a path");
		return -1;
	}
	s = xcalloc(1, sizeof(*s));
	/* A relative path is relative to the config file, not to our cwd. */
	if (path[0] != '/' && confdir != NULL && *confdir != '\0')
		s->path = xasprintf("%s/%s", confdir, path);
	else
		s->path = xstrdup(path);
	if (!create && stat(s->path, &st) != 0) {
		*err_r = xasprintf("sqlite %s: %s%s", s->path, strerror(errno),
		    errno == ENOENT ? " (letterbox init creates it)" : "");
		goto fail;
	}
	sqlite_private(s->path, create);
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	if ((rc = sqlite3_open_v2(s->path, &s->db, flags, NULL)) != SQLITE_OK) {
		sqlite_fail(s, rc, err_r);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, SQLITE_BUSY_MS);
	/*
	 * WAL is a property of the file; init's create_schema sets it, this
	 * converts a database made by hand.  Failing here (locked, read-only
	 * medium) is not fatal: the next statement reports what is wrong.
	 */
	if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK)
		log_debug("directory: sqlite %s: journal_mode=WAL: %s", s->path, sqlite3_errmsg(s->db));
	d->priv = s;
	return 0;
fail:
	sqlite3_close(s->db);
	free(s->path);
	free(s);
	return -1;
}

static void
sqlite_close(struct directory *d)
{
	struct sqlite_dir	*s = sq(d);
	int			 i;

	if (s == NULL)
		return;
	for (i = 0; i < DIR_S_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	for (i = 0; i < DIR_Q_COUNT; i++)
		sqlite3_finalize(s->qst[i]);
	if (sqlite3_close(s->db) != SQLITE_OK)
		log_warnx("directory: sqlite %s: close: %s", s->path, sqlite3_errmsg(s->db));
	free(s->path);
	free(s);
	d->priv = NULL;
}

static int
sqlite_create_schema(struct directory *d, char **err_r)
{
	struct sqlite_dir	*s = sq(d);
	int			 rc;

	rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, sqlite_schema, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sqlite_fail(s, rc, err_r);
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* Bind, step, hand rows to row(), reset: one prepared statement. */
static enum dir_exec
sqlite_run(struct sqlite_dir *s, sqlite3_stmt *st, const char *const *params, int n,
    dir_row_fn *row, void *arg, char **err_r)
{
	const char		*cols[SQLITE_MAXCOLS];
	enum dir_exec		 res = DIR_X_OK;
	int			 rc, i, ncols;

	for (i = 0; i < n; i++) {
		rc = sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
		if (rc != SQLITE_OK) {
			res = sqlite_fail(s, rc, err_r);
			goto out;
		}
	}
	ncols = sqlite3_column_count(st);
	if (ncols > SQLITE_MAXCOLS)
		ncols = SQLITE_MAXCOLS;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < ncols; i++) {
			cols[i] = (const char *)sqlite3_column_text(st, i);
			if (cols[i] == NULL)
				cols[i] = "";
		}
		if (row != NULL)
			row(arg, cols, ncols);
	}
	if (rc != SQLITE_DONE)
		res = sqlite_fail(s, rc, err_r);
out:
	/* Reset releases the read lock; the bindings point at caller memory. */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return res;
}

static enum dir_exec
sqlite_exec(struct directory *d, enum dir_stmt which, const char *const *params, int n,
    dir_row_fn *row, void *arg, char **err_r)
{
	struct sqlite_dir	*s = sq(d);
	sqlite3_stmt		*st;
	int			 rc;

	if ((st = s->st[which]) == NULL) {
		rc = sqlite3_prepare_v3(s->db, sqlite_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
		    &st, NULL);
		if (rc != SQLITE_OK)
			return sqlite_fail(s, rc, err_r);
		s->st[which] = st;
	}
	return sqlite_run(s, st, params, n, row, arg, err_r);
}

static enum dir_exec
sqlite_exec_sql(struct directory *d, enum dir_query slot, const char *sql,
    const char *const *params, int n, dir_row_fn *row, void *arg, char **err_r)
{
	struct sqlite_dir	*s = sq(d);
	sqlite3_stmt		*st;
	int			 rc;

	if ((st = s->qst[slot]) == NULL) {
		rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
		if (rc != SQLITE_OK)
			return sqlite_fail(s, rc, err_r);
		s->qst[slot] = st;
	}
	if (sqlite3_bind_parameter_count(st) != n) {
		*err_r = xasprintf("sqlite %s: query wants %d parameters, has %d", s->path,
		    sqlite3_bind_parameter_count(st), n);
		return DIR_X_PERM;
	}
	return sqlite_run(s, st, params, n, row, arg, err_r);
}

const struct dir_backend dir_backend_sqlite = {
	.name = "sqlite",
	.match = sqlite_match,
	.open = sqlite_open,
	.close = sqlite_close,
	.create_schema = sqlite_create_schema,
	.exec = sqlite_exec,
	.dialect = SQLQ_SQLITE,
	.exec_sql = sqlite_exec_sql,
	/* SQLite does not enforce varchar(N): any hash fits. */
	.password_width = NULL,
	.widen_sql = "",
};
