/* The growable byte buffer of include/astro/buf.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "astro/buf.h"

int astro_buf_reserve(astro_buf *b, size_t extra) {
    if (extra <= b->cap - b->len) return 1;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap - b->len < extra) {
        if (cap > SIZE_MAX / 2) return 0;
        cap *= 2;
    }
    char *d = realloc(b->data, cap);
    if (d == NULL) return 0;
    b->data = d;
    b->cap = cap;
    return 1;
}

int astro_buf_add(astro_buf *b, const void *p, size_t n) {
    if (!astro_buf_reserve(b, n)) return 0;
    if (n > 0) memcpy(b->data + b->len, p, n);
    b->len += n;
    return 1;
}

void astro_buf_free(astro_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
