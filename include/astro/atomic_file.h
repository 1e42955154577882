/*
 * Files that several processes update: the whole-file read, the locks and the atomic
 * replacement behind config.update.
 *
 * A writer of <path> takes the same flock on "<path>.lock" as Astronomer's astro CLI and,
 * when <path> is a symbolic link, also on "<target>.lock" beside the file it leads to, which
 * every writer of that file takes whatever name it reached it by. It replaces the target by
 * writing a temporary file ("<target>.astro-tmp-XXXXXX") beside it and renaming it over the
 * target (mode 0600), so a writer killed at any point leaves the old file or the new one; the
 * temporary file such a writer leaves is removed by the next writer, under the lock, and its
 * lock dies with it.
 *
 * A lock file is opened without following a symbolic link (O_NOFOLLOW) and without blocking
 * (O_NONBLOCK), and must be a regular file: a link or a FIFO put there (by another user, in a
 * folder they can write) is refused with the path and "remove it", never followed or waited
 * on. The temporary file comes from mkstemp (O_CREAT|O_EXCL, so never an existing file or
 * link) and is renamed over the target, which replaces a link there rather than writing
 * through it.
 *
 * Failures are recorded in an astro_err (include/astro/err.h) with code "io", "memory",
 * "lock" (timed out) or "interrupted" (a signal arrived while waiting).
 */
#ifndef ASTRO_ATOMIC_FILE_H
#define ASTRO_ATOMIC_FILE_H

#include <stddef.h>

#include "astro/buf.h"
#include "astro/err.h"

/* The locks an update of a file holds; start from ASTRO_FILE_LOCK_INIT. */
typedef struct astro_file_locks {
    int path_fd;                   /* the flock on "<path>.lock"; -1: none */
    int target_fd;                 /* the flock on "<target>.lock" when that is another file */
    char *target;                  /* the file to replace: path, or where its links lead */
} astro_file_locks;

#define ASTRO_FILE_LOCK_INIT {-1, -1, NULL}

/* Appends the bytes of the file at path to out, stopping once out holds more than max bytes
 * (so a caller that refuses more than max never reads a huge file whole). name is the path
 * shown in messages. Anything but a regular file is refused without waiting (a FIFO opened
 * O_NONBLOCK). Returns 1 when read, 0 when the file does not exist, -1 on failure. */
int astro_file_read(const char *path, const char *name, astro_buf *out, size_t max,
                    astro_err *e);

/* Locks path for an update and sets lk->target to the file the update replaces (path, or
 * the file its symbolic links lead to, even a missing one), waiting at most timeout seconds.
 * Creates the folders of path and target (0700) as needed. The path's lock is always taken
 * first, then the target's, so two writers never wait on each other; the target is resolved
 * again once locked, and locked anew if a link changed meanwhile. Returns 0 or -1; either
 * way astro_file_unlock releases what lk holds. */
int astro_file_lock(astro_file_locks *lk, const char *path, double timeout, astro_err *e);

/* Closes the locks lk holds and frees its target; safe to call twice. */
void astro_file_unlock(astro_file_locks *lk);

/* Removes the temporary files ("<target>.astro-tmp-XXXXXX") that writers killed between
 * mkstemp and rename left beside target: only regular files of this user whose name is
 * exactly that (never a link, nor a file of another name such as "<target>.tmp-backup").
 * Call it with target's lock held, so none of them belongs to a live writer. Best effort: a
 * file that cannot be removed stays. */
void astro_file_remove_stale_temps(const char *target);

/* Replaces target atomically with data[0..len): creates its folder (0700) if it is gone,
 * writes a temporary file beside it (mode 0600), fsyncs it, renames it over target and
 * fsyncs the folder. On failure the temporary file is removed and target is untouched.
 * Returns 0 or -1. */
int astro_file_replace(const char *target, const char *data, size_t len, astro_err *e);

#endif
