/*
 * The directory's admin writes and lists (see directory.h): validation of
 * admin input, every write in one transaction that checks and changes the
 * same row, and the lists behind `domain list`, `user list`, ...
 *
 * Stored forms written here: domains in A-label lower case (addr.h), users'
 * and forwardings' addresses as their lookup key (local part lower-cased
 * unless localpart_case_sensitive), destinations as "a@x,b@y".  Rows typed
 * by hand in any case are still found: every compare is lower(col) = key.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "directory/directory_int.h"
#include "lib/addr.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

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
		dir_seterr(err_r, "%s", err);
		free(err);
		return DIR_W_FAIL;
	}
	if (width <= 0 || strlen(hash) <= (size_t)width)
		return DIR_W_OK;
	dir_seterr(err_r, "users.password is only %ld characters wide, the new hash needs %zu;"
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
		dir_seterr(err_r, "%s", err);
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
		dir_seterr(err_r, "%s", err);
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
		dir_seterr(err_r, "%s", err);
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
		dir_seterr(err_r, "%s", err);
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

/* The normalised form of a domain an admin typed; -1 with *err_r set. */
static int
admin_domain(const char *domain, char **dom_r, char **err_r)
{
	const char	*why;
	char		 shown[DIR_SHOW];

	if (domain_normalize(domain, dom_r, &why) < 0) {
		dir_seterr(err_r, "invalid domain \"%s\": %s", dir_show(shown, domain), why);
		return -1;
	}
	return 0;
}

enum dir_wresult
dir_domain_add(struct directory *d, const char *domain, char **err_r)
{
	char		*dom;
	bool		 hosted;
	enum dir_wresult r;

	if (admin_domain(domain, &dom, err_r) < 0)
		return DIR_W_INVALID;
	if ((r = wbegin(d, err_r)) != DIR_W_OK)
		goto out;
	if ((r = whosted(d, dom, &hosted, err_r)) == DIR_W_OK && hosted) {
		dir_seterr(err_r, "domain %s already exists", dom);
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
	const char	*params[1];
	char		*dom, *suffix = NULL, *err = NULL;
	struct lkey	 k = { NULL, NULL };
	struct pick	 p = { 0 };
	struct refs	 refs = { 0, 0 };
	enum dir_wresult r;

	if (admin_domain(domain, &dom, err_r) < 0)
		return DIR_W_INVALID;
	k.q = dom;
	if ((r = wbegin(d, err_r)) != DIR_W_OK)
		goto out;
	if ((r = wget(d, DIR_S_DOMAIN_GET, &k, &p, err_r)) == DIR_W_OK && !p.found) {
		dir_seterr(err_r, "no domain %s", dom);
		r = DIR_W_NOTFOUND;
	}
	/* Refuse rather than cascade: deleting mailboxes by accident is worse than a second command. */
	if (r == DIR_W_OK) {
		suffix = xasprintf("@%s", dom);
		params[0] = suffix;
		if (d->be->exec(d, DIR_S_DOMAIN_REFS, params, 1, refs_row, &refs, &err) != DIR_X_OK) {
			dir_seterr(err_r, "%s", err);
			free(err);
			r = DIR_W_FAIL;
		} else if (refs.users > 0 || refs.fwds > 0) {
			dir_seterr(err_r, "domain %s still has %ld user(s) and %ld forwarding(s);"
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
		dir_seterr(err_r, "invalid address \"%s\": %s", dir_show(shown, email),
		    email[0] == '\0' ? "empty" : why);
		return DIR_W_INVALID;
	}
	*stored_r = addr_lookup_key(norm, d->case_sensitive);
	free(norm);
	if (*stored_r == NULL) {
		dir_seterr(err_r, "invalid address \"%s\"", dir_show(shown, email));
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
		dir_seterr(err_r, "address \"%s\": local part cannot name a Maildir directory",
		    dir_show(shown, email));
		r = DIR_W_INVALID;
		goto out;
	}
	if (hash == NULL || hash[0] == '\0') {
		dir_seterr(err_r, "empty password hash");
		r = DIR_W_INVALID;
		goto out;
	}
	if (lkey_make(d, stored, false, &k) < 0) {
		dir_seterr(err_r, "invalid address \"%s\"", dir_show(shown, email));
		r = DIR_W_INVALID;
		goto out;
	}
	if ((r = hash_fits(d, hash, err_r)) != DIR_W_OK)
		goto out;
	if ((r = wbegin(d, err_r)) != DIR_W_OK)
		goto out;
	if ((r = whosted(d, dom, &hosted, err_r)) == DIR_W_OK && !hosted) {
		dir_seterr(err_r, "domain %s is not hosted (letterbox domain add %s)", dom, dom);
		r = DIR_W_INVALID;
	}
	if (r == DIR_W_OK && (r = wget(d, DIR_S_USER_GET, &k, &p, err_r)) == DIR_W_OK && p.found) {
		dir_seterr(err_r, "user %s already exists", dir_show(shown, p.col0));
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
		dir_seterr(err_r, "invalid %s \"%s\"", catch_all ? "address or @domain" : "address",
		    dir_show(shown, key));
		return DIR_W_INVALID;
	}
	if ((r = wbegin(d, err_r)) != DIR_W_OK)
		goto out;
	if ((r = wget(d, get, &k, &p, err_r)) == DIR_W_OK && !p.found) {
		dir_seterr(err_r, "no %s %s", what, dir_show(shown, k.exact != NULL ? k.exact : k.q));
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
		dir_seterr(err_r, "invalid address \"%s\"", email);
		return DIR_W_INVALID;
	}
	return wupdate(d, DIR_S_USER_GET, DIR_S_USER_DEL, "user", email, false, NULL, err_r);
}

enum dir_result
dir_set_password(struct directory *d, const char *login, const char *hash, char **err_r)
{
	if (d == NULL) {
		dir_seterr(err_r, "no directory");
		return DIR_TEMPFAIL;
	}
	if (login[0] == '@' || hash == NULL || hash[0] == '\0') {
		dir_seterr(err_r, "invalid address or empty hash");
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
		dir_seterr(err_r, "no directory");
		return DIR_W_FAIL;
	}
	if (email[0] == '@' || hash == NULL || hash[0] == '\0') {
		dir_seterr(err_r, "invalid address or empty hash");
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
			dir_seterr(err_r, "invalid destination \"%s\": %s", dir_show(shown, item),
			    item[0] == '@' ? "want an address (\"@domain\" only for a catch-all source)" : why);
			free(item);
			buf_clear(&out);
			return NULL;
		}
		free(item);
		if ((n++ > 0 && buf_addc(&out, ',') < 0) || buf_adds(&out, norm) < 0) {
			free(norm);
			dir_seterr(err_r, "destination list longer than %d bytes", DIR_DEST_MAX);
			buf_clear(&out);
			return NULL;
		}
		free(norm);
	}
	if (n == 0) {
		dir_seterr(err_r, "empty destination (want ADDRESS[,ADDRESS...])");
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
			dir_seterr(err_r, "invalid catch-all \"%s\": %s", dir_show(shown, source), why);
			return DIR_W_INVALID;
		}
		dom = stored;
		k.q = xasprintf("@%s", stored);
	} else {
		if ((r = admin_addr(d, source, &stored, &dom, err_r)) != DIR_W_OK)
			return r;
		if (lkey_make(d, stored, false, &k) < 0) {
			dir_seterr(err_r, "invalid address \"%s\"", dir_show(shown, source));
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
		dir_seterr(err_r, "domain %s is not hosted (letterbox domain add %s)", dom, dom);
		r = DIR_W_INVALID;
	}
	/* An existing source is an error, not an append: `forward del` first, then add the full list. */
	if (r == DIR_W_OK &&
	    (r = wget(d, DIR_S_FORWARD_GET, &k, &p, err_r)) == DIR_W_OK && p.found) {
		dir_seterr(err_r, "forwarding for %s already exists (-> %s); forward del it first",
		    dir_show(shown, p.col0), p.col1 != NULL ? p.col1 : "");
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

	if (admin_domain(domain, &dom, err_r) < 0)
		return DIR_W_INVALID;
	k.q = dom;
	if (dir_transport_normalize(transport, &t, &why) < 0) {
		dir_seterr(err_r, "invalid transport \"%s\": %s", dir_show(shown, transport), why);
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
	char		*dom;
	struct lkey	 k = { NULL, NULL };
	struct pick	 p = { 0 };
	enum dir_wresult r;

	if (admin_domain(domain, &dom, err_r) < 0)
		return DIR_W_INVALID;
	k.q = dom;
	if ((r = wbegin(d, err_r)) != DIR_W_OK)
		goto out;
	if ((r = wget(d, DIR_S_TRANSPORT_GET, &k, &p, err_r)) == DIR_W_OK && !p.found) {
		dir_seterr(err_r, "no transport for %s", dom);
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
		dir_seterr(err_r, "invalid domain \"%s\": %s", dir_show(shown, domain), why);
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
