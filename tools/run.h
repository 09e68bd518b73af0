/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct run_request {
        const char *home;       /* where the idmapped home is attached */
        const char *shell;
        const char *user;       /* USER and LOGNAME of the command */
        uint32_t base;          /* the lease's block */
        uint32_t size;
        uint32_t inner;         /* uid and gid inside */
        char **argv;
};

/* Called with @open true once the child's maps are written, and with
 * false after it ended. Returns >= 0 or -errno (then the child is killed). */
typedef int (*run_session_fn)(pid_t pid, bool open, void *userdata);

/*
 * run_service() - run @rq->argv in a new user namespace (inner 0 at
 * @rq->base) and mount namespace with the detached home @tree attached.
 * Returns the command's exit status (128 + signal when killed), or -errno
 * when it could not be started; reports its own failures on stderr.
 */
int run_service(const struct run_request *rq, int tree, run_session_fn rec,
                void *userdata);
