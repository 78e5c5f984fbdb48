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

/* Create, recover the spool and schedule everything in it.  NULL + *err_r on failure. */
struct qmgr	*qmgr_start(struct server *srv, char **err_r);
/* A message was just committed: deliver it now. */
void		 qmgr_submit(struct qmgr *q, const char *qid);
/* Retry every deferred message now (queue flush). */
void		 qmgr_flush(struct qmgr *q);
/* Stop taking new work; jobs in flight finish (server busy count). */
void		 qmgr_stop(struct qmgr *q);
void		 qmgr_free(struct qmgr **q);

/* The daemon's queue manager, for protocol modules (NULL when not running). */
extern struct qmgr *qmgr_global;

#endif
