/*
 * The YAML-to-Lua loader behind "astro.core.config", exposed so a fuzz target can feed it a
 * byte buffer without going through a file.
 */
#ifndef ASTRO_YAMLCONF_H
#define ASTRO_YAMLCONF_H

#include <stddef.h>

#include <lua.h>

/* Limits that make hostile input fail fast with a "yaml" error. */
#define ASTRO_YAML_MAX_BYTES (16u << 20)  /* input size */
#define ASTRO_YAML_MAX_NODES 100000       /* nodes, counted again for every alias expansion */
#define ASTRO_YAML_MAX_DEPTH 64           /* nested mappings/sequences */

/* Parses buf (len bytes, one YAML document whose top level is a mapping) into a Lua tree:
 * mappings become tables keyed by string, sequences arrays, scalars strings ("" for a plain
 * null). name is used in messages. Returns the number of values pushed: 1 (the tree) or 3
 * (nil, message, "yaml" | "memory"). May raise on Lua memory errors, so call it in protected
 * mode; nothing leaks either way. */
int astro_yaml_load(lua_State *L, const char *buf, size_t len, const char *name);

#endif
