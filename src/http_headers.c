/*
 * The response header-block parser of include/astro/http_headers.h.
 */
#include <string.h>

#include <lauxlib.h>

#include "astro/ascii.h"
#include "astro/http_headers.h"

/* Sets headers[lower(name)] = value, or appends sep and value to the value already there. */
static void add_header(lua_State *L, const char *name, size_t nlen, const char *value,
                       size_t vlen, const char *sep) {
    luaL_Buffer lb;
    char *dst = luaL_buffinitsize(L, &lb, nlen);
    for (size_t i = 0; i < nlen; i++) dst[i] = astro_ascii_lower(name[i]);
    luaL_pushresultsize(&lb, nlen);                      /* [headers, name] */
    lua_pushvalue(L, -1);                                /* [headers, name, name] */
    if (lua_rawget(L, -3) == LUA_TSTRING) {              /* [headers, name, old] */
        lua_pushstring(L, sep);
        lua_pushlstring(L, value, vlen);
        lua_concat(L, 3);                                /* [headers, name, old..sep..value] */
    } else {
        lua_pop(L, 1);
        lua_pushlstring(L, value, vlen);                 /* [headers, name, value] */
    }
    lua_rawset(L, -3);                                   /* [headers] */
}

/* Returns p[0..n) without leading and trailing spaces and tabs (new length in *n). */
static const char *trim(const char *p, size_t *n) {
    while (*n > 0 && (p[0] == ' ' || p[0] == '\t')) p++, (*n)--;
    while (*n > 0 && (p[*n - 1] == ' ' || p[*n - 1] == '\t')) (*n)--;
    return p;
}

int astro_http_parse_headers(lua_State *L, const char *p, size_t len) {
    const char *end = len > 0 ? p + len : p, *last = NULL;  /* p is NULL for no header */
    size_t last_len = 0;
    lua_newtable(L);                                     /* [headers] */
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;
        size_t n = (size_t)(eol - p);
        if (n > 0 && p[n - 1] == '\r') n--;
        const char *colon = memchr(p, ':', n);
        if (n > 0 && (p[0] == ' ' || p[0] == '\t') && last != NULL) {
            const char *v = trim(p, &n);
            add_header(L, last, last_len, v, n, " ");
        } else if (colon != NULL && colon > p) {
            size_t nlen = (size_t)(colon - p), vlen = n - nlen - 1;
            const char *name = trim(p, &nlen);
            const char *v = trim(colon + 1, &vlen);
            add_header(L, name, nlen, v, vlen, ", ");
            last = name;
            last_len = nlen;
        }
        p = nl != NULL ? nl + 1 : end;
    }
    return 1;
}
