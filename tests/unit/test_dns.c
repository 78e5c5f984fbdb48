/*
 * DNS query builder and answer parser (src/net/dns.h): constructed
 * packets for MX, null MX, A/AAAA with CNAME, every error RCODE, bad ids,
 * compression loops and forward pointers, every truncation of a valid
 * answer, random corruption, and the nameserver address parser.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/dns.h"
#include "t.h"

struct pkt {
	uint8_t	 b[2048];
	size_t	 len;
};

static void
p8(struct pkt *p, unsigned v)
{
	p->b[p->len++] = (uint8_t)v;
}

static void
p16(struct pkt *p, unsigned v)
{
	p8(p, v >> 8);
	p8(p, v & 0xff);
}

static void
pname(struct pkt *p, const char *name)
{
	const char *s = name, *dot;

	while (*s) {
		dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		p8(p, (unsigned)l);
		memcpy(p->b + p->len, s, l);
		p->len += l;
		s += l;
		if (*s == '.')
			s++;
	}
	p8(p, 0);
}

static void
pptr(struct pkt *p, unsigned off)
{
	p16(p, 0xc000 | off);
}

/* Header + question for name/type; rcode; flags extra (TC). */
static void
phead(struct pkt *p, uint16_t id, unsigned rcode, unsigned ancount, const char *name,
    unsigned qtype, bool tc)
{
	p->len = 0;
	p16(p, id);
	p8(p, 0x81 | (tc ? 0x02 : 0));	/* QR, RD */
	p8(p, 0x80 | rcode);		/* RA */
	p16(p, 1);
	p16(p, ancount);
	p16(p, 0);
	p16(p, 0);
	pname(p, name);
	p16(p, qtype);
	p16(p, 1);
}

/* RR header with owner as a pointer to the question name (offset 12). */
static void
prr(struct pkt *p, unsigned owner_ptr, unsigned type, unsigned rdlen)
{
	pptr(p, owner_ptr);
	p16(p, type);
	p16(p, 1);
	p16(p, 0);
	p16(p, 300);
	p16(p, rdlen);
}

/* example.test MX: 20 mx2 (compressed suffix), 10 mx1.example.test (plain). */
static void
mx_packet(struct pkt *p, uint16_t id)
{
	size_t rd;

	phead(p, id, 0, 2, "example.test", DNS_T_MX, false);
	prr(p, 12, DNS_T_MX, 0);
	rd = p->len;
	p16(p, 20);
	p8(p, 3);
	memcpy(p->b + p->len, "mx2", 3);
	p->len += 3;
	pptr(p, 12);
	p->b[rd - 2] = 0;
	p->b[rd - 1] = (uint8_t)(p->len - rd);
	prr(p, 12, DNS_T_MX, 0);
	rd = p->len;
	p16(p, 10);
	pname(p, "MX1.Example.Test");
	p->b[rd - 2] = 0;
	p->b[rd - 1] = (uint8_t)(p->len - rd);
}

static void
test_build(void)
{
	uint8_t		 q[512];
	int		 n;
	char		 name[DNS_NAME_MAX];
	size_t		 off = 12;

	n = dns_build_query(0x1234, "example.test.", DNS_T_MX, q, sizeof(q));
	t_ok(n == 12 + 14 + 4 + 11);
	t_int(q[0], 0x12);
	t_int(q[1], 0x34);
	t_int(q[2], 0x01);
	t_int(q[5], 1);
	t_int(q[11], 1);
	t_ok(dns_read_name(q, (size_t)n, &off, name) == 0);
	t_str(name, "example.test");
	t_int(q[off + 1], DNS_T_MX);
	t_ok(dns_build_query(1, "", DNS_T_A, q, sizeof(q)) < 0);
	t_ok(dns_build_query(1, "a..b", DNS_T_A, q, sizeof(q)) < 0);
	t_ok(dns_build_query(1, ".", DNS_T_A, q, sizeof(q)) < 0);
	t_ok(dns_build_query(1, "a b.test", DNS_T_A, q, sizeof(q)) < 0);
	t_ok(dns_build_query(1, "0123456789012345678901234567890123456789012345678901234567890123.x",
	    DNS_T_A, q, sizeof(q)) < 0);	/* label of 64 */
	t_ok(dns_build_query(1, "example.test", DNS_T_A, q, 20) < 0);
}

static void
test_mx(void)
{
	struct pkt		 p;
	struct dns_answer	 a;

	mx_packet(&p, 77);
	t_int(dns_parse_answer(p.b, p.len, 77, "example.test", DNS_T_MX, &a), DNS_OK);
	t_int(a.nmx, 2);
	t_int(a.mx[0].pref, 20);
	t_str(a.mx[0].host, "mx2.example.test");
	t_int(a.mx[1].pref, 10);
	t_str(a.mx[1].host, "mx1.example.test");
	/* question name compared without case, trailing dot optional */
	t_int(dns_parse_answer(p.b, p.len, 77, "EXAMPLE.test.", DNS_T_MX, &a), DNS_OK);
	/* wrong id, wrong name, wrong type */
	t_int(dns_parse_answer(p.b, p.len, 78, "example.test", DNS_T_MX, &a), DNS_BADPKT);
	t_int(dns_parse_answer(p.b, p.len, 77, "other.test", DNS_T_MX, &a), DNS_BADPKT);
	t_int(dns_parse_answer(p.b, p.len, 77, "example.test", DNS_T_A, &a), DNS_BADPKT);

	/* Every truncation of the valid answer is rejected, and never read past. */
	for (size_t l = 0; l < p.len; l++) {
		uint8_t *cut = malloc(l ? l : 1);

		memcpy(cut, p.b, l);
		t_ok(dns_parse_answer(cut, l, 77, "example.test", DNS_T_MX, &a) == DNS_BADPKT);
		free(cut);
	}

	/* Random corruption: anything may come out, but safely (ASan run). */
	srandom(42);
	for (int i = 0; i < 20000; i++) {
		struct pkt c = p;
		int k = 1 + (int)(random() % 4);

		while (k--)
			c.b[random() % c.len] = (uint8_t)random();
		(void)dns_parse_answer(c.b, c.len, 77, "example.test", DNS_T_MX, &a);
		t_ok(a.nmx <= DNS_RR_MAX);
	}
}

static void
test_null_mx(void)
{
	struct pkt		 p;
	struct dns_answer	 a;

	phead(&p, 5, 0, 1, "nomail.test", DNS_T_MX, false);
	prr(&p, 12, DNS_T_MX, 3);
	p16(&p, 0);
	p8(&p, 0);
	t_int(dns_parse_answer(p.b, p.len, 5, "nomail.test", DNS_T_MX, &a), DNS_OK);
	t_int(a.nmx, 1);
	t_int(a.mx[0].pref, 0);
	t_str(a.mx[0].host, "");

	/* NODATA: no records at all */
	phead(&p, 6, 0, 0, "nomx.test", DNS_T_MX, false);
	t_int(dns_parse_answer(p.b, p.len, 6, "nomx.test", DNS_T_MX, &a), DNS_OK);
	t_int(a.nmx, 0);

	/* MX rdata too short */
	phead(&p, 5, 0, 1, "nomail.test", DNS_T_MX, false);
	prr(&p, 12, DNS_T_MX, 2);
	p16(&p, 0);
	t_int(dns_parse_answer(p.b, p.len, 5, "nomail.test", DNS_T_MX, &a), DNS_BADPKT);
	/* rdlength says more than the name takes */
	phead(&p, 5, 0, 1, "nomail.test", DNS_T_MX, false);
	prr(&p, 12, DNS_T_MX, 4);
	p16(&p, 0);
	p8(&p, 0);
	p8(&p, 0);
	t_int(dns_parse_answer(p.b, p.len, 5, "nomail.test", DNS_T_MX, &a), DNS_BADPKT);
}

static void
test_rcodes(void)
{
	static const struct { unsigned rcode; enum dns_rcode_kind want; } cases[] = {
		{ 0, DNS_OK }, { 1, DNS_TEMPFAIL }, { 2, DNS_TEMPFAIL }, { 3, DNS_NXDOMAIN },
		{ 4, DNS_TEMPFAIL }, { 5, DNS_TEMPFAIL },
	};
	struct pkt		 p;
	struct dns_answer	 a;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		phead(&p, 9, cases[i].rcode, 0, "x.test", DNS_T_MX, false);
		t_int(dns_parse_answer(p.b, p.len, 9, "x.test", DNS_T_MX, &a), cases[i].want);
	}
	phead(&p, 9, 0, 0, "x.test", DNS_T_MX, true);
	t_int(dns_parse_answer(p.b, p.len, 9, "x.test", DNS_T_MX, &a), DNS_TRUNCATED);
	/* a query (QR = 0) is not an answer */
	phead(&p, 9, 0, 0, "x.test", DNS_T_MX, false);
	p.b[2] &= 0x7f;
	t_int(dns_parse_answer(p.b, p.len, 9, "x.test", DNS_T_MX, &a), DNS_BADPKT);
}

static void
test_compression(void)
{
	struct pkt	 p;
	char		 name[DNS_NAME_MAX];
	size_t		 off;

	/* pointer to itself */
	p.len = 0;
	memset(p.b, 0, 12);
	p.len = 12;
	pptr(&p, 12);
	off = 12;
	t_ok(dns_read_name(p.b, p.len, &off, name) < 0);
	/* two pointers at each other: 12 -> 14 (forward) */
	p.len = 12;
	pptr(&p, 14);
	pptr(&p, 12);
	off = 12;
	t_ok(dns_read_name(p.b, p.len, &off, name) < 0);
	off = 14;
	t_ok(dns_read_name(p.b, p.len, &off, name) < 0);
	/* label then pointer back to the label: a loop through a label */
	p.len = 12;
	p8(&p, 1);
	p8(&p, 'a');
	pptr(&p, 12);
	off = 12;
	t_ok(dns_read_name(p.b, p.len, &off, name) < 0);
	/* a good backwards chain: "b" + ptr -> "a" + root */
	p.len = 12;
	pname(&p, "a.test");	/* at 12 */
	size_t b = p.len;
	p8(&p, 1);
	p8(&p, 'b');
	pptr(&p, 12);
	off = b;
	t_ok(dns_read_name(p.b, p.len, &off, name) == 0);
	t_str(name, "b.a.test");
	t_int(off, p.len);
	/* extended label types 0x40 / 0x80 */
	p.len = 12;
	p8(&p, 0x41);
	p8(&p, 0);
	off = 12;
	t_ok(dns_read_name(p.b, p.len, &off, name) < 0);
	/* a name longer than 255 bytes through pointers */
	p.len = 12;
	size_t prev = 0;
	for (int i = 0; i < 5; i++) {
		size_t here = p.len;

		p8(&p, 60);
		memset(p.b + p.len, 'x', 60);
		p.len += 60;
		if (i == 0)
			p8(&p, 0);
		else
			pptr(&p, (unsigned)prev);
		prev = here;
	}
	off = prev;
	t_ok(dns_read_name(p.b, p.len, &off, name) < 0);
	/* a pointer chain longer than DNS_PTR_MAX, each strictly backwards */
	p.len = 12;
	p8(&p, 0);		/* root at 12 */
	for (int i = 0; i < DNS_PTR_MAX + 2; i++)
		pptr(&p, (unsigned)(p.len - (i == 0 ? 1 : 2)));
	off = p.len - 2;
	t_ok(dns_read_name(p.b, p.len, &off, name) < 0);
	/* bad characters in a label */
	p.len = 12;
	p8(&p, 3);
	p8(&p, 'a');
	p8(&p, '.');
	p8(&p, 'b');
	p8(&p, 0);
	off = 12;
	t_ok(dns_read_name(p.b, p.len, &off, name) < 0);
}

static void
test_addr_cname(void)
{
	struct pkt		 p;
	struct dns_answer	 a;
	size_t			 alias;

	/* www.test CNAME host.test ; host.test A 192.0.2.7 ; other A ignored */
	phead(&p, 3, 0, 3, "www.test", DNS_T_A, false);
	prr(&p, 12, DNS_T_CNAME, 0);
	alias = p.len;
	pname(&p, "host.test");
	p.b[alias - 1] = (uint8_t)(p.len - alias);
	pptr(&p, (unsigned)alias);
	p16(&p, DNS_T_A);
	p16(&p, 1);
	p16(&p, 0);
	p16(&p, 60);
	p16(&p, 4);
	p8(&p, 192); p8(&p, 0); p8(&p, 2); p8(&p, 7);
	pname(&p, "evil.test");
	p16(&p, DNS_T_A);
	p16(&p, 1);
	p16(&p, 0);
	p16(&p, 60);
	p16(&p, 4);
	p8(&p, 6); p8(&p, 6); p8(&p, 6); p8(&p, 6);
	t_int(dns_parse_answer(p.b, p.len, 3, "www.test", DNS_T_A, &a), DNS_OK);
	t_int(a.naddr, 1);
	t_int(a.addr[0].family, AF_INET);
	t_int(a.addr[0].a[3], 7);

	/* AAAA, and a wrong rdlength */
	phead(&p, 4, 0, 1, "v6.test", DNS_T_AAAA, false);
	prr(&p, 12, DNS_T_AAAA, 16);
	for (int i = 0; i < 16; i++)
		p8(&p, i == 15 ? 1 : 0);
	t_int(dns_parse_answer(p.b, p.len, 4, "v6.test", DNS_T_AAAA, &a), DNS_OK);
	t_int(a.naddr, 1);
	t_int(a.addr[0].family, AF_INET6);
	t_int(a.addr[0].a[15], 1);
	phead(&p, 4, 0, 1, "v6.test", DNS_T_AAAA, false);
	prr(&p, 12, DNS_T_AAAA, 4);
	p8(&p, 1); p8(&p, 2); p8(&p, 3); p8(&p, 4);
	t_int(dns_parse_answer(p.b, p.len, 4, "v6.test", DNS_T_AAAA, &a), DNS_BADPKT);
}

static void
test_server(void)
{
	static const struct { const char *in; int rc; int family; unsigned port; } cases[] = {
		{ "127.0.0.1", 0, AF_INET, 53 },
		{ "127.0.0.1:5353", 0, AF_INET, 5353 },
		{ "[::1]:5353", 0, AF_INET6, 5353 },
		{ "[::1]", 0, AF_INET6, 53 },
		{ "::1", 0, AF_INET6, 53 },
		{ "127.0.0.1:0", -1, 0, 0 },
		{ "127.0.0.1:99999", -1, 0, 0 },
		{ "127.0.0.1:x", -1, 0, 0 },
		{ "dns.example", -1, 0, 0 },
		{ "[::1", -1, 0, 0 },
		{ "", -1, 0, 0 },
	};
	struct sockaddr_storage	 ss;
	socklen_t		 sl;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = dns_parse_server(cases[i].in, &ss, &sl);

		if (!t_int(rc, cases[i].rc))
			printf("  case %s\n", cases[i].in);
		if (rc == 0) {
			t_int(ss.ss_family, cases[i].family);
			t_int(ntohs(((struct sockaddr_in *)&ss)->sin_port), cases[i].port);
		}
	}
}

int
main(void)
{
	t_begin("dns");
	test_build();
	test_mx();
	test_null_mx();
	test_rcodes();
	test_compression();
	test_addr_cname();
	test_server();
	return t_end();
}
