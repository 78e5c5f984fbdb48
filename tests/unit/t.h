/*
 * Tiny unit-test harness (STYLE.md §11).  One executable per module:
 *	int main(void) { t_begin("conf"); ... t_ok(x == 1); t_str(a, "b"); return t_end(); }
 * Each check prints only on failure; t_end() prints "unit MODULE: N passed, M failed"
 * and returns non-zero if anything failed.  scripts/run-tests.sh adds up the lines.
 */
#ifndef LB_T_H
#define LB_T_H

#include <stdio.h>
#include <string.h>

static const char	*t_module;
static int		 t_pass, t_fail;

#define t_ok(expr) t_check_((expr) ? 1 : 0, #expr, __FILE__, __LINE__)
#define t_str(a, b) t_str_((a), (b), #a, __FILE__, __LINE__)
#define t_int(a, b) t_int_((long long)(a), (long long)(b), #a, __FILE__, __LINE__)

static inline void
t_begin(const char *module)
{
	t_module = module;
	t_pass = t_fail = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static inline int
t_check_(int ok, const char *what, const char *file, int line)
{
	if (ok)
		t_pass++;
	else {
		t_fail++;
		printf("FAIL %s:%d: %s\n", file, line, what);
	}
	return ok;
}

static inline int
t_str_(const char *a, const char *b, const char *what, const char *file, int line)
{
	int ok = (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);

	if (ok)
		t_pass++;
	else {
		t_fail++;
		printf("FAIL %s:%d: %s: got \"%s\", want \"%s\"\n", file, line, what,
		    a ? a : "(null)", b ? b : "(null)");
	}
	return ok;
}

static inline int
t_int_(long long a, long long b, const char *what, const char *file, int line)
{
	if (a == b)
		t_pass++;
	else {
		t_fail++;
		printf("FAIL %s:%d: %s: got %lld, want %lld\n", file, line, what, a, b);
	}
	return a == b;
}

static inline int
t_end(void)
{
	printf("unit %s: %d passed, %d failed\n", t_module, t_pass, t_fail);
	return t_fail != 0;
}

#endif
