/*
 * The batch scheduler of include/astro/http_sched.h: a curl_multi_perform/curl_multi_poll
 * loop over the batch's transfer slots.
 */
#include <stdlib.h>

#include "astro/core.h"
#include "astro/http_sched.h"

#define POLL_MS 100                  /* longest wait before the interrupt flag is read again */

/* Hands the failure code/detail of request pos to the done callback. */
static void deliver_failure(astro_http_batch *b, size_t pos, const char *code,
                            const char *detail) {
    astro_http_result res = {0};
    res.pos = pos;
    res.code = code;
    res.detail = detail;
    b->ndone++;
    b->done(b->ud, &res);
}

/* Returns 1 when before_start postpones due request pos (its start_at is then the later
 * time), else 0. */
static int postponed(astro_http_batch *b, size_t pos) {
    double later = 0;
    if (b->before_start == NULL || !b->before_start(b->ud, pos, &later)) return 0;
    if (!(later > astro_now())) return 0;
    b->reqs[pos].start_at = later;
    return 1;
}

/* Starts the next pending requests in free slot x until one starts; start failures become
 * results right away. Requests start in order: one not due yet, or postponed, holds back
 * those after it. */
static void slot_fill(astro_http_batch *b, astro_http_xfer *x) {
    while (b->next < b->n) {
        if (b->reqs[b->next].start_at > astro_now()) return;     /* not due yet */
        if (postponed(b, b->next)) return;
        size_t pos = b->next++;
        const char *why = astro_http_xfer_start(x, b->pool, &b->reqs[pos], pos, b->user_agent);
        if (why == NULL) return;
        deliver_failure(b, pos, "other", why);
    }
}

/* Starts due requests in every free slot. */
static void fill_free_slots(astro_http_batch *b) {
    for (size_t k = 0; k < b->nslots && b->next < b->n; k++)
        if (b->slots[k].easy == NULL) slot_fill(b, &b->slots[k]);
}

/* Milliseconds to wait in curl_multi_poll: POLL_MS, or less when the next pending request
 * is due sooner. */
static int poll_wait_ms(const astro_http_batch *b) {
    if (b->next >= b->n) return POLL_MS;
    double wait = (b->reqs[b->next].start_at - astro_now()) * 1000.0;
    if (wait <= 0) return 0;
    return wait < POLL_MS ? (int)wait + 1 : POLL_MS;
}

/* Delivers the outcome of finished transfer x, frees its slot and starts the next request
 * in it. */
static void slot_finish(astro_http_batch *b, astro_http_xfer *x, CURLcode rc) {
    astro_http_result res;
    astro_http_xfer_finish(x, b->pool, rc, &res);
    b->ndone++;
    b->done(b->ud, &res);
    astro_http_xfer_release(x, b->pool);
    slot_fill(b, x);
}

/* Collects every transfer curl reports as done. */
static void batch_collect(astro_http_batch *b) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(b->pool->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) continue;
        CURLcode rc = m->data.result;                    /* m dies with the handle's removal */
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        slot_finish(b, (astro_http_xfer *)(void *)priv, rc);
    }
}

/* Ends every running and pending request with the same failure: interrupted when detail
 * is NULL, else "other" with detail (a multi handle error). */
static void batch_abort(astro_http_batch *b, const char *detail) {
    const char *code = detail == NULL ? "interrupted" : "other";
    for (size_t k = 0; k < b->nslots; k++) {
        astro_http_xfer *x = &b->slots[k];
        if (x->easy == NULL) continue;
        deliver_failure(b, x->pos, code, detail);
        astro_http_xfer_release(x, b->pool);
    }
    while (b->next < b->n) deliver_failure(b, b->next++, code, detail);
}

/* Runs all requests, at most nslots at a time, until each has a result. */
static void batch_loop(astro_http_batch *b) {
    if (astro_interrupted()) {
        batch_abort(b, NULL);
        return;
    }
    fill_free_slots(b);
    while (b->ndone < b->n) {
        if (astro_interrupted()) {
            batch_abort(b, NULL);
            return;
        }
        int running = 0;
        CURLMcode mc = curl_multi_perform(b->pool->multi, &running);
        if (mc == CURLM_OK) {
            batch_collect(b);
            if (b->ndone >= b->n) return;
            fill_free_slots(b);
            mc = curl_multi_poll(b->pool->multi, NULL, 0, poll_wait_ms(b), NULL);
        }
        if (mc != CURLM_OK) {
            batch_abort(b, curl_multi_strerror(mc));
            return;
        }
    }
}

int astro_http_batch_run(astro_http_batch *b) {
    if (b->n == 0) return 0;
    b->nslots = b->concurrency < b->n ? b->concurrency : b->n;
    b->slots = calloc(b->nslots, sizeof *b->slots);
    if (b->slots == NULL) return -1;
    batch_loop(b);
    return 0;
}

void astro_http_batch_cleanup(astro_http_batch *b) {
    for (size_t k = 0; b->slots != NULL && k < b->nslots; k++)
        astro_http_xfer_release(&b->slots[k], b->pool);
    free(b->slots);
    b->slots = NULL;
}
