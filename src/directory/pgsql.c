/*
 * The PostgreSQL directory backend (libpq): `database = postgresql://...`
 * or `postgres://...`, any URI libpq understands (?host=/run/postgresql
 * for a socket directory), the password possibly from
 * database_password_file.  One connection per struct directory (so per
 * thread), statements prepared once per connection with text parameters,
 * a connect timeout and, because libpq has no read timeout, results read
 * through the asynchronous API with poll() and a deadline: a hung server
 * costs DIR_IO_TIMEOUT seconds.  Reconnection by the shared policy
 * (reconnect.h): once at once after a lost connection, then at most every
 * DIR_RETRY_INTERVAL seconds.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "directory/backend.h"
#include "directory/reconnect.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

#define PG_MAXCOLS	4
#define PG_TEXTOID	25			/* pg_type.oid of text */
#define PG_S_PWWIDTH	DIR_S_COUNT		/* private statement: users.password width */
#define PG_NSTMT	(DIR_S_COUNT + 1)

struct pg_dir {
	PGconn		*conn;			/* NULL while disconnected */
	char		*url;
	char		*pass;			/* from database_password_file, or NULL */
	char		*label;			/* the URL without its password */
	bool		 prepared[PG_NSTMT];
	bool		 qprepared[DIR_Q_COUNT];
	bool		 in_tx;
	char		 sqlstate[6];		/* of the last failed statement, "" if none */
	struct dir_reconnect rc;		/* reconnect.h */
};

/* Keys in lookup form (lower case) against lower(col): PostgreSQL compares case-sensitively. */
static const char *const pg_sql[PG_NSTMT] = {
	[DIR_S_BEGIN] = "BEGIN",
	[DIR_S_COMMIT] = "COMMIT",
	[DIR_S_ROLLBACK] = "ROLLBACK",
	[DIR_S_DOMAIN_GET] = "SELECT domain FROM domains WHERE lower(domain) = $1 ORDER BY domain",
	[DIR_S_USER_GET] = "SELECT email, password FROM users WHERE lower(email) = $1 ORDER BY email",
	[DIR_S_FORWARD_GET] = "SELECT source, destination FROM forwardings WHERE lower(source) = $1"
	    " ORDER BY source",
	[DIR_S_TRANSPORT_GET] = "SELECT domain, transport FROM transport WHERE lower(domain) = $1"
	    " ORDER BY domain",
	[DIR_S_DOMAIN_INS] = "INSERT INTO domains (domain) VALUES ($1)",
	[DIR_S_DOMAIN_DEL] = "DELETE FROM domains WHERE domain = $1",
	[DIR_S_DOMAIN_REFS] = "SELECT (SELECT count(*) FROM users"
	    " WHERE right(lower(email), length($1)) = $1),"
	    " (SELECT count(*) FROM forwardings WHERE right(lower(source), length($1)) = $1)",
	[DIR_S_USER_INS] = "INSERT INTO users (email, password) VALUES ($1, $2)",
	[DIR_S_USER_DEL] = "DELETE FROM users WHERE email = $1",
	[DIR_S_USER_SETPW] = "UPDATE users SET password = $2 WHERE email = $1",
	[DIR_S_FORWARD_INS] = "INSERT INTO forwardings (source, destination) VALUES ($1, $2)",
	[DIR_S_FORWARD_DEL] = "DELETE FROM forwardings WHERE source = $1",
	[DIR_S_TRANSPORT_INS] = "INSERT INTO transport (domain, transport) VALUES ($1, $2)",
	[DIR_S_TRANSPORT_UPD] = "UPDATE transport SET transport = $2 WHERE domain = $1",
	[DIR_S_TRANSPORT_DEL] = "DELETE FROM transport WHERE domain = $1",
	[DIR_S_DOMAIN_LIST] = "SELECT domain FROM domains ORDER BY domain",
	[DIR_S_USER_LIST] = "SELECT email FROM users ORDER BY email",
	[DIR_S_USER_LIST_DOM] = "SELECT email FROM users WHERE right(lower(email), length($1)) = $1"
	    " ORDER BY email",
	[DIR_S_FORWARD_LIST] = "SELECT source, destination FROM forwardings ORDER BY source",
	[DIR_S_TRANSPORT_LIST] = "SELECT domain, transport FROM transport ORDER BY domain",
	[PG_S_PWWIDTH] = "SELECT character_maximum_length FROM information_schema.columns"
	    " WHERE table_schema = current_schema() AND table_name = 'users'"
	    " AND column_name = 'password'",
};

/* The classic tables in PostgreSQL's flavour, room for modern hashes, lower() indexes. */
static const char pg_schema[] =
    "CREATE TABLE IF NOT EXISTS domains (domain varchar(50) NOT NULL, PRIMARY KEY (domain));"
    "CREATE TABLE IF NOT EXISTS forwardings (source varchar(80) NOT NULL,"
    " destination TEXT NOT NULL, PRIMARY KEY (source));"
    "CREATE TABLE IF NOT EXISTS users (email varchar(80) NOT NULL,"
    " password varchar(255) NOT NULL, PRIMARY KEY (email));"
    "CREATE TABLE IF NOT EXISTS transport (domain varchar(128) NOT NULL default '',"
    " transport varchar(128) NOT NULL default '', UNIQUE (domain));"
    "CREATE INDEX IF NOT EXISTS letterbox_domains_lower ON domains (lower(domain));"
    "CREATE INDEX IF NOT EXISTS letterbox_forwardings_lower ON forwardings (lower(source));"
    "CREATE INDEX IF NOT EXISTS letterbox_users_lower ON users (lower(email));"
    "CREATE INDEX IF NOT EXISTS letterbox_transport_lower ON transport (lower(domain));";

static struct pg_dir *
pg(struct directory *d)
{
	return d->priv;
}

/* libpq's messages end in a newline (and may hold several lines): one line for ours. */
static char *
pg_msg(const struct pg_dir *p, const char *what)
{
	char	*s = xasprintf("%s: %s", p->label, what != NULL && *what != '\0' ? what :
		    "unknown error");
	char	*c;

	for (c = s; *c != '\0'; c++)
		if (*c == '\n' || *c == '\r' || *c == '\t')
			*c = ' ';
	while (c > s && c[-1] == ' ')
		*--c = '\0';
	return s;
}

/* SQLSTATE classes worth retrying: connection, transaction rollback, resources, operator, system. */
static enum dir_exec
pg_kind(const char *state)
{
	if (state == NULL)
		return DIR_X_TEMP;
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "40", 2) == 0 ||
	    strncmp(state, "53", 2) == 0 || strncmp(state, "57", 2) == 0 ||
	    strncmp(state, "58", 2) == 0 || strcmp(state, "55P03") == 0)
		return DIR_X_TEMP;
	return DIR_X_PERM;
}

/* ---------------------------------------------------------------- connection */

static void
pg_disconnect(struct pg_dir *p)
{
	if (p->conn != NULL)
		PQfinish(p->conn);
	p->conn = NULL;
	memset(p->prepared, 0, sizeof(p->prepared));
	memset(p->qprepared, 0, sizeof(p->qprepared));
	p->in_tx = false;
}

/*
 * A refused login or a missing database will not fix itself; anything
 * else (refused connection, timeout, starting up) may.  libpq reports
 * connection failures as text only.
 */
static enum dir_exec
pg_connect_kind(const char *msg)
{
	static const char *const perm[] = { "password authentication failed", "does not exist",
	    "no password supplied", "no pg_hba.conf entry", "invalid URI", "invalid connection option",
	    "authentication failed", "invalid integer value", NULL };
	int i;

	for (i = 0; perm[i] != NULL; i++)
		if (strstr(msg, perm[i]) != NULL)
			return DIR_X_PERM;
	return DIR_X_TEMP;
}

static enum dir_exec
pg_connect(struct pg_dir *p, char **err_r)
{
	const char	*keys[5] = { "dbname", "connect_timeout", "application_name", NULL, NULL };
	const char	*vals[5] = { p->url, NULL, "letterbox", NULL, NULL };
	char		 timeout[16];
	enum dir_exec	 x;

	/* Later keywords override what the URI says: the timeout is ours. */
	snprintf(timeout, sizeof(timeout), "%d", DIR_CONNECT_TIMEOUT);
	vals[1] = timeout;
	if (p->pass != NULL) {
		keys[3] = "password";
		vals[3] = p->pass;
	}
	p->conn = PQconnectdbParams(keys, vals, 1);
	if (p->conn != NULL && PQstatus(p->conn) == CONNECTION_OK) {
		dir_reconnect_ok(&p->rc);
		return DIR_X_OK;
	}
	*err_r = pg_msg(p, p->conn != NULL ? PQerrorMessage(p->conn) : "out of memory");
	dir_reconnect_failed(&p->rc, *err_r);
	x = pg_connect_kind(*err_r);
	PQfinish(p->conn);
	p->conn = NULL;
	return x;
}

static enum dir_exec
pg_ensure(struct pg_dir *p, char **err_r)
{
	if (p->conn != NULL)
		return DIR_X_OK;
	if (dir_reconnect_due(&p->rc, p->label, err_r) < 0)
		return DIR_X_TEMP;
	return pg_connect(p, err_r);
}

/* The URI for messages: "user:secret@" becomes "user@". */
static char *
pg_label(const char *url)
{
	const char	*s = strstr(url, "://"), *end, *at, *colon;

	if (s == NULL)
		return xstrdup(url);
	s += 3;
	end = s + strcspn(s, "/?");
	at = memrchr(s, '@', (size_t)(end - s));
	if (at == NULL || (colon = memchr(s, ':', (size_t)(at - s))) == NULL)
		return xstrdup(url);
	return xasprintf("%.*s%s", (int)(colon - url), url, at);
}

static bool
pg_match(const char *database)
{
	return strncmp(database, "postgresql://", 13) == 0 || strncmp(database, "postgres://", 11) == 0;
}

static void
pg_free(struct pg_dir *p)
{
	pg_disconnect(p);
	if (p->pass != NULL)
		explicit_bzero(p->pass, strlen(p->pass));
	if (p->url != NULL)
		explicit_bzero(p->url, strlen(p->url));
	free(p->pass);
	free(p->url);
	free(p->label);
	dir_reconnect_clear(&p->rc);
	free(p);
}

/* As mysql.c: an unreachable server leaves the handle disconnected, a refused login fails. */
static int
pg_open(struct directory *d, const char *database, const char *confdir, bool create,
    char **err_r)
{
	struct pg_dir	*p = xcalloc(1, sizeof(*p));
	char		*err = NULL;

	p->url = xstrdup(database);
	p->label = pg_label(database);
	if (d->password != NULL)
		p->pass = xstrdup(d->password);
	if (pg_connect(p, &err) == DIR_X_PERM) {
		*err_r = err;
		pg_free(p);
		return -1;
	}
	if (err != NULL)
		log_debug("directory: %s", err);
	free(err);
	d->priv = p;
	return 0;
}

static void
pg_close(struct directory *d)
{
	if (d->priv != NULL)
		pg_free(pg(d));
	d->priv = NULL;
}

/* ---------------------------------------------------------------- statements */

static long
ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/*
 * Collect the results of what was just sent, waiting at most
 * DIR_IO_TIMEOUT.  Returns the last result (the first failed one wins),
 * or NULL with *lost_r and *err_r when the connection failed or timed out.
 */
static PGresult *
pg_wait(struct pg_dir *p, bool *lost_r, char **err_r)
{
	struct timespec	 deadline;
	struct pollfd	 pfd;
	PGresult	*r, *keep = NULL;
	long		 left;
	int		 n;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += DIR_IO_TIMEOUT;
	for (;;) {
		while (PQisBusy(p->conn)) {
			if ((left = ms_left(&deadline)) <= 0) {
				*err_r = pg_msg(p, "no answer from the server in time");
				goto lost;
			}
			pfd.fd = PQsocket(p->conn);
			pfd.events = POLLIN;
			n = poll(&pfd, 1, (int)left);
			if (n < 0 && errno != EINTR) {
				*err_r = pg_msg(p, strerror(errno));
				goto lost;
			}
			if (n > 0 && !PQconsumeInput(p->conn)) {
				*err_r = pg_msg(p, PQerrorMessage(p->conn));
				goto lost;
			}
		}
		if ((r = PQgetResult(p->conn)) == NULL)
			break;
		if (keep != NULL && PQresultStatus(keep) == PGRES_FATAL_ERROR)
			PQclear(r);
		else {
			PQclear(keep);
			keep = r;
		}
	}
	if (keep == NULL) {
		*err_r = pg_msg(p, PQerrorMessage(p->conn));
		goto lost;
	}
	return keep;
lost:
	PQclear(keep);
	*lost_r = true;
	return NULL;
}

/* A finished result: OK, or an error with its kind; a dead connection sets *lost_r. */
static enum dir_exec
pg_result(struct pg_dir *p, PGresult *r, bool *lost_r, char **err_r)
{
	ExecStatusType	 st = PQresultStatus(r);
	const char	*msg;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return DIR_X_OK;
	/* The primary message alone: the full one repeats the statement with a caret. */
	msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	*err_r = pg_msg(p, msg != NULL ? msg : PQresultErrorMessage(r));
	*lost_r = PQstatus(p->conn) == CONNECTION_BAD;
	msg = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	snprintf(p->sqlstate, sizeof(p->sqlstate), "%s", msg != NULL ? msg : "");
	return *lost_r ? DIR_X_TEMP : pg_kind(msg);
}

/* The highest $N in sql: how many parameters to declare. */
static int
pg_nparams(const char *sql)
{
	const char	*s;
	int		 n, max = 0;

	for (s = sql; (s = strchr(s, '$')) != NULL;) {
		for (s++, n = 0; *s >= '0' && *s <= '9' && n < 1000; s++)
			n = n * 10 + (*s - '0');
		if (n > max)
			max = n;
	}
	return max > SQLQ_MAXARGS ? SQLQ_MAXARGS : max;
}

static enum dir_exec
pg_prepare(struct pg_dir *p, const char *name, const char *sql, bool *lost_r, char **err_r)
{
	Oid		 types[SQLQ_MAXARGS];
	PGresult	*r;
	enum dir_exec	 x;
	int		 i, n = pg_nparams(sql);

	/* Declared text, so length($1) and $1 || 'x' need no guessing by the server. */
	for (i = 0; i < n; i++)
		types[i] = PG_TEXTOID;
	if (!PQsendPrepare(p->conn, name, sql, n, types)) {
		*err_r = pg_msg(p, PQerrorMessage(p->conn));
		*lost_r = true;
		return DIR_X_TEMP;
	}
	if ((r = pg_wait(p, lost_r, err_r)) == NULL)
		return DIR_X_TEMP;
	x = pg_result(p, r, lost_r, err_r);
	PQclear(r);
	return x;
}

/* Execute a prepared statement (name) or, with name NULL, the plain sql; rows to row(). */
static enum dir_exec
pg_run(struct pg_dir *p, const char *name, const char *sql, const char *const *params, int n,
    dir_row_fn *row, void *arg, bool *lost_r, char **err_r)
{
	const char	*cols[PG_MAXCOLS];
	PGresult	*r;
	enum dir_exec	 x;
	int		 ok, i, j, nrows, ncols;

	if (name != NULL)
		ok = PQsendQueryPrepared(p->conn, name, n, params, NULL, NULL, 0);
	else
		ok = PQsendQuery(p->conn, sql);
	if (!ok) {
		*err_r = pg_msg(p, PQerrorMessage(p->conn));
		*lost_r = true;
		return DIR_X_TEMP;
	}
	if ((r = pg_wait(p, lost_r, err_r)) == NULL)
		return DIR_X_TEMP;
	if ((x = pg_result(p, r, lost_r, err_r)) == DIR_X_OK && row != NULL &&
	    PQresultStatus(r) == PGRES_TUPLES_OK) {
		nrows = PQntuples(r);
		ncols = PQnfields(r);
		if (ncols > PG_MAXCOLS)
			ncols = PG_MAXCOLS;
		for (i = 0; i < nrows; i++) {
			for (j = 0; j < ncols; j++)
				cols[j] = PQgetvalue(r, i, j);	/* "" for NULL */
			row(arg, cols, ncols);
		}
	}
	PQclear(r);
	return x;
}

/*
 * "cached plan must not change result type" (0A000): a column changed type
 * under this connection's prepared statements -- the ALTER TABLE that
 * widens users.password does exactly that, and we tell admins to run it.
 * Every statement of the connection may be stale: drop them all (outside a
 * transaction DEALLOCATE ALL is enough; inside one the transaction is
 * aborted, so the connection goes) and let them be prepared again.  0 when
 * the statement may be retried at once.
 */
static int
pg_replan(struct pg_dir *p)
{
	bool	 lost = false;
	char	*err = NULL;

	if (!p->in_tx && pg_run(p, NULL, "DEALLOCATE ALL", NULL, 0, NULL, NULL, &lost, &err) ==
	    DIR_X_OK) {
		memset(p->prepared, 0, sizeof(p->prepared));
		memset(p->qprepared, 0, sizeof(p->qprepared));
		return 0;
	}
	free(err);
	pg_disconnect(p);
	return -1;
}

/*
 * One statement with the reconnect policy (reconnect.h): retried once on a
 * fresh connection when the old one died outside a transaction, and once
 * after a schema change made the prepared statements stale (pg_replan).
 * which: a dir_stmt, PG_S_PWWIDTH, or -1 - slot for an override query.
 */
static enum dir_exec
pg_do(struct directory *d, int which, const char *sql, const char *const *params, int n,
    dir_row_fn *row, void *arg, char **err_r)
{
	struct pg_dir	*p = pg(d);
	bool		*prepared, lost, was_tx, txn;
	char		 name[32];
	enum dir_exec	 x;
	int		 attempt;
	time_t		 t0;

	txn = which == DIR_S_BEGIN || which == DIR_S_COMMIT || which == DIR_S_ROLLBACK;
	if (which >= 0) {
		prepared = &p->prepared[which];
		snprintf(name, sizeof(name), "lb_s%d", which);
	} else {
		prepared = &p->qprepared[-1 - which];
		snprintf(name, sizeof(name), "lb_q%d", -1 - which);
	}
	for (attempt = 0;; attempt++) {
		t0 = time(NULL);
		if ((x = pg_ensure(p, err_r)) != DIR_X_OK)
			return dir_reconnect_none(which, x, err_r);
		/* pg_ensure may have reconnected: prepared[] was reset with it. */
		prepared = which >= 0 ? &p->prepared[which] : &p->qprepared[-1 - which];
		lost = false;
		if (txn) {
			if ((x = pg_run(p, NULL, sql, NULL, 0, NULL, NULL, &lost, err_r)) == DIR_X_OK)
				p->in_tx = which == DIR_S_BEGIN;
		} else if (!*prepared &&
		    (x = pg_prepare(p, name, sql, &lost, err_r)) != DIR_X_OK) {
			;
		} else {
			*prepared = true;
			x = pg_run(p, name, NULL, params, n, row, arg, &lost, err_r);
		}
		/* Not after a retry: then 0A000 is some other unsupported feature. */
		if (x != DIR_X_OK && !lost && !txn && attempt == 0 &&
		    strcmp(p->sqlstate, "0A000") == 0) {
			log_info("directory: the schema changed, preparing statements again: %s",
			    *err_r);
			if (pg_replan(p) < 0)
				return DIR_X_TEMP;
			xfree(err_r);
			continue;
		}
		if (x == DIR_X_OK || !lost)
			return x;
		was_tx = p->in_tx;
		log_warnx("directory: connection lost: %s", *err_r);
		pg_disconnect(p);
		if (!dir_reconnect_lost(&p->rc, which, attempt, was_tx, t0, &x, err_r))
			return x;
	}
}

static enum dir_exec
pg_exec(struct directory *d, enum dir_stmt which, const char *const *params, int n,
    dir_row_fn *row, void *arg, char **err_r)
{
	return pg_do(d, which, pg_sql[which], params, n, row, arg, err_r);
}

static enum dir_exec
pg_exec_sql(struct directory *d, enum dir_query slot, const char *sql, const char *const *params,
    int n, dir_row_fn *row, void *arg, char **err_r)
{
	return pg_do(d, -1 - (int)slot, sql, params, n, row, arg, err_r);
}

static void
width_row(void *arg, const char *const *cols, int ncols)
{
	long		*w = arg;
	uint64_t	 v;

	if (ncols > 0 && parse_u64(cols[0], strlen(cols[0]), 1 << 30, &v) == 0)
		*w = (long)v;
}

static int
pg_password_width(struct directory *d, long *width_r, char **err_r)
{
	*width_r = 0;
	return pg_do(d, PG_S_PWWIDTH, pg_sql[PG_S_PWWIDTH], NULL, 0, width_row, width_r,
	    err_r) == DIR_X_OK ? 0 : -1;
}

static int
pg_create_schema(struct directory *d, char **err_r)
{
	struct pg_dir	*p = pg(d);
	bool		 lost = false;

	if (pg_ensure(p, err_r) != DIR_X_OK)
		return -1;
	return pg_run(p, NULL, pg_schema, NULL, 0, NULL, NULL, &lost, err_r) == DIR_X_OK ? 0 : -1;
}

const struct dir_backend dir_backend_pgsql = {
	.name = "pgsql",
	.match = pg_match,
	.open = pg_open,
	.close = pg_close,
	.create_schema = pg_create_schema,
	.exec = pg_exec,
	.dialect = SQLQ_PGSQL,
	.exec_sql = pg_exec_sql,
	.password_width = pg_password_width,
	.widen_sql = "ALTER TABLE users ALTER COLUMN password TYPE varchar(255)",
};
