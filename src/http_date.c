/*
 * The Retry-After parser of include/astro/http_date.h: delta-seconds or an HTTP-date
 * (IMF-fixdate, RFC 850, asctime), scanned within [buf, buf + len) without allocating.
 */
#include <math.h>
#include <string.h>

#include "astro/ascii.h"
#include "astro/http_date.h"

typedef struct scan {
    const char *p, *end;
} scan;

typedef struct hdate {
    int year, mon, day, hour, min, sec;
} hdate;

static const char *const short_days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const long_days[] = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                        "Friday", "Saturday", "Sunday"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const gmt[] = {"GMT"};

/* Consumes the exact character c. */
static int scan_char(scan *s, char c) {
    if (s->p >= s->end || *s->p != c) return 0;
    s->p++;
    return 1;
}

/* Consumes exactly n decimal digits into *v. */
static int scan_digits(scan *s, int n, int *v) {
    if (s->end - s->p < n) return 0;
    int acc = 0;
    for (int i = 0; i < n; i++) {
        char c = s->p[i];
        if (c < '0' || c > '9') return 0;
        acc = acc * 10 + (c - '0');
    }
    s->p += n;
    *v = acc;
    return 1;
}

/* Consumes one of count words (ASCII case-insensitive, not followed by a letter); returns
 * its index or -1. */
static int scan_word(scan *s, const char *const words[], int count) {
    for (int i = 0; i < count; i++) {
        size_t n = strlen(words[i]);                     /* our constants, not the input */
        if ((size_t)(s->end - s->p) < n) continue;
        size_t k = 0;
        while (k < n && astro_ascii_lower(s->p[k]) == astro_ascii_lower(words[i][k])) k++;
        if (k < n) continue;
        if (s->p + n < s->end && astro_ascii_alpha(s->p[n])) continue;
        s->p += n;
        return i;
    }
    return -1;
}

/* Consumes "hh:mm:ss". */
static int scan_clock(scan *s, hdate *d) {
    return scan_digits(s, 2, &d->hour) && scan_char(s, ':') && scan_digits(s, 2, &d->min) &&
           scan_char(s, ':') && scan_digits(s, 2, &d->sec);
}

/* Consumes a month name into d->mon (1..12). */
static int scan_month(scan *s, hdate *d) {
    int m = scan_word(s, months, 12);
    d->mon = m + 1;
    return m >= 0;
}

/* "<day>, DD<sep>Mon<sep>YEAR hh:mm:ss GMT" with a day name of days and a year of
 * year_digits digits, to the end of s: IMF-fixdate is "Sun, 06 Nov 1994 08:49:37 GMT" (short
 * day names, sep ' ', four digits), RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" (long day names,
 * sep '-', two digits: d->year gets the two digits only). */
static int parse_day_first(scan s, hdate *d, const char *const days[], char sep,
                           int year_digits) {
    return scan_word(&s, days, 7) >= 0 && scan_char(&s, ',') && scan_char(&s, ' ') &&
           scan_digits(&s, 2, &d->day) && scan_char(&s, sep) && scan_month(&s, d) &&
           scan_char(&s, sep) && scan_digits(&s, year_digits, &d->year) && scan_char(&s, ' ') &&
           scan_clock(&s, d) && scan_char(&s, ' ') && scan_word(&s, gmt, 1) == 0 &&
           s.p == s.end;
}

/* asctime: "Sun Nov  6 08:49:37 1994" (day as two digits or space and one digit). */
static int parse_asctime(scan s, hdate *d) {
    if (!(scan_word(&s, short_days, 7) >= 0 && scan_char(&s, ' ') && scan_month(&s, d) &&
          scan_char(&s, ' ')))
        return 0;
    if (!(scan_char(&s, ' ') ? scan_digits(&s, 1, &d->day) : scan_digits(&s, 2, &d->day)))
        return 0;
    return scan_char(&s, ' ') && scan_clock(&s, d) && scan_char(&s, ' ') &&
           scan_digits(&s, 4, &d->year) && s.p == s.end;
}

/* Days from 1970-01-01 to year-mon-day in the proleptic Gregorian calendar. */
static long days_from_civil(long y, int mon, int day) {
    y -= mon <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (mon > 2 ? mon - 3 : mon + 9) + 2) / 5 + day - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Returns 1 when d names a real calendar date and time of day (second 60 allowed). */
static int hdate_valid(const hdate *d) {
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (d->year % 4 == 0 && d->year % 100 != 0) || d->year % 400 == 0;
    if (d->mon < 1 || d->mon > 12 || d->day < 1 || d->day > mdays[d->mon - 1]) return 0;
    if (d->mon == 2 && d->day == 29 && !leap) return 0;
    return d->hour <= 23 && d->min <= 59 && d->sec <= 60;
}

/* Seconds since the epoch for a valid d. */
static double hdate_epoch(const hdate *d) {
    return (double)days_from_civil(d->year, d->mon, d->day) * 86400.0 + d->hour * 3600.0 +
           d->min * 60.0 + d->sec;
}

/* Parses an HTTP-date into epoch seconds. */
static int parse_http_date(scan s, double now, double *t) {
    hdate d = {0, 0, 0, 0, 0, 0};
    if (parse_day_first(s, &d, short_days, ' ', 4) || parse_asctime(s, &d)) {
        if (!hdate_valid(&d)) return 0;
        *t = hdate_epoch(&d);
        return 1;
    }
    if (!parse_day_first(s, &d, long_days, '-', 2)) return 0;
    /* RFC 9110 5.6.7: a two-digit year more than 50 years ahead is in the past century. */
    long now_year = 1970 + (long)(now / 31556952.0);
    int yy = d.year;
    d.year = (int)(now_year - now_year % 100) + yy;
    if (!hdate_valid(&d)) d.year -= 100;                 /* Feb 29 of a non-leap century */
    if (!hdate_valid(&d)) return 0;
    *t = hdate_epoch(&d);
    if (*t > now + 50 * 31556952.0) {
        d.year -= 100;
        if (!hdate_valid(&d)) return 0;
        *t = hdate_epoch(&d);
    }
    return 1;
}

/* Parses delta-seconds: digits only, at most ASTRO_RETRY_AFTER_MAX. */
static int parse_delta(scan s, double *out) {
    if (s.p == s.end) return 0;
    double v = 0;
    for (; s.p < s.end; s.p++) {
        if (*s.p < '0' || *s.p > '9') return 0;
        v = v * 10 + (*s.p - '0');
        if (v > ASTRO_RETRY_AFTER_MAX) return 0;
    }
    *out = v;
    return 1;
}

int astro_http_parse_retry_after(const char *buf, size_t len, double now, double *out) {
    scan s = {buf, buf + len};
    while (s.p < s.end && (*s.p == ' ' || *s.p == '\t')) s.p++;
    while (s.end > s.p && (s.end[-1] == ' ' || s.end[-1] == '\t')) s.end--;
    if (s.p == s.end) return 0;
    if (*s.p >= '0' && *s.p <= '9') return parse_delta(s, out);
    if (!isfinite(now) || fabs(now) > 1e13) return 0;
    double t;
    if (!parse_http_date(s, now, &t)) return 0;
    double wait = t - now;
    if (!(wait <= ASTRO_RETRY_AFTER_MAX)) return 0;
    *out = wait > 0 ? wait : 0;
    return 1;
}
