/*
 * Sessions per user: a chained hash of user name -> count, grown as users
 * come, an entry freed when its count drops to 0.  Only logged-in sessions
 * are counted, so the table holds at most one entry per live session.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/userlimit.h"
#include "lib/xmalloc.h"

struct user_count {
	struct user_count	*next;
	uint32_t		 hash;
	unsigned		 n;
	char			 name[];
};

static struct user_count	**bucket;
static size_t			  nbucket, nused;

static uint32_t
name_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void
grow(void)
{
	size_t			 nb = nbucket ? 2 * nbucket : 64;
	struct user_count	**b = xcalloc(nb, sizeof(*b)), *u, *n;

	for (size_t i = 0; i < nbucket; i++)
		for (u = bucket[i]; u != NULL; u = n) {
			n = u->next;
			u->next = b[u->hash & (nb - 1)];
			b[u->hash & (nb - 1)] = u;
		}
	free(bucket);
	bucket = b;
	nbucket = nb;
}

static struct user_count **
slot(const char *user, uint32_t h)
{
	struct user_count **up;

	if (nbucket == 0)
		grow();
	for (up = &bucket[h & (nbucket - 1)]; *up != NULL; up = &(*up)->next)
		if ((*up)->hash == h && strcmp((*up)->name, user) == 0)
			break;
	return up;
}

bool
imap_user_take(const char *user, unsigned max)
{
	uint32_t		 h = name_hash(user);
	struct user_count	**up = slot(user, h), *u = *up;
	size_t			 len;

	if (u != NULL) {
		if (max > 0 && u->n >= max)
			return false;
		u->n++;
		return true;
	}
	len = strlen(user);
	u = xmalloc(sizeof(*u) + len + 1);
	memcpy(u->name, user, len + 1);
	u->hash = h;
	u->n = 1;
	u->next = NULL;
	*up = u;
	if (++nused > 2 * nbucket)
		grow();
	return true;
}

void
imap_user_release(const char *user)
{
	struct user_count **up, *u;

	if (nbucket == 0)
		return;
	up = slot(user, name_hash(user));
	if ((u = *up) == NULL || --u->n > 0)
		return;
	*up = u->next;
	free(u);
	nused--;
}

unsigned
imap_user_count(const char *user)
{
	struct user_count *u;

	if (nbucket == 0)
		return 0;
	u = *slot(user, name_hash(user));
	return u != NULL ? u->n : 0;
}
