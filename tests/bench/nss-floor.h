/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The answer of the floor modules (tests/bench/nss-floor*.c): one fixed
 * entry for @name (@n bytes), of which only the name is copied.
 */
#pragma once

#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <string.h>

static inline enum nss_status floor_answer(const char *name, size_t n,
                                           struct passwd *pw, char *buf,
                                           size_t len, int *errnop)
{
        if (len < n + 1) {
                *errnop = ERANGE;
                return NSS_STATUS_TRYAGAIN;
        }
        memcpy(buf, name, n + 1);
        *pw = (struct passwd) {
                .pw_name = buf,
                .pw_passwd = (char *) "*",
                .pw_uid = 2147352575,
                .pw_gid = 2147352575,
                .pw_gecos = (char *) "",
                .pw_dir = (char *) "/",
                .pw_shell = (char *) "/usr/sbin/nologin",
        };
        return NSS_STATUS_SUCCESS;
}
