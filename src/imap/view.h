/*
 * The selected mailbox as this client knows it (RFC 3501 §5.2, §7.4.1;
 * RFC 9051 §5.2, §7.5.1).  The store handle (c->mb) holds the message
 * array: index i is sequence number i + 1, and it changes only in
 * store_sync().  This module owns when that sync happens and what the
 * client is told: new messages (EXISTS, RECENT), flag changes made
 * elsewhere (FETCH FLAGS), expunges (EXPUNGE, never while a FETCH, STORE
 * or SEARCH by sequence number runs), and UIDVALIDITY changes.
 *
 * Every command of the selected state ends with imap_view_done() instead
 * of imap_tagged(): it syncs on the worker pool when the command's flags
 * allow, writes the untagged updates, then the tagged reply.
 */
#ifndef LB_IMAP_VIEW_H
#define LB_IMAP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct seqset;
struct imap_arg;
struct imap_client;
struct store_mailbox;

/*
 * End the running selected-state command: sync (on the pool), untagged
 * updates, then "tag status text", then the session resumes its input
 * (when called from a stream's last piece, stream.c resumes it).
 * Asynchronous: the session waits until it is written.  No sync (and no
 * EXPUNGE) after FETCH, STORE, SEARCH or COPY by sequence number (their
 * table rows have IMAP_CF_USES_SEQS): RFC 3501 7.4.1; the next command
 * that may sync reports it all.  Also fine in the authenticated state (no
 * sync).  A UIDVALIDITY change found by the sync ends the session with
 * "* BYE" (RFC 3501 2.3.1.1) instead of the tagged reply.
 */
void	imap_view_done(struct imap_client *c, const char *status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * The running command's end (imap_view_done) tells the HIGHESTMODSEQ as
 * of its sync: in the tagged OK, or untagged when that has a code (EXPUNGE
 * under QRESYNC, RFC 7162 3.2.10).  A sync that sent VANISHED does this on
 * its own.
 */
void	imap_view_modseq_code(struct imap_client *c);

/* A mailbox was selected (c->mb set, synced): the view starts from it. */
void	imap_view_selected(struct imap_client *c);
/* The mailbox is left or the session ends: drop the view's state. */
void	imap_view_free(struct imap_client *c);

/*
 * Sync now and write the untagged updates, without ending a command (IDLE).
 * done(c) runs on the loop afterwards unless the session ended or was
 * closed by a UIDVALIDITY change.  The session waits meanwhile.
 */
void	imap_view_sync(struct imap_client *c, void (*done)(struct imap_client *c));

/*
 * Run work(mb, arg) on the worker pool with the selected mailbox lent to
 * it (c->mb is NULL meanwhile, and the session waits), then done(c, arg)
 * on the loop with c->mb back; done owns arg.  When the session ends
 * first, the job closes the handle and calls free_arg(arg) instead.
 */
void	imap_view_run(struct imap_client *c, void (*work)(struct store_mailbox *mb, void *arg),
	    void (*done)(struct imap_client *c, void *arg), void (*free_arg)(void *arg),
	    void *arg);

/*
 * As imap_view_run(), but the job first syncs the view (so work sees what
 * other sessions did: EXPUNGE acts on the \Deleted flags as they are now),
 * and its untagged updates are written before done(c, arg) runs.  When
 * the sync found a UIDVALIDITY change the session is closed and
 * free_arg(arg) runs instead of done.
 */
void	imap_view_run_synced(struct imap_client *c,
	    void (*work)(struct store_mailbox *mb, void *arg),
	    void (*done)(struct imap_client *c, void *arg), void (*free_arg)(void *arg),
	    void *arg);

/*
 * Resolve a parsed set against the view: by sequence number (uid false;
 * "*" = the last message) or by UID (uid true; "*" = the highest UID,
 * UIDs not in the view drop out).  Output: a normalised set of 1-based
 * sequence numbers (out is emptied first).  "$" (in->saved, RFC 5182) is
 * the session's saved SEARCH result in either form (empty when none).
 * Returns 0, or -1 when a
 * sequence number is past the end (RFC 9051 §6.4.8: BAD "Invalid
 * messageset"), never for UIDs.
 */
int	imap_view_resolve(const struct imap_client *c, const struct seqset *in, bool uid,
	    struct seqset *out);

/*
 * "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" for mb: the system
 * flags and the keywords the folder defines (SELECT, and again whenever a
 * new keyword shows up, before the FETCH that uses it).  ro: read-only,
 * nothing is permanent.
 */
void	imap_view_flag_lists(struct imap_client *c, const struct store_mailbox *mb, bool ro);

/*
 * A keyword that the last FLAGS did not list (made by a STORE or APPEND,
 * here or elsewhere) needs a new FLAGS before any FETCH shows it
 * (RFC 3501 7.2.6): write it when the folder gained keywords.  The sync's
 * report calls it; so must a command that creates keywords (STORE).
 */
void	imap_view_tell_keywords(struct imap_client *c);

/*
 * "* N FETCH ([UID u ]FLAGS (...))" for message idx (STORE, the sync);
 * with CONDSTORE on, always UID and then MODSEQ (RFC 7162 3.1).
 */
void	imap_view_write_flags(struct imap_client *c, size_t idx, bool uid);
/* "* N FETCH (UID u MODSEQ (m))": STORE .SILENT under CONDSTORE (RFC 7162 3.1.3). */
void	imap_view_write_modseq(struct imap_client *c, size_t idx);

/*
 * "\Seen \Flagged $Label1" (no parentheses) for message idx: system flags,
 * keywords by name, and \Recent when the view claimed it.
 */
void	imap_view_flags(const struct imap_client *c, size_t idx, struct buf *out);

/*
 * Flags taken apart on the loop without touching the store: system flag
 * bits and keyword names (copied), for a pool job to resolve with
 * imap_flag_names_resolve().  args[0..n) are flags or flag lists (STORE
 * takes "(\Seen foo)" as well as "\Seen foo").  \Recent is refused.
 * Returns 0, or -1 with *err_r a static reason for a BAD.
 */
struct imap_flag_names {
	uint32_t	 flags;		/* STORE_F_* */
	char		**kw;		/* keyword names (malloc'd) */
	size_t		 nkw;
};
int	imap_flag_names_parse(const struct imap_arg *args, size_t n, struct imap_flag_names *out,
	    const char **err_r);
/*
 * On the pool: keyword names to bits of mb (created when create; an
 * unknown one is skipped without create).  Returns 0, or -1 with *err_r:
 * too many keywords (ENOSPC, the 27th) or an invalid one.
 */
int	imap_flag_names_resolve(struct store_mailbox *mb, const struct imap_flag_names *fn,
	    bool create, uint32_t *keywords_r, const char **err_r);
void	imap_flag_names_clear(struct imap_flag_names *fn);

/*
 * A flag-list argument (STORE, APPEND: "(\Seen foo)" or a single flag)
 * to store bits.  Keywords are created in the mailbox when create is set
 * (store_keyword_index).  \Recent is refused (RFC 3501 §2.3.2).  Returns
 * 0, or -1 with *err_r a static reason for a BAD/NO.
 */
int	imap_flags_parse(struct imap_client *c, const struct imap_arg *a, bool create,
	    uint32_t *flags_r, uint32_t *keywords_r, const char **err_r);

#endif
