/*
 * Next-hop selection (transport table -> relayhost -> MX) and resolving a
 * next hop into the ordered list of addresses the SMTP client tries
 * (RFC 5321 5.1, RFC 7505 null MX).  See route.h.
 */
#include "mta/route.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/util.h>

#include "directory/directory.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/dns.h"
#include "net/server.h"

/* ---- deciding ---- */

void
route_hop_key(const struct route_hop *hop, char *key, size_t sz)
{
	if (!hop->mx)
		snprintf(key, sz, "[%s]:%u", hop->host, (unsigned)hop->port);
	else if (hop->port != 25)
		snprintf(key, sz, "%s:%u", hop->host, (unsigned)hop->port);
	else
		snprintf(key, sz, "%s", hop->host);
}

/* Parse a normalised next hop ("[h]:p", "[h]", "h:p", "h"); 0 or -1. */
static int
parse_hop(const char *s, struct route_hop *hop)
{
	const char	*end, *port = NULL;
	size_t		 hl;
	uint64_t	 pv = 25;
	unsigned char	 a[16];

	memset(hop, 0, sizeof(*hop));
	if (s[0] == '[') {
		s++;
		if ((end = strchr(s, ']')) == NULL)
			return -1;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
		hop->mx = false;
	} else {
		if ((end = strchr(s, ':')) != NULL)
			port = end + 1;
		else
			end = s + strlen(s);
		hop->mx = true;
	}
	hl = (size_t)(end - s);
	if (hl == 0 || hl >= sizeof(hop->host))
		return -1;
	memcpy(hop->host, s, hl);
	hop->host[hl] = '\0';
	if (port != NULL && (parse_u64(port, strlen(port), 65535, &pv) < 0 || pv == 0))
		return -1;
	hop->port = (uint16_t)pv;
	/* An IP address has no MX, bracketed or not. */
	if (inet_pton(AF_INET, hop->host, a) == 1 || inet_pton(AF_INET6, hop->host, a) == 1)
		hop->mx = false;
	return 0;
}

/* Next hop from a normalised "smtp:HOP" / "relay:HOP" rest, or the domain's MX. */
static int
decide_hop(const char *domain, const char *hopstr, struct route *r)
{
	if (*hopstr == '\0') {
		memset(&r->hop, 0, sizeof(r->hop));
		if (str_copy(r->hop.host, domain, sizeof(r->hop.host)) >= sizeof(r->hop.host))
			return -1;
		r->hop.port = 25;
		r->hop.mx = true;
	} else if (parse_hop(hopstr, &r->hop) < 0)
		return -1;
	r->kind = ROUTE_SMTP;
	route_hop_key(&r->hop, r->key, sizeof(r->key));
	return 0;
}

int
route_decide(const char *domain, const char *transport, const char *relayhost, struct route *r)
{
	char		*norm = NULL, *tmp;
	const char	*why, *rest;
	int		 rc = -1;

	memset(r, 0, sizeof(*r));
	if (transport != NULL && *transport != '\0') {
		str_copy(r->origin, "transport", sizeof(r->origin));
		if (dir_transport_normalize(transport, &norm, &why) < 0) {
			r->kind = ROUTE_TEMPFAIL;
			snprintf(r->text, sizeof(r->text),
			    "4.3.5 bad transport table entry for %s: %s", domain, why);
			return -1;
		}
		rest = strchr(norm, ':') + 1;
		if (strncmp(norm, "virtual:", 8) == 0 || strncmp(norm, "local:", 6) == 0) {
			r->kind = ROUTE_LOCAL;
			rc = 0;
		} else if (strncmp(norm, "error:", 6) == 0) {
			r->kind = ROUTE_ERROR;
			if (*rest != '\0')
				str_copy(r->text, rest, sizeof(r->text));
			else
				snprintf(r->text, sizeof(r->text),
				    "5.0.0 mail for %s is not deliverable", domain);
			rc = 0;
		} else if (strncmp(norm, "discard:", 8) == 0) {
			r->kind = ROUTE_DISCARD;
			str_copy(r->text, *rest != '\0' ? rest : "discarded", sizeof(r->text));
			rc = 0;
		} else if (*rest == '\0' && relayhost != NULL && *relayhost != '\0') {
			/* "smtp:" without a next hop: the default, relayhost first. */
			free(norm);
			norm = NULL;
			return route_decide(domain, NULL, relayhost, r);
		} else
			rc = decide_hop(domain, rest, r);
		if (rc < 0) {
			r->kind = ROUTE_TEMPFAIL;
			snprintf(r->text, sizeof(r->text),
			    "4.3.5 bad transport table entry for %s", domain);
		}
		free(norm);
		return rc;
	}
	if (relayhost != NULL && *relayhost != '\0') {
		str_copy(r->origin, "relayhost", sizeof(r->origin));
		tmp = xasprintf("smtp:%s", relayhost);
		if (dir_transport_normalize(tmp, &norm, &why) == 0)
			rc = decide_hop(domain, strchr(norm, ':') + 1, r);
		free(tmp);
		free(norm);
		if (rc < 0) {
			r->kind = ROUTE_TEMPFAIL;
			snprintf(r->text, sizeof(r->text), "4.3.5 bad relayhost setting");
		}
		return rc;
	}
	str_copy(r->origin, "mx", sizeof(r->origin));
	if ((rc = decide_hop(domain, "", r)) < 0) {
		r->kind = ROUTE_ERROR;
		snprintf(r->text, sizeof(r->text), "5.1.2 bad destination domain");
	}
	return rc;
}

/* ---- the async transport lookup ---- */

struct lookup {
	char		*domain;
	char		*transport;	/* NULL = none */
	bool		 tempfail;
	void		(*cb)(const struct route *, void *);
	void		*arg;
	struct server	*srv;
};

static void
lookup_work(void *arg)
{
	struct lookup		*l = arg;
	struct directory	*d = dir_thread();

	if (d == NULL) {
		l->tempfail = true;
		return;
	}
	switch (dir_transport(d, l->domain, &l->transport)) {
	case DIR_FOUND:
		break;
	case DIR_NOTFOUND:
		l->transport = NULL;
		break;
	case DIR_TEMPFAIL:
		l->tempfail = true;
		break;
	}
}

static void
lookup_done(void *arg)
{
	struct lookup		*l = arg;
	const struct conf	*c = conf_current();
	struct route		 r;

	if (l->tempfail) {
		memset(&r, 0, sizeof(r));
		r.kind = ROUTE_TEMPFAIL;
		snprintf(r.text, sizeof(r.text),
		    "4.3.0 transport table lookup failed for %s", l->domain);
	} else
		(void)route_decide(l->domain, l->transport,
		    c != NULL ? conf_str(c, CK_RELAYHOST) : NULL, &r);
	server_idle(l->srv);
	l->cb(&r, l->arg);
	free(l->domain);
	free(l->transport);
	free(l);
}

void
route_lookup(struct server *srv, const char *domain,
    void (*cb)(const struct route *r, void *arg), void *arg)
{
	struct lookup *l = xcalloc(1, sizeof(*l));

	l->domain = xstrdup(domain);
	l->cb = cb;
	l->arg = arg;
	l->srv = srv;
	server_busy(srv);
	pool_submit(srv->pool, lookup_work, lookup_done, l);
}

/* ---- resolving ---- */

struct route_resolver {
	struct event_base	*base;
	struct dns_client	*dns;
};

struct route_resolver *
route_resolver_new(struct event_base *base, const char *dns_resolver, char **err_r)
{
	struct route_resolver	*res;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;

	if (dns_resolver != NULL && *dns_resolver != '\0') {
		if (dns_parse_server(dns_resolver, &ss, &sslen) < 0) {
			*err_r = xasprintf("bad dns_resolver \"%s\" (want ADDR, ADDR:PORT or"
			    " [ADDR]:PORT)", dns_resolver);
			return NULL;
		}
	} else if (dns_resolv_conf("/etc/resolv.conf", &ss, &sslen) < 0)
		(void)dns_parse_server("127.0.0.1:53", &ss, &sslen);
	res = xcalloc(1, sizeof(*res));
	res->base = base;
	res->dns = dns_client_new(base, (struct sockaddr *)&ss, sslen, 5000, 2);
	return res;
}

void
route_resolver_free(struct route_resolver **rp)
{
	if (rp == NULL || *rp == NULL)
		return;
	dns_client_free(&(*rp)->dns);
	free(*rp);
	*rp = NULL;
}

struct route_query {
	struct route_resolver	*res;
	struct route_hop	 hop;
	void			(*cb)(const struct route_result *, void *);
	void			*arg;
	struct dns_req		*req;
	struct event		*ev;		/* deferred finish */
	struct dns_mx		 mx[ROUTE_MX_MAX];
	unsigned		 nmx, cur;	/* host being looked up */
	bool			 aaaa;		/* looking up AAAA of mx[cur] (else A) */
	bool			 tempfailed;	/* some address lookup failed temporarily */
	struct route_result	 rr;
};

static void query_next_host(struct route_query *q);

static void
query_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct route_query	*q = arg;
	struct route_result	*rr = xmemdup(&q->rr, sizeof(q->rr));
	void			(*cb)(const struct route_result *, void *) = q->cb;
	void			*cbarg = q->arg;

	event_free(q->ev);
	free(q);
	cb(rr, cbarg);
	free(rr);
}

static void
query_finish(struct route_query *q)
{
	q->ev = event_new(q->res->base, -1, 0, query_finish_cb, q);
	event_active(q->ev, EV_TIMEOUT, 0);
}

static void
query_fail(struct route_query *q, enum route_status st, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
query_fail(struct route_query *q, enum route_status st, const char *dsn, const char *fmt, ...)
{
	va_list	 ap;

	q->rr.status = st;
	q->rr.naddr = 0;
	str_copy(q->rr.dsn, dsn, sizeof(q->rr.dsn));
	va_start(ap, fmt);
	vsnprintf(q->rr.text, sizeof(q->rr.text), fmt, ap);
	va_end(ap);
	query_finish(q);
}

/* Add an address (family AF_INET/AF_INET6, raw bytes) for host. */
static void
add_addr(struct route_query *q, int family, const uint8_t *a, const char *host, uint16_t pref)
{
	struct route_addr	*ra;

	if (q->rr.naddr >= ROUTE_ADDR_MAX)
		return;
	ra = &q->rr.addrs[q->rr.naddr];
	memset(ra, 0, sizeof(*ra));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ra->ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(q->hop.port);
		memcpy(&sin->sin_addr, a, 4);
		ra->sslen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ra->ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(q->hop.port);
		memcpy(&sin6->sin6_addr, a, 16);
		ra->sslen = sizeof(*sin6);
	}
	str_copy(ra->host, host, sizeof(ra->host));
	ra->pref = pref;
	q->rr.naddr++;
}

/* If host is an IP literal, add it and return true. */
static bool
add_literal(struct route_query *q, const char *host, uint16_t pref)
{
	uint8_t	 a[16];

	if (inet_pton(AF_INET, host, a) == 1)
		add_addr(q, AF_INET, a, host, pref);
	else if (inet_pton(AF_INET6, host, a) == 1)
		add_addr(q, AF_INET6, a, host, pref);
	else
		return false;
	return true;
}

static void
addr_cb(const struct dns_answer *ans, void *arg)
{
	struct route_query	*q = arg;
	unsigned		 i;

	q->req = NULL;
	if (ans->status == DNS_OK) {
		for (i = 0; i < ans->naddr; i++)
			add_addr(q, ans->addr[i].family, ans->addr[i].a, q->mx[q->cur].host,
			    q->mx[q->cur].pref);
	} else if (ans->status != DNS_NXDOMAIN)
		q->tempfailed = true;
	if (!q->aaaa && ans->status != DNS_NXDOMAIN) {
		q->aaaa = true;
		q->req = dns_query(q->res->dns, q->mx[q->cur].host, DNS_T_AAAA, addr_cb, q);
		return;
	}
	q->cur++;
	q->aaaa = false;
	query_next_host(q);
}

static void
query_next_host(struct route_query *q)
{
	while (q->cur < q->nmx && q->rr.naddr < ROUTE_ADDR_MAX) {
		if (add_literal(q, q->mx[q->cur].host, q->mx[q->cur].pref)) {
			q->cur++;
			continue;
		}
		q->aaaa = false;
		q->req = dns_query(q->res->dns, q->mx[q->cur].host, DNS_T_A, addr_cb, q);
		return;
	}
	if (q->rr.naddr > 0) {
		q->rr.status = ROUTE_R_OK;
		query_finish(q);
	} else if (q->tempfailed)
		query_fail(q, ROUTE_R_TEMPFAIL, "4.4.3", "Host or domain name not found. Name"
		    " service error for name=%s type=A: Host not found, try again",
		    q->mx[0].host);
	else
		query_fail(q, ROUTE_R_PERMFAIL, "5.4.4", "Host or domain name not found. Name"
		    " service error for name=%s type=A: Host not found", q->mx[0].host);
}

static int
mx_cmp(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;

	return (int)x->pref - (int)y->pref;
}

static void
mx_cb(const struct dns_answer *ans, void *arg)
{
	struct route_query	*q = arg;
	struct dns_mx		 all[DNS_RR_MAX];
	unsigned		 i, j, n = 0;

	q->req = NULL;
	switch (ans->status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
		query_fail(q, ROUTE_R_PERMFAIL, "5.4.4", "Host or domain name not found. Name"
		    " service error for name=%s type=MX: Host not found", q->hop.host);
		return;
	default:
		query_fail(q, ROUTE_R_TEMPFAIL, "4.4.3", "Host or domain name not found. Name"
		    " service error for name=%s type=MX: Host not found, try again", q->hop.host);
		return;
	}
	for (i = 0; i < ans->nmx; i++)
		if (ans->mx[i].host[0] != '\0')
			all[n++] = ans->mx[i];
	/* RFC 7505: a "." target means the domain accepts no mail. */
	if (n == 0 && ans->nmx > 0) {
		query_fail(q, ROUTE_R_PERMFAIL, "5.1.10",
		    "recipient domain %s does not accept mail (null MX)", q->hop.host);
		return;
	}
	if (n == 0) {
		/* RFC 5321 5.1: no MX -> the domain itself, preference 0. */
		str_copy(q->mx[0].host, q->hop.host, sizeof(q->mx[0].host));
		q->mx[0].pref = 0;
		q->nmx = 1;
	} else {
		qsort(all, n, sizeof(all[0]), mx_cmp);
		/* Shuffle runs of equal preference (RFC 5321 5.1). */
		for (i = 0; i < n; i = j) {
			for (j = i + 1; j < n && all[j].pref == all[i].pref; j++)
				;
			for (unsigned k = j - 1; k > i; k--) {
				uint32_t	 rnd;
				unsigned	 s;
				struct dns_mx	 t;

				evutil_secure_rng_get_bytes(&rnd, sizeof(rnd));
				s = i + rnd % (k - i + 1);
				t = all[k];
				all[k] = all[s];
				all[s] = t;
			}
		}
		q->nmx = n < ROUTE_MX_MAX ? n : ROUTE_MX_MAX;
		memcpy(q->mx, all, q->nmx * sizeof(all[0]));
	}
	q->cur = 0;
	query_next_host(q);
}

struct route_query *
route_resolve(struct route_resolver *res, const struct route_hop *hop,
    void (*cb)(const struct route_result *rr, void *arg), void *arg)
{
	struct route_query *q = xcalloc(1, sizeof(*q));

	q->res = res;
	q->hop = *hop;
	q->cb = cb;
	q->arg = arg;
	if (hop->mx) {
		q->req = dns_query(res->dns, hop->host, DNS_T_MX, mx_cb, q);
		return q;
	}
	str_copy(q->mx[0].host, hop->host, sizeof(q->mx[0].host));
	q->nmx = 1;
	if (add_literal(q, hop->host, 0)) {
		q->rr.status = ROUTE_R_OK;
		q->cur = 1;
		query_finish(q);
		return q;
	}
	q->req = dns_query(res->dns, hop->host, DNS_T_A, addr_cb, q);
	return q;
}

void
route_query_cancel(struct route_query **qp)
{
	struct route_query *q;

	if (qp == NULL || (q = *qp) == NULL)
		return;
	dns_req_cancel(&q->req);
	if (q->ev != NULL)
		event_free(q->ev);
	free(q);
	*qp = NULL;
}
