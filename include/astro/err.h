/*
 * The record of an expected failure, in the sense of include/astro/core.h's error rule: a
 * code naming its kind and a message. The C components fill it; a Lua binding returns it as
 * nil, message, code.
 */
#ifndef ASTRO_ERR_H
#define ASTRO_ERR_H

#include <lua.h>

/* Room for a path (PATH_MAX is 4096 on Linux) and what went wrong with it. */
#define ASTRO_ERR_MSG_SIZE (4096 + 512)

typedef struct astro_err {
    const char *code;              /* a static string: "io", "memory", "yaml", "lock", ... */
    char msg[ASTRO_ERR_MSG_SIZE];
} astro_err;

/* Records a failure of kind code with a printf-style message (cut to fit); returns -1. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int astro_err_set(astro_err *e, const char *code, const char *fmt, ...);

/* Pushes nil, the message, the code; returns 3. */
int astro_err_push(lua_State *L, const astro_err *e);

#endif
