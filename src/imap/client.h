/*
 * Internal to the IMAP server: the state of one client (struct
 * imap_client) shared by client.c (the session core's callbacks and the
 * read loop that feeds the parser), cmd.c (command table, dispatch,
 * tagged replies), stream.c (responses written as the socket drains) and
 * the cmd_*.c command groups.
 *
 * One command runs at a time.  A command either finishes inside its
 * handler (imap_tagged) or goes asynchronous: the session waits
 * (session_wait), pipelined input stays queued in the core, and the
 * completion sends the tagged reply and calls imap_resume().  Replies
 * therefore always come in command order.
 */
#ifndef LB_IMAP_CLIENT_H
#define LB_IMAP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/login_step.h"
#include "imap/parser.h"

struct buf;
struct session;
struct store_mailbox;
struct imap_cmd;
struct imap_client;
struct imap_view;
struct imap_idle;
struct imap_notify;
struct imap_arg;
struct imap_append;
struct seqset;
struct fetch_attrs;

/* STYLE.md §7: command line before / after login (literals count, APPEND's do not). */
#define IMAP_LINE_MAX_PREAUTH	(8 * 1024)
/* Non-synchronising literal before login (LITERAL- size; LITERAL+ after login). */
#define IMAP_NONSYNC_PREAUTH	4096
/* The longest ID command, before login too: RFC 2971 3.3's 30 pairs of a 30-octet
 * field and a 1024-octet value, quoted and spaced, plus the tag and the name. */
#define IMAP_LINE_MAX_ID	(30 * (2 + 30 + 1 + 2 + 1024 + 1) + 512)
#define IMAP_MAX_DEPTH		16
#define IMAP_MAX_ARGS		4096
/* Stop producing output while this much waits for the socket. */
#define IMAP_OUT_HIGH		(256 * 1024)
/* Input held while a command runs (pipelined commands). */
#define IMAP_IN_MAX		(64 * 1024)
/* BAD commands in a row before the session is closed. */
#define IMAP_BAD_LIMIT		20
/* Longest response line built in memory (imap_tagged, imap_untagged,
 * imap_view_done): a COPYUID of a big COPY of scattered UIDs runs to
 * megabytes and must still be sent whole (RFC 4315 3). */
#define IMAP_REPLY_MAX		(64u * 1024 * 1024)

/* RFC 3501 §3 states; a command's table entry lists where it is allowed. */
enum imap_state {
	IMAP_S_NOT_AUTH,
	IMAP_S_AUTH,
	IMAP_S_SELECTED,
	IMAP_S_LOGOUT,
};

#define IMAP_ST(x)	(1u << (x))

/* ENABLEd extensions (RFC 5161). */
#define IMAP_E_UTF8	0x01	/* UTF8=ACCEPT (RFC 6855) */
#define IMAP_E_REV2	0x02	/* IMAP4rev2 (RFC 9051) */
#define IMAP_E_CONDSTORE 0x04	/* RFC 7162 3.1: by ENABLE or a CONDSTORE-enabling command */
#define IMAP_E_QRESYNC	0x08	/* RFC 7162 3.2 (implies CONDSTORE) */

/* A response written piece by piece as the output drains (stream.c). */
#define IMAP_STREAM_WAIT	2
struct imap_stream {
	/*
	 * Write the next piece(s) of the response; the writer calls it again
	 * while the output stays under IMAP_OUT_HIGH.  Returns 1 when the
	 * whole response is written and the command ended (imap_tagged) or
	 * ends on its own (imap_view_done's sync), 0 for more,
	 * IMAP_STREAM_WAIT when the next piece is being made elsewhere (a
	 * worker job: its completion calls imap_stream_drain()), -1 to close
	 * the session.
	 */
	int	(*more)(struct imap_client *c, void *arg);
	/* Free arg (after the last more(), or when the session ends first). */
	void	(*done)(void *arg);
	void	*arg;
};

struct imap_client {
	struct session		*ss;
	const char		*sid;		/* ss->sid, for log lines */
	enum imap_state		 state;
	struct imap_parser	*parser;
	unsigned		 enabled;	/* IMAP_E_* */
	unsigned		 bad;		/* BAD replies in a row */

	/* the running command */
	const struct imap_command *cmd;		/* its table entry, NULL between commands */
	char			*tag;		/* copied: async completions outlive the parse */
	bool			 skip_literal;	/* a refused command's streamed literal: drop it */
	bool			 starttls;	/* start TLS once the command's bytes are consumed */

	/* login */
	struct login_step	 login_step;
	bool			 sasl_lines;	/* SASL responses come as lines (core line mode) */
	char			*user;		/* canonical user once authenticated */
	bool			 logged;	/* the logout/disconnect line is written */

	/* mailbox (mailbox.c) */
	char			*root;		/* the user's Maildir, once a job found it */
	struct store_mailbox	*mb;		/* the selected mailbox */
	bool			 mb_readonly;	/* EXAMINE */

	/* the selected mailbox's view (view.c) and IDLE (cmd_idle.c) */
	struct imap_view	*view;		/* NULL while no mailbox is selected */
	struct imap_idle	*idle;		/* while IDLE runs */
	struct imap_notify	*notify;	/* NOTIFY SET in force (notify.c) */
	bool			 cmd_uid;	/* the running command came as "UID <name>" */
	/* SEARCH (cmd_search.c) and APPEND (cmd_append.c) */
	struct seqset		*search_saved;	/* RFC 5182 saved result, as UIDs; NULL: none */
	bool			 search_uid;	/* the running SEARCH is UID SEARCH */
	struct imap_append	*append;	/* an APPEND receiving its messages */

	/* output */
	struct imap_stream	 stream;	/* stream.more != NULL while one runs */
	char			 client_id[128];/* from ID: name/version, for the log */
};

/* A command's table entry (cmd.c). */
struct imap_command {
	const char	*name;
	unsigned	 states;		/* IMAP_ST(...) mask */
	unsigned	 flags;			/* IMAP_CF_* */
	void		(*fn)(struct imap_client *c, const struct imap_cmd *cmd);
};

/* Command flags (RFC 3501 §7.4.1 / RFC 9051 §7.5.1: when EXPUNGE may be sent). */
#define IMAP_CF_USES_SEQS	0x01	/* the client's sequence numbers mean something in it:
					   no untagged EXPUNGE while it runs or right before */
#define IMAP_CF_BREAKS_SEQS	0x02	/* it changes sequence numbers (EXPUNGE, MOVE) */
#define IMAP_CF_UID		0x04	/* has a UID form (UID FETCH, ...) */
#define IMAP_CF_NO_PENDING	0x08	/* may not run while an EXPUNGE is pending in the mailbox
					   view (it must be reported first) */

/* client.c */
void	imap_set_state(struct imap_client *c, enum imap_state st);
bool	imap_tls(const struct imap_client *c);
bool	imap_tls_available(const struct imap_client *c);
/* Plaintext login allowed here: TLS, or disable_plaintext_auth = no. */
bool	imap_plaintext_ok(const struct imap_client *c);
void	imap_close(struct imap_client *c);
/* The "logout user=..." / "disconnect" log line, once; why may be NULL. */
void	imap_log_end(struct imap_client *c, const char *why);
void	imap_resume(struct imap_client *c);
/* Parser limits for the state: 8 KiB before login, imap_max_line_length after. */
void	imap_apply_limits(struct imap_client *c);
/* SASL exchange: read the next client line raw (true) or back to commands (false). */
void	imap_sasl_lines(struct imap_client *c, bool on);

/* cmd.c */
void	imap_dispatch(struct imap_client *c, const struct imap_cmd *cmd);
const struct imap_command *imap_command_find(const char *name, size_t len);
/* Tagged reply to the running command, ending it: "tag OK|NO|BAD text". */
void	imap_tagged(struct imap_client *c, const char *status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* A tagged reply for a command that never started (tag borrowed). */
void	imap_tagged_to(struct imap_client *c, const char *tag, const char *status,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	imap_untagged(struct imap_client *c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Queue bytes as they are (a response built in a buf). */
void	imap_write(struct imap_client *c, const void *p, size_t n);
/* The capability list for the current state, space separated, into out. */
void	imap_capabilities(const struct imap_client *c, struct buf *out);
/* The same from its inputs (unit tests): state, STARTTLS offered, plaintext login allowed. */
void	imap_capability_list(enum imap_state st, bool tls_offer, bool plaintext_ok,
	    struct buf *out);
/* Flag-driven checks the table asks for (false: refused, already replied). */
bool	imap_command_allowed(struct imap_client *c, const struct imap_command *def);

/* stream.c */
/* Start a streamed response; the session waits until it is written. */
void	imap_stream_start(struct imap_client *c, const struct imap_stream *st);
/* The output drained, or the producer has more: write more. */
void	imap_stream_drain(struct imap_client *c);
void	imap_stream_stop(struct imap_client *c);
bool	imap_streaming(const struct imap_client *c);

/* cmd.c: UID <command> runs the command's handler (IMAP_CF_UID). */
void	cmd_uid(struct imap_client *c, const struct imap_cmd *cmd);

/* cmd_fetch.c */
void	cmd_fetch(struct imap_client *c, const struct imap_cmd *cmd);	/* and UID FETCH */
/*
 * Untagged "* n FETCH (...)" for the sequence numbers seqs (taken:
 * emptied) with the items fa (one more owner taken; none may set \Seen),
 * streamed between commands or in IDLE as FETCH streams them: NOTIFY's
 * MessageNew (RFC 5465 5.2).  No tagged reply: end(c) runs once the
 * last response is queued, while the stream still counts as running.
 */
void	imap_fetch_push(struct imap_client *c, struct fetch_attrs *fa, struct seqset *seqs,
	    void (*end)(struct imap_client *c));

/* cmd_auth.c */
extern const struct login_ops imap_login_ops;
void	imap_greeting(struct imap_client *c);
void	cmd_capability(struct imap_client *c, const struct imap_cmd *cmd);
void	cmd_noop(struct imap_client *c, const struct imap_cmd *cmd);
void	cmd_logout(struct imap_client *c, const struct imap_cmd *cmd);
void	cmd_starttls(struct imap_client *c, const struct imap_cmd *cmd);
void	cmd_login(struct imap_client *c, const struct imap_cmd *cmd);
void	cmd_authenticate(struct imap_client *c, const struct imap_cmd *cmd);
void	cmd_unauthenticate(struct imap_client *c, const struct imap_cmd *cmd);
/* After the command's bytes left the input: the TLS handshake (client.c calls it). */
void	imap_starttls_now(struct imap_client *c);

/* cmd_misc.c */
void	cmd_id(struct imap_client *c, const struct imap_cmd *cmd);
void	cmd_enable(struct imap_client *c, const struct imap_cmd *cmd);
void	cmd_namespace(struct imap_client *c, const struct imap_cmd *cmd);

/* cmd_quota.c */
void	cmd_getquotaroot(struct imap_client *c, const struct imap_cmd *cmd);
void	cmd_getquota(struct imap_client *c, const struct imap_cmd *cmd);
void	cmd_setquota(struct imap_client *c, const struct imap_cmd *cmd);
/* The user's quota in bytes (0 = none): quota_query, else virtual_mailbox_limit.  Worker. */
uint64_t imap_quota_limit(const char *login);

/* cmd_compress.c */
void	cmd_compress(struct imap_client *c, const struct imap_cmd *cmd);

/* cmd_store.c */
void	cmd_store(struct imap_client *c, const struct imap_cmd *cmd);	/* and UID STORE */
/* cmd_expunge.c */
void	cmd_expunge(struct imap_client *c, const struct imap_cmd *cmd);	/* and UID EXPUNGE */
void	cmd_close(struct imap_client *c, const struct imap_cmd *cmd);
void	cmd_check(struct imap_client *c, const struct imap_cmd *cmd);
/* cmd_copy.c */
void	cmd_copy(struct imap_client *c, const struct imap_cmd *cmd);	/* COPY, MOVE, UID forms */
/* cmd_idle.c */
void	cmd_idle(struct imap_client *c, const struct imap_cmd *cmd);
/* A line while IDLE runs ("DONE"); line NULL: a bad (too long) line. */
void	imap_idle_line(struct imap_client *c, const char *line, size_t len);
/* The session ends: drop the IDLE state and its watch. */
void	imap_idle_free(struct imap_client *c);
/* A NOTIFY push ended: the sync that waited for it runs now. */
void	imap_idle_pending(struct imap_client *c);
/* cmd_notify.c */
void	cmd_notify(struct imap_client *c, const struct imap_cmd *cmd);
/* cmd_search.c */
void	cmd_search(struct imap_client *c, const struct imap_cmd *cmd);	/* and UID SEARCH */
/* Forget the saved SEARCH result (RFC 5182 2.1: a new mailbox starts empty). */
void	imap_search_reset(struct imap_client *c);
/* cmd_sort.c, cmd_thread.c */
void	cmd_sort(struct imap_client *c, const struct imap_cmd *cmd);	/* and UID SORT */
void	cmd_thread(struct imap_client *c, const struct imap_cmd *cmd);	/* and UID THREAD */

/* cmd_append.c */
void	cmd_append(struct imap_client *c, const struct imap_cmd *cmd);
/*
 * The parser stopped at an APPEND message literal (client.c): sync is
 * true at IMAP_PARSE_CONTINUE (before "+"), false at IMAP_PARSE_LITERAL.
 * Returns true when APPEND took it over (it answers "+" or refuses, maybe
 * asynchronously), false when it is not an APPEND message literal.
 */
bool	imap_append_literal(struct imap_client *c, bool sync);
/* Streamed message bytes (IMAP_PARSE_DATA). */
void	imap_append_data(struct imap_client *c, const void *p, size_t n);
/* Drop an APPEND in progress (parse error, session end). */
void	imap_append_abort(struct imap_client *c);

/* mailbox.c */
/* The user's Maildir from the directory (worker thread): 0 with *root_r
 * (malloc'd), or IMAP_EDIRTEMP / IMAP_ENOMAILBOX. */
#define IMAP_EDIRTEMP	(-2)	/* the directory could not answer */
#define IMAP_ENOMAILBOX	(-3)	/* the user has no mailbox in the directory */
int	imap_find_root(const char *login, const char *base, char **root_r);
void	cmd_select(struct imap_client *c, const struct imap_cmd *cmd);	/* and EXAMINE */
void	cmd_unselect(struct imap_client *c, const struct imap_cmd *cmd);
void	cmd_create(struct imap_client *c, const struct imap_cmd *cmd);
void	cmd_delete(struct imap_client *c, const struct imap_cmd *cmd);
void	cmd_rename(struct imap_client *c, const struct imap_cmd *cmd);
void	cmd_subscribe(struct imap_client *c, const struct imap_cmd *cmd);	/* and UNSUBSCRIBE */
void	cmd_list(struct imap_client *c, const struct imap_cmd *cmd);	/* and LSUB */
void	cmd_status(struct imap_client *c, const struct imap_cmd *cmd);
void	imap_mailbox_free(struct imap_client *c);
/* Leave the selected mailbox (CLOSE): back to the authenticated state. */
void	imap_mailbox_leave(struct imap_client *c);
/* A mailbox argument in the store's form (malloc'd), or NULL after a BAD/NO reply. */
/* LIST pattern (RFC 3501 §6.3.8): '*' anything, '%' anything but '/'; INBOX in any case. */
bool	imap_list_match(const char *name, const char *pat);

#endif
