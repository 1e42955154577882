/*
 * libFuzzer target "jwt": the JWT parsers of src/jwt.c and auth.jwt_decode (src/auth.c) on
 * arbitrary bytes:
 *   - astro_b64url_decode on the whole input, into a heap buffer of exactly the size its
 *     contract asks for ((len / 4 + 1) * 3), so a write past it is an ASan report;
 *   - astro_jwt_split, whose segments must lie inside the input between the dots, each then
 *     decoded into an exact-size buffer;
 *   - the Lua-facing auth.jwt_decode (module astro.core.auth) in a fresh Lua state, whose
 *     answer must agree with the direct calls: the two decoded segments, or nil, message,
 *     "malformed" with a message that does not contain the token; then the same call with
 *     Lua's allocations failing from a point picked by a hash of the input on (a memory
 *     error must unwind cleanly);
 *   - auth.resolve(input) with ASTRO_API_TOKEN unset: "Bearer <token>", "config" or
 *     nil, message, "missing".
 */
#define _GNU_SOURCE                              /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "astro/core.h"
#include "astro/jwt.h"
#include "fuzz_common.h"

#define LUA_LIMIT ((size_t)64 << 20)

typedef struct {
    int ok;                                      /* split and both segments decoded */
    unsigned char *hdr, *pay;
    size_t hdr_len, pay_len;
} direct;

/* Decodes in[0..len) into a fresh buffer of exactly the documented size; returns it (NULL
 * when the text is not base64url) with the decoded length in *outlen. */
static unsigned char *decode_exact(const char *in, size_t len, size_t *outlen) {
    size_t cap = (len / 4 + 1) * 3;
    unsigned char *out = malloc(cap);
    FUZZ_CHECK(out != NULL, "out of memory");
    *outlen = (size_t)-1;
    if (astro_b64url_decode(in, len, out, outlen) != 0) {
        free(out);
        return NULL;
    }
    size_t eff = len;
    while (eff > 0 && in[eff - 1] == '=') eff--;
    FUZZ_CHECK(*outlen == eff * 6 / 8, "decoded %zu bytes from %zu characters", *outlen, eff);
    return out;
}

static direct decode_direct(const char *tok, size_t size) {
    direct d = {0, NULL, NULL, 0, 0};
    size_t outlen;
    free(decode_exact(tok, size, &outlen));
    size_t ho = 0, hl = 0, po = 0, pl = 0;
    if (astro_jwt_split(tok, size, &ho, &hl, &po, &pl) != 0) return d;
    FUZZ_CHECK(hl > 0 && pl > 0 && ho + hl < size && po == ho + hl + 1 && po + pl < size,
               "segments %zu+%zu, %zu+%zu in %zu bytes", ho, hl, po, pl, size);
    FUZZ_CHECK(tok[ho + hl] == '.' && tok[po + pl] == '.' && po + pl + 1 < size &&
                   memchr(tok + ho, '.', hl) == NULL && memchr(tok + po, '.', pl) == NULL &&
                   memchr(tok + po + pl + 1, '.', size - po - pl - 1) == NULL,
               "segments are not the three dot-separated parts");
    FUZZ_CHECK(ho == 0 || (ho == 7 && memcmp(tok, "Bearer ", 7) == 0), "header offset %zu", ho);
    d.hdr = decode_exact(tok + ho, hl, &d.hdr_len);
    d.pay = decode_exact(tok + po, pl, &d.pay_len);
    d.ok = d.hdr != NULL && d.pay != NULL;
    return d;
}

static int call_jwt_decode(lua_State *L) {
    size_t size = (size_t)lua_tointeger(L, 2);
    const char *tok = (const char *)lua_touserdata(L, 1);
    lua_settop(L, 0);
    luaL_requiref(L, "astro.core.auth", luaopen_astro_core_auth, 0);    /* [auth] */
    lua_getfield(L, 1, "jwt_decode");
    lua_pushlstring(L, tok, size);
    lua_call(L, 1, LUA_MULTRET);                                         /* [auth, ...] */
    lua_remove(L, 1);
    return lua_gettop(L);
}

static int call_resolve(lua_State *L) {
    size_t size = (size_t)lua_tointeger(L, 2);
    const char *tok = (const char *)lua_touserdata(L, 1);
    lua_settop(L, 0);
    luaL_requiref(L, "astro.core.auth", luaopen_astro_core_auth, 0);
    lua_getfield(L, 1, "resolve");
    lua_pushlstring(L, tok, size);
    lua_call(L, 1, LUA_MULTRET);
    lua_remove(L, 1);
    return lua_gettop(L);
}

/* Runs fn(tok) in a fresh state; with fail_at 0, stores the allocation range of the call in
 * *first, *last and leaves the state open in *out (the caller checks and closes it). */
static int run(lua_CFunction fn, const char *tok, size_t size, unsigned long fail_at,
               fuzz_alloc *a, lua_State **out, unsigned long *first, unsigned long *last) {
    lua_State *L = fuzz_newstate(a, LUA_LIMIT, fail_at);
    *out = L;
    if (L == NULL) return -1;
    lua_pushcfunction(L, fn);
    lua_pushlightuserdata(L, (void *)tok);
    lua_pushinteger(L, (lua_Integer)size);
    unsigned long before = a->count;
    int status = lua_pcall(L, 2, LUA_MULTRET, 0);
    if (first != NULL) {
        *first = before + 1;
        *last = a->count;
    }
    return status;
}

static void check_jwt_decode(const uint8_t *data, size_t size, const direct *d) {
    const char *tok = (const char *)data;
    fuzz_alloc a;
    lua_State *L;
    unsigned long first = 0, last = 0;
    int status = run(call_jwt_decode, tok, size, 0, &a, &L, &first, &last);
    if (L == NULL) return;
    FUZZ_CHECK(status == LUA_OK || status == LUA_ERRMEM, "jwt_decode raised: %s",
               lua_tostring(L, -1));
    if (status == LUA_OK && d->ok && size <= ASTRO_JWT_MAX_LEN) {
        size_t hl, pl;
        FUZZ_CHECK(lua_gettop(L) == 2, "jwt_decode gave %d values for a valid token",
                   lua_gettop(L));
        const char *h = lua_tolstring(L, 1, &hl), *p = lua_tolstring(L, 2, &pl);
        FUZZ_CHECK(h != NULL && p != NULL && hl == d->hdr_len && pl == d->pay_len &&
                       memcmp(h, d->hdr, hl) == 0 && memcmp(p, d->pay, pl) == 0,
                   "jwt_decode disagrees with astro_b64url_decode");
    } else if (status == LUA_OK) {
        FUZZ_CHECK(lua_gettop(L) == 3 && lua_isnil(L, 1) && lua_type(L, 2) == LUA_TSTRING &&
                       lua_type(L, 3) == LUA_TSTRING &&
                       strcmp(lua_tostring(L, 3), "malformed") == 0,
                   "jwt_decode of an invalid token is not nil, message, \"malformed\"");
        size_t ml;
        const char *msg = lua_tolstring(L, 2, &ml);
        /* (the fixed texts of the messages hold no '.', a token of three parts does) */
        FUZZ_CHECK(size < 8 || memchr(tok, '.', size) == NULL || memmem(msg, ml, tok, size) == NULL,
                   "message holds the token");
    }
    fuzz_close_state(L, &a);
    if (last >= first && first > 0) {
        unsigned long fail_at = first + (unsigned long)(fuzz_hash(data, size) % (last - first + 1));
        status = run(call_jwt_decode, tok, size, fail_at, &a, &L, NULL, NULL);
        if (L != NULL)
            FUZZ_CHECK(status == LUA_ERRMEM || (status == LUA_OK && a.count < fail_at),
                       "allocation failure gave status %d", status);
        fuzz_close_state(L, &a);
    }
}

static void check_resolve(const uint8_t *data, size_t size) {
    fuzz_alloc a;
    lua_State *L;
    int status = run(call_resolve, (const char *)data, size, 0, &a, &L, NULL, NULL);
    if (L == NULL) return;
    FUZZ_CHECK(status == LUA_OK || status == LUA_ERRMEM, "resolve raised: %s",
               lua_tostring(L, -1));
    if (status == LUA_OK) {
        int n = lua_gettop(L);
        if (n == 2) {
            /* Every credential carries "Bearer " (a token saved with leading spaces and no
             * prefix once came back without it: regressions/jwt/resolve-leading-space-...). */
            FUZZ_CHECK(lua_type(L, 1) == LUA_TSTRING &&
                           strncmp(lua_tostring(L, 1), "Bearer ", 7) == 0 &&
                           strcmp(lua_tostring(L, 2), "config") == 0,
                       "resolve gave %s, %s", lua_tostring(L, 1), lua_tostring(L, 2));
        } else {
            FUZZ_CHECK(n == 3 && lua_isnil(L, 1) && strcmp(lua_tostring(L, 3), "missing") == 0,
                       "resolve gave %d values", n);
        }
    }
    fuzz_close_state(L, &a);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    unsetenv("ASTRO_API_TOKEN");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    direct d = decode_direct((const char *)data, size);
    check_jwt_decode(data, size, &d);
    check_resolve(data, size);
    free(d.hdr);
    free(d.pay);
    return 0;
}
