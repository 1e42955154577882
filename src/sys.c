/*
 * "astro.core.sys": the few operating-system services Lua's standard library lacks: a
 * monotonic clock, an interruptible sleep, terminal detection, the interrupt flag that
 * SIGINT/SIGTERM set, and the file operations of include/astro/sys.h that another local user
 * cannot turn against this one (exclusive temporary files, writes that follow no link, the
 * checked read of code files).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <lauxlib.h>

#include "astro/binding.h"
#include "astro/core.h"
#include "astro/sys.h"

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

/* Pushes the sys.stat table of st: { type, mode, uid, size, dev, ino, mtime_ns }. */
static void push_stat(lua_State *L, const struct stat *st) {
    lua_createtable(L, 0, 7);
    const char *type = S_ISREG(st->st_mode) ? "file" : S_ISDIR(st->st_mode) ? "directory"
                     : S_ISLNK(st->st_mode) ? "link" : "other";
    lua_pushstring(L, type);
    lua_setfield(L, -2, "type");
    lua_pushinteger(L, (lua_Integer)(st->st_mode & 07777));
    lua_setfield(L, -2, "mode");
    lua_pushinteger(L, (lua_Integer)st->st_uid);
    lua_setfield(L, -2, "uid");
    lua_pushinteger(L, (lua_Integer)st->st_size);
    lua_setfield(L, -2, "size");
    lua_pushinteger(L, (lua_Integer)st->st_dev);
    lua_setfield(L, -2, "dev");
    lua_pushinteger(L, (lua_Integer)st->st_ino);
    lua_setfield(L, -2, "ino");
    lua_pushinteger(L, (lua_Integer)st->st_mtim.tv_sec * 1000000000 + (lua_Integer)st->st_mtim.tv_nsec);
    lua_setfield(L, -2, "mtime_ns");
}

/* sys.stat(path [, follow=true]) -> { type = "file"|"directory"|"link"|"other", mode = perm bits,
 * uid = owner, size = bytes, dev, ino, mtime_ns = modification time in nanoseconds } | nil, message, "io". With follow = false a link is not followed. */
static int sys_stat(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    int follow = lua_isnone(L, 2) || lua_toboolean(L, 2);
    struct stat st;
    if ((follow ? stat(path, &st) : lstat(path, &st)) != 0) return astro_push_errno(L, path, errno);
    push_stat(L, &st);
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
    if (*box == NULL) return astro_push_errno(L, path, errno);
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

int astro_random_bytes(void *buf, size_t n) {
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) break;
        p += got;
        n -= (size_t)got;
    }
    if (n == 0) return 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);  /* no getrandom(2) */
    if (fd < 0) return -1;
    while (n > 0) {
        ssize_t got = read(fd, p, n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            close(fd);
            if (got == 0) errno = EIO;
            return -1;
        }
        p += got;
        n -= (size_t)got;
    }
    close(fd);
    return 0;
}

/* The closef of the file handles made here: closes the FILE, as io's own handles do. */
static int stream_close(lua_State *L) {
    luaL_Stream *p = luaL_checkudata(L, 1, LUA_FILEHANDLE);
    errno = 0;
    return luaL_fileresult(L, fclose(p->f) == 0, NULL);
}

/* Pushes a Lua file handle (io's LUA_FILEHANDLE metatable, so :write, :close, io.type work)
 * writing to fd, which it takes over. Returns 1, or closes fd and pushes nil, message, "io"
 * (3). */
static int push_write_stream(lua_State *L, int fd, const char *path) {
    luaL_Stream *p = lua_newuserdatauv(L, sizeof *p, 0);
    p->f = NULL;
    p->closef = NULL;                                   /* "closed" until fdopen succeeds */
    luaL_setmetatable(L, LUA_FILEHANDLE);
    p->f = fdopen(fd, "wb");
    if (p->f == NULL) {
        int err = errno;
        close(fd);
        return astro_push_errno(L, path, err);
    }
    p->closef = stream_close;
    return 1;
}

#define TEMP_RANDOM_BYTES 12                            /* 96 bits: 24 hex digits */
#define TEMP_TRIES 16

/* sys.create_temp(base [, mode=0600]) -> file, name | nil, message, "io". Creates a new file
 * named base .. ".astro-tmp-" .. 24 random hex digits (getrandom, never a guessable counter),
 * with O_CREAT|O_EXCL|O_NOFOLLOW: never a file or link that was there already, whoever made
 * it. The file gets exactly mode and is open for writing. */
static int sys_create_temp(lua_State *L) {
    const char *base = luaL_checkstring(L, 1);
    lua_Integer mode = luaL_optinteger(L, 2, 0600);
    luaL_argcheck(L, mode >= 0 && mode <= 0777, 2, "mode must be permission bits");
    int err = EEXIST;
    for (int tries = 0; tries < TEMP_TRIES && err == EEXIST; tries++) {
        unsigned char rnd[TEMP_RANDOM_BYTES];
        if (astro_random_bytes(rnd, sizeof rnd) != 0) return astro_push_errno(L, "/dev/urandom", errno);
        char hex[2 * TEMP_RANDOM_BYTES + 1];
        for (size_t i = 0; i < sizeof rnd; i++) snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
        const char *name = lua_pushfstring(L, "%s.astro-tmp-%s", base, hex);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                      (mode_t)mode);
        if (fd >= 0) {
            if (fchmod(fd, (mode_t)mode) != 0) {                /* exactly mode, whatever umask */
                err = errno;
                close(fd);
                unlink(name);
                return astro_push_errno(L, name, err);
            }
            if (push_write_stream(L, fd, name) != 1) {
                unlink(name);
                return 3;
            }
            lua_insert(L, -2);                                  /* [file, name] */
            return 2;
        }
        err = errno;
        if (err != EEXIST) return astro_push_errno(L, name, err);
        lua_pop(L, 1);
    }
    return astro_push_errno(L, base, err);
}

/* sys.open_write(path, how) -> file | nil, message, "io". Opens path for writing in place
 * ("w": emptied once checked; "a": appended to, left as it is), creating it (mode 0600) when
 * missing, without following a symbolic link at path (O_NOFOLLOW) and without blocking on a
 * FIFO (O_NONBLOCK, cleared once open). Refuses a link, anything but a regular file, and a
 * file of another user, saying which. */
static int sys_open_write(lua_State *L) {
    static const char *const hows[] = {"w", "a", NULL};
    const char *path = luaL_checkstring(L, 1);
    int append = luaL_checkoption(L, 2, NULL, hows) == 1;
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY |
                            (append ? O_APPEND : 0), 0600);
    if (fd < 0) {
        int err = errno;
        struct stat lst;
        if (err == ELOOP && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
            lua_pushnil(L);
            lua_pushfstring(L, "%s is a symbolic link, which is not followed (it could send the "
                               "file elsewhere): remove it or give another path", path);
            lua_pushliteral(L, "io");
            return 3;
        }
        if (err == ENXIO) {                                     /* a FIFO with no reader */
            lua_pushnil(L);
            lua_pushfstring(L, "%s is not a regular file (a FIFO or device): remove it or give "
                               "another path", path);
            lua_pushliteral(L, "io");
            return 3;
        }
        return astro_push_errno(L, path, err);
    }
    struct stat st;
    const char *problem = NULL;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return astro_push_errno(L, path, err);
    }
    if (!S_ISREG(st.st_mode))
        problem = lua_pushfstring(L, "%s is not a regular file (a FIFO, device or folder): remove "
                                     "it or give another path", path);
    else if (st.st_uid != geteuid())
        problem = lua_pushfstring(L, "%s belongs to user id %d, not to you (%d): remove it or "
                                     "give another path", path, (int)st.st_uid, (int)geteuid());
    if (problem != NULL) {
        close(fd);
        lua_pushnil(L);
        lua_insert(L, -2);
        lua_pushliteral(L, "io");
        return 3;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ||
        (!append && ftruncate(fd, 0) != 0)) {
        int err = errno;
        close(fd);
        return astro_push_errno(L, path, err);
    }
    return push_write_stream(L, fd, path);
}

#define FD_MT "astro.sys.Fd"

/* __gc of a descriptor box: closes the descriptor if still open, so an error never leaks it. */
static int fd_gc(lua_State *L) {
    int *box = luaL_checkudata(L, 1, FD_MT);
    if (*box > 0) {
        close(*box - 1);
        *box = 0;
    }
    return 0;
}

/* sys.read_file(path) -> text, stat, real | nil, message, "io". Opens path read-only (links
 * followed; O_NONBLOCK, so a FIFO cannot block), refuses anything but a regular file, reads it
 * whole and returns its text, the sys.stat table of that same descriptor (fstat: what the
 * caller judges is what was read) and the real path of the file opened (from
 * /proc/self/fd, else realpath(3)). */
static int sys_read_file(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    int *box = astro_udata_new(L, sizeof *box, FD_MT, fd_gc);  /* [box]; holds fd + 1 */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return astro_push_errno(L, path, errno);
    *box = fd + 1;
    struct stat st;
    if (fstat(fd, &st) != 0) return astro_push_errno(L, path, errno);
    if (!S_ISREG(st.st_mode)) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s is refused: it is not a regular file (a FIFO, device or folder)",
                        path);
        lua_pushliteral(L, "io");
        return 3;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (;;) {
        char *dst = luaL_prepbuffer(&b);
        ssize_t n = read(fd, dst, LUAL_BUFFERSIZE);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return astro_push_errno(L, path, errno);
        if (n == 0) break;
        luaL_addsize(&b, (size_t)n);
    }
    luaL_pushresult(&b);                                       /* [box, text] */
    push_stat(L, &st);                                         /* [box, text, stat] */
    char proc[64], real[PATH_MAX];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(proc, real, sizeof real - 1);
    if (n > 0 && real[0] == '/') {
        real[n] = '\0';
        lua_pushstring(L, real);
    } else if (realpath(path, real) != NULL) {
        lua_pushstring(L, real);
    } else {
        lua_pushstring(L, path);
    }
    close(fd);
    *box = 0;
    return 3;
}

/* sys.realpath(path) -> the absolute path with every link, "." and ".." resolved | nil,
 * message, "io". */
static int sys_realpath(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    char real[PATH_MAX];
    if (realpath(path, real) == NULL) return astro_push_errno(L, path, errno);
    lua_pushstring(L, real);
    return 1;
}

static const luaL_Reg sys_funcs[] = {
    {"stat", sys_stat}, {"listdir", sys_listdir}, {"geteuid", sys_geteuid},
    {"uname", sys_uname}, {"now", sys_now}, {"time", sys_time}, {"sleep", sys_sleep},
    {"isatty", sys_isatty}, {"interrupted", sys_interrupted}, {"getpid", sys_getpid},
    {"create_temp", sys_create_temp}, {"open_write", sys_open_write},
    {"read_file", sys_read_file}, {"realpath", sys_realpath},
    {NULL, NULL}
};

int luaopen_astro_core_sys(lua_State *L) {
    return astro_module_new(L, sys_funcs);
}
