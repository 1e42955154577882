/*
 * The run scheduler: a pull-based loop of transfers on one pool's multi handle. It has
 * concurrency transfer slots and asks its owner for the next request whenever one is free:
 * at the start, after each done call, and when a wake time the owner asked for has come.
 * The next callback answers one of
 *   ASTRO_HTTP_NEXT_START  start *req now in the slot it was asked for (a start_at still
 *                          ahead holds the slot until then, without asking again);
 *   ASTRO_HTTP_NEXT_WAIT   nothing to start before *wake (monotonic seconds, astro_now()):
 *                          ask again at that time, or earlier when a transfer ends;
 *   ASTRO_HTTP_NEXT_IDLE   nothing to start until a transfer ends.
 * The run ends when nothing is running (or held) and the last answer was IDLE.
 *
 * The done callback gets the outcome of every request next started, exactly once, as it
 * ends, before next is asked again: a response, a failure of its own, or a failure that
 * could not start it (then right away). The two callbacks are never nested in one another.
 *
 * A wake time at or before now is asked again on the next turn of the loop, and a turn
 * (curl_multi_perform, then curl_multi_poll) whose only reason to end is the wake time waits
 * at least ASTRO_HTTP_MIN_WAIT_MS: a next that keeps answering a past time is asked about
 * once per millisecond, not in a busy loop. Transfers ending are the only other reason to ask.
 *
 * A signal (astro_interrupted) or a multi handle error ends every running or held request
 * with a failure (code "interrupted", or "other" with the multi handle's message as detail),
 * after which next is not asked again; the run then returns ASTRO_HTTP_RUN_INTERRUPTED or
 * ASTRO_HTTP_RUN_FAILED.
 *
 * Memory is bounded by concurrency: the slots are allocated once per run; the owner keeps
 * each request alive (strings, header list) only from the next answer that handed it over
 * until its done call, for which the result's pos names the slot (0 .. concurrency-1).
 *
 * It never calls Lua: the callbacks adapt it. A callback may leave by a longjmp (a Lua
 * error): whatever the run holds stays recorded in it, for astro_http_run_cleanup, which
 * its owner calls on every path.
 */
#ifndef ASTRO_HTTP_SCHED_H
#define ASTRO_HTTP_SCHED_H

#include <stddef.h>

#include "astro/http_pool.h"
#include "astro/http_xfer.h"

#define ASTRO_HTTP_MIN_WAIT_MS 1      /* shortest wait of a turn that waits for a wake time */

enum { ASTRO_HTTP_NEXT_START, ASTRO_HTTP_NEXT_WAIT, ASTRO_HTTP_NEXT_IDLE };

enum {
    ASTRO_HTTP_RUN_NOMEM = -1,         /* no memory for the slots: next was never asked */
    ASTRO_HTTP_RUN_DONE = 0,           /* ended normally */
    ASTRO_HTTP_RUN_INTERRUPTED,        /* a signal ended it (possibly before anything started) */
    ASTRO_HTTP_RUN_FAILED              /* a multi handle error ended it: see detail */
};

/* One transfer slot: free when neither running nor held. */
typedef struct astro_http_slot {
    astro_http_xfer xfer;              /* running while xfer.easy != NULL */
    const astro_http_req *held;        /* handed over, waiting for its start_at; else NULL */
} astro_http_slot;

typedef struct astro_http_run {
    /* Set by the owner. */
    astro_http_pool *pool;             /* open */
    const char *user_agent;
    size_t concurrency;                /* >= 1 */
    /* Asked for the request to start in free slot number slot; see the file comment. On
     * START, *req stays valid (and unchanged) until the done call for that slot. */
    int (*next)(void *ud, size_t slot, const astro_http_req **req, double *wake);
    /* Receives the outcome of each started request, once; res->pos is its slot. */
    void (*done)(void *ud, const astro_http_result *res);
    void *ud;                          /* handed to both callbacks */
    /* The scheduler's. Zero before astro_http_run_loop. */
    astro_http_slot *slots;
    int ask;                           /* when next is asked again (sched.c) */
    double wake;                       /* the last WAIT answer's time */
    const char *detail;                /* ASTRO_HTTP_RUN_FAILED: the multi handle's message */
} astro_http_run;

/* Runs r until next has nothing more and every request it started has had its done call,
 * or until a signal or a multi handle error. Returns one of ASTRO_HTTP_RUN_*. */
int astro_http_run_loop(astro_http_run *r);

/* Frees what r holds: running transfers are aborted (without a done call) and their handles
 * go back to the pool. Safe after any exit from astro_http_run_loop, and twice. */
void astro_http_run_cleanup(astro_http_run *r);

#endif
