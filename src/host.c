/*
 * Host set-up: opens the standard libraries, registers the C primitive modules, lua-cjson and
 * every embedded Lua module in package.preload, and, in a development build only
 * (-DASTRO_DEVELOPMENT=ON) when ASTRO_LUA_DIR names a folder, puts a searcher for that folder
 * ahead of everything else (for development without rebuilding). A default build ignores
 * ASTRO_LUA_DIR: it would load code from any folder with none of the plugin checks.
 * Also the "astro.core.host" module, which tells Lua what is embedded, which development
 * folder (host.lua_dir) astro_host_open found (never one in a default build), and where an
 * installed binary's data is (host.data_from_bin, a path relative to the binary's folder).
 */
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lualib.h>
#include <lua-cjson.h>

#include "astro/binding.h"
#include "astro/core.h"
#include "astro/env.h"
#include "astro/gzip.h"
#include "astro/jq.h"
#include "astro/host.h"
#include "astro/proc.h"

/* lua-cjson's header declares only luaopen_cjson. */
int luaopen_cjson_safe(lua_State *L);

#ifndef ASTRO_VERSION
#define ASTRO_VERSION "0.0.0"
#endif

/* The path from the folder of an installed binary to the install's data (cmake/install.cmake). */
#ifndef ASTRO_DATA_FROM_BIN
#define ASTRO_DATA_FROM_BIN "../share/astro"
#endif

/* Registry field holding the development folder astro_host_open found (absent: none). */
#define LUA_DIR_KEY "astro.core.host.lua_dir"

/* package.preload loader for an embedded module: upvalue 1 is its astro_embedded_module,
 * whose bytes are bytecode compiled at build time by tools/luac.c against this same VM.
 * (User code is only ever loaded as text.) */
static int load_embedded(lua_State *L) {
    const astro_embedded_module *m = lua_touserdata(L, lua_upvalueindex(1));
    if (luaL_loadbufferx(L, (const char *)m->source, m->length, m->chunkname, "b") != LUA_OK)
        return lua_error(L);
    lua_pushstring(L, m->name);
    lua_call(L, 1, 1);
    return 1;
}

#ifdef ASTRO_DEVELOPMENT
/* Returns 1 when path names a regular file. */
static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* package.searchers entry for the development folder (upvalue 1): finds "a.b" as
 * <dir>/a/b.lua or <dir>/a/b/init.lua and loads it as text only. */
static int search_dev_dir(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    const char *dir = lua_tostring(L, lua_upvalueindex(1));
    const char *rel = luaL_gsub(L, name, ".", "/");                /* [name, rel] */
    const char *candidates[2];
    candidates[0] = lua_pushfstring(L, "%s/%s.lua", dir, rel);
    candidates[1] = lua_pushfstring(L, "%s/%s/init.lua", dir, rel);
    for (int i = 0; i < 2; i++) {
        if (!is_file(candidates[i])) continue;
        if (luaL_loadfilex(L, candidates[i], "t") != LUA_OK)
            return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name,
                              candidates[i], lua_tostring(L, -1));
        lua_pushstring(L, candidates[i]);
        return 2;
    }
    lua_pushfstring(L, "no file '%s' (" ASTRO_LUA_DIR_ENV ")", candidates[0]);
    return 1;
}
#endif

/* astro.core.host.modules(): the names of the embedded Lua modules, sorted. */
static int host_modules(lua_State *L) {
    lua_newtable(L);
    for (int i = 0; astro_embedded_modules[i].name != NULL; i++) {
        lua_pushstring(L, astro_embedded_modules[i].name);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static const luaL_Reg host_funcs[] = {
    {"modules", host_modules},
    {NULL, NULL}
};

int luaopen_astro_core_host(lua_State *L) {
    astro_module_new(L, host_funcs);
    lua_pushliteral(L, ASTRO_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushliteral(L, LUA_RELEASE);
    lua_setfield(L, -2, "lua_release");
    lua_pushliteral(L, ASTRO_DATA_FROM_BIN);
    lua_setfield(L, -2, "data_from_bin");
    if (lua_getfield(L, LUA_REGISTRYINDEX, LUA_DIR_KEY) == LUA_TSTRING)
        lua_setfield(L, -2, "lua_dir");
    else
        lua_pop(L, 1);
    return 1;
}

static const luaL_Reg c_modules[] = {
    {"cjson", luaopen_cjson},
    {"cjson.safe", luaopen_cjson_safe},
    {"astro.core.http", luaopen_astro_core_http},
    {"astro.core.config", luaopen_astro_core_config},
    {"astro.core.auth", luaopen_astro_core_auth},
    {"astro.core.sys", luaopen_astro_core_sys},
    {"astro.core.host", luaopen_astro_core_host},
    {"astro.core.env", luaopen_astro_core_env},
    {"astro.core.term", luaopen_astro_core_term},
    {"astro.core.gzip", luaopen_astro_core_gzip},
    {"astro.core.proc", luaopen_astro_core_proc},
    {"astro.core.jq", luaopen_astro_core_jq},
    {NULL, NULL}
};

/* In a development build, reads ASTRO_LUA_DIR, the one place that does: when it names a
 * folder, keeps it in the registry for host.lua_dir and puts its searcher first in
 * package.searchers (package is on top of the stack, and stays there). Otherwise does
 * nothing. */
static void dev_dir_install(lua_State *L) {
#ifndef ASTRO_DEVELOPMENT
    (void)L;
#else
    const char *dir = astro_env_value(ASTRO_LUA_DIR_ENV);
    if (dir == NULL) return;
    lua_pushstring(L, dir);
    lua_setfield(L, LUA_REGISTRYINDEX, LUA_DIR_KEY);
    lua_getfield(L, -1, "searchers");                            /* [package, searchers] */
    lua_Integer n = luaL_len(L, -1);
    for (lua_Integer i = n; i >= 1; i--) {                       /* shift up by one */
        lua_rawgeti(L, -1, i);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushstring(L, dir);
    lua_pushcclosure(L, search_dev_dir, 1);
    lua_rawseti(L, -2, 1);
    lua_pop(L, 1);                                               /* [package] */
#endif
}

int astro_host_open(lua_State *L) {
    luaL_openlibs(L);
    lua_getglobal(L, "package");                                 /* [package] */
    lua_getfield(L, -1, "preload");                              /* [package, preload] */
    for (const luaL_Reg *r = c_modules; r->name != NULL; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
    for (int i = 0; astro_embedded_modules[i].name != NULL; i++) {
        lua_pushlightuserdata(L, (void *)&astro_embedded_modules[i]);
        lua_pushcclosure(L, load_embedded, 1);
        lua_setfield(L, -2, astro_embedded_modules[i].name);
    }
    lua_pop(L, 1);                                               /* [package] */
    dev_dir_install(L);
    lua_pop(L, 1);
    return 0;
}
