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

/*
 * Start watching QDIR/maildrop (queue_directory of the current conf).  An
 * instance without a maildrop (made by a non-root user) gets a pickup that
 * does nothing.  Returns NULL only for an inotify failure (*err_r set).
 */
struct pickup	*pickup_start(struct server *srv, char **err_r);
void		 pickup_stop(struct pickup *p);	/* no new scans */
void		 pickup_free(struct pickup **pp);	/* after the pool has drained */

#endif
