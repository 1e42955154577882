/*
 * libFuzzer target "config_update": config.update (src/config.c), which loads a config file,
 * applies key-path changes to libyaml's document (aliases unshared, null parents replaced,
 * keys appended or removed) and writes it back atomically, on fuzzed files and changes.
 *
 * Input: YAML bytes, then up to 8 changes, each "\0PATH\0VALUE" (later fields may be missing).
 * PATH is a dotted path, or, when it starts with '/', an array of the '/'-separated keys after
 * it. VALUE: missing or empty -> nil (delete); "?t" / "?f" -> true / false; "#<text>" -> a
 * number (an integer when the text is one, else strtod's value, inf and nan included);
 * anything else -> that string.
 *
 * Per input, in a fresh Lua state, with the file in a private directory on /dev/shm:
 *   - a successful update leaves a file that config.read reads back as a mapping;
 *   - a failed one (nil, message, code, or a misuse error) leaves the file byte for byte as it
 *     was, the codes being yaml, path or memory (io would mean the YAML emitter refused the
 *     document the loader accepted), and no temporary file behind;
 *   - then again with Lua's allocations failing from a point picked by a hash of the input on:
 *     the memory error unwinds, the lock is released (the next update would time out
 *     otherwise), the file is untouched and nothing leaks.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "astro/core.h"
#include "fuzz_common.h"

#define LUA_LIMIT ((size_t)256 << 20)
#define MAX_CHANGES 8

static char dir[256], path[320], lockpath[330];

static void cleanup(void) {
    unlink(path);
    unlink(lockpath);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/astro-fuzz-XXXXXX", base);
    FUZZ_CHECK(mkdtemp(dir) != NULL, "cannot create a directory in %s", base);
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    snprintf(lockpath, sizeof lockpath, "%s.lock", path);
    atexit(cleanup);
    return 0;
}

/* Pushes the Lua value a VALUE field encodes. */
static void push_value(lua_State *L, const char *v, size_t n) {
    if (n == 0) {
        lua_pushnil(L);
    } else if (n == 2 && v[0] == '?' && (v[1] == 't' || v[1] == 'f')) {
        lua_pushboolean(L, v[1] == 't');
    } else if (v[0] == '#') {
        lua_pushlstring(L, v + 1, n - 1);
        const char *text = lua_tostring(L, -1);
        char *end;
        long long i = strtoll(text, &end, 10);
        if (n > 1 && *end == '\0') {
            lua_pop(L, 1);
            lua_pushinteger(L, (lua_Integer)i);
        } else {
            double d = strtod(text, NULL);
            lua_pop(L, 1);
            lua_pushnumber(L, (lua_Number)d);
        }
    } else {
        lua_pushlstring(L, v, n);
    }
}

/* Pushes a PATH field: a string, or an array of keys when it starts with '/'. */
static void push_path(lua_State *L, const char *p, size_t n) {
    if (n == 0 || p[0] != '/') {
        lua_pushlstring(L, p, n);
        return;
    }
    lua_newtable(L);
    size_t start = 1;
    lua_Integer k = 0;
    for (size_t i = 1; i <= n; i++) {
        if (i < n && p[i] != '/') continue;
        lua_pushlstring(L, p + start, i - start);
        lua_rawseti(L, -2, ++k);
        start = i + 1;
    }
}

/* Finds the next NUL-terminated field of [*p, end); returns 0 when there is none. */
static int next_field(const char **p, const char *end, const char **f, size_t *n) {
    if (*p > end) return 0;
    const char *z = memchr(*p, '\0', (size_t)(end - *p));
    *f = *p;
    *n = z ? (size_t)(z - *p) : (size_t)(end - *p);
    *p = z ? z + 1 : end + 1;
    return 1;
}

/* Protected body: [input] -> config.update(path, changes, {lock_timeout = 0}) results. */
static int update(lua_State *L) {
    const input *in = (const input *)lua_touserdata(L, 1);
    lua_settop(L, 0);
    luaL_requiref(L, "astro.core.config", luaopen_astro_core_config, 0);    /* [config] */
    lua_getfield(L, 1, "update");
    lua_pushstring(L, path);
    lua_newtable(L);                                     /* [config, update, path, changes] */
    const char *p = (const char *)in->data, *end = p + in->size;
    const char *z = memchr(p, '\0', in->size);
    p = z ? z + 1 : end + 1;                             /* past the YAML */
    const char *f;
    size_t n;
    for (int k = 1; k <= MAX_CHANGES && next_field(&p, end, &f, &n); k++) {
        lua_createtable(L, 0, 2);
        push_path(L, f, n);
        lua_setfield(L, -2, "path");
        if (next_field(&p, end, &f, &n)) {
            push_value(L, f, n);
            lua_setfield(L, -2, "value");
        }
        lua_rawseti(L, -2, k);
    }
    lua_createtable(L, 0, 1);
    lua_pushinteger(L, 0);
    lua_setfield(L, -2, "lock_timeout");
    lua_call(L, 3, LUA_MULTRET);
    lua_remove(L, 1);
    return lua_gettop(L);
}

/* Protected body: config.read(path) -> results. */
static int readback(lua_State *L) {
    lua_settop(L, 0);
    luaL_requiref(L, "astro.core.config", luaopen_astro_core_config, 0);
    lua_getfield(L, 1, "read");
    lua_pushstring(L, path);
    lua_call(L, 1, LUA_MULTRET);
    lua_remove(L, 1);
    return lua_gettop(L);
}

static void write_file(const uint8_t *data, size_t size) {
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL, "cannot write %s", path);
    FUZZ_CHECK(fwrite(data, 1, size, f) == size && fclose(f) == 0, "cannot write %s", path);
}

/* Returns 1 when the file holds exactly data. */
static int file_is(const uint8_t *data, size_t size) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return 0;
    int same = 1;
    size_t off = 0;
    unsigned char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (off + n > size || memcmp(chunk, data + off, n) != 0) same = 0;
        off += n;
    }
    fclose(f);
    return same && off == size;
}

/* Checks that the directory holds nothing but the file and its lock. */
static void check_no_leftovers(void) {
    DIR *d = opendir(dir);
    FUZZ_CHECK(d != NULL, "cannot list %s", dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        FUZZ_CHECK(strcmp(e->d_name, "config.yaml") == 0 || strcmp(e->d_name, "config.yaml.lock") == 0,
                   "left behind: %s", e->d_name);
    }
    closedir(d);
}

static void run(const uint8_t *data, size_t size, unsigned long fail_at, unsigned long *first,
                unsigned long *last) {
    const uint8_t *z = memchr(data, '\0', size);
    size_t ylen = z ? (size_t)(z - data) : size;
    write_file(data, ylen);
    fuzz_alloc a;
    lua_State *L = fuzz_newstate(&a, LUA_LIMIT, fail_at);
    if (L == NULL) return;
    input in = {data, size};
    lua_pushcfunction(L, update);
    lua_pushlightuserdata(L, &in);
    unsigned long before = a.count;
    int status = lua_pcall(L, 1, LUA_MULTRET, 0);
    int ok = status == LUA_OK && lua_toboolean(L, 1);
    if (fail_at == 0) {
        *first = before + 1;
        *last = a.count;
        FUZZ_CHECK(status == LUA_OK || status == LUA_ERRMEM ||
                       (status == LUA_ERRRUN && strstr(lua_tostring(L, -1), "bad argument")),
                   "update gave status %d: %s", status, lua_tostring(L, -1));
        if (status == LUA_OK && !ok) {
            const char *code = lua_tostring(L, 3), *msg = lua_tostring(L, 2);
            FUZZ_CHECK(code != NULL && msg != NULL, "failure is not nil, message, code");
            FUZZ_CHECK(strcmp(code, "yaml") == 0 || strcmp(code, "path") == 0 ||
                           strcmp(code, "memory") == 0,
                       "update failed with code %s: %s", code, msg);
        }
    } else {
        FUZZ_CHECK(status == LUA_ERRMEM || a.count < fail_at,
                   "allocation failure gave status %d", status);
    }
    fuzz_close_state(L, &a);
    check_no_leftovers();
    if (!ok) {
        FUZZ_CHECK(file_is(data, ylen), "a failed update changed the file");
        return;
    }
    L = fuzz_newstate(&a, LUA_LIMIT, 0);
    FUZZ_CHECK(L != NULL, "out of memory");
    lua_pushcfunction(L, readback);
    status = lua_pcall(L, 0, LUA_MULTRET, 0);
    FUZZ_CHECK(status == LUA_OK && lua_istable(L, 1), "the updated file does not read back: %s",
               lua_tostring(L, 2));
    lua_close(L);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned long first = 0, last = 0;
    run(data, size, 0, &first, &last);
    if (last >= first && first > 0)
        run(data, size, first + (unsigned long)(fuzz_hash(data, size) % (last - first + 1)),
            NULL, NULL);
    return 0;
}
