/*
 * QUOTA (RFC 9208): GETQUOTAROOT and GETQUOTA report the one quota root
 * every mailbox of a user shares ("", the whole Maildir++ tree, as
 * maildirsize counts it) with the STORAGE resource in KiB; SETQUOTA is
 * refused (limits come from the directory or the config, an admin's
 * business).  imap_quota_limit() is the user's limit for APPEND and COPY
 * too, so what is reported is what is enforced.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "directory/directory.h"
#include "imap/arg.h"
#include "imap/client.h"
#include "imap/names.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "net/session.h"
#include "store/store.h"

struct quota_job {
	struct session_job	 sj;
	char			*login, *base, *root;
	char			*name;		/* GETQUOTAROOT's mailbox (store form), or NULL */
	bool			 exists;
	uint64_t		 limit, used, count;
	int			 err;		/* 0, errno, IMAP_EDIRTEMP or IMAP_ENOMAILBOX */
};

uint64_t
imap_quota_limit(const char *login)
{
	return dir_quota_limit(dir_thread(), login,
	    (uint64_t)conf_int(conf_current(), CK_VIRTUAL_MAILBOX_LIMIT));
}

static void
job_free(struct quota_job *j)
{
	free(j->login);
	free(j->base);
	free(j->root);
	free(j->name);
	free(j);
}

/* ---- on a worker ---- */

static void
quota_work(void *arg)
{
	struct quota_job *j = arg;

	if (j->root == NULL && (j->err = imap_find_root(j->login, j->base, &j->root)) != 0)
		return;
	if (j->name != NULL && !(j->exists = store_folder_exists(j->root, j->name)))
		return;
	if ((j->limit = imap_quota_limit(j->login)) == 0)
		return;
	if (store_quota_usage(j->root, j->limit, &j->used, &j->count) < 0)
		j->err = errno;
}

/* ---- on the loop ---- */

static void
quota_done(void *arg)
{
	struct quota_job	*j = arg;
	struct session		*ss = session_job_end(&j->sj);
	struct imap_client	*c;
	struct buf		 b;

	if (ss == NULL) {
		job_free(j);
		return;
	}
	c = ss->ctx;
	if (j->err == IMAP_EDIRTEMP)
		imap_tagged(c, "NO", "[UNAVAILABLE] Temporary failure, try again later.");
	else if (j->err != 0) {
		log_warnx("imapd sid=%s: quota: %s", c->sid,
		    j->err > 0 ? strerror(j->err) : "no mailbox");
		imap_tagged(c, "NO", "[SERVERBUG] Internal error.");
	} else if (j->name != NULL && !j->exists)
		imap_tagged(c, "NO", "[NONEXISTENT] Mailbox doesn't exist.");
	else if (j->name == NULL && j->limit == 0)
		imap_tagged(c, "NO", "[NONEXISTENT] No such quota root.");
	else {
		buf_init(&b, 64 * 1024);
		if (j->name != NULL) {
			/* §4.3.2: no limit, no root */
			(void)buf_addf(&b, "* QUOTAROOT ");
			(void)imap_write_mailbox_name(c, &b, j->name);
			(void)buf_addf(&b, "%s", j->limit > 0 ? " \"\"\r\n" : "\r\n");
		}
		/* §5.1: STORAGE counts units of 1024 octets. */
		if (j->limit > 0)
			(void)buf_addf(&b, "* QUOTA \"\" (STORAGE %llu %llu)\r\n",
			    (unsigned long long)((j->used + 1023) / 1024),
			    (unsigned long long)(j->limit / 1024));
		imap_write(c, b.data, b.len);
		buf_clear(&b);
		imap_tagged(c, "OK", "%s completed.", j->name != NULL ? "GETQUOTAROOT" : "GETQUOTA");
	}
	job_free(j);
	imap_resume(c);
}

static void
submit(struct imap_client *c, struct quota_job *j)
{
	j->login = xstrdup(c->user);
	j->base = xstrdup(conf_str(conf_current(), CK_VIRTUAL_MAILBOX_BASE));
	j->root = c->root != NULL ? xstrdup(c->root) : NULL;
	session_wait(c->ss);
	session_job_submit(c->ss, &j->sj, quota_work, quota_done, j);
}

void
cmd_getquotaroot(struct imap_client *c, const struct imap_cmd *cmd)
{
	struct quota_job	*j;
	char			*name;

	if (cmd->nargs != 1) {
		imap_tagged(c, "BAD", "Expected one mailbox name.");
		return;
	}
	if ((name = imap_mailbox_arg(c, &cmd->args[0])) == NULL)
		return;
	j = xcalloc(1, sizeof(*j));
	j->name = name;
	submit(c, j);
}

void
cmd_getquota(struct imap_client *c, const struct imap_cmd *cmd)
{
	const char	*root;
	size_t		 len;

	if (cmd->nargs != 1 || !imap_arg_astring(&cmd->args[0], &root, &len)) {
		imap_tagged(c, "BAD", "Expected one quota root.");
		return;
	}
	if (len != 0) {
		imap_tagged(c, "NO", "[NONEXISTENT] No such quota root.");
		return;
	}
	submit(c, xcalloc(1, sizeof(struct quota_job)));
}

void
cmd_setquota(struct imap_client *c, const struct imap_cmd *cmd)
{
	if (cmd->nargs != 2) {
		imap_tagged(c, "BAD", "Expected a quota root and a list of limits.");
		return;
	}
	imap_tagged(c, "NO", "[NOPERM] Quotas are set by the administrator.");
}
