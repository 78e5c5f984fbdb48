/*
 * The session core every protocol (SMTP, POP3, IMAP) sits on: accept and
 * connection limits, plain or implicit TLS, STARTTLS with the injection
 * check, line and raw-byte input with limits, replies with byte counts and
 * output backpressure, handshake / login / idle timeouts, one close path
 * (drain, close_notify, deferred free) and the shutdown walk.  A protocol
 * hands the core a table of callbacks (struct session_proto) and keeps
 * only protocol: verbs, states and replies.
 *
 * Life of a session
 *	accept -> [refused: counted limits, before any TLS work]
 *	       -> implicit TLS handshake (handshake timeout) -> proto->start
 *	       -> input: proto->line per line / proto->raw per chunk
 *	       -> session_close(): stop reading, drain the output, close_notify,
 *	          then proto->free and the session is freed from a deferred
 *	          event, never from inside a callback that is still running.
 * Every callback runs on the event loop thread.  A callback may call
 * session_close(); the session stays valid until that callback returns.
 */
#ifndef LB_NET_SESSION_H
#define LB_NET_SESSION_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/util.h>

#include "lib/buf.h"
#include "net/conn.h"

struct bufferevent;
struct event;
struct server;
struct service;
struct session;
struct session_reg;
struct tls_close;
struct zlayer;

/* Socket and bufferevent options (proto->flags). */
/* (TCP_NODELAY and TCP_NOTSENT_LOWAT are set on every accepted socket: net/listen.c) */
#define SESSION_F_DEFER_CB	0x02	/* BEV_OPT_DEFER_CALLBACKS on the plain bufferevent */
#define SESSION_F_DIRECT_SEND	0x04	/* session_send() may send(2) itself on plain TCP */

/* Descriptors kept free for everything but sessions (Maildir files, the
 * queue, SQL, DNS, the listeners): new sessions are refused past that. */
#define SESSION_FD_RESERVE	128

enum session_timeout {
	SESSION_T_HANDSHAKE,	/* the TLS handshake did not finish */
	SESSION_T_LOGIN,	/* no session_authenticated() within limits.login_ms */
	SESSION_T_IDLE,		/* nothing read or written for the idle time */
};

enum session_bad_line {
	SESSION_BAD_TOO_LONG,	/* longer than the line limit; dropped up to its LF */
	SESSION_BAD_NUL,	/* held a NUL byte */
};

enum session_refusal {
	SESSION_R_SHUTDOWN,	/* the server is stopping */
	SESSION_R_SERVICE,	/* limits.max_service sessions on this service */
	SESSION_R_CLIENT,	/* limits.max_client sessions of this protocol from this address */
	SESSION_R_FDS,		/* the process is near its descriptor limit (server.fd_max) */
};

/* The numbers a protocol gives each new session (its own config keys). */
struct session_limits {
	unsigned	 max_service;	/* sessions on this service (0 = no limit) */
	unsigned	 max_client;	/* sessions of this protocol per address (0 = no limit) */
	bool		 client_exempt;	/* this client is not counted against max_client */
	unsigned	 handshake_ms;	/* TLS handshake */
	unsigned	 login_ms;	/* deadline for session_authenticated() (0 = none) */
	unsigned	 idle_ms;	/* idle timeout; session_set_idle() changes it */
	size_t		 line_max;	/* longest command line (CRLF not counted) */
	size_t		 line_cap;	/* largest session_set_line_max() value ever used */
};

struct session_proto {
	const char	*name;		/* log prefix: "pop3d", "smtpd", "imapd" */
	const char	*starttls_verb;	/* for log lines: "STARTTLS", "STLS" */
	unsigned	 flags;		/* SESSION_F_* */
	size_t		 in_max;	/* input held while waiting (read watermark) */
	size_t		 out_high;	/* no more input is read while this much output waits */
	/* Reply to a refused connection on plain TCP (with CRLF), by refusal. */
	const char	*refuse[4];	/* [SESSION_R_FDS] NULL: the SERVICE text */

	/* The protocol's own state for s (stored in s->ctx).  Required. */
	void		*(*attach)(struct session *s);
	/* Connected (after the implicit TLS handshake): send the greeting. */
	void		(*start)(struct session *s);
	/* One command line, without CRLF, NUL-terminated, no NUL inside. */
	void		(*line)(struct session *s, char *line, size_t len);
	/* A line that was too long or held a NUL: reply; may close. */
	void		(*bad_line)(struct session *s, enum session_bad_line why);
	/*
	 * Raw mode (session_read_raw): n > 0 bytes; returns how many it took
	 * (<= n).  Taking fewer, or calling session_wait(), stops the input
	 * loop until more arrives or session_resume().  NULs are passed as is.
	 */
	size_t		(*raw)(struct session *s, const unsigned char *p, size_t n);
	/* The output fell to out_high / 2 while session_watch_drain() is on. */
	void		(*drain)(struct session *s);
	/* The STARTTLS handshake finished (NULL: nothing to do). */
	void		(*tls_done)(struct session *s);
	/* A timeout: queue the reply (not called for SESSION_T_HANDSHAKE); the core closes. */
	void		(*timeout)(struct session *s, enum session_timeout t);
	/*
	 * The core ends the session: the log line.  reason: "timeout",
	 * "login-timeout", "tls-handshake-timeout", "tls-handshake-failed",
	 * "eof", "io-error", "starttls-injection", "shutdown", "compress-error".
	 */
	void		(*ended)(struct session *s, const char *reason);
	/* Server stop: reply and session_close(), or let a commit finish (NULL: close). */
	void		(*shutdown)(struct session *s);
	/* Free what attach() made; the bufferevent is already gone. */
	void		(*free)(struct session *s);
};

/* Pending worker-pool work of a session: see session_job_*() below. */
struct session_job {
	struct session		*s;		/* NULL once the session is gone */
	struct session_job	*prev, *next;
};

/*
 * Fields a protocol may read; the rest is the core's.  Valid until the
 * session is freed (after proto->free returns).
 */
struct session {
	char			 sid[SID_LEN + 1];
	char			 addr[64];	/* client address, text */
	char			 port[8];	/* client port, text */
	struct sockaddr_storage	 peer;
	const struct service	*svc;
	struct server		*srv;
	const struct session_proto *proto;
	void			*ctx;		/* from proto->attach */
	uint64_t		 bytes_in, bytes_out;

	/* core only */
	struct session		*prev, *next;	/* the registry's list */
	struct session_reg	*reg;
	struct bufferevent	*bev;
	struct tls_close	*tls_close;
	struct zlayer		*z;		/* compression, once session_compress() ran */
	struct event		*ev_zflush;	/* flushes the compressor after a write burst */
	struct event		*ev_free, *ev_login, *ev_delay;
	void			(*delay_fn)(struct session *, void *);
	void			*delay_arg;
	struct session_job	*jobs;
	struct session_limits	 lim;
	struct buf		 line;
	size_t			 raw_left;	/* raw mode while > 0 */
	unsigned		 client_hash;
	bool			 started, handshaking, closing, waiting, in_loop;
	bool			 out_full, watch_drain, skip_line, gone, counted;
};

/*
 * Take a new connection of svc (fd is ours from now on).  Refuses (logs
 * "PROTO sid=..: connect addr=A:P refused reason=...", writes
 * proto->refuse[] on plain TCP, closes) before any TLS work when the server
 * is stopping or a limit is reached.  Otherwise sets up the bufferevent
 * and calls proto->attach, logs the connect line, and proto->start now
 * (plain) or after the handshake (implicit TLS).  Returns the session, or
 * NULL when refused or on resource exhaustion.
 */
struct session	*session_accept(struct server *srv, const struct service *svc,
		    const struct session_proto *proto, const struct session_limits *lim,
		    evutil_socket_t fd, const struct sockaddr *sa, socklen_t salen);

/* ---- output -------------------------------------------------------- */

/* Queue bytes (counted in bytes_out); nothing once the peer is gone. */
void	session_write(struct session *s, const void *p, size_t n);
/* Queue one reply line; CRLF is added; truncated at 1000 bytes. */
void	session_reply(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void	session_vreply(struct session *s, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
/*
 * As session_write(), but with SESSION_F_DIRECT_SEND on plain TCP and
 * nothing queued, send(2) at once: saves a loop turn and three system
 * calls per streamed message.  The byte order is kept.
 */
void	session_send(struct session *s, const void *p, size_t n);
size_t	session_output_len(const struct session *s);
/* Call proto->drain each time the output falls to out_high / 2 (on) or stop. */
void	session_watch_drain(struct session *s, bool on);

/* ---- input --------------------------------------------------------- */

/* Line limit from now on (<= limits.line_cap), e.g. larger for a SASL response. */
void	session_set_line_max(struct session *s, size_t max);
/* The next n bytes (SIZE_MAX: until the protocol calls session_read_lines) go to proto->raw. */
void	session_read_raw(struct session *s, size_t n);
void	session_read_lines(struct session *s);
/*
 * Stop handing input to the protocol (an async step is running); later
 * pipelined commands wait in the input buffer, so replies keep their order.
 */
void	session_wait(struct session *s);
/* Go on with the queued input.  Safe from inside a callback and from a completion. */
void	session_resume(struct session *s);
bool	session_waiting(const struct session *s);
/*
 * Wait ms milliseconds (error throttling, "delay the next reply"), then
 * call fn(s, arg) and resume the input unless fn closed or waits again.
 * Nothing runs if the session closes meanwhile.
 */
void	session_delay(struct session *s, unsigned ms, void (*fn)(struct session *, void *),
	    void *arg);
/* Wipe the line buffer (it held a password or an AUTH response). */
void	session_wipe_line(struct session *s);

/* ---- TLS and timeouts ---------------------------------------------- */

/*
 * STARTTLS / STLS, called from proto->line right after queuing the
 * "go ahead" reply.  If the client pipelined anything after the command
 * (RFC 3207 §4.2, CVE-2011-0411) the session ends (proto->ended
 * "starttls-injection") and -1 is returned; also -1 when TLS cannot be
 * set up.  Otherwise the handshake starts (handshake timeout) and 0 is
 * returned; no input is handed over until it finished, then
 * proto->tls_done runs.  The caller forgets what the RFC says to forget.
 */
int	session_starttls(struct session *s);
bool	session_tls(const struct session *s);
/* After session_starttls(): accept TLS 1.minor and up on this connection (SMTP port 25). */
int	session_tls_min_version(struct session *s, int minor);
/* "TLSv1.3:TLS_AES_256_GCM_SHA384" or "no", for log lines. */
void	session_tls_short(const struct session *s, char *buf, size_t sz);
/* For Received: headers ("TLSv1.3 with cipher ..."); "" without TLS. */
void	session_tls_describe(const struct session *s, char *buf, size_t sz);
/* The login happened: the login deadline is cancelled. */
void	session_authenticated(struct session *s);
/* Idle timeout from now on (per state: SMTP's DATA, IMAP's IDLE). */
void	session_set_idle(struct session *s, unsigned ms);

/*
 * Compress both directions from now on (IMAP COMPRESS=DEFLATE, RFC 4978:
 * raw deflate, our window 32 KiB; level 0..9, mem_level 1..9 sizes the
 * compressor's tables).  Call right after queuing the reply that says so:
 * that reply leaves uncompressed, every byte after it compressed, and the
 * input still unread is taken as compressed.  Over TLS or plain TCP.
 * Returns 0, or -1 when already on, while a TLS handshake runs, or when
 * zlib cannot set up.  A corrupt compressed input ends the session
 * (proto->ended "compress-error").
 */
int	session_compress(struct session *s, int level, int mem_level);
bool	session_compressed(const struct session *s);
/* Bytes zlib holds for this session (0 without compression), for logs. */
size_t	session_compress_memory(const struct session *s);

/* ---- closing ------------------------------------------------------- */

/*
 * Stop reading; free the session once the queued output has left (TLS:
 * after close_notify), from a deferred event.  Cancels a pending
 * session_delay(), detaches jobs only at the free.  Idempotent.
 */
void	session_close(struct session *s);
bool	session_closing(const struct session *s);
/* The peer is gone (EOF or error): nothing written will arrive. */
bool	session_gone(const struct session *s);

/* ---- worker-pool jobs ---------------------------------------------- */

/*
 * A job that outlives its session: embed a struct session_job in the job,
 * attach it when submitting; the completion calls session_job_end() which
 * returns the session, or NULL when the session was freed meanwhile (the
 * job then cleans up alone).  Loop thread only.
 */
void	session_job_attach(struct session *s, struct session_job *j);
struct session *session_job_end(struct session_job *j);
/* Submit work/done to the pool with j attached to s. */
void	session_job_submit(struct session *s, struct session_job *j, void (*work)(void *),
	    void (*done)(void *), void *arg);

/* ---- registry ------------------------------------------------------ */

/* Sessions of proto on svc / from addr (NULL proto: all protocols). */
unsigned session_count_service(struct server *srv, const struct service *svc);
unsigned session_count_client(struct server *srv, const struct session_proto *proto,
	    const char *addr);
/* Free every session now (after the loop ended; no graceful close). */
void	session_free_all(struct server *srv);

#endif
