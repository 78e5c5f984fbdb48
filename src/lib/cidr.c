/* CIDR network lists and socket address text; see cidr.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cidr.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

struct net {
	int		family;
	unsigned char	addr[16];
	unsigned	bits;
};

struct netlist {
	struct net	*v;
	size_t		 n;
};

static int
net_parse(const char *s, size_t len, struct net *n)
{
	char		 tmp[80];
	char		*slash, *a;
	uint64_t	 bits;
	unsigned	 maxbits;

	if (len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	slash = strchr(tmp, '/');
	if (slash != NULL)
		*slash++ = '\0';
	a = tmp;
	if (a[0] == '[') {
		size_t al = strlen(a);
		if (al < 2 || a[al - 1] != ']')
			return -1;
		a[al - 1] = '\0';
		a++;
	}
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, a, n->addr) == 1) {
		n->family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, a, n->addr) == 1) {
		n->family = AF_INET6;
		maxbits = 128;
	} else
		return -1;
	if (slash != NULL) {
		if (parse_u64(slash, strlen(slash), maxbits, &bits) < 0)
			return -1;
		n->bits = (unsigned)bits;
	} else
		n->bits = maxbits;
	return 0;
}

struct netlist_ctx {
	struct netlist	*nl;
	int		 bad;
};

static int
netlist_add(const char *item, size_t len, void *arg)
{
	struct netlist_ctx	*c = arg;
	struct net		 n;

	if (net_parse(item, len, &n) < 0) {
		c->bad = 1;
		return -1;
	}
	c->nl->v = xreallocarray(c->nl->v, c->nl->n + 1, sizeof(n));
	c->nl->v[c->nl->n++] = n;
	return 0;
}

struct netlist *
netlist_parse(const char *text, const char **err_r)
{
	struct netlist_ctx c = { xcalloc(1, sizeof(struct netlist)), 0 };

	str_each_item(text, netlist_add, &c);
	if (c.bad) {
		netlist_free(&c.nl);
		*err_r = "bad network (want ADDR or ADDR/BITS, IPv6 optionally in [])";
		return NULL;
	}
	return c.nl;
}

void
netlist_free(struct netlist **nl)
{
	if (*nl == NULL)
		return;
	free((*nl)->v);
	xfree(nl);
}

static bool
prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned bytes = bits / 8, rem = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rem == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (0xff << (8 - rem))) == 0;
}

bool
netlist_match(const struct netlist *nl, const struct sockaddr *sa)
{
	const unsigned char	*a;
	unsigned char		 v4[4];
	int			 fam;
	size_t			 i;

	if (nl == NULL || sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		a = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
		fam = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(v4, (const unsigned char *)a6 + 12, 4);
			a = v4;
			fam = AF_INET;
		} else {
			a = (const unsigned char *)a6;
			fam = AF_INET6;
		}
	} else
		return false;
	for (i = 0; i < nl->n; i++)
		if (nl->v[i].family == fam && prefix_eq(a, nl->v[i].addr, nl->v[i].bits))
			return true;
	return false;
}

int
sockaddr_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len_r)
{
	char		 host[64];
	const char	*colon, *h;
	size_t		 hl;
	uint64_t	 port;

	colon = strrchr(text, ':');
	if (colon == NULL || parse_u64(colon + 1, strlen(colon + 1), 65535, &port) < 0)
		return -1;
	h = text;
	hl = (size_t)(colon - text);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (strchr(host, ':') == NULL) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return -1;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*len_r = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return -1;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len_r = sizeof(*in6);
	}
	return 0;
}

const char *
sockaddr_ntop(const struct sockaddr *sa, char *buf, size_t sz)
{
	const void *a = NULL;

	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (a == NULL || inet_ntop(sa->sa_family, a, buf, (socklen_t)sz) == NULL)
		str_copy(buf, "unknown", sz);
	return buf;
}

int
sockaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}
