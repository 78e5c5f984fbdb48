/*
 * Recipient resolution: what becomes of one envelope recipient.
 *
 * Hosted domains (the directory), in this order, as a classic Postfix
 * virtual setup with the "email2email" identity map behaves:
 *   1. an exact forwardings row: its destinations, recursively; an address
 *      that forwards to itself plus others keeps a copy in its mailbox;
 *   2. a users row: that mailbox;
 *   3. postmaster@: the aliases file's postmaster (RFC 5321 4.5.1);
 *   4. the @domain catch-all: its destinations; "@other.domain" maps
 *      local@domain to local@other.domain;
 *   5. otherwise: unknown user (5.1.1).
 * The host's own names (mydestination): the aliases file, recursively;
 * a bare name in a target means that name at the same domain.
 * Any other domain: remote delivery.
 *
 * Expansion stops at virtual_alias_recursion_limit levels and
 * virtual_alias_expansion_limit results; a recipient whose expansion only
 * leads back to itself (a loop) bounces with 5.4.6.  Results are
 * deduplicated.  Runs on a worker thread (directory lookups block).
 */
#ifndef LB_QUEUE_EXPAND_H
#define LB_QUEUE_EXPAND_H

#include <stdbool.h>
#include <stddef.h>

struct conf;
struct directory;

enum dest_kind {
	DEST_MAILBOX,	/* maildir: "domain/local/" under virtual_mailbox_base */
	DEST_REMOTE,	/* deliver by SMTP to addr */
	DEST_BOUNCE,	/* permanent failure: reason "5.x.y text" */
	DEST_TEMPFAIL,	/* try again later: reason "4.x.y text" */
	DEST_DISCARD,	/* nothing to deliver (an alias to nothing we support) */
};

struct dest {
	enum dest_kind	 kind;
	char		*addr;		/* final address */
	char		*maildir;	/* DEST_MAILBOX */
	char		*reason;	/* DEST_BOUNCE / DEST_TEMPFAIL */
};

struct dest_list {
	struct dest	*v;
	size_t		 n;
};

/* Expand rcpt into out (appended).  A TEMPFAIL anywhere makes out hold a single TEMPFAIL. */
void	expand_recipient(struct directory *d, const struct conf *c, const char *rcpt,
	    struct dest_list *out);

/*
 * Resolve an address that is already the product of an expansion (it is
 * never expanded again): its mailbox if hosted, remote otherwise.
 */
void	expand_resolve_final(struct directory *d, const struct conf *c, const char *addr,
	    struct dest *out);

void	dest_clear(struct dest *d);
void	dest_list_clear(struct dest_list *l);

/*
 * The duplicate filter over one message's final destinations (as Postfix's
 * local/virtual delivery agents and qmgr drop duplicates): two recipients
 * that end in the same mailbox (same Maildir) or the same remote address
 * (lookup key) get one copy.  dest_seen_add() returns false when d is a
 * duplicate of one added before, true (and remembers it) otherwise; kinds
 * other than MAILBOX/REMOTE are never duplicates.
 */
struct dest_seen {
	char	**keys;
	size_t	  n;
};
bool	dest_seen_add(struct dest_seen *ds, const struct conf *c, const struct dest *d);
/* Remember an address delivered in an earlier pass (its lookup key). */
void	dest_seen_addr(struct dest_seen *ds, const struct conf *c, const char *addr);
void	dest_seen_clear(struct dest_seen *ds);

/* Is domain one of mydestination's names?  (case-insensitive) */
int	expand_is_mydestination(const struct conf *c, const char *domain);

#endif
