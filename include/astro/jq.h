/*
 * jq filters through Debian's libjq: the module "astro.core.jq" (src/jq.c). From Lua:
 *
 *   jq.compile(expr [, vars]) -> filter | nil, message [, "library"]
 *     compiles a jq program. vars, a table of name -> JSON text, binds each name as $name
 *     (the text is parsed as JSON; a text that is not JSON raises). The filter cannot read
 *     the process environment: `env` and `$ENV` are both {} (the environment holds the API
 *     token), and it reads no files (`input`, `inputs`, `import` and `include` fail). nil and
 *     jq's own message (every line of it, joined) for a program jq refuses.
 *
 *   filter:run(text [, flags]) -> outputs | nil, message
 *     runs the filter once on each JSON value of text (one value, or several one after the
 *     other as in NDJSON) and returns a list of the outputs, each as JSON text: compact, or
 *     indented by two spaces with flags "p"; a string output is its raw text with flags "r"
 *     (jq -r). nil and a message for text that is not JSON, a runtime error of the filter
 *     (`error`, a type error), `halt_error`, and an interrupt (Ctrl-C: the interrupt flag is
 *     polled after each output). `halt` ends the run with the outputs so far.
 *
 * Numbers pass through libjq's doubles: integers beyond 2^53 lose precision, as in jq 1.6.
 * libjq is opened (dlopen, libjq.so.1) at the first jq.compile, not at start-up; when it cannot
 * be (missing, or without a function this module calls), jq.compile returns nil, a message
 * naming it, and "library".
 * The jq state lives in a userdata whose finalizer tears it down; every jv a call makes is
 * freed before the call returns or raises.
 */
#ifndef ASTRO_JQ_H
#define ASTRO_JQ_H

#include <lua.h>

int luaopen_astro_core_jq(lua_State *L);    /* "astro.core.jq": compile and run jq filters */

#endif
