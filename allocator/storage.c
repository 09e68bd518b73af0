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
#include <stdlib.h>
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

/*
 * Unlinks every entry of the directory @fd but subdirectories, never
 * following a symlink. Returns 0 with the name of one subdirectory in
 * *ret (to free), or NULL there when none is left; or -errno.
 */
static int remove_files_at(int fd, char **ret)
{
        struct dirent *de;
        char *sub = NULL;
        int dfd, r = 0;
        DIR *d;

        dfd = dup(fd);
        if (dfd < 0)
                return -errno;
        d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return -errno;
        }
        rewinddir(d);
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 ||
                    strcmp(de->d_name, "..") == 0)
                        continue;
                if (unlinkat(fd, de->d_name, 0) >= 0)
                        continue;
                if (errno != EISDIR) {
                        r = -errno;
                        break;
                }
                if (!sub && !(sub = strdup(de->d_name))) {
                        r = -ENOMEM;
                        break;
                }
        }
        closedir(d);
        if (r < 0) {
                free(sub);
                return r;
        }
        *ret = sub;
        return 0;
}

/* A directory on the way down: what ".." must be on the way back up, and
 * the name to remove there. */
struct level {
        dev_t dev;
        ino_t ino;
        char *name;
};

/*
 * Removes everything below the directory @fd (which it closes), never
 * following a symlink. The walk holds one descriptor, not one a level,
 * and comes back up through "..": a tree as deep as its owner likes can
 * neither exhaust descriptors nor lead the walk outside it.
 */
static int remove_tree_at(int fd)
{
        struct level *up = NULL, *grown;
        size_t depth = 0, cap = 0;
        struct stat st;
        char *sub;
        int c, r;

        for (;;) {
                sub = NULL;
                r = remove_files_at(fd, &sub);
                if (r < 0)
                        break;
                if (sub) {
                        if (depth == cap) {
                                cap = cap ? 2 * cap : 16;
                                grown = reallocarray(up, cap, sizeof(*up));
                                if (!grown) {
                                        free(sub);
                                        r = -ENOMEM;
                                        break;
                                }
                                up = grown;
                        }
                        if (fstat(fd, &st) < 0 ||
                            (c = openat(fd, sub, O_RDONLY | O_DIRECTORY |
                                        O_NOFOLLOW | O_CLOEXEC)) < 0) {
                                r = -errno;
                                free(sub);
                                break;
                        }
                        up[depth++] = (struct level) { st.st_dev, st.st_ino,
                                                       sub };
                        close(fd);
                        fd = c;
                        continue;
                }
                if (depth == 0)
                        break;

                /* Empty: back to the parent, which must be the one we
                 * came from (the tree may be changing under us). */
                c = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                           O_CLOEXEC);
                if (c < 0) {
                        r = -errno;
                        break;
                }
                close(fd);
                fd = c;
                depth--;
                if (fstat(fd, &st) < 0)
                        r = -errno;
                else if (st.st_dev != up[depth].dev ||
                         st.st_ino != up[depth].ino)
                        r = -ESTALE;
                else if (unlinkat(fd, up[depth].name, AT_REMOVEDIR) < 0)
                        r = -errno;
                free(up[depth].name);
                if (r < 0)
                        break;
        }
        close(fd);
        while (depth > 0)
                free(up[--depth].name);
        free(up);
        return r < 0 ? r : 0;
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
