/*
 * The C core: primitives the embedded Lua VM builds on. Each module lives in one file of src/
 * and is registered in package.preload under the name in its comment.
 *
 * The error rule, for every function these modules export to Lua:
 *   - misuse by the caller (wrong argument type, unknown option, calling a closed object)
 *     raises a Lua error with luaL_argerror/luaL_error, message without a trailing newline;
 *   - expected failures (network down, timeout, invalid YAML, missing file, bad token)
 *     return nil, message[, code], where code is a short string naming the kind of failure.
 * Secrets (tokens) never appear in a message produced here.
 */
#ifndef ASTRO_CORE_H
#define ASTRO_CORE_H

#include <lua.h>

int luaopen_astro_core_http(lua_State *L);    /* "astro.core.http": libcurl sessions and runs */
int luaopen_astro_core_config(lua_State *L);  /* "astro.core.config": YAML config read/update */
int luaopen_astro_core_auth(lua_State *L);    /* "astro.core.auth": JWT decoding */
int luaopen_astro_core_sys(lua_State *L);     /* "astro.core.sys": clock, sleep, tty, signals */
int luaopen_astro_core_host(lua_State *L);    /* "astro.core.host": embedded module list, version */
int luaopen_astro_core_env(lua_State *L);     /* "astro.core.env": the environment variables read */
int luaopen_astro_core_term(lua_State *L);    /* "astro.core.term": text made safe for a terminal */

/* Installs the SIGINT/SIGTERM handler that sets the interrupt flag. The first signal sets the
 * flag (transfers and sleeps stop and the command unwinds); a second one kills the process. */
void astro_interrupt_install(void);

/* Returns the signal number that interrupted the process, or 0. */
int astro_interrupted(void);

/* Returns seconds on the monotonic clock: the clock of sys.now(), start_at and deadlines. */
double astro_now(void);

#endif
