/*
 * Checks that need the directory, run on the worker pool (STYLE.md §6):
 * RCPT TO (is the address ours and does it exist? may this client relay?)
 * with the semantics of Postfix's smtpd_recipient_restrictions, and the
 * submission sender check (smtpd_sender_login_maps style: the envelope
 * sender is the login itself or a forwarding whose destinations include it).
 * A directory failure is 4xx, never 5xx.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/aliases.h"
#include "directory/directory.h"
#include "lib/addr.h"
#include "lib/cidr.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/server.h"
#include "queue/expand.h"
#include "smtp/session.h"

enum rcpt_class {
	RC_LOCAL_OK,		/* hosted (or our own name) and the address exists */
	RC_LOCAL_UNKNOWN,	/* hosted, no such address */
	RC_LOCAL_UNDELIVERABLE,	/* hosted, but it expands to nothing deliverable */
	RC_REMOTE,		/* not ours: relaying */
	RC_TEMPFAIL,		/* directory or aliases file unavailable */
	RC_BAD_DOMAIN,		/* syntactically hopeless domain */
};

void
smtpd_job_submit(struct smtpd_session *s, struct smtpd_job *j, void (*work)(void *),
    void (*done)(void *))
{
	memcpy(j->sid, s->sid, sizeof(j->sid));
	/* Pipelined commands wait in the input until the completion resumes. */
	session_wait(s->ss);
	session_job_submit(s->ss, &j->sj, work, done, j);
}

struct smtpd_session *
smtpd_job_end(struct smtpd_job *j)
{
	struct session *ss = session_job_end(&j->sj);

	return ss != NULL ? ss->ctx : NULL;
}

/*
 * A hosted or own-name address: run the real expansion (the one the queue
 * will run) and accept only when something can be delivered, so an alias
 * to nothing, a forwarding loop or a postmaster with no admin address is
 * refused here instead of bounced later to a forgeable sender (backscatter).
 */
static enum rcpt_class
resolve_local(const struct conf *c, struct directory *d, const char *addr, char *why, size_t whylen)
{
	struct dest_list	 dl = { NULL, 0 };
	enum rcpt_class		 rc = RC_LOCAL_UNDELIVERABLE;
	size_t			 i;

	expand_recipient(d, c, addr, &dl);
	for (i = 0; i < dl.n && rc != RC_LOCAL_OK; i++) {
		if (dl.v[i].kind == DEST_MAILBOX || dl.v[i].kind == DEST_REMOTE)
			rc = RC_LOCAL_OK;
		else if (dl.v[i].kind == DEST_TEMPFAIL)
			rc = RC_TEMPFAIL;
	}
	if (rc == RC_LOCAL_UNDELIVERABLE && dl.n == 1 && dl.v[0].kind == DEST_BOUNCE &&
	    strncmp(dl.v[0].reason, "5.1.1 user unknown in virtual", 29) == 0 &&
	    strcmp(dl.v[0].addr, addr) == 0)
		rc = RC_LOCAL_UNKNOWN;		/* the plain "no such user" */
	else if (rc == RC_LOCAL_UNDELIVERABLE)
		snprintf(why, whylen, "%s", dl.n > 0 && dl.v[0].reason ? dl.v[0].reason :
		    "5.1.1 no deliverable destination");
	dest_list_clear(&dl);
	return rc;
}

static enum rcpt_class
classify(const struct conf *c, struct directory *d, const char *addr, char *why, size_t whylen)
{
	const char	*at = addr_at(addr), *err;
	char		*domain = NULL;
	enum dir_result	 r;

	if (d == NULL)
		return RC_TEMPFAIL;
	if (at != NULL) {	/* else <postmaster>: the host's own postmaster */
		if (domain_normalize(at + 1, &domain, &err) < 0)
			return RC_BAD_DOMAIN;
		r = expand_is_mydestination(c, domain) ? DIR_FOUND : dir_domain_hosted(d, domain);
		free(domain);
		if (r != DIR_FOUND)
			return r == DIR_TEMPFAIL ? RC_TEMPFAIL : RC_REMOTE;
	}
	return resolve_local(c, d, addr, why, whylen);
}

static void
rcpt_work(void *arg)
{
	struct smtpd_job *j = arg;

	j->result = classify(j->c, dir_thread(), j->addr, j->reply, sizeof(j->reply));
}

struct restr_ctx {
	struct smtpd_session	*s;
	enum rcpt_class		 rc;
	int			 verdict;	/* 0 undecided, 1 permit, -1 reject */
	const char		*reply;
};

static int
restriction(const char *item, size_t len, void *arg)
{
	struct restr_ctx	*x = arg;
	bool			 local = x->rc == RC_LOCAL_OK || x->rc == RC_LOCAL_UNKNOWN ||
	    x->rc == RC_LOCAL_UNDELIVERABLE;

	if (str_ieq(item, len, "permit_mynetworks")) {
		if (x->s->in_mynetworks)
			x->verdict = 1;
	} else if (str_ieq(item, len, "permit_sasl_authenticated")) {
		if (x->s->auth_user != NULL)
			x->verdict = 1;
	} else if (str_ieq(item, len, "reject_unauth_destination")) {
		if (!local && x->rc != RC_TEMPFAIL) {
			x->verdict = -1;
			x->reply = "554 5.7.1 <%s>: Relay access denied";
		}
	} else if (str_ieq(item, len, "permit_auth_destination")) {
		if (local)
			x->verdict = 1;
	} else if (str_ieq(item, len, "reject_unknown_recipient_domain")) {
		if (x->rc == RC_BAD_DOMAIN) {
			x->verdict = -1;
			x->reply = "450 4.1.2 <%s>: Recipient address rejected: Domain not found";
		}
	} else if (str_ieq(item, len, "permit")) {
		x->verdict = 1;
	} else if (str_ieq(item, len, "reject")) {
		x->verdict = -1;
		x->reply = "554 5.7.1 <%s>: Recipient address rejected: Access denied";
	}
	return x->verdict != 0;
}

/* "550 5.4.6 <a@b>: Recipient address rejected: undeliverable (mail forwarding loop)" */
static void
undeliverable_reply(struct smtpd_session *s, const char *addr, const char *reason)
{
	size_t		 n = strcspn(reason, " ");
	const char	*text = reason[n] == ' ' ? reason + n + 1 : "no deliverable destination";

	if (n < 5 || n > 9 || reason[0] != '5')
		n = 5, reason = "5.1.1";
	smtpd_reply(s, "550 %.*s <%s>: Recipient address rejected: undeliverable (%s)", (int)n, reason,
	    addr, text);
}

static void
rcpt_done(void *arg)
{
	struct smtpd_job	*j = arg;
	struct smtpd_session	*s = smtpd_job_end(j);
	struct restr_ctx	 x;

	if (s == NULL)
		goto out;
	memset(&x, 0, sizeof(x));
	x.s = s;
	x.rc = (enum rcpt_class)j->result;
	str_each_item(conf_str(conf_current(), CK_SMTPD_RECIPIENT_RESTRICTIONS), restriction, &x);
	if (x.verdict < 0) {
		s->txn.rcpt_rejected++;
		smtpd_reply(s, x.reply, j->addr);
	} else if (x.rc == RC_TEMPFAIL) {
		s->txn.rcpt_rejected++;
		smtpd_reply(s, "451 4.3.0 <%s>: Temporary lookup failure", j->addr);
	} else if (x.rc == RC_LOCAL_UNKNOWN || x.rc == RC_LOCAL_UNDELIVERABLE) {
		s->txn.rcpt_rejected++;
		if (x.rc == RC_LOCAL_UNKNOWN)
			smtpd_reply(s, "550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table",
			    j->addr);
		else
			undeliverable_reply(s, j->addr, j->reply);
		if (smtpd_unknown_rcpt(s))
			goto out;	/* over the per-client rate: the session is closing */
	} else if (x.rc == RC_BAD_DOMAIN) {
		s->txn.rcpt_rejected++;
		smtpd_reply(s, "501 5.1.2 <%s>: Bad recipient address syntax", j->addr);
	} else {
		s->txn.rcpts = xreallocarray(s->txn.rcpts, s->txn.nrcpt + 1, sizeof(*s->txn.rcpts));
		s->txn.rcpts[s->txn.nrcpt].addr = j->addr;
		s->txn.rcpts[s->txn.nrcpt].key = j->key;
		s->txn.rcpts[s->txn.nrcpt].notify = j->notify;
		s->txn.rcpts[s->txn.nrcpt].orcpt = j->orcpt;
		s->txn.nrcpt++;
		s->txn.rcpt_count++;
		j->addr = NULL;
		j->key = NULL;
		j->orcpt = NULL;
		smtpd_reply(s, "250 2.1.5 Ok");
	}
	session_resume(s->ss);
out:
	free(j->addr);
	free(j->key);
	free(j->orcpt);
	free(j);
}

void
smtpd_check_rcpt(struct smtpd_session *s, struct smtp_rcpt *r, char *key)
{
	struct smtpd_job *j = xcalloc(1, sizeof(*j));

	j->key = key;
	j->c = conf_current();
	j->addr = xstrdup(r->path);
	j->notify = r->notify;
	j->orcpt = r->orcpt[0] ? xstrdup(r->orcpt) : NULL;
	smtpd_job_submit(s, j, rcpt_work, rcpt_done);
}

/* ---- submission: sender must belong to the login ---- */

static void
sender_work(void *arg)
{
	struct smtpd_job	*j = arg;
	struct directory	*d = dir_thread();
	bool			 cs = conf_bool(j->c, CK_LOCALPART_CASE_SENSITIVE);
	char			*skey = addr_lookup_key(j->addr, cs), *lkey = addr_lookup_key(j->login, cs);
	char			*dest = NULL;

	j->result = 0;
	if (skey != NULL && lkey != NULL && strcmp(skey, lkey) == 0)
		j->result = 1;
	else if (skey != NULL && d == NULL)
		j->result = -1;
	else if (skey != NULL) {
		enum dir_result r = dir_forward(d, j->addr, &dest);

		if (r == DIR_TEMPFAIL)
			j->result = -1;
		else if (r == DIR_FOUND) {
			char *p = dest, *t;
			while ((t = strsep(&p, ",")) != NULL) {
				char *k = addr_lookup_key(str_trim(t), cs);
				if (k != NULL && lkey != NULL && strcmp(k, lkey) == 0)
					j->result = 1;
				free(k);
			}
		}
	}
	free(dest);
	free(skey);
	free(lkey);
}

static void
sender_done(void *arg)
{
	struct smtpd_job	*j = arg;
	struct smtpd_session	*s = smtpd_job_end(j);

	if (s != NULL) {
		if (j->result == 1) {
			s->txn.have_mail = true;
			smtpd_set_state(s, SMTPD_S_RCPT);
			smtpd_reply(s, "250 2.1.0 Ok");
		} else if (j->result < 0) {
			memset(&s->txn.mail, 0, sizeof(s->txn.mail));
			smtpd_reply(s, "451 4.3.0 <%s>: Temporary lookup failure", j->addr);
		} else {
			memset(&s->txn.mail, 0, sizeof(s->txn.mail));
			smtpd_reply(s, "553 5.7.1 <%s>: Sender address rejected: not owned by user %s",
			    j->addr, j->login);
		}
		session_resume(s->ss);
	}
	free(j->addr);
	free(j->login);
	free(j);
}

void
smtpd_check_sender(struct smtpd_session *s)
{
	struct smtpd_job *j = xcalloc(1, sizeof(*j));

	j->c = conf_current();
	j->addr = xstrdup(s->txn.mail.path);
	j->login = xstrdup(s->auth_user);
	smtpd_job_submit(s, j, sender_work, sender_done);
}
