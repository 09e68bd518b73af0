/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the benchmark programs share: a clock and the order of doubles for
 * qsort(), from which they take medians. */

#include <time.h>

static inline double bench_now_us(clockid_t clock)
{
        struct timespec ts;

        clock_gettime(clock, &ts);
        return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static inline int bench_cmp(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}
