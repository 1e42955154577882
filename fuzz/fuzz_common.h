/*
 * Helpers shared by the libFuzzer targets of fuzz/: a Lua allocator with a memory ceiling and
 * optional failure injection, and a check that aborts (so libFuzzer saves the input) with a
 * message when an invariant of the code under test does not hold.
 */
#ifndef ASTRO_FUZZ_COMMON_H
#define ASTRO_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>

/* Aborts with a message when cond is false: libFuzzer reports it as a crash. */
#define FUZZ_CHECK(cond, ...)                                                    \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "fuzz invariant failed at %s:%d: %s: ", __FILE__,    \
                    __LINE__, #cond);                                            \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
            abort();                                                             \
        }                                                                        \
    } while (0)

/* State of fuzz_lua_alloc: bytes in use under a ceiling, and the growing allocations counted
 * so that from one of them on (fail_at, 1-based; 0 = none) every one fails. Failing them all,
 * not one, defeats Lua's retry after an emergency collection, so the error really happens;
 * set fail_at back to 0 before lua_close so that finalizers can run. */
/* One fuzz input handed to a protected Lua call as light userdata. */
typedef struct {
    const uint8_t *data;
    size_t size;
} input;

typedef struct fuzz_alloc {
    size_t used, limit;
    unsigned long count, fail_at;
} fuzz_alloc;

/* lua_Alloc with a ceiling and failure injection. Only growing requests fail (shrinking
 * ones never do in real life). */
static inline void *fuzz_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    fuzz_alloc *a = (fuzz_alloc *)ud;
    size_t old = ptr != NULL ? osize : 0;        /* with ptr NULL, osize is a type tag */
    if (nsize == 0) {
        a->used -= old;
        free(ptr);
        return NULL;
    }
    if (nsize > old) {
        a->count++;
        if (a->fail_at != 0 && a->count >= a->fail_at) return NULL;
        if (nsize - old > a->limit - a->used) return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p == NULL) return NULL;
    a->used = a->used - old + nsize;
    return p;
}

/* A fresh Lua state on a fuzz_alloc (NULL when the injected failure hits its creation). */
static inline lua_State *fuzz_newstate(fuzz_alloc *a, size_t limit, unsigned long fail_at) {
    a->used = 0;
    a->limit = limit;
    a->count = 0;
    a->fail_at = fail_at;
    return lua_newstate(fuzz_lua_alloc, a);
}

/* Closes a state made by fuzz_newstate (nothing for NULL) with failure injection off, so that
 * finalizers can run, and checks that every byte Lua took has been given back. */
static inline void fuzz_close_state(lua_State *L, fuzz_alloc *a) {
    if (L == NULL) return;
    a->fail_at = 0;
    lua_close(L);
    FUZZ_CHECK(a->used == 0, "Lua memory left after lua_close: %zu bytes", a->used);
}

/* FNV-1a of the input: picks the allocation an injected failure hits, deterministically. */
static inline uint64_t fuzz_hash(const uint8_t *data, size_t size) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 1099511628211ull;
    return h;
}

#endif
