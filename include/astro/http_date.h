/*
 * Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP-date in any of its three formats
 * (IMF-fixdate, RFC 850, asctime; §5.6.7). Pure C: reads only buf[0..len), allocates nothing,
 * keeps no state, so a libFuzzer target calls it directly.
 */
#ifndef ASTRO_HTTP_DATE_H
#define ASTRO_HTTP_DATE_H

#include <stddef.h>

/* Longest wait accepted, in seconds: a longer one counts as garbage. */
#define ASTRO_RETRY_AFTER_MAX 86400.0

/* Parses a Retry-After value (buf, len bytes, no terminator needed, spaces and tabs around it
 * ignored) against now (epoch seconds); on success stores the wait in seconds, from 0 to
 * ASTRO_RETRY_AFTER_MAX (a date in the past waits 0), in *out and returns 1, else returns 0.
 * A two-digit RFC 850 year is taken in the century that puts it at most 50 years ahead. */
int astro_http_parse_retry_after(const char *buf, size_t len, double now, double *out);

#endif
