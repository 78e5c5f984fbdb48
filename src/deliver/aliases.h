/*
 * The aliases file for the host's own names (mydestination), in the
 * /etc/aliases format: "name: target, target" with '#' comments and
 * continuation lines that start with white space.  Names are matched case-
 * insensitively.  The file is re-read when its inode, size or mtime change,
 * so no newaliases step is needed.  Targets that are commands ("|cmd"),
 * files ("/path") or ":include:" are not supported and are skipped with a
 * warning: letterbox never runs programs for mail.  Thread-safe.
 */
#ifndef LB_DELIVER_ALIASES_H
#define LB_DELIVER_ALIASES_H

#include <stdbool.h>

enum aliases_result { ALIAS_FOUND, ALIAS_NOTFOUND, ALIAS_TEMPFAIL };

/*
 * Look up name (a local part) in the file at path (alias_maps).  On FOUND
 * *targets_r is an allocated copy of the comma-separated target list.  A
 * missing file is NOTFOUND; an unreadable one TEMPFAIL.
 */
enum aliases_result aliases_lookup(const char *path, const char *name, char **targets_r);

/* Free the cache (at exit). */
void	aliases_flush(void);

#endif
