/*
 * astro: entry point, in the manner of lua.c. Creates the Lua state, runs everything in one
 * protected call with a traceback handler, prints errors as "Error: <message>" and maps them
 * to exit codes (0 success, 1 error, 2 usage error, 130 interrupted).
 *
 *   astro [command ...]          runs the embedded CLI: require("astro.cli").main(args)
 *   astro --lua FILE [ARGS ...]  runs a Lua file inside the host, like `lua FILE ARGS`
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "astro/core.h"
#include "astro/env.h"
#include "astro/host.h"
#include "astro/term.h"

#define EXIT_INTERRUPTED 130

/* Message handler: turns any error value into a string and appends a traceback after a
 * marker line, so main can print the message alone and the traceback only when asked. */
static int msghandler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else if (lua_istable(L, 1) && lua_getfield(L, 1, "message") == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Writes text[0..len) to stderr escaped for a terminal (astro_term_escape, flags as there);
 * without memory for the escaped copy, says so instead of writing the raw bytes. */
static void write_escaped(const char *text, size_t len, unsigned flags) {
    char *out = malloc(ASTRO_TERM_MAX(len) + 1);
    if (out == NULL) {
        fputs("(message not shown: not enough memory)", stderr);
        return;
    }
    size_t n = astro_term_escape(text, len, out, flags);
    fwrite(out, 1, n, stderr);
    free(out);
}

/* Prints an error produced under msghandler: the first part always, on one line and escaped
 * (an error message may repeat data from anywhere), the traceback only when the ASTRO_DEBUG
 * flag is on (escaped, its lines kept). */
static void report(const char *text) {
    const char *tb = strstr(text, "\nstack traceback:");
    size_t len = tb != NULL ? (size_t)(tb - text) : strlen(text);
    fputs("Error: ", stderr);
    write_escaped(text, len, 0);
    if (tb != NULL && astro_env_flag("ASTRO_DEBUG")) write_escaped(tb, strlen(tb), ASTRO_TERM_LINES);
    fputc('\n', stderr);
    fflush(stderr);
}

/* Builds the global `arg` like lua.c: script at index 0, what precedes it at negative indices. */
static void create_arg_table(lua_State *L, char **argv, int argc, int script) {
    lua_createtable(L, argc - script - 1, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

/* The protected body: [argc, argv] come as light userdata. Returns the exit code as an integer
 * on the stack. */
static int pmain(lua_State *L) {
    int argc = (int)lua_tointeger(L, 1);
    char **argv = (char **)lua_touserdata(L, 2);
    lua_settop(L, 0);
    astro_host_open(L);

    if (argc >= 2 && strcmp(argv[1], "--lua") == 0) {
        if (argc < 3)
            return luaL_error(L, "--lua needs a file to run: astro --lua FILE [ARGS]");
        lua_gc(L, LUA_GCRESTART);
        create_arg_table(L, argv, argc, 2);
        if (luaL_loadfilex(L, argv[2], "t") != LUA_OK)
            return lua_error(L);
        luaL_checkstack(L, argc, "too many arguments to script");
        for (int i = 3; i < argc; i++) lua_pushstring(L, argv[i]);
        lua_call(L, argc - 3, 0);
        lua_pushinteger(L, EXIT_SUCCESS);
        return 1;
    }

    create_arg_table(L, argv, argc, 0);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "astro.cli");
    lua_call(L, 1, 1);                          /* [cli module] */
    lua_getfield(L, -1, "main");                /* [cli, main] */
    lua_createtable(L, argc, 0);
    for (int i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }                                           /* [module, fn, args] */
    lua_call(L, 1, 1);                          /* [module, code] */
    if (!lua_isinteger(L, -1))
        return luaL_error(L, "astro.cli.main returned %s instead of an exit code",
                          luaL_typename(L, -1));
    return 1;
}

/* Ends the process with code once every stream is flushed, without lua_close: the
 * finalizers it would run do nothing the exit does not do anyway (a config Job closes its
 * lock descriptors, and its temporary file is renamed or removed before config.update
 * returns; an HTTP session closes its connections; a directory box its DIR; Lua's io files
 * are stdio streams, which exit flushes and closes). Under the sanitizers (ASTRO_SANITIZE)
 * the state is closed all the same, so that LeakSanitizer still checks every allocation. */
_Noreturn static void leave(lua_State *L, int code) {
    fflush(NULL);
#if defined(ASTRO_SANITIZE)
    lua_close(L);
#else
    /* The start of the state's block, in memory at exit: leak checkers (valgrind) find the
     * state, and all it holds, still reachable rather than lost. */
    void *volatile kept = lua_getextraspace(L);
    (void)kept;
#endif
    exit(code);
}

int main(int argc, char **argv) {
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        fputs("Error: cannot create the Lua state: not enough memory\n", stderr);
        return EXIT_FAILURE;
    }
    /* The collector waits while the modules load (they live until exit, so a cycle would mark
     * them for nothing); astro.cli.main restarts it before the command runs, --lua at once. */
    lua_gc(L, LUA_GCSTOP);
    astro_interrupt_install();
    lua_pushcfunction(L, msghandler);
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int status = lua_pcall(L, 2, 1, 1);
    int code;
    if (astro_interrupted()) {
        fputs("Error: interrupted\n", stderr);
        code = EXIT_INTERRUPTED;
    } else if (status != LUA_OK) {
        report(lua_tostring(L, -1));
        code = EXIT_FAILURE;
    } else {
        code = (int)lua_tointeger(L, -1);
    }
    leave(L, code);
}
