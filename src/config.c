/* "astro.core.config": placeholder until the primitive lands. */
#include <lauxlib.h>
#include "astro/core.h"

static const luaL_Reg funcs[] = {{NULL, NULL}};

int luaopen_astro_core_config(lua_State *L) {
    luaL_newlib(L, funcs);
    return 1;
}
