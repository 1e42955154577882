/*
 * libFuzzer target "headers": astro_http_parse_headers (src/http_headers.c), the parser that
 * turns a response's raw header block, as libcurl hands it over, into the headers table, on
 * arbitrary bytes, in a fresh Lua state per input:
 *   - the table maps names to values, both strings; names have no ASCII capital, no ':' and
 *     no line break, values no '\n';
 *   - the parser reads only [p, p + len) (the input buffer has no terminator);
 *   - then again with Lua's allocations failing from a point picked by a hash of the input
 *     on: a memory error must unwind as a Lua error and leak nothing.
 */
#include <stdint.h>
#include <string.h>

#include "astro/http_headers.h"
#include "fuzz_common.h"

#define LUA_LIMIT ((size_t)64 << 20)

static int parse(lua_State *L) {
    const input *in = (const input *)lua_touserdata(L, 1);
    lua_settop(L, 0);
    return astro_http_parse_headers(L, (const char *)in->data, in->size);
}

static void check_table(lua_State *L) {
    FUZZ_CHECK(lua_gettop(L) == 1 && lua_istable(L, 1), "parser did not leave one table");
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
        size_t nl, vl;
        FUZZ_CHECK(lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING,
                   "headers[%s] = %s", luaL_typename(L, -2), luaL_typename(L, -1));
        const char *name = lua_tolstring(L, -2, &nl), *value = lua_tolstring(L, -1, &vl);
        for (size_t i = 0; i < nl; i++)
            FUZZ_CHECK(!(name[i] >= 'A' && name[i] <= 'Z') && name[i] != ':' &&
                           name[i] != '\n',
                       "header name has byte 0x%02x", (unsigned char)name[i]);
        FUZZ_CHECK(memchr(value, '\n', vl) == NULL, "header value has a line feed");
        lua_pop(L, 1);
    }
}

static void run(const uint8_t *data, size_t size, unsigned long fail_at, unsigned long *first,
                unsigned long *last) {
    fuzz_alloc a;
    lua_State *L = fuzz_newstate(&a, LUA_LIMIT, fail_at);
    if (L == NULL) return;
    input in = {data, size};
    lua_pushcfunction(L, parse);
    lua_pushlightuserdata(L, &in);
    unsigned long before = a.count;
    int status = lua_pcall(L, 1, LUA_MULTRET, 0);
    if (fail_at == 0) {
        *first = before + 1;
        *last = a.count;
        FUZZ_CHECK(status == LUA_OK, "parser raised (status %d): %s", status,
                   lua_tostring(L, -1));
        check_table(L);
    } else {
        FUZZ_CHECK(status == LUA_ERRMEM || (status == LUA_OK && a.count < fail_at),
                   "allocation failure gave status %d", status);
    }
    fuzz_close_state(L, &a);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    /* An empty block from a NULL buffer, as a transfer that received no header would give. */
    fuzz_alloc a;
    lua_State *L = fuzz_newstate(&a, LUA_LIMIT, 0);
    FUZZ_CHECK(L != NULL, "out of memory");
    input in = {NULL, 0};
    lua_pushcfunction(L, parse);
    lua_pushlightuserdata(L, &in);
    FUZZ_CHECK(lua_pcall(L, 1, 1, 0) == LUA_OK, "parser raised on an empty block");
    check_table(L);
    lua_close(L);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned long first = 0, last = 0;
    run(data, size, 0, &first, &last);
    if (last >= first && first > 0)
        run(data, size, first + (unsigned long)(fuzz_hash(data, size) % (last - first + 1)),
            NULL, NULL);
    return 0;
}
