/*
 * The services serve runs: each protocol module plugs in here.  Kept apart
 * from serve.c so adding a protocol touches one small file.
 */
#ifndef LB_CLI_SERVICES_H
#define LB_CLI_SERVICES_H

struct conf;
struct server;
struct service;

/*
 * Before privileges are dropped: read keys/certificates and fill the list of
 * listening services.  0, or -1 with *err_r allocated.
 */
int	services_init(struct server *srv, const struct conf *c, const struct service **svcs_r,
	    unsigned *n_r, char **err_r);
/* After the drop and with the pool running: start background work (queue manager). */
int	services_start(struct server *srv, char **err_r);
/* After the loop ended: free what services_init/start made. */
void	services_free(struct server *srv);

#endif
