/*
 * "astro.core.http": raw HTTP over libcurl. A Session owns a pool (src/http_pool.c: one curl
 * multi handle, with its connection cache, DNS cache and keep-alive connections, and a few
 * reusable easy handles); session:request(req) is a batch of one, session:batch(reqs, opts)
 * runs many transfers at once (src/http_sched.c) and returns the results in input order.
 * Also http.parse_retry_after, the Retry-After header parser (src/http_date.c). Retry
 * policy, JSON and pagination live in Lua. This file turns Lua tables into checked requests
 * (src/http_check.c) and outcomes (src/http_xfer.c) into result tables.
 *
 * Errors follow include/astro/core.h: misuse raises; a failed transfer gives nil, message,
 * code, where code is connect, timeout, interrupted, send, recv, tls, too_large or other.
 * A message names the URL's host and port, never the URL's path or query, never a header.
 *
 * Resources: everything one request/batch call acquires (request header lists, transfer
 * slots, easy handles added to the multi) is recorded in an http_call on the C stack of
 * session_run, which runs the Lua-facing work under lua_pcall and releases it all on every
 * path before rethrowing. The session itself starts closed (pool.multi == NULL), like
 * liolib's files, so an error while opening never leaks a handle.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <lauxlib.h>

#include "astro/binding.h"
#include "astro/core.h"
#include "astro/http_check.h"
#include "astro/http_date.h"
#include "astro/http_headers.h"
#include "astro/http_pool.h"
#include "astro/http_sched.h"

#ifndef ASTRO_VERSION
#define ASTRO_VERSION "0.0.0"
#endif

#define SESSION_MT "astro.http.Session"
#define DEFAULT_MAX_CONNECTIONS 16
#define MAX_CONNECTIONS_LIMIT 1024
#define DEFAULT_CONCURRENCY 8
#define MAX_CONCURRENCY 256
#define DEFAULT_CONNECT_TIMEOUT 10.0         /* seconds */
#define MAX_SECONDS 1e6                      /* longest accepted timeout, in seconds */
#define DEFAULT_MAX_BODY ((lua_Integer)64 * 1024 * 1024)

/* ---------------------------------------------------------------------------------------
 * Types.
 */

/* Session userdata. A closed pool (pool.multi == NULL) is the state a new userdata starts
 * in. */
typedef struct http_session {
    astro_http_pool pool;
    int busy;                  /* a request or batch is running on it */
} http_session;

/* Everything one request/batch call owns; see the file comment. */
typedef struct http_call {
    lua_State *L;              /* where the scheduler's callbacks call Lua */
    http_session *s;
    const char *fname;         /* "request" or "batch", for misuse messages */
    int single;                /* the argument is one request, not a list */
    astro_http_batch batch;    /* the requests (owned here, header lists too) and slots */
    int anchor, results;       /* stack indices inside call_run */
    int on_done;               /* stack index of the on_done function, 0 for none */
    int before_start;          /* stack index of the before_start function, 0 for none */
    lua_Integer nanchor;
} http_call;

/* Where misuse is reported: "bad argument #arg to 'fname' (request item: ...)". */
typedef struct argctx {
    const char *fname;
    int arg;
    size_t item;               /* 1-based request number in a batch, 0 for none */
} argctx;

/* ---------------------------------------------------------------------------------------
 * Small helpers: misuse errors, option fields.
 */

/* Raises a misuse error formatted like luaL_argerror's, naming the request in a batch. */
static int misuse(lua_State *L, const argctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const char *what = lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    if (c->item > 0)
        return luaL_error(L, "bad argument #%d to '%s' (request %I: %s)", c->arg, c->fname,
                          (lua_Integer)c->item, what);
    return luaL_error(L, "bad argument #%d to '%s' (%s)", c->arg, c->fname, what);
}

/* Raises a misuse error when table t has a key not in names (NULL-terminated). */
static void check_fields(lua_State *L, int t, const char *const names[], const argctx *c) {
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {                        /* [key, value] */
        if (lua_type(L, -2) != LUA_TSTRING)
            misuse(L, c, "unexpected %s key", luaL_typename(L, -2));
        const char *k = lua_tostring(L, -2);
        int known = 0;
        for (int i = 0; names[i] != NULL && !known; i++) known = strcmp(k, names[i]) == 0;
        if (!known) misuse(L, c, "unknown field '%s'", k);
        lua_pop(L, 1);                                   /* [key] */
    }
}

/* Reads integer field k of table t, or def when absent; raises unless lo <= value <= hi. */
static lua_Integer field_integer(lua_State *L, int t, const char *k, lua_Integer def,
                                 lua_Integer lo, lua_Integer hi, const argctx *c) {
    lua_Integer v = def;
    if (lua_getfield(L, t, k) != LUA_TNIL) {
        int ok = 0;
        if (lua_type(L, -1) == LUA_TNUMBER) v = lua_tointegerx(L, -1, &ok);
        if (!ok || v < lo || v > hi)
            misuse(L, c, "field '%s' must be an integer from %I to %I", k, lo, hi);
    }
    lua_pop(L, 1);
    return v;
}

/* Reads field k of table t as seconds (number >= 0), or def; returns milliseconds. */
static long field_millis(lua_State *L, int t, const char *k, double def, const argctx *c) {
    double v = def;
    if (lua_getfield(L, t, k) != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            misuse(L, c, "field '%s' must be a number of seconds, got %s", k, luaL_typename(L, -1));
        v = (double)lua_tonumber(L, -1);
        if (!(v >= 0 && v <= MAX_SECONDS))
            misuse(L, c, "field '%s' must be between 0 and %d seconds", k, (int)MAX_SECONDS);
    }
    lua_pop(L, 1);
    long ms = (long)(v * 1000.0 + 0.5);
    return (v > 0 && ms == 0) ? 1 : ms;
}

/* ---------------------------------------------------------------------------------------
 * Sessions.
 */

/* Returns the session at index 1, raising when it is not one or is closed. */
static http_session *check_open(lua_State *L) {
    http_session *s = luaL_checkudata(L, 1, SESSION_MT);
    if (s->pool.multi == NULL) luaL_error(L, "attempt to use a closed session");
    return s;
}

/* ---------------------------------------------------------------------------------------
 * Requests: Lua table -> astro_http_req. Everything is checked before any transfer starts.
 */

static const char *const req_fields[] = {"method", "url", "headers", "body", "timeout",
                                         "connect_timeout", "max_body", "start_at", "fresh_connect", NULL};

/* Reads string field k of table t (NULL when absent) and anchors it for the whole call. */
static const char *req_string(lua_State *L, http_call *b, int t, const char *k, size_t *len,
                              const argctx *c) {
    if (lua_getfield(L, t, k) == LUA_TNIL) {             /* [v] */
        lua_pop(L, 1);
        return NULL;
    }
    if (lua_type(L, -1) != LUA_TSTRING)
        misuse(L, c, "field '%s' must be a string, got %s", k, luaL_typename(L, -1));
    const char *v = lua_tolstring(L, -1, len);
    lua_rawseti(L, b->anchor, ++b->nanchor);             /* [] (v stays alive in anchor) */
    return v;
}

/* Appends "name: value" (the strings at indices ni and vi) to r's header list, setting
 * *has_content_type for a Content-Type. Neither the value nor an invalid name goes into a
 * message: either may hold a token. */
static void header_add(lua_State *L, astro_http_req *r, int ni, int vi, int *has_content_type,
                       const argctx *c) {
    size_t nlen, vlen;
    if (lua_type(L, ni) != LUA_TSTRING) misuse(L, c, "header names must be strings");
    const char *name = lua_tolstring(L, ni, &nlen);
    if (!astro_http_is_token(name, nlen)) misuse(L, c, "invalid header name (not an HTTP token)");
    if (lua_type(L, vi) != LUA_TSTRING)
        misuse(L, c, "header '%s' must have a string value, got %s", name, luaL_typename(L, vi));
    const char *value = lua_tolstring(L, vi, &vlen);
    if (nlen == 12 && strncasecmp(name, "content-type", 12) == 0) *has_content_type = 1;
    if (!astro_http_is_header_value(value, vlen))
        misuse(L, c, "header '%s' has a line break or NUL byte in its value", name);
    const char *line = vlen > 0 ? lua_pushfstring(L, "%s: %s", name, value)
                                : lua_pushfstring(L, "%s;", name);   /* [line] */
    struct curl_slist *list = curl_slist_append(r->headers, line);
    lua_pop(L, 1);                                       /* [] */
    if (list == NULL) luaL_error(L, "not enough memory");
    r->headers = list;
}

/* Builds r's header list from field "headers" of table t (a map or a list of pairs). */
static void req_headers(lua_State *L, astro_http_req *r, int t, const argctx *c) {
    int has_content_type = 0;
    if (lua_getfield(L, t, "headers") != LUA_TNIL) {     /* [h] */
        if (!lua_istable(L, -1))
            misuse(L, c, "field 'headers' must be a table, got %s", luaL_typename(L, -1));
        int h = lua_gettop(L);
        lua_Unsigned n = lua_rawlen(L, h);
        for (lua_Unsigned i = 1; i <= n; i++) {
            if (lua_rawgeti(L, h, (lua_Integer)i) != LUA_TTABLE)   /* [h, pair] */
                misuse(L, c, "header %I must be a {name, value} pair", (lua_Integer)i);
            lua_rawgeti(L, -1, 1);
            lua_rawgeti(L, -2, 2);                       /* [h, pair, name, value] */
            header_add(L, r, h + 2, h + 3, &has_content_type, c);
            lua_pop(L, 3);                               /* [h] */
        }
        lua_pushnil(L);
        while (lua_next(L, h) != 0) {                    /* [h, key, value] */
            if (lua_isinteger(L, -2)) {
                lua_Integer k = lua_tointeger(L, -2);
                if (k >= 1 && (lua_Unsigned)k <= n) {    /* a pair, done above */
                    lua_pop(L, 1);
                    continue;
                }
            }
            header_add(L, r, h + 1, h + 2, &has_content_type, c);
            lua_pop(L, 1);                               /* [h, key] */
        }
    }
    lua_pop(L, 1);                                       /* [] */
    /* No "Expect: 100-continue"; no curl default form Content-Type on a body. */
    const char *extra[] = {"Expect:", has_content_type ? NULL : "Content-Type:"};
    for (int i = 0; i < 2 && extra[i] != NULL; i++) {
        struct curl_slist *list = curl_slist_append(r->headers, extra[i]);
        if (list == NULL) luaL_error(L, "not enough memory");
        r->headers = list;
    }
}

/* Validates request i of the call (a table) into b->batch.reqs[i]; raises on misuse. */
static void req_parse(lua_State *L, http_call *b, size_t i) {
    argctx c = {b->fname, 1, b->single ? 0 : i + 1};
    astro_http_req *r = &b->batch.reqs[i];
    if (b->single) lua_pushvalue(L, 2);
    else lua_rawgeti(L, 2, (lua_Integer)i + 1);          /* [req] */
    if (!lua_istable(L, -1))
        misuse(L, &c, "expected a request table, got %s", luaL_typename(L, -1));
    int t = lua_gettop(L);
    check_fields(L, t, req_fields, &c);
    size_t len;
    r->url = req_string(L, b, t, "url", &len, &c);
    if (r->url == NULL || len == 0) misuse(L, &c, "field 'url' is required");
    if (strlen(r->url) != len) misuse(L, &c, "field 'url' contains a NUL byte");
    r->method = req_string(L, b, t, "method", &len, &c);
    if (r->method == NULL) r->method = "GET";
    else if (!astro_http_is_token(r->method, len)) misuse(L, &c, "field 'method' is not an HTTP method");
    r->body = req_string(L, b, t, "body", &r->body_len, &c);
    r->timeout_ms = field_millis(L, t, "timeout", 0, &c);
    r->connect_timeout_ms = field_millis(L, t, "connect_timeout", DEFAULT_CONNECT_TIMEOUT, &c);
    r->max_body = (size_t)field_integer(L, t, "max_body", DEFAULT_MAX_BODY, 0,
                                        (lua_Integer)(SIZE_MAX >> 2), &c);
    if (lua_getfield(L, t, "fresh_connect") != LUA_TNIL) {
        if (!lua_isboolean(L, -1)) misuse(L, &c, "field 'fresh_connect' must be a boolean");
        r->fresh_connect = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, t, "start_at") != LUA_TNIL) {
        if (!lua_isnumber(L, -1)) misuse(L, &c, "field 'start_at' must be a number (sys.now() seconds)");
        r->start_at = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    req_headers(L, r, t, &c);
    lua_pop(L, 1);                                       /* [] */
}

/* ---------------------------------------------------------------------------------------
 * Results: outcome -> Lua table, handed to on_done or stored; the scheduler's callbacks.
 */

/* Pushes "request to host:port failed: detail", or "... interrupted" when detail is NULL. */
static void push_message(lua_State *L, const astro_http_req *r, const char *detail) {
    char hp[320];
    astro_http_hostport(r->url, hp, sizeof hp);
    if (detail == NULL) lua_pushfstring(L, "request to %s interrupted", hp);
    else lua_pushfstring(L, "request to %s failed: %s", hp, detail);
}

/* Pushes { error = message, code = code } for the failure of request r. */
static void push_failure(lua_State *L, const astro_http_req *r, const char *code,
                         const char *detail) {
    lua_createtable(L, 0, 2);                            /* [res] */
    push_message(L, r, detail);
    lua_setfield(L, -2, "error");
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
}

/* Pushes { status, headers, body, time, new_connections } for a response. */
static void push_response(lua_State *L, const astro_http_result *res) {
    lua_createtable(L, 0, 5);                            /* [res] */
    lua_pushinteger(L, res->status);
    lua_setfield(L, -2, "status");
    astro_http_parse_headers(L, res->head, res->head_len);
    lua_setfield(L, -2, "headers");
    lua_pushlstring(L, res->body, res->body_len);
    lua_setfield(L, -2, "body");
    lua_pushnumber(L, (lua_Number)res->time);
    lua_setfield(L, -2, "time");
    lua_pushinteger(L, res->new_connections);
    lua_setfield(L, -2, "new_connections");
}

/* The scheduler's done callback: hands the result table of an outcome to on_done(index,
 * result) when the call has one (results are then not kept), else stores it in the results
 * table. */
static void call_done(void *ud, const astro_http_result *res) {
    http_call *b = ud;
    lua_State *L = b->L;
    if (res->code == NULL) push_response(L, res);
    else push_failure(L, &b->batch.reqs[res->pos], res->code, res->detail);   /* [res] */
    if (b->on_done == 0) {
        lua_rawseti(L, b->results, (lua_Integer)res->pos + 1);    /* [] */
        return;
    }
    lua_pushvalue(L, b->on_done);                        /* [res, fn] */
    lua_insert(L, -2);                                   /* [fn, res] */
    lua_pushinteger(L, (lua_Integer)res->pos + 1);       /* [fn, res, i] */
    lua_insert(L, -2);                                   /* [fn, i, res] */
    lua_call(L, 2, 0);                                   /* [] (errors unwind to session_run) */
}

/* The scheduler's before_start callback: asks before_start(index) about due request pos;
 * nil lets it start (returns 0), a time goes to *later (returns 1). */
static int call_before_start(void *ud, size_t pos, double *later) {
    http_call *b = ud;
    lua_State *L = b->L;
    lua_pushvalue(L, b->before_start);
    lua_pushinteger(L, (lua_Integer)pos + 1);
    lua_call(L, 1, 1);                                   /* errors unwind to session_run */
    int has_time = 0;
    if (lua_type(L, -1) == LUA_TNUMBER) {
        *later = (double)lua_tonumber(L, -1);
        has_time = 1;
    } else if (!lua_isnil(L, -1)) {
        luaL_error(L, "bad result from before_start (request %d): a time (sys.now() seconds) or nil "
                   "expected, got %s", (int)pos + 1, luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    return has_time;
}

/* ---------------------------------------------------------------------------------------
 * A call: requests checked, then run under lua_pcall, then everything released.
 */

/* The protected body of request and batch: [b, reqs, on_done|nil, before_start|nil] ->
 * results. Every request is validated (and its header list built) before the first one is
 * sent. */
static int call_run(lua_State *L) {
    http_call *b = lua_touserdata(L, 1);
    b->L = L;
    if (lua_isfunction(L, 3)) b->on_done = 3;
    if (lua_isfunction(L, 4)) b->before_start = 4;
    lua_newtable(L);                                     /* [b, reqs, on_done, gate, anchor] */
    b->anchor = lua_gettop(L);
    lua_createtable(L, (int)b->batch.n, 0);              /* [..., anchor, results] */
    b->results = lua_gettop(L);
    if (b->batch.n == 0) return 1;
    b->batch.reqs = calloc(b->batch.n, sizeof *b->batch.reqs);
    if (b->batch.reqs == NULL) return luaL_error(L, "not enough memory");
    for (size_t i = 0; i < b->batch.n; i++) req_parse(L, b, i);
    b->batch.done = call_done;
    b->batch.before_start = b->before_start != 0 ? call_before_start : NULL;
    b->batch.ud = b;
    if (astro_http_batch_run(&b->batch) != 0) return luaL_error(L, "not enough memory");
    return 1;
}

/* Releases what a call acquired: transfers still in the multi, buffers, header lists. */
static void call_cleanup(http_call *b) {
    astro_http_batch_cleanup(&b->batch);
    for (size_t i = 0; b->batch.reqs != NULL && i < b->batch.n; i++)
        curl_slist_free_all(b->batch.reqs[i].headers);
    free(b->batch.reqs);
    b->batch.reqs = NULL;
}

/* Runs b (the requests at stack index 2, the on_done and before_start functions at indices
 * on_done and before_start, 0 for none) on the session at index 1 under lua_pcall, frees its
 * resources on every path, then leaves the results table on the stack or rethrows. */
static void session_run(lua_State *L, http_call *b, int on_done, int before_start) {
    if (b->s->busy) luaL_error(L, "session is busy (used from inside its own transfer)");
    lua_getiuservalue(L, 1, 1);                          /* [..., user_agent] */
    b->batch.user_agent = lua_tostring(L, -1);
    b->batch.pool = &b->s->pool;
    lua_pushcfunction(L, call_run);
    lua_pushlightuserdata(L, b);
    lua_pushvalue(L, 2);                                 /* [..., ua, call_run, b, reqs] */
    if (on_done) lua_pushvalue(L, on_done);
    else lua_pushnil(L);                                 /* [..., ua, call_run, b, reqs, fn] */
    if (before_start) lua_pushvalue(L, before_start);
    else lua_pushnil(L);                                 /* [..., b, reqs, fn, gate] */
    b->s->busy = 1;
    int status = lua_pcall(L, 4, 1, 0);                  /* [..., ua, results|error] */
    b->s->busy = 0;
    call_cleanup(b);
    if (status != LUA_OK) lua_error(L);
}

/* ---------------------------------------------------------------------------------------
 * Lua functions.
 */

/* s:request(req) -> res | nil, message, code */
static int session_request(lua_State *L) {
    http_session *s = check_open(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    http_call b = {0};
    b.s = s;
    b.fname = "request";
    b.single = 1;
    b.batch.n = b.batch.concurrency = 1;
    session_run(L, &b, 0, 0);                            /* [s, req, ua, results] */
    lua_rawgeti(L, -1, 1);                               /* [..., results, res] */
    if (lua_getfield(L, -1, "error") == LUA_TNIL) {      /* [..., res, error] */
        lua_pop(L, 1);
        return 1;
    }
    lua_pushnil(L);
    lua_insert(L, -2);                                   /* [..., res, nil, error] */
    lua_getfield(L, -3, "code");                         /* [..., res, nil, error, code] */
    return 3;
}

/* s:batch(reqs[, { concurrency = N, on_done = fn, before_start = fn }]) -> results, in the
 * order of reqs (with on_done, each result goes to on_done(i, res) instead, as it ends;
 * before_start(i), asked as request i is due, returns nil to start it or a later time). */
static int session_batch(lua_State *L) {
    static const char *const fields[] = {"concurrency", "on_done", "before_start", NULL};
    http_session *s = check_open(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer conc = DEFAULT_CONCURRENCY;
    if (!lua_isnoneornil(L, 3)) {
        argctx c = {"batch", 2, 0};
        luaL_checktype(L, 3, LUA_TTABLE);
        check_fields(L, 3, fields, &c);
        conc = field_integer(L, 3, "concurrency", DEFAULT_CONCURRENCY, 1, MAX_CONCURRENCY, &c);
        if (lua_getfield(L, 3, "on_done") != LUA_TNIL && !lua_isfunction(L, -1))
            misuse(L, &c, "option 'on_done' must be a function");
        if (lua_getfield(L, 3, "before_start") != LUA_TNIL && !lua_isfunction(L, -1))
            misuse(L, &c, "option 'before_start' must be a function");
        lua_pop(L, 2);
    }
    lua_Unsigned n = lua_rawlen(L, 2);
    luaL_argcheck(L, n <= INT_MAX / 2, 2, "too many requests");
    lua_settop(L, 3);
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "on_done");
        lua_getfield(L, 3, "before_start");
    } else {
        lua_pushnil(L);
        lua_pushnil(L);
    }                                                    /* [s, reqs, opts?, on_done, gate] */
    lua_remove(L, 3);                                    /* [s, reqs, on_done, gate] */
    http_call b = {0};
    b.s = s;
    b.fname = "batch";
    b.batch.n = (size_t)n;
    b.batch.concurrency = (size_t)conc;
    session_run(L, &b, lua_isfunction(L, 3) ? 3 : 0,
                lua_isfunction(L, 4) ? 4 : 0);           /* [s, reqs, on_done, gate, ua, results] */
    return 1;
}

/* s:close(): closes the connections and frees the handles; closing twice is harmless. */
static int session_close(lua_State *L) {
    http_session *s = luaL_checkudata(L, 1, SESSION_MT);
    if (s->busy) return luaL_error(L, "cannot close a session while it is running a transfer");
    astro_http_pool_close(&s->pool);
    return 0;
}

/* __gc: frees what an unclosed session still holds. */
static int session_gc(lua_State *L) {
    http_session *s = luaL_checkudata(L, 1, SESSION_MT);
    if (!s->busy) astro_http_pool_close(&s->pool);
    return 0;
}

/* __tostring: "astro.http.Session (open)" or "(closed)". */
static int session_tostring(lua_State *L) {
    http_session *s = luaL_checkudata(L, 1, SESSION_MT);
    lua_pushstring(L, s->pool.multi != NULL ? SESSION_MT " (open)" : SESSION_MT " (closed)");
    return 1;
}

/* http.session([{ max_connections = 16, user_agent = "..." }]) -> Session */
static int http_session_new(lua_State *L) {
    static const char *const fields[] = {"max_connections", "user_agent", NULL};
    argctx c = {"session", 1, 0};
    lua_Integer maxconn = DEFAULT_MAX_CONNECTIONS;
    lua_settop(L, 1);
    if (lua_isnil(L, 1)) {
        lua_pushliteral(L, "astro/" ASTRO_VERSION);      /* [nil, ua] */
    } else {
        luaL_checktype(L, 1, LUA_TTABLE);
        check_fields(L, 1, fields, &c);
        maxconn = field_integer(L, 1, "max_connections", DEFAULT_MAX_CONNECTIONS, 1,
                                MAX_CONNECTIONS_LIMIT, &c);
        int t = lua_getfield(L, 1, "user_agent");        /* [opts, ua] */
        size_t len = 0;
        const char *ua = t == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        if (t == LUA_TNIL) lua_pushliteral(L, "astro/" ASTRO_VERSION);
        else if (ua == NULL) misuse(L, &c, "field 'user_agent' must be a string");
        else if (!astro_http_is_header_value(ua, len))
            misuse(L, &c, "field 'user_agent' has a line break or NUL byte");
    }
    http_session *s = lua_newuserdatauv(L, sizeof *s, 1); /* [opts, ua, s] */
    memset(s, 0, sizeof *s);                             /* closed until the multi exists */
    luaL_setmetatable(L, SESSION_MT);
    lua_rotate(L, -2, 1);                                /* [opts, s, ua] */
    lua_setiuservalue(L, -2, 1);                         /* [opts, s] */
    if (astro_http_pool_open(&s->pool, (long)maxconn) != 0)
        return luaL_error(L, "cannot create an HTTP session: not enough memory");
    return 1;
}

/* http.parse_retry_after(value, now) -> seconds | nil (nil also for a nil value) */
static int http_parse_retry_after(lua_State *L) {
    size_t len = 0;
    const char *v = lua_isnil(L, 1) ? NULL : luaL_checklstring(L, 1, &len);
    double now = (double)luaL_checknumber(L, 2);
    double secs;
    if (v == NULL || !astro_http_parse_retry_after(v, len, now, &secs)) {
        lua_pushnil(L);
    } else if (secs == floor(secs)) {
        lua_pushinteger(L, (lua_Integer)secs);
    } else {
        lua_pushnumber(L, (lua_Number)secs);
    }
    return 1;
}

/* http.version() -> libcurl's version string */
static int http_version(lua_State *L) {
    lua_pushstring(L, curl_version());
    return 1;
}

static const luaL_Reg session_methods[] = {
    {"request", session_request},
    {"batch", session_batch},
    {"close", session_close},
    {NULL, NULL}
};

static const luaL_Reg session_metamethods[] = {
    {"__gc", session_gc},
    {"__close", session_close},
    {"__tostring", session_tostring},
    {NULL, NULL}
};

static const luaL_Reg http_funcs[] = {
    {"version", http_version},
    {"parse_retry_after", http_parse_retry_after},
    {"session", http_session_new},
    {NULL, NULL}
};

int luaopen_astro_core_http(lua_State *L) {
    static int curl_ready = 0;                           /* process-wide, set once */
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return luaL_error(L, "cannot initialise libcurl");
        curl_ready = 1;
    }
    if (luaL_newmetatable(L, SESSION_MT)) {              /* [mt] */
        luaL_setfuncs(L, session_metamethods, 0);
        astro_module_new(L, session_methods);            /* [mt, methods] */
        lua_setfield(L, -2, "__index");                  /* [mt] */
    }
    lua_pop(L, 1);
    return astro_module_new(L, http_funcs);
}
