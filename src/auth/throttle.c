/*
 * Login failure table; see throttle.h.  A chained hash table (keyed with a
 * random seed so clients cannot aim at one bucket) plus a list ordered by
 * last failure, oldest first: expiry and eviction pop from its head, a new
 * failure moves the entry to its tail, so every operation is O(1).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/util.h>

#include "auth/throttle.h"
#include "lib/conf.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

#define KEY_MAX		64
#define NBUCKETS	4096

struct tentry {
	struct tentry	*hnext;			/* bucket chain */
	struct tentry	*prev, *next;		/* age list */
	char		 key[KEY_MAX];
	unsigned	 failures;
	time_t		 last;
};

struct throttle {
	pthread_mutex_t	 mtx;
	struct tentry	*buckets[NBUCKETS];
	struct tentry	*oldest, *newest;
	size_t		 n, max;
	time_t		 ttl;
	uint64_t	 seed;
};

/* The table key: the address, an IPv6 one cut to its /64. */
static void
make_key(const char *addr, char key[KEY_MAX])
{
	struct in6_addr	a6;
	char		tmp[INET6_ADDRSTRLEN];

	if (strchr(addr, ':') != NULL && inet_pton(AF_INET6, addr, &a6) == 1 &&
	    !IN6_IS_ADDR_V4MAPPED(&a6)) {
		memset(a6.s6_addr + 8, 0, 8);
		if (inet_ntop(AF_INET6, &a6, tmp, sizeof(tmp)) != NULL) {
			str_copy(key, tmp, KEY_MAX);
			return;
		}
	}
	str_copy(key, addr, KEY_MAX);
}

static size_t
bucket_of(const struct throttle *t, const char *key)
{
	uint64_t h = 1469598103934665603ULL ^ t->seed;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return (size_t)(h % NBUCKETS);
}

static void
list_unlink(struct throttle *t, struct tentry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		t->oldest = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		t->newest = e->prev;
	e->prev = e->next = NULL;
}

static void
list_append(struct throttle *t, struct tentry *e)
{
	e->prev = t->newest;
	e->next = NULL;
	if (t->newest)
		t->newest->next = e;
	else
		t->oldest = e;
	t->newest = e;
}

static void
entry_remove(struct throttle *t, struct tentry *e)
{
	struct tentry **pp = &t->buckets[bucket_of(t, e->key)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	list_unlink(t, e);
	free(e);
	t->n--;
}

static void
expire(struct throttle *t, time_t now)
{
	while (t->oldest != NULL && now - t->oldest->last >= t->ttl)
		entry_remove(t, t->oldest);
}

static struct tentry *
lookup(struct throttle *t, const char *key)
{
	struct tentry *e;

	for (e = t->buckets[bucket_of(t, key)]; e != NULL; e = e->hnext)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

struct throttle *
throttle_new(size_t max_entries, time_t ttl)
{
	struct throttle *t = xcalloc(1, sizeof(*t));

	pthread_mutex_init(&t->mtx, NULL);
	t->max = max_entries > 0 ? max_entries : 1;
	t->ttl = ttl;
	evutil_secure_rng_get_bytes(&t->seed, sizeof(t->seed));
	return t;
}

void
throttle_free(struct throttle **tp)
{
	struct throttle *t = *tp;

	if (t == NULL)
		return;
	while (t->oldest != NULL)
		entry_remove(t, t->oldest);
	pthread_mutex_destroy(&t->mtx);
	xfree(tp);
}

unsigned
throttle_fail(struct throttle *t, const char *addr, time_t now, unsigned base_ms)
{
	struct tentry	*e;
	char		 key[KEY_MAX];
	unsigned	 shift;
	uint64_t	 ms;

	make_key(addr, key);
	pthread_mutex_lock(&t->mtx);
	expire(t, now);
	if ((e = lookup(t, key)) == NULL) {
		if (t->n >= t->max)
			entry_remove(t, t->oldest);
		e = xcalloc(1, sizeof(*e));
		memcpy(e->key, key, sizeof(e->key));
		e->hnext = t->buckets[bucket_of(t, key)];
		t->buckets[bucket_of(t, key)] = e;
		t->n++;
	} else
		list_unlink(t, e);
	if (e->failures < 1000)
		e->failures++;
	e->last = now;
	list_append(t, e);
	shift = e->failures - 1 < THROTTLE_MAX_SHIFT ? e->failures - 1 : THROTTLE_MAX_SHIFT;
	pthread_mutex_unlock(&t->mtx);
	ms = (uint64_t)base_ms << shift;
	return ms > UINT32_MAX ? UINT32_MAX : (unsigned)ms;
}

unsigned
throttle_failures(struct throttle *t, const char *addr, time_t now)
{
	struct tentry	*e;
	char		 key[KEY_MAX];
	unsigned	 n;

	make_key(addr, key);
	pthread_mutex_lock(&t->mtx);
	expire(t, now);
	n = (e = lookup(t, key)) != NULL ? e->failures : 0;
	pthread_mutex_unlock(&t->mtx);
	return n;
}

void
throttle_success(struct throttle *t, const char *addr)
{
	struct tentry	*e;
	char		 key[KEY_MAX];

	make_key(addr, key);
	pthread_mutex_lock(&t->mtx);
	if ((e = lookup(t, key)) != NULL)
		entry_remove(t, e);
	pthread_mutex_unlock(&t->mtx);
}

size_t
throttle_size(struct throttle *t)
{
	size_t n;

	pthread_mutex_lock(&t->mtx);
	n = t->n;
	pthread_mutex_unlock(&t->mtx);
	return n;
}

/* ------------------------------------------------------ the daemon's table */

static pthread_once_t	 global_once = PTHREAD_ONCE_INIT;
static struct throttle	*global;

static void
global_init(void)
{
	global = throttle_new(THROTTLE_MAX_ENTRIES, THROTTLE_TTL);
}

unsigned
auth_throttle_fail(const char *addr)
{
	const struct conf	*c = conf_current();
	int64_t			 base_s = c != NULL ? conf_int(c, CK_AUTH_FAILURE_DELAY) : 1;

	pthread_once(&global_once, global_init);
	return throttle_fail(global, addr, time(NULL), (unsigned)base_s * 1000);
}

void
auth_throttle_success(const char *addr)
{
	pthread_once(&global_once, global_init);
	throttle_success(global, addr);
}
