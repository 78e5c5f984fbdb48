/*
 * Local submission (the `sendmail` verb) into the queue, and the maildrop
 * file format that carries it from an unprivileged user to the daemon, as
 * Postfix's postdrop/pickup do.  Root and the mail owner queue directly
 * (drop_enqueue); anyone else writes a maildrop file (drop_write) through
 * the setgid group, and the daemon's pickup parses it (drop_parse), trusting
 * only the file's owner uid for the "from userid N" it records.
 */
#ifndef LB_QUEUE_DROP_H
#define LB_QUEUE_DROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "spool/spool.h"

#define DROP_SUBDIR	"maildrop"	/* below queue_directory: mode 1730 owner:setgid_group */
#define DROP_RCPT_MAX	1000

/* A local submission.  The caller owns every string. */
struct drop_msg {
	const char	*sender;	/* "" = null sender */
	char		**rcpts;	/* normalised addresses */
	size_t		 nrcpt;
	const char	*data;		/* the message, CRLF lines, headers already fixed */
	size_t		 len;
};

/*
 * Queue m as a local submission from uid (user: its login name or NULL):
 * a Received: "by HOST (letterbox, from userid UID)" header, origin
 * "sendmail".  Blocks on fsync.  Returns 0 with the ID in qid_r, or -1 with
 * errno (EINVAL for a bad envelope).
 */
int	drop_enqueue(const char *qdir, const char *myhostname, uid_t uid, const char *user,
	    const struct drop_msg *m, char qid_r[SPOOL_QID_SIZE]);

/* Write m to fd in the maildrop format.  0 or -1/errno. */
int	drop_write(int fd, const struct drop_msg *m);

/*
 * Parse maildrop file bytes (untrusted: any local user wrote them).  On 0,
 * m_r->rcpts and each address in it and m_r->sender are allocated (free
 * with drop_msg_clear), m_r->data points into data.  On -1, *err_r says why
 * (static text) and nothing is allocated.
 */
int	drop_parse(const char *data, size_t len, struct drop_msg *m_r, const char **err_r);
void	drop_msg_clear(struct drop_msg *m);

#endif
