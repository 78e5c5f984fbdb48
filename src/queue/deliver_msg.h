/*
 * Delivery passes over one spooled message.  Phase one (deliver_begin, on
 * a worker thread) expands recipients, delivers the local ones into their
 * Maildirs and lists the remote ones; the event loop then hands those to
 * the outbound side (src/mta/remote.h) and records each result
 * (deliver_remote_result, no I/O); phase two (deliver_end, on a worker thread) writes the remote
 * states, queues DSNs (RFC 3464) for failures and requested success or
 * delay notices, and removes the message once every recipient is final.
 */
#ifndef LB_QUEUE_DELIVER_MSG_H
#define LB_QUEUE_DELIVER_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mta/remote.h"
#include "spool/spool.h"

struct conf;
struct deliver_pass;

struct deliver_outcome {
	bool	 done;		/* message removed (or gone / corrupt) */
	time_t	 next_retry;	/* when not done: earliest retry time */
};

/*
 * Phase one.  force: retry deferred recipients before their time (queue
 * flush); recovered: the message may have been worked on before a restart
 * (look for earlier Maildir copies in cur/ too).  Returns NULL when the
 * message is gone or corrupt (out->done set) or cannot be opened now
 * (out->next_retry set).
 */
struct deliver_pass *deliver_begin(const struct conf *c, const char *qid, bool force,
		    bool recovered, struct deliver_outcome *out);

/* The remote recipients found by phase one (borrowed from p). */
size_t		 deliver_remote_list(struct deliver_pass *p, const struct mta_rcpt **r_r);
/* The open message (borrowed; valid until deliver_end). */
const struct spool_msg *deliver_msg(const struct deliver_pass *p);

/*
 * Record the outcome for remote recipient idx (loop thread, no I/O):
 * SPOOL_R_RELAYED, SPOOL_R_DEFERRED, SPOOL_R_FAILED or SPOOL_R_DISCARDED,
 * with the reason as smtpc_reason() formats it.  peer_dsn: the next hop
 * took over DSN duties (no "relayed" notice owed by us).
 */
void		 deliver_remote_result(struct deliver_pass *p, size_t idx, enum spool_rcpt_state st,
		    const char *reason, bool peer_dsn);

/* Phase two; frees *p. */
void		 deliver_end(struct deliver_pass **p, struct deliver_outcome *out);

/* Backoff for the n-th failed attempt (1-based), from minimal/maximal_backoff_time. */
time_t		 deliver_backoff(const struct conf *c, unsigned attempts);

#endif
