/* The Lua binding helpers of include/astro/binding.h. */
#include <string.h>

#include "astro/binding.h"

int astro_module_new(lua_State *L, const luaL_Reg *funcs) {
    int n = 0;
    while (funcs[n].name != NULL) n++;
    luaL_checkversion(L);
    lua_createtable(L, 0, n);                    /* as luaL_newlib sizes it */
    luaL_setfuncs(L, funcs, 0);
    return 1;
}

int astro_push_errno(lua_State *L, const char *path, int err) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, strerror(err));
    lua_pushliteral(L, "io");
    return 3;
}

void *astro_udata_new(lua_State *L, size_t size, const char *tname, lua_CFunction gc) {
    void *p = lua_newuserdatauv(L, size, 0);
    memset(p, 0, size);
    if (luaL_newmetatable(L, tname)) {
        lua_pushcfunction(L, gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return p;
}
