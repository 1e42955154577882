/*
 * astro-luac: the build-time compiler of the embedded Lua modules.
 *   astro-luac SOURCE OUTPUT CHUNKNAME
 * compiles SOURCE (text only) with the given chunk name (e.g. "@lua/astro/cli.lua", so
 * tracebacks name the real file and line) and writes its bytecode to OUTPUT. The debug
 * information is kept but for the names of local variables: line numbers, upvalue names
 * (so messages still say "global 'x'" and "upvalue 'y'") and function sources stay; dropping
 * the locals' names spares start-up the interning of some thousand strings. It links the
 * same Lua library as the astro binary, so the bytecode always matches the VM that loads it,
 * and it loads the rewritten chunk back before writing it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

/* A growable byte buffer. */
typedef struct { unsigned char *p; size_t n, cap; } bytes;

/* Appends sz bytes to b; returns 0, or 1 when out of memory. */
static int put(bytes *b, const void *p, size_t sz) {
    if (b->cap - b->n < sz) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->n < sz) cap *= 2;
        unsigned char *q = realloc(b->p, cap);
        if (q == NULL) return 1;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, sz);
    b->n += sz;
    return 0;
}

/* lua_Writer that appends to a bytes buffer. */
static int write_chunk(lua_State *L, const void *p, size_t sz, void *ud) {
    (void)L;
    return put(ud, p, sz);
}

/* A reader and writer over a Lua 5.4 binary chunk (the format of Lua's ldump.c). */
typedef struct { const unsigned char *p, *end; bytes *out; int bad; } chunk;

/* Copies n bytes of the input to the output (copy != 0) or skips them. */
static void take(chunk *c, size_t n, int copy) {
    if (c->bad || (size_t)(c->end - c->p) < n) { c->bad = 1; return; }
    if (copy && put(c->out, c->p, n)) c->bad = 1;
    c->p += n;
}

/* Reads one size (7-bit groups, high first, the last byte marked with 0x80), copying it or not. */
static size_t size_at(chunk *c, int copy) {
    size_t x = 0;
    const unsigned char *start = c->p;
    for (;;) {
        if (c->p >= c->end || x > (SIZE_MAX >> 7)) { c->bad = 1; return 0; }
        unsigned char b = *c->p++;
        x = (x << 7) | (b & 0x7f);
        if (b & 0x80) break;
    }
    if (copy && put(c->out, start, (size_t)(c->p - start))) c->bad = 1;
    return x;
}

/* Reads one string (its size + 1, or 0 for none, then its bytes), copying it or not. */
static void string_at(chunk *c, int copy) {
    size_t n = size_at(c, copy);
    if (n > 0) take(c, n - 1, copy);
}

/* Copies one function and its nested ones, leaving out the names of local variables. */
static void function_at(chunk *c, int depth) {
    if (depth > 200) { c->bad = 1; return; }
    string_at(c, 1);                                   /* source */
    size_at(c, 1);                                     /* linedefined */
    size_at(c, 1);                                     /* lastlinedefined */
    take(c, 3, 1);                                     /* numparams, is_vararg, maxstacksize */
    take(c, size_at(c, 1) * 4, 1);                     /* code */
    size_t nk = size_at(c, 1);                         /* constants */
    for (size_t i = 0; i < nk && !c->bad; i++) {
        unsigned char tag = c->p < c->end ? *c->p : 0;
        take(c, 1, 1);
        if (tag == 3 || tag == 19) take(c, 8, 1);      /* integer, float */
        else if (tag == 4 || tag == 20) string_at(c, 1);  /* short, long string */
        else if (tag != 0 && tag != 1 && tag != 17) c->bad = 1;  /* nil, false, true */
    }
    take(c, size_at(c, 1) * 3, 1);                     /* upvalues: instack, idx, kind */
    size_t np = size_at(c, 1);                         /* nested functions */
    for (size_t i = 0; i < np && !c->bad; i++) function_at(c, depth + 1);
    take(c, size_at(c, 1), 1);                         /* lineinfo */
    size_t na = size_at(c, 1);                         /* abslineinfo: pc, line */
    for (size_t i = 0; i < na && !c->bad; i++) { size_at(c, 1); size_at(c, 1); }
    size_t nl = size_at(c, 0);                         /* locvars: dropped, count 0 */
    if (!c->bad && put(c->out, "\x80", 1)) c->bad = 1;
    for (size_t i = 0; i < nl && !c->bad; i++) { string_at(c, 0); size_at(c, 0); size_at(c, 0); }
    size_t nu = size_at(c, 1);                         /* upvalue names */
    for (size_t i = 0; i < nu && !c->bad; i++) string_at(c, 1);
}

/* Rewrites the chunk in into out without the locals' names. Returns 0, or 1 when in is not a
 * chunk of the expected format (header: signature 4, version, format, data 6, three sizes,
 * an integer and a number of 8 bytes each; then the main function's upvalue count). */
static int strip_locals(const bytes *in, bytes *out) {
    chunk c = { in->p, in->p + in->n, out, 0 };
    if (in->n < 33 || memcmp(in->p, LUA_SIGNATURE, 4) != 0 || in->p[4] != 0x54) return 1;
    take(&c, 4 + 1 + 1 + 6 + 3 + 8 + 8 + 1, 1);
    function_at(&c, 0);
    return c.bad || c.p != c.end;
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
    bytes full = { 0 }, lean = { 0 };
    int bad = lua_dump(L, write_chunk, &full, 0) != 0;
    if (bad) fprintf(stderr, "%s: cannot dump the bytecode\n", argv[1]);
    if (!bad && strip_locals(&full, &lean) != 0) {
        fprintf(stderr, "%s: the bytecode is not in the Lua 5.4 format this tool reads\n", argv[1]);
        bad = 1;
    }
    if (!bad && luaL_loadbufferx(L, (const char *)lean.p, lean.n, argv[3], "b") != LUA_OK) {
        fprintf(stderr, "%s: the rewritten bytecode does not load: %s\n", argv[1], lua_tostring(L, -1));
        bad = 1;
    }
    lua_close(L);
    FILE *out = bad ? NULL : fopen(argv[2], "wb");
    if (!bad && out == NULL) { perror(argv[2]); bad = 1; }
    if (out != NULL && (fwrite(lean.p, 1, lean.n, out) != lean.n) + (fclose(out) != 0) != 0) {
        fprintf(stderr, "%s: cannot write the bytecode\n", argv[2]);
        bad = 1;
    }
    free(full.p);
    free(lean.p);
    return bad;
}
