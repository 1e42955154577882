/*
 * gzip (RFC 1952) through zlib: the module "astro.core.gzip" (src/gzip.c). From Lua:
 *
 *   gzip.is_gzip(data) -> boolean
 *     true when data starts with the gzip magic bytes 1f 8b (what a gzip file or a body sent
 *     with Content-Encoding: gzip and left undecoded starts with).
 *
 *   gzip.compress(data [, level]) -> gzip bytes
 *     data (any bytes, empty included) as one gzip member: no file name, modification time 0,
 *     level -1 (zlib's default, 6) or 0-9. Raises on memory errors only.
 *
 *   gzip.decompress(data [, max_bytes]) -> text | nil, message, "gzip"
 *     the concatenated members of a gzip stream, decoded; nil and a message for anything that
 *     is not a whole valid gzip stream (bad magic, bad checksum, cut short, bytes after it),
 *     and for a text longer than max_bytes (default 1 GiB), so that a small input cannot
 *     make the process hold an unbounded amount of memory.
 *
 * The zlib state lives in a userdata whose finalizer ends it, so a Lua error half-way (a memory
 * error growing the result) leaks nothing. Input of any length is fed in pieces zlib's 32-bit
 * counters hold.
 */
#ifndef ASTRO_GZIP_H
#define ASTRO_GZIP_H

#include <stddef.h>

#include <lua.h>

/* Returns 1 when data[0..len) starts with the gzip magic bytes 1f 8b, else 0. */
int astro_gzip_is_gzip(const void *data, size_t len);

int luaopen_astro_core_gzip(lua_State *L);    /* "astro.core.gzip": gzip compress/decompress */

#endif
