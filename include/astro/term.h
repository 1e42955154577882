/*
 * Text safe to write to a terminal. The input is any bytes; the output is valid UTF-8 that holds
 * no control a terminal acts on and no character that reorders what follows it. The escape
 * rule, applied to the input read as UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * past U+10FFFF):
 *   - a C0 control (0x00-0x1f) and DEL (0x7f) become \xNN (two lower-case hex digits), except
 *     newline and tab under ASTRO_TERM_LINES;
 *   - a C1 control (U+0080-U+009F, the UTF-8 bytes c2 80 to c2 9f) becomes \u00NN;
 *   - a bidi control (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and the line and
 *     paragraph separators U+2028 and U+2029 become \uNNNN (four lower-case hex digits);
 *   - every byte that does not start a valid UTF-8 sequence becomes \xNN, and decoding goes on
 *     at the next byte (so a lone 0x9b, an 8-bit CSI, shows as \x9b, and each byte of an
 *     overlong, surrogate or truncated sequence is escaped on its own);
 *   - everything else, the backslash included, is copied unchanged.
 * The output therefore holds no byte below 0x20 (but newline and tab under ASTRO_TERM_LINES),
 * no 0x7f, no C1 control and no bidi control, and escaping it again changes nothing. Pure C:
 * reads only in[0..len), writes only out[0..ASTRO_TERM_MAX(len)), allocates nothing, keeps no
 * state, so a libFuzzer target calls it directly.
 *
 * Also the width of a terminal (astro_term_columns), which tables and the progress bar fit.
 */
#ifndef ASTRO_TERM_H
#define ASTRO_TERM_H

#include <stddef.h>

/* Flag: keep newline (0x0a) and tab (0x09), for text of several lines. */
#define ASTRO_TERM_LINES 1u

/* The most bytes astro_term_escape writes for len input bytes (every byte as \xNN). */
#define ASTRO_TERM_MAX(len) ((len) * 4)

/* Returns the offset of the first byte of in[0..len) that the escape rule changes, or len when
 * the text is already safe (it then comes back unchanged). */
size_t astro_term_scan(const char *in, size_t len, unsigned flags);

/* Writes in[0..len) escaped by the rule above into out, which must hold ASTRO_TERM_MAX(len)
 * bytes; returns the number of bytes written (len when nothing needed escaping). */
size_t astro_term_escape(const char *in, size_t len, char *out, unsigned flags);

/* Returns the number of columns of the terminal open on fd (ioctl TIOCGWINSZ), or 0 when fd
 * is not a terminal or the terminal does not know its size (a size of 0, as a pseudo-terminal
 * nobody sized has). Reads the size each call, so a resized window is seen at once. */
int astro_term_columns(int fd);

#endif
