/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Lookup cost: the module's entry point called directly through dlopen(),
 * and getpwnam_r() through glibc (nsswitch.conf: files ... dynid) for a
 * leased name and for root. Prints the median of 7 rounds of each, in
 * nanoseconds per call. Run by tests/bench/lookup.sh in the sandbox.
 */
#include "config.h"

#include <dlfcn.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nss/nss-dynid.h"

#define ROUNDS 7

static double now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

static __typeof__(_nss_dynid_getpwnam_r) *direct;
static const char *name;

static int call_direct(void)
{
        struct passwd pw;
        char buf[1024];
        int e;

        return direct(name, &pw, buf, sizeof(buf), &e) == NSS_STATUS_SUCCESS;
}

static int call_glibc(void)
{
        struct passwd pw, *res = NULL;
        char buf[1024];

        return getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 && res;
}

/* Median ns per call over ROUNDS rounds of @n calls; exits on a miss. */
static void measure(const char *label, int (*fn)(void), long n)
{
        double t[ROUNDS];

        for (int r = 0; r < ROUNDS; r++) {
                double start = now_ns();

                for (long i = 0; i < n; i++)
                        if (!fn()) {
                                fprintf(stderr, "%s: lookup of %s failed\n",
                                        label, name);
                                exit(1);
                        }
                t[r] = (now_ns() - start) / n;
        }
        qsort(t, ROUNDS, sizeof(t[0]), cmp);
        printf("%-44s %10.0f ns  (min %.0f, max %.0f)\n", label, t[ROUNDS / 2],
               t[0], t[ROUNDS - 1]);
}

int main(int argc, char **argv)
{
        char label[128];
        void *h;

        if (argc != 3) {
                fprintf(stderr, "usage: %s MODULE NAME\n", argv[0]);
                return 2;
        }
        h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        if (!h || !(direct = dlsym(h, "_nss_dynid_getpwnam_r"))) {
                fprintf(stderr, "%s\n", dlerror());
                return 1;
        }

        name = argv[2];
        snprintf(label, sizeof(label), "_nss_dynid_getpwnam_r(\"%s\")", name);
        measure(label, call_direct, 200000);
        snprintf(label, sizeof(label), "getpwnam_r(\"%s\") through glibc", name);
        measure(label, call_glibc, 20000);
        name = "root";
        measure("getpwnam_r(\"root\") through glibc (files)", call_glibc,
                20000);
        return 0;
}
