/*
 * `letterbox sendmail [-t] [-i] [-f SENDER] [-F NAME] [RCPT...]` (also
 * when the binary is invoked as "sendmail"): local submission for cron,
 * mailx and scripts.  The message on stdin is normalised to CRLF (a line
 * with a single "." ends it unless -i/-oi), missing From:, Date: and
 * Message-ID: are added, Bcc: is removed, and the message enters the same
 * durable queue as SMTP mail; the daemon picks it up by inotify.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "spool/spool.h"

#define SENDMAIL_RCPT_MAX 1000

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
	r->v = xreallocarray(r->v, r->n + 1, sizeof(char *));
	r->v[r->n++] = norm;
	return 0;
}

/* Read stdin into msg with CRLF line endings; stops at a lone "." unless ignore_dots. */
static int
read_message(struct buf *msg, bool ignore_dots)
{
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		size_t l = (size_t)n;

		while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
			l--;
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

/* -t: recipients from To/Cc/Bcc. */
static int
rcpts_from_headers(const struct buf *msg, struct rcpts *r, const char *origin)
{
	struct hdr_iter		it;
	struct hdr_field	f;
	size_t			hl = hdr_block_len(msg->data, msg->len);

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

/* The header block without Bcc:, plus the headers a local submission lacks. */
static void
fix_headers(const struct buf *msg, struct buf *out, const char *sender, const char *fullname,
    const char *host)
{
	struct hdr_iter		it;
	struct hdr_field	f;
	size_t			hl = hdr_block_len(msg->data, msg->len);
	bool			have_from = false, have_date = false, have_mid = false;

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
	/* the empty line and the body */
	if (hl < msg->len || (hl > 0 && hl == msg->len && msg->len >= 2))
		(void)!buf_add(out, msg->data + hl, msg->len - hl);
	if (hl == msg->len && (hl < 2 || msg->data[hl - 1] != '\n' || msg->data[hl - 2] != '\n'))
		(void)!buf_add(out, "\r\n", 2);
}

static int
enqueue(const struct conf *c, const char *sender, const struct rcpts *r, const struct buf *msg)
{
	struct spool_writer	*w;
	struct spool_envelope	 env;
	struct spool_rcpt	*rc = xcalloc(r->n, sizeof(*rc));
	struct passwd		*pw = getpwuid(getuid());
	char			 qid[SPOOL_QID_SIZE], date[64];
	struct buf		 hdr;
	time_t			 now = time(NULL);
	struct tm		 tm;
	size_t			 i;
	int			 ok;

	if ((w = spool_create(conf_str(c, "queue_directory"))) == NULL) {
		free(rc);
		return cli_err(EX_TEMPFAIL, "cannot create a queue file in %s: %s",
		    conf_str(c, "queue_directory"), strerror(errno));
	}
	memset(&env, 0, sizeof(env));
	env.sender = sender;
	env.body = SPOOL_BODY_8BITMIME;
	env.origin = "sendmail";
	env.client_addr = "127.0.0.1";
	env.auth_user = pw ? pw->pw_name : NULL;
	for (i = 0; i < r->n; i++) {
		rc[i].addr = r->v[i];
		rc[i].parent = -1;
	}
	env.rcpts = rc;
	env.nrcpt = r->n;
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm);
	buf_init(&hdr, 4096);
	buf_addf(&hdr, "Received: by %s (letterbox, from userid %ld)\r\n\tid %s; %s\r\n",
	    conf_str(c, "myhostname"), (long)getuid(), spool_writer_qid(w), date);
	ok = spool_write_envelope(w, &env) == 0 && spool_write(w, hdr.data, hdr.len) == 0 &&
	    spool_write(w, msg->data, msg->len) == 0;
	buf_clear(&hdr);
	free(rc);
	if (!ok || spool_commit(&w, NULL, qid) < 0) {
		spool_abort(&w);
		return cli_err(EX_TEMPFAIL, "cannot queue the message: %s", strerror(errno));
	}
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
	bool		 from_headers = false, ignore_dots = false;
	int		 i, rc = 0;
	struct passwd	*pw;

	if ((conf = cli_conf(c)) == NULL)
		return EX_CONFIG;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "-t") == 0)
			from_headers = true;
		else if (strcmp(argv[i], "-i") == 0 || strcmp(argv[i], "-oi") == 0)
			ignore_dots = true;
		else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strncmp(argv[i], "-f", 2) == 0 && argv[i][2])
			from = argv[i] + 2;
		else if (strcmp(argv[i], "-F") == 0 && i + 1 < argc)
			fullname = argv[++i];
		else if (strncmp(argv[i], "-o", 2) == 0 || strcmp(argv[i], "-bm") == 0 ||
		    strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "-U") == 0)
			continue;	/* sendmail options that do not apply */
		else
			return cli_err(EX_USAGE, "sendmail: unknown option %s", argv[i]);
	}
	pw = getpwuid(getuid());
	if (from == NULL)
		sender = xasprintf("%s@%s", pw ? pw->pw_name : "nobody", conf_str(conf, "myorigin"));
	else if (*from == '\0' || strcmp(from, "<>") == 0)
		sender = xstrdup("");
	else
		sender = strchr(from, '@') ? xstrdup(from) : xasprintf("%s@%s", from, conf_str(conf, "myorigin"));
	if (cli_become_owner(conf) < 0) {
		free(sender);
		return EX_NOPERM;
	}
	buf_init(&msg, (size_t)conf_int(conf, "message_size_limit"));
	buf_init(&fixed, (size_t)conf_int(conf, "message_size_limit") + 65536);
	for (; i < argc && rc == 0; i++)
		rc = rcpt_add(&r, argv[i], conf_str(conf, "myorigin"));
	if (rc == 0)
		rc = read_message(&msg, ignore_dots);
	if (rc == 0 && from_headers)
		rc = rcpts_from_headers(&msg, &r, conf_str(conf, "myorigin"));
	if (rc == 0 && r.n == 0)
		rc = cli_err(EX_USAGE, "sendmail: no recipients (give them as arguments or use -t)");
	if (rc == 0) {
		fix_headers(&msg, &fixed, sender[0] ? sender : "MAILER-DAEMON", fullname,
		    conf_str(conf, "myhostname"));
		rc = enqueue(conf, sender, &r, &fixed);
	}
	for (size_t k = 0; k < r.n; k++)
		free(r.v[k]);
	free(r.v);
	buf_clear(&msg);
	buf_clear(&fixed);
	free(sender);
	return rc;
}
