/*
 * The remote phase of one delivery pass (src/mta/): the queue manager
 * (src/queue/manager.c) hands over a spooled message and its remote
 * recipients; they are grouped by domain, each domain gets one route
 * lookup (mta/route.h) and, for an SMTP route, one outbound job
 * (mta/client.h) carrying all its recipients.  Every recipient's outcome
 * comes back through result(), then done() once.
 *
 * The queue calls down into the mta, never the other way round: the
 * outcome is reported through callbacks, so src/mta/ needs nothing from
 * src/queue/ (scripts/check-layers.sh keeps folder includes acyclic).
 *
 * Threads: everything runs on the event loop thread of srv.
 */
#ifndef LB_MTA_REMOTE_H
#define LB_MTA_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "spool/spool.h"

struct server;
struct rphase;

/* A recipient for remote delivery, as the delivery pass lists it. */
struct mta_rcpt {
	size_t	 idx;		/* spool recipient index */
	char	*addr;
	char	*domain;	/* lower case, A-label */
};

/*
 * Result of recipient idx: SPOOL_R_RELAYED, SPOOL_R_DEFERRED,
 * SPOOL_R_FAILED or SPOOL_R_DISCARDED, with the reason as smtpc_reason()
 * formats it.  peer_dsn: the next hop took over DSN duties (no "relayed"
 * notice owed by us).  Called on the loop, no I/O expected.
 */
typedef void	 mta_result_fn(void *arg, size_t idx, enum spool_rcpt_state st,
		    const char *reason, bool peer_dsn);

/*
 * Deliver r[0..n-1] (n >= 1) of message m.  m and r are borrowed and must
 * stay valid until done(arg) runs: exactly once, on the loop, never from
 * inside mta_remote_start(), after result() was called for every
 * recipient.  Returns the phase handle (valid until done()).
 */
struct rphase	*mta_remote_start(struct server *srv, const struct spool_msg *m,
		    const struct mta_rcpt *r, size_t n, mta_result_fn *result,
		    void (*done)(void *arg), void *arg);

#endif
