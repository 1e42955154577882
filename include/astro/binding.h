/*
 * What the Lua bindings of src/ share: the boilerplate of a module table and of a userdata
 * whose finalizer frees what it holds.
 */
#ifndef ASTRO_BINDING_H
#define ASTRO_BINDING_H

#include <stddef.h>

#include <lauxlib.h>

/* Pushes a new module table holding funcs; returns 1 (a luaopen_ function's result). */
int astro_module_new(lua_State *L, const luaL_Reg *funcs);

/* Pushes a new userdata of size bytes, zeroed, whose metatable tname (made on first use) has
 * gc as __gc, and returns it. Raises on memory errors. */
void *astro_udata_new(lua_State *L, size_t size, const char *tname, lua_CFunction gc);

/* Pushes nil, "<path>: <strerror(err)>", "io" (a failed file or process call, as the Lua
 * modules return it) and returns 3. */
int astro_push_errno(lua_State *L, const char *path, int err);

#endif
