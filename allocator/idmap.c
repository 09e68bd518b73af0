/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Idmapped homes: a detached clone of a service's storage whose canonical
 * owners (the foreign range, offset k at DYNID_FOREIGN_BASE + k) appear as
 * the lease's block (base + k), whatever block that is.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magic.h>

#include "dynid.h"
#include "util.h"

static int write_file(const char *path, const char *s)
{
        size_t len = strlen(s);
        int fd, r = 0;

        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, s, len) != (ssize_t) len)
                r = -errno;
        close(fd);
        return r;
}

/*
 * A child in a new user namespace that waits until @hold closes. Raw
 * clone() with no exit signal: no SIGCHLD, no atfork handlers, and a
 * caller that ignores SIGCHLD does not reap it behind our back.
 */
static pid_t clone_waiting(unsigned long flags, int hold[2])
{
        pid_t pid;
        char c;

        pid = syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
        if (pid != 0)
                return pid < 0 ? -errno : pid;
        close(hold[1]);
        while (read(hold[0], &c, 1) < 0 && errno == EINTR)
                ;
        _exit(0);
}

static void reap(pid_t pid)
{
        while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
                ;
}

int dynid_userns_fd(const char *map, int *ret)
{
        char path[64];
        int hold[2], fd = -1, r;
        pid_t pid;

        if (pipe2(hold, O_CLOEXEC) < 0)
                return -errno;
        pid = clone_waiting(CLONE_NEWUSER, hold);
        close(hold[0]);
        if (pid < 0) {
                close(hold[1]);
                return pid;
        }

        snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
        r = write_file(path, map);
        if (r >= 0) {
                snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
                r = write_file(path, map);
        }
        if (r >= 0) {
                snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        r = -errno;
        }
        close(hold[1]);
        reap(pid);
        if (r < 0)
                return r;
        *ret = fd;
        return 0;
}

static const char *fs_name(int fd)
{
        static const struct {
                unsigned long magic;
                const char *name;
        } fs[] = {
                { 0xEF53, "ext4" },
                { 0x58465342, "xfs" },
                { 0x9123683E, "btrfs" },
                { 0x01021994, "tmpfs" },
                { 0x794c7630, "overlay" },
                { 0x6969, "nfs" },
                { 0x65735546, "fuse" },
                { 0x2fc12fc1, "zfs" },
                { 0xF2F52010, "f2fs" },
        };
        struct statfs sf;

        if (fstatfs(fd, &sf) < 0)
                return "unknown";
        for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
                if ((unsigned long) sf.f_type == fs[i].magic)
                        return fs[i].name;
        return "unknown";
}

int dynid_idmap_tree(int storage_fd, uint32_t base, uint32_t size, int *ret,
                     struct dynid_err *err)
{
        struct mount_attr attr = {
                .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID |
                            MOUNT_ATTR_NODEV,
        };
        char map[64];
        int ns = -1, tree, r;

        /* Inside the throw-away namespace: the foreign range; outside:
         * the block. A file on disk at FOREIGN + k shows as base + k. */
        snprintf(map, sizeof(map), "%u %u %u\n", DYNID_FOREIGN_BASE, base,
                 size);
        r = dynid_userns_fd(map, &ns);
        if (r < 0) {
                set_errf(err, "cannot create a user namespace: %s",
                         strerror(-r));
                return r;
        }
        tree = open_tree(storage_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
                         AT_EMPTY_PATH);
        if (tree < 0) {
                r = -errno;
                set_errf(err, "cannot clone the storage mount: %s",
                         strerror(-r));
                close(ns);
                return r;
        }
        attr.userns_fd = ns;
        r = mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0
                ? -errno : 0;
        close(ns);
        if (r < 0) {
                set_errf(err, "cannot idmap the storage (filesystem %s): %s",
                         fs_name(storage_fd), strerror(-r));
                close(tree);
                return r;
        }
        *ret = tree;
        return 0;
}

/*
 * Moves the caller into a new user namespace whose maps are @map: a helper
 * that stays in ours writes them, since a process cannot map more than
 * itself into its own namespace. Everything the helper touches is prepared
 * before it exists.
 */
int dynid_enter_userns(const char *map)
{
        char uid_path[64], gid_path[64];
        int go[2], done[2], r;
        pid_t pid;
        char c;

        snprintf(uid_path, sizeof(uid_path), "/proc/%d/uid_map", getpid());
        snprintf(gid_path, sizeof(gid_path), "/proc/%d/gid_map", getpid());
        if (pipe2(go, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(done, O_CLOEXEC) < 0) {
                r = -errno;
                close(go[0]);
                close(go[1]);
                return r;
        }
        pid = syscall(SYS_clone, 0, NULL, NULL, NULL, NULL);
        if (pid == 0) {
                close(go[1]);
                close(done[0]);
                while ((r = read(go[0], &c, 1)) < 0 && errno == EINTR)
                        ;
                c = r == 1 && write_file(uid_path, map) >= 0 &&
                    write_file(gid_path, map) >= 0;
                _exit(write(done[1], &c, 1) == 1 && c ? 0 : 1);
        }
        close(go[0]);
        close(done[1]);
        r = pid < 0 ? -errno : 0;
        if (r >= 0 && unshare(CLONE_NEWUSER) < 0)
                r = -errno;     /* EINVAL: the caller has several threads */
        if (pid > 0) {
                /* Only a byte on success: on failure, EOF ends the helper. */
                if (r >= 0 && write(go[1], "x", 1) != 1)
                        r = -errno;
                close(go[1]);
                if (r >= 0 && (read(done[0], &c, 1) != 1 || !c))
                        r = -EPERM;
                reap(pid);
        } else {
                close(go[1]);
        }
        close(done[0]);
        return r;
}

/* Where the walk stands: the directory's mount, and whether it is sticky
 * and writable by others. */
struct home_walk {
        uint64_t mnt;
        bool sticky;
};

/* The owner, mode and mount of @fd, in one statx(); -EPERM on FUSE. */
static int walk_stat(int fd, struct statx *stx)
{
        struct statfs sfs;

        if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
                  STATX_UID | STATX_MODE | STATX_MNT_ID, stx) < 0 ||
            fstatfs(fd, &sfs) < 0)
                return -errno;
        if (!(stx->stx_mask & STATX_MNT_ID))
                return -EOPNOTSUPP;
        /* On FUSE, owners and modes are whatever its daemon says, and an
         * unprivileged user may run that daemon. */
        if (sfs.f_type == FUSE_SUPER_MAGIC)
                return -EPERM;
        return 0;
}

/*
 * Opens the component @name below @dir (creating it, 0755, when missing)
 * and checks it. A directory on the way must be root's, and either
 * writable by nobody else or sticky like /tmp, where others may add
 * entries but not rename or remove root's. Below a sticky directory that
 * others may write, the next component must be root's own directory
 * there, not a mount over an entry someone else made; the mount point
 * itself (@last) may be anybody's (a home from an earlier session of this
 * process is mounted there) only below a directory no one else may
 * change.
 */
static int open_home_step(int dir, const char *name, bool last,
                          struct home_walk *w)
{
        struct statx stx = { .stx_mask = 0 };
        bool shared;
        int fd, r;

        if (strcmp(name, "..") == 0 || strcmp(name, ".") == 0)
                return -EINVAL;
        fd = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
                if (mkdirat(dir, name, 0755) < 0 && errno != EEXIST)
                        return -errno;
                fd = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
                            O_CLOEXEC);
        }
        if (fd < 0)
                return errno == ENOTDIR ? -ELOOP : -errno;
        r = walk_stat(fd, &stx);
        if (r < 0) {
                close(fd);
                return r;
        }
        shared = (stx.stx_mode & 022) != 0;
        if ((stx.stx_uid != 0 && (!last || w->sticky)) ||
            (w->sticky && stx.stx_mnt_id != w->mnt) ||
            (!last && shared && !(stx.stx_mode & S_ISVTX))) {
                close(fd);
                return -EPERM;
        }
        w->sticky = shared;
        w->mnt = stx.stx_mnt_id;
        return fd;
}

int dynid_make_home_dir(const char *path)
{
        char buf[4096], *save = NULL;
        struct home_walk w = { .sticky = false };
        struct statx stx = { .stx_mask = 0 };
        int dir, r;

        if (path[0] != '/' || strlen(path) >= sizeof(buf))
                return -EINVAL;
        strcpy(buf, path);
        dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return -errno;
        r = walk_stat(dir, &stx);
        if (r < 0) {
                close(dir);
                return r;
        }
        w.mnt = stx.stx_mnt_id;
        for (char *c = strtok_r(buf, "/", &save), *n; c; c = n) {
                int next;

                n = strtok_r(NULL, "/", &save);
                next = open_home_step(dir, c, !n, &w);
                close(dir);
                if (next < 0)
                        return next;
                dir = next;
        }
        close(dir);
        return 0;
}

int dynid_home_dir_empty(const char *path)
{
        struct dirent *de;
        int fd, r = 0;
        DIR *d;

        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                close(fd);
                return r;
        }
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 &&
                    strcmp(de->d_name, "..") != 0) {
                        r = -ENOTEMPTY;
                        break;
                }
        closedir(d);
        return r;
}
