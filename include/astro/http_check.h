/*
 * Checks of what goes into a request, and the one part of a URL a message may show. Pure C
 * (the host:port split uses libcurl's URL parser); nothing here reads or writes Lua.
 */
#ifndef ASTRO_HTTP_CHECK_H
#define ASTRO_HTTP_CHECK_H

#include <stddef.h>

/* Returns 1 when s[0..n) is a non-empty HTTP token (RFC 9110 §5.6.2: a header name, a
 * method), else 0. */
int astro_http_is_token(const char *s, size_t n);

/* Returns 1 when s[0..n) can go into a header value: no CR, LF or NUL; else 0. */
int astro_http_is_header_value(const char *s, size_t n);

/* Writes "host:port" of url (the scheme's default port when it has none) into out, size
 * bytes, truncated to fit; "(invalid URL)" when libcurl cannot parse it. Never the path,
 * the query or credentials: this is what a message may say about a request's URL. */
void astro_http_hostport(const char *url, char *out, size_t size);

#endif
