/*
 * A small DNS stub resolver: MX, A and AAAA queries for the outbound side
 * (src/mta/route.c); it lives in src/net/ so that any layer above net can
 * use it without reaching into another protocol's folder.  Queries go
 * over UDP (TCP retry when the answer is truncated) to one configured
 * nameserver, on libevent.  evdns has no MX query, so we build the query
 * and parse the answer ourselves (RFC 1035 4.1, RFC 3596 AAAA, RFC 7505
 * null MX).  The parser trusts nothing: every offset is bounds-checked,
 * name compression may only point backwards and at most DNS_PTR_MAX
 * times per name, names are capped at 255 bytes, counts at DNS_RR_MAX.
 */
#ifndef LB_NET_DNS_H
#define LB_NET_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define DNS_NAME_MAX	256	/* 255 + NUL, presentation form without the trailing dot */
#define DNS_RR_MAX	64	/* records kept from one answer */
#define DNS_PTR_MAX	32	/* compression pointers followed per name */
#define DNS_PKT_MAX	65535
#define DNS_UDP_MAX	1232	/* EDNS0 payload size we announce */

#define DNS_T_A		1
#define DNS_T_CNAME	5
#define DNS_T_MX	15
#define DNS_T_AAAA	28
#define DNS_T_OPT	41

enum dns_rcode_kind {
	DNS_OK,			/* answer parsed (may hold zero records: NODATA) */
	DNS_NXDOMAIN,		/* the name does not exist */
	DNS_TEMPFAIL,		/* SERVFAIL, REFUSED, timeout, network error */
	DNS_BADPKT,		/* malformed answer (treated as TEMPFAIL by callers) */
	DNS_TRUNCATED,		/* TC bit: retry over TCP */
};

struct dns_mx {
	uint16_t	 pref;
	char		 host[DNS_NAME_MAX];	/* "" for the null MX "." */
};

struct dns_answer {
	enum dns_rcode_kind	 status;
	uint16_t		 qtype;
	unsigned		 nmx;
	struct dns_mx		 mx[DNS_RR_MAX];
	unsigned		 naddr;
	struct {
		int		 family;	/* AF_INET / AF_INET6 */
		uint8_t		 a[16];
	}			 addr[DNS_RR_MAX];
};

/*
 * Build a query for name (presentation form, trailing dot optional) and
 * type with id, RD set and an EDNS0 OPT record.  Returns the length
 * written into out (outsz >= 512 is enough), or -1 for a bad name (empty
 * label, label > 63, name > 255, or outsz too small).
 */
int		 dns_build_query(uint16_t id, const char *name, uint16_t qtype, uint8_t *out,
		    size_t outsz);

/*
 * Parse a response to the query (id, name, qtype): checks QR, id, the
 * question (case-insensitive name match), RCODE, TC; collects MX records
 * (qtype MX) or A/AAAA records (qtype A/AAAA) of the answer section whose
 * owner is name or, following CNAMEs in the answer, its alias target.
 * Returns DNS_OK... in ans->status (also the return value).
 */
enum dns_rcode_kind dns_parse_answer(const uint8_t *pkt, size_t len, uint16_t id,
		    const char *name, uint16_t qtype, struct dns_answer *ans);

/*
 * Read a possibly compressed name at *off in pkt into out (presentation
 * form, lower case, no trailing dot, "" for the root) and advance *off
 * past it in the record.  0 or -1 (out of bounds, loop, forward pointer,
 * too long, bad label type).  Exposed for tests.
 */
int		 dns_read_name(const uint8_t *pkt, size_t len, size_t *off, char out[DNS_NAME_MAX]);

/* ---- async client ---- */

struct event_base;
struct dns_client;
struct dns_req;

/*
 * A client for one nameserver (ss/sslen).  timeout_ms per try, tries
 * total UDP tries (then TEMPFAIL).
 */
struct dns_client *dns_client_new(struct event_base *base, const struct sockaddr *sa,
		    socklen_t salen, unsigned timeout_ms, unsigned tries);
void		 dns_client_free(struct dns_client **cp);	/* cancels, no callbacks */

/*
 * Parse "ADDR", "ADDR:PORT", "[ADDR]:PORT", "[ADDR]" (IPv6 needs the
 * brackets with a port) into ss; port defaults to 53.  0 or -1.
 */
int		 dns_parse_server(const char *s, struct sockaddr_storage *ss, socklen_t *sslen_r);
/* First "nameserver" line of path (resolv.conf), 0 or -1. */
int		 dns_resolv_conf(const char *path, struct sockaddr_storage *ss, socklen_t *sslen_r);

/*
 * Send a query; cb gets the parsed answer (borrowed for the call) exactly
 * once, never from inside dns_query(), unless dns_req_cancel() was called
 * first.  The name is copied.
 */
struct dns_req	*dns_query(struct dns_client *c, const char *name, uint16_t qtype,
		    void (*cb)(const struct dns_answer *ans, void *arg), void *arg);
void		 dns_req_cancel(struct dns_req **rp);

#endif
