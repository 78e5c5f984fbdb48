/*
 * Queue manager scheduling; see manager.h.  All state lives on the event
 * loop thread; deliver_begin()/deliver_end() run on the worker pool, the
 * remote phase (route lookup, SMTP client: src/mta/remote.h) on the loop.
 * A message ID is in at most one of: the run queue (ready), in flight (a
 * job), or the deferred list (waiting for its retry time).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/conf.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/xmalloc.h"
#include "mta/client.h"
#include "mta/remote.h"
#include "net/server.h"
#include "queue/deliver_msg.h"
#include "queue/manager.h"
#include "spool/spool.h"

#define QMGR_TICK_SECONDS	1

struct qentry {
	char		 qid[SPOOL_QID_SIZE];
	time_t		 due;		/* deferred: next retry */
	bool		 force;		/* retry deferred recipients now */
	bool		 recovered;	/* found at start: may be a redelivery */
	bool		 again;		/* submitted again while in flight */
	struct qentry	*next;
};

struct qmgr {
	struct server	*srv;
	char		*qdir;
	unsigned	 gen;		/* bumped when a reload moves qdir */
	struct spool_syncer *syncer;	/* group commit for qdir (atomic pointer) */
	struct spool_syncer *retired[8];	/* older ones: commits may still use them */
	unsigned	 nretired;
	struct qentry	*ready_head, *ready_tail;
	struct qentry	*inflight;	/* list */
	struct qentry	*deferred;	/* list */
	unsigned	 active, max_active;
	bool		 stopping;
	struct event	*tick;
	int		 ino_fd;
	struct event	*ino_ev;
};

struct qjob {
	struct qmgr		*q;
	struct qentry		*e;
	const struct conf	*c;
	struct deliver_pass	*p;		/* set when remote recipients wait */
	struct deliver_outcome	 out;
	unsigned		 gen;		/* q->gen when started */
};

static void qmgr_kick(struct qmgr *q);

static struct qentry *
list_take(struct qentry **list, const char *qid)
{
	struct qentry **pp;

	for (pp = list; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->qid, qid) == 0) {
			struct qentry *e = *pp;
			*pp = e->next;
			e->next = NULL;
			return e;
		}
	return NULL;
}

static struct qentry *
list_find(struct qentry *list, const char *qid)
{
	for (; list != NULL; list = list->next)
		if (strcmp(list->qid, qid) == 0)
			return list;
	return NULL;
}

static void
ready_push(struct qmgr *q, struct qentry *e)
{
	e->next = NULL;
	if (q->ready_tail)
		q->ready_tail->next = e;
	else
		q->ready_head = e;
	q->ready_tail = e;
}

static struct qentry *
ready_pop(struct qmgr *q)
{
	struct qentry *e = q->ready_head;

	if (e != NULL) {
		q->ready_head = e->next;
		if (q->ready_head == NULL)
			q->ready_tail = NULL;
		e->next = NULL;
	}
	return e;
}

static void start_remote(struct qjob *j);

static void
job_work(void *arg)
{
	struct qjob		*j = arg;
	const struct mta_rcpt	*r;

	j->p = deliver_begin(j->c, j->e->qid, j->e->force, j->e->recovered, &j->out);
	if (j->p != NULL && deliver_remote_list(j->p, &r) == 0)
		deliver_end(&j->p, &j->out);
}

static void
finish_work(void *arg)
{
	struct qjob *j = arg;

	deliver_end(&j->p, &j->out);
}

static void
job_done(void *arg)
{
	struct qjob	*j = arg;
	struct qmgr	*q = j->q;
	struct qentry	*e;

	if (j->p != NULL) {
		if (!q->stopping) {
			/* Remote deliveries wait on the network, not on a worker:
			 * free the slot for other messages meanwhile. */
			q->active--;
			start_remote(j);	/* finishes through finish_work */
			qmgr_kick(q);
			return;
		}
		/* stopping: record nothing more; the recipients stay as they were */
		deliver_end(&j->p, &j->out);
	}
	e = list_take(&q->inflight, j->e->qid);
	q->active--;
	server_idle(q->srv);
	if (e != NULL && j->gen != q->gen) {
		/* queue_directory moved meanwhile: the message stays in the old one. */
		free(e);
	} else if (e != NULL) {
		if (j->out.done && !e->again)
			free(e);
		else if (e->again) {
			e->again = false;
			ready_push(q, e);
		} else {
			e->due = j->out.next_retry;
			e->force = false;
			e->recovered = false;
			e->next = q->deferred;
			q->deferred = e;
		}
	}
	free(j);
	qmgr_kick(q);
}

/* ---- remote phase (event loop): src/mta/remote.c does the work ---- */

static void
remote_result(void *arg, size_t idx, enum spool_rcpt_state st, const char *reason,
    bool peer_dsn)
{
	struct qjob *j = arg;

	deliver_remote_result(j->p, idx, st, reason, peer_dsn);
}

static void
remote_done(void *arg)
{
	struct qjob *j = arg;

	j->q->active++;
	/* Phase two writes the states and DSNs: disk I/O, so on a worker. */
	pool_submit(j->q->srv->pool, finish_work, job_done, j);
}

static void
start_remote(struct qjob *j)
{
	const struct mta_rcpt	*r;
	size_t			 n = deliver_remote_list(j->p, &r);

	mta_remote_start(j->q->srv, deliver_msg(j->p), r, n, remote_result, remote_done, j);
}

static void
qmgr_kick(struct qmgr *q)
{
	struct qentry *e;

	while (!q->stopping && q->active < q->max_active && (e = ready_pop(q)) != NULL) {
		struct qjob *j = xcalloc(1, sizeof(*j));

		j->q = q;
		j->e = e;
		j->c = conf_current();
		j->gen = q->gen;
		e->next = q->inflight;
		q->inflight = e;
		q->active++;
		server_busy(q->srv);
		pool_submit(q->srv->pool, job_work, job_done, j);
	}
}

static void
enqueue(struct qmgr *q, const char *qid, bool force, bool recovered)
{
	struct qentry *e;

	if (!spool_qid_valid(qid, strlen(qid)))
		return;
	if ((e = list_find(q->inflight, qid)) != NULL) {
		e->again = true;
		e->force |= force;
		return;
	}
	for (e = q->ready_head; e != NULL; e = e->next)
		if (strcmp(e->qid, qid) == 0) {
			e->force |= force;
			return;
		}
	if ((e = list_take(&q->deferred, qid)) == NULL) {
		e = xcalloc(1, sizeof(*e));
		memcpy(e->qid, qid, SPOOL_QID_SIZE);
	}
	e->force |= force;
	e->recovered |= recovered;
	ready_push(q, e);
}

void
qmgr_submit(struct qmgr *q, const char *qid)
{
	if (q == NULL)
		return;
	enqueue(q, qid, false, false);
	qmgr_kick(q);
}

static int
recover_one(const char *qid, void *arg)
{
	enqueue(arg, qid, false, true);
	return 0;
}

void
qmgr_flush(struct qmgr *q)
{
	struct qentry *e;

	log_info("qmgr: flush: retrying every deferred message now");
	smtpc_flush_backoff(q->srv->smtpc);
	while ((e = q->deferred) != NULL) {
		q->deferred = e->next;
		e->force = true;
		ready_push(q, e);
	}
	/* Also pick up anything another process queued that we have not seen. */
	spool_list(q->qdir, recover_one, q);
	qmgr_kick(q);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr	*q = arg;
	struct qentry	**pp = &q->deferred, *e;
	time_t		 now = time(NULL);

	while ((e = *pp) != NULL) {
		if (e->due <= now) {
			*pp = e->next;
			ready_push(q, e);
		} else
			pp = &e->next;
	}
	qmgr_kick(q);
}

/* inotify: new files in queue/ (sendmail, other processes) and the flush trigger. */
static void
inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr	*q = arg;
	char		 buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t		 n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (p < buf + n) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->len > 0) {
				if (strcmp(ev->name, "flush") == 0) {
					char *trig = xasprintf("%s/flush", q->qdir);
					unlink(trig);
					free(trig);
					qmgr_flush(q);
				} else if (spool_qid_valid(ev->name, strlen(ev->name)))
					enqueue(q, ev->name, false, false);
			}
			p += sizeof(struct inotify_event) + ev->len;
		}
	}
	qmgr_kick(q);
}

static int
watch(struct qmgr *q)
{
	char *dir = xasprintf("%s/queue", q->qdir);

	q->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (q->ino_fd < 0 || inotify_add_watch(q->ino_fd, dir, IN_MOVED_TO) < 0 ||
	    inotify_add_watch(q->ino_fd, q->qdir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
		log_warn("qmgr: inotify on %s", dir);
		free(dir);
		return -1;
	}
	free(dir);
	q->ino_ev = event_new(q->srv->base, q->ino_fd, EV_READ | EV_PERSIST, inotify_cb, q);
	event_add(q->ino_ev, NULL);
	return 0;
}

static void
list_free(struct qentry *e)
{
	while (e != NULL) {
		struct qentry *n = e->next;
		free(e);
		e = n;
	}
}

/* Recover the spool in q->qdir, watch it and schedule what it holds. */
static int
open_dir(struct qmgr *q, char **err_r)
{
	if (spool_recover(q->qdir, 0) < 0) {
		*err_r = xasprintf("queue_directory %s: %s", q->qdir, strerror(errno));
		return -1;
	}
	if (watch(q) < 0) {
		*err_r = xasprintf("cannot watch queue_directory %s", q->qdir);
		return -1;
	}
	if (spool_list(q->qdir, recover_one, q) < 0) {
		*err_r = xasprintf("cannot list %s/queue: %s", q->qdir, strerror(errno));
		return -1;
	}
	return 0;
}

static void
unwatch(struct qmgr *q)
{
	if (q->ino_ev)
		event_free(q->ino_ev);
	q->ino_ev = NULL;
	if (q->ino_fd >= 0)
		close(q->ino_fd);
	q->ino_fd = -1;
}

/*
 * SIGHUP moved queue_directory: serve the new one from now on.  Messages
 * waiting in the old one stay there (a later restart or reload back picks
 * them up); jobs in flight finish against it.  SMTP commits follow through
 * qmgr_syncer(); the old syncer is kept until qmgr_free for commits still
 * holding it.
 */
static void
reload_hook(void *arg)
{
	struct qmgr	*q = arg;
	const char	*nd = conf_str(conf_current(), CK_QUEUE_DIRECTORY);
	char		*old, *err = NULL;

	if (q->stopping || strcmp(nd, q->qdir) == 0)
		return;
	old = q->qdir;
	q->qdir = xstrdup(nd);
	q->gen++;
	unwatch(q);
	list_free(q->ready_head);
	q->ready_head = q->ready_tail = NULL;
	list_free(q->deferred);
	q->deferred = NULL;
	/* A stale syncer stays correct (spool_commit fsyncs the writer's own
	 * directory), so when no slot is left the old one simply stays. */
	if (q->nretired < sizeof(q->retired) / sizeof(q->retired[0])) {
		q->retired[q->nretired++] = q->syncer;
		__atomic_store_n(&q->syncer, spool_syncer_new(q->qdir), __ATOMIC_RELEASE);
	}
	if (open_dir(q, &err) < 0) {
		log_warnx("qmgr: %s; new mail is not delivered until it is fixed", err);
		free(err);
	} else
		log_info("qmgr: queue_directory %s -> %s (messages left in the old one wait for it)",
		    old, q->qdir);
	free(old);
	qmgr_kick(q);
}

struct qmgr *
qmgr_init(struct server *srv, const struct conf *c)
{
	struct qmgr *q = xcalloc(1, sizeof(*q));

	q->srv = srv;
	q->qdir = xstrdup(conf_str(c, CK_QUEUE_DIRECTORY));
	q->max_active = (unsigned)conf_int(c, CK_WORKER_THREADS) * 2;
	q->ino_fd = -1;
	q->syncer = spool_syncer_new(q->qdir);
	return q;
}

int
qmgr_start(struct qmgr *q, char **err_r)
{
	struct timeval tv = { QMGR_TICK_SECONDS, 0 };

	if (open_dir(q, err_r) < 0)
		return -1;
	q->tick = event_new(q->srv->base, -1, EV_PERSIST, tick_cb, q);
	event_add(q->tick, &tv);
	server_hook_reload(q->srv, reload_hook, q);
	qmgr_kick(q);
	log_info("qmgr: started queue_directory=%s", q->qdir);
	return 0;
}

struct spool_syncer *
qmgr_syncer(struct qmgr *q)
{
	return q == NULL ? NULL : __atomic_load_n(&q->syncer, __ATOMIC_ACQUIRE);
}

void
qmgr_stop(struct qmgr *q)
{
	if (q == NULL)
		return;
	q->stopping = true;
	if (q->tick)
		event_del(q->tick);
	if (q->ino_ev)
		event_del(q->ino_ev);
}

void
qmgr_free(struct qmgr **qp)
{
	struct qmgr	*q = *qp;
	unsigned	 i;

	if (q == NULL)
		return;
	list_free(q->ready_head);
	list_free(q->inflight);
	list_free(q->deferred);
	if (q->tick)
		event_free(q->tick);
	unwatch(q);
	spool_syncer_free(&q->syncer);
	for (i = 0; i < q->nretired; i++)
		spool_syncer_free(&q->retired[i]);
	free(q->qdir);
	xfree(qp);
}
