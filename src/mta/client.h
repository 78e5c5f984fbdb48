/*
 * Outbound SMTP client, src/mta/ (issue 4 item 4; RFC 5321, 3207 STARTTLS, 2920
 * PIPELINING, 3461 DSN, 6152 8BITMIME, 6531 SMTPUTF8, 1870 SIZE).  One
 * job = one message + the recipients that share one next hop; one
 * connection carries all of them.  The state machine (GREET, EHLO/HELO,
 * STARTTLS, MAIL, RCPT, DATA, DOT, QUIT) runs on a bufferevent on the
 * event loop; the message is streamed from the spool file (pread on the
 * loop thread, 64 KiB at a time, only while the output buffer is below
 * its watermark), with CRLF normalisation and dot-stuffing (RFC 5321
 * 4.5.2), never whole in memory.
 *
 * Host selection: route_resolve() turns the job's hop into addresses (MX
 * order); a connection failure, a timeout, a 4xx/5xx greeting or a 4xx
 * EHLO/HELO/MAIL moves on to the next address (at most ROUTE_ADDR_MAX);
 * when all fail every recipient is deferred with the last reason.
 * A STARTTLS handshake failure retries the same address once in plaintext
 * (opportunistic TLS, as Postfix).  A 5xx to MAIL or DATA bounces the
 * recipients concerned; 4xx defers them.  A 5xx greeting tries the next
 * host as well (Postfix behaviour: one bad MX must not bounce the mail).
 *
 * 8-bit bodies: when the message is 8BITMIME (or BINARYMIME) and the peer
 * does not offer 8BITMIME, it is sent anyway without BODY= (Postfix's
 * behaviour with disable_mime_output_conversion = yes; no downgrade).
 * BINARYMIME is sent through DATA too (no CHUNKING client): works for
 * 8-bit text, bare CR/LF in a binary body get normalised to CRLF.
 * SMTPUTF8: SMTPUTF8 is sent on MAIL when the message had it and the peer
 * offers it; when the peer lacks it and the sender or a recipient address
 * is not ASCII, those recipients bounce with 5.6.7 (RFC 6531 3.4); with
 * ASCII addresses the message goes without it (headers as they are).
 *
 * Concurrency: at most default_destination_concurrency_limit jobs per
 * route key run at once; more wait in a FIFO inside the client (the
 * manager does not need to count).  A destination whose every address
 * failed to connect is "dead" for minimal_backoff_time: queued and new
 * jobs for it are deferred at once with "delivery temporarily suspended:
 * <last reason>" until then, or until smtpc_flush_backoff().
 *
 * Threads: everything runs on the loop thread of the server given to
 * smtpc_init().  The module object is the daemon context's srv->smtpc.
 */
#ifndef LB_MTA_CLIENT_H
#define LB_MTA_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mta/route.h"
#include "spool/spool.h"

struct conf;
struct server;

#define SMTPC_TEXT_MAX		SPOOL_REASON_MAX	/* reply text kept per recipient */
#define SMTPC_REPLY_LINES	100			/* lines of one multi-line reply */
#define SMTPC_LINE_MAX		1000			/* bytes of one reply line */

enum smtpc_status {
	SMTPC_PENDING = 0,	/* not finished (never seen by done()) */
	SMTPC_DELIVERED,	/* 250 after the final "." -> SPOOL_R_RELAYED */
	SMTPC_DEFERRED,		/* 4xx, connection trouble, DNS tempfail -> retry later */
	SMTPC_BOUNCED,		/* 5xx, null MX, NXDOMAIN -> DSN to the sender */
};

struct smtpc_rcpt {
	/* in: borrowed, must stay valid until done() */
	const char		*addr;		/* the envelope recipient */
	const char		*orcpt;		/* DSN ORCPT as received ("rfc822;a@b"), or NULL */
	unsigned		 notify;	/* SPOOL_NOTIFY_* bits, 0 = not given */
	size_t			 idx;		/* the caller's (spool recipient index); untouched */
	/* out */
	enum smtpc_status	 status;
	int			 code;		/* SMTP reply code, 0 when no server reply applies */
	char			 dsn[12];	/* enhanced status "2.0.0", "4.4.1", "5.1.1" */
	/*
	 * Why: the remote reply text when remote is true ("host said: 550
	 * 5.1.1 <b@x>: user unknown (in reply to RCPT TO command)"), else
	 * our own reason ("connect to mx.x[192.0.2.1]:25: Connection
	 * refused").  Escaped (printable ASCII), at most SMTPC_TEXT_MAX-1.
	 */
	char			 text[SMTPC_TEXT_MAX];
	bool			 remote;	/* text/code come from the remote server */
	/* Raw "550 5.1.1 user unknown" for the DSN Diagnostic-Code (remote only). */
	char			 diag[SMTPC_TEXT_MAX];
};

struct smtpc_job {
	/* in: set by the caller; strings and fd borrowed until done() */
	const char		*qid;		/* for log lines */
	struct route_hop	 hop;		/* from the route (route.h) */
	char			 key[ROUTE_KEY_MAX];	/* route key (concurrency), "" = from hop */
	const char		*sender;	/* "" = null sender */
	const char		*envid;		/* DSN ENVID xtext, or NULL */
	enum spool_ret		 ret;
	enum spool_body		 body;
	bool			 smtputf8;
	int64_t			 arrival_us;	/* for delay= in smtpc_log() */
	int			 fd;		/* the spool file (spool_msg.fd) */
	off_t			 offset, len;	/* message bytes in fd */
	struct smtpc_rcpt	*rcpts;
	size_t			 nrcpt;		/* >= 1 */

	/* out: valid in done() */
	char			 relay[ROUTE_HOST_MAX + 64];	/* "mx.x[192.0.2.3]:25", "none" */
	char			 tls[96];	/* "TLSv1.3:TLS_AES_256_GCM_SHA384" or "no" */
	bool			 peer_dsn;	/* the peer offered DSN (else the caller may owe
						 * a "relayed" DSN for NOTIFY=SUCCESS, RFC 3461 4.1) */
	int64_t			 start_us, end_us;

	/* private */
	void			*priv;
};

struct smtpc;

/*
 * The module's steps (their meaning: net/server.h).
 * init: allocate for srv, timeouts and limits copied from c.  Never fails.
 * start: the resolver (dns_resolver of the current conf) and the TLS
 *   client context; a reload hook re-reads conf_current() later.  0, or -1
 *   with *err_r allocated.
 * stop: end every job (recipients deferred "4.3.2 shutting down", done()
 *   called from the loop) and refuse new ones the same way.  Accepts NULL.
 * free: after the loop has stopped; jobs still running are dropped without
 *   done().  Accepts NULL / *mcp == NULL.
 */
struct smtpc	*smtpc_init(struct server *srv, const struct conf *c);
int		 smtpc_start(struct smtpc *mc, char **err_r);
void		 smtpc_stop(struct smtpc *mc);
void		 smtpc_free(struct smtpc **mcp);

/*
 * Start delivering job through srv->smtpc (or queue it behind the
 * destination's concurrency limit).  The rcpts' outputs are reset.
 * done(job, arg) runs exactly once on the loop thread, never from inside
 * smtpc_send(), with every recipient DELIVERED, DEFERRED or BOUNCED;
 * afterwards the client holds no reference to job, which the caller then
 * frees.  Without a started client every recipient is deferred.
 */
void		 smtpc_send(struct server *srv, struct smtpc_job *job,
		    void (*done)(struct smtpc_job *job, void *arg), void *arg);

/* Abort a started job; done() is not called.  Harmless after done(). */
void		 smtpc_cancel(struct smtpc_job *job);

/* `queue flush`: forget dead destinations so the next jobs try at once.  Accepts NULL. */
void		 smtpc_flush_backoff(struct smtpc *mc);

/*
 * Log recipient i's result, the Postfix way:
 *	smtp qid=ID: to=<b@x> relay=mx.x[192.0.2.3]:25 delay=1.2 tls=... dsn=2.0.0
 *	    status=sent (250 2.0.0 Ok: queued as ABC)
 * status= sent|deferred|bounced.
 */
void		 smtpc_log(const struct smtpc_job *job, size_t i);

/*
 * The text to store as the spool reason (spool_rcpt_set) for recipient r:
 * "DSN TEXT", e.g. "5.1.1 host mx.x[192.0.2.3] said: 550 5.1.1 <b@x>: user
 * unknown (in reply to RCPT TO command)" -- the form bounce_create() parses
 * into Status, Remote-MTA and Diagnostic-Code.  Always NUL-terminates.
 *
 * Mapping for the manager: DELIVERED -> SPOOL_R_RELAYED (and a "relayed"
 * SUCCESS notice when NOTIFY=SUCCESS and !job->peer_dsn); DEFERRED ->
 * SPOOL_R_DEFERRED with sched_next_retry(), or FAILED once sched_expired();
 * BOUNCED -> SPOOL_R_FAILED, then bounce_create(BOUNCE_FAILURE).
 */
void		 smtpc_reason(const struct smtpc_rcpt *r, char *buf, size_t sz);

/* Status name for logs: "sent", "deferred", "bounced", "pending". */
const char	*smtpc_status_name(enum smtpc_status st);

#endif
