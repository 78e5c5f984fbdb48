/*
 * The durable spool: one file per accepted message, envelope + message, so
 * that "250 ... queued as ID" is a promise that survives kill -9 and power
 * loss (DESIGN.md).  It has a folder of its own (src/spool/) because the
 * SMTP server writes it, the queue manager (src/queue/) and the outbound
 * side (src/mta/) read it, and none of those may include another's folder
 * in a circle (scripts/check-layers.sh).  Owns the layout of queue_directory:
 *
 *	QDIR/tmp/ID        being written (removed by spool_abort, swept on start)
 *	QDIR/queue/ID      committed message: envelope text, blank line, message
 *	QDIR/queue/ID.st   append-only recipient status records (optional)
 *	QDIR/corrupt/ID    files that failed to parse, moved aside and logged
 *
 * Commit = write -> fsync(file) -> rename(tmp/ID, queue/ID) -> fsync(queue/).
 * Queue IDs are 14 characters of base32 (0-9 A-Z without I L O U, in ASCII
 * order): 11 for the time in microseconds, 3 random; so they are filename
 * safe, sortable by time and unique across processes and restarts (the
 * rename refuses to replace an existing file; a clash draws a new ID).
 *
 * Queue file format, version 1 (text, one field per line, LF-terminated;
 * values are "%XX"-escaped for bytes <= 0x20, '%' and 0x7f so a value never
 * contains a space or a line break; bytes >= 0x80 pass as they are):
 *
 *	LBSPOOL 1
 *	T <arrival, microseconds since the epoch>
 *	S <sender>			(empty value: the null sender <>)
 *	E <envid>			DSN ENVID, xtext as received (optional)
 *	N FULL|HDRS			DSN RET (optional)
 *	B 7BIT|8BITMIME|BINARYMIME
 *	U				SMTPUTF8 was given (optional)
 *	A <auth user>			(optional)
 *	H <helo>  I <client addr>  D <client name>  O <origin>	(optional)
 *	R to=<addr> orig=<addr> notify=<n> orcpt=<orcpt>	one per recipient
 *	<empty line>
 *	<the message bytes to end of file>
 *
 * Unknown single-letter lines are skipped (forward compatible); unknown
 * key=value tokens in R lines likewise.  Every line and count is bounded
 * (SPOOL_LINE_MAX, SPOOL_RCPT_MAX): the addresses came from the network.
 *
 * Status file (QDIR/queue/ID.st), append-only, one record per line; the last
 * record for a recipient wins; a torn last line (no LF) or a line that does
 * not parse is ignored, so a crash while appending loses at most that
 * record, and redelivery is idempotent (maildir.h) anyway:
 *	S <idx> <state> <updated> <next_retry> <attempts> <reason>
 *	A <idx> <parent idx> <addr>	a recipient added by alias expansion
 *					(idx must be the next index, else ignored)
 *	N <idx>				the DSN for this recipient has been queued
 *
 * Thread safety: distinct writers / messages may be used on different threads
 * at once; one object must not be shared between threads without a lock.
 * All functions here block on disk I/O: call them from a worker thread.
 */
#ifndef LB_SPOOL_SPOOL_H
#define LB_SPOOL_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define SPOOL_QID_LEN		14
#define SPOOL_QID_SIZE		(SPOOL_QID_LEN + 1)
#define SPOOL_VERSION		1
#define SPOOL_ADDR_MAX		1024	/* bytes of one address/value, unescaped */
#define SPOOL_LINE_MAX		8192	/* bytes of one envelope/status line */
#define SPOOL_RCPT_MAX		100000	/* recipients incl. alias expansions */
#define SPOOL_REASON_MAX	512	/* deferral/bounce reason text */

enum spool_body {
	SPOOL_BODY_7BIT = 0,
	SPOOL_BODY_8BITMIME,
	SPOOL_BODY_BINARYMIME,
};

/* DSN RET (RFC 3461 4.3); NONE = not given. */
enum spool_ret {
	SPOOL_RET_NONE = 0,
	SPOOL_RET_FULL,
	SPOOL_RET_HDRS,
};

/* DSN NOTIFY (RFC 3461 4.1) bits; 0 = not given (default: FAILURE). */
#define SPOOL_NOTIFY_NEVER	0x01
#define SPOOL_NOTIFY_SUCCESS	0x02
#define SPOOL_NOTIFY_FAILURE	0x04
#define SPOOL_NOTIFY_DELAY	0x08

enum spool_rcpt_state {
	SPOOL_R_PENDING = 0,	/* not tried yet */
	SPOOL_R_DEFERRED,	/* temporary failure; retry at next_retry */
	SPOOL_R_DELIVERED,	/* in its Maildir (final) */
	SPOOL_R_RELAYED,	/* accepted by a remote MTA (final) */
	SPOOL_R_FAILED,		/* permanent failure: bounce (final) */
	SPOOL_R_EXPANDED,	/* replaced by its alias expansion (final) */
	SPOOL_R_DISCARDED,	/* discard: transport (final) */
};

struct spool_rcpt {
	const char		*addr;		/* the recipient, as accepted */
	const char		*orig;		/* original recipient if different, else NULL */
	const char		*orcpt;		/* DSN ORCPT "type;xtext" as received, or NULL */
	unsigned		 notify;	/* SPOOL_NOTIFY_* bits, 0 = not given */
	/* Below: read side only (spool_open); ignored by spool_write_envelope. */
	int			 parent;	/* -1, or the index this alias came from */
	enum spool_rcpt_state	 state;
	time_t			 updated;	/* time of the last status record, 0 = none */
	time_t			 next_retry;	/* for DEFERRED */
	unsigned		 attempts;	/* delivery attempts recorded so far */
	const char		*reason;	/* last deferral/failure text, or NULL */
	bool			 dsn_sent;	/* a DSN for this recipient was queued */
};

/*
 * The envelope.  On the write side the caller owns every string; NULL
 * means "not given" (sender must not be NULL: "" is the null sender).  On
 * the read side the struct spool_msg owns them.
 */
struct spool_envelope {
	int64_t			 arrival_us;	/* 0 on write = now */
	const char		*sender;	/* without <>, "" = null sender */
	const char		*envid;		/* DSN ENVID xtext, or NULL */
	enum spool_ret		 ret;
	enum spool_body		 body;
	bool			 smtputf8;
	const char		*auth_user;	/* SASL login, or NULL */
	const char		*helo;		/* client's EHLO/HELO name, or NULL */
	const char		*client_addr;	/* "192.0.2.7" / "2001:db8::1", or NULL */
	const char		*client_name;	/* reverse DNS, or NULL */
	const char		*origin;	/* "smtp", "submission", "sendmail", "bounce", ... or NULL */
	struct spool_rcpt	*rcpts;
	size_t			 nrcpt;
};

/* ---- writing ---- */

struct spool_writer;

/*
 * Start a new message: creates QDIR/tmp/ID (creating tmp/, queue/ and
 * corrupt/ when missing).  Returns the writer, or NULL with errno set
 * (a temporary failure for the client: 451 4.3.0).
 */
struct spool_writer *spool_create(const char *qdir);

/* The ID this message will most likely get (for log lines before commit);
 * spool_commit() reports the final one.  Borrowed, valid while w lives. */
const char	*spool_writer_qid(const struct spool_writer *w);

/*
 * Write the envelope; must be called exactly once, before spool_write().
 * Strings are validated (no NUL; addresses and values <= SPOOL_ADDR_MAX;
 * 1 <= nrcpt <= SPOOL_RCPT_MAX).  Returns 0, or -1 with errno (EINVAL for a
 * bad envelope, else the write error).
 */
int		 spool_write_envelope(struct spool_writer *w, const struct spool_envelope *env);

/*
 * Append message bytes (headers + body, dot-unstuffed, as received; the
 * caller writes its Received: header first, RFC 5321 4.4).  Buffered; may be
 * called with any chunk size.  Returns 0, or -1 with errno (ENOSPC, EIO...).
 * After a failure the writer only accepts spool_abort().
 */
int		 spool_write(struct spool_writer *w, const void *data, size_t len);

/* Message bytes written so far (without the envelope). */
uint64_t	 spool_writer_size(const struct spool_writer *w);

/*
 * For a caller that wants to deliver before committing: flushes the buffer
 * and returns the file descriptor (borrowed) and the message's byte range in
 * it.  The file is not durable until spool_commit().  Returns 0 or -1/errno.
 */
int		 spool_writer_range(struct spool_writer *w, int *fd_r, off_t *offset_r,
		    off_t *len_r);

struct spool_syncer;

/*
 * Make the message durable and queued: flush, fsync, rename into queue/
 * (never replacing: on a clash a new ID is drawn), fsync queue/ (through sy
 * when not NULL, so that concurrent commits share one directory fsync).
 * Always frees *wp and sets it to NULL.  Returns 0 and the ID in qid_r, or -1
 * with errno and nothing left in queue/ (a crash after the rename but before
 * the fsync may leave the file there, not yet acknowledged: delivered anyway).
 */
int		 spool_commit(struct spool_writer **wp, struct spool_syncer *sy,
		    char qid_r[SPOOL_QID_SIZE]);

/* Remove the temp file and free; accepts NULL / *wp == NULL. */
void		 spool_abort(struct spool_writer **wp);

/*
 * Group commit of the queue/ directory fsync: each spool_commit() with the
 * same syncer waits for an fsync that started after its rename, and one
 * fsync serves every commit that was waiting.  No extra thread: the first
 * waiter does the fsync.  A syncer serves the queue_directory it was made
 * for: a writer created in another one (queue_directory changed by a
 * reload) is committed with its own directory fsync, so a stale syncer is
 * slower, never wrong.  Free only when no commit uses it.
 */
struct spool_syncer *spool_syncer_new(const char *qdir);
void		 spool_syncer_free(struct spool_syncer **syp);

/*
 * Typical use.  SMTP DATA (worker thread): spool_create, spool_write_envelope,
 * spool_write(Received: header), spool_write(body chunks...), spool_commit
 * -> "250 2.0.0 Ok: queued as ID".  Queue manager: spool_open(ID); for the
 * local recipients maildir_deliver_many() straight from m->fd,
 * m->msg_offset, m->msg_len (set check_cur when the message was recovered
 * at start or a recipient has attempts > 0); spool_rcpt_set() for each
 * result; if spool_msg_done(): spool_remove() (no status sync needed: a
 * redelivery finds its files); else spool_status_sync().  At start:
 * spool_recover(), then spool_list() and spool_open() each ID.
 */

/* ---- reading, state, recovery ---- */

struct spool_msg {
	char			 qid[SPOOL_QID_SIZE];
	struct spool_envelope	 env;		/* env.rcpts has env.nrcpt entries */
	int			 fd;		/* read-only, the queue file */
	off_t			 msg_offset;	/* message bytes in fd: [offset, offset+len) */
	off_t			 msg_len;
	/* private */
	char			*qdir;
	int			 stfd;		/* status file, opened on first update */
	size_t			 rcap;		/* allocated env.rcpts */
	bool			 st_dirty;	/* records written since the last sync */
	bool			 st_new;	/* we created the status file: fsync queue/ */
};

/*
 * Open a committed message with its envelope and recipient states.
 * Returns 0 and *msg_r, or -1 with errno: ENOENT (not there: removed
 * meanwhile), EBADMSG (corrupt or unknown version: the file was moved to
 * QDIR/corrupt/ and a warning logged), or an I/O error.
 */
int		 spool_open(const char *qdir, const char *qid, struct spool_msg **msg_r);
void		 spool_msg_free(struct spool_msg **msgp);

/*
 * Record a recipient's new state (reason may be NULL; it is cut to
 * SPOOL_REASON_MAX and escaped).  Updates m->env.rcpts[idx] and appends a
 * record to the status file with one write(2): it survives a crash of the
 * process at once, and a power loss after spool_status_sync().
 * DEFERRED, DELIVERED, RELAYED and FAILED count an attempt; EXPANDED stores
 * the number of children added so far (call it after the spool_rcpt_add()s,
 * so a lost "A" record makes the parent PENDING again on the next open).
 * Returns 0 or -1/errno (EINVAL: bad idx or state).
 */
int		 spool_rcpt_set(struct spool_msg *m, size_t idx, enum spool_rcpt_state state,
		    time_t next_retry, const char *reason);

/* Mark that the DSN for recipient idx has been queued (no second bounce). */
int		 spool_rcpt_dsn_sent(struct spool_msg *m, size_t idx);

/*
 * Add a recipient found by alias expansion of recipient parent (state
 * PENDING, notify/orcpt inherited, orig = the parent's orig or addr).
 * Returns 0 and its index in *idx_r, or -1/errno (E2BIG past
 * SPOOL_RCPT_MAX).  env.rcpts may move: do not keep pointers into it.
 */
int		 spool_rcpt_add(struct spool_msg *m, size_t parent, const char *addr,
		    size_t *idx_r);

/*
 * fsync the status file (no-op when nothing was recorded), and queue/ too
 * when this call's records created the file.  Batch: one sync after all the
 * updates of a delivery round.  0 or -1/errno.
 */
int		 spool_status_sync(struct spool_msg *m);

/* True when every recipient is in a final state (nothing left to try). */
bool		 spool_msg_done(const struct spool_msg *m);

/*
 * Remove a message (queue/ID and queue/ID.st) once it is done.  No fsync:
 * if a crash undoes the unlink, the message is recovered and its done
 * recipients are skipped (status) or redelivered idempotently (maildir).
 * Returns 0 (also when already gone) or -1/errno.
 */
int		 spool_remove(const char *qdir, const char *qid);

/*
 * Call fn for every committed message ID in queue/ (unordered; sort the IDs
 * for time order).  Stops and returns fn's value when it is non-zero;
 * returns 0 after the last, -1/errno when queue/ cannot be read.  Names that
 * are not queue IDs are skipped.  fn may remove the message it was handed.
 */
int		 spool_list(const char *qdir, int (*fn)(const char *qid, void *arg), void *arg);

/*
 * Startup recovery: create the directories and remove leftovers in
 * QDIR/tmp/ (never acknowledged) not modified for min_age seconds (0 = all;
 * use more than the SMTP DATA timeout when other daemon processes share the
 * queue_directory).  Returns the number of temp files removed, or -1/errno.
 */
int		 spool_recover(const char *qdir, time_t min_age);

/* Is s (len bytes) a well-formed queue ID? */
bool		 spool_qid_valid(const char *s, size_t len);

/* Draw a new queue ID (thread-safe; strictly increasing in this process). */
void		 spool_qid_new(char qid_r[SPOOL_QID_SIZE]);

/* Names for logs and DSNs; never NULL. */
const char	*spool_state_name(enum spool_rcpt_state st);

#endif
