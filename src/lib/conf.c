/*
 * Config file parser (Postfix main.cf syntax) and typed access; see conf.h.
 * Raw values are collected first, then every value is expanded and checked,
 * so `$key` may refer to a key set later in the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

#define CONF_MAX_FILE	(1024 * 1024)
#define CONF_MAX_DEPTH	10

struct conf {
	char	*path;
	char	**raw;		/* per key: text from the file, or NULL */
	unsigned *line;		/* per key: line number where it was set */
	char	**val;		/* per key: expanded value */
	int64_t	*num;		/* per key: parsed number / bool */
};

static unsigned
key_index(const char *name)
{
	unsigned		 n, i;
	const struct conf_key	*k = conf_keys(&n);

	for (i = 0; i < n; i++)
		if (strcmp(k[i].name, name) == 0)
			return i;
	return n;
}

static struct conf *
conf_alloc(const char *path)
{
	unsigned	 n;
	struct conf	*c = xcalloc(1, sizeof(*c));

	conf_keys(&n);
	c->path = xstrdup(path ? path : "(defaults)");
	c->raw = xcalloc(n, sizeof(char *));
	c->line = xcalloc(n, sizeof(unsigned));
	c->val = xcalloc(n, sizeof(char *));
	c->num = xcalloc(n, sizeof(int64_t));
	return c;
}

void
conf_free(struct conf **cp)
{
	struct conf	*c = *cp;
	unsigned	 n, i;

	if (c == NULL)
		return;
	conf_keys(&n);
	for (i = 0; i < n; i++) {
		free(c->raw[i]);
		free(c->val[i]);
	}
	free(c->raw);
	free(c->line);
	free(c->val);
	free(c->num);
	free(c->path);
	xfree(cp);
}

static int
parse_scaled(const char *s, const char *units, const int64_t *mult, int64_t *v_r)
{
	size_t		 len = strlen(s);
	int64_t		 m = 1;
	uint64_t	 v;
	const char	*u;

	if (len == 0)
		return -1;
	if ((u = strchr(units, s[len - 1])) != NULL && s[len - 1] != '\0') {
		m = mult[u - units];
		len--;
	}
	if (parse_u64(s, len, (uint64_t)INT64_MAX / (uint64_t)m, &v) < 0)
		return -1;
	*v_r = (int64_t)v * m;
	return 0;
}

int
conf_parse_time(const char *s, int64_t *v_r)
{
	static const int64_t mult[] = { 1, 60, 3600, 86400, 604800 };

	return parse_scaled(s, "smhdw", mult, v_r);
}

int
conf_parse_size(const char *s, int64_t *v_r)
{
	static const int64_t mult[] = { 1024, 1024 * 1024, 1024 * 1024 * 1024,
	    1024, 1024 * 1024, 1024 * 1024 * 1024 };

	return parse_scaled(s, "kmgKMG", mult, v_r);
}

/* Expand $name, ${name}, $(name) and $$ in raw into out. */
static int
expand(struct conf *c, const char *raw, struct buf *out, int depth, const char **err_r, char *bad, size_t badsz);

static const char *
raw_of(struct conf *c, unsigned i)
{
	unsigned		 n;
	const struct conf_key	*k = conf_keys(&n);

	return c->raw[i] != NULL ? c->raw[i] : k[i].def;
}

static int
expand(struct conf *c, const char *raw, struct buf *out, int depth, const char **err_r, char *bad, size_t badsz)
{
	const char *p = raw;

	if (depth > CONF_MAX_DEPTH) {
		*err_r = "$ expansion nested too deeply (a loop?)";
		return -1;
	}
	while (*p) {
		char		 name[64];
		size_t		 nl;
		unsigned	 i, n;
		char		 close = 0;

		if (*p != '$') {
			size_t run = strcspn(p, "$");
			if (buf_add(out, p, run) < 0)
				goto toolong;
			p += run;
			continue;
		}
		p++;
		if (*p == '$') {
			if (buf_addc(out, '$') < 0)
				goto toolong;
			p++;
			continue;
		}
		if (*p == '{')
			close = '}';
		else if (*p == '(')
			close = ')';
		if (close)
			p++;
		nl = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
		if (nl == 0 || nl >= sizeof(name) || (close && p[nl] != close)) {
			*err_r = "bad $ expansion (want $name or ${name}; $$ for a dollar)";
			return -1;
		}
		memcpy(name, p, nl);
		name[nl] = '\0';
		p += nl + (close ? 1 : 0);
		conf_keys(&n);
		i = key_index(name);
		if (i == n) {
			str_copy(bad, name, badsz);
			*err_r = "unknown $name in value";
			return -1;
		}
		if (c->val[i] != NULL) {
			if (buf_adds(out, c->val[i]) < 0)
				goto toolong;
		} else if (expand(c, raw_of(c, i), out, depth + 1, err_r, bad, badsz) < 0)
			return -1;
	}
	return 0;
toolong:
	*err_r = "value too long after expansion";
	return -1;
}

static void
computed_defaults(struct conf *c)
{
	unsigned	 n, i;
	char		 host[256];

	conf_keys(&n);
	i = key_index("myhostname");
	if (c->raw[i] == NULL || *c->raw[i] == '\0') {
		free(c->raw[i]);
		if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
			str_copy(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		c->raw[i] = xstrdup(host);
	}
	i = key_index("mydomain");
	if (c->raw[i] == NULL || *c->raw[i] == '\0') {
		const char *h = c->raw[key_index("myhostname")];
		const char *dot = strchr(h, '.');

		free(c->raw[i]);
		c->raw[i] = xstrdup(dot != NULL && dot[1] ? dot + 1 : "localdomain");
	}
}

/* Expand and check every key; on error fill err with "PATH:LINE: ...". */
static int
conf_finish(struct conf *c, char **err_r)
{
	unsigned		 n, i;
	const struct conf_key	*k = conf_keys(&n);

	computed_defaults(c);
	for (i = 0; i < n; i++) {
		struct buf	 b;
		const char	*err = NULL;
		char		 bad[64] = "";
		int64_t		 v = 0;

		buf_init(&b, 65536);
		if (expand(c, raw_of(c, i), &b, 0, &err, bad, sizeof(bad)) < 0) {
			buf_clear(&b);
			goto fail;
		}
		c->val[i] = buf_take(&b, NULL);
		switch (k[i].type) {
		case CONF_BOOL:
			if (strcmp(c->val[i], "yes") == 0)
				v = 1;
			else if (strcmp(c->val[i], "no") == 0)
				v = 0;
			else
				err = "want yes or no";
			break;
		case CONF_INT:
			if (parse_u64(c->val[i], strlen(c->val[i]), INT64_MAX, (uint64_t *)&v) < 0)
				err = "want a whole number";
			break;
		case CONF_SIZE:
			if (conf_parse_size(c->val[i], &v) < 0)
				err = "want a size in bytes (optional k, m or g suffix)";
			break;
		case CONF_TIME:
			if (conf_parse_time(c->val[i], &v) < 0)
				err = "want a time (number with optional s, m, h, d or w suffix)";
			break;
		case CONF_STR:
			break;
		}
		if (err == NULL && k[i].type != CONF_STR && k[i].type != CONF_BOOL &&
		    (v < k[i].min || v > k[i].max))
			err = "value out of range";
		if (err == NULL && k[i].check != NULL)
			err = k[i].check(c->val[i]);
		if (err != NULL)
			goto fail;
		c->num[i] = v;
		continue;
fail:
		if (c->line[i])
			*err_r = xasprintf("%s:%u: %s: %s%s%s", c->path, c->line[i], k[i].name, err,
			    bad[0] ? ": $" : "", bad);
		else
			*err_r = xasprintf("%s: %s (default \"%s\"): %s%s%s", c->path, k[i].name,
			    k[i].def, err, bad[0] ? ": $" : "", bad);
		return -1;
	}
	return 0;
}

static void
set_config_directory(struct conf *c, const char *path)
{
	char		*tmp = xstrdup(path);
	char		 abs[PATH_MAX];
	const char	*dir = dirname(tmp);
	unsigned	 i = key_index("config_directory");

	free(c->raw[i]);
	c->raw[i] = xstrdup(realpath(dir, abs) != NULL ? abs : dir);
	free(tmp);
}

struct conf *
conf_defaults(const char *dir)
{
	struct conf	*c = conf_alloc(NULL);
	char		*err = NULL;

	c->raw[key_index("config_directory")] = xstrdup(dir);
	if (conf_finish(c, &err) < 0)
		fatalx("built-in defaults: %s", err);
	return c;
}

/* Parse text into c->raw; returns 0 or -1 with *err_r. */
static int
conf_parse_text(struct conf *c, char *text, char **err_r)
{
	unsigned	 n, lineno = 0, cur = 0, curline = 0;
	char		*line, *next;
	struct buf	 val;
	int		 have = 0;

	conf_keys(&n);
	buf_init(&val, 65536);
	for (line = text; line != NULL; line = next) {
		char *p, *eq, *name;

		lineno++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		p = str_trim(line);
		if (*p == '\0' || *p == '#')
			continue;
		if (line[0] == ' ' || line[0] == '\t') {
			/* Continuation of the previous logical line. */
			if (!have) {
				*err_r = xasprintf("%s:%u: continuation line without a parameter", c->path, lineno);
				goto fail;
			}
			if (buf_addc(&val, ' ') < 0 || buf_adds(&val, p) < 0)
				goto toolong;
			continue;
		}
		if (have) {
			free(c->raw[cur]);
			c->raw[cur] = buf_take(&val, NULL);
			c->line[cur] = curline;
		}
		have = 0;
		eq = strchr(p, '=');
		if (eq == NULL) {
			*err_r = xasprintf("%s:%u: missing '=' (want key = value)", c->path, lineno);
			goto fail;
		}
		*eq = '\0';
		name = str_trim(p);
		cur = key_index(name);
		if (cur == n || strcmp(name, "config_directory") == 0) {
			char esc[128];
			*err_r = xasprintf("%s:%u: unknown parameter \"%s\"", c->path, lineno,
			    log_escape(esc, sizeof(esc), name, strlen(name)));
			goto fail;
		}
		buf_reset(&val);
		if (buf_adds(&val, str_trim(eq + 1)) < 0)
			goto toolong;
		have = 1;
		curline = lineno;
	}
	if (have) {
		free(c->raw[cur]);
		c->raw[cur] = buf_take(&val, NULL);
		c->line[cur] = curline;
	}
	buf_clear(&val);
	return 0;
toolong:
	*err_r = xasprintf("%s:%u: value too long", c->path, lineno);
fail:
	buf_clear(&val);
	return -1;
}

static char *
read_file(const char *path, char **err_r)
{
	struct buf	 b;
	char		 chunk[8192];
	ssize_t		 r;
	int		 fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		*err_r = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b, CONF_MAX_FILE);
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(&b, chunk, (size_t)r) < 0) {
			*err_r = xasprintf("%s: file larger than %d bytes", path, CONF_MAX_FILE);
			r = -2;
			break;
		}
	if (r == -1)
		*err_r = xasprintf("%s: %s", path, strerror(errno));
	close(fd);
	if (r < 0) {
		buf_clear(&b);
		return NULL;
	}
	if (str_has_nul(buf_str(&b), b.len)) {
		*err_r = xasprintf("%s: file contains a NUL byte", path);
		buf_clear(&b);
		return NULL;
	}
	return buf_take(&b, NULL);
}

struct conf *
conf_load(const char *path, char **err_r)
{
	struct conf	*c;
	char		*text;

	*err_r = NULL;
	if ((text = read_file(path, err_r)) == NULL)
		return NULL;
	c = conf_alloc(path);
	set_config_directory(c, path);
	if (conf_parse_text(c, text, err_r) < 0 || conf_finish(c, err_r) < 0) {
		free(text);
		conf_free(&c);
		return NULL;
	}
	free(text);
	return c;
}

const char *
conf_str(const struct conf *c, enum conf_id key)
{
	return c->val[key];
}

bool
conf_bool(const struct conf *c, enum conf_id key)
{
	return c->num[key] != 0;
}

int64_t
conf_int(const struct conf *c, enum conf_id key)
{
	return c->num[key];
}

bool
conf_is_set(const struct conf *c, enum conf_id key)
{
	return c->raw[key] != NULL && c->line[key] != 0;
}

bool
conf_id_find(const char *name, enum conf_id *id_r)
{
	unsigned i = key_index(name);

	if (i >= CK__COUNT)
		return false;
	*id_r = (enum conf_id)i;
	return true;
}

const char *
conf_path(const struct conf *c)
{
	return c->path;
}

int
conf_set_file(const char *path, const char *key, const char *value, char **err_r)
{
	char		*text, *line, *next, *tmp;
	struct buf	 out;
	struct conf	*check;
	struct stat	 st;
	int		 fd, replaced = 0, skipping = 0;
	const struct conf_key *k = conf_key_find(key);

	*err_r = NULL;
	if (k == NULL || strcmp(key, "config_directory") == 0) {
		*err_r = xasprintf("unknown parameter \"%s\"", key);
		return -1;
	}
	if (strchr(value, '\n') != NULL || strchr(value, '\r') != NULL) {
		*err_r = xasprintf("%s: value may not contain a line break", key);
		return -1;
	}
	if ((text = read_file(path, err_r)) == NULL)
		return -1;
	buf_init(&out, CONF_MAX_FILE * 2);
	for (line = text; line != NULL && *line; line = next) {
		char *p, *eq;
		size_t kl = strlen(key);

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (skipping && (line[0] == ' ' || line[0] == '\t')) {
			/* A continuation of the line being replaced is dropped too;
			 * an indented comment or blank line ends it. */
			const char *t = line + strspn(line, " \t\r");
			if (*t != '\0' && *t != '#')
				continue;
		}
		skipping = 0;
		p = line + strspn(line, " \t");
		eq = strchr(p, '=');
		if (line[0] != ' ' && line[0] != '\t' && eq != NULL && strncmp(p, key, kl) == 0 &&
		    strspn(p + kl, " \t") == (size_t)(eq - p - (ptrdiff_t)kl)) {
			if (!replaced && buf_addf(&out, "%s = %s\n", key, value) < 0)
				goto toolong;
			replaced = 1;
			skipping = 1;
			continue;
		}
		if (buf_adds(&out, line) < 0 || buf_addc(&out, '\n') < 0)
			goto toolong;
	}
	if (!replaced && buf_addf(&out, "%s = %s\n", key, value) < 0)
		goto toolong;
	free(text);

	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	unlink(tmp);	/* a leftover of a crash; O_EXCL below refuses anything planted since */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	/* The new file takes the old one's owner and mode (root's config stays root's). */
	if (fd >= 0 && stat(path, &st) == 0 && ((st.st_uid == geteuid() && st.st_gid == getegid()) ||
	    fchown(fd, st.st_uid, st.st_gid) == 0))
		(void)fchmod(fd, st.st_mode & 07777);
	else if (fd >= 0)
		(void)fchmod(fd, 0644);
	if (fd < 0 || write(fd, out.data, out.len) != (ssize_t)out.len || fsync(fd) != 0) {
		*err_r = xasprintf("%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		free(tmp);
		buf_clear(&out);
		return -1;
	}
	close(fd);
	buf_clear(&out);
	if ((check = conf_load(tmp, err_r)) == NULL) {
		/* Report the error against the real file name. */
		char *e = *err_r;
		size_t tl = strlen(tmp);
		*err_r = strncmp(e, tmp, tl) == 0 ? xasprintf("%s%s", path, e + tl) : xstrdup(e);
		free(e);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	conf_free(&check);
	if (rename(tmp, path) != 0) {
		*err_r = xasprintf("rename %s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
toolong:
	free(text);
	buf_clear(&out);
	*err_r = xasprintf("%s: file too large", path);
	return -1;
}

/* Current conf: old ones are kept (not freed) because worker threads may still read them. */
static pthread_mutex_t	 cur_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct conf	*cur;
static struct conf	**old;
static size_t		 nold;

static void
conf_free_all(void)
{
	size_t i;

	conf_free(&cur);
	for (i = 0; i < nold; i++)
		conf_free(&old[i]);
	free(old);
}

const struct conf *
conf_current(void)
{
	const struct conf *c;

	pthread_mutex_lock(&cur_mtx);
	c = cur;
	pthread_mutex_unlock(&cur_mtx);
	return c;
}

void
conf_set_current(struct conf *c)
{
	static int registered;

	pthread_mutex_lock(&cur_mtx);
	if (cur != NULL) {
		old = xreallocarray(old, nold + 1, sizeof(*old));
		old[nold++] = cur;
	}
	cur = c;
	if (!registered) {
		atexit(conf_free_all);
		registered = 1;
	}
	pthread_mutex_unlock(&cur_mtx);
}
