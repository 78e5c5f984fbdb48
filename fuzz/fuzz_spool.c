/*
 * libFuzzer harness for the spool reader (src/spool/spool.h): a queue file
 * and its status file are written from the input (split at the first
 * "\n~~~\n"; the envelope lines came from the network once, and a crash can
 * leave any torn file) and opened with spool_open(); on success every
 * recipient and string of the envelope is read, a recipient is added and a
 * state recorded (exercising the status writer on the parsed data).
 * A corrupt file must give EBADMSG and be moved aside, never crash.
 * Files live under a private temp directory, reused across runs and
 * removed at exit (libFuzzer exits through exit() after -runs or
 * -max_total_time; a crash keeps it for the post-mortem).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "spool/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char	qdir[64];
static char	qid[SPOOL_QID_SIZE];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);	/* best effort: go on */
	return 0;
}

static void
rm_qdir(void)
{
	if (qdir[0] != '\0')
		(void)nftw(qdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int
write_file(const char *path, const uint8_t *p, size_t n)
{
	int	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t	w;

	if (fd < 0)
		return -1;
	while (n > 0) {
		if ((w = write(fd, p, n)) <= 0) {
			close(fd);
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return close(fd);
}

static void
touch(const char *s)
{
	volatile size_t n;

	if (s != NULL)
		n = strlen(s);
	(void)n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	 sep[] = "\n~~~\n";
	struct spool_msg	*m = NULL;
	const uint8_t		*st = NULL;
	char			 path[128];
	size_t			 qlen = size, i, idx;

	if (qdir[0] == '\0') {
		snprintf(qdir, sizeof(qdir), "/tmp/fuzz_spool.XXXXXX");
		if (mkdtemp(qdir) == NULL || spool_recover(qdir, 0) < 0)
			abort();
		atexit(rm_qdir);
		spool_qid_new(qid);
		/* Warnings for corrupt files are expected: keep stderr for crashes. */
		log_init("fuzz_spool", LOG_TO_SYSLOG, false);
	}
	if (size > 1 << 20)
		return 0;
	if (size >= sizeof(sep) - 1)
		for (i = 0; i + sizeof(sep) - 1 <= size; i++)
			if (memcmp(data + i, sep, sizeof(sep) - 1) == 0) {
				qlen = i + 1;
				st = data + i + sizeof(sep) - 1;
				break;
			}
	snprintf(path, sizeof(path), "%s/queue/%s", qdir, qid);
	if (write_file(path, data, qlen) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/queue/%s.st", qdir, qid);
	if (st != NULL) {
		if (write_file(path, st, size - (size_t)(st - data)) < 0)
			abort();
	} else
		(void)unlink(path);

	if (spool_open(qdir, qid, &m) == 0) {
		touch(m->env.sender);
		touch(m->env.envid);
		touch(m->env.auth_user);
		touch(m->env.helo);
		touch(m->env.client_addr);
		touch(m->env.client_name);
		touch(m->env.origin);
		if (m->env.nrcpt == 0 || m->msg_offset < 0 || m->msg_len < 0 ||
		    (size_t)(m->msg_offset + m->msg_len) > qlen)
			abort();
		for (i = 0; i < m->env.nrcpt; i++) {
			touch(m->env.rcpts[i].addr);
			touch(m->env.rcpts[i].orig);
			touch(m->env.rcpts[i].orcpt);
			touch(m->env.rcpts[i].reason);
			if (m->env.rcpts[i].parent >= (int)m->env.nrcpt)
				abort();
		}
		(void)spool_msg_done(m);
		if (spool_rcpt_add(m, 0, "x@example.com", &idx) == 0)
			(void)spool_rcpt_set(m, idx, SPOOL_R_DEFERRED, 1, "fuzz\nreason");
		spool_msg_free(&m);
	} else if (errno == EBADMSG) {
		/* moved to corrupt/: remove it so the directory does not grow */
		snprintf(path, sizeof(path), "%s/corrupt/%s", qdir, qid);
		(void)unlink(path);
		snprintf(path, sizeof(path), "%s/corrupt/%s.st", qdir, qid);
		(void)unlink(path);
	}
	return 0;
}
