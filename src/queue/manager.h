/*
 * The queue manager: takes committed messages from the spool and delivers
 * them.  Each message is handled by one job on the worker pool at a time:
 * recipients are expanded (queue/expand.h), local mailboxes get their copy
 * (deliver/maildir.h, batched per message), remote ones go to the outbound
 * side (mta/remote.h), states go to the spool's status file (spool/spool.h),
 * and a message whose recipients are all final is removed.  Deferred
 * recipients are retried with backoff.  New messages arrive through
 * qmgr_submit() (SMTP, in-process) or by inotify on the queue directory
 * (sendmail, other daemon processes); `queue flush` drops a trigger file.
 */
#ifndef LB_QUEUE_MANAGER_H
#define LB_QUEUE_MANAGER_H

#include <stdbool.h>

struct server;
struct qmgr;

struct conf;
struct spool_syncer;

/* init: allocate from c (queue_directory, worker_threads); nothing touched on disk. */
struct qmgr	*qmgr_init(struct server *srv, const struct conf *c);
/*
 * start (after the privilege drop, pool running): recover the spool, watch
 * it, schedule everything in it, follow reloads that move queue_directory.
 * 0, or -1 with *err_r allocated.
 */
int		 qmgr_start(struct qmgr *q, char **err_r);
/*
 * The group-commit syncer for the current queue_directory, for writers on
 * any thread (spool_commit).  Replaced when a reload moves the directory;
 * the old one stays valid until qmgr_free.  NULL when q is NULL.
 */
struct spool_syncer *qmgr_syncer(struct qmgr *q);
/* A message was just committed: deliver it now. */
void		 qmgr_submit(struct qmgr *q, const char *qid);
/* Retry every deferred message now (queue flush). */
void		 qmgr_flush(struct qmgr *q);
/* stop: take no new work; jobs in flight finish (server busy count). */
void		 qmgr_stop(struct qmgr *q);
/* free: after the loop ended; accepts NULL. */
void		 qmgr_free(struct qmgr **q);


#endif
