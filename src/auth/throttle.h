/*
 * Slowing down password guessing: a table of recent login failures per
 * client address (an IPv4 address, or an IPv6 /64, since one host usually
 * owns the whole prefix).  Each failure makes the next reply to that
 * address wait longer: base, 2*base, 4*base, 8*base, then 8*base on.  An
 * entry is forgotten THROTTLE_TTL seconds after its last failure, or at
 * once after a successful login.  The table is bounded: when full, the
 * entry with the oldest failure is dropped.  Thread-safe (one mutex).
 */
#ifndef LB_AUTH_THROTTLE_H
#define LB_AUTH_THROTTLE_H

#include <stddef.h>
#include <time.h>

#define THROTTLE_TTL		(15 * 60)
#define THROTTLE_MAX_ENTRIES	65536
#define THROTTLE_MAX_SHIFT	3		/* the delay stops doubling at 8 * base */

struct throttle;

/* A table of at most max_entries addresses forgetting after ttl seconds. */
struct throttle	*throttle_new(size_t max_entries, time_t ttl);
void		 throttle_free(struct throttle **t);

/*
 * Record a failure of addr (text form; an IPv6 address is reduced to its
 * /64; anything unparsable is used as is) at now.  Returns the delay in
 * milliseconds to wait before answering this failure: base_ms << (n - 1)
 * for the n-th failure within ttl, capped at base_ms << THROTTLE_MAX_SHIFT.
 */
unsigned	 throttle_fail(struct throttle *t, const char *addr, time_t now, unsigned base_ms);
/* Failures of addr still remembered at now. */
unsigned	 throttle_failures(struct throttle *t, const char *addr, time_t now);
/* A successful login: forget addr. */
void		 throttle_success(struct throttle *t, const char *addr);
size_t		 throttle_size(struct throttle *t);

/*
 * The daemon's table, with base = config auth_failure_delay: what the
 * protocols call.  auth_throttle_fail() returns the milliseconds to wait
 * before sending the failure reply.
 */
unsigned	 auth_throttle_fail(const char *addr);
void		 auth_throttle_success(const char *addr);

#endif
