/*
 * Internal to the session core (session.c, session_io.c,
 * session_registry.c): what the files call in each other.
 */
#ifndef LB_NET_SESSION_INT_H
#define LB_NET_SESSION_INT_H

#include <event2/util.h>

struct bufferevent;
struct evbuffer;
struct server;
struct session;

/* session.c */
void	session_ended(struct session *s, const char *reason);	/* proto->ended once */
void	session_free_now(struct session *s);	/* no graceful close: the exit path */
void	session_bev_setup(struct session *s);	/* callbacks, watermarks, enable */

/* session_io.c */
void	session_process(struct session *s);	/* the input loop */
void	session_read_cb(struct bufferevent *bev, void *arg);
void	session_write_cb(struct bufferevent *bev, void *arg);
void	session_update_write_mark(struct session *s);
void	session_delay_cb(evutil_socket_t fd, short what, void *arg);

/* session_z.c: compression (session_compress) */
void	session_z_write(struct session *s, const void *p, size_t n);	/* s->z is on */
void	session_z_flush(struct session *s);	/* Z_SYNC_FLUSH what was written (no-op if off) */
void	session_z_free(struct session *s);
/* The protocol's input: the bufferevent's, or the decompressed; NULL: corrupt stream. */
struct evbuffer *session_input(struct session *s);

/* session_registry.c */
int	session_reg_check(struct server *srv, const struct session *s);	/* refusal or -1 */
void	session_reg_add(struct server *srv, struct session *s);
void	session_reg_remove(struct session *s);

#endif
