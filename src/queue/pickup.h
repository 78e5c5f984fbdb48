/*
 * The daemon side of the maildrop (Postfix's pickup): files that local
 * users' `sendmail` left in QDIR/maildrop become queued messages.  Found by
 * inotify, at start and once a minute; parsed and queued on a worker
 * thread.  The submitter is the file's owner uid, never what the file says.
 */
#ifndef LB_QUEUE_PICKUP_H
#define LB_QUEUE_PICKUP_H

struct server;
struct pickup;

struct conf;

/* init: allocate from c (queue_directory); nothing touched yet. */
struct pickup	*pickup_init(struct server *srv, const struct conf *c);
/*
 * start (after the privilege drop, pool running): watch QDIR/maildrop, scan
 * it now and once a minute, follow reloads that move queue_directory.  An
 * instance without a maildrop (made by a non-root user) only scans, finding
 * nothing.  0, or -1 for an inotify failure (*err_r set).
 */
int		 pickup_start(struct pickup *p, char **err_r);
void		 pickup_stop(struct pickup *p);	/* stop: no new scans */
void		 pickup_free(struct pickup **pp);	/* free: after the pool has drained */

#endif
