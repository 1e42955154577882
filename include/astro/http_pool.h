/*
 * The easy-handle pool of an HTTP session: one curl multi handle, whose connection cache
 * keeps connections alive between transfers (with its DNS cache), and up to
 * ASTRO_HTTP_POOL_IDLE idle easy handles, reset and kept for the next transfers. Transfers
 * take a handle, add it to the multi, and give it back once removed. A zeroed pool is closed.
 */
#ifndef ASTRO_HTTP_POOL_H
#define ASTRO_HTTP_POOL_H

#include <curl/curl.h>

#define ASTRO_HTTP_POOL_IDLE 16      /* idle easy handles a pool keeps */

typedef struct astro_http_pool {
    CURLM *multi;                    /* NULL: closed */
    CURL *idle[ASTRO_HTTP_POOL_IDLE];  /* idle easy handles, already reset */
    int nidle;
} astro_http_pool;

/* Opens the closed pool p with room for max_connections connections (in all, and kept
 * alive). Returns 0, or -1 when out of memory (p stays closed). */
int astro_http_pool_open(astro_http_pool *p, long max_connections);

/* Returns an idle easy handle, or a new one; NULL when out of memory. */
CURL *astro_http_pool_acquire(astro_http_pool *p);

/* Takes back easy handle e (not in the multi): reset and kept when there is room, else
 * freed. */
void astro_http_pool_release(astro_http_pool *p, CURL *e);

/* Frees the multi handle (closing its connections) and the idle handles; p is closed after.
 * Closing a closed pool does nothing. */
void astro_http_pool_close(astro_http_pool *p);

#endif
