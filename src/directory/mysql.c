/*
 * The MySQL/MariaDB directory backend (libmariadb): `database =
 * mysql://USER:PASS@HOST[:PORT]/DB` or `mysql:///DB?socket=PATH` (also
 * USER@ and ?socket= together), the password possibly from
 * database_password_file.  One connection per struct directory (so per
 * thread), prepared statements only, connect/read/write timeouts so a dead
 * server costs seconds, and reconnection by the shared policy
 * (reconnect.h): a lost connection is retried once at once, then at most
 * every DIR_RETRY_INTERVAL seconds; meanwhile every statement fails fast
 * with DIR_X_TEMP.  Keys compare with '=' under
 * the column's collation (case-insensitive by default), so lookups use the
 * primary key index.
 */
#include <ctype.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "directory/backend.h"
#include "directory/reconnect.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

#define MY_MAXCOLS	4
#define MY_S_PWWIDTH	DIR_S_COUNT		/* private statement: users.password width */
#define MY_NSTMT	(DIR_S_COUNT + 1)
#define MY_MINBUF	64			/* result buffer, also for numbers */

struct my_stmt {
	MYSQL_STMT	*st;			/* NULL: not prepared on this connection */
	int		 map[SQLQ_MAXARGS];	/* placeholder i binds params[map[i]] */
	int		 n;
};

struct my_dir {
	MYSQL		*db;			/* NULL while disconnected */
	char		*host, *user, *pass, *dbname, *socket;
	unsigned	 port;
	char		*label;			/* "mysql://user@host:port/db", no password */
	struct my_stmt	 st[MY_NSTMT];
	struct my_stmt	 qst[DIR_Q_COUNT];
	bool		 in_tx;
	struct dir_reconnect rc;		/* reconnect.h */
};

/* ?N numbered like sqlite.c's; rewritten to '?' with a map at prepare time. */
static const char *const my_sql[MY_NSTMT] = {
	[DIR_S_BEGIN] = "START TRANSACTION",
	[DIR_S_COMMIT] = "COMMIT",
	[DIR_S_ROLLBACK] = "ROLLBACK",
	[DIR_S_DOMAIN_GET] = "SELECT domain FROM domains WHERE domain = ?1 ORDER BY domain",
	[DIR_S_USER_GET] = "SELECT email, password FROM users WHERE email = ?1 ORDER BY email",
	[DIR_S_FORWARD_GET] = "SELECT source, destination FROM forwardings WHERE source = ?1"
	    " ORDER BY source",
	[DIR_S_TRANSPORT_GET] = "SELECT domain, transport FROM transport WHERE domain = ?1"
	    " ORDER BY domain",
	[DIR_S_DOMAIN_INS] = "INSERT INTO domains (domain) VALUES (?1)",
	[DIR_S_DOMAIN_DEL] = "DELETE FROM domains WHERE domain = ?1",
	[DIR_S_DOMAIN_REFS] = "SELECT (SELECT count(*) FROM users"
	    " WHERE RIGHT(lower(email), CHAR_LENGTH(?1)) = ?1),"
	    " (SELECT count(*) FROM forwardings WHERE RIGHT(lower(source), CHAR_LENGTH(?1)) = ?1)",
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
	[DIR_S_USER_LIST_DOM] = "SELECT email FROM users WHERE RIGHT(lower(email), CHAR_LENGTH(?1)) = ?1"
	    " ORDER BY email",
	[DIR_S_FORWARD_LIST] = "SELECT source, destination FROM forwardings ORDER BY source",
	[DIR_S_TRANSPORT_LIST] = "SELECT domain, transport FROM transport ORDER BY domain",
	[MY_S_PWWIDTH] = "SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS"
	    " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users'"
	    " AND COLUMN_NAME = 'password'",
};

/* The classic guide's tables, with room for modern hashes in a new database. */
static const char *const my_schema[] = {
	"CREATE TABLE IF NOT EXISTS domains (domain varchar(50) NOT NULL, PRIMARY KEY (domain))",
	"CREATE TABLE IF NOT EXISTS forwardings (source varchar(80) NOT NULL,"
	" destination TEXT NOT NULL, PRIMARY KEY (source))",
	"CREATE TABLE IF NOT EXISTS users (email varchar(80) NOT NULL,"
	" password varchar(255) NOT NULL, PRIMARY KEY (email))",
	"CREATE TABLE IF NOT EXISTS transport (domain varchar(128) NOT NULL default '',"
	" transport varchar(128) NOT NULL default '', UNIQUE KEY domain (domain))",
	NULL,
};

static pthread_once_t	my_once = PTHREAD_ONCE_INIT;

/* mysql_library_init is not thread-safe; mysql_init would call it lazily from any thread. */
static void
my_library_init(void)
{
	if (mysql_library_init(0, NULL, NULL) != 0)
		fatalx("directory: mysql_library_init failed");
}

static struct my_dir *
my(struct directory *d)
{
	return d->priv;
}

/* Errors worth retrying: the client's own (connection, timeout) and a few of the server's. */
static enum dir_exec
my_kind(unsigned e)
{
	if (e >= CR_MIN_ERROR && e <= CR_MAX_ERROR)
		return DIR_X_TEMP;
	switch (e) {
	case ER_CON_COUNT_ERROR:
	case ER_OUT_OF_RESOURCES:
	case ER_SERVER_SHUTDOWN:
	case ER_TOO_MANY_USER_CONNECTIONS:
	case ER_LOCK_WAIT_TIMEOUT:
	case ER_LOCK_DEADLOCK:
	case ER_QUERY_INTERRUPTED:
	case ER_CONNECTION_KILLED:
	case ER_ABORTING_CONNECTION:
	case ER_HOST_IS_BLOCKED:
	case ER_OUTOFMEMORY:
		return DIR_X_TEMP;
	default:
		return DIR_X_PERM;
	}
}

/* The connection is unusable after this error: drop it and reconnect. */
static bool
my_lost(unsigned e)
{
	return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_SERVER_LOST_EXTENDED ||
	    e == CR_COMMANDS_OUT_OF_SYNC || e == ER_SERVER_SHUTDOWN || e == ER_CONNECTION_KILLED ||
	    e == CR_CONNECTION_ERROR || e == CR_CONN_HOST_ERROR;
}

static void
my_stmt_close(struct my_stmt *ms)
{
	if (ms->st != NULL)
		mysql_stmt_close(ms->st);
	ms->st = NULL;
}

static void
my_disconnect(struct my_dir *m)
{
	int i;

	for (i = 0; i < MY_NSTMT; i++)
		my_stmt_close(&m->st[i]);
	for (i = 0; i < DIR_Q_COUNT; i++)
		my_stmt_close(&m->qst[i]);
	if (m->db != NULL)
		mysql_close(m->db);
	m->db = NULL;
	m->in_tx = false;
}

/* Connect now; DIR_X_OK, or TEMP/PERM with *err_r (and the failure told to m->rc). */
static enum dir_exec
my_connect(struct my_dir *m, char **err_r)
{
	unsigned	 ct = DIR_CONNECT_TIMEOUT, io = DIR_IO_TIMEOUT, e;
	my_bool		 off = 0;
	enum dir_exec	 x;

	pthread_once(&my_once, my_library_init);
	if ((m->db = mysql_init(NULL)) == NULL) {
		*err_r = xasprintf("%s: mysql_init failed", m->label);
		return DIR_X_TEMP;
	}
	mysql_options(m->db, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(m->db, MYSQL_OPT_READ_TIMEOUT, &io);
	mysql_options(m->db, MYSQL_OPT_WRITE_TIMEOUT, &io);
	/* Our own reconnect: libmariadb's would silently drop prepared statements. */
	mysql_options(m->db, MYSQL_OPT_RECONNECT, &off);
	mysql_options(m->db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (mysql_real_connect(m->db, m->host, m->user, m->pass, m->dbname, m->port, m->socket,
	    0) != NULL) {
		dir_reconnect_ok(&m->rc);
		return DIR_X_OK;
	}
	e = mysql_errno(m->db);
	x = my_kind(e);
	*err_r = xasprintf("%s: %s", m->label, mysql_error(m->db));
	dir_reconnect_failed(&m->rc, *err_r);
	mysql_close(m->db);
	m->db = NULL;
	return x;
}

/* Connected, or reconnected if the last attempt is old enough. */
static enum dir_exec
my_ensure(struct my_dir *m, char **err_r)
{
	if (m->db != NULL)
		return DIR_X_OK;
	if (dir_reconnect_due(&m->rc, m->label, err_r) < 0)
		return DIR_X_TEMP;
	return my_connect(m, err_r);
}

/* ---------------------------------------------------------------- URL */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode [s, s+len); NULL on a bad escape or an encoded NUL. */
static char *
pct_decode(const char *s, size_t len)
{
	char	*out = xmalloc(len + 1), *o = out;
	size_t	 i;
	int	 hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= len || (hi = hexval((unsigned char)s[i + 1])) < 0 ||
		    (lo = hexval((unsigned char)s[i + 2])) < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi * 16 + lo);
		i += 2;
	}
	*o = '\0';
	return out;
}

/*
 * mysql://[USER[:PASS]@][HOST[:PORT]]/DB[?socket=PATH]; HOST may be
 * [v6addr].  No host and no socket means the library's default socket.
 */
static int
my_parse(struct my_dir *m, const char *url, char **err_r)
{
	const char	*p = url + strlen("mysql://"), *at, *slash, *q, *hostend, *colon;
	uint64_t	 port;

	slash = strchr(p, '/');
	if (slash == NULL) {
		*err_r = xstrdup("database: mysql:// URL wants /DATABASE");
		return -1;
	}
	at = memrchr(p, '@', (size_t)(slash - p));
	if (at != NULL) {
		colon = memchr(p, ':', (size_t)(at - p));
		m->user = pct_decode(p, (size_t)((colon != NULL ? colon : at) - p));
		if (colon != NULL)
			m->pass = pct_decode(colon + 1, (size_t)(at - colon - 1));
		if (m->user == NULL || (colon != NULL && m->pass == NULL))
			goto bad;
		p = at + 1;
	}
	if (p[0] == '[') {
		if ((hostend = memchr(p, ']', (size_t)(slash - p))) == NULL)
			goto bad;
		m->host = xstrndup(p + 1, (size_t)(hostend - p - 1));
		colon = hostend + 1 < slash && hostend[1] == ':' ? hostend + 1 : NULL;
		if (hostend + 1 != slash && colon == NULL)
			goto bad;
	} else {
		colon = memchr(p, ':', (size_t)(slash - p));
		hostend = colon != NULL ? colon : slash;
		if (hostend > p)
			m->host = xstrndup(p, (size_t)(hostend - p));
	}
	if (colon != NULL) {
		if (parse_u64(colon + 1, (size_t)(slash - colon - 1), 65535, &port) < 0 || port == 0)
			goto bad;
		m->port = (unsigned)port;
	}
	p = slash + 1;
	q = strchr(p, '?');
	m->dbname = pct_decode(p, q != NULL ? (size_t)(q - p) : strlen(p));
	if (m->dbname == NULL || m->dbname[0] == '\0') {
		*err_r = xstrdup("database: mysql:// URL wants /DATABASE");
		return -1;
	}
	if (q != NULL) {
		if (strncmp(q + 1, "socket=", 7) != 0 || strchr(q + 8, '&') != NULL) {
			*err_r = xstrdup("database: mysql:// URL: the only option is ?socket=PATH");
			return -1;
		}
		if ((m->socket = pct_decode(q + 8, strlen(q + 8))) == NULL || m->socket[0] != '/')
			goto bad;
	}
	/* For messages: everything but the password. */
	if (m->port != 0)
		m->label = xasprintf("mysql://%s%s%s:%u/%s", m->user != NULL ? m->user : "",
		    m->user != NULL ? "@" : "", m->host != NULL ? m->host : "", m->port, m->dbname);
	else
		m->label = xasprintf("mysql://%s%s%s/%s%s%s", m->user != NULL ? m->user : "",
		    m->user != NULL ? "@" : "", m->host != NULL ? m->host : "", m->dbname,
		    m->socket != NULL ? "?socket=" : "", m->socket != NULL ? m->socket : "");
	return 0;
bad:
	*err_r = xstrdup("database: malformed mysql:// URL (want"
	    " mysql://USER:PASS@HOST[:PORT]/DB or mysql:///DB?socket=PATH; %XX escapes)");
	return -1;
}

/* ---------------------------------------------------------------- open/close */

static bool
my_match(const char *database)
{
	return strncmp(database, "mysql://", 8) == 0;
}

static void
my_free(struct my_dir *m)
{
	my_disconnect(m);
	if (m->pass != NULL)
		explicit_bzero(m->pass, strlen(m->pass));
	free(m->host);
	free(m->user);
	free(m->pass);
	free(m->dbname);
	free(m->socket);
	free(m->label);
	dir_reconnect_clear(&m->rc);
	free(m);
}

/*
 * Parse and connect.  A server that cannot be reached now is not an open
 * error: the handle starts disconnected and statements fail with
 * DIR_X_TEMP until it comes back.  A refused login or unknown database is.
 */
static int
my_open(struct directory *d, const char *database, const char *confdir, bool create,
    char **err_r)
{
	struct my_dir	*m = xcalloc(1, sizeof(*m));
	char		*err = NULL;

	if (my_parse(m, database, err_r) < 0) {
		my_free(m);
		return -1;
	}
	if (d->password != NULL) {
		if (m->pass != NULL)
			explicit_bzero(m->pass, strlen(m->pass));
		free(m->pass);
		m->pass = xstrdup(d->password);
	}
	if (my_connect(m, &err) == DIR_X_PERM) {
		*err_r = err;
		my_free(m);
		return -1;
	}
	if (err != NULL)
		log_debug("directory: %s", err);
	free(err);
	d->priv = m;
	return 0;
}

static void
my_close(struct directory *d)
{
	if (d->priv != NULL)
		my_free(my(d));
	d->priv = NULL;
}

/* ---------------------------------------------------------------- statements */

static enum dir_exec
my_stmt_fail(struct my_dir *m, MYSQL_STMT *st, bool *lost_r, char **err_r)
{
	unsigned e = mysql_stmt_errno(st);

	*lost_r = my_lost(e);
	*err_r = xasprintf("%s: %s", m->label, mysql_stmt_error(st));
	return my_kind(e);
}

static enum dir_exec
my_prepare(struct my_dir *m, struct my_stmt *ms, const char *sql, bool numbered, bool *lost_r,
    char **err_r)
{
	char		*text;
	my_bool		 on = 1;
	int		 i;
	enum dir_exec	 x;

	if (numbered) {
		if ((text = sqlq_positional(sql, ms->map, SQLQ_MAXARGS, &ms->n)) == NULL) {
			*err_r = xasprintf("%s: bad statement text", m->label);
			return DIR_X_PERM;
		}
	} else {
		text = xstrdup(sql);
		ms->n = -1;	/* identity map, set below */
	}
	if ((ms->st = mysql_stmt_init(m->db)) == NULL) {
		free(text);
		*lost_r = true;
		*err_r = xasprintf("%s: mysql_stmt_init: %s", m->label, mysql_error(m->db));
		return DIR_X_TEMP;
	}
	mysql_stmt_attr_set(ms->st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
	if (mysql_stmt_prepare(ms->st, text, strlen(text)) != 0) {
		x = my_stmt_fail(m, ms->st, lost_r, err_r);
		my_stmt_close(ms);
		free(text);
		return x;
	}
	free(text);
	if (ms->n < 0) {
		ms->n = (int)mysql_stmt_param_count(ms->st);
		if (ms->n > SQLQ_MAXARGS)
			ms->n = SQLQ_MAXARGS;
		for (i = 0; i < ms->n; i++)
			ms->map[i] = i;
	}
	return DIR_X_OK;
}

/* Fetch every row of an executed statement into row(). */
static enum dir_exec
my_fetch(struct my_dir *m, MYSQL_STMT *st, MYSQL_RES *meta, dir_row_fn *row, void *arg,
    bool *lost_r, char **err_r)
{
	MYSQL_BIND	 rb[MY_MAXCOLS];
	MYSQL_FIELD	*f;
	unsigned long	 len[MY_MAXCOLS];
	my_bool		 isnull[MY_MAXCOLS];
	char		*bufs[MY_MAXCOLS] = { NULL };
	const char	*cols[MY_MAXCOLS];
	size_t		 cap[MY_MAXCOLS];
	enum dir_exec	 x = DIR_X_OK;
	unsigned	 i, ncols = mysql_num_fields(meta);
	int		 rc;

	if (ncols > MY_MAXCOLS)
		ncols = MY_MAXCOLS;
	if (mysql_stmt_store_result(st) != 0)
		return my_stmt_fail(m, st, lost_r, err_r);
	f = mysql_fetch_fields(meta);
	memset(rb, 0, sizeof(rb));
	for (i = 0; i < ncols; i++) {
		/* store_result with UPDATE_MAX_LENGTH told us the widest value. */
		cap[i] = (f[i].max_length > MY_MINBUF ? f[i].max_length : MY_MINBUF) + 1;
		bufs[i] = xmalloc(cap[i]);
		rb[i].buffer_type = MYSQL_TYPE_STRING;
		rb[i].buffer = bufs[i];
		rb[i].buffer_length = cap[i];
		rb[i].length = &len[i];
		rb[i].is_null = &isnull[i];
	}
	if (mysql_stmt_bind_result(st, rb) != 0) {
		x = my_stmt_fail(m, st, lost_r, err_r);
		goto out;
	}
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		if (rc == MYSQL_DATA_TRUNCATED) {
			*err_r = xasprintf("%s: a value did not fit its buffer", m->label);
			x = DIR_X_PERM;
			goto out;
		}
		for (i = 0; i < ncols; i++) {
			bufs[i][len[i] < cap[i] ? len[i] : cap[i] - 1] = '\0';
			cols[i] = isnull[i] ? "" : bufs[i];
		}
		if (row != NULL)
			row(arg, cols, (int)ncols);
	}
	if (rc != MYSQL_NO_DATA)
		x = my_stmt_fail(m, st, lost_r, err_r);
out:
	mysql_stmt_free_result(st);
	for (i = 0; i < ncols; i++)
		free(bufs[i]);
	return x;
}

/* Bind, execute, fetch one prepared statement. */
static enum dir_exec
my_run(struct my_dir *m, struct my_stmt *ms, const char *const *params, int n, dir_row_fn *row,
    void *arg, bool *lost_r, char **err_r)
{
	MYSQL_BIND	 pb[SQLQ_MAXARGS];
	unsigned long	 plen[SQLQ_MAXARGS];
	MYSQL_RES	*meta;
	enum dir_exec	 x;
	int		 i;

	if ((int)mysql_stmt_param_count(ms->st) != ms->n) {
		*err_r = xasprintf("%s: statement wants %lu parameters", m->label,
		    (unsigned long)mysql_stmt_param_count(ms->st));
		return DIR_X_PERM;
	}
	memset(pb, 0, sizeof(pb));
	for (i = 0; i < ms->n; i++) {
		if (ms->map[i] < 0 || ms->map[i] >= n) {
			*err_r = xasprintf("%s: statement wants %d parameters, has %d", m->label,
			    ms->map[i] + 1, n);
			return DIR_X_PERM;
		}
		plen[i] = strlen(params[ms->map[i]]);
		pb[i].buffer_type = MYSQL_TYPE_STRING;
		pb[i].buffer = (void *)(uintptr_t)params[ms->map[i]];
		pb[i].buffer_length = plen[i];
		pb[i].length = &plen[i];
	}
	if ((ms->n > 0 && mysql_stmt_bind_param(ms->st, pb) != 0) ||
	    mysql_stmt_execute(ms->st) != 0)
		return my_stmt_fail(m, ms->st, lost_r, err_r);
	if ((meta = mysql_stmt_result_metadata(ms->st)) == NULL)
		return DIR_X_OK;
	x = my_fetch(m, ms->st, meta, row, arg, lost_r, err_r);
	mysql_free_result(meta);
	return x;
}

/* Transaction control: plain queries, no parameters. */
static enum dir_exec
my_txn(struct my_dir *m, enum dir_stmt which, bool *lost_r, char **err_r)
{
	unsigned e;

	if (mysql_real_query(m->db, my_sql[which], strlen(my_sql[which])) != 0) {
		e = mysql_errno(m->db);
		*lost_r = my_lost(e);
		*err_r = xasprintf("%s: %s", m->label, mysql_error(m->db));
		return my_kind(e);
	}
	m->in_tx = which == DIR_S_BEGIN;
	return DIR_X_OK;
}

/*
 * One statement with the reconnect policy (reconnect.h): a connection lost
 * outside a transaction is reopened and the statement retried once; inside
 * one, the transaction is gone, so the caller gets DIR_X_TEMP (and its
 * ROLLBACK succeeds trivially on the fresh state).
 */
static enum dir_exec
my_do(struct directory *d, struct my_stmt *ms, const char *sql, bool numbered, int which,
    const char *const *params, int n, dir_row_fn *row, void *arg, char **err_r)
{
	struct my_dir	*m = my(d);
	enum dir_exec	 x;
	bool		 lost, was_tx;
	int		 attempt;
	time_t		 t0;

	for (attempt = 0;; attempt++) {
		t0 = time(NULL);
		if ((x = my_ensure(m, err_r)) != DIR_X_OK)
			return dir_reconnect_none(which, x, err_r);
		lost = false;
		if (which == DIR_S_BEGIN || which == DIR_S_COMMIT || which == DIR_S_ROLLBACK)
			x = my_txn(m, (enum dir_stmt)which, &lost, err_r);
		else if (ms->st == NULL &&
		    (x = my_prepare(m, ms, sql, numbered, &lost, err_r)) != DIR_X_OK)
			;
		else
			x = my_run(m, ms, params, n, row, arg, &lost, err_r);
		if (x == DIR_X_OK || !lost)
			return x;
		was_tx = m->in_tx;
		log_warnx("directory: %s: connection lost: %s", m->label, *err_r);
		my_disconnect(m);
		if (!dir_reconnect_lost(&m->rc, which, attempt, was_tx, t0, &x, err_r))
			return x;
	}
}

static enum dir_exec
my_exec(struct directory *d, enum dir_stmt which, const char *const *params, int n,
    dir_row_fn *row, void *arg, char **err_r)
{
	return my_do(d, &my(d)->st[which], my_sql[which], true, which, params, n, row, arg, err_r);
}

static enum dir_exec
my_exec_sql(struct directory *d, enum dir_query slot, const char *sql, const char *const *params,
    int n, dir_row_fn *row, void *arg, char **err_r)
{
	return my_do(d, &my(d)->qst[slot], sql, false, -1, params, n, row, arg, err_r);
}

static void
width_row(void *arg, const char *const *cols, int ncols)
{
	long	*w = arg;
	uint64_t v;

	if (ncols > 0 && parse_u64(cols[0], strlen(cols[0]), 1 << 30, &v) == 0)
		*w = (long)v;
}

static int
my_password_width(struct directory *d, long *width_r, char **err_r)
{
	*width_r = 0;
	if (my_do(d, &my(d)->st[MY_S_PWWIDTH], my_sql[MY_S_PWWIDTH], true, MY_S_PWWIDTH, NULL, 0,
	    width_row, width_r, err_r) != DIR_X_OK)
		return -1;
	return 0;
}

static int
my_create_schema(struct directory *d, char **err_r)
{
	struct my_dir	*m = my(d);
	int		 i;

	if (my_ensure(m, err_r) != DIR_X_OK)
		return -1;
	for (i = 0; my_schema[i] != NULL; i++)
		if (mysql_real_query(m->db, my_schema[i], strlen(my_schema[i])) != 0) {
			*err_r = xasprintf("%s: %s", m->label, mysql_error(m->db));
			return -1;
		}
	return 0;
}

const struct dir_backend dir_backend_mysql = {
	.name = "mysql",
	.match = my_match,
	.open = my_open,
	.close = my_close,
	.create_schema = my_create_schema,
	.exec = my_exec,
	.dialect = SQLQ_MYSQL,
	.exec_sql = my_exec_sql,
	.password_width = my_password_width,
	.widen_sql = "ALTER TABLE users MODIFY password varchar(255) NOT NULL",
};
