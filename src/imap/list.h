/*
 * LIST / LSUB / STATUS replies built off the loop (on the worker that read
 * the folder list): RFC 3501 §6.3.8-10, RFC 9051 §6.3.9 (rev2 LIST),
 * RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE,
 * RFC 8438 STATUS SIZE.  Names are matched and written in the session's
 * view (names.h), computed here from the request alone, so nothing
 * touches the session while the worker runs.
 */
#ifndef LB_IMAP_LIST_H
#define LB_IMAP_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/names.h"

struct buf;
struct imap_arg;
struct store_folder;
struct store_status;

/* STATUS items (RFC 3501 §6.3.10, RFC 8438 SIZE). */
#define IMAP_STATUS_MESSAGES	0x01
#define IMAP_STATUS_RECENT	0x02
#define IMAP_STATUS_UIDNEXT	0x04
#define IMAP_STATUS_UIDVALIDITY	0x08
#define IMAP_STATUS_UNSEEN	0x10
#define IMAP_STATUS_SIZE	0x20
#define IMAP_STATUS_DELETED	0x40	/* RFC 9051 §6.3.11 */
#define IMAP_STATUS_HIGHESTMODSEQ 0x80	/* RFC 7162 3.1.10 */
#define IMAP_STATUS_MAILBOXID	0x100	/* RFC 8474 §4.2 */


/* LIST selection options (RFC 5258 §3.1, RFC 6154 §3). */
#define IMAP_LSEL_SUBSCRIBED	0x01
#define IMAP_LSEL_REMOTE	0x02
#define IMAP_LSEL_RECURSIVE	0x04
#define IMAP_LSEL_SPECIALUSE	0x08
/* LIST return options (RFC 5258 §3.2, RFC 5819, RFC 6154). */
#define IMAP_LRET_SUBSCRIBED	0x01
#define IMAP_LRET_CHILDREN	0x02
#define IMAP_LRET_SPECIALUSE	0x04
#define IMAP_LRET_STATUS	0x08

#define IMAP_LIST_PATTERNS_MAX	32
#define IMAP_LIST_PATTERN_MAX	4096	/* bytes of reference + pattern */

struct imap_list_req {
	enum imap_ns	 ns;
	unsigned	 nflags;	/* IMAP_NAME_* */
	bool		 lsub;
	bool		 extended;	/* selection/return options or several patterns */
	bool		 rev2;		/* \NonExistent rather than \Noselect */
	unsigned	 sel, ret, status;
	char		*pats[IMAP_LIST_PATTERNS_MAX];	/* reference + pattern, wire form */
	size_t		 npats;
};

/*
 * Parse a STATUS item list into IMAP_STATUS_* bits; false on an unknown
 * item or an empty list.
 */
bool	 imap_status_items(const struct imap_arg *l, unsigned *items_r);
/*
 * A folder's STATUS for items: store_status() (index header only when
 * nothing changed), plus an open + sync only when DELETED is asked (the
 * header does not count it), plus the MAILBOXID into mailboxid_r (at
 * least STORE_OBJID_SIZE bytes) when asked.  On a worker.  0 or -1/errno.
 */
int	 imap_status_get(const char *root, const char *name, unsigned items,
	    struct store_status *st_r, uint32_t *deleted_r, char *mailboxid_r);
/* "* STATUS name (...)\r\n" for the wanted items. */
void	 imap_status_line(struct buf *out, enum imap_ns ns, unsigned nflags, const char *name,
	    unsigned items, const struct store_status *st, uint32_t deleted,
	    const char *mailboxid);

/*
 * Parse LIST/LSUB arguments into req (caller zeroes it first, sets ns,
 * nflags, rev2); NULL, or the text of a BAD reply.  Free with
 * imap_list_req_clear().
 */
const char *imap_list_parse(struct imap_list_req *req, const struct imap_arg *args,
	    size_t nargs, bool lsub);
void	 imap_list_req_clear(struct imap_list_req *req);

/*
 * The untagged lines for req over the folders and subscriptions of the
 * Maildir at root (STATUS via store_status() on root), appended to out.
 */
void	 imap_list_build(const struct imap_list_req *req, const char *root,
	    const struct store_folder *folders, size_t nfolders, char *const *subs,
	    size_t nsubs, struct buf *out);

/* The RFC 6154 attribute of a store name, or NULL. */
const char *imap_special_use(const char *name);

/*
 * CREATE's USE list (RFC 6154 §5.2) as the text the store keeps ("\\Sent"
 * or "\\Sent \\Archive", canonical case, no repeats) into dst (at least
 * IMAP_SPECIAL_USE_MAX bytes): 0, -1 when the list is malformed (BAD), 1
 * when it names a use we do not keep (\\All, \\Flagged, unknown: NO [USEATTR]).
 */
#define IMAP_SPECIAL_USE_MAX	128
int	 imap_use_parse(const struct imap_arg *list, char *dst);

#endif
