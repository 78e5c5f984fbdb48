/*
 * `letterbox import-postfix [--postfix-dir DIR] [--courier-dir DIR]
 * [--pam-dir DIR] [--force] OUTPUT.conf`: read a Postfix + Courier +
 * saslauthd/pam_mysql install (the classic "virtual users and domains with
 * MySQL" layout) and write an equivalent letterbox.conf that uses the same
 * SQL database and the same Maildirs.  Reads main.cf, the mysql:/pgsql:
 * map files it names, Courier's authmysqlrc, pam.d/smtp and saslauthd's
 * defaults where present; prints every setting it could not carry over.
 * A Courier-IMAP install (its config, authdaemon's, or courierimapuiddb
 * in the Maildirs) gets imap_namespace = courier.
 * The SQL password goes to a separate file (0640, group of the mail
 * owner), not into the config.  Nothing is written to the database.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/conf_check.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

#define IMP_FILE_MAX	(1024 * 1024)	/* a config file we read */
#define IMP_OUT_MAX	(256 * 1024)

struct kv {
	char	*key, *val;
};

struct kvlist {
	struct kv	*v;
	size_t		 n;
	bool		 loaded;
};

/* Where the SQL lives, from whichever file named it first. */
struct dbtarget {
	const char	*source;	/* file it came from (borrowed, static or list-owned) */
	char		*kind;		/* "mysql" or "pgsql" */
	char		*host, *user, *pass, *dbname, *socket;
	unsigned	 port;
};

struct imp {
	const char	*pfdir, *courierdir, *pamdir;
	struct kvlist	 main;
	struct dbtarget	 db;
	struct buf	 out;		/* the config text */
	struct buf	 notes;		/* "not carried over" lines */
	int		 nnotes;
	char		*queries[5];	/* domain, mailbox, forward, transport, password */
	const char	*qsrc[5];
	char		*owner;		/* mail_owner written, or NULL (the default, vmail) */
};

enum { Q_DOMAIN, Q_MAILBOX, Q_FORWARD, Q_TRANSPORT, Q_PASSWORD };
static const char *const qkey[] = { "domain_query", "mailbox_query", "forward_query",
	"transport_query", "password_query" };

/*
 * The classic guide's queries, whitespace removed and lower-cased: an
 * install that still uses them is served by letterbox's built-in lookups
 * (which also fold case), so they are not copied as overrides.
 */
static const char *const classic[][3] = {
	[Q_DOMAIN] = { "selectdomainasvirtualfromdomainswheredomain='%s'",
	    "selectdomainfromdomainswheredomain='%s'", NULL },
	[Q_MAILBOX] = { "selectconcat(substring_index(email,'@',-1),'/',"
	    "substring_index(email,'@',1),'/')fromuserswhereemail='%s'", NULL, NULL },
	[Q_FORWARD] = { "selectdestinationfromforwardingswheresource='%s'", NULL, NULL },
	[Q_TRANSPORT] = { "selecttransportfromtransportwheredomain='%s'", NULL, NULL },
	[Q_PASSWORD] = { "selectpasswordfromuserswhereemail='%s'", NULL, NULL },
};
static const char email2email[] = "selectemailfromuserswhereemail='%s'";

/* Appends whose failure (past a buffer's generous limit) is checked once, at the end. */
static bool	imp_overflow;

static void
bput(struct buf *b, const char *s)
{
	if (buf_adds(b, s) < 0)
		imp_overflow = true;
}

static void
bputc(struct buf *b, char c)
{
	if (buf_addc(b, c) < 0)
		imp_overflow = true;
}

static void
bputn(struct buf *b, const void *p, size_t n)
{
	if (buf_add(b, p, n) < 0)
		imp_overflow = true;
}

static void
note(struct imp *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(struct imp *im, const char *fmt, ...)
{
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	rc = buf_vaddf(&im->notes, fmt, ap);
	va_end(ap);
	if (rc == 0 && buf_addc(&im->notes, '\n') == 0)
		im->nnotes++;
}

/* ---------------------------------------------------------------- reading */

static char *
slurp(const char *path)
{
	struct buf	 b;
	char		 chunk[8192];
	size_t		 n;
	FILE		*f;

	if ((f = fopen(path, "re")) == NULL)
		return NULL;
	buf_init(&b, IMP_FILE_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&b, chunk, n) < 0)
			break;
	fclose(f);
	return buf_take(&b, NULL);
}

static void
kv_add(struct kvlist *l, const char *key, size_t klen, const char *val)
{
	size_t i;

	/* A later definition wins, as in Postfix. */
	for (i = 0; i < l->n; i++)
		if (strlen(l->v[i].key) == klen && strncmp(l->v[i].key, key, klen) == 0) {
			free(l->v[i].val);
			l->v[i].val = xstrdup(val);
			return;
		}
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n].key = xstrndup(key, klen);
	l->v[l->n].val = xstrdup(val);
	l->n++;
}

static const char *
kv_get(const struct kvlist *l, const char *key)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return l->v[i].val;
	return NULL;
}

static void
kv_clear(struct kvlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		explicit_bzero(l->v[i].val, strlen(l->v[i].val));
		free(l->v[i].val);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/*
 * Postfix syntax (main.cf and the *.cf map files): "key = value", '#'
 * comments at line start, a line starting with white space continues the
 * previous one.  0, or -1 when the file cannot be read.
 */
static int
load_postfix_style(const char *path, struct kvlist *l)
{
	char		*text, *line, *next, *p, *eq;
	struct buf	 val;
	char		*key = NULL;

	if ((text = slurp(path)) == NULL)
		return -1;
	buf_init(&val, IMP_FILE_MAX);
	for (line = text; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		p = str_trim(line);
		if (*p == '#' || (*p == '\0' && line[0] != ' ' && line[0] != '\t'))
			continue;
		if ((line[0] == ' ' || line[0] == '\t') && key != NULL) {
			if (*p != '\0' && (buf_addc(&val, ' ') < 0 || buf_adds(&val, p) < 0))
				continue;
			continue;
		}
		if (key != NULL) {
			kv_add(l, key, strlen(key), buf_str(&val));
			xfree(&key);
		}
		buf_reset(&val);
		if ((eq = strchr(p, '=')) == NULL)
			continue;
		*eq = '\0';
		key = xstrdup(str_trim(p));
		if (buf_adds(&val, str_trim(eq + 1)) < 0)
			buf_reset(&val);
	}
	if (key != NULL)
		kv_add(l, key, strlen(key), buf_str(&val));
	free(key);
	buf_clear(&val);
	free(text);
	l->loaded = true;
	return 0;
}

/* Courier's authmysqlrc: "NAME<white space>value", '#' comments. */
static int
load_courier_style(const char *path, struct kvlist *l)
{
	char	*text, *line, *next, *p;
	size_t	 klen;

	if ((text = slurp(path)) == NULL)
		return -1;
	for (line = text; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		p = str_trim(line);
		if (*p == '#' || *p == '\0')
			continue;
		klen = strcspn(p, " \t");
		kv_add(l, p, klen, str_trim(p + klen));
	}
	free(text);
	l->loaded = true;
	return 0;
}

/* Shell-style KEY="value" (/etc/default/saslauthd). */
static int
load_shell_style(const char *path, struct kvlist *l)
{
	char	*text, *line, *next, *p, *eq, *v;
	size_t	 n;

	if ((text = slurp(path)) == NULL)
		return -1;
	for (line = text; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		p = str_trim(line);
		if (*p == '#' || (eq = strchr(p, '=')) == NULL)
			continue;
		v = eq + 1;
		n = strlen(v);
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v[n - 1] = '\0';
			v++;
		}
		kv_add(l, p, (size_t)(eq - p), v);
	}
	free(text);
	l->loaded = true;
	return 0;
}

/* $name, ${name}, $(name) from main.cf (config_directory: the Postfix dir); others stay. */
static char *
pf_expand(struct imp *im, const char *v, int depth)
{
	struct buf	 b;
	const char	*p, *end, *val;
	char		*name, *sub;
	size_t		 n;
	char		 close;

	buf_init(&b, IMP_FILE_MAX);
	for (p = v; *p != '\0';) {
		if (*p != '$' || depth > 8) {
			if (buf_addc(&b, *p++) < 0)
				break;
			continue;
		}
		close = p[1] == '{' ? '}' : p[1] == '(' ? ')' : '\0';
		if (close != '\0') {
			if ((end = strchr(p + 2, close)) == NULL) {
				bput(&b, p);
				break;
			}
			name = xstrndup(p + 2, (size_t)(end - p - 2));
			end++;
		} else {
			n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
			name = xstrndup(p + 1, n);
			end = p + 1 + n;
		}
		if (strcmp(name, "config_directory") == 0)
			val = im->pfdir;
		else
			val = kv_get(&im->main, name);
		if (val != NULL) {
			sub = pf_expand(im, val, depth + 1);
			bput(&b, sub);
			free(sub);
		} else
			bputn(&b, p, (size_t)(end - p));
		free(name);
		p = end;
	}
	return buf_take(&b, NULL);
}

static const char *
main_get(struct imp *im, const char *key, char **tofree)
{
	const char *v = kv_get(&im->main, key);

	*tofree = NULL;
	if (v == NULL)
		return NULL;
	*tofree = pf_expand(im, v, 0);
	return *tofree;
}

/* ---------------------------------------------------------------- database */

static void
db_clear(struct dbtarget *db)
{
	free(db->kind);
	free(db->host);
	free(db->user);
	if (db->pass != NULL)
		explicit_bzero(db->pass, strlen(db->pass));
	free(db->pass);
	free(db->dbname);
	free(db->socket);
	memset(db, 0, sizeof(*db));
}

/* Postfix "hosts": host, host:port, inet:host:port, unix:/path, /path; the first one. */
static void
parse_hosts(struct imp *im, const char *hosts, struct dbtarget *db, const char *src)
{
	char		*first, *colon;
	size_t		 n;
	uint64_t	 port;

	hosts += strspn(hosts, " ,\t");
	n = strcspn(hosts, " ,\t");
	if (n == 0)
		return;
	if (hosts[n] != '\0' && hosts[n + strspn(hosts + n, " ,\t")] != '\0')
		note(im, "%s: hosts = %s: only the first host is used (several hosts: use a"
		    " load balancer or a Galera VIP)", src, hosts);
	first = xstrndup(hosts, n);
	if (strncmp(first, "unix:", 5) == 0 || first[0] == '/') {
		db->socket = xstrdup(first[0] == '/' ? first : first + 5);
	} else {
		const char *h = strncmp(first, "inet:", 5) == 0 ? first + 5 : first;

		if ((colon = strrchr(h, ':')) != NULL && strchr(h, ']') < colon &&
		    parse_u64(colon + 1, strlen(colon + 1), 65535, &port) == 0) {
			*colon = '\0';
			db->port = (unsigned)port;
		}
		db->host = xstrdup(h);
	}
	free(first);
}

/* Remember the first database seen; report one that differs. */
static void
db_offer(struct imp *im, struct dbtarget *cand)
{
	struct dbtarget *db = &im->db;

	if (db->kind == NULL) {
		*db = *cand;
		memset(cand, 0, sizeof(*cand));
		return;
	}
#define SAME(a, b) (((a) == NULL && (b) == NULL) || ((a) != NULL && (b) != NULL && strcmp(a, b) == 0))
	if (!SAME(db->dbname, cand->dbname) || !SAME(db->user, cand->user) ||
	    (cand->host != NULL && db->host != NULL && !SAME(db->host, cand->host) &&
	    !((strcmp(db->host, "localhost") == 0 || strcmp(db->host, "127.0.0.1") == 0) &&
	    (strcmp(cand->host, "localhost") == 0 || strcmp(cand->host, "127.0.0.1") == 0))))
		note(im, "%s names database %s as %s on %s; letterbox uses one database:"
		    " %s as %s on %s (from %s)", cand->source,
		    cand->dbname ? cand->dbname : "?", cand->user ? cand->user : "?",
		    cand->host ? cand->host : cand->socket ? cand->socket : "?",
		    db->dbname ? db->dbname : "?", db->user ? db->user : "?",
		    db->host ? db->host : db->socket ? db->socket : "?", db->source);
#undef SAME
	db_clear(cand);
}

/* Lower case, white space and a trailing ';' removed: for comparing with classic[]. */
static char *
squash(const char *q)
{
	char	*s = xmalloc(strlen(q) + 1), *o = s;

	for (; *q != '\0'; q++)
		if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
			*o++ = (*q >= 'A' && *q <= 'Z') ? (char)(*q + 32) : *q;
	while (o > s && o[-1] == ';')
		o--;
	*o = '\0';
	return s;
}

static bool
is_classic(int which, const char *query)
{
	char	*s = squash(query);
	bool	 yes = false;
	int	 i;

	for (i = 0; i < 3 && classic[which][i] != NULL; i++)
		if (strcmp(s, classic[which][i]) == 0)
			yes = true;
	free(s);
	return yes;
}

static void
set_query(struct imp *im, int which, const char *query, const char *src)
{
	if (im->queries[which] != NULL) {
		note(im, "%s: a second %s map is not supported: only %s is used", src,
		    qkey[which], im->qsrc[which]);
		return;
	}
	im->queries[which] = xstrdup(query);
	im->qsrc[which] = src;
}

/* The path of a map file: /etc/postfix/x.cf is looked up in --postfix-dir. */
static char *
map_path(struct imp *im, const char *path)
{
	const char	*base;
	char		*p;
	struct stat	 st;

	if (strncmp(path, "/etc/postfix/", 13) == 0 && strcmp(im->pfdir, "/etc/postfix") != 0)
		return xasprintf("%s/%s", im->pfdir, path + 13);
	if (path[0] != '/')
		return xasprintf("%s/%s", im->pfdir, path);
	if (stat(path, &st) == 0)
		return xstrdup(path);
	base = strrchr(path, '/') + 1;
	p = xasprintf("%s/%s", im->pfdir, base);
	if (stat(p, &st) == 0)
		return p;
	free(p);
	return xstrdup(path);
}

/*
 * One map of a main.cf parameter: "proxy:mysql:/etc/postfix/x.cf".  which
 * is the override it feeds (-1: none, e.g. quota maps).
 */
static void
import_map(struct imp *im, const char *param, const char *item, int which, int index)
{
	struct kvlist	 cf = { 0 };
	struct dbtarget	 cand = { 0 };
	const char	*spec = item, *q, *v;
	char		*path, *built = NULL, *src, *sq;
	bool		 pg;

	if (strncmp(spec, "proxy:", 6) == 0)
		spec += 6;
	pg = strncmp(spec, "pgsql:", 6) == 0;
	if (strncmp(spec, "mysql:", 6) != 0 && !pg) {
		note(im, "main.cf %s: map %s: only mysql: and pgsql: maps are imported;"
		    " put its entries into the database", param, item);
		return;
	}
	path = map_path(im, spec + 6);
	src = xstrdup(path);
	if (load_postfix_style(path, &cf) < 0) {
		note(im, "main.cf %s: cannot read %s: %s", param, path, strerror(errno));
		goto out;
	}
	if (which < 0) {
		note(im, "main.cf %s = %s: letterbox has no per-user %s; use"
		    " virtual_mailbox_limit for one limit for all", param, item,
		    strstr(param, "limit") != NULL ? "quota from SQL" : "equivalent");
		goto out;
	}
	cand.source = NULL;
	cand.kind = xstrdup(pg ? "pgsql" : "mysql");
	if ((v = kv_get(&cf, "hosts")) != NULL)
		parse_hosts(im, v, &cand, path);
	if ((v = kv_get(&cf, "user")) != NULL)
		cand.user = xstrdup(v);
	if ((v = kv_get(&cf, "password")) != NULL)
		cand.pass = xstrdup(v);
	if ((v = kv_get(&cf, "dbname")) != NULL)
		cand.dbname = xstrdup(v);
	if ((q = kv_get(&cf, "query")) == NULL && kv_get(&cf, "table") != NULL &&
	    kv_get(&cf, "select_field") != NULL && kv_get(&cf, "where_field") != NULL) {
		/* Postfix before 2.2: table, select_field, where_field, additional_conditions. */
		built = xasprintf("SELECT %s FROM %s WHERE %s = '%%s' %s",
		    kv_get(&cf, "select_field"), kv_get(&cf, "table"), kv_get(&cf, "where_field"),
		    kv_get(&cf, "additional_conditions") ? kv_get(&cf, "additional_conditions") : "");
		q = built;
	}
	if (kv_get(&cf, "result_format") != NULL || kv_get(&cf, "domain") != NULL ||
	    kv_get(&cf, "expansion_limit") != NULL)
		note(im, "%s: result_format, domain and expansion_limit are not supported", path);
	cand.source = NULL;
	/* The database: kept in a list-owned string so the note can name the file. */
	if (q == NULL) {
		note(im, "%s: no query", path);
		db_clear(&cand);
		goto out;
	}
	sq = squash(q);
	if (which == Q_FORWARD && strcmp(sq, email2email) == 0) {
		/* Maps every mailbox to itself, so a catch-all does not swallow real users. */
		free(sq);
		db_clear(&cand);
		goto out;
	}
	free(sq);
	if (which == Q_FORWARD && index > 0 && im->queries[Q_FORWARD] != NULL) {
		note(im, "main.cf %s: map %s: letterbox takes one forward_query; %s is used",
		    param, item, im->qsrc[Q_FORWARD]);
		db_clear(&cand);
		goto out;
	}
	cand.source = "main.cf";
	db_offer(im, &cand);
	if (!is_classic(which, q))
		set_query(im, which, q, which == Q_FORWARD ? "virtual_alias_maps" : param);
out:
	free(built);
	free(src);
	free(path);
	kv_clear(&cf);
}

struct mapctx {
	struct imp	*im;
	const char	*param;
	int		 which, index;
};

static int
map_item(const char *item, size_t len, void *arg)
{
	struct mapctx	*mc = arg;
	char		*s = xstrndup(item, len);

	import_map(mc->im, mc->param, s, mc->which, mc->index++);
	free(s);
	return 0;
}

static void
import_maps(struct imp *im, const char *param, int which)
{
	struct mapctx	 mc = { im, param, which, 0 };
	char		*v;
	const char	*val = main_get(im, param, &v);

	if (val != NULL)
		str_each_item(val, map_item, &mc);
	free(v);
}

/* ---------------------------------------------------------------- Courier, PAM, SASL */

static void
import_courier(struct imp *im)
{
	struct kvlist	 rc = { 0 };
	struct dbtarget	 cand = { 0 };
	const char	*v, *table, *login, *crypt;
	char		*path = xasprintf("%s/authmysqlrc", im->courierdir), *q;
	uint64_t	 port;

	if (load_courier_style(path, &rc) < 0) {
		free(path);
		return;
	}
	cand.kind = xstrdup("mysql");
	if ((v = kv_get(&rc, "MYSQL_SERVER")) != NULL)
		cand.host = xstrdup(v);
	if ((v = kv_get(&rc, "MYSQL_SOCKET")) != NULL)
		cand.socket = xstrdup(v);
	if ((v = kv_get(&rc, "MYSQL_PORT")) != NULL && parse_u64(v, strlen(v), 65535, &port) == 0)
		cand.port = (unsigned)port;
	if ((v = kv_get(&rc, "MYSQL_USERNAME")) != NULL)
		cand.user = xstrdup(v);
	if ((v = kv_get(&rc, "MYSQL_PASSWORD")) != NULL)
		cand.pass = xstrdup(v);
	if ((v = kv_get(&rc, "MYSQL_DATABASE")) != NULL)
		cand.dbname = xstrdup(v);
	cand.source = "authmysqlrc";
	db_offer(im, &cand);

	table = kv_get(&rc, "MYSQL_USER_TABLE");
	login = kv_get(&rc, "MYSQL_LOGIN_FIELD");
	crypt = kv_get(&rc, "MYSQL_CRYPT_PWFIELD");
	if (kv_get(&rc, "MYSQL_CLEAR_PWFIELD") != NULL && crypt == NULL)
		note(im, "authmysqlrc: MYSQL_CLEAR_PWFIELD (plain text passwords): letterbox wants"
		    " crypt hashes; set allow_plaintext_passwords = yes and prefix them with"
		    " {PLAIN}, or better re-hash them");
	if ((v = kv_get(&rc, "MYSQL_SELECT_CLAUSE")) != NULL)
		note(im, "authmysqlrc: MYSQL_SELECT_CLAUSE is not imported; write password_query"
		    " by hand (SELECT hash FROM ... WHERE login = '%%s')");
	if (table != NULL && crypt != NULL) {
		v = kv_get(&rc, "MYSQL_WHERE_CLAUSE");
		q = xasprintf("SELECT %s FROM %s WHERE %s = '%%s'%s%s", crypt, table,
		    login != NULL ? login : "id", v != NULL ? " AND " : "", v != NULL ? v : "");
		if (!is_classic(Q_PASSWORD, q))
			set_query(im, Q_PASSWORD, q, "authmysqlrc");
		free(q);
	}
	if ((v = kv_get(&rc, "MYSQL_MAILDIR_FIELD")) != NULL) {
		q = squash(v);
		if (strcmp(q, "concat(substring_index(email,'@',-1),'/',substring_index(email,'@',1),'/')") != 0)
			note(im, "authmysqlrc: MYSQL_MAILDIR_FIELD %s: IMAP/POP3 will use"
			    " DOMAIN/LOCALPART/ below virtual_mailbox_base (or mailbox_query's"
			    " answer); check that this is where the Maildirs are", v);
		free(q);
	}
	if (kv_get(&rc, "MYSQL_QUOTA_FIELD") != NULL)
		note(im, "authmysqlrc: MYSQL_QUOTA_FIELD %s: per-user quotas from SQL are not"
		    " supported (virtual_mailbox_limit sets one for all)",
		    kv_get(&rc, "MYSQL_QUOTA_FIELD"));
	kv_clear(&rc);
	free(path);
}

/* pam.d/smtp: "auth required pam_mysql.so user=... passwd=... host=... db=... crypt=1". */
static void
import_pam(struct imp *im)
{
	char		*path = xasprintf("%s/smtp", im->pamdir), *text, *line, *next, *tok;
	struct dbtarget	 cand = { 0 };
	bool		 seen = false;
	size_t		 n;

	if ((text = slurp(path)) == NULL) {
		free(path);
		return;
	}
	for (line = text; line != NULL && !seen; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strstr(line, "pam_mysql.so") == NULL || str_trim(line)[0] == '#')
			continue;
		seen = true;
		cand.kind = xstrdup("mysql");
		for (tok = line; *(tok += strspn(tok, " \t")) != '\0'; tok += n) {
			n = strcspn(tok, " \t");
			if (tok[n] != '\0')
				tok[n++] = '\0';
			if (strncmp(tok, "user=", 5) == 0)
				cand.user = xstrdup(tok + 5);
			else if (strncmp(tok, "passwd=", 7) == 0)
				cand.pass = xstrdup(tok + 7);
			else if (strncmp(tok, "host=", 5) == 0)
				cand.host = xstrdup(tok + 5);
			else if (strncmp(tok, "db=", 3) == 0)
				cand.dbname = xstrdup(tok + 3);
			else if (strncmp(tok, "crypt=", 6) == 0 && strcmp(tok + 6, "1") != 0 &&
			    strcmp(tok + 6, "Y") != 0)
				note(im, "pam.d/smtp: pam_mysql %s: letterbox checks crypt(3)"
				    " hashes only (crypt=1)", tok);
		}
	}
	if (seen) {
		cand.source = "pam.d/smtp";
		db_offer(im, &cand);
	}
	explicit_bzero(text, strlen(text));
	free(text);
	free(path);
}

/* saslauthd and Cyrus SASL: nothing to carry (letterbox authenticates itself); say so. */
static void
import_sasl(struct imp *im)
{
	struct kvlist	 l = { 0 };
	char		*path;
	const char	*m;

	path = xasprintf("%s/sasl/smtpd.conf", im->pfdir);
	if (load_courier_style(path, &l) == 0) {
		if ((m = kv_get(&l, "mech_list:")) != NULL && strstr(m, "cram") != NULL)
			note(im, "sasl/smtpd.conf: mech_list %s: letterbox offers PLAIN and LOGIN", m);
		kv_clear(&l);
	}
	free(path);
	if (load_shell_style("/etc/default/saslauthd", &l) == 0) {
		if ((m = kv_get(&l, "MECHANISMS")) != NULL && strcmp(m, "pam") != 0)
			note(im, "/etc/default/saslauthd: MECHANISMS=%s: letterbox checks the"
			    " users table itself", m);
		kv_clear(&l);
	}
}

/* ---------------------------------------------------------------- writing */

/* Append "key = value" when the value is valid for letterbox; else note it. */
static void
put(struct imp *im, const char *key, const char *val, const char *from)
{
	const struct conf_key	*k = conf_key_find(key);
	const char		*why = NULL, *p;
	int64_t			 n;

	/* Empty in main.cf means Postfix's default: ours applies. */
	if (k == NULL || *val == '\0')
		return;
	if (strchr(val, '$') != NULL)
		why = "uses a Postfix variable letterbox does not have";
	else if (strchr(val, '\n') != NULL)
		why = "spans lines";
	else if (k->type == CONF_BOOL && strcmp(val, "yes") != 0 && strcmp(val, "no") != 0)
		why = "want yes or no";
	else if (k->type == CONF_SIZE && conf_parse_size(val, &n) < 0)
		why = "not a size";
	else if (k->type == CONF_TIME && conf_parse_time(val, &n) < 0)
		why = "not a time";
	else if (k->check != NULL)
		why = k->check(val);
	if (why != NULL) {
		note(im, "%s %s = %s: %s", from, key, val, why);
		return;
	}
	if (buf_addf(&im->out, "%s = ", key) < 0)
		return;
	for (p = val; *p != '\0'; p++)
		bputc(&im->out, *p);
	bputc(&im->out, '\n');
}

/*
 * main.cf keys whose name and meaning letterbox shares: carried as they
 * are.  Not here: mail_owner and queue_directory (same names, Postfix's
 * own user and spool) and the ones handled by hand below.
 */
static const char *const same_keys[] = {
	"myhostname", "mydomain", "myorigin", "mydestination", "mynetworks", "message_size_limit",
	"virtual_mailbox_base", "smtpd_tls_cert_file", "smtpd_tls_key_file", "smtpd_tls_chain_file",
	"smtpd_recipient_limit", "smtpd_soft_error_limit", "smtpd_hard_error_limit",
	"smtpd_timeout", "smtpd_client_connection_count_limit", "smtpd_sasl_authenticated_header",
	"broken_sasl_auth_clients", "hopcount_limit", "virtual_alias_recursion_limit",
	"virtual_alias_expansion_limit", "virtual_create_maildirsize", "virtual_mailbox_limit",
	"minimal_backoff_time", "maximal_backoff_time", "maximal_queue_lifetime",
	"bounce_queue_lifetime", "delay_warning_time", "queue_run_delay", "relayhost",
	"smtp_connect_timeout", "smtp_timeout", "default_destination_concurrency_limit", NULL,
};

/* main.cf keys read elsewhere here, or without meaning for letterbox: no note. */
static const char *const quiet_keys[] = {
	"smtpd_recipient_restrictions", "virtual_alias_maps", "virtual_mailbox_domains",
	"virtual_mailbox_maps", "transport_maps", "virtual_uid_maps", "virtual_gid_maps",
	"virtual_mailbox_limit_maps", "smtpd_tls_auth_only", "alias_maps", "alias_database",
	"smtpd_sasl_auth_enable", "smtpd_use_tls", "smtpd_tls_security_level", "proxy_read_maps",
	"virtual_alias_domains", "biff", "append_dot_mydomain", "readme_directory",
	"compatibility_level", "mail_owner", "queue_directory", "command_directory",
	"daemon_directory", "data_directory", "html_directory", "manpage_directory",
	"sample_directory", "sendmail_path", "newaliases_path", "mailq_path", "setgid_group",
	"smtpd_tls_session_cache_database", "smtp_tls_session_cache_database", "inet_interfaces",
	"inet_protocols", "recipient_delimiter", "mailbox_size_limit", "smtpd_relay_restrictions",
	"virtual_maildir_extended", "virtual_mailbox_limit_override", "virtual_transport",
	"virtual_minimum_uid", "smtpd_sasl_local_domain", "smtpd_sasl_security_options",
	"smtpd_sasl_path", "smtpd_sasl_type", "smtp_tls_security_level", "smtpd_banner", NULL,
};

static bool
in_list(const char *const *l, const char *s)
{
	for (; *l != NULL; l++)
		if (strcmp(*l, s) == 0)
			return true;
	return false;
}

struct restr {
	struct buf	 keep;
	struct imp	*im;
};

static int
restr_item(const char *item, size_t len, void *arg)
{
	struct restr	*r = arg;
	char		*s = xstrndup(item, len);

	if (conf_check_restrictions(s) == NULL) {
		if (r->keep.len > 0)
			bput(&r->keep, ", ");
		bput(&r->keep, s);
	} else
		note(r->im, "main.cf smtpd_recipient_restrictions: %s: not supported by letterbox"
		    " (dropped%s)", s, strchr(s, ':') != NULL || strchr(s, '.') != NULL ?
		    "; an argument of the restriction before it" : "");
	free(s);
	return 0;
}

/* The restriction list, keeping what letterbox implements. */
static void
put_restrictions(struct imp *im)
{
	struct restr	 r;
	char		*v;
	const char	*val = main_get(im, "smtpd_recipient_restrictions", &v);

	if (val == NULL)
		return;
	r.im = im;
	buf_init(&r.keep, 8192);
	str_each_item(val, restr_item, &r);
	if (r.keep.len > 0)
		put(im, "smtpd_recipient_restrictions", buf_str(&r.keep), "main.cf");
	buf_clear(&r.keep);
	free(v);
}

/* Postfix: myorigin = /file means the file's first line (Debian's /etc/mailname). */
static void
put_myorigin(struct imp *im, const char *path)
{
	char	*text = slurp(path);

	if (text == NULL) {
		note(im, "main.cf myorigin = %s: cannot read it here; set myorigin by hand", path);
		return;
	}
	text[strcspn(text, "\r\n")] = '\0';
	put(im, "myorigin", str_trim(text), path);
	free(text);
}

static void
put_mainkeys(struct imp *im)
{
	char		*v;
	const char	*val;
	size_t		 i;
	int		 j;

	for (j = 0; same_keys[j] != NULL; j++) {
		if ((val = main_get(im, same_keys[j], &v)) == NULL)
			continue;
		if (strcmp(same_keys[j], "myorigin") == 0 && val[0] == '/')
			put_myorigin(im, val);
		else
			put(im, same_keys[j], val, "main.cf");
		free(v);
	}
	put_restrictions(im);
	/* Postfix and Courier let clients AUTH without TLS unless told otherwise; so do we, then. */
	val = main_get(im, "smtpd_tls_auth_only", &v);
	if (val != NULL && strcmp(val, "yes") == 0)
		put(im, "disable_plaintext_auth", "yes", "main.cf");
	else {
		put(im, "disable_plaintext_auth", "no", "main.cf");
		note(im, "main.cf: smtpd_tls_auth_only is not yes, so clients may log in without"
		    " TLS as before (disable_plaintext_auth = no); set it to yes once every"
		    " client uses TLS");
	}
	free(v);
	for (i = 0; i < im->main.n; i++) {
		const char *key = im->main.v[i].key;

		if (in_list(same_keys, key) || in_list(quiet_keys, key))
			continue;
		note(im, "main.cf %s = %s: no letterbox equivalent", key, im->main.v[i].val);
	}
}

/* virtual_uid_maps = static:N -> mail_owner (the user with that uid). */
static void
put_owner(struct imp *im)
{
	char		*v;
	const char	*val = main_get(im, "virtual_uid_maps", &v);
	struct passwd	*pw;
	uint64_t	 uid;

	if (val != NULL && strncmp(val, "static:", 7) == 0 &&
	    parse_u64(val + 7, strlen(val + 7), 0xfffffffe, &uid) == 0) {
		if ((pw = getpwuid((uid_t)uid)) != NULL) {
			put(im, "mail_owner", pw->pw_name, "main.cf");
			im->owner = xstrdup(pw->pw_name);
		} else
			note(im, "main.cf virtual_uid_maps = %s: no user has uid %llu here;"
			    " create it (the Maildirs belong to it) and set mail_owner", val,
			    (unsigned long long)uid);
	} else if (val != NULL)
		note(im, "main.cf virtual_uid_maps = %s: letterbox runs as one mail_owner", val);
	free(v);
}

#define SCAN_DIRS_MAX	4096	/* domain and user directories looked at for Courier's files */

/* A Maildir below base/DOMAIN/USER/ with Courier-IMAP's UID file, into found. */
static bool
courier_maildir(const char *base, char *found, size_t sz)
{
	DIR		*d, *u;
	struct dirent	*de, *ue;
	char		 path[4096];
	size_t		 seen = 0;
	bool		 hit = false;

	if ((d = opendir(base)) == NULL)
		return false;
	while (!hit && seen < SCAN_DIRS_MAX && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || (size_t)snprintf(path, sizeof(path), "%s/%s", base,
		    de->d_name) >= sizeof(path) || (u = opendir(path)) == NULL)
			continue;
		while (!hit && ++seen < SCAN_DIRS_MAX && (ue = readdir(u)) != NULL) {
			if (ue->d_name[0] == '.')
				continue;
			hit = (size_t)snprintf(found, sz, "%s/%s/%s/courierimapuiddb", base,
			    de->d_name, ue->d_name) < sz && access(found, F_OK) == 0;
		}
		closedir(u);
	}
	closedir(d);
	return hit;
}

/*
 * Did Courier-IMAP serve this install?  Evidence, first found wins: its
 * IMAP server's config (imapd, imapd-ssl), courier-authlib's config
 * (authdaemonrc, authmysqlrc: in this layout authdaemon only ever serves
 * Courier's IMAP and POP3), or a Maildir below virtual_mailbox_base with
 * courierimapuiddb.  Then its clients know the folders as "INBOX.x" with
 * '.': imap_namespace = courier keeps their paths (Dovecot's migration
 * guide does the same).
 */
static void
put_namespace(struct imp *im)
{
	static const char *const files[] = { "imapd", "imapd-ssl", "authdaemonrc",
	    "authmysqlrc" };
	char		 found[4096];
	char		*v;
	const char	*base = main_get(im, "virtual_mailbox_base", &v);
	size_t		 i;
	bool		 hit = false;

	for (i = 0; i < sizeof(files) / sizeof(files[0]) && !hit; i++)
		hit = (size_t)snprintf(found, sizeof(found), "%s/%s", im->courierdir,
		    files[i]) < sizeof(found) && access(found, F_OK) == 0;
	if (!hit && base != NULL)
		hit = courier_maildir(base, found, sizeof(found));
	free(v);
	if (!hit)
		return;
	(void)buf_addf(&im->out, "# Courier-IMAP served these Maildirs (found %s): its folder view,"
	    "\n# \"INBOX.\" and '.', so that clients' folder paths stay valid.\n", found);
	put(im, "imap_namespace", "courier", found);
}

/* %XX for what may not stand in a URL's user or path part. */
static void
url_part(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c) != NULL)
			bputc(b, (char)c);
		else
			buf_addf(b, "%%%02X", c);
	}
}

/*
 * database = ..., and the password into PASSFILE (0640, group of the mail
 * owner so the daemon and the admin verbs can read it).  0 or -1.
 */
static int
put_database(struct imp *im, const char *passfile)
{
	struct dbtarget	*db = &im->db;
	struct buf	 url;
	struct group	*gr;
	struct passwd	*pw;
	const char	*owner;
	int		 fd, rc = 0;

	if (db->kind == NULL) {
		note(im, "no mysql:/pgsql: map, authmysqlrc or pam_mysql found: database stays"
		    " the embedded SQLite (letterbox init makes one)");
		return 0;
	}
	buf_init(&url, 4096);
	bput(&url, strcmp(db->kind, "pgsql") == 0 ? "postgresql://" : "mysql://");
	if (db->user != NULL) {
		url_part(&url, db->user);
		bputc(&url, '@');
	}
	if (db->socket == NULL && db->host != NULL) {
		if (strchr(db->host, ':') != NULL)
			buf_addf(&url, "[%s]", db->host);
		else
			bput(&url, db->host);
		if (db->port != 0)
			buf_addf(&url, ":%u", db->port);
	}
	bputc(&url, '/');
	url_part(&url, db->dbname != NULL ? db->dbname : "mail");
	if (db->socket != NULL)
		buf_addf(&url, "?%s=%s", strcmp(db->kind, "pgsql") == 0 ? "host" : "socket",
		    db->socket);
	put(im, "database", buf_str(&url), db->source);
	buf_clear(&url);
	if (db->pass == NULL || db->pass[0] == '\0')
		return 0;
	(void)unlink(passfile);
	if ((fd = open(passfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) < 0) {
		cli_err(EX_CANTCREAT, "%s: %s", passfile, strerror(errno));
		return -1;
	}
	if (write(fd, db->pass, strlen(db->pass)) != (ssize_t)strlen(db->pass) ||
	    write(fd, "\n", 1) != 1) {
		cli_err(EX_IOERR, "%s: %s", passfile, strerror(errno));
		rc = -1;
	}
	/* Root writes it; the mail owner (who runs lookups) must read it. */
	if (rc == 0 && geteuid() == 0) {
		owner = im->owner != NULL ? im->owner : "vmail";
		if ((pw = getpwnam(owner)) != NULL && fchown(fd, 0, pw->pw_gid) < 0)
			rc = -1;
		else if (pw == NULL && (gr = getgrnam(owner)) != NULL && fchown(fd, 0, gr->gr_gid) < 0)
			rc = -1;
		if (rc < 0)
			cli_err(EX_IOERR, "%s: chown: %s", passfile, strerror(errno));
	}
	if (close(fd) < 0 && rc == 0) {
		cli_err(EX_IOERR, "%s: %s", passfile, strerror(errno));
		rc = -1;
	}
	if (rc == 0)
		put(im, "database_password_file", passfile, db->source);
	return rc;
}

static void
put_queries(struct imp *im)
{
	int i;

	for (i = 0; i < 5; i++) {
		if (im->queries[i] == NULL)
			continue;
		buf_addf(&im->out, "# from %s\n", im->qsrc[i]);
		put(im, qkey[i], im->queries[i], im->qsrc[i]);
	}
}

static int
write_file(const char *path, const char *text, bool force)
{
	char	*tmp = xasprintf("%s.tmp", path);
	int	 fd, rc = 0;
	size_t	 len = strlen(text);

	if (!force && access(path, F_OK) == 0) {
		free(tmp);
		return cli_err(EX_CANTCREAT, "%s exists (use --force to replace it)", path);
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		rc = cli_err(EX_CANTCREAT, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return rc;
	}
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		rc = cli_err(EX_IOERR, "%s: %s", path, strerror(errno));
		(void)unlink(tmp);
	}
	free(tmp);
	return rc;
}

static char *
abs_path(const char *p)
{
	char cwd[4096];

	if (p[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(p);
	return xasprintf("%s/%s", cwd, p);
}

int
cmd_import_postfix(struct cli *c, int argc, char **argv)
{
	struct imp	 im;
	const char	*output = NULL;
	char		*mainpath, *outabs, *dir, *slash, *passfile = NULL, *err = NULL;
	struct conf	*check;
	bool		 force = false;
	int		 i, rc = 0;
	time_t		 now = time(NULL);
	char		 when[64];

	memset(&im, 0, sizeof(im));
	im.pfdir = "/etc/postfix";
	im.courierdir = "/etc/courier";
	im.pamdir = "/etc/pam.d";
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--postfix-dir") == 0 && i + 1 < argc)
			im.pfdir = argv[++i];
		else if (strcmp(argv[i], "--courier-dir") == 0 && i + 1 < argc)
			im.courierdir = argv[++i];
		else if (strcmp(argv[i], "--pam-dir") == 0 && i + 1 < argc)
			im.pamdir = argv[++i];
		else if (strcmp(argv[i], "--force") == 0)
			force = true;
		else if (argv[i][0] != '-' && output == NULL)
			output = argv[i];
		else
			return cli_usage("import-postfix");
	}
	if (output == NULL)
		return cli_usage("import-postfix");
	if (!force && access(output, F_OK) == 0)
		return cli_err(EX_CANTCREAT, "%s exists (use --force to replace it)", output);
	mainpath = xasprintf("%s/main.cf", im.pfdir);
	if (load_postfix_style(mainpath, &im.main) < 0) {
		rc = cli_err(EX_NOINPUT, "%s: %s", mainpath, strerror(errno));
		free(mainpath);
		return rc;
	}
	buf_init(&im.out, IMP_OUT_MAX);
	buf_init(&im.notes, IMP_OUT_MAX);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime(&now));
	buf_addf(&im.out, "# letterbox.conf made by `letterbox import-postfix` on %s from\n"
	    "# %s, %s/authmysqlrc and %s/smtp.  `letterbox config check` lists every key.\n",
	    when, mainpath, im.courierdir, im.pamdir);

	import_maps(&im, "virtual_mailbox_domains", Q_DOMAIN);
	import_maps(&im, "virtual_mailbox_maps", Q_MAILBOX);
	import_maps(&im, "virtual_alias_maps", Q_FORWARD);
	import_maps(&im, "transport_maps", Q_TRANSPORT);
	import_maps(&im, "virtual_mailbox_limit_maps", -1);
	import_courier(&im);
	import_pam(&im);
	import_sasl(&im);

	outabs = abs_path(output);
	dir = xstrdup(outabs);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	passfile = xasprintf("%s/letterbox-db.pass", *dir != '\0' ? dir : "/");
	put_mainkeys(&im);
	put_owner(&im);
	put_namespace(&im);
	if (put_database(&im, passfile) < 0) {
		rc = EX_CANTCREAT;
		goto out;
	}
	put_queries(&im);
	bput(&im.out, "# Rewrite old hashes (DES, MD5) as yescrypt on login; needs a"
	    " users.password column wide enough\n# (letterbox config check says).\n"
	    "password_upgrade = no\n");
	if (imp_overflow) {
		rc = cli_err(EX_SOFTWARE, "input too large: the config or notes passed %d bytes",
		    IMP_OUT_MAX);
		goto out;
	}
	if ((rc = write_file(outabs, buf_str(&im.out), force)) != 0)
		goto out;
	/* What we wrote must load: the same check `config check` does. */
	if ((check = conf_load(outabs, &err)) == NULL) {
		rc = cli_err(EX_SOFTWARE, "the written config does not load: %s", err);
		free(err);
		goto out;
	}
	conf_free(&check);
	printf("wrote %s\n", outabs);
	if (im.nnotes > 0) {
		printf("not carried over (%d):\n", im.nnotes);
		fputs(buf_str(&im.notes), stdout);
	}
out:
	for (i = 0; i < 5; i++)
		free(im.queries[i]);
	free(im.owner);
	free(outabs);
	free(dir);
	free(passfile);
	free(mainpath);
	db_clear(&im.db);
	kv_clear(&im.main);
	buf_clear(&im.out);
	buf_clear(&im.notes);
	return rc;
}
