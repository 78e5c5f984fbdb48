/*
 * The registry of live sessions (one per server): the list walked at
 * shutdown, per-service counts (each service has its own limit, as
 * Postfix's master.cf gives each service its own process limit, so a flood
 * on port 25 leaves 587, IMAP and POP3 reachable) and per-client counts in
 * a hash table keyed by (protocol, address): O(1) per accept and close.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "net/server.h"
#include "net/session.h"
#include "net/session_int.h"

#define SVC_MAX		16		/* services a daemon runs (services.c has 16 slots) */
#define HASH_MIN	64

struct svc_count {
	const struct service	*svc;
	unsigned		 n;
};

/* Live sessions of one protocol from one address. */
struct client_count {
	struct client_count		*next;
	const struct session_proto	*proto;
	unsigned			 hash;
	unsigned			 n;
	char				 addr[64];
};

struct session_reg {
	struct session		*all;
	struct client_count	**bucket;
	size_t			 nbucket;	/* a power of two */
	size_t			 nclients;
	struct svc_count	 svc[SVC_MAX];
	unsigned		 nsvc;
};

/* FNV-1a over the protocol pointer and the address text. */
static unsigned
client_hash(const struct session_proto *proto, const char *addr)
{
	uintptr_t	p = (uintptr_t)proto;
	uint32_t	h = 2166136261u;
	size_t		i;

	for (i = 0; i < sizeof(p); i++) {
		h ^= (uint32_t)(p & 0xff);
		h *= 16777619u;
		p >>= 8;
	}
	for (; *addr != '\0'; addr++) {
		h ^= (unsigned char)*addr;
		h *= 16777619u;
	}
	return h;
}

static void
stop_walk(void *arg)
{
	struct server	*srv = arg;
	struct session	*s, *n;

	if (srv->sessions == NULL)
		return;
	for (s = srv->sessions->all; s != NULL; s = n) {
		n = s->next;
		if (s->closing)
			continue;
		if (s->proto->shutdown != NULL)
			s->proto->shutdown(s);
		else {
			session_ended(s, "shutdown");
			session_close(s);
		}
	}
}

static struct session_reg *
reg_get(struct server *srv)
{
	struct session_reg *r = srv->sessions;

	if (r == NULL) {
		r = srv->sessions = xcalloc(1, sizeof(*r));
		r->nbucket = HASH_MIN;
		r->bucket = xcalloc(r->nbucket, sizeof(*r->bucket));
		server_hook_stop(srv, stop_walk, srv);
	}
	return r;
}

static struct svc_count *
svc_slot(struct session_reg *r, const struct service *svc, bool create)
{
	unsigned i;

	for (i = 0; i < r->nsvc; i++)
		if (r->svc[i].svc == svc)
			return &r->svc[i];
	if (!create || r->nsvc == SVC_MAX)
		return NULL;
	r->svc[r->nsvc].svc = svc;
	return &r->svc[r->nsvc++];
}

static void
rehash(struct session_reg *r, size_t nb)
{
	struct client_count	**b = xcalloc(nb, sizeof(*b));
	struct client_count	*c, *n;
	size_t			 i;

	for (i = 0; i < r->nbucket; i++)
		for (c = r->bucket[i]; c != NULL; c = n) {
			n = c->next;
			c->next = b[c->hash & (nb - 1)];
			b[c->hash & (nb - 1)] = c;
		}
	free(r->bucket);
	r->bucket = b;
	r->nbucket = nb;
}

/* The entry of (proto, addr): its link in the chain, or where it would go. */
static struct client_count **
client_slot(struct session_reg *r, const struct session_proto *proto, const char *addr,
    unsigned h)
{
	struct client_count **cp;

	for (cp = &r->bucket[h & (r->nbucket - 1)]; *cp != NULL; cp = &(*cp)->next)
		if ((*cp)->hash == h && (*cp)->proto == proto && strcmp((*cp)->addr, addr) == 0)
			break;
	return cp;
}

unsigned
session_count_service(struct server *srv, const struct service *svc)
{
	struct svc_count *c;

	if (srv->sessions == NULL || (c = svc_slot(srv->sessions, svc, false)) == NULL)
		return 0;
	return c->n;
}

unsigned
session_count_client(struct server *srv, const struct session_proto *proto, const char *addr)
{
	struct client_count *c;

	if (srv->sessions == NULL)
		return 0;
	c = *client_slot(srv->sessions, proto, addr, client_hash(proto, addr));
	return c != NULL ? c->n : 0;
}

/*
 * The refusal for a new session (addr, svc, proto already set), or -1 to
 * let it in.
 */
int
session_reg_check(struct server *srv, const struct session *s)
{
	const struct session_limits *l = &s->lim;

	if (srv->stopping)
		return SESSION_R_SHUTDOWN;
	if (l->max_service > 0 && session_count_service(srv, s->svc) >= l->max_service)
		return SESSION_R_SERVICE;
	if (l->max_client > 0 && !l->client_exempt &&
	    session_count_client(srv, s->proto, s->addr) >= l->max_client)
		return SESSION_R_CLIENT;
	return -1;
}

void
session_reg_add(struct server *srv, struct session *s)
{
	struct session_reg	*r = reg_get(srv);
	struct svc_count	*sc = svc_slot(r, s->svc, true);
	struct client_count	**cp, *c;

	s->reg = r;
	s->next = r->all;
	if (r->all != NULL)
		r->all->prev = s;
	r->all = s;
	if (sc != NULL)
		sc->n++;
	/* An exempt client (SMTP: mynetworks) is not counted at all. */
	s->counted = !s->lim.client_exempt;
	if (!s->counted)
		return;
	s->client_hash = client_hash(s->proto, s->addr);
	cp = client_slot(r, s->proto, s->addr, s->client_hash);
	if ((c = *cp) == NULL) {
		c = *cp = xcalloc(1, sizeof(*c));
		c->proto = s->proto;
		c->hash = s->client_hash;
		memcpy(c->addr, s->addr, sizeof(c->addr));
		if (++r->nclients > 2 * r->nbucket)
			rehash(r, 2 * r->nbucket);
	}
	c->n++;
}

void
session_reg_remove(struct session *s)
{
	struct session_reg	*r = s->reg;
	struct svc_count	*sc;
	struct client_count	**cp, *c;

	if (r == NULL)
		return;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		r->all = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	if ((sc = svc_slot(r, s->svc, false)) != NULL && sc->n > 0)
		sc->n--;
	s->reg = NULL;
	if (!s->counted)
		return;
	cp = client_slot(r, s->proto, s->addr, s->client_hash);
	if ((c = *cp) != NULL && --c->n == 0) {
		*cp = c->next;
		free(c);
		r->nclients--;
	}
}

void
session_free_all(struct server *srv)
{
	struct session_reg *r = srv->sessions;

	if (r == NULL)
		return;
	while (r->all != NULL)
		session_free_now(r->all);
	free(r->bucket);
	free(r);
	srv->sessions = NULL;
}
