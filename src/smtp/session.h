/*
 * Private to the SMTP server (server.c, cmd.c, txn.c, policy.c): the
 * session state.  Only smtpd_set_state() assigns s->state.
 */
#ifndef LB_SMTP_SESSION_H
#define LB_SMTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "auth/sasl.h"
#include "lib/buf.h"
#include "net/conn.h"
#include "smtp/data.h"
#include "smtp/headers.h"
#include "smtp/parse.h"
#include "smtp/server.h"

struct bufferevent;
struct event;
struct spool_writer;
struct tls_close;
struct auth_req;
struct smtpd_job;

enum smtpd_state {
	SMTPD_S_TLS,		/* implicit TLS handshake in progress */
	SMTPD_S_HELO,		/* banner sent, waiting for EHLO/HELO */
	SMTPD_S_MAIL,		/* ready for a new transaction */
	SMTPD_S_RCPT,		/* sender accepted, collecting recipients */
	SMTPD_S_DATA,		/* reading the body until CRLF.CRLF */
	SMTPD_S_BDAT,		/* reading the bytes of a BDAT chunk */
	SMTPD_S_AUTH,		/* reading SASL responses */
	SMTPD_S_CLOSING,	/* flush what is queued, then free */
};

struct smtpd_rcpt {
	char		*addr;
	char		*key;		/* addr_lookup_key(): duplicates are merged (rcpt_dup.c) */
	unsigned	 notify;
	char		*orcpt;
};

struct smtpd_session {
	struct smtpd_listener	*l;
	char			 sid[SID_LEN + 1];
	struct bufferevent	*bev;
	struct event		*ev_free;	/* deferred free (STYLE.md §4.4) */
	struct event		*ev_resume;	/* a delayed step (limits.c smtpd_after()) */
	void			(*after_fn)(struct smtpd_session *s);
	bool			 delayed;	/* this command already waited (error throttling) */
	struct sockaddr_storage	 peer;
	char			 addr[64];	/* client IP, text */
	enum smtpd_state	 state;
	bool			 closing, free_scheduled;
	bool			 peer_gone;	/* free without a graceful TLS close */
	struct tls_close	*tls_close;	/* pending graceful close (net/tls.h) */
	bool			 waiting;	/* an async step is pending: input waits */
	bool			 in_mynetworks;
	bool			 esmtp;
	char			 helo[256];
	char			 tls[160];	/* "" or tls_describe() text */
	char			*auth_user;	/* after AUTH, NULL before */
	unsigned		 errors, auth_failures;
	struct buf		 line;
	/* transaction */
	bool			 have_mail;
	struct smtp_mail	 mail;
	struct smtpd_rcpt	*rcpts;
	size_t			 nrcpt;
	size_t			 rcpt_count;	/* accepted RCPTs, duplicates too (smtpd_recipient_limit) */
	unsigned		 rcpt_rejected;
	struct spool_writer	*w;
	bool			 w_failed;	/* a spool write failed: answer 451 at the end */
	struct smtp_data	 dec;
	struct buf		 out;		/* decoded DATA, flushed to the spool */
	uint64_t		 size;		/* message bytes so far */
	bool			 too_big;
	struct hdrlen		 hl;		/* header_size_limit */
	bool			 hdr_too_big;
	uint64_t		 bdat_left;
	bool			 bdat_last, bdat_started;
	unsigned		 received_hops;
	bool			 hf_on;		/* submission: add Message-ID:/Date: */
	struct hdrfix		 hf;
	struct buf		 hf_out;	/* hdrfix output on its way to the spool */
	/* AUTH */
	struct sasl		 sasl;
	bool			 sasl_active;
	struct auth_req		*auth;
	/* pending pool job (RCPT check, MAIL check, commit): cleared on free */
	struct smtpd_job	*job;
	char			 pending_reply[512];
};

/* txn.c hands the header fix-up at most this much at a time */
#define SMTPD_HF_CHUNK	(64 * 1024)

/* server.c */
void	smtpd_set_state(struct smtpd_session *s, enum smtpd_state st);
void	smtpd_reply(struct smtpd_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void	smtpd_close(struct smtpd_session *s);
void	smtpd_resume(struct smtpd_session *s);
void	smtpd_starttls(struct smtpd_session *s);
struct server *smtpd_srv(const struct smtpd_session *s);
const char *smtpd_mode_name(enum smtpd_mode m);

/* cmd.c */
void	smtpd_dispatch(struct smtpd_session *s, const char *line, size_t len);
void	smtpd_auth_line(struct smtpd_session *s, const char *line, size_t len);
void	smtpd_txn_reset(struct smtpd_session *s);

/* txn.c */
int	smtpd_txn_begin(struct smtpd_session *s);	/* spool writer + envelope + Received */
void	smtpd_data_input(struct smtpd_session *s);	/* consume DATA bytes from input */
void	smtpd_bdat_input(struct smtpd_session *s);	/* consume BDAT chunk bytes */
void	smtpd_txn_finish(struct smtpd_session *s);	/* end of data: size check, commit */

/* policy.c: pool jobs; completion replies and calls smtpd_resume() */
void	smtpd_check_rcpt(struct smtpd_session *s, struct smtp_rcpt *r, char *key);	/* takes key */
void	smtpd_check_sender(struct smtpd_session *s);
void	smtpd_job_cancel(struct smtpd_session *s);

/* limits.c */
char	*smtpd_rcpt_key(const char *addr);	/* duplicate-filter key, allocated */
bool	 smtpd_rcpt_seen(const struct smtpd_session *s, const char *key);
/* Run fn after ms; the session waits (input stays queued) meanwhile. */
void	 smtpd_after(struct smtpd_session *s, unsigned ms, void (*fn)(struct smtpd_session *s));
/* Past the soft error limit: hold this command (true) and dispatch it after the sleep. */
bool	 smtpd_error_delay(struct smtpd_session *s, const char *line, size_t len);
/* Count an unknown-recipient rejection; true when over the rate (421 sent, closing). */
bool	 smtpd_unknown_rcpt(struct smtpd_session *s);
/* Before a RCPT lookup: true when the client is over the rate (421 sent, closing). */
bool	 smtpd_unknown_rcpt_blocked(struct smtpd_session *s);
/* Enough free space in the queue for queue_minfree plus a declared SIZE? */
bool	 smtpd_queue_space_ok(const struct smtpd_session *s, uint64_t declared);
uint64_t smtpd_minfree(const struct conf *c);
void	 smtpd_limits_free(void);

struct smtpd_job {
	struct smtpd_session	*s;		/* NULL once the session is gone */
	void			(*done)(struct smtpd_job *j);
	/* inputs/outputs, by kind */
	const struct conf	*c;
	char			*addr;
	char			*login;
	unsigned		 notify;
	char			*orcpt;
	int			 result;
	char			 reply[256];
	struct spool_writer	*w;
	char			 qid[32];
	int			 err;
	uint64_t		 size;
	size_t			 nrcpt;
	char			*from;
	char			*key;		/* RCPT: the duplicate-filter key */
};

#endif
