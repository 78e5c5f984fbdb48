/*
 * DNS stub resolver for MX/A/AAAA (see dns.h): query builder, a bounded
 * answer parser, and the async UDP (+TCP on truncation) transport on
 * libevent.  Each query uses its own connected UDP socket, so the kernel
 * picks a random source port and drops datagrams from other peers; the
 * 16-bit id is random and the question must match (RFC 5452).
 */
#include "net/dns.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

#define DNS_CNAME_MAX	8	/* CNAME hops followed inside one answer */

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static bool
label_char_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_';
}

int
dns_build_query(uint16_t id, const char *name, uint16_t qtype, uint8_t *out, size_t outsz)
{
	size_t	 nlen = strlen(name), pos = 12, i, start;

	if (nlen > 0 && name[nlen - 1] == '.')
		nlen--;
	if (nlen == 0 || nlen > 253 || outsz < 12 + nlen + 2 + 4 + 11)
		return -1;
	memset(out, 0, 12);
	out[0] = id >> 8;
	out[1] = id & 0xff;
	out[2] = 0x01;		/* RD */
	out[5] = 1;		/* QDCOUNT */
	out[11] = 1;		/* ARCOUNT: the OPT record */
	start = 0;
	for (i = 0; i <= nlen; i++) {
		if (i == nlen || name[i] == '.') {
			size_t l = i - start;

			if (l == 0 || l > 63)
				return -1;
			out[pos++] = (uint8_t)l;
			memcpy(out + pos, name + start, l);
			pos += l;
			start = i + 1;
		} else if (!label_char_ok((uint8_t)name[i]))
			return -1;
	}
	out[pos++] = 0;
	out[pos++] = qtype >> 8;
	out[pos++] = qtype & 0xff;
	out[pos++] = 0;
	out[pos++] = 1;		/* IN */
	/* EDNS0 OPT (RFC 6891): root, type 41, class = payload size, ttl 0, rdlen 0. */
	out[pos++] = 0;
	out[pos++] = 0;
	out[pos++] = DNS_T_OPT;
	out[pos++] = DNS_UDP_MAX >> 8;
	out[pos++] = DNS_UDP_MAX & 0xff;
	memset(out + pos, 0, 6);
	pos += 6;
	return (int)pos;
}

int
dns_read_name(const uint8_t *pkt, size_t len, size_t *off, char out[DNS_NAME_MAX])
{
	size_t	 pos = *off, olen = 0, wire = 1, limit = *off, end = 0;
	unsigned jumps = 0;
	bool	 jumped = false;

	for (;;) {
		uint8_t c;

		if (pos >= len)
			return -1;
		c = pkt[pos];
		if (c == 0) {
			pos++;
			break;
		}
		if ((c & 0xc0) == 0xc0) {
			size_t ptr;

			if (pos + 1 >= len)
				return -1;
			ptr = (size_t)((c & 0x3f) << 8) | pkt[pos + 1];
			/*
			 * Only strictly backwards, below everything read so
			 * far for this name: positions decrease at every jump,
			 * so a loop is impossible; the count caps the work.
			 */
			if (ptr >= limit || ++jumps > DNS_PTR_MAX)
				return -1;
			if (!jumped) {
				end = pos + 2;
				jumped = true;
			}
			pos = limit = ptr;
			continue;
		}
		if (c & 0xc0)
			return -1;	/* 0x40/0x80: extended label types (RFC 6891) */
		if (pos + 1 + c > len)
			return -1;
		wire += (size_t)c + 1;
		if (wire > 255)
			return -1;
		if (olen > 0)
			out[olen++] = '.';
		for (size_t i = 0; i < c; i++) {
			uint8_t ch = pkt[pos + 1 + i];

			if (!label_char_ok(ch))
				return -1;
			out[olen++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : (char)ch;
		}
		pos += 1 + c;
	}
	out[olen] = '\0';
	*off = jumped ? end : pos;
	return 0;
}

/* name in presentation form vs. a parsed (lower case, no dot) name. */
static bool
name_eq(const char *want, const char *got)
{
	size_t	 wl = strlen(want);

	if (wl > 0 && want[wl - 1] == '.')
		wl--;
	return strlen(got) == wl && str_ieq(want, wl, got);
}

struct rr {
	char		 owner[DNS_NAME_MAX];
	uint16_t	 type, rdlen;
	size_t		 rdata;		/* offset in pkt */
};

/* Read the RR at *off; 0 or -1. */
static int
read_rr(const uint8_t *pkt, size_t len, size_t *off, struct rr *rr)
{
	if (dns_read_name(pkt, len, off, rr->owner) < 0)
		return -1;
	if (*off + 10 > len)
		return -1;
	rr->type = get16(pkt + *off);
	rr->rdlen = get16(pkt + *off + 8);
	rr->rdata = *off + 10;
	if (rr->rdata + rr->rdlen > len)
		return -1;
	*off = rr->rdata + rr->rdlen;
	return 0;
}

enum dns_rcode_kind
dns_parse_answer(const uint8_t *pkt, size_t len, uint16_t id, const char *name,
    uint16_t qtype, struct dns_answer *ans)
{
	char	 qname[DNS_NAME_MAX], target[DNS_NAME_MAX];
	size_t	 off, an_off, i;
	unsigned ancount, hops;
	struct rr rr;

	memset(ans, 0, sizeof(*ans));
	ans->qtype = qtype;
	ans->status = DNS_BADPKT;
	if (len < 12 || get16(pkt) != id || !(pkt[2] & 0x80) || (pkt[2] & 0x78) != 0)
		return ans->status;
	if (pkt[2] & 0x02)
		return ans->status = DNS_TRUNCATED;
	if (get16(pkt + 4) != 1)
		return ans->status;
	off = 12;
	if (dns_read_name(pkt, len, &off, qname) < 0 || off + 4 > len)
		return ans->status;
	if (!name_eq(name, qname) || get16(pkt + off) != qtype || get16(pkt + off + 2) != 1)
		return ans->status;
	off += 4;
	switch (pkt[3] & 0x0f) {
	case 0:
		break;
	case 3:
		return ans->status = DNS_NXDOMAIN;
	default:
		return ans->status = DNS_TEMPFAIL;
	}
	ancount = get16(pkt + 6);
	an_off = off;

	/* Follow CNAMEs in the answer from the question name. */
	str_copy(target, qname, sizeof(target));
	for (hops = 0; hops < DNS_CNAME_MAX; hops++) {
		bool moved = false;

		off = an_off;
		for (i = 0; i < ancount; i++) {
			if (read_rr(pkt, len, &off, &rr) < 0)
				return ans->status;
			if (rr.type == DNS_T_CNAME && strcmp(rr.owner, target) == 0) {
				size_t roff = rr.rdata;

				if (dns_read_name(pkt, len, &roff, target) < 0 ||
				    roff != rr.rdata + rr.rdlen)
					return ans->status;
				moved = true;
				break;
			}
		}
		if (!moved)
			break;
	}

	off = an_off;
	for (i = 0; i < ancount; i++) {
		if (read_rr(pkt, len, &off, &rr) < 0)
			return ans->status;
		if (rr.type != qtype || strcmp(rr.owner, target) != 0)
			continue;
		if (qtype == DNS_T_MX) {
			size_t roff = rr.rdata + 2;

			if (rr.rdlen < 3)
				return ans->status;
			if (ans->nmx == DNS_RR_MAX)
				continue;
			ans->mx[ans->nmx].pref = get16(pkt + rr.rdata);
			if (dns_read_name(pkt, len, &roff, ans->mx[ans->nmx].host) < 0 ||
			    roff != rr.rdata + rr.rdlen)
				return ans->status;
			ans->nmx++;
		} else if (qtype == DNS_T_A || qtype == DNS_T_AAAA) {
			size_t alen = qtype == DNS_T_A ? 4 : 16;

			if (rr.rdlen != alen)
				return ans->status;
			if (ans->naddr == DNS_RR_MAX)
				continue;
			ans->addr[ans->naddr].family = qtype == DNS_T_A ? AF_INET : AF_INET6;
			memcpy(ans->addr[ans->naddr].a, pkt + rr.rdata, alen);
			ans->naddr++;
		}
	}
	return ans->status = DNS_OK;
}

/* ---- server address ---- */

int
dns_parse_server(const char *s, struct sockaddr_storage *ss, socklen_t *sslen_r)
{
	char		 host[64];
	const char	*p, *port = NULL;
	size_t		 hl;
	uint64_t	 pv = 53;
	struct sockaddr_in  *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	if (s[0] == '[') {
		if ((p = strchr(s, ']')) == NULL)
			return -1;
		hl = (size_t)(p - s - 1);
		s++;
		if (p[1] == ':')
			port = p + 2;
		else if (p[1] != '\0')
			return -1;
	} else if ((p = strchr(s, ':')) != NULL && strchr(p + 1, ':') == NULL) {
		hl = (size_t)(p - s);
		port = p + 1;
	} else
		hl = strlen(s);
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (port != NULL && parse_u64(port, strlen(port), 65535, &pv) < 0)
		return -1;
	if (pv == 0)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)pv);
		*sslen_r = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)pv);
		*sslen_r = sizeof(*sin6);
		return 0;
	}
	return -1;
}

int
dns_resolv_conf(const char *path, struct sockaddr_storage *ss, socklen_t *sslen_r)
{
	FILE	*f;
	char	 line[512];
	int	 rc = -1;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line, *e;

		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "nameserver", 10) != 0 || (p[10] != ' ' && p[10] != '\t'))
			continue;
		p += 10;
		while (*p == ' ' || *p == '\t')
			p++;
		for (e = p; *e && *e != ' ' && *e != '\t' && *e != '\n' && *e != '%'; e++)
			;
		*e = '\0';
		/* A bare IPv6 address has colons: bracket it for the parser. */
		if (strchr(p, ':') != NULL) {
			char b[80];

			if (snprintf(b, sizeof(b), "[%s]", p) >= (int)sizeof(b))
				continue;
			rc = dns_parse_server(b, ss, sslen_r);
		} else
			rc = dns_parse_server(p, ss, sslen_r);
		if (rc == 0)
			break;
	}
	fclose(f);
	return rc;
}

/* ---- async transport ---- */

struct dns_client {
	struct event_base	*base;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	unsigned		 timeout_ms, tries;
	struct dns_req		*reqs;		/* pending, for free */
};

struct dns_req {
	struct dns_client	*c;
	struct dns_req		*next, **prevp;
	char			 name[DNS_NAME_MAX];
	uint16_t		 qtype, id;
	uint8_t			 q[512];
	int			 qlen;
	unsigned		 tries_left;
	evutil_socket_t		 fd;
	struct event		*ev;		/* UDP read / timeout, or the deferred failure */
	struct bufferevent	*bev;		/* TCP after truncation */
	enum dns_rcode_kind	 early;		/* result to report from the deferred event */
	void			(*cb)(const struct dns_answer *, void *);
	void			*arg;
};

struct dns_client *
dns_client_new(struct event_base *base, const struct sockaddr *sa, socklen_t salen,
    unsigned timeout_ms, unsigned tries)
{
	struct dns_client *c = xcalloc(1, sizeof(*c));

	c->base = base;
	if (salen > sizeof(c->ss))
		salen = sizeof(c->ss);
	memcpy(&c->ss, sa, salen);
	c->sslen = salen;
	c->timeout_ms = timeout_ms ? timeout_ms : 5000;
	c->tries = tries ? tries : 2;
	return c;
}

static void
req_close(struct dns_req *r)
{
	if (r->ev != NULL) {
		event_free(r->ev);
		r->ev = NULL;
	}
	if (r->fd >= 0) {
		evutil_closesocket(r->fd);
		r->fd = -1;
	}
	if (r->bev != NULL) {
		bufferevent_free(r->bev);
		r->bev = NULL;
	}
}

static void
req_free(struct dns_req *r)
{
	req_close(r);
	if (r->prevp != NULL) {
		*r->prevp = r->next;
		if (r->next != NULL)
			r->next->prevp = r->prevp;
	}
	free(r);
}

void
dns_req_cancel(struct dns_req **rp)
{
	if (rp == NULL || *rp == NULL)
		return;
	req_free(*rp);
	*rp = NULL;
}

void
dns_client_free(struct dns_client **cp)
{
	struct dns_client *c;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	while (c->reqs != NULL)
		req_free(c->reqs);
	free(c);
	*cp = NULL;
}

static void
req_finish(struct dns_req *r, const struct dns_answer *ans)
{
	void	(*cb)(const struct dns_answer *, void *) = r->cb;
	void	*arg = r->arg;
	struct dns_answer copy = *ans;

	/* Free first: the callback may free the client or start new queries. */
	req_free(r);
	cb(&copy, arg);
}

static void
req_fail(struct dns_req *r, enum dns_rcode_kind st)
{
	struct dns_answer ans;

	memset(&ans, 0, sizeof(ans));
	ans.status = st;
	ans.qtype = r->qtype;
	req_finish(r, &ans);
}

static void req_send_udp(struct dns_req *r);
static void req_start_tcp(struct dns_req *r);

static void
req_udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_req		*r = arg;
	static uint8_t		 pkt[DNS_PKT_MAX];	/* loop thread only */
	struct dns_answer	 ans;
	ssize_t			 n;

	if (what & EV_TIMEOUT) {
		if (r->tries_left > 0) {
			req_close(r);
			req_send_udp(r);
		} else
			req_fail(r, r->early != DNS_OK ? r->early : DNS_TEMPFAIL);
		return;
	}
	n = recv(fd, pkt, sizeof(pkt), 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		/* ICMP port unreachable and the like: the server is not there. */
		req_fail(r, DNS_TEMPFAIL);
		return;
	}
	dns_parse_answer(pkt, (size_t)n, r->id, r->name, r->qtype, &ans);
	if (ans.status == DNS_BADPKT && (n < 2 || get16(pkt) != r->id))
		return;		/* not our answer (spoofing attempt or stale): keep waiting */
	if (ans.status == DNS_TRUNCATED) {
		req_close(r);
		req_start_tcp(r);
		return;
	}
	req_finish(r, &ans);
}

static void
req_send_udp(struct dns_req *r)
{
	struct timeval	 tv;

	r->tries_left--;
	r->fd = socket(r->c->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0 || connect(r->fd, (struct sockaddr *)&r->c->ss, r->c->sslen) < 0 ||
	    send(r->fd, r->q, (size_t)r->qlen, 0) != r->qlen) {
		r->early = DNS_TEMPFAIL;
		req_close(r);
		/* Report from the loop, as if it had timed out at once. */
		r->tries_left = 0;
		r->ev = event_new(r->c->base, -1, 0, req_udp_cb, r);
		event_active(r->ev, EV_TIMEOUT, 0);
		return;
	}
	r->ev = event_new(r->c->base, r->fd, EV_READ | EV_PERSIST, req_udp_cb, r);
	tv.tv_sec = r->c->timeout_ms / 1000;
	tv.tv_usec = (r->c->timeout_ms % 1000) * 1000;
	event_add(r->ev, &tv);
}

static void
req_tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct dns_req		*r = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	uint8_t			 hdr[2], *pkt;
	struct dns_answer	 ans;
	size_t			 n;

	if (evbuffer_get_length(in) < 2)
		return;
	evbuffer_copyout(in, hdr, 2);
	n = get16(hdr);
	if (evbuffer_get_length(in) < 2 + n)
		return;
	pkt = evbuffer_pullup(in, (ev_ssize_t)(2 + n));
	dns_parse_answer(pkt + 2, n, r->id, r->name, r->qtype, &ans);
	if (ans.status == DNS_BADPKT || ans.status == DNS_TRUNCATED)
		ans.status = DNS_TEMPFAIL;
	req_finish(r, &ans);
}

static void
req_tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dns_req	*r = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	req_fail(r, DNS_TEMPFAIL);
}

static void
req_start_tcp(struct dns_req *r)
{
	struct timeval	 tv;
	uint8_t		 hdr[2] = { (uint8_t)(r->qlen >> 8), (uint8_t)(r->qlen & 0xff) };

	r->bev = bufferevent_socket_new(r->c->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (r->bev == NULL) {
		r->tries_left = 0;
		r->ev = event_new(r->c->base, -1, 0, req_udp_cb, r);
		event_active(r->ev, EV_TIMEOUT, 0);
		return;
	}
	bufferevent_setcb(r->bev, req_tcp_read_cb, NULL, req_tcp_event_cb, r);
	tv.tv_sec = r->c->timeout_ms / 1000;
	tv.tv_usec = (r->c->timeout_ms % 1000) * 1000;
	bufferevent_set_timeouts(r->bev, &tv, &tv);
	bufferevent_setwatermark(r->bev, EV_READ, 0, DNS_PKT_MAX + 2);
	(void)bufferevent_write(r->bev, hdr, 2);
	(void)bufferevent_write(r->bev, r->q, (size_t)r->qlen);
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(r->bev, (struct sockaddr *)&r->c->ss, (int)r->c->sslen) < 0) {
		/* The bufferevent reports the error through its event callback
		 * only sometimes; make sure we finish from the loop. */
		bufferevent_free(r->bev);
		r->bev = NULL;
		r->tries_left = 0;
		r->ev = event_new(r->c->base, -1, 0, req_udp_cb, r);
		event_active(r->ev, EV_TIMEOUT, 0);
	}
}

struct dns_req *
dns_query(struct dns_client *c, const char *name, uint16_t qtype,
    void (*cb)(const struct dns_answer *ans, void *arg), void *arg)
{
	struct dns_req	*r = xcalloc(1, sizeof(*r));

	r->c = c;
	r->fd = -1;
	r->qtype = qtype;
	r->cb = cb;
	r->arg = arg;
	r->tries_left = c->tries;
	str_copy(r->name, name, sizeof(r->name));
	evutil_secure_rng_get_bytes(&r->id, sizeof(r->id));
	r->next = c->reqs;
	if (r->next != NULL)
		r->next->prevp = &r->next;
	r->prevp = &c->reqs;
	c->reqs = r;
	r->qlen = dns_build_query(r->id, name, qtype, r->q, sizeof(r->q));
	if (r->qlen < 0) {
		/* A name that cannot exist in the DNS. */
		r->tries_left = 0;
		r->ev = event_new(c->base, -1, 0, req_udp_cb, r);
		r->early = DNS_NXDOMAIN;
		event_active(r->ev, EV_TIMEOUT, 0);
		return r;
	}
	req_send_udp(r);
	return r;
}
