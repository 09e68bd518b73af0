/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Wall time of whole commands, run by tests/bench/run.sh.
 *
 *   bench-spawn [--setup SHELL-COMMAND] RUNS CMD [ARG...] [::: CMD [ARG...]]...
 *
 * Runs each CMD once to warm up, then RUNS times, each run timed from
 * fork() to the end of waitpid(), with standard output and error sent to
 * /dev/null. Several commands take turns, run after run, so that a slower
 * or faster spell of the machine falls on all of them alike. "{}" in an
 * argument is replaced by the number of the run (the warm-up is "w"), so
 * that each run can add a name of its own. A setup command runs through
 * /bin/sh before each run, untimed. Prints MEDIAN MIN MAX in microseconds,
 * one line per command; exits 1 when a run fails.
 */
#include "config.h"

#include "tests/bench/bench.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Runs @argv, "{}" replaced by @tag; returns the wait status or -1. */
static int run(char **argv, const char *tag, bool quiet)
{
        int status;
        pid_t pid;

        pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                int argc = 0;
                char **args;

                while (argv[argc])
                        argc++;
                args = calloc(argc + 1, sizeof(*args));
                if (!args)
                        _exit(127);
                for (int i = 0; i < argc; i++) {
                        char *p = strstr(argv[i], "{}");

                        args[i] = argv[i];
                        if (p && asprintf(&args[i], "%.*s%s%s",
                                          (int) (p - argv[i]), argv[i], tag,
                                          p + 2) < 0)
                                _exit(127);
                }
                if (quiet) {
                        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

                        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                                _exit(127);
                }
                execvp(args[0], args);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) != pid)
                return -1;
        return status;
}

static int setup(const char *cmd)
{
        char sh[] = "/bin/sh", c[] = "-c";
        char *argv[] = { sh, c, (char *) cmd, NULL };

        return cmd ? run(argv, "", false) : 0;
}

static void fail_run(char **argv, const char *tag, int status)
{
        fprintf(stderr, "bench-spawn: %s failed (run %s, status %d)\n",
                argv[0], tag, status);
        exit(1);
}

int main(int argc, char **argv)
{
        const char *setup_cmd = NULL;
        char **cmds[16];
        size_t ncmds = 0;
        double *t;
        char *end;
        long runs;

        if (argc > 2 && strcmp(argv[1], "--setup") == 0) {
                setup_cmd = argv[2];
                argv += 2;
                argc -= 2;
        }
        if (argc < 3) {
                fprintf(stderr, "usage: bench-spawn [--setup SHELL-COMMAND] "
                        "RUNS CMD [ARG...] [::: CMD [ARG...]]...\n");
                return 2;
        }
        runs = strtol(argv[1], &end, 10);
        if (*end || runs < 1 || runs > 100000) {
                fprintf(stderr, "bad number of runs: %s\n", argv[1]);
                return 2;
        }
        /* Split at ":::" into NULL-terminated commands. */
        cmds[ncmds++] = argv + 2;
        for (int i = 2; i < argc; i++) {
                if (strcmp(argv[i], ":::") != 0)
                        continue;
                argv[i] = NULL;
                if (ncmds == sizeof(cmds) / sizeof(cmds[0]) || i + 1 >= argc) {
                        fprintf(stderr, "bench-spawn: bad command list\n");
                        return 2;
                }
                cmds[ncmds++] = argv + i + 1;
        }
        t = calloc(runs * ncmds, sizeof(*t));
        if (!t)
                return 1;

        for (size_t c = 0; c < ncmds; c++) {
                int st;

                if (setup(setup_cmd) != 0) {
                        fprintf(stderr, "bench-spawn: setup failed\n");
                        return 1;
                }
                st = run(cmds[c], "w", true);
                if (st != 0)
                        fail_run(cmds[c], "w", st);
        }
        for (long i = 0; i < runs; i++)
                for (size_t c = 0; c < ncmds; c++) {
                        char tag[32];
                        double start;
                        int st;

                        snprintf(tag, sizeof(tag), "%ld", i);
                        if (setup(setup_cmd) != 0) {
                                fprintf(stderr, "bench-spawn: setup failed\n");
                                return 1;
                        }
                        start = bench_now_us(CLOCK_MONOTONIC);
                        st = run(cmds[c], tag, true);
                        t[c * runs + i] = bench_now_us(CLOCK_MONOTONIC) - start;
                        if (st != 0)
                                fail_run(cmds[c], tag, st);
                }
        for (size_t c = 0; c < ncmds; c++) {
                double *tc = t + c * runs;

                qsort(tc, runs, sizeof(*tc), bench_cmp);
                printf("%.1f %.1f %.1f\n", tc[runs / 2], tc[0], tc[runs - 1]);
        }
        free(t);
        return 0;
}
