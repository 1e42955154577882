/*
 * Terminal-safe text (include/astro/term.h), and "astro.core.term", its Lua binding:
 *   term.escape(s [, opts]) -> string   (s itself when nothing needs escaping)
 *     opts.lines = true keeps newline and tab (text of several lines); any other key raises.
 *   term.width(stream) -> integer | nil   (stream "stdin", "stdout", "stderr" or 0, 1, 2)
 *     the columns of the terminal on that stream, nil when it is not a terminal or has no size.
 */
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <lauxlib.h>

#include "astro/binding.h"
#include "astro/core.h"
#include "astro/term.h"

static const char hex[] = "0123456789abcdef";

/* Decodes the UTF-8 sequence at p (n > 0 bytes left, RFC 3629 Table 3-7): stores its code
 * point in *cp and returns its length (1 to 4), or returns 0 when p does not start a valid
 * sequence (a continuation byte, C0/C1/F5-FF, an overlong form, a surrogate, a code point past
 * U+10FFFF, or a sequence cut short by the end or by a byte that does not continue it). */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp) {
    unsigned c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t need;
    uint32_t v;
    unsigned lo = 0x80, hi = 0xbf;                /* range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
        v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        v = c & 0x0f;
        if (c == 0xe0) lo = 0xa0;                 /* overlong */
        else if (c == 0xed) hi = 0x9f;            /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        v = c & 0x07;
        if (c == 0xf0) lo = 0x90;                 /* overlong */
        else if (c == 0xf4) hi = 0x8f;            /* past U+10FFFF */
    } else {
        return 0;
    }
    if (n < need || p[1] < lo || p[1] > hi) return 0;
    v = (v << 6) | (p[1] & 0x3fu);
    for (size_t k = 2; k < need; k++) {
        if ((p[k] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (p[k] & 0x3fu);
    }
    *cp = v;
    return need;
}

/* Returns 1 when the code point cp is escaped under flags (the rule of astro/term.h). */
static int must_escape(uint32_t cp, unsigned flags) {
    if (cp < 0x20) return !((flags & ASTRO_TERM_LINES) && (cp == '\n' || cp == '\t'));
    if (cp < 0x7f) return 0;
    if (cp <= 0x9f) return 1;                     /* DEL and the C1 controls */
    if (cp < 0x061c) return 0;
    return cp == 0x061c || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x2028 && cp <= 0x202e) ||      /* LS, PS, LRE, RLE, PDF, LRO, RLO */
           (cp >= 0x2066 && cp <= 0x2069);        /* LRI, RLI, FSI, PDI */
}

size_t astro_term_scan(const char *in, size_t len, unsigned flags) {
    const unsigned char *p = (const unsigned char *)in;
    size_t i = 0;
    while (i < len) {
        if (p[i] >= 0x20 && p[i] < 0x7f) {        /* printable ASCII: the common case */
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = utf8_decode(p + i, len - i, &cp);
        if (n == 0 || must_escape(cp, flags)) return i;
        i += n;
    }
    return len;
}

size_t astro_term_escape(const char *in, size_t len, char *out, unsigned flags) {
    const unsigned char *p = (const unsigned char *)in;
    size_t i = 0, o = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_decode(p + i, len - i, &cp);
        if (n == 0 || (cp < 0x80 && must_escape(cp, flags))) {
            out[o++] = '\\';                      /* \xNN: a byte */
            out[o++] = 'x';
            out[o++] = hex[p[i] >> 4];
            out[o++] = hex[p[i] & 0xf];
            i++;
        } else if (must_escape(cp, flags)) {
            out[o++] = '\\';                      /* \uNNNN: a code point of 2 or 3 bytes */
            out[o++] = 'u';
            for (int shift = 12; shift >= 0; shift -= 4) out[o++] = hex[(cp >> shift) & 0xf];
            i += n;
        } else {
            memcpy(out + o, p + i, n);
            o += n;
            i += n;
        }
    }
    return o;
}

/* Reads the options table of term.escape at index idx (absent or nil: none) into flags;
 * raises for a value that is not a table and for an unknown key. */
static unsigned escape_flags(lua_State *L, int idx) {
    unsigned flags = 0;
    if (lua_isnoneornil(L, idx)) return flags;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING || strcmp(lua_tostring(L, -2), "lines") != 0)
            luaL_argerror(L, idx, "unknown option (only lines is known)");
        if (lua_toboolean(L, -1)) flags |= ASTRO_TERM_LINES;
        lua_pop(L, 1);
    }
    return flags;
}

/* term.escape(s [, opts]) -> s escaped by the rule of astro/term.h; s itself when nothing in
 * it needs escaping. */
static int term_escape(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    unsigned flags = escape_flags(L, 2);
    size_t first = astro_term_scan(s, len, flags);
    if (first == len) {
        lua_settop(L, 1);
        return 1;
    }
    size_t rest = len - first;
    if (rest > (SIZE_MAX - first) / 4) return luaL_error(L, "text too long to escape");
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, first + ASTRO_TERM_MAX(rest));
    memcpy(out, s, first);
    size_t n = astro_term_escape(s + first, rest, out + first, flags);
    luaL_pushresultsize(&b, first + n);
    return 1;
}

int astro_term_columns(int fd) {
    struct winsize ws;
    if (!isatty(fd) || ioctl(fd, TIOCGWINSZ, &ws) != 0) return 0;
    return (int)ws.ws_col;
}

/* term.width(stream) -> the columns of the terminal on stream ("stdin", "stdout", "stderr" or
 * 0, 1, 2), or nil when it is not a terminal or does not know its size. */
static int term_width(lua_State *L) {
    static const char *const names[] = {"stdin", "stdout", "stderr", NULL};
    int fd = lua_type(L, 1) == LUA_TSTRING ? luaL_checkoption(L, 1, NULL, names)
                                           : (int)luaL_checkinteger(L, 1);
    luaL_argcheck(L, fd >= 0 && fd <= 2, 1, "stream must be stdin, stdout or stderr (0, 1 or 2)");
    int cols = astro_term_columns(fd);
    if (cols > 0) lua_pushinteger(L, cols);
    else lua_pushnil(L);
    return 1;
}

static const luaL_Reg term_funcs[] = {
    {"escape", term_escape},
    {"width", term_width},
    {NULL, NULL}
};

int luaopen_astro_core_term(lua_State *L) {
    return astro_module_new(L, term_funcs);
}
