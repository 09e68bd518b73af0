/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libnss_floor.so.2: the least an NSS module after "files" can cost in a
 * fresh process, for tests/bench/run.sh. It needs no library but libc,
 * opens nothing, and answers getpwnam_r() for any name with one fixed
 * entry, copying only the name. dynid's fresh-process figure is measured
 * against it.
 */
#include "config.h"

#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <string.h>

enum nss_status _nss_floor_getpwnam_r(const char *name, struct passwd *pw,
                                      char *buf, size_t len, int *errnop)
        __attribute__((visibility("default")));

enum nss_status _nss_floor_getpwnam_r(const char *name, struct passwd *pw,
                                      char *buf, size_t len, int *errnop)
{
        size_t n = strlen(name) + 1;

        if (len < n) {
                *errnop = ERANGE;
                return NSS_STATUS_TRYAGAIN;
        }
        memcpy(buf, name, n);
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
