/*
 * ASCII character rules that do not depend on the C locale (Lua's os.setlocale can change it):
 * for the protocol text the HTTP components read.
 */
#ifndef ASTRO_ASCII_H
#define ASTRO_ASCII_H

/* Returns c lower-cased when it is an ASCII capital letter, else c. */
static inline char astro_ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Returns 1 for an ASCII letter. */
static inline int astro_ascii_alpha(char c) {
    c = astro_ascii_lower(c);
    return c >= 'a' && c <= 'z';
}

#endif
