/*
 * Private to the SMTP server (server.c, cmd.c, txn.c, policy.c, limits.c):
 * the protocol state of a session.  Connections, TLS, timeouts, line and
 * raw input and closing are the session core's (net/session.h); this is
 * only SMTP.  Only smtpd_set_state() assigns s->state.
 */
#ifndef LB_SMTP_SESSION_H
#define LB_SMTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/login_step.h"
#include "lib/buf.h"
#include "net/session.h"
#include "smtp/data.h"
#include "smtp/headers.h"
#include "smtp/parse.h"
#include "smtp/server.h"

struct conf;
struct netlist;
struct spool_syncer;
struct spool_writer;
struct throttle;

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

/* The SMTP server's module state: one per daemon (server.c). */
struct smtpd {
	struct server		*srv;
	struct netlist		*mynetworks;	/* parsed from mynetworks_conf */
	const struct conf	*mynetworks_conf;
	struct throttle		*unknown_rcpts;	/* per client address (limits.c) */
};

struct smtpd_rcpt {
	char		*addr;
	char		*key;		/* smtpd_rcpt_key(): duplicates are merged */
	unsigned	 notify;
	char		*orcpt;
};

/* One mail transaction (MAIL .. end of data): smtpd_txn_clear() ends it. */
struct smtpd_txn {
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
	bool			 hf_on;		/* submission: add Message-ID:/Date: */
	struct hdrfix		 hf;
	struct buf		 hf_out;	/* hdrfix output on its way to the spool */
};

struct smtpd_session {
	struct session		*ss;		/* the connection (net/session.h) */
	struct smtpd		*d;
	const char		*sid;		/* ss->sid */
	enum smtpd_mode		 mode;
	enum smtpd_state	 state;
	bool			 in_mynetworks;
	bool			 esmtp;
	bool			 delayed;	/* this command already waited (error throttling) */
	char			*held;		/* the command waiting for the error sleep */
	char			 helo[256];
	char			 tls[160];	/* "" or the TLS description (Received:) */
	char			*auth_user;	/* after AUTH, NULL before */
	unsigned		 errors;
	struct login_step	 login;
	struct smtpd_txn	 txn;
};

/* txn.c hands the header fix-up at most this much at a time */
#define SMTPD_HF_CHUNK	(64 * 1024)

/* server.c */
void	smtpd_set_state(struct smtpd_session *s, enum smtpd_state st);
void	smtpd_reply(struct smtpd_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void	smtpd_close(struct smtpd_session *s);
const char *smtpd_mode_name(enum smtpd_mode m);

/* cmd.c */
void	smtpd_dispatch(struct smtpd_session *s, const char *line, size_t len);
/* RFC 3207 §4.2 and RSET/EHLO: the transaction ends, back to SMTPD_S_MAIL. */
void	smtpd_txn_reset(struct smtpd_session *s);
extern const struct login_ops smtpd_login_ops;

/* txn.c */
void	smtpd_txn_init(struct smtpd_txn *t);
void	smtpd_txn_clear(struct smtpd_txn *t);	/* frees; smtpd_txn_init() state again */
int	smtpd_txn_begin(struct smtpd_session *s);	/* spool writer + envelope + Received */
size_t	smtpd_data_input(struct smtpd_session *s, const unsigned char *p, size_t n);
void	smtpd_bdat_input(struct smtpd_session *s, const unsigned char *p, size_t n);
void	smtpd_bdat_end(struct smtpd_session *s);	/* the chunk is complete */
void	smtpd_txn_finish(struct smtpd_session *s);	/* end of data: size check, commit */

/* policy.c: pool jobs; the completion replies and resumes the session */
void	smtpd_check_rcpt(struct smtpd_session *s, struct smtp_rcpt *r, char *key);	/* takes key */
void	smtpd_check_sender(struct smtpd_session *s);

/* limits.c */
char	*smtpd_rcpt_key(const char *addr);	/* duplicate-filter key, allocated */
bool	 smtpd_rcpt_seen(const struct smtpd_session *s, const char *key);
/* Past the soft error limit: hold this command (true) and dispatch it after the sleep. */
bool	 smtpd_error_delay(struct smtpd_session *s, const char *line, size_t len);
/* Count an unknown-recipient rejection; true when over the rate (421 sent, closing). */
bool	 smtpd_unknown_rcpt(struct smtpd_session *s);
/* Before a RCPT lookup: true when the client is over the rate (421 sent, closing). */
bool	 smtpd_unknown_rcpt_blocked(struct smtpd_session *s);
/* Enough free space in the queue for queue_minfree plus a declared SIZE? */
bool	 smtpd_queue_space_ok(const struct smtpd_session *s, uint64_t declared);
uint64_t smtpd_minfree(const struct conf *c);

/* A pool job of a session (policy.c, txn.c); sj detaches it when the session goes. */
struct smtpd_job {
	struct session_job	 sj;
	const struct conf	*c;
	char			 sid[SID_LEN + 1];
	char			*addr;
	char			*login;
	unsigned		 notify;
	char			*orcpt;
	int			 result;
	char			 reply[256];
	struct spool_writer	*w;
	struct spool_syncer	*syncer;
	struct qmgr		*qmgr;		/* commit_done submits the new message */
	char			 qid[32];
	int			 err;
	uint64_t		 size;
	size_t			 nrcpt;
	char			*from;
	char			*key;		/* RCPT: the duplicate-filter key */
};

/* Submit j for s (the session waits); the completion gets s back, or NULL when it is gone. */
void	smtpd_job_submit(struct smtpd_session *s, struct smtpd_job *j, void (*work)(void *),
	    void (*done)(void *));
struct smtpd_session *smtpd_job_end(struct smtpd_job *j);

#endif
