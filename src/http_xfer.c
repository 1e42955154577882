/*
 * One HTTP transfer (include/astro/http_xfer.h): curl callbacks, options, start, outcome.
 */
#include <stdio.h>
#include <string.h>

#include "astro/core.h"
#include "astro/http_xfer.h"

/* Appends n bytes of data to b, which may hold at most max bytes: returns n, or 0 (which
 * makes curl abort the transfer) with x->too_large set to which (past max) or x->no_memory. */
static size_t collect(astro_http_xfer *x, astro_buf *b, const char *data, size_t n, size_t max,
                      int which) {
    if (n > max - b->len) {
        x->too_large = which;
        return 0;
    }
    if (!astro_buf_add(b, data, n)) {
        x->no_memory = 1;
        return 0;
    }
    return n;
}

/* CURLOPT_WRITEFUNCTION: collects the body, refusing more than max_body bytes. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
    astro_http_xfer *x = ud;
    return collect(x, &x->body, data, size * nmemb, x->max_body, 1);
}

/* CURLOPT_HEADERFUNCTION: collects header lines; a status line starts over, so only the
 * final response's headers remain (not those of a 1xx or a proxy CONNECT). */
static size_t on_header(char *data, size_t size, size_t nitems, void *ud) {
    astro_http_xfer *x = ud;
    size_t n = size * nitems;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        x->head.len = 0;
        return n;
    }
    return collect(x, &x->head, data, n, ASTRO_HTTP_MAX_HEADER_BYTES, 2);
}

/* CURLOPT_XFERINFOFUNCTION: aborts the transfer once SIGINT/SIGTERM arrived. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
    (void)ud, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return astro_interrupted() != 0;
}

/* Sets the method and body: HEAD as NOBODY, POST/GET natively, others by CUSTOMREQUEST. */
static CURLcode xfer_method(CURL *e, const astro_http_req *r) {
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
static CURLcode xfer_setopts(astro_http_xfer *x, const astro_http_req *r,
                             const char *user_agent) {
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

const char *astro_http_xfer_start(astro_http_xfer *x, astro_http_pool *pool,
                                  const astro_http_req *r, size_t pos, const char *user_agent) {
    memset(x, 0, sizeof *x);
    x->pos = pos;
    x->max_body = r->max_body;
    CURL *e = astro_http_pool_acquire(pool);
    if (e == NULL) return "not enough memory";
    x->easy = e;
    CURLcode rc = xfer_setopts(x, r, user_agent);
    CURLMcode mc = rc == CURLE_OK ? curl_multi_add_handle(pool->multi, e) : CURLM_OK;
    if (rc == CURLE_OK && mc == CURLM_OK) return NULL;
    x->easy = NULL;
    astro_http_pool_release(pool, e);
    return rc != CURLE_OK ? curl_easy_strerror(rc) : curl_multi_strerror(mc);
}

/* Returns 1 when curl got past connecting and may have sent the request. */
static int request_started(CURL *e) {
    curl_off_t us = 0;
    return curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &us) == CURLE_OK && us > 0;
}

/* Names the kind of failure of a finished transfer, for the Lua side's retry policy. */
static const char *failure_code(const astro_http_xfer *x, CURLcode rc) {
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

/* Returns the detail of the failure rc of finished transfer x: the limit it went past, or
 * curl's error buffer (or its generic text); NULL when it was interrupted. */
static const char *failure_detail(astro_http_xfer *x, CURLcode rc) {
    if (rc == CURLE_ABORTED_BY_CALLBACK) return NULL;
    if (x->too_large == 2) return "response headers are larger than 1 MiB";
    if (x->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(x->detail, sizeof x->detail, "response body is larger than max_body (%zu bytes)",
                 x->max_body);
        return x->detail;
    }
    if (x->no_memory) return "not enough memory";
    size_t n = strlen(x->errbuf);
    while (n > 0 && (x->errbuf[n - 1] == '\n' || x->errbuf[n - 1] == '\r')) n--;
    x->errbuf[n] = '\0';
    return n > 0 ? x->errbuf : curl_easy_strerror(rc);
}

void astro_http_xfer_finish(astro_http_xfer *x, astro_http_pool *pool, CURLcode rc,
                            astro_http_result *res) {
    memset(res, 0, sizeof *res);
    res->pos = x->pos;
    if (rc == CURLE_OK) {
        curl_off_t us = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &res->status);
        curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &us);
        curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &res->new_connections);
        res->time = (double)us / 1e6;
        res->head = x->head.data;
        res->head_len = x->head.len;
        res->body = x->body.data;
        res->body_len = x->body.len;
    } else {
        res->detail = failure_detail(x, rc);
        res->code = failure_code(x, rc);
    }
    curl_multi_remove_handle(pool->multi, x->easy);
    astro_http_pool_release(pool, x->easy);
    x->easy = NULL;
}

void astro_http_xfer_release(astro_http_xfer *x, astro_http_pool *pool) {
    if (x->easy != NULL) {
        curl_multi_remove_handle(pool->multi, x->easy);
        astro_http_pool_release(pool, x->easy);
        x->easy = NULL;
    }
    astro_buf_free(&x->body);
    astro_buf_free(&x->head);
}
