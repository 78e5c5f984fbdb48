/*
 * What the store fsyncs (mail_fsync, store_set_fsync): with the default,
 * OPTIMIZED (Dovecot's), a commit of flag changes only is written to the
 * index log but not fdatasync'ed, and the directory it renamed in is not
 * fsynced; an append, an expunge and a UID handed out by a sync still
 * are.  ALWAYS syncs flag changes too.  Written either way: a second
 * handle (another process after a kill -9) sees the change.
 *
 * fsync and fdatasync are counted by defining them here: the store's
 * objects are linked into this program, so their calls come to these.
 */
#include <sys/syscall.h>

#include "t.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store_t.h"

static int	n_fsync, n_fdatasync;

int
fsync(int fd)
{
	n_fsync++;
	return (int)syscall(SYS_fsync, fd);
}

int
fdatasync(int fd)
{
	n_fdatasync++;
	return (int)syscall(SYS_fdatasync, fd);
}

static void
count_reset(void)
{
	n_fsync = n_fdatasync = 0;
}

static int
count(void)
{
	return n_fsync + n_fdatasync;
}

/* A folder of n messages, synced (UIDs handed out) by a handle with fsync on. */
static struct store_mailbox *
folder(const char *name, int n)
{
	char			 dir[512];
	struct store_mailbox	*mb;

	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, name);
	mkmaildir(dir);
	put_some(dir, 0, n);
	mb = store_open(dir, "INBOX", 0);
	t_ok(mb != NULL);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), n);
	return mb;
}

/* A second handle (as another process would) sees message idx's flags. */
static uint32_t
flags_seen_by_other(const struct store_mailbox *mb, size_t idx)
{
	struct store_mailbox	*o = store_open(store_path(mb), "INBOX", STORE_O_NO_RECENT);
	uint32_t		 f;

	t_ok(o != NULL);
	t_int(store_sync(o, NULL, NULL), 0);
	f = tmsg(o, idx).flags;
	store_close(&o);
	return f;
}

static void
test_optimized_flags(void)
{
	struct store_mailbox	*mb;

	store_set_fsync(STORE_FSYNC_OPTIMIZED);
	mb = folder("opt", 5);
	/* The sync that handed out the UIDs made them durable. */
	count_reset();
	t_int(store_set_flags(mb, 1, STORE_FLAGS_ADD, STORE_F_SEEN, 0, 0), 0);
	t_int(count(), 0);
	t_ok(flags_seen_by_other(mb, 1) & STORE_F_SEEN);
	/* A batch of flag changes: none either. */
	count_reset();
	t_int(store_update_begin(mb), 0);
	t_int(store_set_flags(mb, 2, STORE_FLAGS_ADD, STORE_F_FLAGGED, 0, 0), 0);
	t_int(store_set_flags(mb, 3, STORE_FLAGS_ADD, STORE_F_FLAGGED, 0, 0), 0);
	t_int(store_update_end(mb), 0);
	t_int(count(), 0);
	t_ok(flags_seen_by_other(mb, 3) & STORE_F_FLAGGED);
	store_close(&mb);
}

static void
test_optimized_structural(void)
{
	struct store_mailbox	*mb;
	uint32_t		 uid, uids[1];
	int			 before;

	store_set_fsync(STORE_FSYNC_OPTIMIZED);
	mb = folder("opt2", 3);
	/* An append: the message, the log and cur/ are synced before APPENDUID. */
	count_reset();
	t_int(store_append(mb, "Subject: a\r\n\r\nb\r\n", 17, 0, 0, 0, &uid), 0);
	t_ok(n_fdatasync >= 1);
	t_ok(n_fsync >= 2);	/* the message file and cur/ */
	/* An expunge. */
	count_reset();
	uids[0] = tmsg(mb, 0).uid;
	t_int(store_expunge(mb, uids, 1), 0);
	t_ok(n_fdatasync >= 1);
	/* Mail delivered by another program gets UIDs at the next sync: durable. */
	put_some(store_path(mb), 10, 12);
	set_mtime(store_path(mb), "cur", time(NULL) - 7200);
	count_reset();
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_count(mb), 5);
	t_ok(n_fdatasync >= 1);
	/* And a flag change after all that: nothing again. */
	before = count();
	t_int(store_set_flags(mb, 0, STORE_FLAGS_ADD, STORE_F_ANSWERED, 0, 0), 0);
	t_int(count(), before);
	store_close(&mb);
}

static void
test_always(void)
{
	struct store_mailbox	*mb;

	store_set_fsync(STORE_FSYNC_ALWAYS);
	t_int(store_get_fsync(), STORE_FSYNC_ALWAYS);
	mb = folder("always", 3);
	count_reset();
	t_int(store_set_flags(mb, 0, STORE_FLAGS_ADD, STORE_F_SEEN, 0, 0), 0);
	t_ok(n_fdatasync >= 1);
	t_ok(n_fsync >= 1);	/* cur/, where the file was renamed */
	t_ok(flags_seen_by_other(mb, 0) & STORE_F_SEEN);
	store_close(&mb);
	store_set_fsync(STORE_FSYNC_OPTIMIZED);
}

/* STORE_O_NOFSYNC (tests, benchmarks) syncs nothing, whatever the mode. */
static void
test_nofsync(void)
{
	char			 dir[512];
	struct store_mailbox	*mb;
	uint32_t		 uid;

	store_set_fsync(STORE_FSYNC_ALWAYS);
	snprintf(dir, sizeof(dir), "%s/nofsync", tmpdir);
	mkmaildir(dir);
	put_some(dir, 0, 2);
	count_reset();
	mb = store_open(dir, "INBOX", STORE_O_NOFSYNC);
	t_int(store_sync(mb, NULL, NULL), 0);
	t_int(store_set_flags(mb, 0, STORE_FLAGS_ADD, STORE_F_SEEN, 0, 0), 0);
	t_int(store_append(mb, "Subject: a\r\n\r\nb\r\n", 17, 0, 0, 0, &uid), 0);
	t_int(count(), 0);
	store_close(&mb);
	store_set_fsync(STORE_FSYNC_OPTIMIZED);
}

int
main(void)
{
	t_begin("store_fsync");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lb-storefsync-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	t_int(store_get_fsync(), STORE_FSYNC_OPTIMIZED);
	test_optimized_flags();
	test_optimized_structural();
	test_always();
	test_nofsync();
	rm_tree(tmpdir);
	return t_end();
}
