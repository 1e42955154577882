/*
 * "astro.core.sys": the few operating-system services Lua's standard library lacks: a
 * monotonic clock, an interruptible sleep, terminal detection and the interrupt flag that
 * SIGINT/SIGTERM set.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <lauxlib.h>

#include "astro/binding.h"
#include "astro/core.h"

/* Process-wide: set once by the signal handler, read by transfers and sleeps. */
static volatile sig_atomic_t interrupted_by = 0;

/* Records the signal and restores the default action, so a second signal ends the process. */
static void on_signal(int sig) {
    interrupted_by = sig;
    signal(sig, SIG_DFL);
}

/* Does nothing. Catching SIGPIPE (rather than ignoring it) makes a write to a closed pipe fail
 * with EPIPE here, while programs that scripts and plugins start get the default action back
 * at exec (an ignored signal would be passed on to them). */
static void on_sigpipe(int sig) {
    (void)sig;
}

void astro_interrupt_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct sigaction pipe_sa;
    memset(&pipe_sa, 0, sizeof pipe_sa);
    pipe_sa.sa_handler = on_sigpipe;
    pipe_sa.sa_flags = SA_RESTART;
    sigemptyset(&pipe_sa.sa_mask);
    sigaction(SIGPIPE, &pipe_sa, NULL);
}

int astro_interrupted(void) {
    return (int)interrupted_by;
}

/* Returns seconds from the given clock as a float. */
static double clock_seconds(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double astro_now(void) {
    return clock_seconds(CLOCK_MONOTONIC);
}

/* sys.now() -> seconds on a monotonic clock (for durations and pacing). */
static int sys_now(lua_State *L) {
    lua_pushnumber(L, astro_now());
    return 1;
}

/* sys.time() -> wall-clock seconds since the epoch, with a fraction. */
static int sys_time(lua_State *L) {
    lua_pushnumber(L, clock_seconds(CLOCK_REALTIME));
    return 1;
}

/* sys.sleep(seconds) -> true, or nil, "interrupted", "interrupted" when a signal arrived. */
static int sys_sleep(lua_State *L) {
    double secs = luaL_checknumber(L, 1);
    luaL_argcheck(L, secs >= 0, 1, "negative duration");
    double end = astro_now() + secs;
    for (;;) {
        if (interrupted_by) {
            lua_pushnil(L);
            lua_pushliteral(L, "interrupted");
            lua_pushliteral(L, "interrupted");
            return 3;
        }
        double left = end - astro_now();
        if (left <= 0) break;
        if (left > 0.05) left = 0.05;   /* wake up regularly to notice a signal */
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        nanosleep(&ts, NULL);
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* sys.isatty(fd) -> boolean; fd is 0, 1 or 2 (or "stdin", "stdout", "stderr"). */
static int sys_isatty(lua_State *L) {
    static const char *const names[] = {"stdin", "stdout", "stderr", NULL};
    int fd = lua_type(L, 1) == LUA_TSTRING ? luaL_checkoption(L, 1, NULL, names)
                                           : (int)luaL_checkinteger(L, 1);
    lua_pushboolean(L, isatty(fd));
    return 1;
}

/* sys.interrupted() -> the signal number that interrupted the process, or false. */
static int sys_interrupted(lua_State *L) {
    if (interrupted_by) lua_pushinteger(L, interrupted_by);
    else lua_pushboolean(L, 0);
    return 1;
}

/* sys.getpid() -> the process id (for temporary names and logs). */
static int sys_getpid(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)getpid());
    return 1;
}

/* sys.uname() -> sysname, machine (e.g. "Linux", "x86_64"). */
static int sys_uname(lua_State *L) {
    struct utsname u;
    if (uname(&u) != 0) {
        lua_pushliteral(L, "unknown");
        lua_pushliteral(L, "unknown");
    } else {
        lua_pushstring(L, u.sysname);
        lua_pushstring(L, u.machine);
    }
    return 2;
}

/* Pushes nil, "<path>: <strerror(err)>", "io" and returns 3. */
static int push_errno(lua_State *L, const char *path, int err) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, strerror(err));
    lua_pushliteral(L, "io");
    return 3;
}

/* sys.stat(path [, follow=true]) -> { type = "file"|"directory"|"link"|"other", mode = perm bits,
 * uid = owner, size = bytes, dev, ino, mtime_ns = modification time in nanoseconds } | nil, message, "io". With follow = false a link is not followed. */
static int sys_stat(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    int follow = lua_isnone(L, 2) || lua_toboolean(L, 2);
    struct stat st;
    if ((follow ? stat(path, &st) : lstat(path, &st)) != 0) return push_errno(L, path, errno);
    lua_createtable(L, 0, 7);
    const char *type = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "directory"
                     : S_ISLNK(st.st_mode) ? "link" : "other";
    lua_pushstring(L, type);
    lua_setfield(L, -2, "type");
    lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
    lua_setfield(L, -2, "mode");
    lua_pushinteger(L, (lua_Integer)st.st_uid);
    lua_setfield(L, -2, "uid");
    lua_pushinteger(L, (lua_Integer)st.st_size);
    lua_setfield(L, -2, "size");
    lua_pushinteger(L, (lua_Integer)st.st_dev);
    lua_setfield(L, -2, "dev");
    lua_pushinteger(L, (lua_Integer)st.st_ino);
    lua_setfield(L, -2, "ino");
    lua_pushinteger(L, (lua_Integer)st.st_mtim.tv_sec * 1000000000 + (lua_Integer)st.st_mtim.tv_nsec);
    lua_setfield(L, -2, "mtime_ns");
    return 1;
}

/* Compares two C strings for qsort. */
static int compare_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

#define DIR_MT "astro.sys.Dir"

/* __gc of a directory box: closes the DIR if still open, so a Lua error never leaks it. */
static int dir_gc(lua_State *L) {
    DIR **box = luaL_checkudata(L, 1, DIR_MT);
    if (*box != NULL) {
        closedir(*box);
        *box = NULL;
    }
    return 0;
}

/* sys.listdir(path) -> sorted list of entry names (without "." and "..") | nil, message, "io". */
static int sys_listdir(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    DIR **box = astro_udata_new(L, sizeof *box, DIR_MT, dir_gc);   /* [box], *box NULL */
    *box = opendir(path);
    if (*box == NULL) return push_errno(L, path, errno);
    lua_newtable(L);                                        /* [box, names] */
    lua_Integer n = 0;
    struct dirent *e;
    while ((e = readdir(*box)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        lua_pushstring(L, e->d_name);
        lua_rawseti(L, -2, ++n);
    }
    closedir(*box);
    *box = NULL;
    const char **names = lua_newuserdatauv(L, (size_t)n * sizeof *names + 1, 0); /* [box, names, arr] */
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -2, i);
        names[i - 1] = lua_tostring(L, -1);                 /* anchored by the names table */
        lua_pop(L, 1);
    }
    qsort(names, (size_t)n, sizeof *names, compare_names);
    lua_createtable(L, (int)n, 0);                          /* [box, names, arr, sorted] */
    for (lua_Integer i = 1; i <= n; i++) {
        lua_pushstring(L, names[i - 1]);
        lua_rawseti(L, -2, i);
    }
    return 1;
}

/* sys.geteuid() -> the effective user id. */
static int sys_geteuid(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)geteuid());
    return 1;
}

static const luaL_Reg sys_funcs[] = {
    {"stat", sys_stat}, {"listdir", sys_listdir}, {"geteuid", sys_geteuid},
    {"uname", sys_uname}, {"now", sys_now}, {"time", sys_time}, {"sleep", sys_sleep},
    {"isatty", sys_isatty}, {"interrupted", sys_interrupted}, {"getpid", sys_getpid},
    {NULL, NULL}
};

int luaopen_astro_core_sys(lua_State *L) {
    return astro_module_new(L, sys_funcs);
}
