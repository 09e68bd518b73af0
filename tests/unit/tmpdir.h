/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Temporary directories for the unit tests: created under /tmp with
 * mkdtemp(), filled with small files, removed with everything in them.
 * Include after <cmocka.h>: the helpers fail the test on any error.
 */

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Creates a fresh directory and stores its path in @buf (PATH_MAX bytes). */
static inline void tmpdir_make(char *buf)
{
        strcpy(buf, "/tmp/dynid-test.XXXXXX");
        assert_non_null(mkdtemp(buf));
        /* As a state directory must be: users reach the snapshot. */
        assert_int_equal(chmod(buf, 0755), 0);
}

/* Writes @content into DIR/NAME, replacing the file; returns the path in
 * @path (PATH_MAX bytes) when it is not NULL. */
static inline void tmpdir_write(const char *dir, const char *name,
                                const char *content, char *path)
{
        char p[PATH_MAX];
        size_t len = strlen(content);
        int fd;

        assert_true(snprintf(p, sizeof(p), "%s/%s", dir, name) <
                    (int) sizeof(p));
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, len), (ssize_t) len);
        assert_int_equal(close(fd), 0);
        if (path)
                strcpy(path, p);
}

/* Copies the file @from to @to, replacing @to. */
static inline void tmpdir_copy(const char *from, const char *to)
{
        char buf[65536];
        ssize_t n;
        int in, out;

        in = open(from, O_RDONLY | O_CLOEXEC);
        assert_true(in >= 0);
        out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(out >= 0);
        while ((n = read(in, buf, sizeof(buf))) > 0)
                assert_int_equal(write(out, buf, n), n);
        assert_int_equal(n, 0);
        assert_int_equal(close(in), 0);
        assert_int_equal(close(out), 0);
}

static inline int tmpdir_rm_one(const char *path, const struct stat *st,
                                int type, struct FTW *ftw)
{
        return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

/* Removes @dir and everything below it, without following symlinks. */
static inline void tmpdir_remove(const char *dir)
{
        /* Only ever our own directories under /tmp. */
        assert_true(strncmp(dir, "/tmp/dynid-test.", 16) == 0);
        assert_int_equal(nftw(dir, tmpdir_rm_one, 16, FTW_DEPTH | FTW_PHYS),
                         0);
}
