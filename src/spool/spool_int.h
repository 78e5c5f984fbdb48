/*
 * Private to src/spool/spool*.c: helpers shared by the writing side
 * (spool.c) and the reading side (spool_msg.c).  Not for other modules.
 */
#ifndef LB_SPOOL_SPOOL_INT_H
#define LB_SPOOL_SPOOL_INT_H

#include <stddef.h>

#include "lib/buf.h"
#include "spool/spool.h"

#define SPOOL_NSTATES	(SPOOL_R_DISCARDED + 1)

/* "pending", "deferred", ... indexed by enum spool_rcpt_state. */
extern const char *const spool_state_names[SPOOL_NSTATES];

/* Append s (at most max bytes) %XX-escaped (bytes <= 0x20, '%', 0x7f). 0 / -1. */
int	 spool_esc_add(struct buf *b, const char *s, size_t max);
/* Decode an escaped value; NULL when malformed, NUL-bearing or over max bytes. */
char	*spool_unesc(const char *s, size_t len, size_t max);
/* "QDIR/SUB[/NAME[SUFFIX]]", allocated. */
char	*spool_path(const char *qdir, const char *sub, const char *name, const char *suffix);
/* mkdir -p QDIR/{tmp,queue,corrupt}.  0 / -1 errno. */
int	 spool_ensure_dirs(const char *qdir);

#endif
