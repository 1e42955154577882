/*
 * Parsers of the HTTP primitive, exposed for the fuzz targets as well as for src/http.c.
 */
#ifndef ASTRO_HTTP_H
#define ASTRO_HTTP_H

#include <stddef.h>

#include <lua.h>

/* Pushes the table of a raw response header block (p, len bytes, as libcurl delivers it:
 * status line, "Name: value" lines, CRLF or LF): names lower-cased, repeated headers joined
 * with ", ", obsolete folded lines joined to their header with a space. Returns 1. May raise
 * on Lua memory errors, so call it in protected mode. The parser behind a response's headers. */
int astro_http_parse_headers(lua_State *L, const char *p, size_t len);

#endif
