/*
 * Parsers of the HTTP primitive, exposed for the fuzz targets as well as for src/http.c.
 */
#ifndef ASTRO_HTTP_H
#define ASTRO_HTTP_H

#include <stddef.h>

/* Parses a Retry-After value (buf, len bytes, no terminator needed) against now (epoch
 * seconds); on success stores the wait in seconds (>= 0) in *out and returns 1, else 0. */
int astro_http_parse_retry_after(const char *buf, size_t len, double now, double *out);

#endif
