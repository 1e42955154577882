/*
 * The file operations of "astro.core.sys" (src/sys.c) that another local user cannot turn
 * against this one. From Lua:
 *
 *   sys.create_temp(base [, mode=0600]) -> file, name | nil, message, "io"
 *     A new file "<base>.astro-tmp-<24 random hex digits>" (getrandom(2), else /dev/urandom),
 *     created with O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC and given exactly mode: never a file
 *     or a symbolic link someone made there beforehand, and a name nobody can guess. file is
 *     an io file handle open for writing (:write, :close).
 *
 *   sys.open_write(path, "w"|"a") -> file | nil, message, "io"
 *     path opened for writing in place ("w" empties it once checked, "a" appends), created
 *     0600 when missing. A symbolic link at path is not followed (O_NOFOLLOW), a FIFO does not
 *     block (O_NONBLOCK); a link, anything but a regular file, and a file of another user are
 *     refused with a message saying which.
 *
 *   sys.read_file(path) -> text, stat, real | nil, message, "io"
 *     path read whole through one descriptor (O_RDONLY|O_NONBLOCK|O_CLOEXEC, links followed):
 *     anything but a regular file is refused before a byte is read (a FIFO cannot block).
 *     stat is the fstat of that descriptor (the sys.stat table: type, mode, uid, ...), real
 *     the real path of the file opened: checks applied to them hold for the text returned,
 *     whatever a path points to before or after.
 */
#ifndef ASTRO_SYS_H
#define ASTRO_SYS_H

#include <stddef.h>

/* Fills buf with n unpredictable bytes (getrandom(2), else /dev/urandom). Returns 0, or -1
 * with errno set. */
int astro_random_bytes(void *buf, size_t n);

#endif
