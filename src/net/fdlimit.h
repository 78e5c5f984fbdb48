/*
 * The process's descriptor limit: one event loop holds every session, so
 * the soft RLIMIT_NOFILE (often 1024) is raised to the hard limit at start.
 */
#ifndef LB_NET_FDLIMIT_H
#define LB_NET_FDLIMIT_H

/*
 * Raise the soft limit to the hard one (capped at cap when cap > 0).
 * Returns the soft limit now in force (the old one if raising failed),
 * or 0 when it is unlimited (no check needed).
 */
unsigned	net_fd_limit_raise(unsigned cap);

#endif
