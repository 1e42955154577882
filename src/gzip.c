/*
 * gzip compression and decompression through zlib, for Lua as "astro.core.gzip". Contract in
 * include/astro/gzip.h.
 */
#include <stdio.h>

#include <lauxlib.h>
#include <zlib.h>

#include "astro/binding.h"
#include "astro/gzip.h"

#define GZ_MT "astro.gzip.Stream"
#define GZ_WINDOW (15 + 16)                   /* 32 KiB window, gzip header and trailer */
#define GZ_PIECE ((size_t)1 << 30)            /* input fed to zlib at most this much at a time */
#define GZ_DEFAULT_MAX ((lua_Integer)1 << 30) /* decompress: longest text by default */

enum { GZ_NONE, GZ_DEFLATE, GZ_INFLATE };

/* A zlib stream and which kind it is (GZ_NONE once ended). */
typedef struct {
    z_stream z;
    int mode;
} gz_box;

int astro_gzip_is_gzip(const void *data, size_t len) {
    const unsigned char *p = data;
    return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* Ends the zlib stream of box if it is still live. */
static void gz_end(gz_box *box) {
    if (box->mode == GZ_DEFLATE) deflateEnd(&box->z);
    else if (box->mode == GZ_INFLATE) inflateEnd(&box->z);
    box->mode = GZ_NONE;
}

/* __gc of a stream box: ends the stream, so that an error half-way leaks nothing. */
static int gz_gc(lua_State *L) {
    gz_end(luaL_checkudata(L, 1, GZ_MT));
    return 0;
}

/* Feeds the next piece of in[0..len) (from *used on) to z, at most GZ_PIECE bytes. */
static void gz_feed(z_stream *z, const char *in, size_t len, size_t *used) {
    size_t piece = len - *used;
    if (piece > GZ_PIECE) piece = GZ_PIECE;
    z->next_in = (Bytef *)(in + *used);
    z->avail_in = (uInt)piece;
    *used += piece;
}

/* gzip.is_gzip(data) -> boolean. */
static int gzip_is_gzip(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_pushboolean(L, astro_gzip_is_gzip(s, len));
    return 1;
}

/* gzip.compress(data [, level]) -> one gzip member holding data; raises on memory errors. */
static int gzip_compress(lua_State *L) {
    size_t len, used = 0;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_Integer level = luaL_optinteger(L, 2, Z_DEFAULT_COMPRESSION);
    luaL_argcheck(L, level >= -1 && level <= 9, 2, "level must be -1 to 9");
    lua_settop(L, 2);
    gz_box *box = astro_udata_new(L, sizeof *box, GZ_MT, gz_gc);       /* [data, level, box] */
    if (deflateInit2(&box->z, (int)level, Z_DEFLATED, GZ_WINDOW, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return luaL_error(L, "gzip: cannot start compressing: not enough memory");
    box->mode = GZ_DEFLATE;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int rc;
    do {
        if (box->z.avail_in == 0 && used < len) gz_feed(&box->z, s, len, &used);
        int flush = used == len ? Z_FINISH : Z_NO_FLUSH;
        char *out = luaL_prepbuffsize(&b, LUAL_BUFFERSIZE);
        box->z.next_out = (Bytef *)out;
        box->z.avail_out = (uInt)LUAL_BUFFERSIZE;
        rc = deflate(&box->z, flush);
        if (rc == Z_STREAM_ERROR) return luaL_error(L, "gzip: compression failed");
        luaL_addsize(&b, LUAL_BUFFERSIZE - box->z.avail_out);
    } while (rc != Z_STREAM_END);
    gz_end(box);
    luaL_pushresult(&b);
    return 1;
}

/* gzip.decompress(data [, max_bytes]) -> text | nil, message, "gzip": every member of the gzip
 * stream data, decoded; an invalid, cut or trailing-garbage stream, or a text past max_bytes, is
 * an expected failure. */
static int gzip_decompress(lua_State *L) {
    size_t len, used = 0;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_Integer max = luaL_optinteger(L, 2, GZ_DEFAULT_MAX);
    luaL_argcheck(L, max >= 0, 2, "max_bytes must not be negative");
    lua_settop(L, 2);
    const char *problem = NULL;
    if (!astro_gzip_is_gzip(s, len)) {
        lua_pushnil(L);
        lua_pushliteral(L, "gzip: not gzip data (it does not start with the gzip magic bytes 1f 8b)");
        lua_pushliteral(L, "gzip");
        return 3;
    }
    gz_box *box = astro_udata_new(L, sizeof *box, GZ_MT, gz_gc);       /* [data, max, box] */
    if (inflateInit2(&box->z, GZ_WINDOW) != Z_OK)
        return luaL_error(L, "gzip: cannot start decompressing: not enough memory");
    box->mode = GZ_INFLATE;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    size_t total = 0;
    for (;;) {
        if (box->z.avail_in == 0 && used < len) gz_feed(&box->z, s, len, &used);
        char *out = luaL_prepbuffsize(&b, LUAL_BUFFERSIZE);
        box->z.next_out = (Bytef *)out;
        box->z.avail_out = (uInt)LUAL_BUFFERSIZE;
        int rc = inflate(&box->z, Z_NO_FLUSH);
        size_t got = LUAL_BUFFERSIZE - box->z.avail_out;
        luaL_addsize(&b, got);
        total += got;
        if (total > (size_t)max) {
            problem = "the decompressed text is longer than max_bytes";
            break;
        }
        if (rc == Z_STREAM_END) {
            if (box->z.avail_in == 0 && used == len) break;            /* the whole input */
            /* Another member follows (as gzip -dc reads them); anything else is garbage. */
            if (box->z.avail_in == 0) gz_feed(&box->z, s, len, &used);
            if (!astro_gzip_is_gzip(box->z.next_in, box->z.avail_in) || inflateReset(&box->z) != Z_OK) {
                problem = "bytes that are not gzip follow the gzip data";
                break;
            }
            continue;
        }
        if (rc == Z_BUF_ERROR && box->z.avail_in == 0 && used == len) {
            problem = "the gzip data is cut short";
            break;
        }
        if (rc == Z_MEM_ERROR) return luaL_error(L, "gzip: not enough memory");
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            problem = box->z.msg != NULL ? box->z.msg : "invalid gzip data";
            break;
        }
    }
    if (problem != NULL) {
        char msg[160];
        snprintf(msg, sizeof msg, "gzip: %s", problem);
        gz_end(box);
        luaL_pushresult(&b);                                       /* dropped: [.., box, text] */
        lua_pushnil(L);
        lua_pushstring(L, msg);
        lua_pushliteral(L, "gzip");
        return 3;
    }
    gz_end(box);
    luaL_pushresult(&b);
    return 1;
}

static const luaL_Reg gzip_funcs[] = {
    {"is_gzip", gzip_is_gzip},
    {"compress", gzip_compress},
    {"decompress", gzip_decompress},
    {NULL, NULL}
};

int luaopen_astro_core_gzip(lua_State *L) {
    return astro_module_new(L, gzip_funcs);
}
