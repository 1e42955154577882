/*
 * The run scheduler of include/astro/http_sched.h: a curl_multi_perform/curl_multi_poll
 * loop over the run's transfer slots, asking the next callback whenever one is free.
 */
#include <math.h>
#include <stdlib.h>

#include "astro/core.h"
#include "astro/http_sched.h"

#define POLL_MS 100                  /* longest wait before the interrupt flag is read again */

/* r->ask: when next is asked again. */
enum { ASK_NOW, ASK_AT, ASK_IDLE };

/* Returns 1 when slot s runs a transfer or holds a request for its start_at. */
static int slot_busy(const astro_http_slot *s) {
    return s->xfer.easy != NULL || s->held != NULL;
}

/* Returns 1 when any slot of r is busy. */
static int any_busy(const astro_http_run *r) {
    for (size_t k = 0; k < r->concurrency; k++)
        if (slot_busy(&r->slots[k])) return 1;
    return 0;
}

/* Hands the failure code/detail of the request in slot k to the done callback. */
static void deliver_failure(astro_http_run *r, size_t k, const char *code, const char *detail) {
    astro_http_result res = {0};
    res.pos = k;
    res.code = code;
    res.detail = detail;
    r->done(r->ud, &res);
}

/* Begins the transfer of request q in slot k. Returns 1 when it runs; 0 when it could not
 * start, after its failure went to the done callback (the slot is free again). */
static int slot_begin(astro_http_run *r, size_t k, const astro_http_req *q) {
    astro_http_slot *s = &r->slots[k];
    s->held = NULL;
    const char *why = astro_http_xfer_start(&s->xfer, r->pool, q, k, r->user_agent);
    if (why == NULL) return 1;
    deliver_failure(r, k, "other", why);
    return 0;
}

/* While r->ask is ASK_NOW, asks next for each free slot in turn: a START answer fills the
 * slot (running, or held for its start_at), a WAIT or IDLE answer stops the asking. Stops
 * too when no slot is free, or on a signal (the loop then aborts the run). */
static void run_fill(astro_http_run *r) {
    for (size_t k = 0; k < r->concurrency && r->ask == ASK_NOW; k++) {
        while (r->ask == ASK_NOW && !slot_busy(&r->slots[k])) {   /* again after a failed start */
            if (astro_interrupted()) return;
            const astro_http_req *q = NULL;
            double wake = 0;
            int a = r->next(r->ud, k, &q, &wake);
            if (a == ASTRO_HTTP_NEXT_WAIT) {
                r->ask = ASK_AT;
                r->wake = wake;
            } else if (a != ASTRO_HTTP_NEXT_START) {
                r->ask = ASK_IDLE;
            } else if (q->start_at > astro_now()) {
                r->slots[k].held = q;
            } else {
                slot_begin(r, k, q);
            }
        }
    }
}

/* Begins the held requests whose start_at has come; one that cannot start has its done
 * call, and next is asked again after it. */
static void start_due(astro_http_run *r) {
    for (size_t k = 0; k < r->concurrency; k++) {
        const astro_http_req *q = r->slots[k].held;
        if (q == NULL || q->start_at > astro_now()) continue;
        if (!slot_begin(r, k, q)) {
            r->ask = ASK_NOW;
            run_fill(r);
        }
    }
}

/* Hands every transfer curl reports done to the done callback, frees its slot and asks next
 * again after each. */
static void run_collect(astro_http_run *r) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(r->pool->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) continue;
        CURLcode rc = m->data.result;                    /* m dies with the handle's removal */
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        astro_http_xfer *x = (astro_http_xfer *)(void *)priv;
        astro_http_result res;
        astro_http_xfer_finish(x, r->pool, rc, &res);    /* the handle is out of the multi */
        r->done(r->ud, &res);
        astro_http_xfer_release(x, r->pool);
        r->ask = ASK_NOW;
        run_fill(r);
    }
}

/* Ends every running or held request with the same failure: interrupted when detail is
 * NULL, else "other" with detail (a multi handle error). Each transfer is out of the multi
 * before its done call. */
static void run_abort(astro_http_run *r, const char *detail) {
    const char *code = detail == NULL ? "interrupted" : "other";
    for (size_t k = 0; k < r->concurrency; k++) {
        astro_http_slot *s = &r->slots[k];
        if (!slot_busy(s)) continue;
        astro_http_xfer_release(&s->xfer, r->pool);
        s->held = NULL;
        deliver_failure(r, k, code, detail);
    }
}

/* Returns the milliseconds from now until monotonic time t, within [0, POLL_MS], rounded
 * up so that a wait for t does not end before it. */
static int ms_until(double t, double now) {
    double ms = (t - now) * 1000.0;
    if (!(ms > 0)) return 0;
    return ms >= POLL_MS ? POLL_MS : (int)ceil(ms);
}

/* Milliseconds to wait in curl_multi_poll: POLL_MS, or less when a wake time or a held
 * request's start_at comes sooner; a wake time never makes it shorter than
 * ASTRO_HTTP_MIN_WAIT_MS (see the header comment). */
static int poll_wait_ms(const astro_http_run *r) {
    double now = astro_now();
    int wait = POLL_MS;
    if (r->ask == ASK_AT) {
        int w = ms_until(r->wake, now);
        wait = w < ASTRO_HTTP_MIN_WAIT_MS ? ASTRO_HTTP_MIN_WAIT_MS : w;
    }
    for (size_t k = 0; k < r->concurrency; k++) {
        const astro_http_req *q = r->slots[k].held;
        if (q == NULL) continue;
        int w = ms_until(q->start_at, now);
        if (w < wait) wait = w;
    }
    return wait;
}

/* The loop: one turn asks next once more if its wake time has come, drives the transfers,
 * collects those that ended and waits. */
static int run_turns(astro_http_run *r) {
    r->ask = ASK_NOW;
    run_fill(r);
    for (;;) {
        if (astro_interrupted()) {
            run_abort(r, NULL);
            return ASTRO_HTTP_RUN_INTERRUPTED;
        }
        start_due(r);
        if (r->ask == ASK_AT && astro_now() >= r->wake) {
            r->ask = ASK_NOW;
            run_fill(r);
        }
        int running = 0;
        CURLMcode mc = curl_multi_perform(r->pool->multi, &running);
        if (mc == CURLM_OK) {
            run_collect(r);
            if (astro_interrupted()) continue;
            if (r->ask == ASK_IDLE && !any_busy(r)) return ASTRO_HTTP_RUN_DONE;
            mc = curl_multi_poll(r->pool->multi, NULL, 0, poll_wait_ms(r), NULL);
        }
        if (mc != CURLM_OK) {
            r->detail = curl_multi_strerror(mc);
            run_abort(r, r->detail);
            return ASTRO_HTTP_RUN_FAILED;
        }
    }
}

int astro_http_run_loop(astro_http_run *r) {
    if (astro_interrupted()) return ASTRO_HTTP_RUN_INTERRUPTED;
    r->slots = calloc(r->concurrency, sizeof *r->slots);
    if (r->slots == NULL) return ASTRO_HTTP_RUN_NOMEM;
    return run_turns(r);
}

void astro_http_run_cleanup(astro_http_run *r) {
    for (size_t k = 0; r->slots != NULL && k < r->concurrency; k++) {
        astro_http_xfer_release(&r->slots[k].xfer, r->pool);
        r->slots[k].held = NULL;
    }
    free(r->slots);
    r->slots = NULL;
}
