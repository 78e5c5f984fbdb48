/*
 * CONDSTORE and QRESYNC (RFC 7162) on the session: turning CONDSTORE on
 * (3.1: ENABLE or the first CONDSTORE-enabling command), VANISHED
 * responses (3.2.10) and the resync part of SELECT/EXAMINE ... (QRESYNC
 * (...)) (3.2.5).  The store keeps the MODSEQs and the expunge log
 * (store_expunged_since); this module only turns them into responses.
 * Loop thread; the selected mailbox's handle must be present (c->mb).
 */
#ifndef LB_IMAP_CONDSTORE_H
#define LB_IMAP_CONDSTORE_H

#include <stdbool.h>
#include <stdint.h>

struct imap_client;
struct seqset;
struct store_mailbox;
struct select_params;

/* Is CONDSTORE on (ENABLEd, QRESYNC, or a CONDSTORE-enabling command ran)? */
bool	imap_condstore(const struct imap_client *c);
bool	imap_qresync(const struct imap_client *c);

/*
 * A CONDSTORE-enabling command runs (FETCH MODSEQ, CHANGEDSINCE,
 * UNCHANGEDSINCE, SEARCH MODSEQ, STATUS HIGHESTMODSEQ, ENABLE): turn it
 * on.  The first time, with a mailbox selected, "* OK [HIGHESTMODSEQ n]"
 * tells the client where the mailbox stands (RFC 7162 3.1.2.1).
 */
void	imap_condstore_on(struct imap_client *c);

/* The mailbox's HIGHESTMODSEQ as clients are told it (never 0). */
uint64_t imap_highestmodseq(const struct store_mailbox *mb);

/* "* OK [HIGHESTMODSEQ n] ..." for the selected mailbox. */
void	imap_highestmodseq_write(struct imap_client *c);

/*
 * "* VANISHED [(EARLIER) ]<uids>" for a normalised set of UIDs; nothing
 * when it is empty.  Long sets are cut into several responses so that no
 * line grows past about 8 KB (RFC 7162 4 on RFC 2683 line lengths).
 */
void	imap_vanished_write(struct imap_client *c, bool earlier, const struct seqset *uids);

/*
 * UIDs expunged with a modseq above since (the store's expunge log), kept
 * to those in within (normalised; NULL = all) and below UIDNEXT, and never
 * one still in the view.  out is emptied first and ends normalised.
 */
void	imap_vanished_since(const struct imap_client *c, uint64_t since,
	    const struct seqset *within, struct seqset *out);

/*
 * The resync of SELECT/EXAMINE (QRESYNC (...)), after the usual
 * untagged data and HIGHESTMODSEQ (RFC 7162 3.2.5.1): when the
 * UIDVALIDITY matches, "* VANISHED (EARLIER)" for the known UIDs expunged
 * since the client's modseq, then "* n FETCH (UID FLAGS MODSEQ)" for each
 * message changed or added since.  Nothing when the UIDVALIDITY differs.
 */
void	imap_qresync_select(struct imap_client *c, const struct select_params *p);

#endif
