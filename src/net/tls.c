/*
 * TLS contexts and bufferevent wrapping (see tls.h for how sessions use
 * them): server contexts with per-name certificates (SNI), the
 * opportunistic client context, descriptions for Received: and logs, and
 * the self-signed certificate written by `init` / `cert create`.
 * Policy: TLS 1.2 and 1.3 only, Mozilla "intermediate" ciphers for 1.2,
 * OpenSSL's defaults for 1.3 (RFC 8996 retired 1.0/1.1; RFC 8314 §4.1).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/conf.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/tls.h"
#include "net/tls_int.h"

/*
 * Mozilla "intermediate" (server side-tls v5): forward secrecy and AEAD
 * only.  TLS 1.3 suites are set separately and left at OpenSSL's default.
 */
#define TLS_CIPHERS_12							\
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"	\
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"	\
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"	\
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"		\
	"DHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS		"X25519:P-256:P-384"
/*
 * Opportunistic TLS on port 25 with TLS 1.0/1.1 (smtpd_tls_protocols):
 * those versions have no AEAD suites, so CBC suites with forward secrecy
 * (and plain RSA last, for the oldest MTAs) come after the list above.
 * Anything is better than the plaintext such a peer would fall back to.
 */
#define TLS_CIPHERS_LEGACY						\
	TLS_CIPHERS_12 ":ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"	\
	"ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA:"	\
	"DHE-RSA-AES256-SHA:AES128-SHA:AES256-SHA"
#define TLS_SESSION_ID_CTX	"letterbox"


struct tls_ctx {
	SSL_CTX		*ssl;		/* default (server) or the client context */
	bool		 server;
};

/* SNI: one context per configured name.  Owned by the default SSL_CTX
 * (ex_data), so it lives as long as any connection that may still run the
 * servername callback, even after a reload freed our struct tls_ctx. */
struct tls_sni_entry {
	char		*name;		/* lower case; "*.example.com" = one label */
	SSL_CTX		*ssl;
};

struct tls_sni_table {
	struct tls_sni_entry	*e;
	size_t			 n;
};

static pthread_once_t	 sni_once = PTHREAD_ONCE_INIT;
static int		 sni_idx = -1;

/* OpenSSL's error queue as one short text; clears the queue. */
static void
ssl_errstr(char *buf, size_t sz)
{
	unsigned long	 e, first = 0;
	const char	*r;

	while ((e = ERR_get_error()) != 0)
		if (first == 0)
			first = e;
	if (first == 0) {
		str_copy(buf, "unknown error", sz);
		return;
	}
	if ((r = ERR_reason_error_string(first)) != NULL)
		str_copy(buf, r, sz);
	else
		ERR_error_string_n(first, buf, sz);
}

char *
tls_ssl_err(const char *fmt_prefix)
{
	char e[256];

	ssl_errstr(e, sizeof(e));
	return xasprintf("%s: %s", fmt_prefix, e);
}

/* Never prompt for a pass phrase on the terminal: an encrypted key fails. */
static int
no_passphrase_cb(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

static void
sni_table_free(struct tls_sni_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].name);
		SSL_CTX_free(t->e[i].ssl);
	}
	free(t->e);
	free(t);
}

static void
sni_exdata_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	sni_table_free(ptr);
}

static void
sni_init_once(void)
{
	sni_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, sni_exdata_free);
}

static bool
sni_match(const char *pat, const char *name)
{
	const char *dot;

	if (strcasecmp(pat, name) == 0)
		return true;
	if (pat[0] != '*' || pat[1] != '.')
		return false;
	/* "*.example.com" matches exactly one label in front (RFC 6125 §6.4.3). */
	if ((dot = strchr(name, '.')) == NULL || dot == name)
		return false;
	return strcasecmp(pat + 1, dot) == 0;
}

/* Runs during ClientHello processing; picks the certificate for the name. */
static int
sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct tls_sni_table	*t = arg;
	const char		*name;
	char			 host[256];
	size_t			 n;

	if (t == NULL ||
	    (name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) == NULL)
		return SSL_TLSEXT_ERR_OK;
	n = str_copy(host, name, sizeof(host));
	if (n >= sizeof(host))
		return SSL_TLSEXT_ERR_OK;
	if (n > 0 && host[n - 1] == '.')
		host[n - 1] = '\0';
	/* Exact names first, then wildcards, so "a.x.org" beats "*.x.org". */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < t->n; i++) {
			bool wild = t->e[i].name[0] == '*';

			if (wild == (pass == 1) && sni_match(t->e[i].name, host)) {
				int level = SSL_get_security_level(ssl);

				/* The security level lives with the certificate: keep the
				 * session's own (tls_server_min_version() may lower it). */
				SSL_set_SSL_CTX(ssl, t->e[i].ssl);
				SSL_set_security_level(ssl, level);
				return SSL_TLSEXT_ERR_OK;
			}
		}
	/* Unknown name: keep the default certificate rather than fail; a mail
	 * client may connect by any alias and decide itself what it trusts. */
	return SSL_TLSEXT_ERR_OK;
}

/*
 * Load and check a certificate and its key: both must parse, and the key
 * must belong to the first certificate in cert_path.  Errors name the file
 * and the config key it came from.
 */
static int
load_cert_key(SSL_CTX *ctx, const char *cert_path, const char *key_path,
    const char *cert_key, const char *key_key, char **err_r)
{
	FILE		*f;
	X509		*x = NULL;
	EVP_PKEY	*pk = NULL;
	int		 rc = -1;
	char		 e[256];

	if (cert_path[0] == '\0') {
		*err_r = xasprintf("%s is empty: no certificate configured", cert_key);
		return -1;
	}
	if (key_path[0] == '\0') {
		*err_r = xasprintf("%s is empty: no private key configured", key_key);
		return -1;
	}
	if ((f = fopen(cert_path, "r")) == NULL) {
		*err_r = xasprintf("cannot open certificate %s (%s): %s", cert_path, cert_key,
		    strerror(errno));
		return -1;
	}
	x = PEM_read_X509(f, NULL, no_passphrase_cb, NULL);
	fclose(f);
	if (x == NULL) {
		ssl_errstr(e, sizeof(e));
		*err_r = xasprintf("cannot read certificate %s (%s): %s", cert_path, cert_key, e);
		goto out;
	}
	if ((f = fopen(key_path, "r")) == NULL) {
		*err_r = xasprintf("cannot open private key %s (%s): %s", key_path, key_key,
		    strerror(errno));
		goto out;
	}
	pk = PEM_read_PrivateKey(f, NULL, no_passphrase_cb, NULL);
	fclose(f);
	if (pk == NULL) {
		ssl_errstr(e, sizeof(e));
		*err_r = xasprintf("cannot read private key %s (%s): %s (an encrypted key is not supported)",
		    key_path, key_key, e);
		goto out;
	}
	if (X509_check_private_key(x, pk) != 1) {
		ERR_clear_error();
		*err_r = xasprintf("private key %s (%s) does not match certificate %s (%s)",
		    key_path, key_key, cert_path, cert_key);
		goto out;
	}
	/* The file may carry the chain after the leaf; this call reads it all. */
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		ssl_errstr(e, sizeof(e));
		*err_r = xasprintf("cannot use certificate %s (%s): %s", cert_path, cert_key, e);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pk) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		ssl_errstr(e, sizeof(e));
		*err_r = xasprintf("cannot use private key %s (%s): %s", key_path, key_key, e);
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
		log_warnx("tls: certificate %s has expired; clients that check will refuse it",
		    cert_path);
	else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
		log_warnx("tls: certificate %s is not valid yet (clock?)", cert_path);
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	return rc;
}

/* Extra intermediates, appended to the chain of the current certificate. */
static int
load_chain(SSL_CTX *ctx, const char *path, char **err_r)
{
	FILE	*f;
	X509	*x;
	int	 n = 0;

	if ((f = fopen(path, "r")) == NULL) {
		*err_r = xasprintf("cannot open chain %s (smtpd_tls_chain_file): %s", path,
		    strerror(errno));
		return -1;
	}
	while ((x = PEM_read_X509(f, NULL, no_passphrase_cb, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			fclose(f);
			*err_r = tls_ssl_err("cannot add chain certificate (smtpd_tls_chain_file)");
			return -1;
		}
		n++;
	}
	fclose(f);
	/* The loop ends on "no start line" at EOF; anything else is an error. */
	if (n == 0 || ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
		char e[256];

		ssl_errstr(e, sizeof(e));
		*err_r = xasprintf("cannot read chain %s (smtpd_tls_chain_file): %s", path,
		    n == 0 ? "no certificate in file" : e);
		return -1;
	}
	ERR_clear_error();
	return 0;
}

/* A server SSL_CTX with our policy, before any certificate. */
static SSL_CTX *
server_ssl_ctx_new(char **err_r)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		*err_r = tls_ssl_err("SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/*
	 * No compression (CRIME), no renegotiation (a DoS lever and never
	 * needed by mail clients).  Unexpected EOF is treated as a clean
	 * close: SMTP, IMAP and POP3 frame their own data, so truncation is
	 * visible at the protocol level, and many clients just close.
	 * Client cipher preference (as Mozilla intermediate advises): every
	 * suite offered is strong, and the client knows whether it has AES
	 * hardware or is better off with ChaCha20.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* libevent may hand SSL_write a different (moved) buffer on retry;
	 * idle IMAP connections are many, so give buffers back when idle. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) != 1) {
		*err_r = tls_ssl_err("cannot set ciphers");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_dh_auto(ctx, 1);		/* for the DHE-RSA suites */
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase_cb);
	/* Resumption: a server-side cache for TLS 1.2 session ids and
	 * (OpenSSL's default) stateless tickets for both versions. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)TLS_SESSION_ID_CTX,
	    sizeof(TLS_SESSION_ID_CTX) - 1);
	return ctx;
}

struct sni_parse {
	struct tls_sni_table	*t;
	char			*err;
};

/* One "NAME=CERT:KEY" item of tls_sni_maps. */
static int
sni_parse_item(const char *item, size_t len, void *arg)
{
	struct sni_parse	*p = arg;
	char			*s = xstrndup(item, len), *eq, *colon, *e = NULL;
	SSL_CTX			*ctx;
	struct tls_sni_entry	*ent;

	if ((eq = strchr(s, '=')) == NULL || eq == s ||
	    (colon = strchr(eq + 1, ':')) == NULL || colon == eq + 1 || colon[1] == '\0') {
		p->err = xasprintf("tls_sni_maps: \"%s\" is not NAME=CERT:KEY", s);
		free(s);
		return -1;
	}
	*eq = *colon = '\0';
	str_lower(s);
	if ((ctx = server_ssl_ctx_new(&e)) == NULL ||
	    load_cert_key(ctx, eq + 1, colon + 1, "tls_sni_maps", "tls_sni_maps", &e) < 0) {
		p->err = xasprintf("%s (name %s)", e, s);
		free(e);
		SSL_CTX_free(ctx);
		free(s);
		return -1;
	}
	p->t->e = xreallocarray(p->t->e, p->t->n + 1, sizeof(*p->t->e));
	ent = &p->t->e[p->t->n++];
	ent->name = s;		/* NAME, NUL-terminated at the '=' */
	ent->ssl = ctx;
	return 0;
}

struct tls_ctx *
tls_ctx_new(const struct conf *c, char **err_r)
{
	struct tls_ctx		*t;
	struct sni_parse	 p = { 0 };
	const char		*chain = conf_str(c, CK_SMTPD_TLS_CHAIN_FILE);
	const char		*sni = conf_str(c, CK_TLS_SNI_MAPS);

	*err_r = NULL;
	t = xcalloc(1, sizeof(*t));
	t->server = true;
	if ((t->ssl = server_ssl_ctx_new(err_r)) == NULL)
		goto fail;
	if (load_cert_key(t->ssl, conf_str(c, CK_SMTPD_TLS_CERT_FILE),
	    conf_str(c, CK_SMTPD_TLS_KEY_FILE), "smtpd_tls_cert_file", "smtpd_tls_key_file",
	    err_r) < 0)
		goto fail;
	if (chain[0] != '\0' && load_chain(t->ssl, chain, err_r) < 0)
		goto fail;
	if (sni[0] != '\0') {
		p.t = xcalloc(1, sizeof(*p.t));
		if (str_each_item(sni, sni_parse_item, &p) != 0) {
			sni_table_free(p.t);
			*err_r = p.err;
			goto fail;
		}
		pthread_once(&sni_once, sni_init_once);
		if (sni_idx < 0 || SSL_CTX_set_ex_data(t->ssl, sni_idx, p.t) != 1) {
			sni_table_free(p.t);
			*err_r = tls_ssl_err("SSL_CTX_set_ex_data");
			goto fail;
		}
		SSL_CTX_set_tlsext_servername_callback(t->ssl, sni_cb);
		SSL_CTX_set_tlsext_servername_arg(t->ssl, p.t);
	}
	return t;
fail:
	tls_ctx_free(&t);
	return NULL;
}

struct tls_ctx *
tls_client_ctx_new(const char *ca_file, char **err_r)
{
	struct tls_ctx *t;

	*err_r = NULL;
	t = xcalloc(1, sizeof(*t));
	if ((t->ssl = SSL_CTX_new(TLS_client_method())) == NULL) {
		*err_r = tls_ssl_err("SSL_CTX_new");
		goto fail;
	}
	/*
	 * Opportunistic (RFC 7435): SSL_VERIFY_NONE still runs the chain and
	 * host name checks and records the result for tls_peer_verified(),
	 * but never aborts the handshake — an unverified encrypted session
	 * beats plaintext.  OpenSSL's default cipher list, as remote MTAs are
	 * a varied lot; TLS 1.2 minimum as on the server.
	 */
	SSL_CTX_set_verify(t->ssl, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_min_proto_version(t->ssl, TLS1_2_VERSION);
	SSL_CTX_set_options(t->ssl, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(t->ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(t->ssl, ca_file, NULL) != 1) {
			char e[256];

			ssl_errstr(e, sizeof(e));
			*err_r = xasprintf("cannot load CA file %s: %s", ca_file, e);
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(t->ssl) != 1)
		ERR_clear_error();	/* no system store: nothing verifies, still fine */
	return t;
fail:
	tls_ctx_free(&t);
	return NULL;
}

void
tls_ctx_free(struct tls_ctx **pt)
{
	if (pt == NULL || *pt == NULL)
		return;
	SSL_CTX_free((*pt)->ssl);	/* live SSLs hold their own references */
	free(*pt);
	*pt = NULL;
}

static struct bufferevent *
tls_wrap(SSL *ssl, struct event_base *base, struct bufferevent *underlying,
    evutil_socket_t fd, enum bufferevent_ssl_state state)
{
	struct bufferevent	*bev;
	const int		 opt = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;

	if (underlying != NULL) {
		/* The session's plain timeouts would otherwise keep firing
		 * underneath; the caller sets new ones on the result. */
		bufferevent_set_timeouts(underlying, NULL, NULL);
		bev = bufferevent_openssl_filter_new(base, underlying, ssl, state, opt);
	} else
		bev = bufferevent_openssl_socket_new(base, fd, ssl, state, opt);
	if (bev == NULL) {
		/* libevent frees neither the SSL nor the socket on failure. */
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

struct bufferevent *
tls_wrap_server(struct tls_ctx *ctx, struct event_base *base,
    struct bufferevent *underlying, evutil_socket_t fd)
{
	SSL *ssl;

	if (!ctx->server)
		fatalx("tls_wrap_server: client context");
	if ((ssl = SSL_new(ctx->ssl)) == NULL) {
		ERR_clear_error();
		return NULL;
	}
	return tls_wrap(ssl, base, underlying, fd, BUFFEREVENT_SSL_ACCEPTING);
}

int
tls_server_min_version(struct bufferevent *bev, int minor)
{
	static const int versions[] = { TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION };
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	if (ssl == NULL || minor < 1 || minor > 4 ||
	    SSL_set_min_proto_version(ssl, versions[minor - 1]) != 1)
		goto fail;
	if (minor < 3) {
		/* OpenSSL 3 refuses TLS < 1.2 (SHA-1 signatures) at security level >= 1;
		 * lower it for this one session only. */
		SSL_set_security_level(ssl, 0);
		if (SSL_set_cipher_list(ssl, TLS_CIPHERS_LEGACY) != 1)
			goto fail;
	}
	return 0;
fail:
	ERR_clear_error();
	return -1;
}

/* IP literals get neither SNI (RFC 6066 §3) nor a DNS-name check. */
static bool
is_ip_literal(const char *s)
{
	unsigned char	 a[16];
	char		 tmp[64];
	size_t		 n;

	if (inet_pton(AF_INET, s, a) == 1)
		return true;
	n = str_copy(tmp, s[0] == '[' ? s + 1 : s, sizeof(tmp));
	if (n > 0 && n < sizeof(tmp) && tmp[n - 1] == ']')
		tmp[n - 1] = '\0';
	return inet_pton(AF_INET6, tmp, a) == 1;
}

struct bufferevent *
tls_wrap_client(struct tls_ctx *ctx, struct event_base *base,
    struct bufferevent *underlying, evutil_socket_t fd, const char *servername)
{
	SSL *ssl;

	if (ctx->server)
		fatalx("tls_wrap_client: server context");
	if ((ssl = SSL_new(ctx->ssl)) == NULL) {
		ERR_clear_error();
		return NULL;
	}
	if (servername != NULL && servername[0] != '\0' && !is_ip_literal(servername)) {
		if (SSL_set_tlsext_host_name(ssl, servername) != 1 ||
		    SSL_set1_host(ssl, servername) != 1) {
			ERR_clear_error();
			SSL_free(ssl);
			return NULL;
		}
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	}
	return tls_wrap(ssl, base, underlying, fd, BUFFEREVENT_SSL_CONNECTING);
}

bool
tls_starttls_injection(struct bufferevent *plain)
{
	return evbuffer_get_length(bufferevent_get_input(plain)) > 0;
}

bool
tls_active(struct bufferevent *bev)
{
	return bev != NULL && bufferevent_openssl_get_ssl(bev) != NULL;
}

/* The SSL of an established TLS bufferevent, else NULL. */
static SSL *
established(struct bufferevent *bev)
{
	SSL *ssl;

	if (bev == NULL || (ssl = bufferevent_openssl_get_ssl(bev)) == NULL ||
	    !SSL_is_init_finished(ssl))
		return NULL;
	return ssl;
}

void
tls_describe(struct bufferevent *bev, char *buf, size_t sz)
{
	SSL			*ssl = established(bev);
	const SSL_CIPHER	*c;
	int			 alg = 0, bits;

	if (sz == 0)
		return;
	buf[0] = '\0';
	if (ssl == NULL || (c = SSL_get_current_cipher(ssl)) == NULL)
		return;
	bits = SSL_CIPHER_get_bits(c, &alg);
	if (snprintf(buf, sz, "%s with cipher %s (%d/%d bits)", SSL_get_version(ssl),
	    SSL_CIPHER_get_name(c), bits, alg) < 0)
		buf[0] = '\0';
}

void
tls_describe_short(struct bufferevent *bev, char *buf, size_t sz)
{
	SSL			*ssl = established(bev);
	const SSL_CIPHER	*c;

	if (sz == 0)
		return;
	if (ssl == NULL || (c = SSL_get_current_cipher(ssl)) == NULL) {
		str_copy(buf, "no", sz);
		return;
	}
	if (snprintf(buf, sz, "%s:%s", SSL_get_version(ssl), SSL_CIPHER_get_name(c)) < 0)
		str_copy(buf, "no", sz);
}

bool
tls_peer_verified(struct bufferevent *bev)
{
	SSL	*ssl = established(bev);
	X509	*peer;

	if (ssl == NULL || (peer = SSL_get1_peer_certificate(ssl)) == NULL)
		return false;
	X509_free(peer);
	return SSL_get_verify_result(ssl) == X509_V_OK;
}

const char *
tls_verify_error(struct bufferevent *bev)
{
	SSL	*ssl = established(bev);
	X509	*peer;

	if (ssl == NULL)
		return "no TLS session";
	if ((peer = SSL_get1_peer_certificate(ssl)) == NULL)
		return "no peer certificate";
	X509_free(peer);
	return X509_verify_cert_error_string(SSL_get_verify_result(ssl));
}

const char *
tls_sni_name(struct bufferevent *bev)
{
	SSL *ssl;

	if (bev == NULL || (ssl = bufferevent_openssl_get_ssl(bev)) == NULL)
		return NULL;
	return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
}

void
tls_last_error(struct bufferevent *bev, char *buf, size_t sz)
{
	unsigned long	 e, first = 0;
	const char	*r;

	if (sz == 0)
		return;
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (first == 0)
			first = e;
	if (first != 0) {
		if ((r = ERR_reason_error_string(first)) != NULL)
			str_copy(buf, r, sz);
		else
			ERR_error_string_n(first, buf, sz);
	} else if (errno != 0)
		str_copy(buf, strerror(errno), sz);
	else
		str_copy(buf, "unknown", sz);
}

/* ---- graceful close ------------------------------------------------- */

#define TLS_CLOSE_DEADLINE	5	/* seconds for the tail to leave */

/*
 * Driven by events, not by a timer that polls: each thing that can let
 * the close go on (the TLS output drained into SSL, the plain output
 * below a STARTTLS filter drained into the socket, the socket writable
 * again after SSL_shutdown wanted to write) activates ev_step; one
 * deadline bounds a client that stopped reading.
 */
struct tls_close {
	struct bufferevent	*bev;
	struct event		*ev_step;	/* run tls_close_step() from the loop */
	struct event		*ev_fd;		/* implicit TLS: socket writable again */
	struct event		*ev_deadline;
	struct evbuffer		*under_out;	/* STARTTLS: the plain output we watch */
	struct evbuffer_cb_entry *under_cb;
	bool			 notified;	/* close_notify is written */
	bool			 want_write;	/* SSL_shutdown must be retried */
	void			(*done_cb)(void *);
	void			*arg;
};

/*
 * One step; true when there is nothing left to wait for.  Order matters:
 * the close_notify must follow every byte of the reply, so SSL_shutdown
 * waits until the filter's own output has gone through SSL_write, and the
 * free waits until the plain bufferevent below (STARTTLS) has sent the
 * records: freeing the filter frees that buffer unsent.
 */
static bool
tls_close_step(struct tls_close *tc)
{
	struct bufferevent	*under;
	SSL			*ssl;
	int			 r;

	if (evbuffer_get_length(bufferevent_get_output(tc->bev)) > 0)
		return false;
	if (!tc->notified) {
		ssl = bufferevent_openssl_get_ssl(tc->bev);
		r = SSL_shutdown(ssl);
		/* A full socket buffer (implicit TLS) or a full plain output
		 * (STARTTLS, past its high-water mark) says "try again";
		 * anything else is final. */
		tc->want_write = r < 0 && SSL_get_error(ssl, r) == SSL_ERROR_WANT_WRITE;
		tc->notified = !tc->want_write;
		ERR_clear_error();	/* leave no error behind for the next session's diagnostics */
		if (!tc->notified)
			return false;
	}
	under = bufferevent_get_underlying(tc->bev);
	return under == NULL || evbuffer_get_length(bufferevent_get_output(under)) == 0;
}

static void
tls_close_free(struct tls_close *tc)
{
	if (tc->under_cb != NULL)
		evbuffer_remove_cb_entry(tc->under_out, tc->under_cb);
	bufferevent_free(tc->bev);
	if (tc->ev_step != NULL)
		event_free(tc->ev_step);
	if (tc->ev_fd != NULL)
		event_free(tc->ev_fd);
	if (tc->ev_deadline != NULL)
		event_free(tc->ev_deadline);
	free(tc);
}

static void
tls_close_finish(struct tls_close *tc)
{
	void	(*done_cb)(void *) = tc->done_cb;
	void	*arg = tc->arg;

	tls_close_free(tc);
	done_cb(arg);
}

static void
tls_close_step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tls_close *tc = arg;

	if (tls_close_step(tc)) {
		tls_close_finish(tc);
		return;
	}
	/* Implicit TLS writes to the socket itself: wait until it takes more. */
	if (tc->want_write && tc->ev_fd != NULL)
		event_add(tc->ev_fd, NULL);
}

/* A client that stopped reading loses the tail. */
static void
tls_close_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	tls_close_finish(arg);
}

/* The TLS output drained into SSL. */
static void
tls_close_write_cb(struct bufferevent *bev, void *arg)
{
	struct tls_close *tc = arg;

	event_active(tc->ev_step, EV_TIMEOUT, 0);
}

/* Bytes left the plain output below a STARTTLS filter.  Never free from
 * inside an evbuffer callback: the step runs from the loop. */
static void
tls_close_under_cb(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct tls_close *tc = arg;

	if (info->n_deleted > 0)
		event_active(tc->ev_step, EV_TIMEOUT, 0);
}

/* What the peer still sends (its close_notify, late commands) is read and
 * dropped, so the kernel has no unread data to answer our close with RST. */
static void
tls_close_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

static void
tls_close_event_cb(struct bufferevent *bev, short what, void *arg)
{
	/* An error means the peer is gone: nothing more can be sent.  EOF
	 * (its close_notify or FIN) does not stop our output from leaving. */
	if (what & BEV_EVENT_ERROR)
		tls_close_finish(arg);
}

struct tls_close *
tls_close_gracefully(struct bufferevent *bev, struct event_base *base,
    void (*done_cb)(void *), void *arg)
{
	struct tls_close	*tc;
	struct bufferevent	*under;
	struct timeval		 tv = { TLS_CLOSE_DEADLINE, 0 };

	/* Before the handshake finished there is nothing of ours worth sending. */
	if (established(bev) == NULL) {
		bufferevent_free(bev);
		return NULL;
	}
	tc = xcalloc(1, sizeof(*tc));
	tc->bev = bev;
	tc->done_cb = done_cb;
	tc->arg = arg;
	bufferevent_setcb(bev, tls_close_read_cb, tls_close_write_cb, tls_close_event_cb, tc);
	bufferevent_set_timeouts(bev, NULL, NULL);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (tls_close_step(tc)) {
		tls_close_free(tc);
		return NULL;
	}
	tc->ev_step = event_new(base, -1, 0, tls_close_step_cb, tc);
	tc->ev_deadline = evtimer_new(base, tls_close_deadline_cb, tc);
	if ((under = bufferevent_get_underlying(bev)) != NULL) {
		tc->under_out = bufferevent_get_output(under);
		tc->under_cb = evbuffer_add_cb(tc->under_out, tls_close_under_cb, tc);
	} else
		tc->ev_fd = event_new(base, bufferevent_getfd(bev), EV_WRITE, tls_close_step_cb, tc);
	if (tc->ev_step == NULL || tc->ev_deadline == NULL ||
	    (under != NULL ? tc->under_cb == NULL : tc->ev_fd == NULL)) {
		tls_close_free(tc);
		return NULL;
	}
	if (tc->want_write && tc->ev_fd != NULL)
		event_add(tc->ev_fd, NULL);
	evtimer_add(tc->ev_deadline, &tv);
	return tc;
}

void
tls_close_cancel(struct tls_close **tcp)
{
	if (*tcp == NULL)
		return;
	tls_close_free(*tcp);
	*tcp = NULL;
}
