/*
 * Next-hop selection for mail that leaves this host (issue 4 item 4):
 * the transport table (Postfix syntax, dir_transport) first, then
 * `relayhost`, else the recipient domain's MX.  A route names a next hop
 * (host, port, MX lookup or not); turning it into addresses is
 * route_resolve(), which does MX (RFC 5321 5.1: sorted by preference,
 * equal ones shuffled; no MX -> the domain's A/AAAA; null MX, RFC 7505 ->
 * permanent failure) and A/AAAA lookups through our own small resolver
 * (src/net/dns.h) against `dns_resolver` or /etc/resolv.conf.
 *
 * Everything here runs on the event loop thread; the transport lookup
 * goes to the worker pool.
 */
#ifndef LB_MTA_ROUTE_H
#define LB_MTA_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct conf;
struct server;

#define ROUTE_HOST_MAX		256	/* a domain name (255) + NUL */
#define ROUTE_KEY_MAX		(ROUTE_HOST_MAX + 16)
#define ROUTE_TEXT_MAX		512
#define ROUTE_MX_MAX		16	/* MX hosts tried per delivery */
#define ROUTE_ADDR_MAX		32	/* addresses tried per delivery */

enum route_kind {
	ROUTE_SMTP,		/* deliver over SMTP to hop */
	ROUTE_LOCAL,		/* transport virtual: / local: -> the manager's local delivery */
	ROUTE_ERROR,		/* error:text -> bounce every recipient with text */
	ROUTE_DISCARD,		/* discard:[text] -> drop, log as discarded */
	ROUTE_TEMPFAIL,		/* the lookup failed (directory down): defer, text says why */
};

struct route_hop {
	char		 host[ROUTE_HOST_MAX];	/* A-label domain or IP literal, no [] */
	uint16_t	 port;			/* 25 unless given */
	bool		 mx;			/* false for [host] / [host]:port */
};

struct route {
	enum route_kind	 kind;
	struct route_hop hop;			/* ROUTE_SMTP */
	/*
	 * The destination, for grouping recipients into one job and for the
	 * per-destination concurrency limit: "[host]:port" without MX,
	 * "host" or "host:port" with MX.  Recipients whose routes have the
	 * same key go in one struct smtpc_job.
	 */
	char		 key[ROUTE_KEY_MAX];
	/* ROUTE_ERROR / ROUTE_DISCARD / ROUTE_TEMPFAIL: text for the DSN/log */
	char		 text[ROUTE_TEXT_MAX];
	char		 origin[16];		/* "transport", "relayhost" or "mx" (logs) */
};

/*
 * Synchronous part, no I/O: decide from a transport table value (NULL or
 * "" = no entry) and relayhost (NULL or "" = none) for recipient domain
 * domain.  Transport syntax as dir_transport_normalize(): smtp:/relay:
 * with optional [host], host, [host]:port, host:port (empty next hop =
 * MX of domain, or relayhost when set, as Postfix); virtual:, local:
 * -> ROUTE_LOCAL; error:[text] (default text "5.0.0 mail for DOMAIN is
 * not deliverable"); discard:[text].  Returns 0 and fills *r, or -1 and
 * fills r->text when the value is not valid (the caller should defer:
 * a bad table row is an admin error, not the sender's).
 */
int		 route_decide(const char *domain, const char *transport, const char *relayhost,
		    struct route *r);

/*
 * Asynchronous: dir_transport(domain) on srv->pool, then route_decide()
 * with the current conf's relayhost; cb runs on the loop thread with the
 * route (borrowed for the call) and arg.  A directory failure gives
 * ROUTE_TEMPFAIL.  cb is always called exactly once, never from inside
 * route_lookup() itself.  domain is copied.
 */
void		 route_lookup(struct server *srv, const char *domain,
		    void (*cb)(const struct route *r, void *arg), void *arg);

/* ---- resolving a hop into addresses ---- */

struct route_addr {
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 host[ROUTE_HOST_MAX];	/* the MX name (or hop host) */
	uint16_t		 pref;			/* MX preference, 0 without MX */
};

enum route_status {
	ROUTE_R_OK,		/* naddr >= 1 */
	ROUTE_R_TEMPFAIL,	/* DNS timeout/SERVFAIL: defer (dsn 4.4.3) */
	ROUTE_R_PERMFAIL,	/* NXDOMAIN, null MX, no address: bounce */
};

struct route_result {
	enum route_status	 status;
	char			 dsn[8];		/* "4.4.3", "5.1.10", "5.4.4" */
	char			 text[ROUTE_TEXT_MAX];	/* for the DSN / log */
	struct route_addr	 addrs[ROUTE_ADDR_MAX];	/* in the order to try */
	unsigned		 naddr;
};

/*
 * The resolver used by route_resolve(): nameserver from `dns_resolver`
 * ("ADDR", "ADDR:PORT", "[ADDR]:PORT" for IPv6) or else the first
 * nameserver of /etc/resolv.conf (else 127.0.0.1:53).  Created by
 * smtpc_start() (client.h); exposed for tests.  Returns 0 or -1 with
 * *err_r allocated (bad dns_resolver value).
 */
struct route_resolver;
struct event_base;
struct route_resolver *route_resolver_new(struct event_base *base, const char *dns_resolver,
		    char **err_r);
void		 route_resolver_free(struct route_resolver **rp);	/* cancels pending lookups */

struct route_query;

/*
 * Resolve hop: with hop->mx, MX of hop->host (sorted, shuffled among
 * equal preferences, at most ROUTE_MX_MAX hosts), then A and AAAA of
 * each MX host (IPv4 first per host); a host that is a literal IP is used
 * as it is.  The result is handed to cb (borrowed for the call) exactly
 * once, never from inside route_resolve().  Returns a handle that
 * route_query_cancel() accepts until cb has run (after cancel, cb is not
 * called).
 */
struct route_query *route_resolve(struct route_resolver *res, const struct route_hop *hop,
		    void (*cb)(const struct route_result *rr, void *arg), void *arg);
void		 route_query_cancel(struct route_query **qp);

/* "[host]:port" / "host" / "host:port" for hop into key (ROUTE_KEY_MAX). */
void		 route_hop_key(const struct route_hop *hop, char *key, size_t sz);

#endif
