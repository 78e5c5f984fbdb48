/*
 * Worker thread pool for blocking work (password hashing, SQL round trips,
 * fsync-heavy delivery).  work() runs on a worker thread and must touch no
 * session state; done() then runs on the event loop thread with the same
 * arg.  Jobs start in submission order; done() order follows completion.
 * evthread_use_pthreads() must have been called before the event_base was made.
 */
#ifndef LB_POOL_H
#define LB_POOL_H

struct event_base;
struct pool;

struct pool	*pool_new(struct event_base *base, int nthreads);
/* Runs the queued jobs to completion (and their done()), then joins. */
void		 pool_free(struct pool **p);
void		 pool_submit(struct pool *p, void (*work)(void *arg), void (*done)(void *arg), void *arg);
/* Jobs submitted whose done() has not run yet. */
unsigned	 pool_pending(const struct pool *p);

#endif
