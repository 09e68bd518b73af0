/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Built only when LMDB is linked into the module from liblmdb.a (configure
 * --with-static-lmdb, the default where it links).
 *
 * Debian compiles liblmdb.a as position-independent executable code, which
 * goes into a shared object as long as every data symbol it names is
 * defined inside that object. The one it names from libc is stderr, and
 * only in mdb_assert_fail(), after the assertion callback that
 * nss-dynid.c installs on every environment: that callback aborts, so
 * this stand-in is never read. It is hidden, so no other code in the
 * process sees it, and the module exports nothing but _nss_dynid_*.
 *
 * The module is linked with --wrap=open, so that LMDB's open() of the
 * snapshot comes here: it gets O_CLOEXEC from the start (LMDB does not ask
 * for it, and a posix_spawn() from another thread could otherwise inherit
 * the descriptor before the module sets the flag), and a descriptor that
 * lands on 0, 1 or 2, in a caller that closed them, is moved above them:
 * the module keeps it open, and the caller's next open() of /dev/null
 * must still become its standard input (unless no descriptor above 2 can
 * be had, when it stays where it is).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

void *stderr __attribute__((visibility("hidden")));

int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...)
        __attribute__((visibility("hidden")));

int __wrap_open(const char *path, int flags, ...)
{
        mode_t mode = 0;
        int fd, moved, saved;

        if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
                va_list ap;

                va_start(ap, flags);
                mode = va_arg(ap, mode_t);
                va_end(ap);
        }
        fd = __real_open(path, flags | O_CLOEXEC, mode);
        if (fd < 0 || fd > STDERR_FILENO)
                return fd;
        /* With no descriptor free above 2 (RLIMIT_NOFILE of 3, say), a
         * lookup that works beats one kept off the standard descriptors. */
        saved = errno;
        moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
        if (moved < 0) {
                errno = saved;
                return fd;
        }
        close(fd);
        return moved;
}
