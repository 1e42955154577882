/*
 * The file operations of include/astro/atomic_file.h: whole-file reads, lock files beside
 * a file and beside the target of its symbolic links, atomic replacement, stale temporary
 * file cleanup.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "astro/atomic_file.h"
#include "astro/core.h"

#define LOCK_POLL_SECONDS 0.01
#define MAX_LINKS 40
#define TEMP_INFIX ".astro-tmp-"  /* temporary file: "<target>" TEMP_INFIX "XXXXXX" */

int astro_file_read(const char *path, const char *name, astro_buf *out, size_t max,
                    astro_err *e) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);   /* a FIFO: no wait */
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        return astro_err_set(e, "io", "%s: %s", name, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return astro_err_set(e, "io", "%s: %s", name, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        if (S_ISDIR(st.st_mode)) return astro_err_set(e, "io", "%s: %s", name, strerror(EISDIR));
        return astro_err_set(e, "io", "%s is not a regular file (a FIFO or device)", name);
    }
    for (;;) {
        if (!astro_buf_reserve(out, 4096)) {
            close(fd);
            return astro_err_set(e, "memory", "%s: not enough memory to read the file", name);
        }
        ssize_t n = read(fd, out->data + out->len, out->cap - out->len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            close(fd);
            return astro_err_set(e, "io", "%s: %s", name, strerror(err));
        }
        if (n == 0) break;
        out->len += (size_t)n;
        if (out->len > max) break;
    }
    close(fd);
    return 1;
}

/* Writes the folder of path into dir ("." for a bare name, "/" for a file at the root) and
 * returns path's last component, or NULL when path does not fit in dir. */
static const char *path_split(const char *path, char dir[PATH_MAX]) {
    size_t len = strlen(path);
    if (len >= PATH_MAX) return NULL;
    memcpy(dir, path, len + 1);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        strcpy(dir, ".");
        return path;
    }
    const char *base = path + (slash - dir) + 1;
    if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    return base;
}

/* Creates the directory that holds file, with its parents, mode 0700. Returns 0 or -1. */
static int dir_create_for(const char *file, astro_err *e) {
    char dir[PATH_MAX];
    if (path_split(file, dir) == NULL)
        return astro_err_set(e, "io", "%s: %s", file, strerror(ENAMETOOLONG));
    if (strcmp(dir, ".") == 0 || strcmp(dir, "/") == 0) return 0;
    struct stat st;
    if (stat(dir, &st) == 0) return 0;
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return astro_err_set(e, "io", "cannot create directory %s: %s", dir, strerror(errno));
        *p = c;
        if (c == '\0') return 0;
    }
}

/* Follows a chain of symbolic links from path to a file that does not exist yet; sets *out
 * (malloc'd). Returns 0 or -1. */
static int link_follow_dangling(const char *path, char **out, astro_err *e) {
    char cur[PATH_MAX], link[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof cur) return astro_err_set(e, "io", "%s: %s", path, strerror(ENAMETOOLONG));
    memcpy(cur, path, len + 1);
    for (int hops = 0;; hops++) {
        struct stat st;
        if (lstat(cur, &st) != 0) {
            if (errno != ENOENT) return astro_err_set(e, "io", "%s: %s", path, strerror(errno));
            break;                                               /* the missing target */
        }
        if (!S_ISLNK(st.st_mode)) break;                         /* appeared meanwhile */
        if (hops == MAX_LINKS) return astro_err_set(e, "io", "%s: %s", path, strerror(ELOOP));
        ssize_t n = readlink(cur, link, sizeof link - 1);
        if (n < 0 || (size_t)n >= sizeof link - 1)
            return astro_err_set(e, "io", "%s: %s", path, strerror(n < 0 ? errno : ENAMETOOLONG));
        link[n] = '\0';
        char *slash = strrchr(cur, '/');
        size_t keep = (link[0] == '/' || slash == NULL) ? 0 : (size_t)(slash - cur) + 1;
        if (keep + (size_t)n >= sizeof cur)
            return astro_err_set(e, "io", "%s: %s", path, strerror(ENAMETOOLONG));
        memcpy(cur + keep, link, (size_t)n + 1);
    }
    *out = strdup(cur);
    return *out ? 0 : astro_err_set(e, "memory", "not enough memory");
}

/* Sets *out (malloc'd) to the file an update of path must replace: path itself, or the file
 * a symbolic link at path leads to (even a missing one). Returns 0 or -1. */
static int target_resolve(const char *path, char **out, astro_err *e) {
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT) return astro_err_set(e, "io", "%s: %s", path, strerror(errno));
        st.st_mode = 0;                                          /* missing: created */
    }
    if (!S_ISLNK(st.st_mode)) {
        *out = strdup(path);
        return *out ? 0 : astro_err_set(e, "memory", "not enough memory");
    }
    *out = realpath(path, NULL);
    if (*out != NULL) return 0;
    if (errno != ENOENT) return astro_err_set(e, "io", "%s: %s", path, strerror(errno));
    return link_follow_dangling(path, out, e);
}

/* Writes len bytes to fd, retrying short writes. Returns 0 or -1 with errno set. */
static int write_all(int fd, const char *p, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Flushes the directory entry of file to disk; best effort (the rename already happened). */
static void dir_sync(const char *file) {
    char dir[PATH_MAX];
    if (path_split(file, dir) == NULL) return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

int astro_file_replace(const char *target, const char *data, size_t len, astro_err *e) {
    if (dir_create_for(target, e) != 0) return -1;
    char tmp[PATH_MAX + 32];
    if (snprintf(tmp, sizeof tmp, "%s" TEMP_INFIX "XXXXXX", target) >= (int)sizeof tmp)
        return astro_err_set(e, "io", "cannot write %s: %s", target, strerror(ENAMETOOLONG));
    int fd = mkstemp(tmp);
    if (fd < 0) return astro_err_set(e, "io", "cannot write %s: %s", target, strerror(errno));
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    int err = 0;
    if (fchmod(fd, 0600) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && err == 0) err = errno;
    if (err == 0 && rename(tmp, target) != 0) err = errno;
    if (err != 0) {
        unlink(tmp);
        return astro_err_set(e, "io", "cannot write %s: %s", target, strerror(err));
    }
    dir_sync(target);
    return 0;
}

/* Returns 1 when name is base + TEMP_INFIX + the six letters or digits mkstemp put there. */
static int temp_name_matches(const char *name, const char *base, size_t blen) {
    size_t ilen = sizeof TEMP_INFIX - 1;
    if (strncmp(name, base, blen) != 0 || strncmp(name + blen, TEMP_INFIX, ilen) != 0) return 0;
    const char *x = name + blen + ilen;
    for (int k = 0; k < 6; k++) {
        char c = x[k];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return x[6] == '\0';
}

void astro_file_remove_stale_temps(const char *target) {
    char dir[PATH_MAX];
    const char *base = path_split(target, dir);
    if (base == NULL) return;
    size_t blen = strlen(base);
    DIR *d = opendir(dir);
    if (d == NULL) return;
    uid_t me = geteuid();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (temp_name_matches(e->d_name, base, blen) &&
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            st.st_uid == me)
            (void)unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

/* Takes an exclusive flock on "<path>.lock" (created 0600; a symbolic link there is not
 * followed and anything but a regular file is refused, so neither a link to another file nor
 * a FIFO, which would block the open, can stand in for the lock), polling until the deadline (of a
 * wait of timeout seconds) or a signal. The descriptor goes to *fd, which the owner of the
 * lock closes, also after a failure. Returns 0 or -1. */
static int lock_acquire(int *fd, const char *path, double timeout, double deadline,
                        astro_err *e) {
    char lock[PATH_MAX + 8];
    if (snprintf(lock, sizeof lock, "%s.lock", path) >= (int)sizeof lock)
        return astro_err_set(e, "io", "%s.lock: %s", path, strerror(ENAMETOOLONG));
    *fd = open(lock, O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
    if (*fd < 0 && errno == ELOOP)
        return astro_err_set(e, "io",
                             "config lock %s is a symbolic link, which astro does not follow: "
                             "remove it (rm %s) and run the command again", lock, lock);
    if (*fd < 0) return astro_err_set(e, "io", "%s: %s", lock, strerror(errno));
    struct stat st;
    if (fstat(*fd, &st) != 0) return astro_err_set(e, "io", "%s: %s", lock, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return astro_err_set(e, "io",
                             "config lock %s is not a regular file (a FIFO, device or folder): "
                             "remove it (rm %s) and run the command again", lock, lock);
    for (;;) {
        if (flock(*fd, LOCK_EX | LOCK_NB) == 0) return 0;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return astro_err_set(e, "io", "%s: %s", lock, strerror(errno));
        if (astro_interrupted()) return astro_err_set(e, "interrupted", "interrupted");
        double left = deadline - astro_now();
        if (left <= 0)
            return astro_err_set(e, "lock",
                                 "timed out after %gs waiting for config lock %s: another astro "
                                 "process is holding it; wait for it to finish or kill it",
                                 timeout, lock);
        if (left > LOCK_POLL_SECONDS) left = LOCK_POLL_SECONDS;
        struct timespec ts = {0, (long)(left * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* Returns 1 when "<path>.lock" is the file whose lock descriptor fd holds. */
static int lock_is_held(int fd, const char *path) {
    char lock[PATH_MAX + 8];
    struct stat held, st;
    if (snprintf(lock, sizeof lock, "%s.lock", path) >= (int)sizeof lock) return 0;
    return fstat(fd, &held) == 0 && stat(lock, &st) == 0 && held.st_dev == st.st_dev &&
           held.st_ino == st.st_ino;
}

int astro_file_lock(astro_file_locks *lk, const char *path, double timeout, astro_err *e) {
    double deadline = astro_now() + timeout;
    if (dir_create_for(path, e) != 0 ||
        lock_acquire(&lk->path_fd, path, timeout, deadline, e) != 0 ||
        target_resolve(path, &lk->target, e) != 0)
        return -1;
    for (int tries = 0; strcmp(lk->target, path) != 0; tries++) {
        if (tries == MAX_LINKS)
            return astro_err_set(e, "io", "%s: the symbolic link keeps changing", path);
        if (dir_create_for(lk->target, e) != 0) return -1;
        if (lock_is_held(lk->path_fd, lk->target)) break;   /* both names: one lock file */
        if (lock_acquire(&lk->target_fd, lk->target, timeout, deadline, e) != 0) return -1;
        char *again = NULL;
        if (target_resolve(path, &again, e) != 0) return -1;
        if (strcmp(again, lk->target) == 0) {
            free(again);
            break;
        }
        close(lk->target_fd);                                /* lock the new target */
        lk->target_fd = -1;
        free(lk->target);
        lk->target = again;
    }
    return 0;
}

void astro_file_unlock(astro_file_locks *lk) {
    free(lk->target);
    lk->target = NULL;
    if (lk->target_fd >= 0) close(lk->target_fd);
    lk->target_fd = -1;
    if (lk->path_fd >= 0) close(lk->path_fd);
    lk->path_fd = -1;
}
