/*
 * astro-luac: the build-time compiler of the embedded Lua modules.
 *   astro-luac SOURCE OUTPUT CHUNKNAME
 * compiles SOURCE (text only) with the given chunk name (e.g. "@lua/astro/cli.lua", so
 * tracebacks name the real file and line) and writes its bytecode, debug information kept,
 * to OUTPUT. It links the same Lua library as the astro binary, so the bytecode always
 * matches the VM that loads it.
 */
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lualib.h>

/* lua_Writer that appends to a FILE. */
static int write_chunk(lua_State *L, const void *p, size_t sz, void *ud) {
    (void)L;
    return fwrite(p, 1, sz, (FILE *)ud) == sz ? 0 : 1;
}

/* Reads a whole file into a malloc'd buffer; returns NULL on failure. */
static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (cap - n < 65536) {
            char *p = realloc(buf, cap + 65536);
            if (p == NULL) { free(buf); fclose(f); return NULL; }
            buf = p;
            cap += 65536;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); return NULL; }
    *len = n;
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s SOURCE OUTPUT CHUNKNAME\n", argv[0]);
        return 2;
    }
    size_t len = 0;
    char *src = read_all(argv[1], &len);
    if (src == NULL) {
        perror(argv[1]);
        return 1;
    }
    lua_State *L = luaL_newstate();
    if (L == NULL) { free(src); return 1; }
    int status = luaL_loadbufferx(L, src, len, argv[3], "t");
    free(src);
    if (status != LUA_OK) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        lua_close(L);
        return 1;
    }
    FILE *out = fopen(argv[2], "wb");
    if (out == NULL) {
        perror(argv[2]);
        lua_close(L);
        return 1;
    }
    int werr = lua_dump(L, write_chunk, out, 0);
    if (fclose(out) != 0) werr = 1;
    lua_close(L);
    if (werr) {
        fprintf(stderr, "%s: cannot write the bytecode\n", argv[2]);
        return 1;
    }
    return 0;
}
