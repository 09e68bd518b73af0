/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libnss_floor.so.2: the least an NSS module after "files" can cost in a
 * fresh process, for tests/bench/run.sh. It needs no library but libc,
 * opens nothing, and answers getpwnam_r() for any name with one fixed
 * entry, copying only the name. dynid's fresh-process figure is measured
 * against it.
 */
#include "config.h"

#include <string.h>

#include "tests/bench/nss-floor.h"

enum nss_status _nss_floor_getpwnam_r(const char *name, struct passwd *pw,
                                      char *buf, size_t len, int *errnop)
        __attribute__((visibility("default")));

enum nss_status _nss_floor_getpwnam_r(const char *name, struct passwd *pw,
                                      char *buf, size_t len, int *errnop)
{
        return floor_answer(name, strlen(name), pw, buf, len, errnop);
}
