/*
 * Parsers of the auth primitive, exposed for the fuzz targets as well as for src/auth.c.
 */
#ifndef ASTRO_AUTH_H
#define ASTRO_AUTH_H

#include <stddef.h>

/* Decodes base64url text (RFC 4648 §5; '=' padding optional) of len bytes into out, which must
 * hold at least (len / 4 + 1) * 3 bytes. Sets *outlen. Returns 0, or -1 on an invalid input. */
int astro_b64url_decode(const char *in, size_t len, unsigned char *out, size_t *outlen);

/* Splits a JWT (optionally prefixed by "Bearer ") into its three '.'-separated segments.
 * Sets the offsets and lengths of the header and payload segments within tok.
 * Returns 0, or -1 when the text is not three non-empty segments. */
int astro_jwt_split(const char *tok, size_t len, size_t *hdr_off, size_t *hdr_len,
                    size_t *pay_off, size_t *pay_len);

#endif
