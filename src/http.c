/*
 * "astro.core.http": raw HTTP over libcurl. A Session owns one curl multi handle (its
 * connection pool, DNS cache and keep-alive connections) and a few reusable easy handles;
 * session:request(req) is a batch of one, session:batch(reqs, opts) runs many transfers at
 * once with curl_multi_poll and returns the results in input order. Also
 * http.parse_retry_after, the Retry-After header parser (src/http_date.c). Retry policy, JSON and pagination
 * live in Lua.
 *
 * Errors follow include/astro/core.h: misuse raises; a failed transfer gives nil, message,
 * code, where code is connect, timeout, interrupted, send, recv, tls, too_large or other.
 * A message names the URL's host and port, never the URL's path or query, never a header.
 *
 * Resources: everything one request/batch call acquires (request header lists, transfer
 * slots, easy handles added to the multi) is recorded in an http_batch on the C stack of
 * session_run, which runs the Lua-facing work under lua_pcall and releases it all on every
 * path before rethrowing. The session itself starts closed (multi == NULL), like liolib's
 * files, so an error while opening never leaks a handle.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <lauxlib.h>

#include "astro/buf.h"
#include "astro/core.h"
#include "astro/http_check.h"
#include "astro/http_headers.h"
#include "astro/http_date.h"

#ifndef ASTRO_VERSION
#define ASTRO_VERSION "0.0.0"
#endif

#define SESSION_MT "astro.http.Session"
#define DEFAULT_MAX_CONNECTIONS 16
#define MAX_CONNECTIONS_LIMIT 1024
#define POOL_MAX 16                          /* idle easy handles a session keeps */
#define DEFAULT_CONCURRENCY 8
#define MAX_CONCURRENCY 256
#define DEFAULT_CONNECT_TIMEOUT 10.0         /* seconds */
#define MAX_SECONDS 1e6                      /* longest accepted timeout, in seconds */
#define DEFAULT_MAX_BODY ((lua_Integer)64 * 1024 * 1024)
#define MAX_HEADER_BYTES ((size_t)1024 * 1024) /* limit for one response's header block */
#define POLL_MS 100                          /* longest wait before the interrupt flag is read */

/* ---------------------------------------------------------------------------------------
 * Types.
 */

/* Session userdata. multi == NULL means closed, the state a new userdata starts in. */
typedef struct http_session {
    CURLM *multi;
    CURL *pool[POOL_MAX];      /* idle easy handles, already reset */
    int npool;
    int busy;                  /* a request or batch is running on it */
} http_session;

typedef astro_buf membuf;   /* a response body or header block */

/* One validated request, ready for curl. The strings are Lua strings anchored for the
 * duration of the call; headers is owned and freed by batch_cleanup. */
typedef struct http_req {
    const char *method, *url, *body;           /* body == NULL: no request body */
    size_t body_len;
    struct curl_slist *headers;
    int has_content_type;                      /* the caller set Content-Type */
    long timeout_ms, connect_timeout_ms;
    lua_Integer max_body;
    double start_at;                           /* monotonic seconds; not started before */
    int fresh_connect;                         /* 1: never on a reused connection */
} http_req;

/* One transfer slot: an easy handle (added to the multi) while busy, and what arrived. */
typedef struct http_xfer {
    CURL *easy;                /* NULL when the slot is free */
    size_t pos;                /* which request of the batch */
    size_t max_body;
    membuf body, head;
    int too_large;             /* 1: body over max_body, 2: headers over MAX_HEADER_BYTES */
    int no_memory;
    char errbuf[CURL_ERROR_SIZE];
} http_xfer;

/* Everything one request/batch call owns; see the file comment. */
typedef struct http_batch {
    http_session *s;
    const char *fname;         /* "request" or "batch", for misuse messages */
    const char *user_agent;
    int single;                /* the argument is one request, not a list */
    size_t n, concurrency, nslots, next, done;
    http_req *reqs;
    http_xfer *slots;
    int anchor, results;       /* stack indices inside batch_run */
    int on_done;               /* stack index of the on_done function, 0 for none */
    int before_start;          /* stack index of the before_start function, 0 for none */
    lua_Integer nanchor;
} http_batch;

/* Where misuse is reported: "bad argument #arg to 'fname' (request item: ...)". */
typedef struct argctx {
    const char *fname;
    int arg;
    size_t item;               /* 1-based request number in a batch, 0 for none */
} argctx;

/* ---------------------------------------------------------------------------------------
 * Small helpers: misuse errors, option fields.
 */

/* Seconds on the monotonic clock (the clock of astro.core.sys.now()). */
static double monotonic_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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
 * Session state: open check, easy handle pool, closing.
 */

/* Returns the session at index 1, raising when it is not one or is closed. */
static http_session *check_open(lua_State *L) {
    http_session *s = luaL_checkudata(L, 1, SESSION_MT);
    if (s->multi == NULL) luaL_error(L, "attempt to use a closed session");
    return s;
}

/* Returns an idle easy handle from the pool or a new one; NULL when out of memory. */
static CURL *session_acquire(http_session *s) {
    if (s->npool > 0) return s->pool[--s->npool];
    return curl_easy_init();
}

/* Resets an easy handle (not in the multi) and keeps it for reuse, or frees it. */
static void session_release(http_session *s, CURL *e) {
    if (s->npool < POOL_MAX) {
        curl_easy_reset(e);
        s->pool[s->npool++] = e;
    } else {
        curl_easy_cleanup(e);
    }
}

/* Frees the multi handle (closing its connections) and the pooled easy handles. */
static void session_free(http_session *s) {
    if (s->multi != NULL) curl_multi_cleanup(s->multi);
    s->multi = NULL;
    while (s->npool > 0) curl_easy_cleanup(s->pool[--s->npool]);
}

/* ---------------------------------------------------------------------------------------
 * Requests: Lua table -> http_req. Everything is checked before any transfer starts.
 */

static const char *const req_fields[] = {"method", "url", "headers", "body", "timeout",
                                         "connect_timeout", "max_body", "start_at", "fresh_connect", NULL};

/* Reads string field k of table t (NULL when absent) and anchors it for the whole call. */
static const char *req_string(lua_State *L, http_batch *b, int t, const char *k, size_t *len,
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

/* Appends "name: value" (the strings at indices ni and vi) to r's header list. Neither the
 * value nor an invalid name goes into a message: either may hold a token. */
static void header_add(lua_State *L, http_req *r, int ni, int vi, const argctx *c) {
    size_t nlen, vlen;
    if (lua_type(L, ni) != LUA_TSTRING) misuse(L, c, "header names must be strings");
    const char *name = lua_tolstring(L, ni, &nlen);
    if (!astro_http_is_token(name, nlen)) misuse(L, c, "invalid header name (not an HTTP token)");
    if (lua_type(L, vi) != LUA_TSTRING)
        misuse(L, c, "header '%s' must have a string value, got %s", name, luaL_typename(L, vi));
    const char *value = lua_tolstring(L, vi, &vlen);
    if (nlen == 12 && strncasecmp(name, "content-type", 12) == 0) r->has_content_type = 1;
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
static void req_headers(lua_State *L, http_req *r, int t, const argctx *c) {
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
            header_add(L, r, h + 2, h + 3, c);
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
            header_add(L, r, h + 1, h + 2, c);
            lua_pop(L, 1);                               /* [h, key] */
        }
    }
    lua_pop(L, 1);                                       /* [] */
    /* No "Expect: 100-continue"; no curl default form Content-Type on a body. */
    const char *extra[] = {"Expect:", r->has_content_type ? NULL : "Content-Type:"};
    for (int i = 0; i < 2 && extra[i] != NULL; i++) {
        struct curl_slist *list = curl_slist_append(r->headers, extra[i]);
        if (list == NULL) luaL_error(L, "not enough memory");
        r->headers = list;
    }
}

/* Validates request i of the call (a table) into b->reqs[i]; raises on misuse. */
static void req_parse(lua_State *L, http_batch *b, size_t i) {
    argctx c = {b->fname, 1, b->single ? 0 : i + 1};
    http_req *r = &b->reqs[i];
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
    r->max_body = field_integer(L, t, "max_body", DEFAULT_MAX_BODY, 0,
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
 * Transfers: curl callbacks, options, starting, results.
 */

/* CURLOPT_WRITEFUNCTION: collects the body, refusing more than max_body bytes. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
    http_xfer *x = ud;
    size_t n = size * nmemb;
    if (n > x->max_body - x->body.len) {
        x->too_large = 1;
        return 0;
    }
    if (!astro_buf_add(&x->body, data, n)) {
        x->no_memory = 1;
        return 0;
    }
    return n;
}

/* CURLOPT_HEADERFUNCTION: collects header lines; a status line starts over, so only the
 * final response's headers remain (not those of a 1xx or a proxy CONNECT). */
static size_t on_header(char *data, size_t size, size_t nitems, void *ud) {
    http_xfer *x = ud;
    size_t n = size * nitems;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        x->head.len = 0;
        return n;
    }
    if (n > MAX_HEADER_BYTES - x->head.len) {
        x->too_large = 2;
        return 0;
    }
    if (!astro_buf_add(&x->head, data, n)) {
        x->no_memory = 1;
        return 0;
    }
    return n;
}

/* CURLOPT_XFERINFOFUNCTION: aborts the transfer once SIGINT/SIGTERM arrived. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
    (void)ud, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return astro_interrupted() != 0;
}

/* Sets the method and body: HEAD as NOBODY, POST/GET natively, others by CUSTOMREQUEST. */
static CURLcode xfer_method(CURL *e, const http_req *r) {
    CURLcode rc = CURLE_OK;
    const char *body = r->body;
    if (strcmp(r->method, "HEAD") == 0) return curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    if (body == NULL && strcmp(r->method, "POST") == 0) body = "";
    if (body != NULL) {
        rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    }
    int native = strcmp(r->method, body != NULL ? "POST" : "GET") == 0;
    if (rc == CURLE_OK && !native) rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    return rc;
}

/* Sets every option of slot x's (freshly reset) easy handle for request r. */
static CURLcode xfer_setopts(http_xfer *x, const http_req *r, const char *user_agent) {
    CURL *e = x->easy;
    CURLcode rc = CURLE_OK;
#define SET(opt, val) if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
    SET(CURLOPT_URL, r->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ACCEPT_ENCODING, "");
    SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    /* On a reused connection that dies before an answer, libcurl silently sends the request
     * again; a request that must not be repeated asks for a connection of its own. */
    SET(CURLOPT_FRESH_CONNECT, r->fresh_connect ? 1L : 0L);
    SET(CURLOPT_HTTPHEADER, r->headers);
    SET(CURLOPT_USERAGENT, user_agent);
    SET(CURLOPT_TIMEOUT_MS, r->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms);
    if (r->max_body > 0) SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_body);
    SET(CURLOPT_ERRORBUFFER, x->errbuf);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, (void *)x);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, (void *)x);
    SET(CURLOPT_NOPROGRESS, 0L);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_PRIVATE, (void *)x);
#undef SET
    return rc == CURLE_OK ? xfer_method(e, r) : rc;
}

/* Starts request pos in free slot x: takes an easy handle, sets it up, adds it to the
 * multi. Returns NULL, or why it could not start (the slot stays free). */
static const char *xfer_start(http_batch *b, http_xfer *x, size_t pos) {
    const http_req *r = &b->reqs[pos];
    memset(x, 0, sizeof *x);
    x->pos = pos;
    x->max_body = (size_t)r->max_body;
    CURL *e = session_acquire(b->s);
    if (e == NULL) return "not enough memory";
    x->easy = e;
    CURLcode rc = xfer_setopts(x, r, b->user_agent);
    CURLMcode mc = rc == CURLE_OK ? curl_multi_add_handle(b->s->multi, e) : CURLM_OK;
    if (rc == CURLE_OK && mc == CURLM_OK) return NULL;
    x->easy = NULL;
    session_release(b->s, e);
    return rc != CURLE_OK ? curl_easy_strerror(rc) : curl_multi_strerror(mc);
}

/* Takes slot x's handle out of the multi (aborting it if running) and frees the slot. */
static void xfer_release(http_batch *b, http_xfer *x) {
    if (x->easy != NULL) {
        curl_multi_remove_handle(b->s->multi, x->easy);
        session_release(b->s, x->easy);
        x->easy = NULL;
    }
    astro_buf_free(&x->body);
    astro_buf_free(&x->head);
}

/* Returns 1 when curl got past connecting and may have sent the request. */
static int request_started(CURL *e) {
    curl_off_t us = 0;
    return curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &us) == CURLE_OK && us > 0;
}

/* Names the kind of failure of a finished transfer, for the Lua side's retry policy. */
static const char *failure_code(const http_xfer *x, CURLcode rc) {
    if (x->too_large) return "too_large";
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY: case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        return "connect";
    case CURLE_OPERATION_TIMEDOUT:
        return request_started(x->easy) ? "timeout" : "connect";
    case CURLE_ABORTED_BY_CALLBACK:
        return "interrupted";
    case CURLE_SEND_ERROR: case CURLE_SEND_FAIL_REWIND:
        return "send";
    case CURLE_RECV_ERROR: case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY: case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3: case CURLE_BAD_CONTENT_ENCODING:
        return "recv";
    case CURLE_SSL_CONNECT_ERROR: case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_NOTFOUND: case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM: case CURLE_SSL_CIPHER: case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE: case CURLE_SSL_SHUTDOWN_FAILED: case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR: case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS: case CURLE_SSL_CLIENTCERT: case CURLE_USE_SSL_FAILED:
        return "tls";
    case CURLE_FILESIZE_EXCEEDED:
        return "too_large";
    default:
        return "other";
    }
}

/* Pushes "request to host:port failed: detail", or "... interrupted" when detail is NULL. */
static void push_message(lua_State *L, const http_req *r, const char *detail) {
    char hp[320];
    astro_http_hostport(r->url, hp, sizeof hp);
    if (detail == NULL) lua_pushfstring(L, "request to %s interrupted", hp);
    else lua_pushfstring(L, "request to %s failed: %s", hp, detail);
}

/* Pushes the message for finished transfer x that failed with rc: curl's error buffer
 * (or its generic text) after the host and port. */
static void push_failure_message(lua_State *L, const http_batch *b, const http_xfer *x,
                                 CURLcode rc) {
    const http_req *r = &b->reqs[x->pos];
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        push_message(L, r, NULL);
    } else if (x->too_large == 2) {
        push_message(L, r, "response headers are larger than 1 MiB");
    } else if (x->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        lua_pushfstring(L, "response body is larger than max_body (%I bytes)", r->max_body);
        push_message(L, r, lua_tostring(L, -1));         /* [detail, msg] */
        lua_remove(L, -2);                               /* [msg] */
    } else if (x->no_memory) {
        push_message(L, r, "not enough memory");
    } else {
        size_t n = strlen(x->errbuf);
        while (n > 0 && (x->errbuf[n - 1] == '\n' || x->errbuf[n - 1] == '\r')) n--;
        lua_pushlstring(L, x->errbuf, n);
        push_message(L, r, n > 0 ? lua_tostring(L, -1) : curl_easy_strerror(rc));
        lua_remove(L, -2);                               /* [msg] */
    }
}

/* Hands over the result on top of the stack for request pos: to on_done(index, result) when
 * the batch has one (results are then not kept), else into the results table. Pops it. */
static void deliver(lua_State *L, http_batch *b, size_t pos) {
    b->done++;
    if (b->on_done == 0) {
        lua_rawseti(L, b->results, (lua_Integer)pos + 1);    /* [] */
        return;
    }
    lua_pushvalue(L, b->on_done);                        /* [res, fn] */
    lua_insert(L, -2);                                   /* [fn, res] */
    lua_pushinteger(L, (lua_Integer)pos + 1);            /* [fn, res, i] */
    lua_insert(L, -2);                                   /* [fn, i, res] */
    lua_call(L, 2, 0);                                   /* [] (errors unwind to session_run) */
}

/* Pops the message on top and stores { error = message, code = code } as result pos. */
static void store_failure(lua_State *L, http_batch *b, size_t pos, const char *code) {
    lua_createtable(L, 0, 2);                            /* [msg, res] */
    lua_insert(L, -2);                                   /* [res, msg] */
    lua_setfield(L, -2, "error");                        /* [res] */
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
    deliver(L, b, pos);                                  /* [] */
}

/* Pushes { status, headers, body, time, new_connections } for the completed transfer x. */
static void push_response(lua_State *L, const http_xfer *x) {
    long status = 0, conns = 0;
    curl_off_t us = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &us);
    curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &conns);
    lua_createtable(L, 0, 5);                            /* [res] */
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    astro_http_parse_headers(L, x->head.data, x->head.len);
    lua_setfield(L, -2, "headers");
    lua_pushlstring(L, x->body.data, x->body.len);
    lua_setfield(L, -2, "body");
    lua_pushnumber(L, (lua_Number)us / 1e6);
    lua_setfield(L, -2, "time");
    lua_pushinteger(L, conns);
    lua_setfield(L, -2, "new_connections");
}

/* ---------------------------------------------------------------------------------------
 * The batch loop.
 */

/* Asks before_start(index) whether due request pos may start now: nil or a time not in the
 * future lets it start (returns 0); a later time becomes its start_at (returns 1). */
static int postponed(lua_State *L, http_batch *b, size_t pos) {
    lua_pushvalue(L, b->before_start);
    lua_pushinteger(L, (lua_Integer)pos + 1);
    lua_call(L, 1, 1);                                   /* errors unwind to session_run */
    int later = 0;
    if (lua_type(L, -1) == LUA_TNUMBER) {
        double t = lua_tonumber(L, -1);
        if (t > monotonic_now()) {
            b->reqs[pos].start_at = t;
            later = 1;
        }
    } else if (!lua_isnil(L, -1)) {
        luaL_error(L, "bad result from before_start (request %d): a time (sys.now() seconds) or nil "
                   "expected, got %s", (int)pos + 1, luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    return later;
}

/* Starts the next pending requests in free slot x until one starts; start failures become
 * results right away. Requests start in order: one postponed by before_start holds back
 * those after it. */
static void slot_fill(lua_State *L, http_batch *b, http_xfer *x) {
    while (b->next < b->n) {
        if (b->reqs[b->next].start_at > monotonic_now()) return;   /* not due yet */
        if (b->before_start != 0 && postponed(L, b, b->next)) return;
        size_t pos = b->next++;
        const char *why = xfer_start(b, x, pos);
        if (why == NULL) return;
        push_message(L, &b->reqs[pos], why);
        store_failure(L, b, pos, "other");
    }
}

/* Starts due requests in every free slot. */
static void fill_free_slots(lua_State *L, http_batch *b) {
    for (size_t k = 0; k < b->nslots && b->next < b->n; k++)
        if (b->slots[k].easy == NULL) slot_fill(L, b, &b->slots[k]);
}

/* Milliseconds to wait in curl_multi_poll: POLL_MS, or less when the next pending request
 * is due sooner. */
static int poll_wait_ms(const http_batch *b) {
    if (b->next >= b->n) return POLL_MS;
    double wait = (b->reqs[b->next].start_at - monotonic_now()) * 1000.0;
    if (wait <= 0) return 0;
    return wait < POLL_MS ? (int)wait + 1 : POLL_MS;
}

/* Stores the result of finished transfer x, frees its slot and starts the next request. */
static void xfer_finish(lua_State *L, http_batch *b, http_xfer *x, CURLcode rc) {
    size_t pos = x->pos;
    if (rc == CURLE_OK) {
        push_response(L, x);
        xfer_release(b, x);
        deliver(L, b, pos);
    } else {
        push_failure_message(L, b, x, rc);
        const char *code = failure_code(x, rc);
        xfer_release(b, x);
        store_failure(L, b, pos, code);
    }
    slot_fill(L, b, x);
}

/* Collects every transfer curl reports as done. */
static void batch_collect(lua_State *L, http_batch *b) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(b->s->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) continue;
        CURLcode rc = m->data.result;                    /* m dies with the handle's removal */
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        xfer_finish(L, b, (http_xfer *)(void *)priv, rc);
    }
}

/* Ends every running and pending request with the same failure: interrupted when detail
 * is NULL, else "other" with detail (a multi handle error). */
static void batch_abort(lua_State *L, http_batch *b, const char *detail) {
    const char *code = detail == NULL ? "interrupted" : "other";
    for (size_t k = 0; k < b->nslots; k++) {
        http_xfer *x = &b->slots[k];
        if (x->easy == NULL) continue;
        push_message(L, &b->reqs[x->pos], detail);
        store_failure(L, b, x->pos, code);
        xfer_release(b, x);
    }
    while (b->next < b->n) {
        size_t pos = b->next++;
        push_message(L, &b->reqs[pos], detail);
        store_failure(L, b, pos, code);
    }
}

/* Runs all requests, at most nslots at a time, until each has a result. */
static void batch_loop(lua_State *L, http_batch *b) {
    if (astro_interrupted()) {
        batch_abort(L, b, NULL);
        return;
    }
    fill_free_slots(L, b);
    while (b->done < b->n) {
        if (astro_interrupted()) {
            batch_abort(L, b, NULL);
            return;
        }
        int running = 0;
        CURLMcode mc = curl_multi_perform(b->s->multi, &running);
        if (mc == CURLM_OK) {
            batch_collect(L, b);
            if (b->done >= b->n) return;
            fill_free_slots(L, b);
            mc = curl_multi_poll(b->s->multi, NULL, 0, poll_wait_ms(b), NULL);
        }
        if (mc != CURLM_OK) {
            batch_abort(L, b, curl_multi_strerror(mc));
            return;
        }
    }
}

/* The protected body of request and batch: [b, reqs] -> results. Every request is
 * validated (and its header list built) before the first one is sent. */
static int batch_run(lua_State *L) {
    http_batch *b = lua_touserdata(L, 1);
    if (lua_isfunction(L, 3)) b->on_done = 3;            /* [b, reqs, on_done|nil, before_start|nil] */
    if (lua_isfunction(L, 4)) b->before_start = 4;
    lua_newtable(L);                                     /* [b, reqs, on_done, anchor] */
    b->anchor = lua_gettop(L);
    lua_createtable(L, (int)b->n, 0);                    /* [b, reqs, on_done, anchor, results] */
    b->results = lua_gettop(L);
    if (b->n == 0) return 1;
    b->reqs = calloc(b->n, sizeof *b->reqs);
    if (b->reqs == NULL) return luaL_error(L, "not enough memory");
    for (size_t i = 0; i < b->n; i++) req_parse(L, b, i);
    b->nslots = b->concurrency < b->n ? b->concurrency : b->n;
    b->slots = calloc(b->nslots, sizeof *b->slots);
    if (b->slots == NULL) return luaL_error(L, "not enough memory");
    batch_loop(L, b);
    return 1;
}

/* Releases what a call acquired: transfers still in the multi, buffers, header lists. */
static void batch_cleanup(http_batch *b) {
    for (size_t k = 0; b->slots != NULL && k < b->nslots; k++) xfer_release(b, &b->slots[k]);
    free(b->slots);
    for (size_t i = 0; b->reqs != NULL && i < b->n; i++) curl_slist_free_all(b->reqs[i].headers);
    free(b->reqs);
    b->slots = NULL;
    b->reqs = NULL;
}

/* Runs b (the requests at stack index 2, the on_done and before_start functions at indices
 * on_done and before_start, 0 for none) on the session at index 1 under lua_pcall, frees its
 * resources on every path, then leaves the results table on the stack or rethrows. */
static void session_run(lua_State *L, http_batch *b, int on_done, int before_start) {
    if (b->s->busy) luaL_error(L, "session is busy (used from inside its own transfer)");
    lua_getiuservalue(L, 1, 1);                          /* [..., user_agent] */
    b->user_agent = lua_tostring(L, -1);
    lua_pushcfunction(L, batch_run);
    lua_pushlightuserdata(L, b);
    lua_pushvalue(L, 2);                                 /* [..., ua, batch_run, b, reqs] */
    if (on_done) lua_pushvalue(L, on_done);
    else lua_pushnil(L);                                 /* [..., ua, batch_run, b, reqs, fn] */
    if (before_start) lua_pushvalue(L, before_start);
    else lua_pushnil(L);                                 /* [..., b, reqs, fn, gate] */
    b->s->busy = 1;
    int status = lua_pcall(L, 4, 1, 0);                  /* [..., ua, results|error] */
    b->s->busy = 0;
    batch_cleanup(b);
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
    http_batch b = {0};
    b.s = s;
    b.fname = "request";
    b.single = 1;
    b.n = b.concurrency = 1;
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
    http_batch b = {0};
    b.s = s;
    b.fname = "batch";
    b.n = (size_t)n;
    b.concurrency = (size_t)conc;
    session_run(L, &b, lua_isfunction(L, 3) ? 3 : 0,
                lua_isfunction(L, 4) ? 4 : 0);           /* [s, reqs, on_done, gate, ua, results] */
    return 1;
}

/* s:close(): closes the connections and frees the handles; closing twice is harmless. */
static int session_close(lua_State *L) {
    http_session *s = luaL_checkudata(L, 1, SESSION_MT);
    if (s->busy) return luaL_error(L, "cannot close a session while it is running a transfer");
    session_free(s);
    return 0;
}

/* __gc: frees what an unclosed session still holds. */
static int session_gc(lua_State *L) {
    http_session *s = luaL_checkudata(L, 1, SESSION_MT);
    if (!s->busy) session_free(s);
    return 0;
}

/* __tostring: "astro.http.Session (open)" or "(closed)". */
static int session_tostring(lua_State *L) {
    http_session *s = luaL_checkudata(L, 1, SESSION_MT);
    lua_pushstring(L, s->multi != NULL ? SESSION_MT " (open)" : SESSION_MT " (closed)");
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
    s->multi = curl_multi_init();
    if (s->multi == NULL) return luaL_error(L, "cannot create an HTTP session: not enough memory");
    curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)maxconn);
    curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)maxconn);
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
        luaL_newlib(L, session_methods);                 /* [mt, methods] */
        lua_setfield(L, -2, "__index");                  /* [mt] */
    }
    lua_pop(L, 1);
    luaL_newlib(L, http_funcs);
    return 1;
}
