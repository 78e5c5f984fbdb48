/*
 * `letterbox sendmail [-t] [-i] [-f SENDER] [-F NAME] [RCPT...]` (also
 * when the binary is invoked as "sendmail"): local submission for cron,
 * mailx and scripts.  The message on stdin is normalised to CRLF (a line
 * with a single "." ends it unless -i/-oi), missing From:, Date: and
 * Message-ID: are added, Bcc: is removed, and the message enters the same
 * durable queue as SMTP mail; the daemon picks it up by inotify.  Root and
 * the mail owner write the queue; any other user drops the message into
 * QDIR/maildrop through the setgid group (queue/drop.h, queue/pickup.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/util.h>

#include "cli/cli.h"
#include "lib/addr.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/str.h"
#include "lib/xmalloc.h"
#include "mime/rfc5322.h"
#include "queue/drop.h"
#include "spool/spool.h"

#define SENDMAIL_RCPT_MAX DROP_RCPT_MAX

struct rcpts {
	char	**v;
	size_t	 n;
};

static int
rcpt_add(struct rcpts *r, const char *addr, const char *origin)
{
	char		*full, *norm;
	const char	*err;

	if (r->n >= SENDMAIL_RCPT_MAX)
		return cli_err(EX_DATAERR, "too many recipients (at most %d)", SENDMAIL_RCPT_MAX);
	full = strchr(addr, '@') ? xstrdup(addr) : xasprintf("%s@%s", addr, origin);
	if (addr_normalize(full, strlen(full), true, &norm, &err) < 0) {
		int rc = cli_err(EX_DATAERR, "bad recipient address \"%s\": %s", addr, err);
		free(full);
		return rc;
	}
	free(full);
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i], norm) == 0) {	/* named twice (-t with To: and Bcc:): one copy */
			free(norm);
			return 0;
		}
	r->v = xreallocarray(r->v, r->n + 1, sizeof(char *));
	r->v[r->n++] = norm;
	return 0;
}

/*
 * Read stdin into msg with CRLF line endings; stops at a lone "." unless
 * ignore_dots.  A first line "From " (a Unix mbox separator, not a header)
 * is dropped, as Postfix's sendmail does.
 */
static int
read_message(struct buf *msg, bool ignore_dots)
{
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;
	bool	 first = true;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		size_t l = (size_t)n;

		while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
			l--;
		if (first && l >= 5 && memcmp(line, "From ", 5) == 0) {
			first = false;
			continue;
		}
		first = false;
		if (!ignore_dots && l == 1 && line[0] == '.')
			break;
		if (buf_add(msg, line, l) < 0 || buf_add(msg, "\r\n", 2) < 0) {
			free(line);
			return cli_err(EX_DATAERR, "message larger than message_size_limit");
		}
	}
	free(line);
	return 0;
}

/* RFC 5322 3.6.8: a field name is printable US-ASCII but ':', then ':'. */
static bool
is_field_line(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && p[i] != ':'; i++)
		if ((unsigned char)p[i] <= 32 || (unsigned char)p[i] >= 127)
			return false;
	return i > 0 && i < n;
}

/*
 * Split msg (CRLF lines) into its header block [0, *hlen_r) and body
 * [*body_r, len).  The header ends at the empty line (which belongs to
 * neither) or at the first line that is neither a field nor a continuation
 * (that line starts the body, as in Postfix's cleanup).
 */
static void
split_message(const char *d, size_t len, size_t *hlen_r, size_t *body_r)
{
	size_t		 pos = 0, eol;
	const char	*nl;

	while (pos < len) {
		nl = memchr(d + pos, '\n', len - pos);
		eol = nl ? (size_t)(nl - d) + 1 : len;
		if (eol - pos <= 2 && d[pos] == '\r') {		/* the empty line */
			*hlen_r = pos;
			*body_r = eol;
			return;
		}
		if (!((d[pos] == ' ' || d[pos] == '\t') && pos > 0) && !is_field_line(d + pos, eol - pos)) {
			*hlen_r = *body_r = pos;
			return;
		}
		pos = eol;
	}
	*hlen_r = *body_r = len;
}

/* -t: recipients from To/Cc/Bcc. */
static int
rcpts_from_headers(const struct buf *msg, struct rcpts *r, const char *origin)
{
	struct hdr_iter		it;
	struct hdr_field	f;
	size_t			hl, body;

	split_message(msg->data, msg->len, &hl, &body);
	hdr_iter_init(&it, msg->data, hl);
	while (hdr_next(&it, &f) == 1) {
		struct hdr_addr	*a;
		size_t		 na, i;
		int		 rc = 0;

		if (!str_ieq(f.name, f.name_len, "To") && !str_ieq(f.name, f.name_len, "Cc") &&
		    !str_ieq(f.name, f.name_len, "Bcc"))
			continue;
		na = hdr_parse_addresses(f.value, f.value_len, SENDMAIL_RCPT_MAX, &a);
		for (i = 0; i < na && rc == 0; i++) {
			char *addr;

			if (a[i].mailbox == NULL || a[i].host == NULL)
				continue;	/* group markers */
			addr = strcmp(a[i].host, "MISSING_DOMAIN") == 0 ? xstrdup(a[i].mailbox) :
			    xasprintf("%s@%s", a[i].mailbox, a[i].host);
			rc = rcpt_add(r, addr, origin);
			free(addr);
		}
		hdr_addrs_free(&a, na);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * The header block without Bcc:, plus the headers a local submission
 * lacks, the empty line, then the body exactly as read.
 */
static void
fix_headers(const struct buf *msg, struct buf *out, const char *sender, const char *fullname,
    const char *host)
{
	struct hdr_iter		it;
	struct hdr_field	f;
	size_t			hl, body;
	bool			have_from = false, have_date = false, have_mid = false;

	split_message(msg->data, msg->len, &hl, &body);
	hdr_iter_init(&it, msg->data, hl);
	while (hdr_next(&it, &f) == 1) {
		if (str_ieq(f.name, f.name_len, "Bcc"))
			continue;
		have_from |= str_ieq(f.name, f.name_len, "From");
		have_date |= str_ieq(f.name, f.name_len, "Date");
		have_mid |= str_ieq(f.name, f.name_len, "Message-ID");
		(void)!buf_add(out, msg->data + f.off, f.len);
	}
	if (!have_from) {
		if (fullname != NULL)
			buf_addf(out, "From: %s <%s>\r\n", fullname, sender);
		else
			buf_addf(out, "From: %s\r\n", sender);
	}
	if (!have_date) {
		char	 d[64];
		time_t	 now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(d, sizeof(d), "%a, %d %b %Y %H:%M:%S %z", &tm);
		buf_addf(out, "Date: %s\r\n", d);
	}
	if (!have_mid) {
		unsigned char r[8];

		evutil_secure_rng_get_bytes(r, sizeof(r));
		buf_addf(out, "Message-ID: <%ld.%02x%02x%02x%02x%02x%02x%02x%02x@%s>\r\n", (long)time(NULL),
		    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], host);
	}
	(void)!buf_add(out, "\r\n", 2);
	(void)!buf_add(out, msg->data + body, msg->len - body);
}

/*
 * Hand the message to the daemon through QDIR/maildrop (a user who cannot
 * write the queue): the file is written under a '.' name, then renamed, so
 * pickup never sees half a file.  The setgid group is held only around the
 * open and the rename, and given up for good afterwards.
 */
static int
submit_maildrop(const struct conf *c, const struct drop_msg *m)
{
	const char	*qdir = conf_str(c, CK_QUEUE_DIRECTORY);
	unsigned char	 r[8];
	char		 name[64], *tmp, *dst;
	int		 fd, saved, rc = 0;

	evutil_secure_rng_get_bytes(r, sizeof(r));
	snprintf(name, sizeof(name), "%ld.%ld.%02x%02x%02x%02x%02x%02x%02x%02x", (long)time(NULL),
	    (long)getpid(), r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
	tmp = xasprintf("%s/%s/.%s", qdir, DROP_SUBDIR, name);
	dst = xasprintf("%s/%s/%s", qdir, DROP_SUBDIR, name);
	cli_priv_enter();
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	saved = errno;
	cli_priv_leave();
	if (fd < 0) {
		rc = cli_err(EX_TEMPFAIL, "cannot submit to %s/%s: %s (users other than root and the"
		    " mail owner submit through the instance's setgid bin/sendmail)", qdir, DROP_SUBDIR,
		    strerror(saved));
		goto out;
	}
	/* Whatever the umask: the daemon reads it as "other". */
	if (fchmod(fd, 0644) != 0 || drop_write(fd, m) != 0 || fsync(fd) != 0) {
		rc = cli_err(EX_TEMPFAIL, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		cli_priv_enter();
		unlink(tmp);
		cli_priv_leave();
		goto out;
	}
	close(fd);
	cli_priv_enter();
	if (rename(tmp, dst) != 0) {
		rc = cli_err(EX_TEMPFAIL, "cannot submit %s: %s", dst, strerror(errno));
		unlink(tmp);
	}
	cli_priv_leave();
out:
	cli_priv_drop();
	free(tmp);
	free(dst);
	return rc;
}

/* Queue it: directly when we can write the queue (root as the mail owner, or the owner itself). */
static int
submit(const struct conf *c, uid_t uid, bool direct, const char *sender, const struct rcpts *r,
    const struct buf *msg)
{
	struct drop_msg	 m = { sender, r->v, r->n, msg->data, msg->len };
	struct passwd	*pw = getpwuid(uid);
	char		 qid[SPOOL_QID_SIZE];

	if (!direct)
		return submit_maildrop(c, &m);
	if (drop_enqueue(conf_str(c, CK_QUEUE_DIRECTORY), conf_str(c, CK_MYHOSTNAME), uid,
	    pw ? pw->pw_name : NULL, &m, qid) < 0)
		return cli_err(EX_TEMPFAIL, "cannot queue the message in %s: %s",
		    conf_str(c, CK_QUEUE_DIRECTORY), strerror(errno));
	return 0;
}

/* Sendmail options; *i_r is the first recipient.  0 or an exit code. */
static int
parse_opts(int argc, char **argv, int *i_r, const char **from, const char **fullname,
    bool *from_headers, bool *ignore_dots)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if (strcmp(a, "-t") == 0)
			*from_headers = true;
		else if (strcmp(a, "-i") == 0 || strcmp(a, "-oi") == 0)
			*ignore_dots = true;
		else if ((strcmp(a, "-f") == 0 || strcmp(a, "-r") == 0) && i + 1 < argc)
			*from = argv[++i];
		else if ((a[1] == 'f' || a[1] == 'r') && a[2])
			*from = a + 2;
		else if (strcmp(a, "-F") == 0 && i + 1 < argc)
			*fullname = argv[++i];
		else if (a[1] == 'F' && a[2])
			*fullname = a + 2;		/* cron: -FCronDaemon */
		else if ((strcmp(a, "-B") == 0 || strcmp(a, "-N") == 0 || strcmp(a, "-R") == 0 ||
		    strcmp(a, "-V") == 0) && i + 1 < argc)
			i++;		/* body type, DSN options: the queue decides */
		else if (a[1] == 'B' || a[1] == 'N' || a[1] == 'R' || a[1] == 'V' || a[1] == 'o' ||
		    strcmp(a, "-bm") == 0 || strcmp(a, "-v") == 0 || strcmp(a, "-U") == 0)
			continue;	/* sendmail options that do not apply (-B8BITMIME, -oem) */
		else
			return cli_err(EX_USAGE, "sendmail: unknown option %s", a);
	}
	*i_r = i;
	return 0;
}

int
cmd_sendmail(struct cli *c, int argc, char **argv)
{
	struct conf	*conf;
	struct rcpts	 r = { NULL, 0 };
	struct buf	 msg, fixed;
	const char	*from = NULL, *fullname = NULL;
	char		*sender = NULL;
	bool		 from_headers = false, ignore_dots = false, direct;
	int		 i = 1, rc;
	uid_t		 uid = getuid();	/* the submitter, before any switch */
	struct passwd	*pw;

	if ((rc = parse_opts(argc, argv, &i, &from, &fullname, &from_headers, &ignore_dots)) != 0)
		return rc;
	if ((conf = cli_conf(c)) == NULL)
		return EX_CONFIG;
	pw = getpwuid(uid);
	if (from == NULL)
		sender = xasprintf("%s@%s", pw ? pw->pw_name : "nobody", conf_str(conf, CK_MYORIGIN));
	else if (*from == '\0' || strcmp(from, "<>") == 0)
		sender = xstrdup("");
	else
		sender = strchr(from, '@') ? xstrdup(from) : xasprintf("%s@%s", from, conf_str(conf, CK_MYORIGIN));
	/* Root queues as the mail owner; so does the owner itself (an instance made without root). */
	direct = geteuid() == 0 || access(conf_str(conf, CK_QUEUE_DIRECTORY), W_OK) == 0;
	if (geteuid() == 0 && cli_become_owner(conf) < 0) {
		free(sender);
		return EX_NOPERM;
	}
	buf_init(&msg, (size_t)conf_int(conf, CK_MESSAGE_SIZE_LIMIT));
	buf_init(&fixed, (size_t)conf_int(conf, CK_MESSAGE_SIZE_LIMIT) + 65536);
	for (; i < argc && rc == 0; i++)
		rc = rcpt_add(&r, argv[i], conf_str(conf, CK_MYORIGIN));
	if (rc == 0)
		rc = read_message(&msg, ignore_dots);
	if (rc == 0 && from_headers)
		rc = rcpts_from_headers(&msg, &r, conf_str(conf, CK_MYORIGIN));
	if (rc == 0 && r.n == 0)
		rc = cli_err(EX_USAGE, "sendmail: no recipients (give them as arguments or use -t)");
	if (rc == 0) {
		fix_headers(&msg, &fixed, sender[0] ? sender : "MAILER-DAEMON", fullname,
		    conf_str(conf, CK_MYHOSTNAME));
		rc = submit(conf, uid, direct, sender, &r, &fixed);
	}
	for (size_t k = 0; k < r.n; k++)
		free(r.v[k]);
	free(r.v);
	buf_clear(&msg);
	buf_clear(&fixed);
	free(sender);
	return rc;
}
