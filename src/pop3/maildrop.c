/*
 * The maildrop of a POP3 session: after a successful login a worker finds
 * the Maildir (dir_mailbox), locks it for this session (flock on
 * MAILDIR/letterbox-pop3.lock: one POP3 session per mailbox at a time,
 * across processes too, RFC 2449 [IN-USE]) and takes a snapshot of INBOX
 * through the store.  Mail delivered later is not in the snapshot and so
 * cannot be deleted by it.  At QUIT (UPDATE state, RFC 1939 §6) a worker
 * expunges the messages marked deleted, by UID.
 *
 * The job is shared by the worker (its own fields only) and the loop; a
 * session that goes away is detached by the session core (struct
 * session_job) and the completion then releases what the job holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "directory/directory.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/xmalloc.h"
#include "net/server.h"
#include "net/session.h"
#include "pop3/session.h"
#include "store/store.h"

#define LOCK_NAME	"letterbox-pop3.lock"
#define UIDL_MAX	200

enum job_kind { JOB_OPEN, JOB_UPDATE };
enum job_result { JOB_OK, JOB_INUSE, JOB_TEMPFAIL, JOB_NOMAILBOX };

struct pop3_job {
	struct session_job	 sj;		/* loop thread only */
	struct server		*srv;
	enum job_kind		 kind;
	/* in */
	char			*login;
	char			*base;		/* virtual_mailbox_base */
	char			 sid[SID_LEN + 1];
	uint32_t		*uids;		/* UPDATE: to delete */
	size_t			 nuids;
	/* in (UPDATE) / out (OPEN) */
	struct store_mailbox	*mb;
	int			 lock_fd;
	/* out */
	enum job_result		 result;
	struct pop3_msg		*msgs;
	size_t			 nmsgs;
	int			 err;
};

/*
 * RFC 1939 §7: a unique-id is 1-70 characters in 0x21..0x7E.  The base
 * name of a Maildir file is what Courier sends (so clients moving from
 * Courier keep their state); a byte outside that range, which no sane
 * Maildir name holds, is written as %XX (and so is '%').
 */
static char *
make_uidl(const char *name, size_t len)
{
	return store_name_uidl(name, len, '%', NULL, UIDL_MAX);
}

static void
free_msgs(struct pop3_msg **msgs, size_t n)
{
	size_t i;

	if (*msgs == NULL)
		return;
	for (i = 0; i < n; i++)
		free((*msgs)[i].uidl);
	xfree(msgs);
}

static void
release(struct store_mailbox **mb, int *lock_fd)
{
	store_close(mb);
	if (*lock_fd >= 0) {
		close(*lock_fd);	/* drops the flock */
		*lock_fd = -1;
	}
}

static void
open_work(void *arg)
{
	struct pop3_job		*j = arg;
	struct directory	*d;
	struct store_pop3_uidls	*courier;
	char			*rel = NULL, root[4096];
	size_t			 i, n;
	int			 r;

	j->result = JOB_TEMPFAIL;
	if ((d = dir_thread()) == NULL)
		return;
	switch (dir_mailbox(d, j->login, &rel)) {
	case DIR_TEMPFAIL:
		return;
	case DIR_NOTFOUND:
		j->result = JOB_NOMAILBOX;
		return;
	case DIR_FOUND:
		break;
	}
	n = strlen(rel);
	while (n > 0 && rel[n - 1] == '/')
		n--;
	r = snprintf(root, sizeof(root), "%s/%.*s", j->base, (int)n, rel);
	free(rel);
	if (r < 0 || (size_t)r >= sizeof(root)) {
		j->err = ENAMETOOLONG;
		return;
	}
	/* A user who never got mail has no Maildir yet: an empty one is right. */
	if ((j->mb = store_open(root, "INBOX",
	    STORE_O_CREATE | STORE_O_KEEP_NEW | STORE_O_NO_RECENT)) == NULL) {
		j->err = errno;
		return;
	}
	r = snprintf(root + strlen(root), sizeof(root) - strlen(root), "/%s", LOCK_NAME);
	if (r < 0 || (j->lock_fd = open(root, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		j->err = errno;
		return;
	}
	if (flock(j->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		j->err = errno;
		if (errno == EWOULDBLOCK)
			j->result = JOB_INUSE;
		return;
	}
	if (store_sync(j->mb, NULL, NULL) < 0) {
		j->err = errno;
		return;
	}
	/* STAT and LIST tell every size: learn those the index lacks at once. */
	(void)store_fill_sizes(j->mb);
	j->nmsgs = store_count(j->mb);
	j->msgs = xcalloc(j->nmsgs + 1, sizeof(*j->msgs));
	/* Messages Courier's POP3 knew keep the UIDLs it gave them. */
	root[strlen(root) - strlen(LOCK_NAME) - 1] = '\0';
	courier = store_pop3_uidls_load(root);
	for (i = 0; i < j->nmsgs; i++) {
		struct store_msg	 m;
		const char		*cu;

		(void)store_msg_get(j->mb, i, &m);	/* i < store_count() */
		(void)store_msg_size(j->mb, i, &m);	/* when the fill missed it */
		cu = store_pop3_uidl(courier, m.name, m.base_len);
		j->msgs[i].uid = m.uid;
		j->msgs[i].size = m.vsize;
		j->msgs[i].uidl = cu != NULL ? xstrdup(cu) : make_uidl(m.name, m.base_len);
	}
	store_pop3_uidls_free(&courier);
	j->result = JOB_OK;
}

static void
job_free(struct pop3_job *j)
{
	release(&j->mb, &j->lock_fd);
	free_msgs(&j->msgs, j->nmsgs);
	free(j->login);
	free(j->base);
	free(j->uids);
	free(j);
}

/* The session of a finished job, or NULL when it went away meanwhile. */
static struct pop3_session *
job_session(struct pop3_job *j)
{
	struct session *ss = session_job_end(&j->sj);

	return ss != NULL ? ss->ctx : NULL;
}

static void
open_done(void *arg)
{
	struct pop3_job		*j = arg;
	struct pop3_session	*s = job_session(j);
	char			 tls[96];

	if (s == NULL || session_closing(s->ss)) {
		job_free(j);
		return;
	}
	switch (j->result) {
	case JOB_OK:
		s->mb = j->mb;
		s->lock_fd = j->lock_fd;
		s->msgs = j->msgs;
		s->nmsgs = j->nmsgs;
		j->mb = NULL;
		j->lock_fd = -1;
		j->msgs = NULL;
		pop3_set_state(s, POP3_S_TRANS);
		pop3_logged_in(s);
		pop3_tls_short(s, tls, sizeof(tls));
		log_info("pop3d sid=%s: login user=%s method=%s tls=%s msgs=%zu", s->sid, s->login,
		    s->login_step.method, tls, s->nmsgs);
		pop3_reply(s, "+OK Logged in.");
		break;
	case JOB_INUSE:
		log_info("pop3d sid=%s: login user=%s refused: mailbox in use", s->sid, s->login);
		pop3_reply(s, "-ERR [IN-USE] Mailbox is locked by another POP3 session.");
		xfree(&s->login);
		break;
	case JOB_NOMAILBOX:
		log_warnx("pop3d sid=%s: user=%s has no mailbox", s->sid, s->login);
		pop3_reply(s, "-ERR [SYS/PERM] No mailbox for this user.");
		xfree(&s->login);
		break;
	case JOB_TEMPFAIL:
		if (j->err != 0)
			log_warnx("pop3d sid=%s: user=%s: cannot open the mailbox: %s", s->sid,
			    s->login, strerror(j->err));
		else
			log_warnx("pop3d sid=%s: user=%s: directory unavailable", s->sid, s->login);
		pop3_reply(s, "-ERR [SYS/TEMP] Mailbox unavailable, try again later.");
		xfree(&s->login);
		break;
	}
	job_free(j);
	pop3_resume(s);
}

static struct pop3_job *
job_new(struct pop3_session *s, enum job_kind kind)
{
	struct pop3_job *j = xcalloc(1, sizeof(*j));

	j->srv = s->srv;
	j->kind = kind;
	j->lock_fd = -1;
	memcpy(j->sid, s->sid, sizeof(j->sid));
	return j;
}

void
pop3_maildrop_open(struct pop3_session *s)
{
	struct pop3_job *j = job_new(s, JOB_OPEN);

	j->login = xstrdup(s->login);
	j->base = xstrdup(conf_str(conf_current(), CK_VIRTUAL_MAILBOX_BASE));
	session_wait(s->ss);
	session_job_submit(s->ss, &j->sj, open_work, open_done, j);
}

static void
update_work(void *arg)
{
	struct pop3_job *j = arg;

	j->result = JOB_OK;
	if (store_expunge(j->mb, j->uids, j->nuids) < 0) {
		j->err = errno;
		j->result = JOB_TEMPFAIL;
	}
	/* Unlock only once the files are gone, so the next session sees the result. */
	release(&j->mb, &j->lock_fd);
}

static void
update_done(void *arg)
{
	struct pop3_job		*j = arg;
	struct pop3_session	*s = job_session(j);

	if (j->result != JOB_OK)
		log_warnx("pop3d sid=%s: deleting %zu messages failed: %s", j->sid, j->nuids,
		    strerror(j->err));
	if (s != NULL) {
		s->ndele = (unsigned)j->nuids;
		pop3_log_logout(s, j->result == JOB_OK ? NULL : "delete-failed");
		/* RFC 1939 §6: the reply reports UPDATE's result; the lock is already released. */
		if (j->result == JOB_OK)
			pop3_reply(s, "+OK Logging out, %zu messages deleted.", j->nuids);
		else
			pop3_reply(s, "-ERR [SYS/TEMP] Some deleted messages were not removed.");
		pop3_close(s);
	} else
		log_info("pop3d sid=%s: dele=%zu applied after disconnect", j->sid, j->nuids);
	server_idle(j->srv);
	job_free(j);
}

void
pop3_maildrop_update(struct pop3_session *s)
{
	struct pop3_job	*j = job_new(s, JOB_UPDATE);
	size_t		 i;

	j->uids = xcalloc(s->nmsgs + 1, sizeof(*j->uids));
	for (i = 0; i < s->nmsgs; i++)
		if (s->msgs[i].deleted)
			j->uids[j->nuids++] = s->msgs[i].uid;
	/* The job owns the mailbox and its lock from here on. */
	j->mb = s->mb;
	j->lock_fd = s->lock_fd;
	s->mb = NULL;
	s->lock_fd = -1;
	server_busy(s->srv);
	session_job_submit(s->ss, &j->sj, update_work, update_done, j);
}

void
pop3_maildrop_release(struct pop3_session *s)
{
	release(&s->mb, &s->lock_fd);
}
