/*
 * One HTTP transfer on an easy handle of a pool (include/astro/http_pool.h): the request
 * checked beforehand, the curl options it runs with (http and https only, no redirects,
 * certificates verified, no Expect), the body and the final response's header block
 * collected within their limits, the interrupt flag polled, and the outcome named as the Lua
 * side's retry policy reads it. Nothing here reads or writes Lua.
 */
#ifndef ASTRO_HTTP_XFER_H
#define ASTRO_HTTP_XFER_H

#include <stddef.h>

#include <curl/curl.h>

#include "astro/buf.h"
#include "astro/http_pool.h"

#define ASTRO_HTTP_MAX_HEADER_BYTES ((size_t)1024 * 1024)  /* one response's header block */

/* One checked request, ready for curl. Its owner keeps the strings and the header list
 * alive (and frees the list) for as long as the transfer runs. */
typedef struct astro_http_req {
    const char *method, *url, *body;           /* body == NULL: no request body */
    size_t body_len;
    struct curl_slist *headers;                /* every header line, as curl sends them */
    long timeout_ms, connect_timeout_ms;       /* 0: none */
    size_t max_body;                           /* longest body accepted, in bytes */
    double start_at;                           /* monotonic seconds; not started before */
    int fresh_connect;                         /* 1: never on a reused connection */
} astro_http_req;

/* The outcome of one request. Its pointers are valid until the slot is released. */
typedef struct astro_http_result {
    size_t pos;                /* the owner's number for the request (its slot in a run) */
    const char *code;          /* NULL for a response; else connect, timeout, interrupted,
                                * send, recv, tls, too_large or other */
    const char *detail;        /* failure: why, for "request to <host:port> failed: <detail>";
                                * NULL when the request was interrupted */
    long status;               /* response: HTTP status */
    const char *head, *body;   /* response: header block (for astro_http_parse_headers), body */
    size_t head_len, body_len;
    double time;               /* response: seconds the transfer took */
    long new_connections;      /* response: connections it opened (0: a reused one) */
} astro_http_result;

/* One transfer slot. A zeroed slot is free. */
typedef struct astro_http_xfer {
    CURL *easy;                /* the running transfer's handle (in the multi); NULL: none */
    size_t pos;                /* the owner's number for the request (its slot in a run) */
    size_t max_body;
    astro_buf body, head;
    int too_large;             /* 1: body over max_body, 2: headers over the limit */
    int no_memory;
    char errbuf[CURL_ERROR_SIZE];
    char detail[96];           /* a failure's detail when it is formatted here */
} astro_http_xfer;

/* Starts request r (numbered pos by its owner) in free slot x: takes an easy handle from
 * pool, sets it up and adds it to the pool's multi, with user_agent. Returns NULL, or why
 * it could not start (the slot then stays free). */
const char *astro_http_xfer_start(astro_http_xfer *x, astro_http_pool *pool,
                                  const astro_http_req *r, size_t pos, const char *user_agent);

/* Ends the transfer of slot x that curl reports done with rc: fills *res from it and gives
 * its handle back to pool. What was received stays in the slot until it is released. */
void astro_http_xfer_finish(astro_http_xfer *x, astro_http_pool *pool, CURLcode rc,
                            astro_http_result *res);

/* Frees slot x: takes a running transfer out of the multi (aborting it) and gives its handle
 * back to pool, and frees what was received. Releasing a free slot does nothing. */
void astro_http_xfer_release(astro_http_xfer *x, astro_http_pool *pool);

#endif
