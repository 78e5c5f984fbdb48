/*
 * The directory's hot path (see directory.h): lookup keys and case
 * folding, the built-in lookups through the backend's statements, the
 * *_query overrides, and what an answer may be (a Maildir path must stay
 * below virtual_mailbox_base).  Runs on every RCPT, login and delivery.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "directory/directory_int.h"
#include "lib/addr.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

/* ---------------------------------------------------------------- keys */

void
lkey_clear(struct lkey *k)
{
	xfree(&k->q);
	xfree(&k->exact);
}

int
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

void
pick_clear(struct pick *p)
{
	xfree(&p->col0);
	xfree(&p->col1);
	p->found = false;
}

/* Run a *_GET for key k; DIR_X_* with *err_r. */
enum dir_exec
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
enum dir_exec
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
		log_warnx("directory: %s failed: %s", dir_query_keys[which], err);
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
		log_warnx("directory: %s: answer longer than %d bytes", dir_query_keys[which],
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
bool
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
				    dir_show(shown, path), dir_show(shown2, lkey_str(&k)));
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
			    dir_show(shown, key));
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

int
dir_quota_parse(const char *s, uint64_t *bytes_r)
{
	const char	*p = s, *e;
	uint64_t	 v;
	size_t		 n;
	bool		 got = false;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return 0;
	/* Items "N", "NS" (bytes) or "NC" (messages), split by ','. */
	for (; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		for (n = 0; p[n] >= '0' && p[n] <= '9'; n++)
			;
		if (n == 0 || parse_u64(p, n, (uint64_t)1 << 60, &v) < 0)
			return -1;
		e = p + n;
		if (*e == 'C') {
			e++;
		} else {
			if (*e == 'S')
				e++;
			if (got)
				return -1;	/* two byte limits */
			*bytes_r = v;
			got = true;
		}
		while (*e == ' ')
			e++;
		if ((*e != ',' && *e != '\0') || (*e == ',' && e[1] == '\0'))
			return -1;
	}
	if (!got)
		*bytes_r = 0;	/* a count alone: no byte limit */
	return 1;
}

enum dir_result
dir_quota(struct directory *d, const char *addr, uint64_t *bytes_r)
{
	struct lkey	 k;
	enum dir_result	 r;
	char		*val = NULL;

	if (d == NULL)
		return DIR_TEMPFAIL;
	if (d->q[DIR_Q_QUOTA] == NULL || addr[0] == '@' || lkey_make(d, addr, false, &k) < 0)
		return DIR_NOTFOUND;
	r = dir_lookup_q(d, DIR_Q_QUOTA, lkey_str(&k), &val);
	lkey_clear(&k);
	if (r == DIR_FOUND) {
		switch (dir_quota_parse(val, bytes_r)) {
		case 1:
			break;
		case -1:
			log_warnx("directory: quota_query: not a quota: \"%.40s\"", val);
			/* FALLTHROUGH */
		default:
			r = DIR_NOTFOUND;
		}
	}
	free(val);
	return r;
}

uint64_t
dir_quota_limit(struct directory *d, const char *addr, uint64_t dflt)
{
	uint64_t v;

	/* NOTFOUND is "no per-user value"; TEMPFAIL was logged: neither blocks mail. */
	return dir_quota(d, addr, &v) == DIR_FOUND ? v : dflt;
}
