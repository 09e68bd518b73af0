/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The NSS contract, checked on the built module: it is dlopen()ed and its
 * entry points are called directly, as glibc does. Runs as root inside the
 * sandbox of tests/unit/test-nss.sh, which has leased "web", "db" and a
 * 31-byte name and published the snapshot at the compiled-in path.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dynid.h"
#include "nss/nss-dynid.h"

#define LONG_NAME "abcdefghijklmnopqrstuvwxyz01234"
#define SNAPSHOT LOCALSTATEDIR "/lib/dynid/nss.mdb"
#define GENERATION LOCALSTATEDIR "/lib/dynid/nss.gen"

static struct {
        __typeof__(_nss_dynid_getpwnam_r) *getpwnam_r;
        __typeof__(_nss_dynid_getpwuid_r) *getpwuid_r;
        __typeof__(_nss_dynid_setpwent) *setpwent;
        __typeof__(_nss_dynid_getpwent_r) *getpwent_r;
        __typeof__(_nss_dynid_endpwent) *endpwent;
        __typeof__(_nss_dynid_getgrnam_r) *getgrnam_r;
        __typeof__(_nss_dynid_getgrgid_r) *getgrgid_r;
        __typeof__(_nss_dynid_setgrent) *setgrent;
        __typeof__(_nss_dynid_getgrent_r) *getgrent_r;
        __typeof__(_nss_dynid_endgrent) *endgrent;
        __typeof__(_nss_dynid_initgroups_dyn) *initgroups_dyn;
} m;

static uint32_t web, db, longb;        /* bases, from the store */
static fd_set fds_before;               /* open before the module was */
static const char *dynidctl;

static void *sym(void *h, const char *name)
{
        void *p = dlsym(h, name);

        if (!p) {
                fprintf(stderr, "missing symbol %s\n", name);
                exit(1);
        }
        return p;
}

static uint32_t base_of(struct dynid_store *s, const char *name)
{
        struct dynid_lease l;

        if (dynid_lease_find(s, name, &l) < 0) {
                fprintf(stderr, "no lease for %s\n", name);
                exit(1);
        }
        return l.base;
}

static int setup(void **state)
{
        const char *builddir = getenv("top_builddir");
        struct dynid_store_opts opts = { .read_only = true };
        struct dynid_store *s;
        struct dynid_config cfg;
        char path[4096];
        void *h;

        FD_ZERO(&fds_before);
        for (int fd = 0; fd < FD_SETSIZE; fd++)
                if (fcntl(fd, F_GETFD) >= 0)
                        FD_SET(fd, &fds_before);

        dynidctl = getenv("DYNIDCTL");
        if (!builddir || !dynidctl)
                return -1;
        snprintf(path, sizeof(path), "%s/.libs/libnss_dynid.so.2", builddir);
        h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                fprintf(stderr, "%s\n", dlerror());
                return -1;
        }
        m.getpwnam_r = sym(h, "_nss_dynid_getpwnam_r");
        m.getpwuid_r = sym(h, "_nss_dynid_getpwuid_r");
        m.setpwent = sym(h, "_nss_dynid_setpwent");
        m.getpwent_r = sym(h, "_nss_dynid_getpwent_r");
        m.endpwent = sym(h, "_nss_dynid_endpwent");
        m.getgrnam_r = sym(h, "_nss_dynid_getgrnam_r");
        m.getgrgid_r = sym(h, "_nss_dynid_getgrgid_r");
        m.setgrent = sym(h, "_nss_dynid_setgrent");
        m.getgrent_r = sym(h, "_nss_dynid_getgrent_r");
        m.endgrent = sym(h, "_nss_dynid_endgrent");
        m.initgroups_dyn = sym(h, "_nss_dynid_initgroups_dyn");

        if (dynid_config_defaults(&cfg) < 0 ||
            dynid_store_open(&cfg, &opts, &s, NULL) < 0)
                return -1;
        web = base_of(s, "web");
        db = base_of(s, "db");
        longb = base_of(s, LONG_NAME);
        dynid_store_close(s);
        dynid_config_free(&cfg);
        return 0;
}

static void run_dynidctl(const char *cmd, const char *name)
{
        pid_t pid = fork();
        int st;

        assert_true(pid >= 0);
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY);

                dup2(null, 1);
                execl(dynidctl, "dynidctl", cmd, name, (char *) NULL);
                _exit(127);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
}

static void expect_pw(const struct passwd *pw, const char *name, uint32_t id,
                      const char *gecos, const char *dir)
{
        assert_string_equal(pw->pw_name, name);
        assert_string_equal(pw->pw_passwd, "*");
        assert_int_equal(pw->pw_uid, id);
        assert_int_equal(pw->pw_gid, id);
        assert_string_equal(pw->pw_gecos, gecos);
        assert_string_equal(pw->pw_dir, dir);
        assert_string_equal(pw->pw_shell, "/usr/sbin/nologin");
}

#define SENTINEL 4242

/* Success leaves errno and *errnop alone. */
static void test_getpwnam(void **state)
{
        struct passwd pw;
        char buf[1024];
        int e = SENTINEL;

        errno = 12345;
        assert_int_equal(m.getpwnam_r("web", &pw, buf, sizeof(buf), &e),
                         NSS_STATUS_SUCCESS);
        assert_int_equal(errno, 12345);
        assert_int_equal(e, SENTINEL);
        expect_pw(&pw, "web", web, "dynid service web",
                  LOCALSTATEDIR "/lib/dynid/home/web");

        assert_int_equal(m.getpwnam_r("web+7", &pw, buf, sizeof(buf), &e),
                         NSS_STATUS_SUCCESS);
        expect_pw(&pw, "web+7", web + 7, "dynid service web", "/");
        assert_int_equal(m.getpwnam_r("web+65535", &pw, buf, sizeof(buf),
                                      &e), NSS_STATUS_SUCCESS);
        assert_int_equal(pw.pw_uid, web + 65535);
        assert_int_equal(errno, 12345);
        assert_int_equal(e, SENTINEL);
}

static void test_getpwuid(void **state)
{
        struct passwd pw;
        char buf[1024], want[64];
        int e = SENTINEL;

        errno = 12345;
        assert_int_equal(m.getpwuid_r(db, &pw, buf, sizeof(buf), &e),
                         NSS_STATUS_SUCCESS);
        expect_pw(&pw, "db", db, "dynid service db",
                  LOCALSTATEDIR "/lib/dynid/home/db");
        assert_int_equal(m.getpwuid_r(web + 7, &pw, buf, sizeof(buf), &e),
                         NSS_STATUS_SUCCESS);
        expect_pw(&pw, "web+7", web + 7, "dynid service web", "/");

        /* A long name takes the PREFIX~ID form, which resolves back. */
        snprintf(want, sizeof(want), "abcdefghijklmnopqrst~%u",
                 longb + 65535);
        assert_int_equal(m.getpwuid_r(longb + 65535, &pw, buf, sizeof(buf),
                                      &e), NSS_STATUS_SUCCESS);
        assert_string_equal(pw.pw_name, want);
        assert_int_equal(m.getpwnam_r(want, &pw, buf, sizeof(buf), &e),
                         NSS_STATUS_SUCCESS);
        assert_int_equal(pw.pw_uid, longb + 65535);
        assert_int_equal(errno, 12345);
        assert_int_equal(e, SENTINEL);
}

static void test_not_found(void **state)
{
        const char *names[] = { "root", "nosuch", "web+0", "web+07",
                                "web+65536", "web+", "+7", "Web", "",
                                "db+99999999999", "abcdefghijklmnopqrst~1" };
        const uint32_t ids[] = { 0, 65534, web - 1, DYNID_FOREIGN_BASE,
                                 UINT32_MAX, 1879048191 };
        struct passwd pw;
        struct group gr;
        char buf[1024];
        int e = SENTINEL;

        errno = 777;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                assert_int_equal(m.getpwnam_r(names[i], &pw, buf,
                                              sizeof(buf), &e),
                                 NSS_STATUS_NOTFOUND);
                assert_int_equal(m.getgrnam_r(names[i], &gr, buf,
                                              sizeof(buf), &e),
                                 NSS_STATUS_NOTFOUND);
        }
        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
                if (ids[i] >= web && ids[i] - web < 65536)
                        continue;
                assert_int_equal(m.getpwuid_r(ids[i], &pw, buf, sizeof(buf),
                                              &e), NSS_STATUS_NOTFOUND);
                assert_int_equal(m.getgrgid_r(ids[i], &gr, buf, sizeof(buf),
                                              &e), NSS_STATUS_NOTFOUND);
        }
        assert_int_equal(errno, 777);
        assert_int_equal(e, SENTINEL);
}

static void test_groups(void **state)
{
        struct group gr;
        char buf[256];
        int e = SENTINEL;

        errno = 1;
        assert_int_equal(m.getgrnam_r("web", &gr, buf, sizeof(buf), &e),
                         NSS_STATUS_SUCCESS);
        assert_string_equal(gr.gr_name, "web");
        assert_string_equal(gr.gr_passwd, "*");
        assert_int_equal(gr.gr_gid, web);
        assert_null(gr.gr_mem[0]);

        assert_int_equal(m.getgrgid_r(db + 3, &gr, buf, sizeof(buf), &e),
                         NSS_STATUS_SUCCESS);
        assert_string_equal(gr.gr_name, "db+3");
        assert_null(gr.gr_mem[0]);
        assert_int_equal(m.getgrnam_r("db+3", &gr, buf, sizeof(buf), &e),
                         NSS_STATUS_SUCCESS);
        assert_int_equal(gr.gr_gid, db + 3);
        assert_int_equal(errno, 1);
        assert_int_equal(e, SENTINEL);
}

#define GUARD 64

typedef enum nss_status (*call_fn)(char *buf, size_t len, int *e);

static struct passwd erange_pw;
static struct group erange_gr;

static enum nss_status pw_call(char *buf, size_t len, int *e)
{
        return m.getpwnam_r("web", &erange_pw, buf, len, e);
}

static enum nss_status pw_derived_call(char *buf, size_t len, int *e)
{
        return m.getpwuid_r(longb + 4242, &erange_pw, buf, len, e);
}

static enum nss_status gr_call(char *buf, size_t len, int *e)
{
        return m.getgrgid_r(db + 65535, &erange_gr, buf, len, e);
}

/*
 * Every size from 1 to 4096, at every alignment of the buffer: too small
 * gives TRYAGAIN + ERANGE, large enough succeeds, and nothing is written
 * past the end in either case. Returns the smallest size that worked.
 */
static size_t erange_sweep(call_fn call)
{
        size_t need = 0;

        for (size_t off = 0; off < 8; off++)
                for (size_t len = 1; len <= 4096; len++) {
                        char *mem = malloc(off + len + GUARD);
                        char *buf = mem + off;
                        int e = SENTINEL;
                        enum nss_status st;

                        memset(mem, 0xa5, off + len + GUARD);
                        errno = 99;
                        st = call(buf, len, &e);
                        for (size_t i = 0; i < off; i++)
                                assert_int_equal((unsigned char) mem[i], 0xa5);
                        for (size_t i = 0; i < GUARD; i++)
                                assert_int_equal((unsigned char) buf[len + i],
                                                 0xa5);
                        assert_int_equal(errno, 99);
                        if (st == NSS_STATUS_TRYAGAIN) {
                                assert_int_equal(e, ERANGE);
                                assert_true(need == 0 || off > 0);
                        } else {
                                assert_int_equal(st, NSS_STATUS_SUCCESS);
                                assert_int_equal(e, SENTINEL);
                                if (off == 0 && need == 0)
                                        need = len;
                        }
                        free(mem);
                        if (st == NSS_STATUS_SUCCESS && off > 0)
                                break;
                }
        return need;
}

static void test_erange(void **state)
{
        char want[64];

        /* "web" "*" "dynid service web" HOME "/usr/sbin/nologin" */
        assert_int_equal(erange_sweep(pw_call),
                         4 + 2 + 18 + strlen(LOCALSTATEDIR "/lib/dynid/home/web")
                         + 1 + 18);
        snprintf(want, sizeof(want), "abcdefghijklmnopqrst~%u", longb + 4242);
        /* Derived: the service's GECOS, home "/". */
        assert_int_equal(erange_sweep(pw_derived_call),
                         strlen(want) + 1 + 2 +
                         strlen("dynid service " LONG_NAME) + 1 + 2 + 18);
        /* Pointer array (NULL only), "db+65535", "*". */
        assert_int_equal(erange_sweep(gr_call), sizeof(char *) + 9 + 2);
}

static void test_enumeration(void **state)
{
        const char *names[3];
        uint32_t bases[3] = { web, db, longb };
        const char *byname[3] = { "web", "db", LONG_NAME };
        struct passwd pw;
        struct group gr;
        char buf[1024];
        int e = SENTINEL;

        /* Expected order: by base. */
        for (int i = 0; i < 3; i++) {
                int rank = 0;

                for (int j = 0; j < 3; j++)
                        rank += bases[j] < bases[i];
                names[rank] = byname[i];
        }

        assert_int_equal(m.setpwent(0), NSS_STATUS_SUCCESS);
        for (int i = 0; i < 3; i++) {
                assert_int_equal(m.getpwent_r(&pw, buf, sizeof(buf), &e),
                                 NSS_STATUS_SUCCESS);
                assert_string_equal(pw.pw_name, names[i]);
        }
        assert_int_equal(m.getpwent_r(&pw, buf, sizeof(buf), &e),
                         NSS_STATUS_NOTFOUND);
        assert_int_equal(m.endpwent(), NSS_STATUS_SUCCESS);

        /* A short buffer does not skip an entry. */
        assert_int_equal(m.setgrent(0), NSS_STATUS_SUCCESS);
        assert_int_equal(m.getgrent_r(&gr, buf, 4, &e), NSS_STATUS_TRYAGAIN);
        assert_int_equal(e, ERANGE);
        for (int i = 0; i < 3; i++) {
                assert_int_equal(m.getgrent_r(&gr, buf, sizeof(buf), &e),
                                 NSS_STATUS_SUCCESS);
                assert_string_equal(gr.gr_name, names[i]);
        }
        assert_int_equal(m.getgrent_r(&gr, buf, sizeof(buf), &e),
                         NSS_STATUS_NOTFOUND);
        assert_int_equal(m.endgrent(), NSS_STATUS_SUCCESS);
}

static void test_initgroups(void **state)
{
        gid_t *groups = malloc(4 * sizeof(gid_t));
        long start = 1, size = 4;
        int e = SENTINEL;

        groups[0] = web;
        assert_int_equal(m.initgroups_dyn("web", web, &start, &size, &groups,
                                          0, &e), NSS_STATUS_NOTFOUND);
        assert_int_equal(start, 1);
        assert_int_equal(size, 4);
        assert_int_equal(e, SENTINEL);
        free(groups);
}

/* Every descriptor the module leaves open is close-on-exec. */
static void test_cloexec(void **state)
{
        struct passwd pw;
        char buf[1024];
        int e, n = 0;
        DIR *d;
        struct dirent *de;

        assert_int_equal(m.getpwnam_r("web", &pw, buf, sizeof(buf), &e),
                         NSS_STATUS_SUCCESS);
        d = opendir("/proc/self/fd");
        assert_non_null(d);
        while ((de = readdir(d))) {
                int fd, fl;
                char target[4096] = "";

                if (de->d_name[0] == '.')
                        continue;
                fd = atoi(de->d_name);
                if (fd == dirfd(d) || (fd < FD_SETSIZE &&
                                       FD_ISSET(fd, &fds_before)))
                        continue;
                fl = fcntl(fd, F_GETFD);
                snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
                if (readlink(buf, target, sizeof(target) - 1) < 0)
                        continue;
                if (strcmp(target, SNAPSHOT) == 0)
                        n++;
                if (!(fl & FD_CLOEXEC))
                        fail_msg("fd %d (%s) lacks FD_CLOEXEC", fd, target);
        }
        closedir(d);
        assert_int_equal(n, 1);
}

/*
 * A caller that closed 0, 1 and 2 (a daemon about to reopen them on
 * /dev/null): the snapshot, which the module keeps open, is never one of
 * them, and they stay closed. Run in a forked child, which opens the
 * snapshot anew. Only a module with LMDB linked in (the default) can
 * reach LMDB's open(): the test is built for that one alone.
 */
#ifdef HAVE_STATIC_LMDB
static void test_standard_descriptors_closed(void **state)
{
        int status;
        pid_t pid;

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct passwd pw;
                char buf[1024], path[64], target[4096];
                int e = SENTINEL, code = 0;

                for (int fd = 0; fd <= 2; fd++)
                        close(fd);
                if (m.getpwnam_r("web", &pw, buf, sizeof(buf), &e) !=
                    NSS_STATUS_SUCCESS || pw.pw_uid != web)
                        _exit(10);
                for (int fd = 0; fd <= 2; fd++)
                        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
                                code |= 1 << fd;    /* 1, 2, 4 */
                /* The snapshot is open, above them, close-on-exec. */
                for (int fd = 3; fd < 64; fd++) {
                        ssize_t n;

                        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                        n = readlink(path, target, sizeof(target) - 1);
                        if (n < 0)
                                continue;
                        target[n] = 0;
                        if (strcmp(target, SNAPSHOT) == 0)
                                _exit(code | (fcntl(fd, F_GETFD) &
                                              FD_CLOEXEC ? 0 : 8));
                }
                _exit(code | 16);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);

        /* No descriptor above 2 to be had: the lookup works all the same,
         * its snapshot on the free one. */
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct rlimit rl = { 3, 3 };
                struct passwd pw;
                char buf[1024], target[4096];
                int e = SENTINEL;
                ssize_t n;

                close(0);
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                        _exit(20);
                if (m.getpwnam_r("web", &pw, buf, sizeof(buf), &e) !=
                    NSS_STATUS_SUCCESS || pw.pw_uid != web)
                        _exit(21);
                n = readlink("/proc/self/fd/0", target, sizeof(target) - 1);
                if (n < 0)
                        _exit(22);
                target[n] = 0;
                _exit(strcmp(target, SNAPSHOT) == 0 &&
                      (fcntl(0, F_GETFD) & FD_CLOEXEC) ? 0 : 23);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

#endif

/* A lookup of "web" in a forked child, which has no snapshot open yet:
 * returns its status, or -1 when errno or *errnop were not as expected. */
static int lookup_in_child(int want_errnop)
{
        int status;
        pid_t pid;

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct passwd pw;
                char buf[1024];
                int e = SENTINEL;
                enum nss_status st;

                errno = 5;
                st = m.getpwnam_r("web", &pw, buf, sizeof(buf), &e);
                _exit(errno != 5 || e != want_errnop ? 255 : st + 2);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status) == 255 ? -1 : WEXITSTATUS(status) - 2;
}

/*
 * No snapshot: "unavailable" at once where none is open yet. A process
 * that has one open notices a removal made by hand (no publish, so no new
 * generation) within 2 seconds, and a published change at its next lookup.
 */
static void test_unavailable_and_republish(void **state)
{
        struct passwd pw;
        char buf[1024];
        int e = SENTINEL;

        assert_int_equal(rename(SNAPSHOT, SNAPSHOT ".away"), 0);
        assert_int_equal(lookup_in_child(ENOENT), NSS_STATUS_UNAVAIL);
        sleep(3);
        errno = 5;
        assert_int_equal(m.getpwnam_r("web", &pw, buf, sizeof(buf), &e),
                         NSS_STATUS_UNAVAIL);
        assert_int_equal(e, ENOENT);
        assert_int_equal(errno, 5);
        assert_int_equal(rename(SNAPSHOT ".away", SNAPSHOT), 0);
        assert_int_equal(lookup_in_child(SENTINEL), NSS_STATUS_SUCCESS);

        e = SENTINEL;
        assert_int_equal(m.getpwnam_r("fresh", &pw, buf, sizeof(buf), &e),
                         NSS_STATUS_NOTFOUND);
        run_dynidctl("add", "fresh");
        assert_int_equal(m.getpwnam_r("fresh", &pw, buf, sizeof(buf), &e),
                         NSS_STATUS_SUCCESS);
        assert_string_equal(pw.pw_name, "fresh");
        run_dynidctl("remove", "fresh");
        assert_int_equal(m.getpwnam_r("fresh", &pw, buf, sizeof(buf), &e),
                         NSS_STATUS_NOTFOUND);
        assert_int_equal(e, SENTINEL);
}

#define THREADS 32
#define LOOKUPS 10000           /* at least, per thread */
#define PUBLISHES 40

static int stop_threads;        /* read and written atomically */

struct worker {
        pthread_t t;
        unsigned long lookups;
        unsigned long wrong;
};

/* One round of mixed lookups: by name, by ID inside a block, a group, a
 * derived name, and a name that is not there. */
static bool one_round(void)
{
        struct passwd pw;
        struct group gr;
        char buf[512];
        int e = SENTINEL;

        if (m.getpwnam_r("web", &pw, buf, sizeof(buf), &e) !=
            NSS_STATUS_SUCCESS || pw.pw_uid != web)
                return false;
        if (m.getpwuid_r(db + 9, &pw, buf, sizeof(buf), &e) !=
            NSS_STATUS_SUCCESS || strcmp(pw.pw_name, "db+9") != 0)
                return false;
        if (m.getgrgid_r(web, &gr, buf, sizeof(buf), &e) !=
            NSS_STATUS_SUCCESS || strcmp(gr.gr_name, "web") != 0)
                return false;
        if (m.getgrnam_r("web+3", &gr, buf, sizeof(buf), &e) !=
            NSS_STATUS_SUCCESS || gr.gr_gid != web + 3)
                return false;
        if (m.getpwnam_r("nobody-here", &pw, buf, sizeof(buf), &e) !=
            NSS_STATUS_NOTFOUND)
                return false;
        return e == SENTINEL;
}

static void *worker_main(void *arg)
{
        struct worker *w = arg;

        while (w->lookups < LOOKUPS ||
               !__atomic_load_n(&stop_threads, __ATOMIC_RELAXED)) {
                if (!one_round())
                        w->wrong++;
                w->lookups += 5;
        }
        return NULL;
}

/* 32 threads, each with at least 10,000 lookups, while another process
 * adds and removes a lease 20 times each. */
static void test_threads_during_republish(void **state)
{
        struct worker w[THREADS] = { 0 };
        pid_t pid;
        int st;

        for (int i = 0; i < THREADS; i++)
                assert_int_equal(pthread_create(&w[i].t, NULL, worker_main,
                                                &w[i]), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char cmd[8192];

                snprintf(cmd, sizeof(cmd),
                         "for i in $(seq %d); do \"%s\" add churn >/dev/null &&"
                         " \"%s\" remove churn >/dev/null || exit 1; done",
                         PUBLISHES / 2, dynidctl, dynidctl);
                execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
                _exit(127);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        __atomic_store_n(&stop_threads, 1, __ATOMIC_RELAXED);
        for (int i = 0; i < THREADS; i++) {
                assert_int_equal(pthread_join(w[i].t, NULL), 0);
                assert_true(w[i].lookups >= LOOKUPS);
                assert_int_equal(w[i].wrong, 0);
        }
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
}

/* Lookups in 1000 forked children, the parent's snapshot already open. */
static void test_forked_children(void **state)
{
        int bad = 0;

        assert_true(one_round());
        for (int i = 0; i < 1000; i++) {
                pid_t pid = fork();
                int st;

                assert_true(pid >= 0);
                if (pid == 0)
                        _exit(one_round() && one_round() ? 0 : 1);
                assert_int_equal(waitpid(pid, &st, 0), pid);
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                        bad++;
                if (i % 100 == 0)
                        assert_true(one_round());
        }
        assert_int_equal(bad, 0);
}

static void *enumerator_main(void *arg)
{
        struct passwd pw;
        char buf[512];
        int e;

        while (!__atomic_load_n(&stop_threads, __ATOMIC_RELAXED)) {
                m.setpwent(0);
                while (m.getpwent_r(&pw, buf, sizeof(buf), &e) ==
                       NSS_STATUS_SUCCESS)
                        ;
                m.endpwent();
        }
        return NULL;
}

/* Forks while other threads enumerate: every child looks up and exits
 * (an alarm ends a child that would hang on a lock held at fork). */
static void test_fork_during_enumeration(void **state)
{
        pthread_t t[4];
        int bad = 0;

        __atomic_store_n(&stop_threads, 0, __ATOMIC_RELAXED);
        for (int i = 0; i < 4; i++)
                assert_int_equal(pthread_create(&t[i], NULL, enumerator_main,
                                                NULL), 0);
        for (int i = 0; i < 200; i++) {
                pid_t pid = fork();
                int st;

                assert_true(pid >= 0);
                if (pid == 0) {
                        struct passwd pw;
                        char buf[512];
                        int e;

                        alarm(5);
                        m.setpwent(0);
                        e = m.getpwent_r(&pw, buf, sizeof(buf), &e) ==
                            NSS_STATUS_SUCCESS;
                        m.endpwent();
                        _exit(e && one_round() ? 0 : 1);
                }
                assert_int_equal(waitpid(pid, &st, 0), pid);
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                        bad++;
        }
        __atomic_store_n(&stop_threads, 1, __ATOMIC_RELAXED);
        for (int i = 0; i < 4; i++)
                assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(bad, 0);
}

/*
 * The known limit of the mapped counter (SECURITY.md): once a process has
 * mapped nss.gen, truncating that file in place kills the process with
 * SIGBUS at its next lookup. dynid never does it; the manuals say not to.
 */
static void test_truncated_generation_file(void **state)
{
        struct passwd pw;
        char buf[1024], saved[4096];
        int e, st, fd;
        ssize_t n;
        pid_t pid;

        assert_int_equal(m.getpwnam_r("web", &pw, buf, sizeof(buf), &e),
                         NSS_STATUS_SUCCESS);
        fd = open(GENERATION, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        n = pread(fd, saved, sizeof(saved), 0);
        assert_int_equal(n, sizeof(saved));
        assert_int_equal(ftruncate(fd, 0), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                /* The mapping is the parent's, inherited; cmocka's own
                 * handler would catch the signal. */
                signal(SIGBUS, SIG_DFL);
                _exit(m.getpwnam_r("web", &pw, buf, sizeof(buf), &e) ==
                      NSS_STATUS_SUCCESS ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFSIGNALED(st));
        assert_int_equal(WTERMSIG(st), SIGBUS);
        assert_int_equal(pwrite(fd, saved, sizeof(saved), 0), sizeof(saved));
        close(fd);
        assert_int_equal(m.getpwnam_r("web", &pw, buf, sizeof(buf), &e),
                         NSS_STATUS_SUCCESS);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_getpwnam),
                cmocka_unit_test(test_getpwuid),
                cmocka_unit_test(test_not_found),
                cmocka_unit_test(test_groups),
                cmocka_unit_test(test_erange),
                cmocka_unit_test(test_enumeration),
                cmocka_unit_test(test_initgroups),
                cmocka_unit_test(test_cloexec),
#ifdef HAVE_STATIC_LMDB
                cmocka_unit_test(test_standard_descriptors_closed),
#endif
                cmocka_unit_test(test_unavailable_and_republish),
                cmocka_unit_test(test_threads_during_republish),
                cmocka_unit_test(test_forked_children),
                cmocka_unit_test(test_fork_during_enumeration),
                cmocka_unit_test(test_truncated_generation_file),
        };

        /* Selects tests by a glob, e.g. "test_threads*" under TSan. */
        if (getenv("DYNID_TEST_FILTER"))
                cmocka_set_test_filter(getenv("DYNID_TEST_FILTER"));
        return cmocka_run_group_tests(tests, setup, NULL);
}
