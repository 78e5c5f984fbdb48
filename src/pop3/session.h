/*
 * Internal to src/pop3: the session shared by session.c (connection,
 * TLS, timeouts, line reading, closing), cmd.c (the verbs), maildrop.c
 * (mailbox open/lock/update on the worker pool) and retr.c (streaming a
 * message with dot-stuffing).
 */
#ifndef LB_POP3_SESSION_H
#define LB_POP3_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth/sasl.h"
#include "lib/buf.h"
#include "net/conn.h"

#include <event2/util.h>

struct auth_req;
struct bufferevent;
struct tls_close;
struct event;
struct server;
struct service;
struct store_mailbox;
struct pop3_job;

/* STYLE.md §7: POP3 command line (RFC 2449 says 255; room for AUTH's initial response). */
#define POP3_LINE_MAX		512
/* Unknown / malformed commands before the session is closed. */
#define POP3_ERROR_LIMIT	20
/* Stop filling the output while it holds this much (RETR/TOP backpressure). */
#define POP3_OUT_HIGH		(256 * 1024)
/* Input a session may hold while it waits (pipelined commands). */
#define POP3_IN_MAX		(64 * 1024)

enum pop3_state {
	POP3_S_TLS,		/* implicit TLS handshake, nothing sent yet */
	POP3_S_AUTH,		/* AUTHORIZATION: USER/PASS/AUTH/STLS/CAPA/QUIT */
	POP3_S_SASL,		/* AUTH exchange: next line is a SASL response */
	POP3_S_TRANS,		/* TRANSACTION: the maildrop is open and locked */
	POP3_S_UPDATE,		/* QUIT seen: deletions are being applied */
	POP3_S_CLOSING,		/* flush what is queued, then free */
};

/* A message being sent (RETR, TOP). */
struct pop3_stream {
	int		 fd;		/* -1 when idle */
	bool		 top;		/* stop after `lines` body lines */
	uint64_t	 lines;
	uint64_t	 body_lines;	/* body lines sent so far */
	bool		 in_body;
	bool		 bol;		/* at the beginning of a line */
	bool		 cr;		/* last byte sent was CR */
	size_t		 linelen;	/* bytes of the current line, CR not counted */
	uint64_t	 fsize;		/* the file's size as the store knows it */
	uint64_t	 got;		/* bytes read so far */
	char		 head[48];	/* "+OK ..." line, sent with the first chunk */
	size_t		 headlen;
};

struct pop3_msg {
	uint32_t	 uid;
	uint64_t	 size;		/* octets as RETR sends them (before dot-stuffing) */
	bool		 deleted;
	char		*uidl;		/* RFC 1939 unique-id */
};

struct pop3_session {
	struct pop3_session	*prev, *next;	/* all sessions, for shutdown */
	struct server		*srv;
	const struct service	*svc;
	struct bufferevent	*bev;
	struct event		*ev_login;	/* login_timeout deadline */
	struct event		*ev_delay;	/* throttle delay before a failure reply */
	struct event		*ev_free;	/* deferred free */
	char			 sid[SID_LEN + 1];
	char			 rip[64];	/* client IP, text */
	char			 rport[8];
	enum pop3_state		 state;
	struct buf		 line;
	bool			 waiting;	/* async step running; input stays queued */
	bool			 handshaking;	/* TLS handshake in progress */
	bool			 direct;	/* plain TCP: pop3_write may send(2) itself */
	unsigned		 errors;
	unsigned		 auth_failures;
	unsigned		 free_tries;
	struct tls_close	*tls_close;	/* a graceful TLS close in progress */

	/* AUTHORIZATION */
	char			*user;		/* from USER */
	struct sasl		 sasl;
	const char		*method;	/* "USER", "PLAIN", "LOGIN" */
	char			*tried_user;	/* login being checked (for the log) */
	struct auth_req		*auth;
	char			*login;		/* canonical user once authenticated */

	/* TRANSACTION */
	struct pop3_job		*job;		/* open/update job in flight */
	struct store_mailbox	*mb;
	int			 lock_fd;
	struct pop3_msg		*msgs;
	size_t			 nmsgs;
	struct pop3_stream	 stream;
	unsigned		 nretr, ndele, ntop;
	uint64_t		 bytes_out;
};

/* session.c */
void	pop3_set_state(struct pop3_session *s, enum pop3_state st);
void	pop3_reply(struct pop3_session *s, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	pop3_write(struct pop3_session *s, const void *p, size_t n);
/* The same, but sent at once when possible (RETR/TOP; see session.c). */
void	pop3_send(struct pop3_session *s, const void *p, size_t n);
void	pop3_close(struct pop3_session *s);
void	pop3_resume(struct pop3_session *s);
int	pop3_starttls(struct pop3_session *s);
bool	pop3_tls(const struct pop3_session *s);
void	pop3_logged_in(struct pop3_session *s);
size_t	pop3_output_len(struct pop3_session *s);
void	pop3_tls_short(struct pop3_session *s, char *buf, size_t sz);

/* cmd.c */
void	pop3_dispatch(struct pop3_session *s, const char *line, size_t len);
void	pop3_sasl_line(struct pop3_session *s, const char *line, size_t len);
void	pop3_greeting(struct pop3_session *s);
void	pop3_delay_cb(evutil_socket_t fd, short what, void *arg);	/* ev_delay fired */

/* maildrop.c */
void	pop3_maildrop_open(struct pop3_session *s);
void	pop3_maildrop_update(struct pop3_session *s);
void	pop3_maildrop_release(struct pop3_session *s);
/* Detach the session from its job (session going away). */
void	pop3_maildrop_detach(struct pop3_session *s);

/* retr.c */
int	pop3_stream_start(struct pop3_session *s, size_t idx, bool top, uint64_t lines);
void	pop3_stream_more(struct pop3_session *s);
void	pop3_stream_stop(struct pop3_session *s);
/*
 * The byte transform RETR/TOP apply: dot-stuffing (RFC 1939 §3), LF -> CRLF,
 * and TOP's line limit.  Appends the output for in[0..n) to out; returns 1
 * when TOP's limit was reached (stop reading), else 0.
 */
int	pop3_stuff(struct pop3_stream *st, const unsigned char *in, size_t n, struct buf *out);
/* End of message: CRLF if the last line was unterminated, then ".\r\n". */
void	pop3_stuff_end(struct pop3_stream *st, struct buf *out);

#endif
