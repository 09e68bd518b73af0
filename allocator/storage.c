/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Persistent homes: STATE/storage/NAME, under a 0700 root directory, owned
 * on disk by the canonical ID of offset 0 (the start of the foreign range),
 * so that the same tree can be idmapped onto whatever block the service
 * holds, and a setuid file in it belongs to nobody on the host.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "store-internal.h"

/* Opens STATE/storage (0700), creating it when @create. */
static int open_storage_dir(struct dynid_store *s, bool create)
{
        char path[4096];
        struct stat st;
        int fd;

        snprintf(path, sizeof(path), "%s/storage", s->state_dir);
        if (create && mkdir(path, 0700) < 0 && errno != EEXIST)
                return -errno;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || st.st_uid != geteuid() ||
            ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0)) {
                close(fd);
                return -EPERM;
        }
        return fd;
}

int dynid_storage_create(struct dynid_store *s, const char *name)
{
        int dfd, r = 0;

        dfd = open_storage_dir(s, true);
        if (dfd < 0)
                return dfd;
        /* Only root can give the directory away; a store kept by another
         * user (the unit tests) keeps it. */
        if (mkdirat(dfd, name, 0755) < 0)
                r = errno == EEXIST ? 0 : -errno;
        else if ((geteuid() == 0 &&
                  fchownat(dfd, name, DYNID_FOREIGN_BASE, DYNID_FOREIGN_BASE,
                           AT_SYMLINK_NOFOLLOW) < 0) ||
                 fchmodat(dfd, name, 0755, 0) < 0)
                r = -errno;
        close(dfd);
        return r;
}

int dynid_storage_open(struct dynid_store *s, const char *name, int *ret)
{
        struct open_how how = {
                .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH |
                           RESOLVE_NO_MAGICLINKS,
        };
        int dfd, fd;

        if (dynid_name_check(name, NULL) < 0)
                return -EINVAL;
        dfd = open_storage_dir(s, false);
        if (dfd < 0)
                return dfd;
        fd = syscall(SYS_openat2, dfd, name, &how, sizeof(how));
        if (fd < 0)
                fd = -errno;
        close(dfd);
        if (fd < 0)
                return fd;
        *ret = fd;
        return 0;
}

/* Removes everything below the directory @fd (which it closes), never
 * following a symlink. */
static int remove_tree_at(int fd)
{
        struct dirent *de;
        DIR *d = fdopendir(fd);
        int r = 0;

        if (!d) {
                close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                int sub;

                if (strcmp(de->d_name, ".") == 0 ||
                    strcmp(de->d_name, "..") == 0)
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) >= 0)
                        continue;
                if (errno != EISDIR) {
                        r = -errno;
                        break;
                }
                sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY |
                             O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0) {
                        r = -errno;
                        break;
                }
                r = remove_tree_at(sub);
                if (r >= 0 && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
                        r = -errno;
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

int dynid_storage_purge(struct dynid_store *s, const char *name)
{
        int dfd, fd, r;

        dfd = open_storage_dir(s, false);
        if (dfd == -ENOENT)
                return 0;
        if (dfd < 0)
                return dfd;
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                    O_CLOEXEC);
        if (fd < 0) {
                r = errno == ENOENT ? 0 : -errno;
                close(dfd);
                return r;
        }
        r = remove_tree_at(fd);
        if (r >= 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0)
                r = -errno;
        close(dfd);
        return r;
}
