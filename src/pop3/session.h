/*
 * Internal to src/pop3: the protocol state shared by session.c (the
 * callbacks the session core calls), cmd.c (the verbs), maildrop.c
 * (mailbox open/lock/update on the worker pool) and retr.c (streaming a
 * message with dot-stuffing).  Connections, TLS, timeouts, line reading
 * and closing are the session core's (net/session.h).
 */
#ifndef LB_POP3_SESSION_H
#define LB_POP3_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth/login_step.h"
#include "lib/buf.h"

struct server;
struct session;
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

/* The protocol state of a session; the connection is the core's (net/session.h). */
struct pop3_session {
	struct session		*ss;
	struct server		*srv;		/* ss->srv */
	const char		*sid;		/* ss->sid, for log lines */
	enum pop3_state		 state;
	unsigned		 errors;

	/* AUTHORIZATION */
	char			*user;		/* from USER */
	struct login_step	 login_step;
	char			*login;		/* canonical user once authenticated */

	/* TRANSACTION */
	struct store_mailbox	*mb;
	int			 lock_fd;
	struct pop3_msg		*msgs;
	size_t			 nmsgs;
	struct pop3_stream	 stream;
	unsigned		 nretr, ndele, ntop;
};

/* session.c */
void	pop3_set_state(struct pop3_session *s, enum pop3_state st);
void	pop3_reply(struct pop3_session *s, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* RETR/TOP output: sent at once when possible (net/session.h session_send). */
void	pop3_send(struct pop3_session *s, const void *p, size_t n);
void	pop3_close(struct pop3_session *s);
void	pop3_resume(struct pop3_session *s);
bool	pop3_tls(const struct pop3_session *s);
void	pop3_logged_in(struct pop3_session *s);
size_t	pop3_output_len(struct pop3_session *s);
void	pop3_tls_short(struct pop3_session *s, char *buf, size_t sz);
/* The "logout user=..." / "disconnect" line; why may be NULL. */
void	pop3_log_logout(struct pop3_session *s, const char *why);

/* cmd.c */
void	pop3_dispatch(struct pop3_session *s, const char *line, size_t len);
void	pop3_greeting(struct pop3_session *s);
void	pop3_bad(struct pop3_session *s, const char *text);
extern const struct login_ops pop3_login_ops;

/* maildrop.c */
void	pop3_maildrop_open(struct pop3_session *s);
void	pop3_maildrop_update(struct pop3_session *s);
void	pop3_maildrop_release(struct pop3_session *s);

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
