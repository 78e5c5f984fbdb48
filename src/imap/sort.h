/*
 * SORT (RFC 5256 3, RFC 5957 DISPLAY): the sort criteria parsed from the
 * command, per-message sort keys made from what the store's cache holds
 * (the ENVELOPE, the internal date, the size), and the ordering.  Strings
 * compare with i;ascii-casemap (RFC 4790: ASCII letters folded, then
 * octets); equal messages keep mailbox order (RFC 5256 3: REVERSE does not
 * apply to that tie-break).  Pure: no store, no session.
 */
#ifndef LB_IMAP_SORT_H
#define LB_IMAP_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/arg.h"
#include "imap/envelope.h"
#include "lib/buf.h"

enum sort_key {
	SORT_ARRIVAL, SORT_CC, SORT_DATE, SORT_FROM, SORT_SIZE, SORT_SUBJECT, SORT_TO,
	SORT_DISPLAYFROM, SORT_DISPLAYTO,
};

#define SORT_KEYS_MAX	16	/* more criteria than keys exist: room for REVERSE repeats */

struct sort_criteria {
	size_t		 n;
	enum sort_key	 key[SORT_KEYS_MAX];
	bool		 reverse[SORT_KEYS_MAX];
};

/*
 * sort-criteria = "(" sort-criterion *(SP sort-criterion) ")" with
 * sort-criterion = ["REVERSE" SP] sort-key.  Returns 0, or -1 with
 * *err_r (a static string for a BAD reply).
 */
int	 sort_parse_criteria(const struct imap_arg *list, struct sort_criteria *c,
	    const char **err_r);
/* Does any key need the ENVELOPE (all but ARRIVAL and SIZE)? */
bool	 sort_needs_envelope(const struct sort_criteria *c);

/* ---- keys (also what THREAD compares) ---- */

/* Sent date (RFC 5256: the Date: field, else the internal date). */
int64_t	 sort_sent_date(const struct envelope *e, int64_t idate);
/* Base subject, ASCII-folded, appended; *is_reply_r as mime_base_subject. */
int	 sort_subject_key(const struct envelope *e, struct buf *out, bool *is_reply_r);
/*
 * An address key, ASCII-folded, appended: the mailbox (local part) for
 * FROM/TO/CC (RFC 5256), or for DISPLAY* the RFC 2047-decoded display
 * name, else the addr-spec (RFC 5957 3); a group's start gives its name.
 * No address: the empty string.
 */
int	 sort_addr_key(const struct env_addr *a, bool display, struct buf *out);

/* ---- the table ---- */

struct sort_msg {
	uint32_t		 seq, uid;
	int64_t			 idate;		/* internal date */
	uint64_t		 size;		/* RFC822.SIZE */
	const struct envelope	*env;		/* NULL when unreadable: keys are empty */
};

struct sort_table;

struct sort_table *sort_table_new(const struct sort_criteria *c);
/* Compute and keep m's keys (m is only borrowed for the call). */
void	 sort_table_add(struct sort_table *t, const struct sort_msg *m);
/*
 * Sort; then *seqs_r and *uids_r (borrowed until sort_table_free) list the
 * messages in order.  Returns the count.
 */
size_t	 sort_table_sort(struct sort_table *t, const uint32_t **seqs_r, const uint32_t **uids_r);
void	 sort_table_free(struct sort_table **t);

#endif
