/*
 * Aliases file cache; see aliases.h.  One parsed copy of the file is kept
 * (path + identity); a lookup stats the file and re-parses when it changed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "deliver/aliases.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xmalloc.h"

#define ALIASES_MAX_FILE	(16 * 1024 * 1024)

struct alias {
	char	*name;		/* lower case */
	char	*targets;	/* "a, b" as written, joined continuation lines */
};

static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
static char		*cached_path;
static struct stat	 cached_st;
static struct alias	*tab;
static size_t		 ntab;

static void
tab_free(void)
{
	size_t i;

	for (i = 0; i < ntab; i++) {
		free(tab[i].name);
		free(tab[i].targets);
	}
	free(tab);
	tab = NULL;
	ntab = 0;
}

void
aliases_flush(void)
{
	pthread_mutex_lock(&mtx);
	tab_free();
	xfree(&cached_path);
	pthread_mutex_unlock(&mtx);
}

static void
add_entry(char *line)
{
	char *colon = strchr(line, ':'), *name;

	if (colon == NULL) {
		log_warnx("aliases: line without ':' ignored");
		return;
	}
	*colon = '\0';
	name = str_trim(line);
	if (*name == '\0')
		return;
	str_lower(name);
	tab = xreallocarray(tab, ntab + 1, sizeof(*tab));
	tab[ntab].name = xstrdup(name);
	tab[ntab].targets = xstrdup(str_trim(colon + 1));
	ntab++;
}

/* Parse the whole file text into tab (the later of duplicate names wins at lookup). */
static void
parse(char *text)
{
	struct buf	 logical;
	char		*line, *next;

	buf_init(&logical, ALIASES_MAX_FILE);
	for (line = text; line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (*str_trim(line) == '#' )
			continue;
		if ((line[0] == ' ' || line[0] == '\t') && logical.len > 0) {
			if (*str_trim(line) != '\0')
				(void)!(buf_addc(&logical, ' ') || buf_adds(&logical, str_trim(line)));
			continue;
		}
		if (logical.len > 0)
			add_entry(logical.data);
		buf_reset(&logical);
		if (*str_trim(line) != '\0')
			(void)!buf_adds(&logical, str_trim(line));
	}
	if (logical.len > 0)
		add_entry(logical.data);
	buf_clear(&logical);
}

static int
reload_if_changed(const char *path)
{
	struct stat	 st;
	FILE		*f;
	char		*text;
	size_t		 n;

	if (stat(path, &st) != 0) {
		if (errno != ENOENT)
			return -1;
		tab_free();
		free(cached_path);
		cached_path = xstrdup(path);
		memset(&cached_st, 0, sizeof(cached_st));
		return 0;
	}
	if (cached_path != NULL && strcmp(cached_path, path) == 0 && st.st_ino == cached_st.st_ino &&
	    st.st_dev == cached_st.st_dev && st.st_size == cached_st.st_size &&
	    st.st_mtim.tv_sec == cached_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == cached_st.st_mtim.tv_nsec)
		return 0;
	if (st.st_size > ALIASES_MAX_FILE || (f = fopen(path, "re")) == NULL)
		return -1;
	text = xmalloc((size_t)st.st_size + 1);
	n = fread(text, 1, (size_t)st.st_size, f);
	fclose(f);
	text[n] = '\0';
	tab_free();
	parse(text);
	free(text);
	free(cached_path);
	cached_path = xstrdup(path);
	cached_st = st;
	log_info("aliases: loaded %zu entries from %s", ntab, path);
	return 0;
}

enum aliases_result
aliases_lookup(const char *path, const char *name, char **targets_r)
{
	enum aliases_result	 r = ALIAS_NOTFOUND;
	char			*key = xstrdup(name);
	size_t			 i;

	*targets_r = NULL;
	str_lower(key);
	pthread_mutex_lock(&mtx);
	if (reload_if_changed(path) < 0)
		r = ALIAS_TEMPFAIL;
	else
		for (i = ntab; i > 0; i--)
			if (strcmp(tab[i - 1].name, key) == 0) {
				*targets_r = xstrdup(tab[i - 1].targets);
				r = ALIAS_FOUND;
				break;
			}
	pthread_mutex_unlock(&mtx);
	free(key);
	return r;
}
