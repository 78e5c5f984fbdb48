/*
 * The folder lock: an in-process mutex per folder, then flock(2) on
 * letterbox-uidlist.lock.  flock alone would do on a local file system
 * (its lock belongs to the open file, so two handles in one process
 * exclude each other), but Linux emulates flock on NFS with a POSIX lock,
 * which belongs to the process: two handles of one daemon would both
 * "hold" it.  The mutex (keyed by the folder's device and inode, so two
 * spellings of one path share it) makes the exclusion hold there too.
 *
 * Both waits are bounded (LOCK_TIMEOUT_MS) so a hung holder (a dead NFS
 * server) cannot block a session for ever.
 *
 * The registry entry also holds the folder's index as this process last
 * read it, shared by every handle on the folder (refcounted with the
 * entry): a second session on an open folder does not read the index
 * again, and sessions keep only their views.  So does what the process
 * read of the folder's cache file (its map and offset table).  Both are
 * touched only under the mutex.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/store_int.h"

#define LOCK_TIMEOUT_MS	30000

struct folder_mutex {
	struct folder_mutex	*next;
	dev_t			 dev;
	ino_t			 ino;
	unsigned		 refs;
	pthread_mutex_t		 mu;
	atomic_bool		 arrived;	/* see fmutex_set_arrived */
	struct uidlist		 ul;
	struct cache_shared	 cache;
};

/* The registry: one per process, guarded by its own mutex. */
static pthread_mutex_t		 reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct folder_mutex	*reg;

struct folder_mutex *
fmutex_get(const char *dir)
{
	struct folder_mutex	*f;
	struct stat		 st;

	if (stat(dir, &st) == -1)
		return NULL;
	pthread_mutex_lock(&reg_mu);
	for (f = reg; f != NULL; f = f->next)
		if (f->dev == st.st_dev && f->ino == st.st_ino)
			break;
	if (f == NULL) {
		f = xcalloc(1, sizeof(*f));
		f->dev = st.st_dev;
		f->ino = st.st_ino;
		pthread_mutex_init(&f->mu, NULL);
		f->next = reg;
		reg = f;
	}
	f->refs++;
	pthread_mutex_unlock(&reg_mu);
	return f;
}

void
fmutex_put(struct folder_mutex **fp)
{
	struct folder_mutex	*f = *fp, **pp;

	if (f == NULL)
		return;
	pthread_mutex_lock(&reg_mu);
	if (--f->refs == 0) {
		for (pp = &reg; *pp != f; pp = &(*pp)->next)
			;
		*pp = f->next;
		ul_clear(&f->ul);
		cache_shared_clear(&f->cache);
		pthread_mutex_destroy(&f->mu);
		free(f);
	}
	pthread_mutex_unlock(&reg_mu);
	*fp = NULL;
}

struct uidlist *
fmutex_ul(struct folder_mutex *f)
{
	return &f->ul;
}

struct cache_shared *
fmutex_cache(struct folder_mutex *f)
{
	return &f->cache;
}

void
fmutex_set_arrived(struct folder_mutex *f)
{
	atomic_store(&f->arrived, true);
}

bool
fmutex_arrived(const struct folder_mutex *f)
{
	return atomic_load(&f->arrived);
}

void
fmutex_clear_arrived(struct folder_mutex *f)
{
	atomic_store(&f->arrived, false);
}

bool
fmutex_arrived_dir(const char *dir)
{
	struct folder_mutex	*f;
	struct stat		 st;
	bool			 a = false;

	if (stat(dir, &st) == -1)
		return false;
	pthread_mutex_lock(&reg_mu);
	for (f = reg; f != NULL; f = f->next)
		if (f->dev == st.st_dev && f->ino == st.st_ino) {
			a = atomic_load(&f->arrived);
			break;
		}
	pthread_mutex_unlock(&reg_mu);
	return a;
}

static int
mutex_timedlock(struct folder_mutex *f, const char *dir)
{
	struct timespec	until;
	int		e;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += LOCK_TIMEOUT_MS / 1000;
	if ((e = pthread_mutex_timedlock(&f->mu, &until)) != 0) {
		log_warnx("store: %s busy in this process for too long", dir);
		errno = e;
		return -1;
	}
	return 0;
}

int
st_mutex_lock(const struct store_mailbox *mb)
{
	return mb->fmu != NULL ? mutex_timedlock(mb->fmu, mb->dir) : 0;
}

void
st_mutex_unlock(const struct store_mailbox *mb)
{
	if (mb->fmu != NULL)
		pthread_mutex_unlock(&mb->fmu->mu);
}

int
st_lock(struct store_mailbox *mb)
{
	char		path[PATH_MAX];
	struct timespec	ts = { 0, 2 * 1000 * 1000 };
	int		fd, waited = 0, e;

	if (mb->lockfd != -1)
		return 0;
	if (st_join(path, sizeof(path), mb->dir, "/", UIDLIST_LOCK) == -1 ||
	    st_mutex_lock(mb) == -1)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1)
		goto fail;
	/* Polling: a holder on another host (NFS) may hang. */
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			close(fd);
			goto fail;
		}
		if (waited >= LOCK_TIMEOUT_MS) {
			close(fd);
			log_warnx("store: lock %s held too long", path);
			errno = ETIMEDOUT;
			goto fail;
		}
		nanosleep(&ts, NULL);
		waited += 2;
	}
	mb->lockfd = fd;
	return 0;
fail:
	e = errno;
	st_mutex_unlock(mb);
	errno = e;
	return -1;
}

void
st_unlock(struct store_mailbox *mb)
{
	if (mb->lockfd == -1)
		return;
	close(mb->lockfd);	/* releases the flock */
	mb->lockfd = -1;
	mb->own_state = OWN_UNKNOWN;
	st_mutex_unlock(mb);
}
