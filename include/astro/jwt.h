/*
 * JWT text: base64url decoding and the split of a token into its three segments. Pure C,
 * bounded by the lengths given, no allocation; src/auth.c decodes tokens with it and a
 * libFuzzer target calls it directly. Nothing here verifies a signature.
 */
#ifndef ASTRO_JWT_H
#define ASTRO_JWT_H

#include <stddef.h>

#define ASTRO_BEARER "Bearer "                /* the prefix of an Authorization value */
#define ASTRO_BEARER_LEN (sizeof ASTRO_BEARER - 1)
#define ASTRO_JWT_MAX_LEN (64 * 1024)         /* longest token auth.jwt_decode accepts */

/* Decodes base64url text (RFC 4648 §5; '=' padding optional) of len bytes into out, which must
 * hold at least (len / 4 + 1) * 3 bytes. Sets *outlen. Returns 0, or -1 on an invalid input. */
int astro_b64url_decode(const char *in, size_t len, unsigned char *out, size_t *outlen);

/* Splits a JWT (optionally prefixed by "Bearer ") into its three '.'-separated segments.
 * Sets the offsets and lengths of the header and payload segments within tok.
 * Returns 0, or -1 when the text is not three non-empty segments. */
int astro_jwt_split(const char *tok, size_t len, size_t *hdr_off, size_t *hdr_len,
                    size_t *pay_off, size_t *pay_len);

#endif
