/*
 * net/tls: certificate creation (modes, names, validity), context loading
 * errors, and real handshakes in process over socketpairs: implicit TLS,
 * STARTTLS through the filter (and the injection check), SNI, the protocol
 * floor, opportunistic client verification, the graceful close.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/conf.h"
#include "lib/xmalloc.h"
#include "net/tls.h"
#include "t.h"

static char	 tmpdir[] = "/tmp/test_tls.XXXXXX";

static char *
path(const char *rel)
{
	return xasprintf("%s/%s", tmpdir, rel);
}

static mode_t
file_mode(const char *rel)
{
	struct stat	 st;
	char		*p = path(rel);
	int		 r = stat(p, &st);

	free(p);
	return r == 0 ? (st.st_mode & 07777) : (mode_t)-1;
}

static void
make_cert(const char *sub, const char *host)
{
	char	*c = xasprintf("%s/%s/cert.pem", tmpdir, sub);
	char	*k = xasprintf("%s/%s/key.pem", tmpdir, sub);
	char	*err = NULL;

	if (!t_ok(tls_cert_create(c, k, host, &err) == 0))
		printf("  tls_cert_create %s: %s\n", host, err);
	free(err);
	free(c);
	free(k);
}

/* A config file in tmpdir with the given extra lines; loaded. */
static struct conf *
conf_with(const char *lines)
{
	char		*p = path("letterbox.conf"), *err = NULL;
	FILE		*f = fopen(p, "w");
	struct conf	*c;

	fputs(lines, f);
	fclose(f);
	if ((c = conf_load(p, &err)) == NULL)
		printf("  conf_load: %s\n", err);
	free(err);
	free(p);
	return c;
}

static struct tls_ctx *
server_ctx(const char *lines, char **err_r)
{
	struct conf	*c = conf_with(lines);
	struct tls_ctx	*t;

	*err_r = NULL;
	if (c == NULL)
		return NULL;
	t = tls_ctx_new(c, err_r);
	conf_free(&c);
	return t;
}

static X509 *
read_cert(const char *rel)
{
	char	*p = path(rel);
	FILE	*f = fopen(p, "r");
	X509	*x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	free(p);
	return x;
}

static void
cn_of(X509 *x, char *buf, size_t sz)
{
	buf[0] = '\0';
	if (x == NULL || X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    buf, (int)sz) < 0)
		buf[0] = '\0';
}

static void
test_cert_create(void)
{
	X509			*x;
	EVP_PKEY		*pk;
	GENERAL_NAMES		*san;
	BASIC_CONSTRAINTS	*bc;
	char			 cn[256], *err = NULL;
	int			 days, secs;

	make_cert("tls", "mail.example.test");
	t_int(file_mode("tls/key.pem"), 0600);
	t_int(file_mode("tls/cert.pem"), 0644);
	t_int(file_mode("tls"), 0755);

	t_ok((x = read_cert("tls/cert.pem")) != NULL);
	if (x == NULL)
		return;
	cn_of(x, cn, sizeof(cn));
	t_str(cn, "mail.example.test");
	san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	t_ok(san != NULL && sk_GENERAL_NAME_num(san) == 1);
	if (san != NULL && sk_GENERAL_NAME_num(san) == 1) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(san, 0);

		t_int(gn->type, GEN_DNS);
		t_str((const char *)ASN1_STRING_get0_data(gn->d.dNSName), "mail.example.test");
	}
	GENERAL_NAMES_free(san);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	t_ok(bc != NULL && bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	t_ok(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	t_ok(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
	t_int(X509_check_host(x, "mail.example.test", 0, 0, NULL), 1);
	t_int(X509_check_host(x, "localhost", 0, 0, NULL), 0);
	/* Valid now, for ten years. */
	t_ok(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
	t_ok(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)) == 1);
	t_ok(days >= 3649 && days <= 3650);
	t_int(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
	pk = X509_get0_pubkey(x);
	t_int(EVP_PKEY_get_base_id(pk), EVP_PKEY_RSA);
	t_int(EVP_PKEY_get_bits(pk), 2048);
	t_int(X509_verify(x, pk), 1);		/* self-signed */
	{
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);

		t_int(BN_num_bits(bn), 127);	/* 128 random bits, top two fixed */
		BN_free(bn);
	}
	X509_free(x);

	/* A second run replaces both files, with a new serial and key. */
	{
		X509 *a = read_cert("tls/cert.pem"), *b;

		make_cert("tls", "mail.example.test");
		b = read_cert("tls/cert.pem");
		t_ok(a && b && ASN1_INTEGER_cmp(X509_get0_serialNumber(a),
		    X509_get0_serialNumber(b)) != 0);
		t_int(file_mode("tls/key.pem"), 0600);
		X509_free(a);
		X509_free(b);
	}

	/* A umask does not change the modes. */
	{
		mode_t old = umask(077);

		make_cert("umask", "u.example.test");
		umask(old);
		t_int(file_mode("umask/cert.pem"), 0644);
		t_int(file_mode("umask/key.pem"), 0600);
		t_int(file_mode("umask"), 0755);
	}
	{
		char *c = path("deep/a/b/cert.pem"), *k = path("deep/k/key.pem");

		t_int(tls_cert_create(c, k, "deep.example.test", &err), 0);
		t_int(file_mode("deep/a/b"), 0755);
		t_int(file_mode("deep/k/key.pem"), 0600);
		free(c);
		free(k);
	}

	/* No leftovers from the temp + rename. */
	{
		char	*cmd = xasprintf("ls %s/tls | grep -c tmp >/dev/null", tmpdir);

		t_ok(system(cmd) != 0);
		free(cmd);
	}

	/* Host names that could smuggle a second SAN or are not names. */
	{
		static const char *bad[] = { "", "a,DNS:evil.test", "a b", ".a", "a..b", "a/b", NULL };
		char *c = path("bad/cert.pem"), *k = path("bad/key.pem");

		for (int i = 0; bad[i] != NULL; i++) {
			t_int(tls_cert_create(c, k, bad[i], &err), -1);
			t_ok(err != NULL);
			free(err);
			err = NULL;
		}
		free(c);
		free(k);
	}
}

static void
test_ctx_load(void)
{
	struct tls_ctx	*t;
	char		*err = NULL;

	/* Defaults: $config_directory/tls/{cert,key}.pem. */
	t = server_ctx("", &err);
	t_ok(t != NULL);
	if (t == NULL)
		printf("  %s\n", err);
	tls_ctx_free(&t);
	t_ok(t == NULL);
	tls_ctx_free(&t);		/* harmless */
	free(err);

	make_cert("b", "b.example.test");
	/* Key of another certificate. */
	t = server_ctx("smtpd_tls_key_file = $config_directory/b/key.pem\n", &err);
	t_ok(t == NULL);
	t_ok(err != NULL && strstr(err, "does not match") != NULL &&
	    strstr(err, "/b/key.pem") != NULL && strstr(err, "/tls/cert.pem") != NULL &&
	    strstr(err, "smtpd_tls_key_file") != NULL);
	if (err)
		printf("  (mismatch message: %s)\n", err);
	free(err);

	t = server_ctx("smtpd_tls_cert_file = $config_directory/nope.pem\n", &err);
	t_ok(t == NULL);
	t_ok(err != NULL && strstr(err, "/nope.pem") != NULL &&
	    strstr(err, "smtpd_tls_cert_file") != NULL && strstr(err, "No such file") != NULL);
	free(err);

	t = server_ctx("smtpd_tls_key_file = $config_directory/nokey.pem\n", &err);
	t_ok(t == NULL);
	t_ok(err != NULL && strstr(err, "/nokey.pem") != NULL &&
	    strstr(err, "smtpd_tls_key_file") != NULL);
	free(err);

	/* A certificate where the key should be. */
	t = server_ctx("smtpd_tls_key_file = $config_directory/tls/cert.pem\n", &err);
	t_ok(t == NULL && err != NULL && strstr(err, "cannot read private key") != NULL);
	free(err);

	t = server_ctx("smtpd_tls_cert_file =\n", &err);
	t_ok(t == NULL && err != NULL && strstr(err, "smtpd_tls_cert_file") != NULL);
	free(err);

	/* Chain file: the self-signed b certificate stands in for an intermediate. */
	t = server_ctx("smtpd_tls_chain_file = $config_directory/b/cert.pem\n", &err);
	t_ok(t != NULL);
	tls_ctx_free(&t);
	free(err);
	t = server_ctx("smtpd_tls_chain_file = $config_directory/b/key.pem\n", &err);
	t_ok(t == NULL && err != NULL && strstr(err, "smtpd_tls_chain_file") != NULL);
	free(err);

	/* SNI map syntax and files. */
	t = server_ctx("tls_sni_maps = b.example.test\n", &err);
	t_ok(t == NULL && err != NULL && strstr(err, "NAME=CERT:KEY") != NULL);
	free(err);
	t = server_ctx("tls_sni_maps = b.example.test=$config_directory/b/cert.pem:"
	    "$config_directory/tls/key.pem\n", &err);
	t_ok(t == NULL && err != NULL && strstr(err, "does not match") != NULL &&
	    strstr(err, "b.example.test") != NULL);
	free(err);

	/* Client context: a CA file that is not there. */
	t = tls_client_ctx_new("/nonexistent/ca.pem", &err);
	t_ok(t == NULL && err != NULL && strstr(err, "/nonexistent/ca.pem") != NULL);
	free(err);
	t = tls_client_ctx_new(NULL, &err);
	t_ok(t != NULL);
	tls_ctx_free(&t);
}

/* ---- in-process handshakes ------------------------------------------- */

struct peer {
	struct bufferevent	*bev;
	char			 got[256];	/* last line read */
	bool			 connected, error, eof, timeout;
	char			 errstr[256];
};

struct hs {
	struct event_base	*base;
	struct peer		 srv, cli;
	/* STARTTLS scenario */
	struct tls_ctx		*sctx, *cctx;
	const char		*servername;
	bool			 starttls, injected, done;
	int			 step;
};

static void
readline_into(struct bufferevent *bev, struct peer *p)
{
	size_t	 n;
	char	*line = evbuffer_readln(bufferevent_get_input(bev), &n, EVBUFFER_EOL_CRLF);

	p->got[0] = '\0';
	if (line != NULL) {
		snprintf(p->got, sizeof(p->got), "%s", line);
		free(line);
	}
}

static void
srv_read_cb(struct bufferevent *bev, void *arg)
{
	struct hs *h = arg;

	readline_into(bev, &h->srv);
	if (h->srv.got[0] != '\0')
		bufferevent_write(bev, "250 echo ", 9), bufferevent_write(bev, h->srv.got,
		    strlen(h->srv.got)), bufferevent_write(bev, "\r\n", 2);
}

static void
cli_read_cb(struct bufferevent *bev, void *arg)
{
	struct hs *h = arg;

	readline_into(bev, &h->cli);
	if (h->cli.got[0] != '\0') {
		h->done = true;
		event_base_loopbreak(h->base);
	}
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct hs	*h = arg;
	struct peer	*p = bev == h->srv.bev ? &h->srv : &h->cli;

	if (what & BEV_EVENT_CONNECTED)
		p->connected = true;
	if (what & BEV_EVENT_ERROR) {
		p->error = true;
		tls_last_error(bev, p->errstr, sizeof(p->errstr));
	}
	if (what & BEV_EVENT_EOF)
		p->eof = true;
	if (what & BEV_EVENT_TIMEOUT) {
		p->timeout = true;
		event_base_loopbreak(h->base);
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		if (h->srv.error || h->cli.error || (h->srv.eof && h->cli.eof) ||
		    h->srv.eof || h->cli.eof)
			event_base_loopbreak(h->base);
	}
}

static void
hs_run(struct hs *h)
{
	struct timeval tv = { 5, 0 };

	event_base_loopexit(h->base, &tv);
	event_base_dispatch(h->base);
}

static void
hs_free(struct hs *h)
{
	if (h->srv.bev)
		bufferevent_free(h->srv.bev);
	if (h->cli.bev)
		bufferevent_free(h->cli.bev);
	event_base_free(h->base);
}

static int
pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return -1;
	evutil_make_socket_nonblocking(sv[0]);
	evutil_make_socket_nonblocking(sv[1]);
	return 0;
}

/* Implicit TLS with our client; returns true if a line went both ways. */
static bool
implicit_tls(struct hs *h, struct tls_ctx *sctx, struct tls_ctx *cctx, const char *name)
{
	int sv[2];

	memset(h, 0, sizeof(*h));
	h->base = event_base_new();
	if (pair(sv) < 0)
		return false;
	h->srv.bev = tls_wrap_server(sctx, h->base, NULL, sv[0]);
	h->cli.bev = tls_wrap_client(cctx, h->base, NULL, sv[1], name);
	if (h->srv.bev == NULL || h->cli.bev == NULL)
		return false;
	bufferevent_setcb(h->srv.bev, srv_read_cb, NULL, event_cb, h);
	bufferevent_setcb(h->cli.bev, cli_read_cb, NULL, event_cb, h);
	bufferevent_enable(h->srv.bev, EV_READ | EV_WRITE);
	bufferevent_enable(h->cli.bev, EV_READ | EV_WRITE);
	bufferevent_write(h->cli.bev, "EHLO client\r\n", 13);
	hs_run(h);
	return h->done;
}

static void
peer_cn(struct bufferevent *bev, char *buf, size_t sz)
{
	X509 *x = SSL_get1_peer_certificate(bufferevent_openssl_get_ssl(bev));

	cn_of(x, buf, sz);
	X509_free(x);
}

static void
test_implicit(struct tls_ctx *sctx)
{
	struct tls_ctx	*cctx;
	struct hs	 h;
	char		*ca = path("tls/cert.pem"), *err = NULL, d[256];

	cctx = tls_client_ctx_new(ca, &err);
	t_ok(cctx != NULL);
	t_ok(implicit_tls(&h, sctx, cctx, "mail.example.test"));
	t_str(h.cli.got, "250 echo EHLO client");
	t_ok(h.srv.connected && h.cli.connected);
	t_ok(tls_active(h.srv.bev));
	tls_describe(h.srv.bev, d, sizeof(d));
	t_ok(strncmp(d, "TLSv1.3 with cipher TLS_", 24) == 0);
	t_ok(strstr(d, " bits)") != NULL);
	printf("  (Received: using %s)\n", d);
	tls_describe_short(h.srv.bev, d, sizeof(d));
	t_ok(strncmp(d, "TLSv1.3:TLS_", 12) == 0);
	tls_describe(h.srv.bev, d, 10);		/* truncates, terminates */
	t_int(strlen(d), 9);
	t_ok(tls_peer_verified(h.cli.bev));
	t_str(tls_verify_error(h.cli.bev), "ok");
	t_str(tls_sni_name(h.srv.bev), "mail.example.test");
	hs_free(&h);

	/* Opportunistic: wrong name still connects, but is not verified. */
	t_ok(implicit_tls(&h, sctx, cctx, "other.example.test"));
	t_ok(!tls_peer_verified(h.cli.bev));
	t_ok(strstr(tls_verify_error(h.cli.bev), "mismatch") != NULL);
	hs_free(&h);

	/* An IP literal: no SNI sent, chain verified, no name check. */
	t_ok(implicit_tls(&h, sctx, cctx, "127.0.0.1"));
	t_ok(tls_sni_name(h.srv.bev) == NULL);
	hs_free(&h);
	tls_ctx_free(&cctx);

	/* Untrusted (system store): connects, not verified. */
	cctx = tls_client_ctx_new(NULL, &err);
	t_ok(implicit_tls(&h, sctx, cctx, "mail.example.test"));
	t_ok(!tls_peer_verified(h.cli.bev));
	hs_free(&h);
	tls_ctx_free(&cctx);

	/* Plain bufferevents describe as no TLS. */
	{
		struct event_base	*b = event_base_new();
		struct bufferevent	*p = bufferevent_socket_new(b, -1, 0);

		t_ok(!tls_active(p));
		tls_describe(p, d, sizeof(d));
		t_str(d, "");
		tls_describe_short(p, d, sizeof(d));
		t_str(d, "no");
		t_ok(!tls_peer_verified(p));
		bufferevent_free(p);
		event_base_free(b);
	}
	free(ca);
	free(err);
}

static void
test_sni(void)
{
	struct tls_ctx	*sctx, *cctx;
	struct hs	 h;
	char		*err = NULL, cn[256];

	make_cert("w", "x.wild.test");
	sctx = server_ctx("tls_sni_maps = b.example.test=$config_directory/b/cert.pem:"
	    "$config_directory/b/key.pem, *.wild.test=$config_directory/w/cert.pem:"
	    "$config_directory/w/key.pem\n", &err);
	t_ok(sctx != NULL);
	if (sctx == NULL) {
		printf("  %s\n", err);
		free(err);
		return;
	}
	cctx = tls_client_ctx_new(NULL, &err);

	static const struct { const char *sni, *cn; } cases[] = {
		{ "b.example.test", "b.example.test" },
		{ "B.Example.TEST", "b.example.test" },		/* case-insensitive */
		{ "mail.example.test", "mail.example.test" },	/* default */
		{ "unknown.test", "mail.example.test" },	/* no match: default */
		{ "x.wild.test", "x.wild.test" },		/* wildcard, one label */
		{ "a.b.wild.test", "mail.example.test" },	/* not two labels */
		{ "wild.test", "mail.example.test" },
		{ NULL, "mail.example.test" },			/* no SNI */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_ok(implicit_tls(&h, sctx, cctx, cases[i].sni));
		peer_cn(h.cli.bev, cn, sizeof(cn));
		if (!t_str(cn, cases[i].cn))
			printf("  sni %s\n", cases[i].sni ? cases[i].sni : "(none)");
		hs_free(&h);
	}

	/* A reload frees the context while sessions go on: they keep working. */
	{
		int sv[2];

		memset(&h, 0, sizeof(h));
		h.base = event_base_new();
		pair(sv);
		h.srv.bev = tls_wrap_server(sctx, h.base, NULL, sv[0]);
		h.cli.bev = tls_wrap_client(cctx, h.base, NULL, sv[1], "b.example.test");
		tls_ctx_free(&sctx);
		bufferevent_setcb(h.srv.bev, srv_read_cb, NULL, event_cb, &h);
		bufferevent_setcb(h.cli.bev, cli_read_cb, NULL, event_cb, &h);
		bufferevent_enable(h.srv.bev, EV_READ | EV_WRITE);
		bufferevent_enable(h.cli.bev, EV_READ | EV_WRITE);
		bufferevent_write(h.cli.bev, "NOOP\r\n", 6);
		hs_run(&h);
		t_ok(h.done);
		peer_cn(h.cli.bev, cn, sizeof(cn));
		t_str(cn, "b.example.test");
		hs_free(&h);
	}
	tls_ctx_free(&cctx);
	free(err);
}

/* A raw client restricted to [min, max] against our server. */
static void
raw_client(struct hs *h, struct tls_ctx *sctx, int min, int max)
{
	SSL_CTX	*c = SSL_CTX_new(TLS_client_method());
	int	 sv[2];

	memset(h, 0, sizeof(*h));
	h->base = event_base_new();
	pair(sv);
	SSL_CTX_set_min_proto_version(c, min);
	SSL_CTX_set_max_proto_version(c, max);
	/* Old versions need SHA-1 signatures: allow them on this side, so
	 * only the server's policy can refuse. */
	SSL_CTX_set_cipher_list(c, "ALL:@SECLEVEL=0");
	h->srv.bev = tls_wrap_server(sctx, h->base, NULL, sv[0]);
	h->cli.bev = bufferevent_openssl_socket_new(h->base, sv[1], SSL_new(c),
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	SSL_CTX_free(c);
	bufferevent_setcb(h->srv.bev, srv_read_cb, NULL, event_cb, h);
	bufferevent_setcb(h->cli.bev, cli_read_cb, NULL, event_cb, h);
	bufferevent_enable(h->srv.bev, EV_READ | EV_WRITE);
	bufferevent_enable(h->cli.bev, EV_READ | EV_WRITE);
	bufferevent_write(h->cli.bev, "HELO old\r\n", 10);
	hs_run(h);
}

static void
test_versions(struct tls_ctx *sctx)
{
	struct hs	 h;
	char		 d[256];

	raw_client(&h, sctx, TLS1_VERSION, TLS1_1_VERSION);
	t_ok(!h.done);
	t_ok(h.srv.error);
	t_ok(strstr(h.srv.errstr, "unsupported protocol") != NULL);
	printf("  (TLS 1.1 client: server says \"%s\")\n", h.srv.errstr);
	hs_free(&h);

	raw_client(&h, sctx, TLS1_VERSION, TLS1_VERSION);
	t_ok(!h.done && h.srv.error);
	hs_free(&h);

	/* TLS 1.2 works, with a forward-secret AEAD suite. */
	raw_client(&h, sctx, TLS1_2_VERSION, TLS1_2_VERSION);
	t_ok(h.done);
	tls_describe(h.srv.bev, d, sizeof(d));
	t_ok(strncmp(d, "TLSv1.2 with cipher ECDHE-RSA-", 30) == 0 && strstr(d, "GCM") != NULL);
	printf("  (TLS 1.2: %s)\n", d);
	hs_free(&h);
}

/* ---- STARTTLS over the filter ------------------------------------------ */

static void st_srv_plain_cb(struct bufferevent *, void *);

static void
st_cli_plain_cb(struct bufferevent *bev, void *arg)
{
	struct hs *h = arg;

	readline_into(bev, &h->cli);
	if (strncmp(h->cli.got, "220 ", 4) == 0 && h->step == 0) {
		h->step = 1;
		h->cli.bev = tls_wrap_client(h->cctx, h->base, bev, -1, h->servername);
		bufferevent_setcb(h->cli.bev, cli_read_cb, NULL, event_cb, h);
		bufferevent_enable(h->cli.bev, EV_READ | EV_WRITE);
		bufferevent_write(h->cli.bev, "EHLO again\r\n", 12);
	}
}

/* What a protocol session does (tls.h): reply, check, wrap, reset. */
static void
st_srv_plain_cb(struct bufferevent *bev, void *arg)
{
	struct hs *h = arg;

	readline_into(bev, &h->srv);
	if (strcmp(h->srv.got, "STARTTLS") != 0)
		return;
	bufferevent_write(bev, "220 2.0.0 Ready to start TLS\r\n", 30);
	if (tls_starttls_injection(bev)) {
		h->injected = true;
		event_base_loopbreak(h->base);
		return;
	}
	h->srv.bev = tls_wrap_server(h->sctx, h->base, bev, -1);
	bufferevent_setcb(h->srv.bev, srv_read_cb, NULL, event_cb, h);
	bufferevent_enable(h->srv.bev, EV_READ | EV_WRITE);
}

static void
starttls(struct hs *h, struct tls_ctx *sctx, struct tls_ctx *cctx, const char *first)
{
	struct bufferevent	*sp, *cp;
	int			 sv[2];
	struct timeval		 tv = { 30, 0 };

	memset(h, 0, sizeof(*h));
	h->base = event_base_new();
	h->sctx = sctx;
	h->cctx = cctx;
	h->servername = "mail.example.test";
	pair(sv);
	sp = bufferevent_socket_new(h->base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	cp = bufferevent_socket_new(h->base, sv[1], BEV_OPT_CLOSE_ON_FREE);
	bufferevent_set_timeouts(sp, &tv, &tv);		/* cleared by the wrap */
	bufferevent_setcb(sp, st_srv_plain_cb, NULL, event_cb, h);
	bufferevent_setcb(cp, st_cli_plain_cb, NULL, event_cb, h);
	bufferevent_enable(sp, EV_READ | EV_WRITE);
	bufferevent_enable(cp, EV_READ | EV_WRITE);
	bufferevent_write(cp, first, strlen(first));
	hs_run(h);
	/* After a wrap the TLS bufferevent owns the plain one. */
	if (h->srv.bev == NULL)
		h->srv.bev = sp;
	if (h->cli.bev == NULL)
		h->cli.bev = cp;
}

static void
test_starttls(struct tls_ctx *sctx)
{
	struct tls_ctx	*cctx;
	struct hs	 h;
	char		*ca = path("tls/cert.pem"), *err = NULL, d[256];

	cctx = tls_client_ctx_new(ca, &err);
	starttls(&h, sctx, cctx, "STARTTLS\r\n");
	t_ok(!h.injected);
	t_ok(h.done);
	t_str(h.cli.got, "250 echo EHLO again");
	t_ok(tls_active(h.srv.bev) && tls_active(h.cli.bev));
	t_ok(tls_peer_verified(h.cli.bev));
	tls_describe_short(h.srv.bev, d, sizeof(d));
	t_ok(strncmp(d, "TLSv1.3:", 8) == 0);
	hs_free(&h);

	/* The classic injection: a command pipelined behind STARTTLS. */
	starttls(&h, sctx, cctx, "STARTTLS\r\nMAIL FROM:<evil@example.test>\r\n");
	t_ok(h.injected);
	t_ok(!tls_active(h.srv.bev));
	hs_free(&h);

	/* Even one byte counts. */
	starttls(&h, sctx, cctx, "STARTTLS\r\n\n");
	t_ok(h.injected);
	hs_free(&h);

	tls_ctx_free(&cctx);
	free(ca);
	free(err);
}

/* Bulk data both ways through TLS: partial writes, moving buffers. */
static size_t	 bulk_want;

static void
bulk_srv_cb(struct bufferevent *bev, void *arg)
{
	/* echo everything back */
	bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}

static void
bulk_cli_cb(struct bufferevent *bev, void *arg)
{
	struct hs *h = arg;

	if (evbuffer_get_length(bufferevent_get_input(bev)) >= bulk_want) {
		h->done = true;
		event_base_loopbreak(h->base);
	}
}

static void
test_bulk(struct tls_ctx *sctx)
{
	struct tls_ctx	*cctx;
	struct hs	 h;
	char		*err = NULL, *blob;
	int		 sv[2];
	size_t		 i;

	bulk_want = 4 * 1024 * 1024 + 17;
	blob = xmalloc(bulk_want);
	for (i = 0; i < bulk_want; i++)
		blob[i] = (char)('a' + i % 26);
	cctx = tls_client_ctx_new(NULL, &err);
	memset(&h, 0, sizeof(h));
	h.base = event_base_new();
	pair(sv);
	h.srv.bev = tls_wrap_server(sctx, h.base, NULL, sv[0]);
	h.cli.bev = tls_wrap_client(cctx, h.base, NULL, sv[1], "mail.example.test");
	bufferevent_setcb(h.srv.bev, bulk_srv_cb, NULL, event_cb, &h);
	bufferevent_setcb(h.cli.bev, bulk_cli_cb, NULL, event_cb, &h);
	bufferevent_enable(h.srv.bev, EV_READ | EV_WRITE);
	bufferevent_enable(h.cli.bev, EV_READ | EV_WRITE);
	bufferevent_write(h.cli.bev, blob, bulk_want);
	hs_run(&h);
	t_ok(h.done);
	{
		struct evbuffer	*in = bufferevent_get_input(h.cli.bev);
		unsigned char	*got = evbuffer_pullup(in, -1);

		t_int(evbuffer_get_length(in), bulk_want);
		t_ok(got != NULL && memcmp(got, blob, bulk_want) == 0);
	}
	hs_free(&h);
	tls_ctx_free(&cctx);
	free(blob);
	free(err);
}

/* The caller's bufferevent timeouts bound the handshake (tls.h), on both
 * the socket and the filter path: a client that says nothing times out. */
static void
test_handshake_timeout(struct tls_ctx *sctx)
{
	struct timeval	 tv = { 0, 200 * 1000 };
	struct hs	 h;
	int		 sv[2];

	for (int filter = 0; filter < 2; filter++) {
		memset(&h, 0, sizeof(h));
		h.base = event_base_new();
		pair(sv);
		if (filter) {
			struct bufferevent *plain = bufferevent_socket_new(h.base, sv[0],
			    BEV_OPT_CLOSE_ON_FREE);

			h.srv.bev = tls_wrap_server(sctx, h.base, plain, -1);
		} else
			h.srv.bev = tls_wrap_server(sctx, h.base, NULL, sv[0]);
		h.cli.bev = bufferevent_socket_new(h.base, sv[1], BEV_OPT_CLOSE_ON_FREE);
		bufferevent_setcb(h.srv.bev, srv_read_cb, NULL, event_cb, &h);
		bufferevent_set_timeouts(h.srv.bev, &tv, &tv);
		bufferevent_enable(h.srv.bev, EV_READ | EV_WRITE);
		hs_run(&h);
		if (!t_ok(h.srv.timeout && !h.srv.connected))
			printf("  handshake timeout, filter=%d\n", filter);
		hs_free(&h);
	}
}

/* ---- graceful close (tls_close_gracefully) ------------------------------ */

struct gc {
	struct event_base	*base;
	struct bufferevent	*srv, *cli;
	struct tls_close	*tc;
	size_t			 reply_len;	/* what the server writes */
	size_t			 got;		/* what the client read */
	bool			 reply_ok;	/* the bytes are the reply, in order */
	bool			 srv_ready, cli_eof, cli_error;
	int			 done_calls;
	bool			 no_read;	/* the client stops reading */
};

static char
gc_byte(size_t i)
{
	return i % 64 == 63 ? '\n' : (char)('a' + i % 26);
}

static void
gc_done_cb(void *arg)
{
	struct gc *g = arg;

	g->done_calls++;
	g->tc = NULL;
}

static void
gc_cli_read_cb(struct bufferevent *bev, void *arg)
{
	struct gc	*g = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		 b[4096];
	size_t		 n, i;

	while ((n = evbuffer_remove(in, b, sizeof(b))) > 0 && n != (size_t)-1) {
		for (i = 0; i < n; i++)
			if (g->got + i >= g->reply_len || b[i] != gc_byte(g->got + i))
				g->reply_ok = false;
		g->got += n;
	}
}

static void
gc_cli_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct gc *g = arg;

	if ((what & BEV_EVENT_CONNECTED) && g->no_read)
		bufferevent_disable(bev, EV_READ);
	if (what & BEV_EVENT_EOF)
		g->cli_eof = true;
	if (what & BEV_EVENT_ERROR)
		g->cli_error = true;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		event_base_loopbreak(g->base);
}

/* The server session: once TLS is up, write the reply and close at once,
 * as smtpd does after "221": the reply is still queued in the filter. */
static void
gc_srv_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct gc	*g = arg;
	char		*reply;
	size_t		 i;

	if (!(what & BEV_EVENT_CONNECTED))
		return;
	g->srv_ready = true;
	reply = xmalloc(g->reply_len);
	for (i = 0; i < g->reply_len; i++)
		reply[i] = gc_byte(i);
	bufferevent_write(bev, reply, g->reply_len);
	free(reply);
	g->tc = tls_close_gracefully(bev, g->base, gc_done_cb, g);
	g->srv = NULL;
	if (g->no_read)
		event_base_loopbreak(g->base);
}

/* filter: STARTTLS shape (TLS over a plain bufferevent) or implicit TLS. */
static void
gc_run(struct gc *g, struct tls_ctx *sctx, struct tls_ctx *cctx, bool filter,
    size_t reply_len, bool no_read)
{
	struct timeval	tv = { 10, 0 };
	int		sv[2];

	memset(g, 0, sizeof(*g));
	g->base = event_base_new();
	g->reply_len = reply_len;
	g->reply_ok = true;
	g->no_read = no_read;
	pair(sv);
	if (filter)
		g->srv = tls_wrap_server(sctx, g->base,
		    bufferevent_socket_new(g->base, sv[0], BEV_OPT_CLOSE_ON_FREE), -1);
	else
		g->srv = tls_wrap_server(sctx, g->base, NULL, sv[0]);
	g->cli = tls_wrap_client(cctx, g->base, NULL, sv[1], "mail.example.test");
	/* A missing close_notify must show as an error, not a clean EOF
	 * (our contexts forgive it, as OpenSSL 1.1 did: not this client). */
	SSL_clear_options(bufferevent_openssl_get_ssl(g->cli), SSL_OP_IGNORE_UNEXPECTED_EOF);
	bufferevent_openssl_set_allow_dirty_shutdown(g->cli, 0);
	bufferevent_setcb(g->srv, NULL, NULL, gc_srv_event_cb, g);
	bufferevent_setcb(g->cli, gc_cli_read_cb, NULL, gc_cli_event_cb, g);
	bufferevent_enable(g->srv, EV_READ | EV_WRITE);
	bufferevent_enable(g->cli, EV_READ | EV_WRITE);
	event_base_loopexit(g->base, &tv);
	event_base_dispatch(g->base);
}

static void
gc_free(struct gc *g)
{
	tls_close_cancel(&g->tc);
	if (g->srv != NULL)
		bufferevent_free(g->srv);
	if (g->cli != NULL)
		bufferevent_free(g->cli);
	event_base_free(g->base);
}

static void
test_close_gracefully(struct tls_ctx *sctx)
{
	static const size_t	 sizes[] = { 16, 3 * 1024 * 1024 };
	struct tls_ctx		*cctx;
	struct gc		 g;
	char			*err = NULL;
	SSL			*ssl;

	cctx = tls_client_ctx_new(NULL, &err);
	for (int filter = 0; filter < 2; filter++)
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			gc_run(&g, sctx, cctx, filter, sizes[k], false);
			ssl = bufferevent_openssl_get_ssl(g.cli);
			if (!t_ok(g.srv_ready && g.cli_eof && !g.cli_error) ||
			    !t_int(g.got, sizes[k]) || !t_ok(g.reply_ok) ||
			    !t_ok(ssl != NULL && (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN)))
				printf("  graceful close: filter=%d size=%zu\n", filter, sizes[k]);
			/* Let the close finish if the client's EOF came first. */
			while (g.tc != NULL && event_base_loop(g.base, EVLOOP_ONCE) == 0)
				;
			t_int(g.done_calls, 1);
			gc_free(&g);
		}

	/* The client does not read: the close is pending; cancel frees all. */
	gc_run(&g, sctx, cctx, true, 3 * 1024 * 1024, true);
	t_ok(g.tc != NULL);
	gc_free(&g);
	t_int(g.done_calls, 0);

	/* The client goes away mid-reply: done_cb still comes, once. */
	gc_run(&g, sctx, cctx, true, 3 * 1024 * 1024, true);
	bufferevent_free(g.cli);
	g.cli = NULL;
	{
		struct timeval tv = { 10, 0 };

		event_base_loopexit(g.base, &tv);
		while (g.tc != NULL && event_base_loop(g.base, EVLOOP_ONCE) == 0)
			;
	}
	t_ok(g.tc == NULL);
	t_int(g.done_calls, 1);
	gc_free(&g);

	/* Before the handshake and on plain bufferevents: freed at once. */
	{
		struct event_base	*b = event_base_new();
		int			 sv[2];

		pair(sv);
		t_ok(tls_close_gracefully(tls_wrap_server(sctx, b, NULL, sv[0]), b,
		    gc_done_cb, &g) == NULL);
		t_ok(tls_close_gracefully(bufferevent_socket_new(b, sv[1], BEV_OPT_CLOSE_ON_FREE),
		    b, gc_done_cb, &g) == NULL);
		event_base_free(b);
	}
	tls_ctx_free(&cctx);
	free(err);
}

int
main(void)
{
	struct tls_ctx	*sctx;
	char		*err = NULL, *cmd;

	t_begin("tls");
	signal(SIGPIPE, SIG_IGN);	/* as serve does: a gone peer is an error, not a signal */
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_cert_create();
	test_ctx_load();
	sctx = server_ctx("", &err);
	t_ok(sctx != NULL);
	if (sctx != NULL) {
		test_implicit(sctx);
		test_versions(sctx);
		test_starttls(sctx);
		test_bulk(sctx);
		test_handshake_timeout(sctx);
		test_close_gracefully(sctx);
		tls_ctx_free(&sctx);
	} else
		printf("  server context: %s\n", err);
	free(err);
	test_sni();
	cmd = xasprintf("rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		printf("  could not remove %s\n", tmpdir);
	free(cmd);
	return t_end();
}
