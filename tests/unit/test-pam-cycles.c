/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pam_dynid in a long-lived launcher: one process runs 200 sessions (or
 * DYNID_PAM_CYCLES; make torture runs 2,000) of the
 * leased service "web" through libpam, pam_start() to pam_end(), and must
 * come out with the descriptors, mounts and memory it went in with, and no
 * session left in the store. Runs as root inside the sandbox of
 * tests/unit/test-pam-cycles.sh, which wrote /etc/pam.d/dynid-cycles and
 * leased "web".
 *
 * Only mode=mount is cycled: mode=userns moves the caller into a user
 * namespace in which root is not mapped, so after the first session the
 * process can neither close it (pam_dynid leaves that to gc when it is not
 * root) nor open a second one.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <security/pam_appl.h>

#include "dynid.h"

#define SERVICE "web"
static int cycles = 200;
#define MEMORY_FROM 50          /* the cycle memory is compared from */

/*
 * Memory is compared between cycle 50 and cycle 200: by cycle 50 libpam,
 * the module, LMDB and the NSS module have been loaded and unloaded many
 * times and malloc's arena has its working size. A leak of L bytes per
 * session adds 150 * L, so:
 *
 *  - the bytes malloc() has handed out and not got back (mallinfo2()) may
 *    grow by 4 KiB: the smallest chunk is 32 bytes, so even one leaked
 *    allocation per session (4800 bytes) fails. The wrapper turns off
 *    malloc's per-thread cache, which counts as "in use": with it, the
 *    figure rose by 15 KB over these cycles while filling, without a leak;
 *    without it, it is flat to the byte. It also keeps the resident set
 *    honest: with the cache, a 4 KiB leak per session was carved out of
 *    freed pages already resident and Rss did not move at all.
 *  - the resident set (Rss of /proc/self/smaps_rollup, which walks the
 *    page tables, where VmRSS may be a per-CPU approximation) may grow by
 *    256 KiB, which fails for a leak of 1.7 KiB or more per session
 *    (measured: 1 KiB leaked per session added 308 KiB, 4 KiB added
 *    1208 KiB). It also sees what malloc does not: mappings and pages
 *    left behind by LMDB or a module that stays loaded.
 *
 * Under ASan neither applies (its allocator is not malloc's, and its
 * quarantine keeps freed memory resident on purpose): the figures are
 * printed, the bounds not checked.
 */
#ifdef __SANITIZE_ADDRESS__
static const bool asan = true;
#else
static const bool asan = false;
#endif
#define HEAP_SLACK 4096
#define RSS_SLACK_KIB 256

struct figures {
        int fds, mounts, homes;
        long rss_kib;
        size_t heap;            /* bytes malloc()ed and not freed */
};

static struct {
        bool done;                      /* all cycles returned PAM_SUCCESS */
        char home[4096];                /* pw_dir of SERVICE */
        struct figures before, first, settled, last;
} t;

static int conv(int n, const struct pam_message **msg,
                struct pam_response **resp, void *data)
{
        /* pam_permit and pam_dynid never ask. */
        return PAM_CONV_ERR;
}

static int count_fds(void)
{
        struct dirent *de;
        DIR *d;
        int n = 0;

        d = opendir("/proc/self/fd");
        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d))
                        n++;
        closedir(d);
        return n;
}

/* Lines of /proc/self/mountinfo, and how many of them are mounted at
 * @path (field 5; our paths hold no character that mountinfo escapes). */
static int count_mounts(const char *path, int *at_path)
{
        char line[8192], point[4096];
        FILE *f;
        int n = 0;

        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return -errno;
        *at_path = 0;
        while (fgets(line, sizeof(line), f)) {
                n++;
                if (sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 &&
                    strcmp(point, path) == 0)
                        (*at_path)++;
        }
        fclose(f);
        return n;
}

static long rss_kib(void)
{
        char line[256];
        long kib = -1;
        FILE *f;

        f = fopen("/proc/self/smaps_rollup", "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Rss: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

static size_t heap_in_use(void)
{
        struct mallinfo2 mi = mallinfo2();

        return mi.uordblks + mi.hblkhd;
}

static void measure(struct figures *f)
{
        f->fds = count_fds();
        f->mounts = count_mounts(t.home, &f->homes);
        f->rss_kib = rss_kib();
        f->heap = heap_in_use();
        assert_true(f->fds > 0);
        assert_true(f->mounts > 0);
        assert_true(f->rss_kib > 0);
}

/* Figures after cycle @n, or before the first one for 0. */
static void print_figures(int n, const struct figures *f)
{
        char when[32] = "before:";

        if (n > 0)
                snprintf(when, sizeof(when), "after cycle %d:", n);
        print_message("%-16s fds %d, mounts %d (%d at %s), Rss %ld KiB, "
                      "heap %zu bytes\n", when, f->fds, f->mounts, f->homes,
                      t.home, f->rss_kib, f->heap);
}

/* The lease of SERVICE, as the store has it. */
static struct dynid_lease lease(void)
{
        struct dynid_store_opts opts = { .read_only = true };
        struct dynid_config cfg;
        struct dynid_store *s;
        struct dynid_lease l;

        assert_int_equal(dynid_config_defaults(&cfg), 0);
        assert_int_equal(dynid_store_open(&cfg, &opts, &s, NULL), 0);
        dynid_config_free(&cfg);
        assert_int_equal(dynid_lease_find(s, SERVICE, &l), 0);
        dynid_store_close(s);
        return l;
}

/* Live sessions of SERVICE, as the store counts them. */
static uint32_t sessions(void)
{
        return lease().sessions;
}

static int setup(void **state)
{
        const char *tunables = getenv("GLIBC_TUNABLES");
        struct passwd *pw;

        if (!asan && (!tunables ||
                      !strstr(tunables, "glibc.malloc.tcache_count=0"))) {
                fprintf(stderr, "run with GLIBC_TUNABLES="
                        "glibc.malloc.tcache_count=0\n");
                return -1;
        }

        /* Also loads the NSS module, which keeps its snapshot open: that
         * descriptor belongs to the baseline, not to pam_dynid. */
        pw = getpwnam(SERVICE);
        if (!pw || snprintf(t.home, sizeof(t.home), "%s", pw->pw_dir) >=
                   (int) sizeof(t.home)) {
                fprintf(stderr, "cannot resolve %s\n", SERVICE);
                return -1;
        }
        return 0;
}

/* pam_start() to pam_end(); with @check, the store sees the open session. */
static void cycle(bool check)
{
        struct pam_conv c = { conv, NULL };
        pam_handle_t *h = NULL;

        assert_int_equal(pam_start("dynid-cycles", SERVICE, &c, &h),
                         PAM_SUCCESS);
        assert_int_equal(pam_open_session(h, 0), PAM_SUCCESS);
        if (check)
                assert_int_equal(sessions(), 1);
        assert_int_equal(pam_close_session(h, 0), PAM_SUCCESS);
        assert_int_equal(pam_end(h, PAM_SUCCESS), PAM_SUCCESS);
}

static void test_cycles(void **state)
{
        measure(&t.before);
        assert_int_equal(t.before.homes, 0);

        for (int i = 1; i <= cycles; i++) {
                cycle(i == 1);
                if (i == 1)
                        measure(&t.first);
                else if (i == MEMORY_FROM)
                        measure(&t.settled);
        }
        measure(&t.last);
        t.done = true;

        print_figures(0, &t.before);
        print_figures(1, &t.first);
        print_figures(MEMORY_FROM, &t.settled);
        print_figures(cycles, &t.last);
}

static void test_descriptors(void **state)
{
        if (!t.done)
                skip();
        if (t.first.fds != t.before.fds || t.last.fds != t.before.fds)
                fail_msg("open descriptors: %d before, %d after cycle 1, %d "
                         "after cycle %d", t.before.fds, t.first.fds,
                         t.last.fds, cycles);
}

/*
 * Every open_session leaves the process in a new mount namespace, a copy
 * of the one it was in plus the home. Flat means: each session's
 * namespace is the launcher's plus one mount, not the previous session's
 * plus one, so after 200 sessions there is still exactly one home.
 */
static void test_mounts(void **state)
{
        if (!t.done)
                skip();
        if (t.first.homes != 1 || t.first.mounts != t.before.mounts + 1)
                fail_msg("after cycle 1: %d mounts, %d at %s (expected %d "
                         "and 1)", t.first.mounts, t.first.homes, t.home,
                         t.before.mounts + 1);
        if (t.last.homes != 1 || t.last.mounts != t.first.mounts)
                fail_msg("after cycle %d: %d mounts, %d at %s (expected %d "
                         "and 1, as after cycle 1)", cycles, t.last.mounts,
                         t.last.homes, t.home, t.first.mounts);
}

#ifndef __SANITIZE_ADDRESS__
static void test_memory(void **state)
{
        if (!t.done)
                skip();
        if (t.last.heap > t.settled.heap + HEAP_SLACK)
                fail_msg("the heap grew by %zu bytes from cycle %d to cycle "
                         "%d (allowed: %d)", t.last.heap - t.settled.heap,
                         MEMORY_FROM, cycles, HEAP_SLACK);
        if (t.last.rss_kib > t.settled.rss_kib + RSS_SLACK_KIB)
                fail_msg("Rss grew by %ld KiB from cycle %d to cycle %d "
                         "(allowed: %d KiB)",
                         t.last.rss_kib - t.settled.rss_kib, MEMORY_FROM,
                         cycles, RSS_SLACK_KIB);
}
#endif

static void test_no_session_left(void **state)
{
        if (!t.done)
                skip();
        assert_int_equal(sessions(), 0);
}

/* runuser blocks every signal around the session; other callers ignore
 * SIGCHLD, which would make a waitpid(-1) helper lose its child. */
static void test_hostile_signals(void **state)
{
        sigset_t all, old;
        struct sigaction ign = { .sa_handler = SIG_IGN }, prev;

        sigfillset(&all);
        assert_int_equal(sigprocmask(SIG_BLOCK, &all, &old), 0);
        assert_int_equal(sigaction(SIGCHLD, &ign, &prev), 0);
        cycle(true);
        assert_int_equal(sigaction(SIGCHLD, &prev, NULL), 0);
        assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
        assert_int_equal(sessions(), 0);
}

/* Runs gc once the clock has passed SERVICE's last use, which it returns:
 * reaping a session is a use, and shows as a later one. */
static uint64_t gc_a_second_later(void)
{
        struct dynid_store_opts opts = { 0 };
        uint64_t used = lease().last_used;
        struct dynid_config cfg;
        struct dynid_store *s;

        while ((uint64_t) time(NULL) <= used)
                usleep(50000);
        assert_int_equal(dynid_config_defaults(&cfg), 0);
        assert_int_equal(dynid_store_open(&cfg, &opts, &s, NULL), 0);
        dynid_config_free(&cfg);
        assert_int_equal(dynid_gc(s, time(NULL), false, NULL, NULL), 0);
        dynid_store_close(s);
        return used;
}

/*
 * A launcher that drops to the service's IDs before it closes the session
 * (systemd does, for PAMName= with User=): the close succeeds quietly and
 * changes nothing, the record counts while the process lives and not
 * after, and gc reaps it, which is the lease's last use.
 */
static void test_close_unprivileged(void **state)
{
        struct passwd *pw = getpwnam(SERVICE);
        int ready[2], go[2], status;
        uint64_t used;
        uid_t base;
        pid_t pid;
        char c;

        assert_non_null(pw);
        base = pw->pw_uid;
        assert_int_equal(pipe(ready), 0);
        assert_int_equal(pipe(go), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct pam_conv cv = { conv, NULL };
                pam_handle_t *h = NULL;
                int code = 0;

                close(ready[0]);
                close(go[1]);
                if (pam_start("dynid-cycles", SERVICE, &cv, &h) !=
                    PAM_SUCCESS || pam_open_session(h, 0) != PAM_SUCCESS)
                        _exit(10);
                if (setgroups(0, NULL) < 0 ||
                    setresgid(base, base, base) < 0 ||
                    setresuid(base, base, base) < 0)
                        _exit(11);
                if (pam_close_session(h, 0) != PAM_SUCCESS)
                        code = 12;
                pam_end(h, PAM_SUCCESS);
                if (write(ready[1], "x", 1) != 1 || read(go[0], &c, 1) < 0)
                        code = 13;
                _exit(code);
        }
        close(ready[1]);
        close(go[0]);
        assert_int_equal(read(ready[0], &c, 1), 1);
        /* Closed unprivileged: the record stays while its leader lives. */
        assert_int_equal(sessions(), 1);
        close(go[1]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        close(ready[0]);
        assert_int_equal(sessions(), 0);

        used = gc_a_second_later();
        assert_true(lease().last_used > used);
        /* Nothing is left to reap. */
        used = gc_a_second_later();
        assert_int_equal(lease().last_used, used);
}

static void *idle_thread(void *arg)
{
        char c;

        return read(*(int *) arg, &c, 1) < 0 ? NULL : arg;
}

static void ns_of(const char *which, char *buf, size_t size)
{
        char path[64];
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/self/ns/%s", which);
        n = readlink(path, buf, size - 1);
        assert_true(n > 0);
        buf[n] = 0;
}

/* mode=userns needs a single-threaded caller: a clear refusal, before
 * anything is built or recorded. */
static void test_userns_threads(void **state)
{
        char mnt[64], user[64], mnt2[64], user2[64];
        struct pam_conv c = { conv, NULL };
        pam_handle_t *h = NULL;
        pthread_t th;
        int p[2];

        assert_int_equal(pipe(p), 0);
        assert_int_equal(pthread_create(&th, NULL, idle_thread, &p[0]), 0);
        ns_of("mnt", mnt, sizeof(mnt));
        ns_of("user", user, sizeof(user));

        assert_int_equal(pam_start("dynid-threads", SERVICE, &c, &h),
                         PAM_SUCCESS);
        assert_int_equal(pam_open_session(h, 0), PAM_SESSION_ERR);
        assert_int_equal(pam_end(h, PAM_SUCCESS), PAM_SUCCESS);

        ns_of("mnt", mnt2, sizeof(mnt2));
        ns_of("user", user2, sizeof(user2));
        assert_string_equal(mnt2, mnt);
        assert_string_equal(user2, user);
        assert_int_equal(sessions(), 0);

        close(p[1]);
        assert_int_equal(pthread_join(th, NULL), 0);
        close(p[0]);
}

int main(void)
{
        const char *n = getenv("DYNID_PAM_CYCLES");
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cycles),
                cmocka_unit_test(test_descriptors),
                cmocka_unit_test(test_mounts),
#ifndef __SANITIZE_ADDRESS__
                /* Under ASan the figures are printed, not judged. */
                cmocka_unit_test(test_memory),
#endif
                cmocka_unit_test(test_no_session_left),
                cmocka_unit_test(test_hostile_signals),
                cmocka_unit_test(test_close_unprivileged),
                cmocka_unit_test(test_userns_threads),
        };

        if (n && (cycles = atoi(n)) <= MEMORY_FROM) {
                fprintf(stderr, "DYNID_PAM_CYCLES must be above %d\n",
                        MEMORY_FROM);
                return 2;
        }
        return cmocka_run_group_tests(tests, setup, NULL);
}
