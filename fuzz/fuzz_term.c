/*
 * libFuzzer target "term": astro_term_scan and astro_term_escape (src/term.c) on arbitrary
 * bytes, with and without ASTRO_TERM_LINES, and term.escape (module astro.core.term) through
 * Lua:
 *   - the output is valid UTF-8 (checked by a decoder of this file, written from RFC 3629
 *     independently of src/term.c), holds no byte below 0x20 (but newline and tab with
 *     ASTRO_TERM_LINES), no 0x7f, no C1 control (U+0080-U+009F) and no bidi control or line
 *     separator (U+061C, U+200E, U+200F, U+2028-U+202E, U+2066-U+2069);
 *   - it fits in ASTRO_TERM_MAX(len) bytes: the output buffer is of exactly that size on the
 *     heap, and the input is copied into an unterminated exact-size buffer, so a read or write
 *     past either is an ASan report;
 *   - input that is printable ASCII comes back unchanged, and so does any input astro_term_scan
 *     finds safe; else the output is the input up to the scan's offset, then something else;
 *   - escaping the output again changes nothing;
 *   - term.escape gives the same bytes in a fresh Lua state; with Lua's allocations failing
 *     from a point picked by a hash of the input on, it ends in a memory error that leaks
 *     nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "astro/core.h"
#include "astro/term.h"
#include "fuzz_common.h"

#define LUA_LIMIT ((size_t)64 << 20)

/* Decodes one UTF-8 sequence at p (n > 0 bytes left) into *cp; returns its length, or 0 when
 * it is not valid (RFC 3629: shortest form only, no surrogates, at most U+10FFFF). */
static size_t decode(const unsigned char *p, size_t n, uint32_t *cp) {
    size_t need;
    uint32_t v, min;
    if (p[0] < 0x80) { *cp = p[0]; return 1; }
    if ((p[0] & 0xe0) == 0xc0) { need = 2; v = p[0] & 0x1fu; min = 0x80; }
    else if ((p[0] & 0xf0) == 0xe0) { need = 3; v = p[0] & 0x0fu; min = 0x800; }
    else if ((p[0] & 0xf8) == 0xf0) { need = 4; v = p[0] & 0x07u; min = 0x10000; }
    else return 0;
    if (n < need) return 0;
    for (size_t k = 1; k < need; k++) {
        if ((p[k] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (p[k] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return need;
}

/* Checks the properties of an escaped text out[0..len) made under flags. */
static void check_safe(const char *out, size_t len, unsigned flags) {
    const unsigned char *p = (const unsigned char *)out;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = decode(p + i, len - i, &cp);
        FUZZ_CHECK(n > 0, "output is not UTF-8 at offset %zu (byte 0x%02x)", i, p[i]);
        if (cp < 0x20)
            FUZZ_CHECK((flags & ASTRO_TERM_LINES) && (cp == '\n' || cp == '\t'),
                       "control 0x%02x in the output at %zu", (unsigned)cp, i);
        FUZZ_CHECK(cp != 0x7f, "DEL in the output at %zu", i);
        FUZZ_CHECK(cp < 0x80 || cp > 0x9f, "C1 control U+%04X in the output at %zu", (unsigned)cp, i);
        FUZZ_CHECK(cp != 0x061c && cp != 0x200e && cp != 0x200f && !(cp >= 0x2028 && cp <= 0x202e) &&
                       !(cp >= 0x2066 && cp <= 0x2069),
                   "bidi control or separator U+%04X in the output at %zu", (unsigned)cp, i);
        i += n;
    }
}

/* Escapes in[0..len) into an exact-size heap buffer; returns it, its length in *outlen. */
static char *escape(const char *in, size_t len, unsigned flags, size_t *outlen) {
    size_t cap = ASTRO_TERM_MAX(len);
    char *out = malloc(cap ? cap : 1);
    FUZZ_CHECK(out != NULL, "out of memory");
    *outlen = astro_term_escape(in, len, out, flags);
    FUZZ_CHECK(*outlen <= cap, "wrote %zu bytes for %zu", *outlen, len);
    return out;
}

/* Runs the direct checks under flags; returns the escaped text (the caller frees it). */
static char *check_direct(const char *in, size_t len, unsigned flags, size_t *outlen) {
    size_t first = astro_term_scan(in, len, flags);
    FUZZ_CHECK(first <= len, "scan gave %zu for %zu bytes", first, len);
    char *out = escape(in, len, flags, outlen);
    check_safe(out, *outlen, flags);
    int ascii = 1;
    for (size_t i = 0; i < len && ascii; i++) ascii = in[i] >= 0x20 && in[i] < 0x7f;
    if (ascii) FUZZ_CHECK(first == len, "printable ASCII found unsafe at %zu", first);
    if (first == len) {
        FUZZ_CHECK(*outlen == len && memcmp(out, in, len) == 0, "safe text changed");
    } else {
        /* (every escape is longer than what it stands for) */
        FUZZ_CHECK(*outlen > len && memcmp(out, in, first) == 0,
                   "output does not keep the safe prefix of %zu bytes and grow", first);
    }
    size_t again_len;
    char *again = escape(out, *outlen, flags, &again_len);
    FUZZ_CHECK(again_len == *outlen && memcmp(again, out, again_len) == 0, "escaping twice changed the text");
    FUZZ_CHECK(astro_term_scan(out, *outlen, flags) == *outlen, "the output scans as unsafe");
    free(again);
    return out;
}

/* Protected: term.escape(input [, {lines = true}]); [data, size, lines] as arguments. */
static int call_escape(lua_State *L) {
    const char *data = (const char *)lua_touserdata(L, 1);
    size_t size = (size_t)lua_tointeger(L, 2);
    int lines = lua_toboolean(L, 3);
    lua_settop(L, 0);
    luaL_requiref(L, "astro.core.term", luaopen_astro_core_term, 0);  /* [term] */
    lua_getfield(L, 1, "escape");
    lua_pushlstring(L, data, size);
    if (lines) {
        lua_createtable(L, 0, 1);
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "lines");
    }
    lua_call(L, lines ? 2 : 1, 1);
    return 1;
}

/* Runs call_escape in a fresh state; see fuzz_jwt.c's run for first/last. */
static int run(const char *data, size_t size, int lines, unsigned long fail_at, fuzz_alloc *a,
               lua_State **out, unsigned long *first, unsigned long *last) {
    lua_State *L = fuzz_newstate(a, LUA_LIMIT, fail_at);
    *out = L;
    if (L == NULL) return -1;
    lua_pushcfunction(L, call_escape);
    lua_pushlightuserdata(L, (void *)data);
    lua_pushinteger(L, (lua_Integer)size);
    lua_pushboolean(L, lines);
    unsigned long before = a->count;
    int status = lua_pcall(L, 3, 1, 0);
    if (first != NULL) {
        *first = before + 1;
        *last = a->count;
    }
    return status;
}

/* term.escape agrees with astro_term_escape, and unwinds cleanly when memory runs out. */
static void check_lua(const uint8_t *data, size_t size, int lines, const char *want, size_t want_len) {
    fuzz_alloc a;
    lua_State *L;
    unsigned long first = 0, last = 0;
    int status = run((const char *)data, size, lines, 0, &a, &L, &first, &last);
    if (L == NULL) return;
    FUZZ_CHECK(status == LUA_OK || status == LUA_ERRMEM, "term.escape raised: %s", lua_tostring(L, -1));
    if (status == LUA_OK) {
        size_t got_len;
        const char *got = lua_tolstring(L, -1, &got_len);
        FUZZ_CHECK(got != NULL && got_len == want_len && memcmp(got, want, want_len) == 0,
                   "term.escape disagrees with astro_term_escape");
    }
    fuzz_close_state(L, &a);
    if (last >= first && first > 0) {
        unsigned long fail_at = first + (unsigned long)(fuzz_hash(data, size) % (last - first + 1));
        status = run((const char *)data, size, lines, fail_at, &a, &L, NULL, NULL);
        if (L != NULL)
            FUZZ_CHECK(status == LUA_ERRMEM || (status == LUA_OK && a.count < fail_at),
                       "allocation failure gave status %d", status);
        fuzz_close_state(L, &a);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *in = malloc(size ? size : 1);
    FUZZ_CHECK(in != NULL, "out of memory");
    if (size) memcpy(in, data, size);
    for (int lines = 0; lines <= 1; lines++) {
        size_t out_len;
        char *out = check_direct(in, size, lines ? ASTRO_TERM_LINES : 0, &out_len);
        check_lua(data, size, lines, out, out_len);
        free(out);
    }
    free(in);
    return 0;
}
