/*
 * One delivery pass over one spooled message (runs on a worker thread):
 * expand, deliver locally, record states, remove the message when done.
 */
#ifndef LB_QUEUE_DELIVER_MSG_H
#define LB_QUEUE_DELIVER_MSG_H

#include <stdbool.h>
#include <time.h>

struct conf;

struct deliver_outcome {
	bool	 done;		/* message removed (or gone / corrupt) */
	time_t	 next_retry;	/* when not done: earliest retry time */
};

/*
 * force: retry deferred recipients even before their time (queue flush).
 * recovered: the message may have been worked on before (restart): look in
 * cur/ too for an earlier copy.
 */
void	deliver_message(const struct conf *c, const char *qid, bool force, bool recovered,
	    struct deliver_outcome *out);

/* Backoff for the n-th failed attempt (1-based), from minimal/maximal_backoff_time. */
time_t	deliver_backoff(const struct conf *c, unsigned attempts);

#endif
