/*
 * libFuzzer target "retry_after": astro_http_parse_retry_after (src/http_date.c) on arbitrary
 * bytes, against fixed clocks (no time-dependence, so every crash reproduces):
 *   - a success stores a finite wait in [0, 86400];
 *   - delta-seconds do not depend on the clock; an HTTP-date's wait shrinks by exactly the
 *     clock's advance (checked one second later, away from any century boundary);
 *   - the parser reads only [buf, buf + len): the input is copied into a buffer of exactly
 *     its size, with no terminator, so a read past it is an ASan report.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "astro/http_date.h"
#include "fuzz_common.h"


static const double clocks[] = {
    1767225600.0,    /* 2026-01-01T00:00:00Z: the main clock */
    1782864000.5,    /* 2026-07-01T00:00:00.5Z: a fractional clock */
    946684799.0,     /* 1999-12-31T23:59:59Z: RFC 850 two-digit years either side of 2000 */
    0.0,             /* the epoch */
    4102444800.0,    /* 2100-01-01T00:00:00Z: a non-leap century year */
};

static int parse(const char *buf, size_t len, double now, double *out) {
    *out = -1.0;
    int ok = astro_http_parse_retry_after(buf, len, now, out);
    FUZZ_CHECK(ok == 0 || ok == 1, "returned %d", ok);
    if (ok)
        FUZZ_CHECK(isfinite(*out) && *out >= 0 && *out <= ASTRO_RETRY_AFTER_MAX,
                   "wait %g at now %.1f", *out, now);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size ? size : 1);
    FUZZ_CHECK(buf != NULL, "out of memory");
    if (size) memcpy(buf, data, size);
    size_t i = 0;
    while (i < size && (buf[i] == ' ' || buf[i] == '\t')) i++;
    int delta = i < size && buf[i] >= '0' && buf[i] <= '9';
    for (size_t k = 0; k < sizeof clocks / sizeof clocks[0]; k++) {
        double now = clocks[k], w0, w1;
        int ok0 = parse(buf, size, now, &w0);
        int ok1 = parse(buf, size, now + 1.0, &w1);
        if (delta) {
            FUZZ_CHECK(ok0 == ok1 && (!ok0 || w0 == w1), "delta-seconds depend on the clock");
            FUZZ_CHECK(!ok0 || w0 == floor(w0), "delta-seconds %g not whole", w0);
        } else if (ok0 && ok1 && w0 > 1.0 && w0 < ASTRO_RETRY_AFTER_MAX) {
            FUZZ_CHECK(w1 == w0 - 1.0, "date wait %g at now, %g one second later", w0, w1);
        } else if (ok0 && w0 > 1.0) {
            FUZZ_CHECK(ok1, "date accepted at now, refused one second later");
        }
    }
    free(buf);
    return 0;
}
