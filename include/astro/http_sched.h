/*
 * The batch scheduler: runs the requests of a batch on one pool's multi handle, at most
 * concurrency at a time, each not before its start_at, in order (a request that is not due,
 * or that the before_start callback postpones, holds back those after it), and hands every
 * outcome, as it comes, to the done callback: exactly one call per request, including those
 * that could not start, and those that a signal (astro_interrupted) or a multi handle error
 * ends. It never calls Lua: the callbacks adapt it.
 *
 * A callback may leave by a longjmp (a Lua error): whatever the batch holds stays recorded
 * in it, for astro_http_batch_cleanup, which its owner calls on every path.
 */
#ifndef ASTRO_HTTP_SCHED_H
#define ASTRO_HTTP_SCHED_H

#include <stddef.h>

#include "astro/http_pool.h"
#include "astro/http_xfer.h"

typedef struct astro_http_batch {
    /* Set by the owner. */
    astro_http_pool *pool;             /* open */
    const char *user_agent;
    astro_http_req *reqs;              /* n requests; a postponement moves their start_at */
    size_t n, concurrency;             /* concurrency >= 1 */
    /* Asked as request pos is due, when not NULL: returns 0 to start it now, or 1 with a
     * time (monotonic seconds) in *later; a time still ahead postpones the request to it. */
    int (*before_start)(void *ud, size_t pos, double *later);
    /* Receives the outcome of each request, once. */
    void (*done)(void *ud, const astro_http_result *res);
    void *ud;                          /* handed to both callbacks */
    /* The scheduler's. Zero before astro_http_batch_run. */
    astro_http_xfer *slots;
    size_t nslots, next, ndone;
} astro_http_batch;

/* Runs every request of b until each has had its done call. Returns 0, or -1 when memory
 * for the transfer slots runs out (then nothing started and done was not called). */
int astro_http_batch_run(astro_http_batch *b);

/* Frees what b holds: running transfers are aborted and their handles go back to the pool.
 * Safe after any exit from astro_http_batch_run, and twice. */
void astro_http_batch_cleanup(astro_http_batch *b);

#endif
