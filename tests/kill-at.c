/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kill-at MAX_US CMD [ARG...]: runs CMD with its output sent to /dev/null,
 * sends it SIGKILL after a random delay below MAX_US microseconds, and
 * reaps it. Prints "killed" when the signal ended it, or "exited STATUS"
 * when it had finished first. Used by tests/integration/torture.sh.
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        unsigned long max;
        unsigned int rnd;
        struct timespec ts;
        char *end;
        int status;
        pid_t pid;

        if (argc < 3 || (max = strtoul(argv[1], &end, 10)) == 0 || *end) {
                fprintf(stderr, "usage: kill-at MAX_US CMD [ARG...]\n");
                return 2;
        }
        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                return 1;
        pid = fork();
        if (pid < 0)
                return 1;
        if (pid == 0) {
                int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

                if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                        _exit(127);
                execvp(argv[2], argv + 2);
                _exit(127);
        }
        ts.tv_sec = (rnd % max) / 1000000;
        ts.tv_nsec = (rnd % max) % 1000000 * 1000;
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        if (waitpid(pid, &status, 0) != pid)
                return 1;
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
                puts("killed");
        else
                printf("exited %d\n", WIFEXITED(status) ?
                       WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return 0;
}
