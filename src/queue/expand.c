/* Recipient resolution: forwardings, catch-alls, aliases; see expand.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/aliases.h"
#include "directory/directory.h"
#include "lib/addr.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "queue/expand.h"

struct expand {
	struct directory	*d;
	const struct conf	*c;
	struct dest_list	*out;
	char			**seen;		/* lookup keys already expanded */
	size_t			 nseen;
	size_t			 produced;
	int			 maxdepth;
	size_t			 maxresults;
	bool			 tempfail;
	char			*tempreason;
	bool			 looped;
};

void
dest_clear(struct dest *d)
{
	xfree(&d->addr);
	xfree(&d->maildir);
	xfree(&d->reason);
}

void
dest_list_clear(struct dest_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		dest_clear(&l->v[i]);
	xfree(&l->v);
	l->n = 0;
}

struct mydest_ctx {
	const char	*domain;
	int		 found;
};

static int
mydest_item(const char *item, size_t len, void *arg)
{
	struct mydest_ctx *m = arg;

	if (str_ieq(item, len, m->domain)) {
		m->found = 1;
		return 1;
	}
	return 0;
}

int
expand_is_mydestination(const struct conf *c, const char *domain)
{
	struct mydest_ctx m = { domain, 0 };

	str_each_item(conf_str(c, CK_MYDESTINATION), mydest_item, &m);
	return m.found;
}

static void
push(struct expand *e, enum dest_kind kind, const char *addr, const char *maildir, const char *reason)
{
	size_t		 i;
	struct dest	*d;

	/* Deduplicate: one copy per mailbox, one per remote address. */
	for (i = 0; i < e->out->n; i++) {
		d = &e->out->v[i];
		if (d->kind != kind)
			continue;
		if (kind == DEST_MAILBOX && strcmp(d->maildir, maildir) == 0)
			return;
		if (kind != DEST_MAILBOX && strcmp(d->addr, addr) == 0)
			return;
	}
	e->out->v = xreallocarray(e->out->v, e->out->n + 1, sizeof(struct dest));
	d = &e->out->v[e->out->n++];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->addr = xstrdup(addr);
	d->maildir = maildir ? xstrdup(maildir) : NULL;
	d->reason = reason ? xstrdup(reason) : NULL;
	e->produced++;
}

static void
set_tempfail(struct expand *e, const char *why)
{
	if (!e->tempfail) {
		e->tempfail = true;
		e->tempreason = xstrdup(why);
	}
}

static bool
seen_add(struct expand *e, const char *key)
{
	size_t i;

	for (i = 0; i < e->nseen; i++)
		if (strcmp(e->seen[i], key) == 0)
			return false;
	e->seen = xreallocarray(e->seen, e->nseen + 1, sizeof(char *));
	e->seen[e->nseen++] = xstrdup(key);
	return true;
}

static void expand_addr(struct expand *e, const char *addr, int depth);

/* Expand a comma-separated target list found for addr (self = addr keeps a copy). */
static void
expand_targets(struct expand *e, const char *addr, const char *targets, const char *domain,
    const char *local, int depth, bool aliases)
{
	char *copy = xstrdup(targets), *p = copy, *t;

	while ((t = strsep(&p, ",")) != NULL) {
		char *target = str_trim(t), *full = NULL;

		if (*target == '\0')
			continue;
		if (target[0] == '|' || target[0] == '/' || strncmp(target, ":include:", 9) == 0) {
			char esc[128];
			log_warnx("expand: alias target \"%s\" for <%s> not supported (no programs, files or includes)",
			    log_escape(esc, sizeof(esc), target, strlen(target)), addr);
			continue;
		}
		if (target[0] == '"' && target[strlen(target) - 1] == '"' && strchr(target, '@') == NULL)
			continue;
		if (target[0] == '@')		/* catch-all "@other.domain": keep the local part */
			full = xasprintf("%s%s", local, target);
		else if (strchr(target, '@') == NULL)
			full = xasprintf("%s@%s", target, aliases ? domain : conf_str(e->c, CK_MYORIGIN));
		else
			full = xstrdup(target);
		expand_addr(e, full, depth + 1);
		free(full);
		if (e->tempfail || e->produced >= e->maxresults)
			break;
	}
	free(copy);
}

static void
expand_mailbox(struct expand *e, const char *addr, bool *found_r)
{
	char			*maildir = NULL;
	enum dir_result		 r = dir_mailbox(e->d, addr, &maildir);

	*found_r = false;
	if (r == DIR_TEMPFAIL) {
		set_tempfail(e, "4.3.0 directory unavailable");
		return;
	}
	if (r == DIR_FOUND) {
		push(e, DEST_MAILBOX, addr, maildir, NULL);
		*found_r = true;
	}
	free(maildir);
}

static void
expand_addr(struct expand *e, const char *addr, int depth)
{
	const char	*at = addr_at(addr);
	char		*key, *domain = NULL, *local, *targets = NULL;
	const char	*err;
	enum dir_result	 r;
	bool		 found;

	if (e->tempfail || e->produced >= e->maxresults)
		return;
	if (depth > e->maxdepth) {
		push(e, DEST_BOUNCE, addr, NULL, "5.4.6 forwarding nested too deeply (virtual_alias_recursion_limit)");
		return;
	}
	if (at == NULL || (key = addr_lookup_key(addr, conf_bool(e->c, CK_LOCALPART_CASE_SENSITIVE))) == NULL) {
		push(e, DEST_BOUNCE, addr, NULL, "5.1.3 bad address syntax");
		return;
	}
	if (!seen_add(e, key)) {
		e->looped = true;	/* already expanded on this path or a sibling: skip */
		free(key);
		return;
	}
	local = xstrndup(addr, (size_t)(at - addr));
	if (domain_normalize(at + 1, &domain, &err) < 0) {
		push(e, DEST_BOUNCE, addr, NULL, "5.1.2 bad destination domain");
		goto out;
	}
	if (expand_is_mydestination(e->c, domain)) {
		enum aliases_result ar = aliases_lookup(conf_str(e->c, CK_ALIAS_MAPS), local, &targets);

		if (ar == ALIAS_TEMPFAIL)
			set_tempfail(e, "4.3.0 aliases file unreadable");
		else if (ar == ALIAS_FOUND)
			expand_targets(e, addr, targets, domain, local, depth, true);
		else
			push(e, DEST_BOUNCE, addr, NULL, "5.1.1 user unknown (no such alias)");
		goto out;
	}
	r = dir_domain_hosted(e->d, domain);
	if (r == DIR_TEMPFAIL) {
		set_tempfail(e, "4.3.0 directory unavailable");
		goto out;
	}
	if (r == DIR_NOTFOUND) {
		push(e, DEST_REMOTE, addr, NULL, NULL);
		goto out;
	}
	/* 1. exact forwarding */
	r = dir_forward(e->d, addr, &targets);
	if (r == DIR_TEMPFAIL) {
		set_tempfail(e, "4.3.0 directory unavailable");
		goto out;
	}
	if (r == DIR_FOUND) {
		/* A destination equal to the source keeps a copy in its own mailbox. */
		char *copy = xstrdup(targets), *p = copy, *t;
		bool self = false;

		while ((t = strsep(&p, ",")) != NULL) {
			char *k = addr_lookup_key(str_trim(t), conf_bool(e->c, CK_LOCALPART_CASE_SENSITIVE));
			if (k != NULL && strcmp(k, key) == 0)
				self = true;
			free(k);
		}
		free(copy);
		if (self) {
			expand_mailbox(e, addr, &found);
			if (!found && !e->tempfail)
				push(e, DEST_BOUNCE, addr, NULL, "5.1.1 user unknown in virtual mailbox table");
		}
		expand_targets(e, addr, targets, domain, local, depth, false);
		goto out;
	}
	/* 2. mailbox */
	expand_mailbox(e, addr, &found);
	if (found || e->tempfail)
		goto out;
	/* 3. postmaster of a hosted domain: the aliases' postmaster */
	if (strcasecmp(local, "postmaster") == 0) {
		char *pm = xasprintf("postmaster@%s", conf_str(e->c, CK_MYHOSTNAME));
		expand_addr(e, pm, depth + 1);
		free(pm);
		goto out;
	}
	/* 4. catch-all */
	{
		char *src = xasprintf("@%s", domain);

		free(targets);
		targets = NULL;
		r = dir_forward(e->d, src, &targets);
		free(src);
	}
	if (r == DIR_TEMPFAIL)
		set_tempfail(e, "4.3.0 directory unavailable");
	else if (r == DIR_FOUND)
		expand_targets(e, addr, targets, domain, local, depth, false);
	else
		push(e, DEST_BOUNCE, addr, NULL, "5.1.1 user unknown in virtual mailbox table");
out:
	free(targets);
	free(domain);
	free(local);
	free(key);
}

void
expand_recipient(struct directory *d, const struct conf *c, const char *rcpt, struct dest_list *out)
{
	struct expand	 e;
	size_t		 i, before = out->n;

	memset(&e, 0, sizeof(e));
	e.d = d;
	e.c = c;
	e.out = out;
	e.maxdepth = (int)conf_int(c, CK_VIRTUAL_ALIAS_RECURSION_LIMIT);
	e.maxresults = (size_t)conf_int(c, CK_VIRTUAL_ALIAS_EXPANSION_LIMIT);
	if (d == NULL)
		set_tempfail(&e, "4.3.0 directory unavailable");
	else if (strchr(rcpt, '@') == NULL) {
		/* <postmaster> and other bare names: the host's own domain. */
		char *full = xasprintf("%s@%s", rcpt, conf_str(c, CK_MYHOSTNAME));
		expand_addr(&e, full, 0);
		free(full);
	} else
		expand_addr(&e, rcpt, 0);
	if (e.tempfail) {
		for (i = before; i < out->n; i++)
			dest_clear(&out->v[i]);
		out->n = before;
		push(&e, DEST_TEMPFAIL, rcpt, NULL, e.tempreason);
	} else if (out->n == before) {
		push(&e, e.looped ? DEST_BOUNCE : DEST_DISCARD, rcpt, NULL,
		    e.looped ? "5.4.6 mail forwarding loop" : "2.0.0 alias expands to nothing deliverable");
	}
	for (i = 0; i < e.nseen; i++)
		free(e.seen[i]);
	free(e.seen);
	free(e.tempreason);
}

void
expand_resolve_final(struct directory *d, const struct conf *c, const char *addr, struct dest *out)
{
	const char	*at = addr_at(addr);
	char		*domain = NULL, *maildir = NULL;
	const char	*err;
	enum dir_result	 r;

	memset(out, 0, sizeof(*out));
	out->addr = xstrdup(addr);
	if (d == NULL) {
		out->kind = DEST_TEMPFAIL;
		out->reason = xstrdup("4.3.0 directory unavailable");
		return;
	}
	if (at == NULL || domain_normalize(at + 1, &domain, &err) < 0) {
		out->kind = DEST_BOUNCE;
		out->reason = xstrdup("5.1.3 bad address syntax");
		return;
	}
	r = dir_domain_hosted(d, domain);
	if (r == DIR_FOUND)
		r = dir_mailbox(d, addr, &maildir);
	else if (r == DIR_NOTFOUND) {
		out->kind = DEST_REMOTE;
		free(domain);
		return;
	}
	free(domain);
	if (r == DIR_TEMPFAIL) {
		out->kind = DEST_TEMPFAIL;
		out->reason = xstrdup("4.3.0 directory unavailable");
	} else if (r == DIR_NOTFOUND) {
		out->kind = DEST_BOUNCE;
		out->reason = xstrdup("5.1.1 user unknown in virtual mailbox table");
	} else {
		out->kind = DEST_MAILBOX;
		out->maildir = maildir;
	}
}

static bool
seen_has(const struct dest_seen *ds, const char *k)
{
	size_t i;

	for (i = 0; i < ds->n; i++)
		if (strcmp(ds->keys[i], k) == 0)
			return true;
	return false;
}

/* "a:" + the address's lookup key; NULL when it does not parse. */
static char *
addr_key(const struct conf *c, const char *addr)
{
	char *k = addr_lookup_key(addr, conf_bool(c, CK_LOCALPART_CASE_SENSITIVE)), *r;

	if (k == NULL)
		return NULL;
	r = xasprintf("a:%s", k);
	free(k);
	return r;
}

static void
seen_put(struct dest_seen *ds, char *k)
{
	ds->keys = xreallocarray(ds->keys, ds->n + 1, sizeof(char *));
	ds->keys[ds->n++] = k;
}

void
dest_seen_addr(struct dest_seen *ds, const struct conf *c, const char *addr)
{
	char *k = addr_key(c, addr);

	if (k != NULL)
		seen_put(ds, k);
}

bool
dest_seen_add(struct dest_seen *ds, const struct conf *c, const struct dest *d)
{
	char	*ka, *km = NULL;
	bool	 dup;

	if (d->kind != DEST_MAILBOX && d->kind != DEST_REMOTE)
		return true;
	ka = addr_key(c, d->addr);
	if (d->kind == DEST_MAILBOX)
		km = xasprintf("m:%s", d->maildir);
	dup = (ka != NULL && seen_has(ds, ka)) || (km != NULL && seen_has(ds, km));
	if (dup) {
		free(ka);
		free(km);
		return false;
	}
	if (ka != NULL)
		seen_put(ds, ka);
	if (km != NULL)
		seen_put(ds, km);
	return true;
}

void
dest_seen_clear(struct dest_seen *ds)
{
	size_t i;

	for (i = 0; i < ds->n; i++)
		free(ds->keys[i]);
	xfree(&ds->keys);
	ds->n = 0;
}
