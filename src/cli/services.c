/* The service registry: which protocols run and their listeners; see services.h. */
#include <stddef.h>

#include "cli/services.h"
#include "lib/conf.h"
#include "net/listen.h"
#include "net/server.h"

static struct service services[8];
static unsigned nservices;

int
services_init(struct server *srv, const struct conf *c, const struct service **svcs_r,
    unsigned *n_r, char **err_r)
{
	nservices = 0;
	*svcs_r = services;
	*n_r = nservices;
	return 0;
}

int
services_start(struct server *srv, char **err_r)
{
	return 0;
}

void
services_free(struct server *srv)
{
}
