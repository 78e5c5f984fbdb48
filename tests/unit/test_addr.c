/*
 * Unit tests for src/lib/addr.c: domains, local parts, whole addresses,
 * lookup keys; table-driven, plus every prefix of valid inputs fed one
 * byte longer at a time (must never crash or read past len).
 * IDN vectors are from libidn2's idn2 tool (IDNA2008, TR46 non-transitional).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"
#include "t.h"

/* 63, 64 and 65 octets */
#define L63	"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"
#define L64	L63 "l"
#define L65	L64 "m"

static const struct {
	const char	*in;
	int		 want;
	const char	*norm;		/* stored form, or a substring of the error */
} domains[] = {
	{ "example.com",		0, "example.com" },
	{ "EXAMPLE.COM",		0, "example.com" },
	{ "Mail.Example.Org",		0, "mail.example.org" },
	{ "localhost",			0, "localhost" },
	{ "a",				0, "a" },
	{ "a-b.c-d.e",			0, "a-b.c-d.e" },
	{ "123.example",		0, "123.example" },
	{ "x1.2y",			0, "x1.2y" },
	{ L63 ".com",			0, L63 ".com" },
	{ "παράδειγμα.δοκιμή",		0, "xn--hxajbheg2az3al.xn--jxalpdlp" },
	{ "Bücher.EXAMPLE",		0, "xn--bcher-kva.example" },
	{ "münchen.de",			0, "xn--mnchen-3ya.de" },
	{ "ÖBB.at",			0, "xn--bb-eka.at" },
	{ "Faß.de",			0, "xn--fa-hia.de" },	/* non-transitional: ß kept */
	{ "例え.テスト",		0, "xn--r8jz45g.xn--zckzah" },
	{ "xn--mnchen-3ya.de",		0, "xn--mnchen-3ya.de" },
	{ "XN--MNCHEN-3YA.DE",		0, "xn--mnchen-3ya.de" },

	{ "",				-1, "empty" },
	{ ".",				-1, "trailing dot" },
	{ "example.com.",		-1, "trailing dot" },
	{ ".example.com",		-1, "empty label" },
	{ "a..b",			-1, "empty label" },
	{ "../etc",			-1, "'/'" },
	{ "..",				-1, "dot" },
	{ "a/b.com",			-1, "'/'" },
	{ "a\\b.com",			-1, "'/' or '\\'" },
	{ "a b.com",			-1, "space" },
	{ " example.com",		-1, "space" },
	{ "example.com ",		-1, "space" },
	{ "a\tb.com",			-1, "control" },
	{ "a\r\n.com",			-1, "control" },
	{ "a\x7f.com",			-1, "control" },
	{ "-a.com",			-1, "label starts with '-'" },
	{ "a-.com",			-1, "label ends with '-'" },
	{ "a.-com",			-1, "label starts with '-'" },
	{ "a.com-",			-1, "label ends with '-'" },
	{ "a_b.com",			-1, "invalid character" },
	{ "a@b.com",			-1, "'@'" },
	{ "a*b.com",			-1, "invalid character" },
	{ "[1.2.3.4]",			-1, "address literal" },
	{ "[IPv6:::1]",			-1, "address literal" },
	{ "1.2.3.4",			-1, "all-numeric" },
	{ "123",			-1, "all-numeric" },
	{ L64 ".com",			-1, "label longer than 63" },
	{ "xn--abc.com",		-1, "A-label" },
	{ "xn--zz.com",			-1, "A-label" },
	{ "a.xn--",			-1, "label ends with '-'" },
	{ "xn--a.com",			-1, "A-label" },
	{ "☃.net",			-1, "internationalized" },
	{ "\xff.com",			-1, "bad UTF-8" },
	{ "\xc3.com",			-1, "bad UTF-8" },
	{ "\xc0\xae.com",		-1, "bad UTF-8" },	/* overlong '.' */
	{ "\xed\xa0\x80.com",		-1, "bad UTF-8" },	/* surrogate */
	{ "a\xe3\x80\x82",		-1, "trailing dot" },	/* U+3002 maps to '.' */
};

static const struct {
	const char	*in;
	bool		 utf8;
	int		 want;
	const char	*norm;		/* normalized, or a substring of the error */
} addrs[] = {
	{ "alice@example.com",		false, 0, "alice@example.com" },
	{ "Alice@EXAMPLE.com",		false, 0, "Alice@example.com" },	/* local keeps case */
	{ "a@b",			false, 0, "a@b" },
	{ "first.last@example.com",	false, 0, "first.last@example.com" },
	{ "user+tag@example.com",	false, 0, "user+tag@example.com" },
	{ "!#$%&'*+-/=?^_`{|}~@example.com", false, 0, "!#$%&'*+-/=?^_`{|}~@example.com" },
	{ "postmaster@localhost",	false, 0, "postmaster@localhost" },
	{ "\"john..doe\"@example.com",	false, 0, "\"john..doe\"@example.com" },
	{ "\"john doe\"@example.com",	false, 0, "\"john doe\"@example.com" },
	{ "\"a@b\"@example.com",	false, 0, "\"a@b\"@example.com" },
	{ "\"a\\\"b\"@example.com",	false, 0, "\"a\\\"b\"@example.com" },
	{ "\"a\\\\b\"@example.com",	false, 0, "\"a\\\\b\"@example.com" },
	{ "\"\"@example.com",		false, 0, "\"\"@example.com" },		/* *QcontentSMTP */
	{ "\".a\"@example.com",		false, 0, "\".a\"@example.com" },
	{ "user@Bücher.example",	false, 0, "user@xn--bcher-kva.example" },
	{ "δοκιμή@παράδειγμα.δοκιμή",	true, 0, "δοκιμή@xn--hxajbheg2az3al.xn--jxalpdlp" },
	{ "用户@例子.广告",		true, 0, "用户@xn--fsqu00a.xn--4rr70v" },
	{ "\"δοκιμή x\"@example.com",	true, 0, "\"δοκιμή x\"@example.com" },
	{ "\xf0\x9f\x93\xa7@example.com", true, 0, "\xf0\x9f\x93\xa7@example.com" },	/* U+1F4E7 */
	{ L64 "@example.com",		false, 0, L64 "@example.com" },
	{ "\"" L63 "@x\"@b",		false, -1, "longer than 64" },

	{ "δοκιμή@παράδειγμα.δοκιμή",	false, -1, "non-ASCII" },
	{ "\"δ\"@example.com",		false, -1, "non-ASCII" },
	{ L65 "@example.com",		false, -1, "local part longer than 64" },
	{ "",				false, -1, "empty" },
	{ "@",				false, -1, "empty domain" },
	{ "@example.com",		false, -1, "empty local part" },
	{ "alice@",			false, -1, "empty domain" },
	{ "alice",			false, -1, "missing '@'" },
	{ "x\"@",			false, -1, "" },
	{ "x\"@example.com",		false, -1, "'\"'" },
	{ "\"x@example.com",		false, -1, "unterminated" },
	{ "\"x\"y@example.com",		false, -1, "after the closing" },
	{ "\"x\\\"@example.com",	false, -1, "unterminated" },
	{ "\"x\\\x01\"@example.com",	false, -1, "escape" },
	{ "\"x\x01\"@example.com",	false, -1, "control" },
	{ "\"x\x7f\"@example.com",	false, -1, "control" },
	{ "\"x\\",			false, -1, "missing" },
	{ ".alice@example.com",		false, -1, "starts with '.'" },
	{ "alice.@example.com",		false, -1, "ends with '.'" },
	{ "john..doe@example.com",	false, -1, "'..'" },
	{ "a b@example.com",		false, -1, "invalid character" },
	{ "a(b)@example.com",		false, -1, "invalid character" },
	{ "a,b@example.com",		false, -1, "invalid character" },
	{ "a\\@b@example.com",		false, -1, "invalid character" },
	{ "a\r\nRCPT@example.com",	false, -1, "invalid character" },
	{ "<a@example.com>",		false, -1, "" },
	{ "a@example.com.",		false, -1, "trailing dot" },
	{ "a@[192.0.2.1]",		false, -1, "address literal" },
	{ "a@-example.com",		false, -1, "label starts with '-'" },
	{ "a@exa mple.com",		false, -1, "space" },
	{ "a@../etc",			false, -1, "'/'" },
	{ "\xff@example.com",		true, -1, "bad UTF-8" },
	{ "\xc3@example.com",		true, -1, "bad UTF-8" },		/* truncated */
	{ "\xc3\x28@example.com",	true, -1, "bad UTF-8" },
	{ "\xc0\x80@example.com",	true, -1, "bad UTF-8" },		/* overlong NUL */
	{ "\xe0\x80\xaf@example.com",	true, -1, "bad UTF-8" },		/* overlong '/' */
	{ "\xf0\x80\x80\xaf@example.com", true, -1, "bad UTF-8" },
	{ "\xed\xa0\x80@example.com",	true, -1, "bad UTF-8" },		/* U+D800 */
	{ "\xed\xbf\xbf@example.com",	true, -1, "bad UTF-8" },		/* U+DFFF */
	{ "\xf4\x90\x80\x80@example.com", true, -1, "bad UTF-8" },		/* > U+10FFFF */
	{ "\xf8\x88\x80\x80\x80@example.com", true, -1, "bad UTF-8" },
	{ "\xc2\x85@example.com",	true, -1, "bad UTF-8" },		/* C1 NEL */
	{ "\"\xed\xa0\x80\"@example.com", true, -1, "bad UTF-8" },
	{ "\xe2\x82@example.com",	true, -1, "bad UTF-8" },
};

static void
test_domains(void)
{
	const char	*err;
	char		*norm;
	size_t		 i;
	int		 r;

	for (i = 0; i < sizeof(domains) / sizeof(domains[0]); i++) {
		err = NULL;
		r = domain_normalize(domains[i].in, &norm, &err);
		if (!t_int(r, domains[i].want))
			printf("  domain case %zu \"%s\": %s\n", i, domains[i].in,
			    err ? err : norm);
		if (r == 0) {
			t_str(norm, domains[i].norm);
			free(norm);
		} else {
			t_ok(norm == NULL);
			if (!t_ok(err != NULL && strncmp(err, "invalid domain: ", 16) == 0 &&
			    strstr(err, domains[i].norm) != NULL))
				printf("  domain case %zu: err \"%s\"\n", i, err ? err : "(null)");
		}
	}
	t_int(domain_normalize(NULL, &norm, &err), -1);
}

static void
test_domain_lengths(void)
{
	char		 d[300], *norm;
	const char	*err;
	size_t		 n;

	/* 63+1+63+1+63+1+61 = 253 octets is the DNS maximum */
	memset(d, 'a', sizeof(d));
	d[63] = d[127] = d[191] = '.';
	d[253] = '\0';
	n = strlen(d);
	t_int(n, 253);
	t_int(domain_normalize(d, &norm, &err), 0);
	free(norm);
	d[253] = 'a';
	d[254] = '\0';
	t_int(domain_normalize(d, &norm, &err), -1);
	t_ok(strstr(err, "253") != NULL);
}

static void
test_addrs(void)
{
	const char	*err;
	char		*norm;
	size_t		 i;
	int		 r;

	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		err = NULL;
		r = addr_normalize(addrs[i].in, strlen(addrs[i].in), addrs[i].utf8,
		    &norm, &err);
		if (!t_int(r, addrs[i].want))
			printf("  addr case %zu \"%s\": %s\n", i, addrs[i].in,
			    err ? err : norm);
		if (r == 0) {
			t_str(norm, addrs[i].norm);
			free(norm);
		} else {
			t_ok(norm == NULL);
			if (!t_ok(err != NULL && strncmp(err, "invalid ", 8) == 0 &&
			    strstr(err, addrs[i].norm) != NULL))
				printf("  addr case %zu: err \"%s\"\n", i, err ? err : "(null)");
		}
		/* a valid ASCII address is valid with SMTPUTF8 too */
		if (r == 0 && !addrs[i].utf8) {
			t_int(addr_normalize(addrs[i].in, strlen(addrs[i].in), true,
			    &norm, &err), 0);
			free(norm);
		}
	}
}

static void
test_addr_misc(void)
{
	char		 a[400], *norm;
	const char	*err;

	/* NUL inside the given length */
	t_int(addr_normalize("a\0b@example.com", 15, false, &norm, &err), -1);
	t_ok(strstr(err, "NUL") != NULL);
	t_int(addr_normalize("a@example.com\0", 14, false, &norm, &err), -1);
	/* len bounds the input: the rest is not looked at */
	t_int(addr_normalize("a@example.comXXX", 13, false, &norm, &err), 0);
	t_str(norm, "a@example.com");
	free(norm);
	t_int(addr_normalize(NULL, 0, false, &norm, &err), -1);

	/* 254 octets in all is the limit: 64 + 1 + 189 */
	memset(a, 'a', sizeof(a));
	a[64] = '@';
	a[65 + 63] = a[65 + 127] = '.';
	a[254] = '\0';
	t_int(addr_normalize(a, 254, false, &norm, &err), 0);
	free(norm);
	a[254] = 'a';
	a[255] = '\0';
	t_int(addr_normalize(a, 255, false, &norm, &err), -1);
	t_ok(strstr(err, "254") != NULL);

	t_str(addr_at("a@b@c"), "@c");
	t_str(addr_at("\"a@b\"@c"), "@c");
	t_ok(addr_at("abc") == NULL);
	t_ok(addr_at(NULL) == NULL);

	t_ok(addr_local_valid("alice", 5, false));
	t_ok(addr_local_valid("alice@x", 5, false));		/* only len counts */
	t_ok(addr_local_valid("\"a b\"", 5, false));
	t_ok(addr_local_valid(L64, 64, false));
	t_ok(!addr_local_valid(L65, 65, false));
	t_ok(!addr_local_valid("", 0, false));
	t_ok(!addr_local_valid(NULL, 0, false));
	t_ok(!addr_local_valid("a@b", 3, false));
	t_ok(!addr_local_valid("\"a", 2, false));
	t_ok(!addr_local_valid("\"", 1, false));
	t_ok(addr_local_valid("δ", 2, true));
	t_ok(!addr_local_valid("δ", 2, false));
	t_ok(!addr_local_valid("δ", 1, true));			/* cut inside a sequence */
}

static const struct {
	const char	*in;
	bool		 cs;
	const char	*key;
} keys[] = {
	{ "Alice@Example.COM",		false, "alice@example.com" },
	{ "Alice@Example.COM",		true,  "Alice@example.com" },
	{ "ÄLICE@Bücher.example",	false, "Älice@xn--bcher-kva.example" },
	{ "Δοκιμή@παράδειγμα.δοκιμή",	false, "Δοκιμή@xn--hxajbheg2az3al.xn--jxalpdlp" },
	{ "\"John\"@example.com",	false, "john@example.com" },
	{ "\"John\"@example.com",	true,  "John@example.com" },
	{ "\"j\\ohn\"@example.com",	false, "john@example.com" },
	{ "\"John Doe\"@example.com",	false, "\"john doe\"@example.com" },
	{ "\"john..doe\"@example.com",	false, "\"john..doe\"@example.com" },
	{ "\"\"@example.com",		false, "\"\"@example.com" },
	{ "bad..dots@example.com",	false, NULL },
	{ "nobody",			false, NULL },
	{ "x\"@",			false, NULL },
	{ NULL,				false, NULL },
};

static void
test_keys(void)
{
	char	*k;
	size_t	 i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		k = addr_lookup_key(keys[i].in, keys[i].cs);
		if (!t_str(k, keys[i].key))
			printf("  key case %zu\n", i);
		free(k);
	}
}

/*
 * Every prefix of each input, in a heap copy of exactly that length (no NUL
 * after it) so ASan catches a read past len; the NUL-terminated entry points
 * get the same prefix as a C string.
 */
static void
test_prefixes(void)
{
	static const char *const in[] = {
		"δοκιμή@παράδειγμα.δοκιμή",
		"\"john..doe\\\"x\"@Example.COM",
		"user+tag@xn--mnchen-3ya.de",
		"\"a@b\"@c.d",
		"\xf0\x9f\x93\xa7@例え.テスト",
	};
	const char	*err;
	char		*p, *q, *norm;
	size_t		 i, n, len;
	int		 ok = 1;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		len = strlen(in[i]);
		for (n = 0; n <= len; n++) {
			q = malloc(n > 0 ? n : 1);
			memcpy(q, in[i], n);
			norm = NULL;
			err = NULL;
			if (addr_normalize(q, n, true, &norm, &err) == 0)
				ok &= norm != NULL;
			else
				ok &= norm == NULL && err != NULL;
			free(norm);
			if (addr_normalize(q, n, false, &norm, &err) == 0)
				free(norm);
			(void)addr_local_valid(q, n, true);
			(void)addr_local_valid(q, n, false);
			free(q);

			p = malloc(n + 1);
			memcpy(p, in[i], n);
			p[n] = '\0';
			free(addr_lookup_key(p, false));
			if (domain_normalize(p, &norm, &err) == 0)
				free(norm);
			(void)addr_at(p);
			free(p);
		}
		/* the full input is a valid address */
		t_int(addr_normalize(in[i], len, true, &norm, &err), 0);
		free(norm);
	}
	t_ok(ok);
}

int
main(void)
{
	t_begin("addr");
	test_domains();
	test_domain_lengths();
	test_addrs();
	test_addr_misc();
	test_keys();
	test_prefixes();
	return t_end();
}
