/*
 * Other programs: the module "astro.core.proc" (src/proc.c), what the tool needs to hand a
 * command over to the astro CLI and to ask that CLI its version. From Lua:
 *
 *   proc.executable(path) -> boolean
 *     true when path (links followed) is a regular file this process may execute
 *     (access(2) with X_OK, as a shell's PATH search checks it).
 *
 *   proc.exec(path, argv [, env]) -> only returns on failure: nil, message, "io"
 *     Replaces this process with the program at path (execv(3): no PATH search), argv[1]
 *     being its argv[0]. Every stdio stream (Lua's io.stdout and io.stderr included) is
 *     flushed first, and each name = value of env is set in the environment the program
 *     gets (on top of this process's own). The program keeps this process's id, standard
 *     streams and signal mask; the tool's signal handlers are reset by the exec. Refused
 *     (nil, "interrupted", "interrupted") once SIGINT/SIGTERM arrived. On failure the
 *     variables of env stay set and the message names path and the reason.
 *
 *   proc.run(path, argv, opts) -> result | nil, message, code
 *     Runs the program at path with argv (as proc.exec) in a child process of its own
 *     process group, stdin and stderr on /dev/null, stdout on a pipe, each name = value of
 *     opts.env added to its environment, and waits at most opts.timeout seconds (> 0) for it
 *     to close stdout and exit. result = { stdout = the first opts.max bytes it wrote (default
 *     65536, at most 1 MiB; the rest is read and dropped), status = exit status or nil,
 *     signal = the signal that ended it or nil, timed_out = true when the time ran out: the
 *     whole process group is then killed (SIGKILL) and reaped, and stdout holds what came
 *     before }. Failures: nil, "<path>: <reason>", "io" when it cannot be started (the exec's
 *     own errno included); nil, "interrupted", "interrupted" after SIGINT/SIGTERM, the child's
 *     group killed. Nothing of the child (descriptor, zombie) outlives the call.
 *
 * Every argument and variable is a string without NUL bytes (an error otherwise: a misuse).
 */
#ifndef ASTRO_PROC_H
#define ASTRO_PROC_H

#include <lua.h>

int luaopen_astro_core_proc(lua_State *L);    /* "astro.core.proc": exec and run programs */

#endif
