/*
 * The response header-block parser: turns the raw header block of one response, as libcurl
 * delivers it, into the Lua table a response's "headers" field holds. Reads only p[0..len);
 * a libFuzzer target calls it directly.
 */
#ifndef ASTRO_HTTP_HEADERS_H
#define ASTRO_HTTP_HEADERS_H

#include <stddef.h>

#include <lua.h>

/* Pushes the table of a raw response header block (p, len bytes: "Name: value" lines, CRLF
 * or LF; a line with no name before a colon is skipped): names lower-cased,
 * values without the spaces and tabs around them, repeated headers joined with ", ",
 * obsolete folded lines joined to their header with a space. p may be NULL when len is 0.
 * Returns 1. May raise on Lua memory errors, so call it in protected mode. */
int astro_http_parse_headers(lua_State *L, const char *p, size_t len);

#endif
