/*
 * The directory's logic over any backend (backend.h): backend dispatch by
 * the `database` key, the per-thread handle, lookup keys and case folding,
 * validation of admin input and the one-transaction admin writes.  Nothing
 * is cached: every lookup asks the database, so a row inserted by hand is
 * seen at once.
 *
 * Stored forms written here: domains in A-label lower case (addr.h), users'
 * and forwardings' addresses as their lookup key (local part lower-cased
 * unless localpart_case_sensitive), destinations as "a@x,b@y".  Rows typed
 * by hand in any case are still found: every compare is lower(col) = key.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "directory/backend.h"
#include "lib/addr.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

#define DIR_DEST_MAX	65536	/* a forwarding's destination list, bytes */
#define DIR_SHOW	160	/* user input quoted in an error message */
#define DIR_SECRET_MAX	1024	/* database_password_file's first line */
#define DIR_HASH_MODERN	106	/* longest hash we expect to write: SHA-512 crypt; yescrypt is 73 */

/* The config keys of the override queries, by enum dir_query. */
static const char *const query_keys[DIR_Q_COUNT] = {
	[DIR_Q_DOMAIN] = "domain_query",
	[DIR_Q_MAILBOX] = "mailbox_query",
	[DIR_Q_FORWARD] = "forward_query",
	[DIR_Q_TRANSPORT] = "transport_query",
	[DIR_Q_PASSWORD] = "password_query",
};

static const struct dir_backend *const backends[] = {
	&dir_backend_sqlite,
	&dir_backend_mysql,
	&dir_backend_pgsql,
	NULL,
};

static void
seterr(char **err_r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
seterr(char **err_r, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512];

	if (err_r == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	free(*err_r);
	*err_r = xstrdup(msg);
}

/* User input shown in an error line: escaped, cut. */
static const char *
show(char *buf, const char *s)
{
	return log_escape(buf, DIR_SHOW, s, strlen(s));
}

/* ---------------------------------------------------------------- handles */

/*
 * The first line of database_password_file (relative to the config's
 * directory).  The daemon and the admin verbs read it as the mail owner,
 * so the file is root:vmail 0640, like Postfix's *.cf files.
 */
static char *
read_password_file(const char *path, const char *confdir, char **err_r)
{
	char	*full, line[DIR_SECRET_MAX];
	FILE	*f;
	size_t	 len;

	if (path[0] != '/' && confdir != NULL && *confdir != '\0')
		full = xasprintf("%s/%s", confdir, path);
	else
		full = xstrdup(path);
	if ((f = fopen(full, "re")) == NULL) {
		*err_r = xasprintf("database_password_file %s: %s", full, strerror(errno));
		free(full);
		return NULL;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	len = strcspn(line, "\r\n");
	line[len] = '\0';
	free(full);
	full = xstrdup(line);
	explicit_bzero(line, sizeof(line));
	return full;
}

/* Compile the *_query overrides for the backend's dialect; 0 or -1 with *err_r. */
static int
compile_queries(struct directory *d, const struct conf *c, char **err_r)
{
	const char	*tmpl;
	char		*err = NULL;
	int		 i;

	for (i = 0; i < DIR_Q_COUNT; i++) {
		tmpl = conf_str(c, query_keys[i]);
		if (*tmpl == '\0')
			continue;
		if ((d->q[i] = sqlq_compile(tmpl, d->be->dialect, &err)) == NULL) {
			*err_r = xasprintf("%s: %s", query_keys[i], err);
			free(err);
			return -1;
		}
	}
	return 0;
}

static void
free_queries(struct directory *d)
{
	int i;

	for (i = 0; i < DIR_Q_COUNT; i++)
		sqlq_free(&d->q[i]);
}

static struct directory *
dir_open_mode(const struct conf *c, bool create, char **err_r)
{
	const struct dir_backend *const *be;
	const char		*database = conf_str(c, "database");
	const char		*pwfile = conf_str(c, "database_password_file");
	const char		*confdir = conf_str(c, "config_directory");
	struct directory	*d;
	char			*pw = NULL;
	int			 rc;

	for (be = backends; *be != NULL; be++)
		if ((*be)->match(database))
			break;
	if (*be == NULL) {
		*err_r = xstrdup("database: unknown backend (want sqlite:PATH, mysql://... or"
		    " postgresql://...)");
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	d->be = *be;
	d->case_sensitive = conf_bool(c, "localpart_case_sensitive");
	if (compile_queries(d, c, err_r) < 0) {
		free_queries(d);
		free(d);
		return NULL;
	}
	if (*pwfile != '\0' && (pw = read_password_file(pwfile, confdir, err_r)) == NULL) {
		free_queries(d);
		free(d);
		return NULL;
	}
	d->password = pw;
	rc = d->be->open(d, database, confdir, create, err_r);
	d->password = NULL;
	if (pw != NULL) {
		explicit_bzero(pw, strlen(pw));
		free(pw);
	}
	if (rc < 0) {
		free_queries(d);
		free(d);
		return NULL;
	}
	return d;
}

struct directory *
dir_open(const struct conf *c, char **err_r)
{
	return dir_open_mode(c, true, err_r);
}

struct directory *
dir_open_existing(const struct conf *c, char **err_r)
{
	return dir_open_mode(c, false, err_r);
}

void
dir_close(struct directory **dp)
{
	struct directory *d = *dp;

	if (d == NULL)
		return;
	d->be->close(d);
	free_queries(d);
	xfree(dp);
}

int
dir_create_schema(struct directory *d, char **err_r)
{
	return d->be->create_schema(d, err_r);
}

/*
 * dir_thread(): one handle per thread, keyed by the conf it was opened for.
 * conf.c keeps every conf it ever made current alive until exit, so
 * comparing pointers cannot mistake a new conf for a freed old one.
 */
struct dir_tls {
	const struct conf	*conf;
	struct directory	*d;
	time_t			 last_warn;	/* open failures are logged once per 10 s */
};

static pthread_key_t	dir_key;
static pthread_once_t	dir_once = PTHREAD_ONCE_INIT;

static void
dir_tls_free(void *p)
{
	struct dir_tls *t = p;

	dir_close(&t->d);
	free(t);
}

static void
dir_key_init(void)
{
	if (pthread_key_create(&dir_key, dir_tls_free) != 0)
		fatalx("directory: pthread_key_create failed");
}

struct directory *
dir_thread(void)
{
	const struct conf	*c = conf_current();
	struct dir_tls		*t;
	char			*err = NULL;
	time_t			 now;

	pthread_once(&dir_once, dir_key_init);
	if ((t = pthread_getspecific(dir_key)) == NULL) {
		t = xcalloc(1, sizeof(*t));
		if (pthread_setspecific(dir_key, t) != 0)
			fatalx("directory: pthread_setspecific failed");
	}
	if (t->d != NULL && t->conf == c)
		return t->d;
	dir_close(&t->d);
	t->conf = NULL;
	if (c == NULL)
		return NULL;
	if ((t->d = dir_open_existing(c, &err)) == NULL) {
		now = time(NULL);
		if (now - t->last_warn >= 10) {
			log_warnx("directory: %s", err);
			t->last_warn = now;
		}
		free(err);
		return NULL;
	}
	t->conf = c;
	return t->d;
}

void
dir_thread_close(void)
{
	struct dir_tls *t;

	pthread_once(&dir_once, dir_key_init);
	if ((t = pthread_getspecific(dir_key)) == NULL)
		return;
	pthread_setspecific(dir_key, NULL);
	dir_tls_free(t);
}

/* ---------------------------------------------------------------- keys */

/*
 * The lookup key of an address or (catch_all) "@domain": q is the query
 * parameter, all lower case; under case sensitivity exact holds the local
 * part that a row must match byte for byte (SQL only folded it).
 */
struct lkey {
	char	*q;
	char	*exact;		/* "Local@domain" or NULL */
};

static void
lkey_clear(struct lkey *k)
{
	xfree(&k->q);
	xfree(&k->exact);
}

static int
lkey_make(struct directory *d, const char *s, bool catch_all, struct lkey *k)
{
	const char	*err;
	char		*dom;

	k->q = k->exact = NULL;
	if (s[0] == '@') {
		if (!catch_all || domain_normalize(s + 1, &dom, &err) < 0)
			return -1;
		k->q = xasprintf("@%s", dom);
		free(dom);
		return 0;
	}
	if ((k->q = addr_lookup_key(s, false)) == NULL)
		return -1;
	if (d->case_sensitive && (k->exact = addr_lookup_key(s, true)) == NULL) {
		lkey_clear(k);
		return -1;
	}
	return 0;
}

/* The first row whose first column matches the key (see struct lkey). */
struct pick {
	const char	*exact;
	size_t		 exact_len;	/* of exact's local part */
	bool		 found;
	char		*col0, *col1;
};

static void
pick_row(void *arg, const char *const *cols, int ncols)
{
	struct pick	*p = arg;
	const char	*at;

	if (p->found || ncols < 1)
		return;
	if (p->exact != NULL) {
		at = addr_at(cols[0]);
		if (at == NULL || (size_t)(at - cols[0]) != p->exact_len ||
		    memcmp(cols[0], p->exact, p->exact_len) != 0)
			return;
	}
	p->found = true;
	p->col0 = xstrdup(cols[0]);
	p->col1 = ncols > 1 ? xstrdup(cols[1]) : NULL;
}

static void
pick_clear(struct pick *p)
{
	xfree(&p->col0);
	xfree(&p->col1);
	p->found = false;
}

/* Run a *_GET for key k; DIR_X_* with *err_r. */
static enum dir_exec
dir_get(struct directory *d, enum dir_stmt s, const struct lkey *k, struct pick *p, char **err_r)
{
	const char	*params[1] = { k->q };
	enum dir_exec	 x;

	memset(p, 0, sizeof(*p));
	if (k->exact != NULL) {
		p->exact = k->exact;
		p->exact_len = (size_t)(addr_at(k->exact) - k->exact);
	}
	if ((x = d->be->exec(d, s, params, 1, pick_row, p, err_r)) != DIR_X_OK)
		pick_clear(p);
	return x;
}

/* A lookup: DIR_FOUND with *val_r (column 1, may be NULL), NOTFOUND, or TEMPFAIL (logged). */
static enum dir_result
dir_lookup(struct directory *d, enum dir_stmt s, const struct lkey *k, char **val_r)
{
	struct pick	 p;
	char		*err = NULL;

	if (dir_get(d, s, k, &p, &err) != DIR_X_OK) {
		log_warnx("directory: lookup failed: %s", err);
		free(err);
		return DIR_TEMPFAIL;
	}
	if (!p.found)
		return DIR_NOTFOUND;
	free(p.col0);
	if (val_r != NULL)
		*val_r = p.col1;
	else
		free(p.col1);
	return DIR_FOUND;
}

/*
 * An override query's rows (struct dir_query): the first column of the
 * first row, or with join of every row, joined by ',' as Postfix does for
 * a multi-row virtual_alias_maps answer.
 */
struct qacc {
	bool		 join;
	bool		 found;
	bool		 overflow;
	struct buf	 val;
};

static void
qacc_row(void *arg, const char *const *cols, int ncols)
{
	struct qacc *a = arg;

	if (a->found && !a->join)
		return;
	if (a->found && buf_addc(&a->val, ',') < 0)
		a->overflow = true;
	if (ncols > 0 && buf_adds(&a->val, cols[0]) < 0)
		a->overflow = true;
	a->found = true;
}

/* Run the override for key; DIR_X_* with *err_r, and the answer in a. */
static enum dir_exec
dir_query_run(struct directory *d, enum dir_query which, const char *key, struct qacc *a,
    char **err_r)
{
	const struct sqlq	*q = d->q[which];
	const char		*params[SQLQ_MAXARGS];
	struct sqlq_vals	 v;
	enum dir_exec		 x = DIR_X_OK;

	memset(a, 0, sizeof(*a));
	a->join = which == DIR_Q_FORWARD;
	buf_init(&a->val, DIR_DEST_MAX);
	/* Postfix suppresses a query whose %u/%d has nothing to stand for: no row. */
	if (sqlq_bind(q, key, &v, params) == 0)
		x = d->be->exec_sql(d, which, q->sql, params, q->nargs, qacc_row, a, err_r);
	sqlq_vals_clear(&v);
	return x;
}

/* A lookup through an override query: as dir_lookup. */
static enum dir_result
dir_lookup_q(struct directory *d, enum dir_query which, const char *key, char **val_r)
{
	struct qacc	 a;
	char		*err = NULL;

	if (dir_query_run(d, which, key, &a, &err) != DIR_X_OK) {
		log_warnx("directory: %s failed: %s", query_keys[which], err);
		free(err);
		buf_clear(&a.val);
		return DIR_TEMPFAIL;
	}
	if (!a.found) {
		buf_clear(&a.val);
		return DIR_NOTFOUND;
	}
	/* Cutting a destination list would lose recipients: defer instead, loudly. */
	if (a.overflow) {
		log_warnx("directory: %s: answer longer than %d bytes", query_keys[which],
		    DIR_DEST_MAX);
		buf_clear(&a.val);
		return DIR_TEMPFAIL;
	}
	if (val_r != NULL)
		*val_r = buf_take(&a.val, NULL);
	buf_clear(&a.val);
	return DIR_FOUND;
}

/* The key an override query sees: the lookup key, exact case when that matters. */
static const char *
lkey_str(const struct lkey *k)
{
	return k->exact != NULL ? k->exact : k->q;
}

/*
 * A Maildir path from mailbox_query (Postfix's virtual_mailbox_maps
 * answer, "example.com/sales/"): relative, no "." or ".." component, so it
 * stays below virtual_mailbox_base.
 */
static bool
maildir_path_ok(const char *p)
{
	const char	*c, *e;
	size_t		 n;

	if (p[0] == '/' || p[0] == '\0')
		return false;
	for (c = p; *c != '\0'; c = *e == '/' ? e + 1 : e) {
		e = strchrnul(c, '/');
		n = (size_t)(e - c);
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (n == 0 && *e == '/')
			return false;	/* "a//b" */
	}
	return true;
}

/* ---------------------------------------------------------------- lookups */

/* A lookup keyed by a domain: the *_query override when set, else the built-in statement. */
static enum dir_result
domain_lookup(struct directory *d, enum dir_query q, enum dir_stmt st, const char *domain,
    char **value_r)
{
	struct lkey	 k = { NULL, NULL };
	const char	*err;
	enum dir_result	 r;

	if (d == NULL)
		return DIR_TEMPFAIL;
	if (domain_normalize(domain, &k.q, &err) < 0)
		return DIR_NOTFOUND;
	if (d->q[q] != NULL)
		r = dir_lookup_q(d, q, k.q, value_r);
	else
		r = dir_lookup(d, st, &k, value_r);
	lkey_clear(&k);
	return r;
}

enum dir_result
dir_domain_hosted(struct directory *d, const char *domain)
{
	return domain_lookup(d, DIR_Q_DOMAIN, DIR_S_DOMAIN_GET, domain, NULL);
}

/*
 * A local part becomes a directory name under the domain's: refuse what
 * would leave it (a '/', "." or "..": legal in a quoted local part) rather
 * than deliver somewhere unexpected.
 */
static bool
maildir_name_ok(const char *local, size_t len)
{
	if (len == 0 || memchr(local, '/', len) != NULL || str_has_nul(local, len))
		return false;
	if ((len == 1 && local[0] == '.') || (len == 2 && memcmp(local, "..", 2) == 0))
		return false;
	return true;
}

enum dir_result
dir_mailbox(struct directory *d, const char *addr, char **maildir_r)
{
	struct lkey	 k;
	enum dir_result	 r;
	const char	*key, *at;
	char		 shown[DIR_SHOW], shown2[DIR_SHOW], *path = NULL;

	if (d == NULL)
		return DIR_TEMPFAIL;
	if (addr[0] == '@' || lkey_make(d, addr, false, &k) < 0)
		return DIR_NOTFOUND;
	if (d->q[DIR_Q_MAILBOX] != NULL) {
		r = dir_lookup_q(d, DIR_Q_MAILBOX, lkey_str(&k), &path);
		if (r == DIR_FOUND && path[0] != '\0') {
			/* The install's own layout, as Postfix's virtual_mailbox_maps had it. */
			if (!maildir_path_ok(path)) {
				log_warnx("directory: mailbox_query: unsafe path \"%s\" for %s",
				    show(shown, path), show(shown2, lkey_str(&k)));
				r = DIR_TEMPFAIL;
			} else if (path[strlen(path) - 1] != '/') {
				*maildir_r = xasprintf("%s/", path);
			} else {
				*maildir_r = path;
				path = NULL;
			}
			free(path);
			lkey_clear(&k);
			return r;
		}
		free(path);
	} else
		r = dir_lookup(d, DIR_S_USER_GET, &k, NULL);
	if (r == DIR_FOUND) {
		/* The path comes from the key, so it is in stored form whatever the row's case. */
		key = k.exact != NULL ? k.exact : k.q;
		at = addr_at(key);
		if (!maildir_name_ok(key, (size_t)(at - key))) {
			log_warnx("directory: user %s: local part cannot name a Maildir",
			    show(shown, key));
			r = DIR_NOTFOUND;
		} else
			*maildir_r = xasprintf("%s/%.*s/", at + 1, (int)(at - key), key);
	}
	lkey_clear(&k);
	return r;
}

enum dir_result
dir_forward(struct directory *d, const char *source, char **dest_r)
{
	struct lkey	 k;
	enum dir_result	 r;

	if (d == NULL)
		return DIR_TEMPFAIL;
	if (lkey_make(d, source, true, &k) < 0)
		return DIR_NOTFOUND;
	if (d->q[DIR_Q_FORWARD] != NULL)
		r = dir_lookup_q(d, DIR_Q_FORWARD, lkey_str(&k), dest_r);
	else
		r = dir_lookup(d, DIR_S_FORWARD_GET, &k, dest_r);
	lkey_clear(&k);
	return r;
}

enum dir_result
dir_transport(struct directory *d, const char *domain, char **transport_r)
{
	return domain_lookup(d, DIR_Q_TRANSPORT, DIR_S_TRANSPORT_GET, domain, transport_r);
}

enum dir_result
dir_password(struct directory *d, const char *login, char **hash_r)
{
	struct lkey	 k;
	enum dir_result	 r;

	if (d == NULL)
		return DIR_TEMPFAIL;
	if (login[0] == '@' || lkey_make(d, login, false, &k) < 0)
		return DIR_NOTFOUND;
	if (d->q[DIR_Q_PASSWORD] != NULL)
		r = dir_lookup_q(d, DIR_Q_PASSWORD, lkey_str(&k), hash_r);
	else
		r = dir_lookup(d, DIR_S_USER_GET, &k, hash_r);
	lkey_clear(&k);
	return r;
}

/* ---------------------------------------------------------------- writes */

/*
 * Does hash fit users.password?  The classic schema's varchar(20) holds a
 * DES crypt only; MariaDB strict mode and PostgreSQL would reject a longer
 * value and old MySQL would cut it, leaving a hash nobody can log in with.
 * DIR_W_OK, DIR_W_INVALID naming the ALTER TABLE to run, or DIR_W_FAIL.
 */
static enum dir_wresult
hash_fits(struct directory *d, const char *hash, char **err_r)
{
	long	 width = 0;
	char	*err = NULL;

	if (d->be->password_width == NULL)
		return DIR_W_OK;
	if (d->be->password_width(d, &width, &err) < 0) {
		seterr(err_r, "%s", err);
		free(err);
		return DIR_W_FAIL;
	}
	if (width <= 0 || strlen(hash) <= (size_t)width)
		return DIR_W_OK;
	seterr(err_r, "users.password is only %ld characters wide, the new hash needs %zu;"
	    " storing it would cut it. Widen the column first: %s", width, strlen(hash),
	    d->be->widen_sql);
	return DIR_W_INVALID;
}

/* Run one statement inside a write; DIR_W_OK or DIR_W_FAIL with *err_r. */
static enum dir_wresult
wexec(struct directory *d, enum dir_stmt s, const char *p1, const char *p2, char **err_r)
{
	const char	*params[2] = { p1, p2 };
	char		*err = NULL;

	if (d->be->exec(d, s, params, p2 != NULL ? 2 : 1, NULL, NULL, &err) != DIR_X_OK) {
		seterr(err_r, "%s", err);
		free(err);
		return DIR_W_FAIL;
	}
	return DIR_W_OK;
}

static enum dir_wresult
wget(struct directory *d, enum dir_stmt s, const struct lkey *k, struct pick *p, char **err_r)
{
	char *err = NULL;

	if (dir_get(d, s, k, p, &err) != DIR_X_OK) {
		seterr(err_r, "%s", err);
		free(err);
		return DIR_W_FAIL;
	}
	return DIR_W_OK;
}

static enum dir_wresult
wbegin(struct directory *d, char **err_r)
{
	char *err = NULL;

	if (d->be->exec(d, DIR_S_BEGIN, NULL, 0, NULL, NULL, &err) != DIR_X_OK) {
		seterr(err_r, "%s", err);
		free(err);
		return DIR_W_FAIL;
	}
	return DIR_W_OK;
}

/* Commit when r is DIR_W_OK, else roll back; returns the final result. */
static enum dir_wresult
wend(struct directory *d, enum dir_wresult r, char **err_r)
{
	char *err = NULL;

	if (r == DIR_W_OK) {
		if (d->be->exec(d, DIR_S_COMMIT, NULL, 0, NULL, NULL, &err) == DIR_X_OK)
			return DIR_W_OK;
		seterr(err_r, "%s", err);
		xfree(&err);
		r = DIR_W_FAIL;
	}
	if (d->be->exec(d, DIR_S_ROLLBACK, NULL, 0, NULL, NULL, &err) != DIR_X_OK) {
		log_warnx("directory: rollback: %s", err);
		free(err);
	}
	return r;
}

/* Is the (normalized) domain in domains?  OK with *hosted_r, or FAIL. */
static enum dir_wresult
whosted(struct directory *d, const char *dom, bool *hosted_r, char **err_r)
{
	struct lkey	 k = { (char *)dom, NULL };
	struct pick	 p;

	if (wget(d, DIR_S_DOMAIN_GET, &k, &p, err_r) != DIR_W_OK)
		return DIR_W_FAIL;
	*hosted_r = p.found;
	pick_clear(&p);
	return DIR_W_OK;
}

enum dir_wresult
dir_domain_add(struct directory *d, const char *domain, char **err_r)
{
	const char	*why;
	char		*dom, shown[DIR_SHOW];
	bool		 hosted;
	enum dir_wresult r;

	if (domain_normalize(domain, &dom, &why) < 0) {
		seterr(err_r, "invalid domain \"%s\": %s", show(shown, domain), why);
		return DIR_W_INVALID;
	}
	if ((r = wbegin(d, err_r)) != DIR_W_OK)
		goto out;
	if ((r = whosted(d, dom, &hosted, err_r)) == DIR_W_OK && hosted) {
		seterr(err_r, "domain %s already exists", dom);
		r = DIR_W_EXISTS;
	}
	if (r == DIR_W_OK)
		r = wexec(d, DIR_S_DOMAIN_INS, dom, NULL, err_r);
	r = wend(d, r, err_r);
out:
	free(dom);
	return r;
}

/* Counts the users and forwardings of "@dom"; FAIL or OK. */
struct refs { long users, fwds; };

static void
refs_row(void *arg, const char *const *cols, int ncols)
{
	struct refs *r = arg;

	if (ncols >= 2) {
		r->users = strtol(cols[0], NULL, 10);
		r->fwds = strtol(cols[1], NULL, 10);
	}
}

enum dir_wresult
dir_domain_del(struct directory *d, const char *domain, char **err_r)
{
	const char	*why, *params[1];
	char		*dom, *suffix = NULL, *err = NULL, shown[DIR_SHOW];
	struct lkey	 k = { NULL, NULL };
	struct pick	 p = { 0 };
	struct refs	 refs = { 0, 0 };
	enum dir_wresult r;

	if (domain_normalize(domain, &dom, &why) < 0) {
		seterr(err_r, "invalid domain \"%s\": %s", show(shown, domain), why);
		return DIR_W_INVALID;
	}
	k.q = dom;
	if ((r = wbegin(d, err_r)) != DIR_W_OK)
		goto out;
	if ((r = wget(d, DIR_S_DOMAIN_GET, &k, &p, err_r)) == DIR_W_OK && !p.found) {
		seterr(err_r, "no domain %s", dom);
		r = DIR_W_NOTFOUND;
	}
	/* Refuse rather than cascade: deleting mailboxes by accident is worse than a second command. */
	if (r == DIR_W_OK) {
		suffix = xasprintf("@%s", dom);
		params[0] = suffix;
		if (d->be->exec(d, DIR_S_DOMAIN_REFS, params, 1, refs_row, &refs, &err) != DIR_X_OK) {
			seterr(err_r, "%s", err);
			free(err);
			r = DIR_W_FAIL;
		} else if (refs.users > 0 || refs.fwds > 0) {
			seterr(err_r, "domain %s still has %ld user(s) and %ld forwarding(s);"
			    " delete them first", dom, refs.users, refs.fwds);
			r = DIR_W_INUSE;
		}
	}
	if (r == DIR_W_OK)
		r = wexec(d, DIR_S_DOMAIN_DEL, p.col0, NULL, err_r);
	r = wend(d, r, err_r);
out:
	pick_clear(&p);
	free(suffix);
	free(dom);
	return r;
}

/*
 * Validate an admin-supplied address: its stored form (the lookup key) in
 * *stored_r and its domain (pointer into it) in *dom_r.
 */
static enum dir_wresult
admin_addr(struct directory *d, const char *email, char **stored_r, const char **dom_r,
    char **err_r)
{
	const char	*why;
	char		*norm, shown[DIR_SHOW];

	if (email[0] == '\0' || addr_normalize(email, strlen(email), true, &norm, &why) < 0) {
		seterr(err_r, "invalid address \"%s\": %s", show(shown, email),
		    email[0] == '\0' ? "empty" : why);
		return DIR_W_INVALID;
	}
	*stored_r = addr_lookup_key(norm, d->case_sensitive);
	free(norm);
	if (*stored_r == NULL) {
		seterr(err_r, "invalid address \"%s\"", show(shown, email));
		return DIR_W_INVALID;
	}
	*dom_r = addr_at(*stored_r) + 1;
	return DIR_W_OK;
}

enum dir_wresult
dir_user_add(struct directory *d, const char *email, const char *hash, char **err_r)
{
	char		*stored = NULL, shown[DIR_SHOW];
	const char	*dom;
	struct lkey	 k = { NULL, NULL };
	struct pick	 p = { 0 };
	bool		 hosted;
	enum dir_wresult r;

	if ((r = admin_addr(d, email, &stored, &dom, err_r)) != DIR_W_OK)
		return r;
	if (!maildir_name_ok(stored, (size_t)(dom - 1 - stored))) {
		seterr(err_r, "address \"%s\": local part cannot name a Maildir directory",
		    show(shown, email));
		r = DIR_W_INVALID;
		goto out;
	}
	if (hash == NULL || hash[0] == '\0') {
		seterr(err_r, "empty password hash");
		r = DIR_W_INVALID;
		goto out;
	}
	if (lkey_make(d, stored, false, &k) < 0) {
		seterr(err_r, "invalid address \"%s\"", show(shown, email));
		r = DIR_W_INVALID;
		goto out;
	}
	if ((r = hash_fits(d, hash, err_r)) != DIR_W_OK)
		goto out;
	if ((r = wbegin(d, err_r)) != DIR_W_OK)
		goto out;
	if ((r = whosted(d, dom, &hosted, err_r)) == DIR_W_OK && !hosted) {
		seterr(err_r, "domain %s is not hosted (letterbox domain add %s)", dom, dom);
		r = DIR_W_INVALID;
	}
	if (r == DIR_W_OK && (r = wget(d, DIR_S_USER_GET, &k, &p, err_r)) == DIR_W_OK && p.found) {
		seterr(err_r, "user %s already exists", show(shown, p.col0));
		r = DIR_W_EXISTS;
	}
	if (r == DIR_W_OK)
		r = wexec(d, DIR_S_USER_INS, stored, hash, err_r);
	r = wend(d, r, err_r);
out:
	pick_clear(&p);
	lkey_clear(&k);
	free(stored);
	return r;
}

/* Find the stored row of an address (or "@domain") and run stmt on it. */
static enum dir_wresult
wupdate(struct directory *d, enum dir_stmt get, enum dir_stmt stmt, const char *what,
    const char *key, bool catch_all, const char *p2, char **err_r)
{
	struct lkey	 k;
	struct pick	 p = { 0 };
	char		 shown[DIR_SHOW];
	enum dir_wresult r;

	if (lkey_make(d, key, catch_all, &k) < 0) {
		seterr(err_r, "invalid %s \"%s\"", catch_all ? "address or @domain" : "address",
		    show(shown, key));
		return DIR_W_INVALID;
	}
	if ((r = wbegin(d, err_r)) != DIR_W_OK)
		goto out;
	if ((r = wget(d, get, &k, &p, err_r)) == DIR_W_OK && !p.found) {
		seterr(err_r, "no %s %s", what, show(shown, k.exact != NULL ? k.exact : k.q));
		r = DIR_W_NOTFOUND;
	}
	if (r == DIR_W_OK)
		r = wexec(d, stmt, p.col0, p2, err_r);
	r = wend(d, r, err_r);
out:
	pick_clear(&p);
	lkey_clear(&k);
	return r;
}

enum dir_wresult
dir_user_del(struct directory *d, const char *email, char **err_r)
{
	if (email[0] == '@') {
		seterr(err_r, "invalid address \"%s\"", email);
		return DIR_W_INVALID;
	}
	return wupdate(d, DIR_S_USER_GET, DIR_S_USER_DEL, "user", email, false, NULL, err_r);
}

enum dir_result
dir_set_password(struct directory *d, const char *login, const char *hash, char **err_r)
{
	if (d == NULL) {
		seterr(err_r, "no directory");
		return DIR_TEMPFAIL;
	}
	if (login[0] == '@' || hash == NULL || hash[0] == '\0') {
		seterr(err_r, "invalid address or empty hash");
		return DIR_NOTFOUND;
	}
	if (hash_fits(d, hash, err_r) != DIR_W_OK)
		return DIR_TEMPFAIL;
	switch (wupdate(d, DIR_S_USER_GET, DIR_S_USER_SETPW, "user", login, false, hash, err_r)) {
	case DIR_W_OK:
		return DIR_FOUND;
	case DIR_W_NOTFOUND:
	case DIR_W_INVALID:
		return DIR_NOTFOUND;
	default:
		return DIR_TEMPFAIL;
	}
}

enum dir_wresult
dir_user_passwd(struct directory *d, const char *email, const char *hash, char **err_r)
{
	enum dir_wresult r;

	if (d == NULL) {
		seterr(err_r, "no directory");
		return DIR_W_FAIL;
	}
	if (email[0] == '@' || hash == NULL || hash[0] == '\0') {
		seterr(err_r, "invalid address or empty hash");
		return DIR_W_INVALID;
	}
	if ((r = hash_fits(d, hash, err_r)) != DIR_W_OK)
		return r;
	return wupdate(d, DIR_S_USER_GET, DIR_S_USER_SETPW, "user", email, false, hash, err_r);
}

/*
 * Split a destination list on commas and white space outside double
 * quotes (a quoted local part may hold either); each item must be an
 * address.  Returns the canonical "a@x,b@y" or NULL with *err_r.
 */
static char *
dest_normalize(const char *list, bool domain_ok, char **err_r)
{
	struct buf	 out;
	const char	*p = list, *start, *why;
	char		*item, *norm, shown[DIR_SHOW];
	bool		 quoted;
	int		 n = 0;

	buf_init(&out, DIR_DEST_MAX);
	for (;;) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		for (start = p, quoted = false; *p != '\0'; p++) {
			if (*p == '"')
				quoted = !quoted;
			else if (*p == '\\' && quoted && p[1] != '\0')
				p++;
			else if (!quoted && (*p == ',' || *p == ' ' || *p == '\t'))
				break;
		}
		item = xstrndup(start, (size_t)(p - start));
		/* "@other.domain" maps a whole domain (a catch-all source only). */
		if (item[0] == '@' && domain_ok && domain_normalize(item + 1, &norm, &why) == 0) {
			char *d = xasprintf("@%s", norm);
			free(norm);
			norm = d;
		} else if (item[0] == '@' || addr_normalize(item, strlen(item), true, &norm, &why) < 0) {
			seterr(err_r, "invalid destination \"%s\": %s", show(shown, item),
			    item[0] == '@' ? "want an address (\"@domain\" only for a catch-all source)" : why);
			free(item);
			buf_clear(&out);
			return NULL;
		}
		free(item);
		if ((n++ > 0 && buf_addc(&out, ',') < 0) || buf_adds(&out, norm) < 0) {
			free(norm);
			seterr(err_r, "destination list longer than %d bytes", DIR_DEST_MAX);
			buf_clear(&out);
			return NULL;
		}
		free(norm);
	}
	if (n == 0) {
		seterr(err_r, "empty destination (want ADDRESS[,ADDRESS...])");
		buf_clear(&out);
		return NULL;
	}
	return buf_take(&out, NULL);
}

enum dir_wresult
dir_forward_add(struct directory *d, const char *source, const char *dest, char **err_r)
{
	char		*stored = NULL, *dests = NULL, shown[DIR_SHOW];
	const char	*dom, *why;
	struct lkey	 k = { NULL, NULL };
	struct pick	 p = { 0 };
	bool		 hosted;
	enum dir_wresult r;

	if (source[0] == '@') {
		if (domain_normalize(source + 1, &stored, &why) < 0) {
			seterr(err_r, "invalid catch-all \"%s\": %s", show(shown, source), why);
			return DIR_W_INVALID;
		}
		dom = stored;
		k.q = xasprintf("@%s", stored);
	} else {
		if ((r = admin_addr(d, source, &stored, &dom, err_r)) != DIR_W_OK)
			return r;
		if (lkey_make(d, stored, false, &k) < 0) {
			seterr(err_r, "invalid address \"%s\"", show(shown, source));
			r = DIR_W_INVALID;
			goto out;
		}
	}
	if ((dests = dest_normalize(dest, source[0] == '@', err_r)) == NULL) {
		r = DIR_W_INVALID;
		goto out;
	}
	if ((r = wbegin(d, err_r)) != DIR_W_OK)
		goto out;
	if ((r = whosted(d, dom, &hosted, err_r)) == DIR_W_OK && !hosted) {
		seterr(err_r, "domain %s is not hosted (letterbox domain add %s)", dom, dom);
		r = DIR_W_INVALID;
	}
	/* An existing source is an error, not an append: `forward del` first, then add the full list. */
	if (r == DIR_W_OK &&
	    (r = wget(d, DIR_S_FORWARD_GET, &k, &p, err_r)) == DIR_W_OK && p.found) {
		seterr(err_r, "forwarding for %s already exists (-> %s); forward del it first",
		    show(shown, p.col0), p.col1 != NULL ? p.col1 : "");
		r = DIR_W_EXISTS;
	}
	if (r == DIR_W_OK)
		r = wexec(d, DIR_S_FORWARD_INS, k.exact != NULL ? k.exact : k.q, dests, err_r);
	r = wend(d, r, err_r);
out:
	pick_clear(&p);
	lkey_clear(&k);
	free(dests);
	free(stored);
	return r;
}

enum dir_wresult
dir_forward_del(struct directory *d, const char *source, char **err_r)
{
	return wupdate(d, DIR_S_FORWARD_GET, DIR_S_FORWARD_DEL, "forwarding for", source, true,
	    NULL, err_r);
}

enum dir_wresult
dir_transport_set(struct directory *d, const char *domain, const char *transport, char **err_r)
{
	const char	*why;
	char		*dom, *t = NULL, shown[DIR_SHOW];
	struct lkey	 k = { NULL, NULL };
	struct pick	 p = { 0 };
	enum dir_wresult r;

	if (domain_normalize(domain, &dom, &why) < 0) {
		seterr(err_r, "invalid domain \"%s\": %s", show(shown, domain), why);
		return DIR_W_INVALID;
	}
	k.q = dom;
	if (dir_transport_normalize(transport, &t, &why) < 0) {
		seterr(err_r, "invalid transport \"%s\": %s", show(shown, transport), why);
		r = DIR_W_INVALID;
		goto out;
	}
	if ((r = wbegin(d, err_r)) != DIR_W_OK)
		goto out;
	if ((r = wget(d, DIR_S_TRANSPORT_GET, &k, &p, err_r)) == DIR_W_OK) {
		if (p.found)
			r = wexec(d, DIR_S_TRANSPORT_UPD, p.col0, t, err_r);
		else
			r = wexec(d, DIR_S_TRANSPORT_INS, dom, t, err_r);
	}
	r = wend(d, r, err_r);
out:
	pick_clear(&p);
	free(t);
	free(dom);
	return r;
}

enum dir_wresult
dir_transport_del(struct directory *d, const char *domain, char **err_r)
{
	const char	*why;
	char		*dom, shown[DIR_SHOW];
	struct lkey	 k = { NULL, NULL };
	struct pick	 p = { 0 };
	enum dir_wresult r;

	if (domain_normalize(domain, &dom, &why) < 0) {
		seterr(err_r, "invalid domain \"%s\": %s", show(shown, domain), why);
		return DIR_W_INVALID;
	}
	k.q = dom;
	if ((r = wbegin(d, err_r)) != DIR_W_OK)
		goto out;
	if ((r = wget(d, DIR_S_TRANSPORT_GET, &k, &p, err_r)) == DIR_W_OK && !p.found) {
		seterr(err_r, "no transport for %s", dom);
		r = DIR_W_NOTFOUND;
	}
	if (r == DIR_W_OK)
		r = wexec(d, DIR_S_TRANSPORT_DEL, p.col0, NULL, err_r);
	r = wend(d, r, err_r);
out:
	pick_clear(&p);
	free(dom);
	return r;
}

/* ---------------------------------------------------------------- transports */

/* Text of error:/discard: — printable, no control characters (it ends up in a reply). */
static bool
transport_text_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* smtp:/relay: next hop: "", host, host:port, [host], [host]:port.  Appends to out. */
static int
transport_nexthop(const char *s, struct buf *out, const char **err_r)
{
	const char	*hostp, *end, *colon;
	char		*host, *norm;
	unsigned char	 a[sizeof(struct in6_addr)];
	uint64_t	 port;
	bool		 bracket = s[0] == '[';
	int		 rc = 0;

	if (*s == '\0')
		return 0;	/* the recipient domain's MX */
	if (bracket) {
		hostp = s + 1;
		if ((end = strchr(hostp, ']')) == NULL) {
			*err_r = "missing ']'";
			return -1;
		}
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL) {
			*err_r = "junk after ']'";
			return -1;
		}
	} else {
		hostp = s;
		colon = strchr(s, ':');
		end = colon != NULL ? colon : s + strlen(s);
	}
	if (colon != NULL && (parse_u64(colon + 1, strlen(colon + 1), 65535, &port) < 0 ||
	    port == 0)) {
		*err_r = "bad port (want 1-65535)";
		return -1;
	}
	host = xstrndup(hostp, (size_t)(end - hostp));
	if (bracket && (inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1)) {
		rc = buf_adds(out, "[") < 0 || buf_adds(out, host) < 0 || buf_adds(out, "]") < 0 ?
		    -1 : 0;
	} else if (domain_normalize(host, &norm, err_r) < 0) {
		rc = -1;
	} else {
		rc = (bracket && buf_adds(out, "[") < 0) || buf_adds(out, norm) < 0 ||
		    (bracket && buf_adds(out, "]") < 0) ? -1 : 0;
		free(norm);
	}
	free(host);
	if (rc == 0 && colon != NULL && buf_addf(out, ":%llu", (unsigned long long)port) < 0)
		rc = -1;
	if (rc < 0 && *err_r == NULL)
		*err_r = "too long";
	return rc;
}

int
dir_transport_normalize(const char *t, char **norm_r, const char **err_r)
{
	static const struct { const char *name; enum { T_HOP, T_NONE, T_TEXT } arg; } names[] = {
		{ "smtp", T_HOP }, { "relay", T_HOP }, { "virtual", T_NONE }, { "local", T_NONE },
		{ "error", T_TEXT }, { "discard", T_TEXT },
	};
	const char	*colon = strchr(t, ':'), *rest;
	struct buf	 out;
	size_t		 i, nlen;

	*err_r = NULL;
	if (colon == NULL) {
		*err_r = "want NAME:NEXTHOP (smtp:[host]:port, smtp:host, relay:..., virtual:,"
		    " local:, error:text, discard:)";
		return -1;
	}
	nlen = (size_t)(colon - t);
	rest = colon + 1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (str_ieq(t, nlen, names[i].name))
			break;
	if (i == sizeof(names) / sizeof(names[0])) {
		*err_r = "unsupported transport (want smtp:, relay:, virtual:, local:, error:, discard:)";
		return -1;
	}
	buf_init(&out, 512);
	if (buf_adds(&out, names[i].name) < 0 || buf_addc(&out, ':') < 0)
		goto toolong;
	switch (names[i].arg) {
	case T_NONE:
		if (*rest != '\0') {
			*err_r = "this transport takes no next hop";
			goto fail;
		}
		break;
	case T_TEXT:
		if (!transport_text_ok(rest)) {
			*err_r = "control characters in the text";
			goto fail;
		}
		if (buf_adds(&out, rest) < 0)
			goto toolong;
		break;
	case T_HOP:
		if (transport_nexthop(rest, &out, err_r) < 0)
			goto fail;
		break;
	}
	*norm_r = buf_take(&out, NULL);
	return 0;
toolong:
	*err_r = "too long";
fail:
	buf_clear(&out);
	return -1;
}

/* ---------------------------------------------------------------- lists */

static int
dir_list(struct directory *d, enum dir_stmt s, const char *param, dir_row_fn *row, void *arg,
    char **err_r)
{
	const char *params[1] = { param };

	*err_r = NULL;
	if (d->be->exec(d, s, params, param != NULL ? 1 : 0, row, arg, err_r) != DIR_X_OK)
		return -1;
	return 0;
}

int
dir_domain_list(struct directory *d, dir_row_fn *row, void *arg, char **err_r)
{
	return dir_list(d, DIR_S_DOMAIN_LIST, NULL, row, arg, err_r);
}

int
dir_user_list(struct directory *d, const char *domain, dir_row_fn *row, void *arg, char **err_r)
{
	const char	*why;
	char		*dom, *suffix, shown[DIR_SHOW];
	int		 rc;

	if (domain == NULL)
		return dir_list(d, DIR_S_USER_LIST, NULL, row, arg, err_r);
	if (domain_normalize(domain, &dom, &why) < 0) {
		*err_r = NULL;
		seterr(err_r, "invalid domain \"%s\": %s", show(shown, domain), why);
		return -1;
	}
	suffix = xasprintf("@%s", dom);
	rc = dir_list(d, DIR_S_USER_LIST_DOM, suffix, row, arg, err_r);
	free(suffix);
	free(dom);
	return rc;
}

int
dir_forward_list(struct directory *d, dir_row_fn *row, void *arg, char **err_r)
{
	return dir_list(d, DIR_S_FORWARD_LIST, NULL, row, arg, err_r);
}

int
dir_transport_list(struct directory *d, dir_row_fn *row, void *arg, char **err_r)
{
	return dir_list(d, DIR_S_TRANSPORT_LIST, NULL, row, arg, err_r);
}

/* ---------------------------------------------------------------- check */

static void
warnf(dir_warn_fn *warn, void *arg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
warnf(dir_warn_fn *warn, void *arg, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warn(arg, msg);
}

static void
nop_row(void *arg, const char *const *cols, int ncols)
{
}

int
dir_check(struct directory *d, dir_warn_fn *warn, void *arg)
{
	/* Each lookup once, with a key no install hosts: it proves the SQL runs. */
	static const struct {
		enum dir_query	 q;
		enum dir_stmt	 s;
		const char	*table, *key;
	} probes[] = {
		{ DIR_Q_DOMAIN, DIR_S_DOMAIN_GET, "domains", "letterbox-check.invalid" },
		{ DIR_Q_PASSWORD, DIR_S_USER_GET, "users", "postmaster@letterbox-check.invalid" },
		{ DIR_Q_MAILBOX, DIR_S_USER_GET, "users", "postmaster@letterbox-check.invalid" },
		{ DIR_Q_FORWARD, DIR_S_FORWARD_GET, "forwardings", "postmaster@letterbox-check.invalid" },
		{ DIR_Q_TRANSPORT, DIR_S_TRANSPORT_GET, "transport", "letterbox-check.invalid" },
	};
	struct qacc	 a;
	const char	*params[1];
	char		*err = NULL;
	long		 width = 0;
	size_t		 i;
	int		 n = 0;
	enum dir_exec	 x;

	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		if (d->q[probes[i].q] != NULL) {
			x = dir_query_run(d, probes[i].q, probes[i].key, &a, &err);
			buf_clear(&a.val);
			if (x != DIR_X_OK) {
				warnf(warn, arg, "database: %s does not run: %s",
				    query_keys[probes[i].q], err);
				n++;
			}
		} else {
			params[0] = probes[i].key;
			x = d->be->exec(d, probes[i].s, params, 1, nop_row, NULL, &err);
			if (x == DIR_X_TEMP) {
				warnf(warn, arg, "database: does not answer: %s", err);
				n++;
			} else if (x != DIR_X_OK) {
				warnf(warn, arg, "database: table %s: %s", probes[i].table, err);
				n++;
			}
		}
		xfree(&err);
		/* A server that is down fails every probe: say it once. */
		if (x == DIR_X_TEMP)
			return n;
	}
	if (d->be->password_width != NULL) {
		if (d->be->password_width(d, &width, &err) < 0) {
			warnf(warn, arg, "database: cannot read the width of users.password: %s", err);
			xfree(&err);
			n++;
		} else if (width > 0 && width < DIR_HASH_MODERN) {
			warnf(warn, arg, "database: users.password is only %ld characters wide:"
			    " enough for old DES crypt hashes, too narrow for modern ones (yescrypt"
			    " needs 73, SHA-512 crypt 106); user add, user passwd and"
			    " password_upgrade will refuse until you run: %s", width,
			    d->be->widen_sql);
			n++;
		}
	}
	return n;
}
