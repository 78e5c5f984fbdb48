/*
 * Sessions per user (imap_user_connection_limit): a count per canonical
 * user name over every IMAP session of the daemon (imap and imaps), so one
 * account cannot hold all the descriptors.  Loop thread only: no locking.
 */
#ifndef LB_IMAP_USERLIMIT_H
#define LB_IMAP_USERLIMIT_H

#include <stdbool.h>

/* Count a session for user unless max (> 0) are already counted: true if
 * counted (the caller must call imap_user_release() once), false if refused. */
bool		 imap_user_take(const char *user, unsigned max);
/* Uncount a session imap_user_take() counted. */
void		 imap_user_release(const char *user);
/* Sessions counted for user now (tests, logs). */
unsigned	 imap_user_count(const char *user);

#endif
