/*
 * Logging to stderr and/or syslog.  Each event is formatted into one
 * buffer and emitted with a single write so lines from worker threads
 * never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

static enum log_dest	 log_dest = LOG_TO_STDERR;
static bool		 log_dbg;
static const char	*log_ident = "letterbox";

void
log_init(const char *ident, enum log_dest dest, bool debug)
{
	log_ident = ident;
	log_dest = dest;
	log_dbg = debug;
	if (dest != LOG_TO_STDERR)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_debug(bool debug)
{
	log_dbg = debug;
}

bool
log_debug_enabled(void)
{
	return log_dbg;
}

static void
log_emit(int prio, const char *level, const char *fmt, va_list ap, const char *err)
{
	char		 line[2048];
	int		 n;
	size_t		 len;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	if (err != NULL)
		len += (size_t)snprintf(line + len, sizeof(line) - len, ": %s", err) ;
	if (len >= sizeof(line))
		len = sizeof(line) - 1;

	if (log_dest != LOG_TO_STDERR)
		syslog(prio, "%s %s", level, line);
	if (log_dest != LOG_TO_SYSLOG) {
		char		 out[2200];
		struct timespec	 ts;
		struct tm	 tm;
		char		 stamp[32];
		int		 m;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		m = snprintf(out, sizeof(out), "%s.%03ldZ %s[%ld]: %s %.*s\n", stamp,
		    ts.tv_nsec / 1000000, log_ident, (long)getpid(), level, (int)len, line);
		if (m > 0) {
			size_t olen = (size_t)m < sizeof(out) ? (size_t)m : sizeof(out) - 1;
			if (olen == sizeof(out) - 1)
				out[olen - 1] = '\n';
			(void)!write(STDERR_FILENO, out, olen);
		}
	}
}

#define LOG_FN(name, prio, level)				\
void								\
name(const char *fmt, ...)					\
{								\
	va_list ap;						\
	va_start(ap, fmt);					\
	log_emit(prio, level, fmt, ap, NULL);			\
	va_end(ap);						\
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_dbg)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, "debug", fmt, ap, NULL);
	va_end(ap);
}

LOG_FN(log_info, LOG_INFO, "info")
LOG_FN(log_warnx, LOG_WARNING, "warning")

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	char	 err[128];
	int	 saved = errno;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, "warning", fmt, ap, strerror_r(saved, err, sizeof(err)));
	va_end(ap);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	char	 err[128];

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal", fmt, ap, strerror_r(errno, err, sizeof(err)));
	va_end(ap);
	exit(70);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal", fmt, ap, NULL);
	va_end(ap);
	exit(70);
}

char *
log_escape(char *dst, size_t dstsz, const void *src, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*s = src;
	size_t			 o = 0, i;

	if (dstsz == 0)
		return dst;
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? 1 : 4;

		if (o + need + 4 > dstsz) {	/* room for "..." and NUL */
			if (o + 3 < dstsz) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}
