/*
 * The retry schedule of deferred mail (Postfix's names and meanings):
 * the first retry after minimal_backoff_time, each further one twice as
 * late, never more than maximal_backoff_time; a message older than
 * maximal_queue_lifetime (bounce_queue_lifetime for null-sender mail) is
 * bounced instead of retried (0 = a single attempt); a delay warning once
 * delay_warning_time has passed (0 = never).  Pure functions of their
 * arguments: the manager stores attempts and times in the spool.
 */
#ifndef LB_QUEUE_SCHED_H
#define LB_QUEUE_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct conf;

struct sched_conf {
	time_t		 min_backoff;		/* minimal_backoff_time */
	time_t		 max_backoff;		/* maximal_backoff_time */
	time_t		 queue_lifetime;	/* maximal_queue_lifetime */
	time_t		 bounce_lifetime;	/* bounce_queue_lifetime */
	time_t		 delay_warning;		/* delay_warning_time, 0 = off */
};

/* Read the five keys from c. */
void		 sched_conf_load(struct sched_conf *sc, const struct conf *c);

/*
 * When to try again after the attempts-th failed attempt (attempts >= 1;
 * 0 counts as 1): now + min(min_backoff * 2^(attempts-1), max_backoff),
 * but not after the message's expiry (arrival + lifetime) so that the
 * final attempt happens on time.  arrival in seconds since the epoch.
 */
time_t		 sched_next_retry(unsigned attempts, time_t arrival, time_t now, bool null_sender,
		    const struct sched_conf *sc);

/* True when a message that arrived at arrival must not be retried any more
 * (now >= arrival + lifetime); deferred recipients then bounce. */
bool		 sched_expired(time_t arrival, time_t now, bool null_sender,
		    const struct sched_conf *sc);

/* Expiry time arrival + lifetime (for Will-Retry-Until). */
time_t		 sched_expiry(time_t arrival, bool null_sender, const struct sched_conf *sc);

/*
 * Is a delay warning due now for a recipient last attempted at
 * last_attempt (its `updated` before this attempt, 0 = never)?  True
 * exactly when the warning threshold arrival + delay_warning lies in
 * (last_attempt, now], so it fires once without stored state (the
 * attempt that crosses the threshold).  Never for null-sender mail.
 */
bool		 sched_delay_warning_due(time_t arrival, time_t last_attempt, time_t now,
		    bool null_sender, const struct sched_conf *sc);

#endif
