/* Private to src/net/tls*.c. */
#ifndef LB_NET_TLS_INT_H
#define LB_NET_TLS_INT_H

/* "prefix: <OpenSSL's first queued error>", allocated; clears the error queue. */
char	*tls_ssl_err(const char *prefix);

#endif
