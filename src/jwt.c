/*
 * base64url and the JWT split of include/astro/jwt.h.
 */
#include <string.h>

#include "astro/jwt.h"

/* Returns the 6-bit value of a base64url character, or -1. */
static int b64url_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

int astro_b64url_decode(const char *in, size_t len, unsigned char *out, size_t *outlen) {
    while (len > 0 && in[len - 1] == '=') len--;
    if (len % 4 == 1) return -1;
    size_t o = 0;
    unsigned int acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0) return -1;
        acc = (acc << 6) | (unsigned int)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)((acc >> bits) & 0xFFu);
        }
    }
    *outlen = o;
    return 0;
}

int astro_jwt_split(const char *tok, size_t len, size_t *hdr_off, size_t *hdr_len,
                    size_t *pay_off, size_t *pay_len) {
    size_t start = 0;
    if (len >= ASTRO_BEARER_LEN && memcmp(tok, ASTRO_BEARER, ASTRO_BEARER_LEN) == 0)
        start = ASTRO_BEARER_LEN;
    const char *p = tok + start;
    size_t n = len - start;
    const char *d1 = memchr(p, '.', n);
    if (d1 == NULL) return -1;
    const char *d2 = memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - p));
    if (d2 == NULL) return -1;
    if (memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - p)) != NULL) return -1;
    if (d1 == p || d2 == d1 + 1 || d2 + 1 == p + n) return -1;
    *hdr_off = start;
    *hdr_len = (size_t)(d1 - p);
    *pay_off = start + (size_t)(d1 + 1 - p);
    *pay_len = (size_t)(d2 - d1 - 1);
    return 0;
}
