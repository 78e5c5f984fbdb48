/*
 * One line per event, key=value (STYLE.md §8), to stderr or syslog.
 * Callers write the component and ids themselves:
 *	log_info("smtpd sid=%s: connect addr=%s", sid, addr);
 * Client-supplied text must go through log_escape() first.
 * Thread-safe: each line is written with one write(2) / syslog(3) call.
 */
#ifndef LB_LOG_H
#define LB_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_dest { LOG_TO_STDERR, LOG_TO_SYSLOG, LOG_TO_BOTH };

void	log_init(const char *ident, enum log_dest dest, bool debug);
void	log_set_debug(bool debug);
bool	log_debug_enabled(void);

void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)". */
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Escape untrusted bytes for a log line: printable ASCII stays, everything
 * else (controls, DEL, non-ASCII, '"' and '\\') becomes \xNN; output is cut at
 * dstsz-1 bytes with "..." marking truncation.  Returns dst.
 */
char	*log_escape(char *dst, size_t dstsz, const void *src, size_t len);

#endif
