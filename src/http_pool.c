/*
 * The easy-handle pool of include/astro/http_pool.h.
 */
#include "astro/http_pool.h"

int astro_http_pool_open(astro_http_pool *p, long max_connections) {
    p->multi = curl_multi_init();
    if (p->multi == NULL) return -1;
    curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, max_connections);
    curl_multi_setopt(p->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max_connections);
    return 0;
}

CURL *astro_http_pool_acquire(astro_http_pool *p) {
    if (p->nidle > 0) return p->idle[--p->nidle];
    return curl_easy_init();
}

void astro_http_pool_release(astro_http_pool *p, CURL *e) {
    if (p->nidle < ASTRO_HTTP_POOL_IDLE) {
        curl_easy_reset(e);
        p->idle[p->nidle++] = e;
    } else {
        curl_easy_cleanup(e);
    }
}

void astro_http_pool_close(astro_http_pool *p) {
    if (p->multi != NULL) curl_multi_cleanup(p->multi);
    p->multi = NULL;
    while (p->nidle > 0) curl_easy_cleanup(p->idle[--p->nidle]);
}
