/*
 * A growable byte buffer shared by the C modules (HTTP bodies, config file bytes, YAML output).
 * Zero-initialise it; free it with astro_buf_free.
 */
#ifndef ASTRO_BUF_H
#define ASTRO_BUF_H

#include <stddef.h>

typedef struct astro_buf {
    char *data;
    size_t len, cap;
} astro_buf;

/* Makes room for at least extra more bytes after len. Returns 1, or 0 when memory runs out
 * (the buffer is then unchanged). */
int astro_buf_reserve(astro_buf *b, size_t extra);

/* Appends n bytes from p. Returns 1, or 0 when memory runs out (the buffer is unchanged). */
int astro_buf_add(astro_buf *b, const void *p, size_t n);

/* Frees the buffer's memory and empties it. */
void astro_buf_free(astro_buf *b);

#endif
