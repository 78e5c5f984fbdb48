/* Bump allocator for per-command objects; see arena.h. */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/arena.h"
#include "lib/xmalloc.h"

#define ARENA_BLOCK	4096

struct imap_arena_block {
	struct imap_arena_block	*next;
	size_t			 size, pos;
	alignas(max_align_t) unsigned char data[];
};

void
imap_arena_init(struct imap_arena *a)
{
	a->head = NULL;
	a->used = 0;
}

void
imap_arena_reset(struct imap_arena *a)
{
	struct imap_arena_block	*b, *next;

	if (a->head == NULL)
		return;
	/* Keep the last (oldest, standard-sized) block: a command usually fits. */
	for (b = a->head; b->next != NULL; b = next) {
		next = b->next;
		free(b);
	}
	b->pos = 0;
	a->head = b;
	a->used = 0;
}

void
imap_arena_free(struct imap_arena *a)
{
	struct imap_arena_block	*b, *next;

	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	imap_arena_init(a);
}

void *
imap_arena_alloc(struct imap_arena *a, size_t n)
{
	const size_t		 al = alignof(max_align_t);
	struct imap_arena_block	*b = a->head;
	size_t			 need, size;
	void			*p;

	if (n > SIZE_MAX - al - sizeof(*b))
		abort();	/* callers bound n by their limits */
	need = (n + al - 1) / al * al;
	if (need == 0)
		need = al;
	if (b == NULL || b->size - b->pos < need) {
		size = need > ARENA_BLOCK ? need : ARENA_BLOCK;
		b = xmalloc(sizeof(*b) + size);
		b->size = size;
		b->pos = 0;
		b->next = a->head;
		a->head = b;
	}
	p = b->data + b->pos;
	b->pos += need;
	a->used += need;
	memset(p, 0, n);
	return p;
}

char *
imap_arena_strndup(struct imap_arena *a, const void *p, size_t n)
{
	char	*s = imap_arena_alloc(a, n + 1);

	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}
