/*
 * The host: how the astro binary sets up a Lua state. It registers the C primitive modules
 * and every embedded Lua module in package.preload, and optionally puts a development source
 * folder ahead of the embedded copies.
 */
#ifndef ASTRO_HOST_H
#define ASTRO_HOST_H

#include <stddef.h>
#include <lua.h>

/* One Lua module compiled into the binary as bytecode (see cmake/embed_lua.cmake). */
typedef struct astro_embedded_module {
    const char *name;           /* module name, e.g. "astro.cli" */
    const char *chunkname;      /* e.g. "@lua/astro/cli.lua", so tracebacks name real files */
    const unsigned char *source;  /* bytecode (with debug information) */
    size_t length;
} astro_embedded_module;

/* Table generated at build time, ended by an entry whose name is NULL. */
extern const astro_embedded_module astro_embedded_modules[];

/* Name of the environment variable that puts a lua/ source folder before the embedded copies. */
#define ASTRO_LUA_DIR_ENV "ASTRO_LUA_DIR"

/* Opens the standard libraries and registers every C and embedded module in package.preload.
 * Raises a Lua error on failure; call it under lua_pcall. */
int astro_host_open(lua_State *L);

#endif
