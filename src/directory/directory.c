/*
 * The directory's handles (see directory.h): backend dispatch by the
 * `database` key, the *_query overrides compiled for the backend's
 * dialect, database_password_file, and the per-thread handle.  The rest
 * of the directory's logic is split by concern:
 *	lookup.c	the hot path: lookup keys, case folding, the lookups
 *	admin.c		validation of admin input, one-transaction writes, lists
 *	transport.c	the syntax of a transport value
 *	check.c		`config check`'s probes
 * and the backends (sqlite.c, mysql.c, pgsql.c; reconnect.c holds the
 * reconnect policy the network ones share).  Nothing is cached: every
 * lookup asks the database, so a row inserted by hand is seen at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "directory/backend.h"
#include "directory/directory_int.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define DIR_SECRET_MAX	1024	/* database_password_file's first line */

/* The config keys of the override queries, by enum dir_query. */
const char *const dir_query_keys[DIR_Q_COUNT] = {
	[DIR_Q_DOMAIN] = "domain_query",
	[DIR_Q_MAILBOX] = "mailbox_query",
	[DIR_Q_FORWARD] = "forward_query",
	[DIR_Q_TRANSPORT] = "transport_query",
	[DIR_Q_PASSWORD] = "password_query",
	[DIR_Q_QUOTA] = "quota_query",
};

/* The same keys as config ids, for the lookups. */
static const enum conf_id dir_query_conf[DIR_Q_COUNT] = {
	[DIR_Q_DOMAIN] = CK_DOMAIN_QUERY,
	[DIR_Q_MAILBOX] = CK_MAILBOX_QUERY,
	[DIR_Q_FORWARD] = CK_FORWARD_QUERY,
	[DIR_Q_TRANSPORT] = CK_TRANSPORT_QUERY,
	[DIR_Q_PASSWORD] = CK_PASSWORD_QUERY,
	[DIR_Q_QUOTA] = CK_QUOTA_QUERY,
};

static const struct dir_backend *const backends[] = {
	&dir_backend_sqlite,
	&dir_backend_mysql,
	&dir_backend_pgsql,
	NULL,
};

void
dir_seterr(char **err_r, const char *fmt, ...)
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
const char *
dir_show(char *buf, const char *s)
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
		tmpl = conf_str(c, dir_query_conf[i]);
		if (*tmpl == '\0')
			continue;
		if ((d->q[i] = sqlq_compile(tmpl, d->be->dialect, &err)) == NULL) {
			*err_r = xasprintf("%s: %s", dir_query_keys[i], err);
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
	const char		*database = conf_str(c, CK_DATABASE);
	const char		*pwfile = conf_str(c, CK_DATABASE_PASSWORD_FILE);
	const char		*confdir = conf_str(c, CK_CONFIG_DIRECTORY);
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
	d->case_sensitive = conf_bool(c, CK_LOCALPART_CASE_SENSITIVE);
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
