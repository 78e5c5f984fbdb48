/* Raising RLIMIT_NOFILE; see fdlimit.h. */
#include <sys/resource.h>

#include "lib/log.h"
#include "net/fdlimit.h"

unsigned
net_fd_limit_raise(unsigned cap)
{
	struct rlimit	rl;
	rlim_t		want;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("serve: getrlimit(RLIMIT_NOFILE)");
		return 0;
	}
	want = rl.rlim_max;
	if (cap > 0 && (want == RLIM_INFINITY || want > cap))
		want = cap;
	if (want != rl.rlim_cur) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			log_warn("serve: setrlimit(RLIMIT_NOFILE, %llu)", (unsigned long long)want);
			rl.rlim_cur = old;
		}
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)4000000000u)
		return 0;
	return (unsigned)rl.rlim_cur;
}
