/*
 * libFuzzer target "yaml": astro_yaml_load (src/yaml_load.c), the loader behind config.read and
 * config.update, on arbitrary bytes.
 *
 * Each input runs in a fresh Lua state, twice: once normally, checking the result's shape
 * (a tree of tables and strings, or nil, message, "yaml"|"memory"), and once with Lua's
 * allocations failing from one picked by a hash of the input on, checking that the memory
 * error unwinds as a Lua error; lua_close then runs the loader's __gc, and LeakSanitizer
 * (libFuzzer's -detect_leaks, on by default) reports anything an error path left behind.
 */
#include <stdint.h>
#include <string.h>

#include "astro/yaml_load.h"
#include "fuzz_common.h"

#define LUA_LIMIT ((size_t)256 << 20)

/* Protected body: calls the loader and leaves its results on the stack. */
static int load(lua_State *L) {
    const input *in = (const input *)lua_touserdata(L, 1);
    lua_settop(L, 0);
    return astro_yaml_load(L, (const char *)in->data, in->size, "fuzz.yaml");
}

/* Checks that the value at idx is a string or a table of strings and tables, with string
 * keys (mappings) or 1..n integer keys (sequences). */
static void check_tree(lua_State *L, int idx, int depth) {
    int t = lua_type(L, idx);
    if (t == LUA_TSTRING) return;
    FUZZ_CHECK(t == LUA_TTABLE, "tree holds a %s", lua_typename(L, t));
    FUZZ_CHECK(depth <= ASTRO_YAML_MAX_DEPTH + 1, "tree deeper than the limit (%d)", depth);
    luaL_checkstack(L, 3, "tree");
    idx = lua_absindex(L, idx);
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0, string_keys = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        count++;
        if (lua_type(L, -2) == LUA_TSTRING) {
            string_keys++;
        } else {
            FUZZ_CHECK(lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1 &&
                           lua_tointeger(L, -2) <= n,
                       "table key is a %s", luaL_typename(L, -2));
        }
        check_tree(L, -1, depth + 1);
        lua_pop(L, 1);
    }
    FUZZ_CHECK(string_keys == 0 || string_keys == count, "table mixes string and integer keys");
    FUZZ_CHECK(string_keys > 0 || count == n, "sequence with holes");
}

/* Runs the loader in a fresh state. With fail_at 0 it checks the results and stores in
 * *first, *last the range of allocation numbers the call made; else allocations fail from
 * fail_at on and the call must end in a memory error. */
static void run(const uint8_t *data, size_t size, unsigned long fail_at, unsigned long *first,
                unsigned long *last) {
    fuzz_alloc a;
    lua_State *L = fuzz_newstate(&a, LUA_LIMIT, fail_at);
    if (L == NULL) return;
    input in = {data, size};
    lua_pushcfunction(L, load);
    lua_pushlightuserdata(L, &in);
    unsigned long before = a.count;
    int status = lua_pcall(L, 1, LUA_MULTRET, 0);
    if (fail_at != 0) {
        FUZZ_CHECK(status == LUA_ERRMEM || (status == LUA_OK && a.count < fail_at),
                   "allocation failure gave status %d", status);
    } else {
        *first = before + 1;
        *last = a.count;
        FUZZ_CHECK(status == LUA_OK || status == LUA_ERRMEM, "loader raised (status %d): %s",
                   status, lua_tostring(L, -1));
    }
    if (fail_at == 0 && status == LUA_OK) {
        int n = lua_gettop(L);
        FUZZ_CHECK(n == 1 || n == 3, "loader left %d values", n);
        if (n == 1) {
            FUZZ_CHECK(lua_istable(L, 1), "tree is a %s", luaL_typename(L, 1));
            check_tree(L, 1, 1);
        } else {
            FUZZ_CHECK(lua_isnil(L, 1) && lua_type(L, 2) == LUA_TSTRING &&
                           lua_type(L, 3) == LUA_TSTRING,
                       "failure is not nil, message, code");
            const char *code = lua_tostring(L, 3);
            FUZZ_CHECK(strcmp(code, "yaml") == 0 || strcmp(code, "memory") == 0,
                       "failure code %s", code);
            FUZZ_CHECK(strncmp(lua_tostring(L, 2), "fuzz.yaml", 9) == 0,
                       "message does not start with the name: %s", lua_tostring(L, 2));
        }
    }
    fuzz_close_state(L, &a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned long first = 0, last = 0;
    run(data, size, 0, &first, &last);
    if (last >= first && first > 0)
        run(data, size, first + (unsigned long)(fuzz_hash(data, size) % (last - first + 1)),
            NULL, NULL);
    return 0;
}
