/*
 * The TLS layer every protocol shares (SMTP, submission, IMAP, POP3 and the
 * outbound SMTP client): OpenSSL 3 contexts, bufferevent wrapping for
 * implicit TLS (RFC 8314) and STARTTLS (RFC 3207, RFC 2595), one-line
 * descriptions for Received: headers and logs, and the self-signed
 * certificate that `init` and `cert create` write.
 *
 * How a session uses it
 * ---------------------
 * Implicit TLS (465, 993, 995): on accept, instead of a socket bufferevent,
 *	bev = tls_wrap_server(srv->tls, base, NULL, fd);
 * and set its callbacks and the handshake timeout (below) before enabling.
 *
 * STARTTLS / STLS, in the command handler, synchronously, right after the
 * command line was taken out of the input buffer:
 *	1. Queue the "220 2.0.0 Ready to start TLS" (IMAP: "OK Begin TLS",
 *	   POP3: "+OK Begin TLS") reply on the plain bufferevent.
 *	2. if (tls_starttls_injection(plain)) → log it and close the session
 *	   without reading further: the client pipelined plaintext after the
 *	   command (RFC 3207 §4.2 / CVE-2011-0411, "STARTTLS command
 *	   injection"); those bytes must never be executed as if they had
 *	   come over TLS.  Check *before* returning to the event loop: once
 *	   the loop has run, the client's legitimate ClientHello may already
 *	   sit in the same buffer and could not be told apart.
 *	3. tls = tls_wrap_server(srv->tls, base, plain, -1).  Do this in the
 *	   same callback too; there is no need to wait for the reply to be
 *	   flushed: the filter writes its TLS records into the plain
 *	   bufferevent's output *after* the queued plaintext reply.
 *	4. From now on use only `tls` (set its callbacks, timeouts, enable
 *	   EV_READ|EV_WRITE); never touch or free `plain` again: freeing
 *	   `tls` frees `plain` and closes the socket.  Stop the read loop of
 *	   the plain callback (return at once).
 *	5. Reset the session as the RFCs require: forget EHLO/HELO, AUTH
 *	   state and the mail transaction (RFC 3207 §4.2); IMAP forgets its
 *	   capabilities; POP3 stays in AUTHORIZATION.  A second STARTTLS on
 *	   a TLS session gets "503"/"BAD"/"-ERR" (check tls_active()).
 *
 * Handshake timeout: the caller owns timeouts.  Right after wrapping, set
 *	bufferevent_set_timeouts(tls, &hs, &hs)	(hs = tls_handshake_timeout)
 * and, when the event callback sees BEV_EVENT_CONNECTED (the handshake
 * finished, for accepting bufferevents too), switch to the protocol's
 * idle timeout.  Before that, the read callback does not fire.  A failed
 * handshake arrives as BEV_EVENT_ERROR (tls_last_error() says why; log it
 * at info level, it is the peer's problem) or BEV_EVENT_EOF.
 *
 * Closing on our side (221 to QUIT, 421, "-ERR"/"+OK" to QUIT, BYE):
 * once the last reply is queued and the session would free its
 * bufferevent, hand it over instead:
 *	s->tls_close = tls_close_gracefully(s->bev, base, closed_cb, s);
 *	s->bev = NULL;		(it is not the session's any more)
 *	if (s->tls_close != NULL)
 *		return;		(closed_cb frees the rest of the session)
 * It waits for the queued output to go through SSL, sends close_notify
 * (OpenSSL 3 clients such as s_client report "unexpected eof" without
 * it) and, with STARTTLS, waits until the plain bufferevent below has
 * sent the records: freeing the filter frees that buffer unsent, which
 * lost the 221 to QUIT.  Call it for plain bufferevents too (they are
 * freed at once).  When the peer is already gone (BEV_EVENT_EOF/ERROR)
 * skip it and bufferevent_free() directly; when the process exits with
 * a close still pending, tls_close_cancel() it.
 *
 * Threads: contexts are created at startup (as root, before privileges are
 * dropped, since the key is 0600) and are read-only afterwards; every
 * function here runs on the event loop thread.
 */
#ifndef LB_NET_TLS_H
#define LB_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/util.h>

struct bufferevent;
struct conf;
struct event_base;
struct tls_ctx;

/*
 * Server context from the config: smtpd_tls_cert_file (PEM, leaf first,
 * may carry the chain), smtpd_tls_key_file, optional smtpd_tls_chain_file
 * (extra intermediates), and tls_sni_maps ("NAME=CERT:KEY, ..."; NAME may
 * be "*.example.com" for one label; paths must not contain ':' or ',').
 * A client whose SNI name matches no entry gets the default certificate.
 * Returns a new context, or NULL with *err_r allocated (caller frees),
 * naming the file and the config key that failed ("key /x/key.pem does
 * not match certificate /x/cert.pem (smtpd_tls_key_file)").
 */
struct tls_ctx	*tls_ctx_new(const struct conf *c, char **err_r);

/*
 * Client context for outbound SMTP: opportunistic TLS, so a failed
 * certificate check never aborts the handshake; tls_peer_verified() tells
 * afterwards whether the chain and host name checked out.  ca_file (PEM)
 * is the trust store, or NULL for the system's default store.  Returns a
 * new context, or NULL with *err_r allocated.
 */
struct tls_ctx	*tls_client_ctx_new(const char *ca_file, char **err_r);

/* Free a server or client context; accepts NULL; sets *ctx = NULL.  Live
 * bufferevents keep their own references and stay usable. */
void		 tls_ctx_free(struct tls_ctx **ctx);

/*
 * Start server-side TLS.  With underlying == NULL (implicit TLS) a new
 * socket bufferevent on fd; otherwise (STARTTLS) a filter over underlying,
 * fd ignored.  The result has BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS
 * and dirty shutdown allowed (mail clients rarely send close_notify; the
 * protocols have their own end markers).  It owns the SSL, the underlying
 * bufferevent and the socket: bufferevent_free() on it releases all three.
 * Timeouts that were set on underlying are cleared.  Returns NULL only on
 * resource exhaustion (then underlying / fd are untouched and still the
 * caller's).  Must not be called on a client context.
 */
struct bufferevent *tls_wrap_server(struct tls_ctx *ctx, struct event_base *base,
		    struct bufferevent *underlying, evutil_socket_t fd);

/*
 * Client side, same ownership rules.  servername (may be NULL) is sent as
 * SNI (unless it is an IP literal) and checked against the certificate for
 * tls_peer_verified().
 */
struct bufferevent *tls_wrap_client(struct tls_ctx *ctx, struct event_base *base,
		    struct bufferevent *underlying, evutil_socket_t fd, const char *servername);

/*
 * STARTTLS step 2: true if the client sent anything after the STARTTLS
 * command line (the input buffer of plain is not empty) — the session
 * must then close without wrapping.  Does not modify the buffer.
 */
bool		 tls_starttls_injection(struct bufferevent *plain);

/* True if bev is a TLS bufferevent (any state). */
bool		 tls_active(struct bufferevent *bev);

/*
 * For the Received: header, as Postfix writes it inside "(using ...)":
 * "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)".
 * Empty string if bev is not TLS or the handshake is not finished.
 * Always NUL-terminates (truncating) when sz > 0.
 */
void		 tls_describe(struct bufferevent *bev, char *buf, size_t sz);

/*
 * For log lines, the value after "tls=": "TLSv1.3:TLS_AES_256_GCM_SHA384",
 * or "no" if bev is not TLS / not yet established.
 */
void		 tls_describe_short(struct bufferevent *bev, char *buf, size_t sz);

/* Client side: did the peer's chain verify and match servername? */
bool		 tls_peer_verified(struct bufferevent *bev);
/* Why not ("ok" if it did); static string. */
const char	*tls_verify_error(struct bufferevent *bev);

/* Server side: the SNI name the client sent, or NULL (borrowed, valid
 * while bev lives). */
const char	*tls_sni_name(struct bufferevent *bev);

/* After BEV_EVENT_ERROR: the OpenSSL reason(s) ("unsupported protocol"),
 * or strerror(errno) text, or "unknown"; for the log. */
void		 tls_last_error(struct bufferevent *bev, char *buf, size_t sz);

/*
 * End a session that closes on our side without losing its last reply;
 * see "How a session uses it" above.  Takes bev (TLS or plain) whatever
 * happens: the caller must not touch it again, and its callbacks and
 * timeouts are replaced.  Returns NULL when bev was freed at once (not
 * TLS, handshake not finished, or nothing left to send); done_cb is then
 * not called.  Otherwise returns a handle and calls done_cb(arg) exactly
 * once, from the event loop, after bev is freed: the output and the
 * close_notify left, the peer went away (write error), or 5 s passed (a
 * client that stopped reading loses the tail).  What the peer sends
 * meanwhile is read and dropped.
 */
struct tls_close;
struct tls_close *tls_close_gracefully(struct bufferevent *bev, struct event_base *base,
		    void (*done_cb)(void *arg), void *arg);
/* Free a pending close now (bev included) without calling done_cb;
 * accepts NULL; sets *tc = NULL.  For the exit path. */
void		 tls_close_cancel(struct tls_close **tc);

/*
 * Write a self-signed certificate for hostname: RSA 2048 (every client
 * speaks it), SHA-256, CN and subjectAltName DNS:hostname, CA:TRUE so the
 * certificate itself can serve as a client's CA file, serverAuth, 10 years,
 * random 128-bit serial.  The key goes to key_path with mode 0600, the
 * certificate to cert_path with mode 0644, each through a temporary file
 * and rename(2) so a crash never leaves half a file; missing parent
 * directories are created with mode 0755; existing files are replaced.
 * Ownership is the caller's business (the files belong to the caller's
 * euid).  Returns 0, or -1 with *err_r allocated.
 */
int		 tls_cert_create(const char *cert_path, const char *key_path,
		    const char *hostname, char **err_r);

/*
 * A server session (from tls_wrap_server(), before its handshake) accepts
 * TLS 1.<minor - 1> and later: minor 1 = TLS 1.0 ... 4 = TLS 1.3 (see
 * conf_tls_min_minor()).  Below 1.2 it also gets OpenSSL security level 0
 * and CBC suites, for this session only.  Returns 0, or -1.
 */
int	tls_server_min_version(struct bufferevent *bev, int minor);

#endif
