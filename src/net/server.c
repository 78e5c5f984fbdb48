/* Hooks and in-flight counting for the daemon context; see server.h. */
#include <event2/event.h>

#include "lib/xmalloc.h"
#include "net/server.h"

static void
hook_add(struct server_hook **list, void (*fn)(void *), void *arg)
{
	struct server_hook *h = xcalloc(1, sizeof(*h));

	h->fn = fn;
	h->arg = arg;
	h->next = *list;
	*list = h;
}

void
server_hook_reload(struct server *s, void (*fn)(void *), void *arg)
{
	hook_add(&s->on_reload, fn, arg);
}

void
server_hook_stop(struct server *s, void (*fn)(void *), void *arg)
{
	hook_add(&s->on_stop, fn, arg);
}

void
server_busy(struct server *s)
{
	s->busy++;
}

void
server_idle(struct server *s)
{
	if (s->busy > 0)
		s->busy--;
	if (s->stopping && s->busy == 0)
		event_base_loopexit(s->base, NULL);
}
