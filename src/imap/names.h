/*
 * Mailbox names between the wire and the store, in ONE place.  Every
 * command that takes or shows a mailbox name (SELECT, CREATE, RENAME,
 * LIST patterns and replies, STATUS, APPEND/COPY/MOVE targets...) goes
 * through here, so the namespace setting and the name encoding cannot
 * disagree between commands.
 *
 * The store's names: levels separated by '/', each level in modified
 * UTF-7 (as rev1 clients send them and as Courier and Dovecot keep them
 * on disk), "INBOX" for the inbox.  The wire's names depend on:
 *   - the namespace (imap_namespace): modern = the store's form, separator
 *     '/', no prefix; courier = personal prefix "INBOX.", separator '.'
 *     (store "a/b" is "INBOX.a.b"; INBOX stays INBOX), Courier-IMAP's view;
 *   - the encoding: modified UTF-7 for rev1 clients, UTF-8 after ENABLE
 *     UTF8=ACCEPT (RFC 6855 §3) -- IMAP_NAME_UTF8.
 */
#ifndef LB_IMAP_NAMES_H
#define LB_IMAP_NAMES_H

#include <stdbool.h>
#include <stddef.h>

struct buf;
struct imap_arg;
struct imap_client;

enum imap_ns {
	IMAP_NS_MODERN = 0,	/* "" and '/' */
	IMAP_NS_COURIER,	/* "INBOX." and '.' */
};

#define IMAP_NAME_UTF8	0x01	/* the wire carries UTF-8 (UTF8=ACCEPT), else mUTF-7 */

/* The configured namespace (imap_namespace), read from the current config. */
enum imap_ns	 imap_ns_current(void);
/* "modern" / "courier" -> 0 and *ns_r, else -1. */
int		 imap_ns_parse(const char *s, enum imap_ns *ns_r);
char		 imap_ns_sep(enum imap_ns ns);
const char	*imap_ns_prefix(enum imap_ns ns);	/* "" or "INBOX." */

/*
 * Pure conversions (unit-tested).  Append to out; 0, or -1 when the name
 * cannot be said on the other side (bad mUTF-7 / UTF-8, a '/' inside a
 * Courier level, a '.' inside a level of a store name in the courier
 * view, no "INBOX." prefix in the courier view, an invalid store name).
 * "INBOX" in any case is "INBOX".  The result is not quoted.
 */
int	 imap_name_from_wire(enum imap_ns ns, unsigned flags, const char *wire, size_t len,
	    struct buf *out);
int	 imap_name_to_wire(enum imap_ns ns, unsigned flags, const char *name, struct buf *out);

/*
 * LIST/LSUB pattern match on wire names (RFC 3501 §6.3.8): '*' matches
 * anything, '%' anything but sep; an "INBOX" head matches in any case.
 */
bool	 imap_name_match(const char *wire, const char *pat, char sep);

/* ---- for command handlers: the session's namespace and encoding ---- */

/* IMAP_NAME_* for this session (UTF-8 once UTF8=ACCEPT or IMAP4rev2 is enabled). */
unsigned imap_name_flags(const struct imap_client *c);

/*
 * A mailbox argument as a store name (malloc'd), or NULL after replying
 * BAD (not an astring) or NO [CANNOT] (not a valid name).
 */
char	*imap_mailbox_arg(struct imap_client *c, const struct imap_arg *a);

/*
 * A store name written on the wire for this session, quoted or as a
 * literal as needed.  A name the session's view cannot express (an old
 * install's 8-bit folder, a '.' in the courier view) goes out as it is
 * stored; returns -1 in that case so LIST may choose to skip it.
 */
int	 imap_write_mailbox_name(struct imap_client *c, struct buf *out, const char *name);

#endif
