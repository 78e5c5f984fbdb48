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
struct imap_client;

/*
 * End the running selected-state command: sync (on the pool), untagged
 * updates, then "tag status text".  Asynchronous: the session waits until
 * it is written.  Also fine in the authenticated state (no sync).
 */
void	imap_view_done(struct imap_client *c, const char *status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Resolve a parsed set against the view: by sequence number (uid false;
 * "*" = the last message) or by UID (uid true; "*" = the highest UID,
 * UIDs not in the view drop out).  Output: a normalised set of 1-based
 * sequence numbers (out is emptied first).  Returns 0, or -1 when a
 * sequence number is past the end (RFC 9051 §6.4.8: BAD "Invalid
 * messageset"), never for UIDs.
 */
int	imap_view_resolve(const struct imap_client *c, const struct seqset *in, bool uid,
	    struct seqset *out);

/*
 * "\Seen \Flagged $Label1" (no parentheses) for message idx: system flags,
 * keywords by name, and \Recent when the view claimed it.
 */
void	imap_view_flags(const struct imap_client *c, size_t idx, struct buf *out);

/*
 * A flag-list argument (STORE, APPEND: "(\Seen foo)" or a single flag)
 * to store bits.  Keywords are created in the mailbox when create is set
 * (store_keyword_index).  \Recent is refused (RFC 3501 §2.3.2).  Returns
 * 0, or -1 with *err_r a static reason for a BAD/NO.
 */
struct imap_arg;
int	imap_flags_parse(struct imap_client *c, const struct imap_arg *a, bool create,
	    uint32_t *flags_r, uint32_t *keywords_r, const char **err_r);

#endif
