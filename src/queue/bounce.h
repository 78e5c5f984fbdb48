/*
 * Delivery status notifications (issue 4 item 5): RFC 3464
 * multipart/report; report-type=delivery-status, written as a new spooled
 * message from the null sender "<>" to the original envelope sender, with
 * From: MAILER-DAEMON@myhostname, Auto-Submitted: auto-replied (RFC 3834).
 * Parts: a human-readable text/plain, message/delivery-status (RFC 3464
 * 2.2/2.3 fields per recipient), and the original message as
 * message/rfc822 (RET=FULL, or RET not given and the message is at most
 * BOUNCE_FULL_MAX bytes) or its header as text/rfc822-headers (RET=HDRS,
 * or larger messages); copied from the spool file in chunks, never whole
 * in memory.
 *
 * Loop safety: no DSN ever goes to "<>".  When the failed message has the
 * null sender (it was a bounce, ours or someone else's) a FAILURE notice
 * goes once to postmaster@myhostname as a "double bounce" (origin
 * "double-bounce"); a double bounce that fails is dropped with a log line.
 * DELAY and SUCCESS notices for null-sender messages are never sent.
 *
 * Blocks on disk I/O: call from a worker thread.
 */
#ifndef LB_QUEUE_BOUNCE_H
#define LB_QUEUE_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>

#include "spool/spool.h"

struct conf;

#define BOUNCE_FULL_MAX		50000	/* RET not given: full message up to this size */

enum bounce_kind {
	BOUNCE_FAILURE,		/* Action: failed   (final, permanent) */
	BOUNCE_DELAY,		/* Action: delayed  (delay_warning_time passed) */
	BOUNCE_SUCCESS,		/* Action: delivered / relayed (NOTIFY=SUCCESS) */
};

/* Origins the spool envelope of a notice carries (spool "O" line). */
#define BOUNCE_ORIGIN		"bounce"
#define BOUNCE_ORIGIN_DOUBLE	"double-bounce"

/*
 * Does recipient r want a notice of this kind (RFC 3461 4.1)?  NOTIFY not
 * given = FAILURE only; NEVER = none; SUCCESS/DELAY/FAILURE as requested.
 * Does not look at r->dsn_sent (the caller skips those for FAILURE) nor at
 * the sender (bounce_create() handles "<>").
 */
bool		 bounce_wanted(const struct spool_rcpt *r, enum bounce_kind kind);

/*
 * Write and commit a notice about recipients idx[0..n) of m into the spool
 * at qdir.  For each recipient the Status/Diagnostic come from its spool
 * state and reason: a reason starting with "NNN " (SMTP code) followed by
 * an enhanced code is taken as the remote reply ("Diagnostic-Code: smtp;
 * ..."), an enhanced code at the start ("5.1.10 ...") as ours; a
 * "relay=HOST" word sets Remote-MTA.  kind SUCCESS: Action is "relayed"
 * for SPOOL_R_RELAYED, "delivered" otherwise.
 * The caller picks the recipients (bounce_wanted(), not dsn_sent) and
 * afterwards marks them with spool_rcpt_dsn_sent() (FAILURE) itself.
 * Returns 1 with the new message's ID in qid_r; 0 when no notice is due
 * (null sender and kind != FAILURE, or a failed double bounce: logged);
 * -1 with *err_r allocated on an I/O error (try again later).
 */
int		 bounce_create(const char *qdir, const struct spool_msg *m, const size_t *idx,
		    size_t n, enum bounce_kind kind, const struct conf *c,
		    char qid_r[SPOOL_QID_SIZE], char **err_r);

#endif
