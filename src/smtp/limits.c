/*
 * SMTP server limits that are policy rather than plumbing (issue 10):
 *  - the duplicate filter on envelope recipients (Postfix's
 *    duplicate_filter_limit: one copy per address, the first RCPT's DSN
 *    parameters win);
 *  - error throttling: once a session has made smtpd_soft_error_limit
 *    errors, every command waits smtpd_error_sleep_time before it is
 *    answered (Postfix smtpd_chat: "sleep-on-anything"); the hard limit
 *    closes (server.c counts the errors); the core holds the input
 *    meanwhile (session_delay);
 *  - an anvil-like per-client rate of unknown-recipient rejections, with
 *    the log line contrib/fail2ban matches;
 *  - queue_minfree: refuse MAIL with 452 4.3.1 before the disk is full.
 * Runs on the event loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <time.h>

#include <openssl/crypto.h>

#include "auth/throttle.h"
#include "lib/addr.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "net/server.h"
#include "smtp/session.h"

#define MINFREE_FLOOR	(20 * 1024 * 1024)	/* issue 10: at least 20 MB */

char *
smtpd_rcpt_key(const char *addr)
{
	char *k;

	/* Quoting, domain case and local-part case (unless configured) fold. */
	k = addr_lookup_key(addr, conf_bool(conf_current(), CK_LOCALPART_CASE_SENSITIVE));
	if (k == NULL) {	/* <postmaster> without a domain */
		k = xstrdup(addr);
		str_lower(k);
	}
	return k;
}

bool
smtpd_rcpt_seen(const struct smtpd_session *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->txn.nrcpt; i++)
		if (strcmp(s->txn.rcpts[i].key, key) == 0)
			return true;
	return false;
}

/* ---- error throttling ---- */

/* The sleep is over: run the held command. */
static void
delayed_dispatch(struct session *ss, void *arg)
{
	struct smtpd_session	*s = arg;
	char			*line = s->held;
	size_t			 len = strlen(line);

	s->held = NULL;
	s->delayed = true;
	smtpd_dispatch(s, line, len);
	s->delayed = false;
	/* It may have been AUTH with an initial response. */
	OPENSSL_cleanse(line, len);
	free(line);
}

bool
smtpd_error_delay(struct smtpd_session *s, const char *line, size_t len)
{
	const struct conf	*c = conf_current();
	int64_t			 sleep_s = conf_int(c, CK_SMTPD_ERROR_SLEEP_TIME);

	if (s->delayed || sleep_s == 0 || s->errors < (unsigned)conf_int(c, CK_SMTPD_SOFT_ERROR_LIMIT))
		return false;
	if (len == 4 && strncasecmp(line, "QUIT", 4) == 0)
		return false;	/* QUIT is not delayed */
	s->held = xstrndup(line, len);
	session_delay(s->ss, (unsigned)sleep_s * 1000, delayed_dispatch, s);
	return true;
}

/* ---- unknown recipients per client ---- */

static bool
rate_exceeded(struct smtpd_session *s, unsigned n)
{
	/* contrib/fail2ban/filter.d/letterbox.conf matches this line. */
	log_info("smtpd sid=%s: unknown recipient rate exceeded rip=%s count=%u", s->sid, s->ss->addr, n);
	smtpd_reply(s, "421 4.7.0 %s Error: too many unknown recipients from [%s]; try again later",
	    conf_str(conf_current(), CK_MYHOSTNAME), s->ss->addr);
	smtpd_close(s);
	return true;
}

static int64_t
unknown_limit(const struct smtpd_session *s)
{
	const struct conf *c = conf_current();

	if (s->in_mynetworks)
		return 0;	/* Postfix: smtpd_client_event_limit_exceptions = $mynetworks */
	if (s->d->unknown_rcpts == NULL)
		s->d->unknown_rcpts = throttle_new(THROTTLE_MAX_ENTRIES, (time_t)conf_int(c, CK_ANVIL_RATE_TIME_UNIT));
	return conf_int(c, CK_SMTPD_CLIENT_UNKNOWN_RECIPIENT_LIMIT);
}

bool
smtpd_unknown_rcpt(struct smtpd_session *s)
{
	int64_t		 limit = unknown_limit(s);
	time_t		 now = time(NULL);
	unsigned	 n;

	if (limit == 0)
		return false;
	throttle_fail(s->d->unknown_rcpts, s->ss->addr, now, 0);
	n = throttle_failures(s->d->unknown_rcpts, s->ss->addr, now);
	return n > (unsigned)limit ? rate_exceeded(s, n) : false;
}

bool
smtpd_unknown_rcpt_blocked(struct smtpd_session *s)
{
	int64_t		 limit = unknown_limit(s);
	unsigned	 n;

	if (limit == 0)
		return false;
	n = throttle_failures(s->d->unknown_rcpts, s->ss->addr, time(NULL));
	return n >= (unsigned)limit ? rate_exceeded(s, n) : false;
}

/* ---- queue_minfree ---- */

uint64_t
smtpd_minfree(const struct conf *c)
{
	uint64_t v = (uint64_t)conf_int(c, CK_QUEUE_MINFREE);

	if (v == 0) {
		v = 2 * (uint64_t)conf_int(c, CK_MESSAGE_SIZE_LIMIT);
		if (v < MINFREE_FLOOR)
			v = MINFREE_FLOOR;
	}
	return v;
}

bool
smtpd_queue_space_ok(const struct smtpd_session *s, uint64_t declared)
{
	const struct conf	*c = conf_current();
	struct statvfs		 st;
	uint64_t		 avail;

	/* statvfs of a local directory: cheap enough for the event loop. */
	if (statvfs(conf_str(c, CK_QUEUE_DIRECTORY), &st) < 0) {
		log_warn("smtpd sid=%s: statvfs %s", s->sid, conf_str(c, CK_QUEUE_DIRECTORY));
		return true;	/* the write itself will tell */
	}
	avail = (uint64_t)st.f_bavail * (uint64_t)st.f_frsize;
	if (avail >= smtpd_minfree(c) && avail - smtpd_minfree(c) >= declared)
		return true;
	log_warnx("smtpd sid=%s: queue file system low: %llu bytes free, queue_minfree %llu, SIZE=%llu",
	    s->sid, (unsigned long long)avail, (unsigned long long)smtpd_minfree(c),
	    (unsigned long long)declared);
	return false;
}
