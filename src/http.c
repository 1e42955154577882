/*
 * "astro.core.http": raw HTTP over libcurl. A Session owns a pool (src/http_pool.c: one curl
 * multi handle, with its connection cache, DNS cache and keep-alive connections, and a few
 * reusable easy handles). session:run{ next, on_done, concurrency } runs transfers at once
 * on the pull-based scheduler of src/http_sched.c, asking next() for each request when a
 * slot is free; session:request(req) is a run of one. Also http.parse_retry_after, the
 * Retry-After header parser (src/http_date.c). Retry policy, pacing, JSON and pagination
 * live in Lua. This file turns Lua tables into checked requests (src/http_check.c) and
 * outcomes (src/http_xfer.c) into result tables.
 *
 * s:run{ next = fn, on_done = fn, concurrency = N (1..256, default 8) } -> true | false, why
 *   next() is asked when a slot is free: at the start, after each on_done, and when a wake
 *   time it asked for has come. It returns
 *     key, req   start req now (a table of the fields request takes, checked the same way;
 *                misuse raises); key is any non-nil value, kept alive while it runs and
 *                handed back to on_done;
 *     nil, t     nothing to start before t (sys.now() seconds): asked again at t, or
 *                earlier when a transfer ends; a t already past is asked again on the next
 *                turn of the poll loop, which then waits at least 1 ms, so a next that keeps
 *                answering a past time is asked about once per millisecond, not in a busy
 *                loop;
 *     nil        nothing to start until a transfer ends; with nothing running, run returns.
 *   Anything else raises "bad result from next: ...".
 *   on_done(key, out) is called once per request next handed over, as it ends (a request
 *   that cannot start, right away), before next is asked again; out is the response
 *   { status, headers, body, time, new_connections } or { error = message, code = code }.
 *   next and on_done are never called while the other runs. run returns true; or, after a
 *   signal, false, "interrupted" (every running request had on_done with code
 *   "interrupted"; next is not asked again); or, after a multi handle error, false and its
 *   message (running requests had on_done with code "other"). An error raised in next or
 *   on_done (or by a bad request) aborts the running transfers without on_done calls and
 *   propagates once everything is freed; the session stays usable. Memory is bounded by
 *   concurrency: a request's checked copy, header list and anchored strings and key live
 *   with its slot and are released as it ends.
 *
 * Errors follow include/astro/core.h: misuse raises; a failed transfer gives nil, message,
 * code, where code is connect, timeout, interrupted, send, recv, tls, too_large or other.
 * A message names the URL's host and port, never the URL's path or query, never a header.
 *
 * Resources: everything one request/run call acquires (request header lists, transfer
 * slots, easy handles added to the multi) is recorded in an http_call on the C stack of
 * call_protected, which runs the Lua-facing work under lua_pcall and releases it all on
 * every path before rethrowing. The session itself starts closed (pool.multi == NULL), like
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
    int busy;                  /* a request or run is running on it */
} http_session;

/* Everything one request/run call owns; see the file comment. Stack indices are those
 * of call_run. */
typedef struct http_call {
    lua_State *L;              /* where the scheduler's callbacks call Lua */
    http_session *s;
    int single;                /* request: one request table, no Lua callbacks */
    astro_http_run run;        /* the scheduler's state: slots, running transfers */
    astro_http_req *reqs;      /* run.concurrency requests, one per slot (header lists owned) */
    int anchors;               /* table: [slot + 1] = { key, strings of its request... } */
    int anchor;                /* the table req_parse anchors strings in */
    lua_Integer nanchor;       /* values in it */
    int next, on_done;         /* run's functions; 0 in request */
    int result;                /* request: its result table, nil until it ends */
    lua_Integer nstarted;      /* requests next handed over, numbering misuse messages */
    int given;                 /* request: its request went to the scheduler */
} http_call;

/* Where misuse is reported: "bad argument #arg to 'fname' (request item from next: ...)". */
typedef struct argctx {
    const char *fname;
    int arg;
    lua_Integer item;          /* 1-based number of a request from next, 0 for none */
} argctx;

/* ---------------------------------------------------------------------------------------
 * Small helpers: misuse errors, option fields.
 */

/* Raises a misuse error formatted like luaL_argerror's, naming the request of a run. */
static int misuse(lua_State *L, const argctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const char *what = lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    if (c->item > 0)
        return luaL_error(L, "bad argument #%d to '%s' (request %I from next: %s)", c->arg,
                          c->fname, c->item, what);
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

/* Reads string field k of table t (NULL when absent) and anchors it in b->anchor, with its
 * slot, until the request ends. */
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

/* Validates the request table at index t into b->reqs[slot] (its header list is built
 * there, so that a misuse error midway leaves nothing unowned); raises on misuse. */
static void req_parse(lua_State *L, http_call *b, int t, size_t slot, const argctx *c) {
    astro_http_req *r = &b->reqs[slot];
    memset(r, 0, sizeof *r);
    if (!lua_istable(L, t))
        misuse(L, c, "expected a request table, got %s", luaL_typename(L, t));
    check_fields(L, t, req_fields, c);
    size_t len;
    r->url = req_string(L, b, t, "url", &len, c);
    if (r->url == NULL || len == 0) misuse(L, c, "field 'url' is required");
    if (strlen(r->url) != len) misuse(L, c, "field 'url' contains a NUL byte");
    r->method = req_string(L, b, t, "method", &len, c);
    if (r->method == NULL) r->method = "GET";
    else if (!astro_http_is_token(r->method, len)) misuse(L, c, "field 'method' is not an HTTP method");
    r->body = req_string(L, b, t, "body", &r->body_len, c);
    r->timeout_ms = field_millis(L, t, "timeout", 0, c);
    r->connect_timeout_ms = field_millis(L, t, "connect_timeout", DEFAULT_CONNECT_TIMEOUT, c);
    r->max_body = (size_t)field_integer(L, t, "max_body", DEFAULT_MAX_BODY, 0,
                                        (lua_Integer)(SIZE_MAX >> 2), c);
    if (lua_getfield(L, t, "fresh_connect") != LUA_TNIL) {
        if (!lua_isboolean(L, -1)) misuse(L, c, "field 'fresh_connect' must be a boolean");
        r->fresh_connect = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, t, "start_at") != LUA_TNIL) {
        if (!lua_isnumber(L, -1)) misuse(L, c, "field 'start_at' must be a number (sys.now() seconds)");
        r->start_at = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    req_headers(L, r, t, c);
}

/* Frees what request r of a slot owns (its header list) once its transfer is out of the
 * multi; r is zeroed. */
static void req_free(astro_http_req *r) {
    curl_slist_free_all(r->headers);
    memset(r, 0, sizeof *r);
}

/* Pushes a new anchor table { key } (key: the value at index key) for the request of slot,
 * records it in b->anchors and makes it the one req_parse fills. */
static void anchor_open(lua_State *L, http_call *b, int key, size_t slot) {
    lua_createtable(L, 4, 0);                            /* [anchor] */
    lua_pushvalue(L, key);
    lua_rawseti(L, -2, 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, b->anchors, (lua_Integer)slot + 1);   /* [anchor] */
    b->anchor = lua_gettop(L);
    b->nanchor = 1;
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

/* The scheduler's done callback: turns the outcome of the request of slot res->pos into a
 * result table, releases the slot's key, strings and header list, then hands the result to
 * on_done(key, result) (run) or keeps it (request). */
static void call_done(void *ud, const astro_http_result *res) {
    http_call *b = ud;
    lua_State *L = b->L;
    size_t slot = res->pos;
    if (res->code == NULL) push_response(L, res);
    else push_failure(L, &b->reqs[slot], res->code, res->detail);   /* [out] */
    lua_rawgeti(L, b->anchors, (lua_Integer)slot + 1);  /* [out, anchor] */
    lua_rawgeti(L, -1, 1);                               /* [out, anchor, key] */
    lua_remove(L, -2);                                   /* [out, key] */
    lua_pushnil(L);
    lua_rawseti(L, b->anchors, (lua_Integer)slot + 1);  /* the slot's strings are released */
    req_free(&b->reqs[slot]);
    if (b->on_done == 0) {
        lua_pop(L, 1);                                   /* [out] */
        lua_replace(L, b->result);                       /* [] */
        return;
    }
    lua_pushvalue(L, b->on_done);                        /* [out, key, fn] */
    lua_rotate(L, -3, 1);                                /* [fn, out, key] */
    lua_rotate(L, -2, 1);                                /* [fn, key, out] */
    lua_call(L, 2, 0);                                   /* [] (errors unwind to call_protected) */
}

/* Raises "bad result from next" describing the two values next returned (at -2 and -1). */
static int bad_next(lua_State *L) {
    const char *tn[2];
    for (int i = 0; i < 2; i++) {
        int idx = i - 2;
        tn[i] = lua_type(L, idx) == LUA_TNUMBER && isnan((double)lua_tonumber(L, idx))
                    ? "NaN" : luaL_typename(L, idx);
    }
    return luaL_error(L, "bad result from next: a key and a request table, nil and a time "
                      "(sys.now() seconds), or nil expected, got %s and %s", tn[0], tn[1]);
}

/* The scheduler's next callback for run: asks next() for the request of free slot slot. A
 * key and a request table give START, with the request checked into b->reqs[slot] and its
 * key and strings anchored with the slot; nil and a time give WAIT; nil gives IDLE. */
static int call_next(void *ud, size_t slot, const astro_http_req **req, double *wake) {
    http_call *b = ud;
    lua_State *L = b->L;
    lua_pushvalue(L, b->next);
    lua_call(L, 0, 2);                                   /* [key, req] (errors unwind) */
    if (lua_isnil(L, -2)) {
        if (lua_isnil(L, -1)) {
            lua_pop(L, 2);
            return ASTRO_HTTP_NEXT_IDLE;
        }
        if (lua_type(L, -1) != LUA_TNUMBER || isnan((double)lua_tonumber(L, -1))) bad_next(L);
        *wake = (double)lua_tonumber(L, -1);
        lua_pop(L, 2);
        return ASTRO_HTTP_NEXT_WAIT;
    }
    if (!lua_istable(L, -1)) bad_next(L);
    argctx c = {"run", 1, ++b->nstarted};
    int t = lua_gettop(L);
    anchor_open(L, b, t - 1, slot);                      /* [key, req, anchor] */
    req_parse(L, b, t, slot, &c);
    lua_pop(L, 3);                                       /* [] */
    *req = &b->reqs[slot];
    return ASTRO_HTTP_NEXT_START;
}

/* The scheduler's next callback for request: hands over its one request (checked before the
 * run, in slot 0), then has nothing more. */
static int call_next_one(void *ud, size_t slot, const astro_http_req **req, double *wake) {
    http_call *b = ud;
    (void)wake;
    if (b->given || slot != 0) return ASTRO_HTTP_NEXT_IDLE;
    b->given = 1;
    *req = &b->reqs[0];
    return ASTRO_HTTP_NEXT_START;
}

/* ---------------------------------------------------------------------------------------
 * A call: requests checked, then run under lua_pcall, then everything released.
 */

/* The protected body of request and run: [b, req] -> result table (request; checked
 * before anything is sent), or [b, next, on_done] -> true | false, message (run). */
static int call_run(lua_State *L) {
    http_call *b = lua_touserdata(L, 1);
    b->L = L;
    lua_newtable(L);                                     /* [b, ..., anchors] */
    b->anchors = lua_gettop(L);
    b->reqs = calloc(b->run.concurrency, sizeof *b->reqs);
    if (b->reqs == NULL) return luaL_error(L, "not enough memory");
    b->run.done = call_done;
    b->run.ud = b;
    if (b->single) {
        lua_pushnil(L);                                  /* [b, req, anchors, result] */
        b->result = lua_gettop(L);
        argctx c = {"request", 1, 0};
        anchor_open(L, b, 2, 0);                         /* [..., result, anchor] */
        req_parse(L, b, 2, 0, &c);
        lua_pop(L, 1);                                   /* [b, req, anchors, result] */
        b->run.next = call_next_one;
    } else {
        b->next = 2;
        b->on_done = 3;
        b->run.next = call_next;
    }
    int st = astro_http_run_loop(&b->run);
    if (st == ASTRO_HTTP_RUN_NOMEM) return luaL_error(L, "not enough memory");
    if (b->single) {
        if (!lua_isnil(L, b->result)) lua_pushvalue(L, b->result);
        else if (st == ASTRO_HTTP_RUN_FAILED) push_failure(L, &b->reqs[0], "other", b->run.detail);
        else push_failure(L, &b->reqs[0], "interrupted", NULL);   /* a signal came first */
        return 1;
    }
    lua_pushboolean(L, st == ASTRO_HTTP_RUN_DONE);
    if (st == ASTRO_HTTP_RUN_DONE) return 1;
    lua_pushstring(L, st == ASTRO_HTTP_RUN_INTERRUPTED ? "interrupted" : b->run.detail);
    return 2;
}

/* Releases what a call acquired: transfers still in the multi, buffers, header lists. */
static void call_cleanup(http_call *b) {
    astro_http_run_cleanup(&b->run);
    for (size_t i = 0; b->reqs != NULL && i < b->run.concurrency; i++) req_free(&b->reqs[i]);
    free(b->reqs);
    b->reqs = NULL;
}

/* Runs call_run for b with the nargs values on top of the stack (the session at index 1)
 * under lua_pcall, frees b's resources on every path, then returns call_run's results (left
 * on the stack) or rethrows its error. */
static int call_protected(lua_State *L, http_call *b, int nargs) {
    if (b->s->busy) return luaL_error(L, "session is busy (used from inside its own transfer)");
    lua_getiuservalue(L, 1, 1);                          /* [..., args, ua] */
    b->run.user_agent = lua_tostring(L, -1);
    b->run.pool = &b->s->pool;
    lua_rotate(L, -(nargs + 1), 1);                      /* [..., ua, args] */
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, call_run);
    lua_pushlightuserdata(L, b);
    lua_rotate(L, -(nargs + 2), 2);                      /* [..., ua, call_run, b, args] */
    b->s->busy = 1;
    int status = lua_pcall(L, nargs + 1, LUA_MULTRET, 0); /* [..., ua, results | error] */
    b->s->busy = 0;
    call_cleanup(b);
    if (status != LUA_OK) return lua_error(L);
    return lua_gettop(L) - base;
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
    b.single = 1;
    b.run.concurrency = 1;
    lua_pushvalue(L, 2);                                 /* [s, req, req] */
    call_protected(L, &b, 1);                            /* [s, req, ua, res] */
    if (lua_getfield(L, -1, "error") == LUA_TNIL) {      /* [..., res, error] */
        lua_pop(L, 1);
        return 1;
    }
    lua_pushnil(L);
    lua_insert(L, -2);                                   /* [..., res, nil, error] */
    lua_getfield(L, -3, "code");                         /* [..., res, nil, error, code] */
    return 3;
}

/* s:run{ next = fn, on_done = fn[, concurrency = N] } -> true | false, message; see the
 * file comment. */
static int session_run(lua_State *L) {
    static const char *const fields[] = {"next", "on_done", "concurrency", NULL};
    http_session *s = check_open(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    argctx c = {"run", 1, 0};
    check_fields(L, 2, fields, &c);
    lua_Integer conc = field_integer(L, 2, "concurrency", DEFAULT_CONCURRENCY, 1,
                                     MAX_CONCURRENCY, &c);
    if (lua_getfield(L, 2, "next") != LUA_TFUNCTION)
        misuse(L, &c, "option 'next' must be a function");
    if (lua_getfield(L, 2, "on_done") != LUA_TFUNCTION)
        misuse(L, &c, "option 'on_done' must be a function");   /* [s, opts, next, on_done] */
    http_call b = {0};
    b.s = s;
    b.run.concurrency = (size_t)conc;
    return call_protected(L, &b, 2);                     /* [s, opts, ua, results] */
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
    {"run", session_run},
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
