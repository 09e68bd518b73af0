/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Lookup cost, run by tests/bench/run.sh in the sandbox.
 *
 *   bench-lookup [-m MODULE] NAME ID
 *
 * With -m, the module's getpwnam_r/getpwuid_r called directly through
 * dlopen(); then getpwnam_r() and getpwuid_r() through glibc (whatever
 * nsswitch.conf says) for NAME and ID, for "root", and for a name that no
 * source has. One line per figure: KEY MEDIAN MIN MAX, in nanoseconds per
 * call over ROUNDS rounds of about 0.03 s each of its CPU time.
 *
 *   bench-lookup --rss NAME
 *
 * What one getpwnam_r(NAME) adds to this process's resident set, first
 * lookup included: "rss KIB".
 */
#include "config.h"

#include "tests/bench/bench.h"

#include <dlfcn.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nss/nss-dynid.h"

#define ROUNDS 5
#define ROUND_NS 30e6

/* The thread's CPU time: time the machine gave to others (preemption, and
 * steal time under a hypervisor that reports it) does not count. */
static double now_ns(void)
{
        return bench_now_us(CLOCK_THREAD_CPUTIME_ID) * 1e3;
}

static __typeof__(_nss_dynid_getpwnam_r) *direct_nam;
static __typeof__(_nss_dynid_getpwuid_r) *direct_uid;
static const char *name;
static uid_t id;

static int call_direct_nam(void)
{
        struct passwd pw;
        char buf[1024];
        int e;

        return direct_nam(name, &pw, buf, sizeof(buf), &e) ==
               NSS_STATUS_SUCCESS;
}

static int call_direct_uid(void)
{
        struct passwd pw;
        char buf[1024];
        int e;

        return direct_uid(id, &pw, buf, sizeof(buf), &e) ==
               NSS_STATUS_SUCCESS && pw.pw_uid == id;
}

static int call_glibc_nam(void)
{
        struct passwd pw, *res = NULL;
        char buf[1024];

        return getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 && res;
}

static int call_glibc_uid(void)
{
        struct passwd pw, *res = NULL;
        char buf[1024];

        return getpwuid_r(id, &pw, buf, sizeof(buf), &res) == 0 && res &&
               pw.pw_uid == id;
}

static int call_glibc_miss(void)
{
        struct passwd pw, *res = NULL;
        char buf[1024];

        return getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 && !res;
}

static void check(const char *key, int (*fn)(void))
{
        if (fn())
                return;
        fprintf(stderr, "%s: lookup of %s/%u did not answer as expected\n",
                key, name, (unsigned) id);
        exit(1);
}

/*
 * KEY MEDIAN MIN MAX over ROUNDS rounds; exits on a wrong answer. A round
 * is as many calls as the warm-up managed in ROUND_NS: short enough for
 * files with 10,000 entries, long enough for a 200 ns call.
 */
static void measure(const char *key, int (*fn)(void))
{
        double t[ROUNDS], start;
        long n = 0;

        start = now_ns();
        do {
                check(key, fn);
                n++;
        } while (now_ns() - start < ROUND_NS);
        for (int r = 0; r < ROUNDS; r++) {
                start = now_ns();
                for (long i = 0; i < n; i++)
                        check(key, fn);
                t[r] = (now_ns() - start) / n;
        }
        qsort(t, ROUNDS, sizeof(t[0]), bench_cmp);
        printf("%s %.1f %.1f %.1f\n", key, t[ROUNDS / 2], t[0],
               t[ROUNDS - 1]);
}

static long rss_kib(void)
{
        char line[256];
        long v = -1;
        FILE *f;

        f = fopen("/proc/self/status", "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
                        break;
        fclose(f);
        return v;
}

static int rss(const char *n)
{
        long before, after;

        name = n;
        before = rss_kib();
        if (!call_glibc_nam()) {
                fprintf(stderr, "lookup of %s failed\n", name);
                return 1;
        }
        after = rss_kib();
        if (before < 0 || after < 0)
                return 1;
        printf("rss %ld\n", after - before);
        return 0;
}

int main(int argc, char **argv)
{
        const char *module = NULL;
        char *end;
        void *h;

        if (argc == 3 && strcmp(argv[1], "--rss") == 0)
                return rss(argv[2]);
        if (argc == 5 && strcmp(argv[1], "-m") == 0) {
                module = argv[2];
                argv += 2;
                argc -= 2;
        }
        if (argc != 3) {
                fprintf(stderr, "usage: bench-lookup [-m MODULE] NAME ID\n"
                        "       bench-lookup --rss NAME\n");
                return 2;
        }
        name = argv[1];
        id = strtoul(argv[2], &end, 10);
        if (*end) {
                fprintf(stderr, "bad ID: %s\n", argv[2]);
                return 2;
        }

        if (module) {
                h = dlopen(module, RTLD_NOW | RTLD_LOCAL);
                if (!h || !(direct_nam = dlsym(h, "_nss_dynid_getpwnam_r")) ||
                    !(direct_uid = dlsym(h, "_nss_dynid_getpwuid_r"))) {
                        fprintf(stderr, "%s\n", dlerror());
                        return 1;
                }
                measure("direct_pwnam", call_direct_nam);
                measure("direct_pwuid", call_direct_uid);
        }
        measure("glibc_pwnam", call_glibc_nam);
        measure("glibc_pwuid", call_glibc_uid);
        name = "root";
        id = 0;
        measure("glibc_root", call_glibc_nam);
        name = "no-such-user-anywhere";
        measure("glibc_miss", call_glibc_miss);
        return 0;
}
