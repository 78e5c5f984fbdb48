/*
 * Retry schedule and queue lifetime of deferred mail (see sched.h).
 */
#include "queue/sched.h"

#include "lib/conf.h"

void
sched_conf_load(struct sched_conf *sc, const struct conf *c)
{
	sc->min_backoff = (time_t)conf_int(c, CK_MINIMAL_BACKOFF_TIME);
	sc->max_backoff = (time_t)conf_int(c, CK_MAXIMAL_BACKOFF_TIME);
	sc->queue_lifetime = (time_t)conf_int(c, CK_MAXIMAL_QUEUE_LIFETIME);
	sc->bounce_lifetime = (time_t)conf_int(c, CK_BOUNCE_QUEUE_LIFETIME);
	sc->delay_warning = (time_t)conf_int(c, CK_DELAY_WARNING_TIME);
	if (sc->max_backoff < sc->min_backoff)
		sc->max_backoff = sc->min_backoff;
}

time_t
sched_expiry(time_t arrival, bool null_sender, const struct sched_conf *sc)
{
	return arrival + (null_sender ? sc->bounce_lifetime : sc->queue_lifetime);
}

bool
sched_expired(time_t arrival, time_t now, bool null_sender, const struct sched_conf *sc)
{
	return now >= sched_expiry(arrival, null_sender, sc);
}

time_t
sched_next_retry(unsigned attempts, time_t arrival, time_t now, bool null_sender,
    const struct sched_conf *sc)
{
	time_t	 delay = sc->min_backoff, exp;
	unsigned i;

	if (delay < 1)
		delay = 1;
	/* Doubling stops at the cap, so no overflow however many attempts. */
	for (i = 1; i < attempts && delay < sc->max_backoff; i++)
		delay *= 2;
	if (delay > sc->max_backoff)
		delay = sc->max_backoff;
	exp = sched_expiry(arrival, null_sender, sc);
	/* The last try happens at expiry, not a backoff period after it. */
	if (now + delay > exp && exp > now)
		return exp;
	return now + delay;
}

bool
sched_delay_warning_due(time_t arrival, time_t last_attempt, time_t now, bool null_sender,
    const struct sched_conf *sc)
{
	time_t	 at;

	if (sc->delay_warning <= 0 || null_sender)
		return false;
	at = arrival + sc->delay_warning;
	/* Past expiry the message bounces instead: no warning then. */
	if (sched_expired(arrival, now, null_sender, sc))
		return false;
	return last_attempt < at && at <= now;
}
