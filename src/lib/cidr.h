/*
 * Client network lists as in Postfix's mynetworks: "127.0.0.0/8 [::1]/128
 * 192.0.2.1", comma or space separated; IPv6 may be bracketed.
 */
#ifndef LB_CIDR_H
#define LB_CIDR_H

#include <stdbool.h>
#include <sys/socket.h>

struct netlist;

/* Returns a new list, or NULL with *err_r (static text) set. */
struct netlist	*netlist_parse(const char *text, const char **err_r);
void		 netlist_free(struct netlist **nl);
bool		 netlist_match(const struct netlist *nl, const struct sockaddr *sa);

/* Parse "ADDR:PORT" or "[V6]:PORT" into a sockaddr; 0 or -1. */
int		 sockaddr_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len_r);
/* "1.2.3.4" / "::1" (no port); buf >= 64. */
const char	*sockaddr_ntop(const struct sockaddr *sa, char *buf, size_t sz);
int		 sockaddr_port(const struct sockaddr *sa);

#endif
