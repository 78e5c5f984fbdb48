/*
 * SELECT / EXAMINE parameters (RFC 4466 select-params): RFC 7162's
 * CONDSTORE and QRESYNC (uidvalidity modseq [known-uids] [(seq-match
 * uid-match)]), parsed from the command's argument tree.  Pure: no
 * session, no store.  The result owns its sets.
 */
#ifndef LB_IMAP_SELECT_PARSE_H
#define LB_IMAP_SELECT_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "imap/arg.h"
#include "imap/seqset.h"

struct select_params {
	bool		 condstore;	/* CONDSTORE, or implied by QRESYNC */
	bool		 qresync;	/* QRESYNC (...) given */
	uint32_t	 uidvalidity;	/* the client's, nz */
	uint64_t	 modseq;	/* its last known HIGHESTMODSEQ, nz */
	bool		 has_known;
	struct seqset	 known_uids;	/* normalised; no "*" */
	bool		 has_match;
	struct seqset	 seq_match;	/* as written (paired by position) */
	struct seqset	 uid_match;
};

void	 select_params_init(struct select_params *p);
void	 select_params_clear(struct select_params *p);

/*
 * Parse the parenthesised list that follows the mailbox name.  Unknown
 * parameters, an empty list, "*" or "$" in a set, zero UIDVALIDITY or
 * modseq and seq-match sets of different sizes are refused.  Returns 0,
 * or -1 with *err_r a static reason for a BAD (p is then cleared).
 */
int	 select_params_parse(const struct imap_arg *list, struct select_params *p,
	    const char **err_r);

#endif
