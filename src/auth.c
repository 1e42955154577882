/*
 * "astro.core.auth": the credential for a request and the claims of a JWT.
 *   auth.resolve(context_token) -> header value, source | nil, message, "missing"
 *   auth.jwt_decode(token)      -> header JSON text, payload JSON text | nil, message, "malformed"
 * The signature is never verified: the claims only tell the tool when a token expires and
 * which organization it belongs to; the API decides what the token may do.
 * No message produced here contains the token.
 */
#include <string.h>

#include <lauxlib.h>

#include "astro/binding.h"
#include "astro/core.h"
#include "astro/env.h"
#include "astro/jwt.h"

/* Decodes one base64url segment and pushes it as a string; returns 0 or -1 (nothing pushed). */
static int push_segment(lua_State *L, const char *seg, size_t len) {
    luaL_Buffer b;
    unsigned char *out = (unsigned char *)luaL_buffinitsize(L, &b, (len / 4 + 1) * 3);
    size_t outlen = 0;
    if (astro_b64url_decode(seg, len, out, &outlen) != 0) {
        luaL_pushresultsize(&b, 0);
        lua_pop(L, 1);
        return -1;
    }
    luaL_pushresultsize(&b, outlen);
    return 0;
}

/* Pushes nil, message, "malformed" and returns 3. */
static int malformed(lua_State *L, const char *why) {
    lua_pushnil(L);
    lua_pushfstring(L, "the token is not a valid JWT (%s)", why);
    lua_pushliteral(L, "malformed");
    return 3;
}

/* auth.jwt_decode(token) -> header JSON text, payload JSON text | nil, message, "malformed". */
static int auth_jwt_decode(lua_State *L) {
    size_t len;
    const char *tok = luaL_checklstring(L, 1, &len);
    size_t ho, hl, po, pl;
    if (len > ASTRO_JWT_MAX_LEN) return malformed(L, "too long");
    if (astro_jwt_split(tok, len, &ho, &hl, &po, &pl) != 0)
        return malformed(L, "expected three dot-separated parts");
    if (push_segment(L, tok + ho, hl) != 0) return malformed(L, "header is not base64url");
    if (push_segment(L, tok + po, pl) != 0) return malformed(L, "payload is not base64url");
    return 2;
}

/* auth.resolve([context_token]) -> "Bearer <token>", source | nil, message, "missing".
 * ASTRO_API_TOKEN wins (source "ASTRO_API_TOKEN"; a value already starting with "Bearer " is
 * kept as it is); else the context's token, which already carries "Bearer " (source "config"). */
static int auth_resolve(lua_State *L) {
    const char *env = astro_env_value("ASTRO_API_TOKEN");
    if (env != NULL) {
        if (strncmp(env, ASTRO_BEARER, ASTRO_BEARER_LEN) == 0) lua_pushstring(L, env);
        else lua_pushfstring(L, ASTRO_BEARER "%s", env);
        lua_pushliteral(L, "ASTRO_API_TOKEN");
        return 2;
    }
    size_t len = 0;
    const char *ctx = luaL_optlstring(L, 1, "", &len);
    int prefixed = strncmp(ctx, ASTRO_BEARER, ASTRO_BEARER_LEN) == 0;
    const char *bare = prefixed ? ctx + ASTRO_BEARER_LEN : ctx;
    while (*bare == ' ') bare++;
    if (*bare == '\0') {
        lua_pushnil(L);
        lua_pushliteral(L, "no credentials: set ASTRO_API_TOKEN to an Astro API token, "
                           "or log in with the astro CLI (astro login) so that the current "
                           "context holds a token");
        lua_pushliteral(L, "missing");
        return 3;
    }
    if (!prefixed) lua_pushfstring(L, ASTRO_BEARER "%s", bare);  /* saved without the prefix */
    else lua_pushvalue(L, 1);
    lua_pushliteral(L, "config");
    return 2;
}

static const luaL_Reg auth_funcs[] = {
    {"jwt_decode", auth_jwt_decode},
    {"resolve", auth_resolve},
    {NULL, NULL}
};

int luaopen_astro_core_auth(lua_State *L) {
    return astro_module_new(L, auth_funcs);
}
