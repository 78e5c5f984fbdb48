/*
 * IMAP date and date-time parsing and formatting; see date.h.  Calendar
 * arithmetic on the proleptic Gregorian calendar (days from 1970-01-01),
 * so it works for any year 0000..9999 without timegm() or TZ.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "imap/date.h"
#include "lib/str.h"

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
	"Aug", "Sep", "Oct", "Nov", "Dec" };

static bool
leap(uint64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* "Mon" -> 0..11, or -1 */
static int
month(const char *s)
{
	int	 m;

	for (m = 0; m < 12; m++)
		if (str_ieq(s, 3, months[m]))
			return m;
	return -1;
}

/* s: the day as dl digits, then "-Mon-yyyy" */
static int
day_month_year(const char *s, size_t dl, uint32_t *ymd_r)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	uint64_t	 day, year;
	int		 m;

	if (s[dl] != '-' || s[dl + 4] != '-' || parse_u64(s, dl, 31, &day) < 0 || day == 0 ||
	    parse_u64(s + dl + 5, 4, 9999, &year) < 0 || (m = month(s + dl + 1)) < 0 ||
	    day > mdays[m] || (m == 1 && day == 29 && !leap(year)))
		return -1;
	*ymd_r = (uint32_t)(year * 10000 + (uint64_t)(m + 1) * 100 + day);
	return 0;
}

int
imap_parse_date(const char *s, size_t len, uint32_t *yyyymmdd_r)
{
	size_t	 dl = len > 1 && s[1] == '-' ? 1 : 2;

	if (len != dl + 9)
		return -1;
	return day_month_year(s, dl, yyyymmdd_r);
}

/* Days from 1970-01-01 to y-m-d (m 1..12): H. Hinnant's days_from_civil. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t		 era;
	unsigned	 yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y_r, unsigned *m_r, unsigned *d_r)
{
	int64_t		 era;
	unsigned	 doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d_r = doy - (153 * mp + 2) / 5 + 1;
	*m_r = mp < 10 ? mp + 3 : mp - 9;
	*y_r = (int64_t)yoe + era * 400 + (*m_r <= 2);
}

static int
two(const char *s, uint64_t max, uint64_t *v_r)
{
	return parse_u64(s, 2, max, v_r);
}

int
imap_parse_datetime(const char *s, size_t len, int64_t *utc_r, int *zone_min_r)
{
	char		 date[11];
	uint32_t	 ymd;
	uint64_t	 hh, mi, ss, zh, zm;
	int		 zone;

	/* date-day-fixed = (SP DIGIT) / 2DIGIT */
	if (len != IMAP_DATETIME_LEN)
		return -1;
	memcpy(date, s, sizeof(date));
	if (date[0] == ' ')
		date[0] = '0';
	if (day_month_year(date, 2, &ymd) < 0)
		return -1;
	if (s[11] != ' ' || s[14] != ':' || s[17] != ':' || s[20] != ' ' ||
	    (s[21] != '+' && s[21] != '-') ||
	    two(s + 12, 23, &hh) < 0 || two(s + 15, 59, &mi) < 0 || two(s + 18, 60, &ss) < 0 ||
	    two(s + 22, 23, &zh) < 0 || two(s + 24, 59, &zm) < 0)
		return -1;
	zone = (int)(zh * 60 + zm) * (s[21] == '-' ? -1 : 1);
	*utc_r = days_from_civil(ymd / 10000, ymd / 100 % 100, ymd % 100) * 86400 +
	    (int64_t)(hh * 3600 + mi * 60 + ss) - (int64_t)zone * 60;
	*zone_min_r = zone;
	return 0;
}

void
imap_format_datetime(int64_t utc, int zone_min, char out[IMAP_DATETIME_LEN + 1])
{
	int64_t		 local, days, secs, y;
	unsigned	 m, d;
	int		 az;
	char		 tmp[64];

	if (zone_min < -1439 || zone_min > 1439)
		zone_min = 0;
	local = utc + (int64_t)zone_min * 60;
	days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	secs = local - days * 86400;
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		y = 1970;	/* cannot be written in 4 digits: the epoch, as servers do */
		m = d = 1;
		secs = 0;
	}
	az = zone_min < 0 ? -zone_min : zone_min;
	/* every field is in range, so this is exactly 26 bytes; tmp calms -Wformat-truncation */
	snprintf(tmp, sizeof(tmp), "%02u-%s-%04d %02d:%02d:%02d %c%02d%02d", d,
	    months[m - 1], (int)y, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
	    zone_min < 0 ? '-' : '+', az / 60, az % 60);
	memcpy(out, tmp, IMAP_DATETIME_LEN);
	out[IMAP_DATETIME_LEN] = '\0';
}

/* ---- RFC 5322 3.3 date-time ---------------------------------------- */

struct dcur {
	const char	*s, *e;
};

/* Skip folding white space and (nested) comments (RFC 5322 3.2.2). */
static void
cfws(struct dcur *c)
{
	unsigned depth = 0;

	for (; c->s < c->e; c->s++) {
		if (*c->s == '(')
			depth++;
		else if (*c->s == ')' && depth > 0)
			depth--;
		else if (depth > 0 && *c->s == '\\' && c->e - c->s > 1)
			c->s++;
		else if (depth == 0 && *c->s != ' ' && *c->s != '\t' && *c->s != '\r' &&
		    *c->s != '\n')
			break;
	}
}

/* 1..maxd digits; the count in *nd_r. */
static int
digits(struct dcur *c, unsigned maxd, uint64_t *v_r, unsigned *nd_r)
{
	uint64_t	 v = 0;
	unsigned	 n = 0;

	cfws(c);
	for (; c->s < c->e && *c->s >= '0' && *c->s <= '9'; c->s++)
		if (++n <= maxd)
			v = v * 10 + (uint64_t)(*c->s - '0');
	if (n == 0 || n > maxd)
		return -1;
	*v_r = v;
	*nd_r = n;
	return 0;
}

static bool
punct(struct dcur *c, char ch)
{
	cfws(c);
	if (c->s < c->e && *c->s == ch) {
		c->s++;
		return true;
	}
	return false;
}

/* zone: +hhmm / -hhmm, or an obsolete name (RFC 5322 4.3); minutes east. */
static int
zone_of(struct dcur *c, int *min_r)
{
	static const struct { const char *name; int hours; } names[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "EST", -5 }, { "EDT", -4 }, { "CST", -6 },
		{ "CDT", -5 }, { "MST", -7 }, { "MDT", -6 }, { "PST", -8 }, { "PDT", -7 },
	};
	uint64_t	 hh, mm;
	const char	*w;
	size_t		 i, n;

	cfws(c);
	if (c->s < c->e && (*c->s == '+' || *c->s == '-')) {
		if (c->e - c->s < 5 || two(c->s + 1, 99, &hh) < 0 || two(c->s + 3, 59, &mm) < 0)
			return -1;
		*min_r = (int)(hh * 60 + mm) * (*c->s == '-' ? -1 : 1);
		c->s += 5;
		return 0;
	}
	for (w = c->s; c->s < c->e && ((*c->s | 0x20) >= 'a' && (*c->s | 0x20) <= 'z'); c->s++)
		;
	n = (size_t)(c->s - w);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (str_ieq(w, n, names[i].name)) {
			*min_r = names[i].hours * 60;
			return 0;
		}
	/* military zones and anything else: "-0000", unknown (RFC 5322 4.3) */
	*min_r = 0;
	return 0;
}

int
imap_parse_rfc5322_date(const char *s, size_t len, int64_t *utc_r)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	struct dcur	 c = { s, s + len };
	uint64_t	 day, year, hh, mi, ss = 0;
	unsigned	 nd;
	int		 m, zone;
	const char	*comma = memchr(s, ',', len);

	if (comma != NULL)		/* day-of-week "," */
		c.s = comma + 1;
	if (digits(&c, 2, &day, &nd) < 0)
		return -1;
	cfws(&c);
	if (c.e - c.s < 3 || (m = month(c.s)) < 0)
		return -1;
	c.s += 3;
	if (digits(&c, 4, &year, &nd) < 0 || nd < 2)
		return -1;
	if (nd == 2)
		year += year < 50 ? 2000 : 1900;
	else if (nd == 3)
		year += 1900;
	if (day == 0 || day > mdays[m] || (m == 1 && day == 29 && !leap(year)))
		return -1;
	if (digits(&c, 2, &hh, &nd) < 0 || hh > 23 || !punct(&c, ':') ||
	    digits(&c, 2, &mi, &nd) < 0 || mi > 59)
		return -1;
	if (punct(&c, ':') && (digits(&c, 2, &ss, &nd) < 0 || ss > 60))
		return -1;
	if (zone_of(&c, &zone) < 0)
		return -1;
	*utc_r = days_from_civil((int64_t)year, (unsigned)m + 1, (unsigned)day) * 86400 +
	    (int64_t)(hh * 3600 + mi * 60 + ss) - (int64_t)zone * 60;
	return 0;
}
