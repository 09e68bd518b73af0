/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dynidctl run: a service started as root inside its own user namespace
 * (DESIGN.md section 6). The namespace maps inner 0..N-1 onto the lease's
 * block, owns a mount namespace with the idmapped home at the home
 * directory, and the command runs as inner 0 (or --user INNER).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/close_range.h>
#include <unistd.h>

#include "dynid.h"
#include "run.h"

static pid_t child_pid;

static void forward(int sig)
{
        if (child_pid > 0)
                kill(child_pid, sig);
}

static int write_map(pid_t pid, const char *which, const char *map)
{
        char path[64];
        size_t len = strlen(map);
        int fd, r = 0;

        snprintf(path, sizeof(path), "/proc/%d/%s", pid, which);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, map, len) != (ssize_t) len)
                r = -errno;
        close(fd);
        return r;
}

/* An inner user other than root keeps no capability, not even in its
 * bounding set; inner root keeps those of its own namespace. */
static int drop_privileges(uint32_t inner)
{
        if (setgroups(0, NULL) < 0 || setresgid(inner, inner, inner) < 0)
                return -errno;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                return -errno;
        if (inner != 0) {
                for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++)
                        if (cap_drop_bound(c) < 0 && errno != EINVAL)
                                return -errno;
        }
        if (setresuid(inner, inner, inner) < 0)
                return -errno;
        if (inner != 0) {
                cap_t none = cap_init();
                int r = none && cap_set_proc(none) >= 0 ? 0 : -EPERM;

                cap_free(none);
                return r;
        }
        return 0;
}

static void set_env(const struct run_request *rq)
{
        const char *term = getenv("TERM");
        char *t = term ? strdup(term) : NULL;

        clearenv();
        setenv("HOME", rq->home, 1);
        setenv("USER", rq->user, 1);
        setenv("LOGNAME", rq->user, 1);
        setenv("SHELL", rq->shell, 1);
        setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
               "/sbin:/bin", 1);
        if (t)
                setenv("TERM", t, 1);
        free(t);
}

/* The command starts as a service would: default dispositions, nothing
 * blocked, whatever the shell that started dynidctl had set. */
static void reset_signals(void)
{
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        sigset_t none;

        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        sigaction(sig, &dfl, NULL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The child: namespaces, home, identity, exec. Never returns. */
static void child(const struct run_request *rq, int tree, int ready, int go)
{
        const char *step = "unshare";
        char c;
        int r;

        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                goto fail;
        step = "wait for the parent";
        if (write(ready, "x", 1) != 1)
                goto fail;
        if (read(go, &c, 1) != 1)
                _exit(127);     /* the parent gave up and said why */
        step = "mount the home";
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                goto fail;
        r = dynid_home_dir_empty(rq->home);
        if (r < 0) {
                errno = -r;
                step = rq->home;
                goto fail;
        }
        if (move_mount(tree, "", AT_FDCWD, rq->home,
                       MOVE_MOUNT_F_EMPTY_PATH) < 0)
                goto fail;
        close(tree);
        /* Nothing of ours reaches the service: the lease database least. */
        step = "close descriptors";
        if (close_range(3, ~0U, 0) < 0)
                goto fail;
        step = "drop privileges";
        errno = 0;
        if (drop_privileges(rq->inner) < 0)
                goto fail;
        step = "enter the home";
        if (chdir(rq->home) < 0)
                goto fail;
        set_env(rq);
        reset_signals();
        execvp(rq->argv[0], rq->argv);
        step = rq->argv[0];
fail:
        fprintf(stderr, "dynidctl: run: %s: %s\n", step, strerror(errno));
        _exit(127);
}

int run_service(const struct run_request *rq, int tree, run_session_fn rec,
                void *userdata)
{
        struct sigaction sa = { .sa_handler = forward };
        int ready[2], go[2], st, r;
        char map[64], c;

        r = dynid_make_home_dir(rq->home);
        if (r < 0)
                return r;
        if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
                return -errno;
        /* Ignored, as a caller may leave it across exec(), the kernel would
         * reap the command itself and its status would be lost. */
        sigaction(SIGCHLD, &(struct sigaction) { .sa_handler = SIG_DFL },
                  NULL);

        child_pid = fork();
        if (child_pid < 0)
                return -errno;
        if (child_pid == 0) {
                close(ready[0]);
                close(go[1]);
                child(rq, tree, ready[1], go[0]);
        }
        close(ready[1]);
        close(go[0]);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        /* A child that died early must not kill us through the pipe. */
        sigaction(SIGPIPE, &(struct sigaction) { .sa_handler = SIG_IGN },
                  NULL);

        /* Inner 0 is the lease's base. */
        snprintf(map, sizeof(map), "0 %u %u\n", rq->base, rq->size);
        r = read(ready[0], &c, 1) == 1 ? 0 : -ECHILD;
        if (r >= 0)
                r = write_map(child_pid, "uid_map", map);
        if (r >= 0)
                r = write_map(child_pid, "gid_map", map);
        if (r >= 0)
                r = rec(child_pid, true, userdata);
        if (r >= 0 && write(go[1], "x", 1) != 1) {
                r = -errno;
                rec(child_pid, false, userdata);
        }
        close(go[1]);
        close(ready[0]);
        if (r < 0)
                kill(child_pid, SIGKILL);

        while (waitpid(child_pid, &st, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (r >= 0)
                rec(child_pid, false, userdata);
        if (r < 0)
                return r;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
