/* The failure record of include/astro/err.h. */
#include <stdarg.h>
#include <stdio.h>

#include <lauxlib.h>

#include "astro/err.h"

int astro_err_set(astro_err *e, const char *code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code;
    return -1;
}

int astro_err_push(lua_State *L, const astro_err *e) {
    luaL_pushfail(L);
    lua_pushstring(L, e->msg);
    lua_pushstring(L, e->code);
    return 3;
}
