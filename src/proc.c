/*
 * "astro.core.proc": exec and run other programs (include/astro/proc.h states the contract).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "astro/binding.h"
#include "astro/core.h"
#include "astro/proc.h"

#define RUN_MAX_DEFAULT 65536
#define RUN_MAX_LIMIT (1024 * 1024)

/* Pushes nil, "interrupted", "interrupted" and returns 3. */
static int push_interrupted(lua_State *L) {
    lua_pushnil(L);
    lua_pushliteral(L, "interrupted");
    lua_pushliteral(L, "interrupted");
    return 3;
}

/* Returns the string at stack index idx; raises (naming what) unless it is a string without
 * NUL bytes. */
static const char *check_cstring(lua_State *L, int idx, const char *what) {
    size_t len;
    const char *s = lua_type(L, idx) == LUA_TSTRING ? lua_tolstring(L, idx, &len) : NULL;
    if (s == NULL || strlen(s) != len)
        luaL_error(L, "%s must be a string without NUL bytes", what);
    return s;
}

/* Returns a NULL-terminated array of the strings of the list at stack index idx (one at
 * least), held in a userdata pushed on the stack; the strings stay anchored by the list. */
static char **check_argv(lua_State *L, int idx) {
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_Integer n = luaL_len(L, idx);
    luaL_argcheck(L, n >= 1 && n < 100000, idx, "argv must hold argv[0] and at most 99999 more");
    char **argv = lua_newuserdatauv(L, ((size_t)n + 1) * sizeof *argv, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, idx, i);
        argv[i - 1] = (char *)check_cstring(L, -1, "every argument");
        lua_pop(L, 1);                       /* the list keeps the string alive */
    }
    argv[n] = NULL;
    return argv;
}

/* The variables of an env table: names[i] = values[i], count n. */
typedef struct {
    const char **names;
    const char **values;
    int n;
} env_set;

/* Reads the name = value table at stack index idx (absent or nil: none) into e, its arrays in
 * a userdata pushed on the stack; names and values stay anchored by the table. Raises for a
 * name that is empty or holds "=", or a value that is not a string. */
static void check_env(lua_State *L, int idx, env_set *e) {
    e->n = 0;
    e->names = e->values = NULL;
    if (lua_isnoneornil(L, idx)) {
        lua_pushnil(L);                      /* keep the stack shape the same */
        return;
    }
    luaL_checktype(L, idx, LUA_TTABLE);
    int n = 0;
    for (lua_pushnil(L); lua_next(L, idx) != 0; lua_pop(L, 1)) n++;
    luaL_argcheck(L, n < 1000, idx, "too many variables");
    const char **arr = lua_newuserdatauv(L, (size_t)(2 * n + 1) * sizeof *arr, 0);
    e->names = arr;
    e->values = arr + n;
    for (lua_pushnil(L); lua_next(L, idx) != 0; lua_pop(L, 1)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "env must map variable names to strings");
        const char *name = check_cstring(L, -2, "a variable name");
        if (name[0] == '\0' || strchr(name, '=') != NULL)
            luaL_error(L, "%s is not a variable name", name);
        e->names[e->n] = name;
        e->values[e->n] = check_cstring(L, -1, "a variable's value");
        e->n++;
    }
}

/* Sets every variable of e in this process's environment. Returns 0, or -1 with errno set. */
static int env_apply(const env_set *e) {
    for (int i = 0; i < e->n; i++)
        if (setenv(e->names[i], e->values[i], 1) != 0) return -1;
    return 0;
}

/* proc.executable(path) -> boolean: a regular file (links followed) this process may execute. */
static int proc_executable(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    struct stat st;
    lua_pushboolean(L, stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0);
    return 1;
}

/* proc.exec(path, argv [, env]) -> returns only on failure: nil, message, "io" (or
 * "interrupted"). Flushes every stdio stream, sets env, execv(path, argv). */
static int proc_exec(lua_State *L) {
    const char *path = check_cstring(L, 1, "path");
    char **argv = check_argv(L, 2);
    env_set e;
    check_env(L, 3, &e);
    if (astro_interrupted()) return push_interrupted(L);
    if (env_apply(&e) != 0) return astro_push_errno(L, path, errno);
    fflush(NULL);
    execv(path, argv);
    return astro_push_errno(L, path, errno);
}

/* Sets FD_CLOEXEC on both ends of a pipe. Returns 0, or -1 with errno set. */
static int make_pipe(int fds[2]) {
    if (pipe(fds) != 0) return -1;
    if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0) {
        int err = errno;
        close(fds[0]);
        close(fds[1]);
        errno = err;
        return -1;
    }
    return 0;
}

/* The child's side of proc.run, after fork: its own process group, stdin and stderr on
 * /dev/null, stdout on out, e set, then execv; on failure writes errno to report and exits
 * 127. Never returns. */
_Noreturn static void run_child(const char *path, char **argv, const env_set *e, int out,
                                int report) {
    setpgid(0, 0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    int null = open("/dev/null", O_RDWR);
    int err = 0;
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 2) < 0 || dup2(out, 1) < 0 ||
        env_apply(e) != 0) {
        err = errno;
    } else {
        execv(path, argv);
        err = errno;
    }
    ssize_t w;
    do w = write(report, &err, sizeof err); while (w < 0 && errno == EINTR);
    _exit(127);
}

/* Sleeps for the given seconds (at most 0.05; a signal may cut it short). */
static void short_sleep(double secs) {
    if (secs > 0.05) secs = 0.05;
    if (secs <= 0) return;
    struct timespec ts = {0, (long)(secs * 1e9)};
    nanosleep(&ts, NULL);
}

/* proc.run(path, argv, {timeout = s, env = {...}, max = bytes}) -> result | nil, message, code
 * (see include/astro/proc.h). */
static int proc_run(lua_State *L) {
    const char *path = check_cstring(L, 1, "path");
    char **argv = check_argv(L, 2);                           /* [.., argv] */
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_getfield(L, 3, "timeout");
    double timeout = luaL_checknumber(L, -1);
    luaL_argcheck(L, timeout > 0, 3, "timeout must be more than 0 seconds");
    lua_getfield(L, 3, "max");
    lua_Integer max = luaL_optinteger(L, -1, RUN_MAX_DEFAULT);
    luaL_argcheck(L, max >= 0 && max <= RUN_MAX_LIMIT, 3, "max must be 0 to 1 MiB");
    lua_getfield(L, 3, "env");
    int env_idx = lua_gettop(L);
    env_set e;
    check_env(L, env_idx, &e);
    char *buf = lua_newuserdatauv(L, (size_t)max + 1, 0);
    if (astro_interrupted()) return push_interrupted(L);

    int out[2], report[2];
    if (make_pipe(out) != 0) return astro_push_errno(L, path, errno);
    if (make_pipe(report) != 0) {
        int err = errno;
        close(out[0]);
        close(out[1]);
        return astro_push_errno(L, path, err);
    }
    fflush(NULL);                          /* nothing buffered is written twice by the child */
    pid_t pid = fork();
    if (pid == 0) run_child(path, argv, &e, out[1], report[1]);
    int fork_err = errno;
    close(out[1]);
    close(report[1]);
    if (pid < 0) {
        close(out[0]);
        close(report[0]);
        return astro_push_errno(L, path, fork_err);
    }
    setpgid(pid, pid);                     /* as the child does: whichever runs first */

    /* The child's exec: the report pipe closes (exec) or brings its errno. */
    int exec_err = 0;
    ssize_t got;
    do got = read(report[0], &exec_err, sizeof exec_err); while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got != (ssize_t)sizeof exec_err) exec_err = 0;

    double deadline = astro_now() + timeout;
    size_t len = 0;
    int timed_out = 0, interrupted = 0, eof = exec_err != 0;
    while (!eof) {
        if (astro_interrupted()) { interrupted = 1; break; }
        double left = deadline - astro_now();
        if (left <= 0) { timed_out = 1; break; }
        struct pollfd p = {out[0], POLLIN, 0};
        int wait_ms = left > 0.05 ? 50 : (int)(left * 1000) + 1;
        if (poll(&p, 1, wait_ms) <= 0) continue;
        char chunk[4096];
        ssize_t n = read(out[0], chunk, sizeof chunk);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) { eof = 1; break; }
        size_t keep = (size_t)max - len < (size_t)n ? (size_t)max - len : (size_t)n;
        memcpy(buf + len, chunk, keep);
        len += keep;
    }
    close(out[0]);

    int status = 0, reaped = 0;
    while (!reaped && !timed_out && !interrupted) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) { reaped = 1; break; }
        if (r < 0 && errno != EINTR) break;
        if (astro_interrupted()) { interrupted = 1; break; }
        double left = deadline - astro_now();
        if (left <= 0) { timed_out = 1; break; }
        short_sleep(left);
    }
    if (!reaped) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    }
    if (interrupted) return push_interrupted(L);
    if (exec_err != 0) return astro_push_errno(L, path, exec_err);

    lua_createtable(L, 0, 4);
    lua_pushlstring(L, buf, len);
    lua_setfield(L, -2, "stdout");
    if (reaped && WIFEXITED(status)) {
        lua_pushinteger(L, WEXITSTATUS(status));
        lua_setfield(L, -2, "status");
    } else if (reaped && WIFSIGNALED(status)) {
        lua_pushinteger(L, WTERMSIG(status));
        lua_setfield(L, -2, "signal");
    }
    lua_pushboolean(L, timed_out);
    lua_setfield(L, -2, "timed_out");
    return 1;
}

static const luaL_Reg proc_funcs[] = {
    {"executable", proc_executable}, {"exec", proc_exec}, {"run", proc_run},
    {NULL, NULL}
};

int luaopen_astro_core_proc(lua_State *L) {
    return astro_module_new(L, proc_funcs);
}
