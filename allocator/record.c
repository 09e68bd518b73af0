/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dynid.h"
#include "record.h"

void snap_base_key(uint32_t base, unsigned char key[5])
{
        key[0] = SNAP_KEY_BASE;
        key[1] = base >> 24;
        key[2] = base >> 16;
        key[3] = base >> 8;
        key[4] = base;
}

size_t snap_record_encode(const struct snap_record *r, void *buf,
                          size_t size)
{
        const char *s[] = { r->name, r->gecos, r->dir, r->shell };
        struct snap_head h = { .base = r->base, .size = r->size };
        size_t len = sizeof(h);
        char *p = buf;

        for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
                len += strlen(s[i]) + 1;
        if (len > size)
                return len;

        memcpy(p, &h, sizeof(h));
        p += sizeof(h);
        for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
                size_t l = strlen(s[i]) + 1;

                memcpy(p, s[i], l);
                p += l;
        }
        return len;
}

int snap_record_decode(const void *data, size_t len, struct snap_record *r)
{
        const char **s[] = { &r->name, &r->gecos, &r->dir, &r->shell };
        const char *p = data, *end = p + len;
        struct snap_head h;

        if (len < sizeof(h))
                return -EBADMSG;
        memcpy(&h, p, sizeof(h));
        if (h.size == 0 || h.base > UINT32_MAX - (h.size - 1))
                return -EBADMSG;
        p += sizeof(h);

        for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
                const char *nul = memchr(p, 0, end - p);

                if (!nul)
                        return -EBADMSG;
                *s[i] = p;
                p = nul + 1;
        }
        /* Readers copy the name into buffers of DYNID_NAME_MAX + 1 bytes
         * and derive names from it: only a valid name is one. */
        if (p != end || dynid_name_check(r->name, NULL) < 0)
                return -EBADMSG;

        r->base = h.base;
        r->size = h.size;
        return 0;
}

int snap_meta_decode(const void *data, size_t len, struct snap_meta *m)
{
        if (len != sizeof(*m))
                return -EBADMSG;
        memcpy(m, data, sizeof(*m));
        if (m->magic != SNAP_MAGIC || m->version != SNAP_VERSION ||
            m->block_size == 0)
                return -EBADMSG;
        return 0;
}

/* A file shorter than LMDB believes it is would fault on access; the meta
 * record must be ours. */
static int snap_validate(MDB_env *env, const struct stat *st, MDB_dbi *dbi,
                         struct snap_meta *m)
{
        char mkey = SNAP_KEY_META;
        MDB_val k = { 1, &mkey }, v;
        MDB_envinfo info;
        MDB_stat est;
        MDB_txn *txn;
        int r;

        if (!S_ISREG(st->st_mode) ||
            mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &est) != 0 ||
            (uint64_t) st->st_size <
            ((uint64_t) info.me_last_pgno + 1) * est.ms_psize)
                return -EBADMSG;
        if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
                return -EBADMSG;
        r = mdb_dbi_open(txn, NULL, 0, dbi) == 0 &&
            mdb_get(txn, *dbi, &k, &v) == 0 ? 0 : -EBADMSG;
        if (r == 0)
                r = snap_meta_decode(v.mv_data, v.mv_size, m);
        mdb_txn_abort(txn);
        return r;
}

int snap_open(const char *path, MDB_env **ret_env, MDB_dbi *ret_dbi,
              struct snap_meta *ret_meta, struct stat *ret_st)
{
        struct snap_meta m;
        struct stat st;
        MDB_env *env;
        MDB_dbi dbi;
        int fd, r;

        /* LMDB would block on a FIFO, or try to create a database in an
         * empty file. */
        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size == 0)
                return -EBADMSG;
        if (mdb_env_create(&env) != 0)
                return -ENOMEM;
        r = mdb_env_open(env, path, MDB_RDONLY | MDB_NOLOCK | MDB_NOSUBDIR |
                         MDB_NOTLS, 0);
        if (r != 0) {
                mdb_env_close(env);
                return r == ENOENT ? -ENOENT : -EBADMSG;
        }
        /* LMDB opens its data file without O_CLOEXEC. */
        if (mdb_env_get_fd(env, &fd) != 0 ||
            fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || fstat(fd, &st) < 0)
                r = -EBADF;
        else
                r = snap_validate(env, &st, &dbi, &m);
        if (r < 0) {
                mdb_env_close(env);
                return r;
        }
        *ret_env = env;
        *ret_dbi = dbi;
        *ret_meta = m;
        *ret_st = st;
        return 0;
}

bool snap_file_trusted(const struct stat *st)
{
        unsigned long inside, outside, count;
        bool initial = false;
        FILE *f;

        if (!S_ISREG(st->st_mode) || (st->st_mode & 022))
                return false;
        if (st->st_uid == 0)
                return true;
        if (st->st_uid != 65534)
                return false;
        f = fopen("/proc/self/uid_map", "re");
        if (!f)
                return false;
        if (fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3)
                initial = inside == 0 && outside == 0 &&
                          count == 4294967295ul;
        fclose(f);
        return !initial;
}

const uint64_t *snap_gen_map(const char *path)
{
        struct stat st;
        void *p = MAP_FAILED;
        int fd;

        /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
                  O_NOCTTY);
        if (fd < 0)
                return NULL;
        if (fstat(fd, &st) == 0 && snap_file_trusted(&st) &&
            st.st_size >= (off_t) sizeof(uint64_t))
                p = mmap(NULL, sizeof(uint64_t), PROT_READ, MAP_SHARED, fd,
                         0);
        close(fd);
        return p == MAP_FAILED ? NULL : p;
}

/* Writes @g into a new generation file and renames it over @path: for a
 * file at @path that is not a regular file of ours, which readers refuse
 * to map and whose owner may still hold it open for writing. */
static int gen_replace(const char *path, uint64_t g)
{
        char tmp[4096];
        int fd, r = 0;

        if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int) sizeof(tmp))
                return -ENAMETOOLONG;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, 0644) < 0 || ftruncate(fd, SNAP_GEN_SIZE) < 0)
                r = -errno;
        else if (pwrite(fd, &g, sizeof(g), 0) != (ssize_t) sizeof(g))
                r = -EIO;
        close(fd);
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}

int snap_gen_bump(const char *path)
{
        uint64_t g = 0;
        struct stat st;
        ssize_t n;
        int fd, r = 0;

        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
                  O_NONBLOCK | O_NOCTTY, 0644);
        if (fd < 0 && errno != ELOOP)
                return -errno;
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
            st.st_uid != geteuid()) {
                /* A symbolic link, a FIFO, somebody else's file. */
                if (fd >= 0 &&
                    pread(fd, &g, sizeof(g), 0) != (ssize_t) sizeof(g))
                        g = 0;
                if (fd >= 0)
                        close(fd);
                return gen_replace(path, g + 1);
        }
        if (st.st_size < SNAP_GEN_SIZE && ftruncate(fd, SNAP_GEN_SIZE) < 0)
                r = -errno;
        else if ((st.st_mode & 07777) != 0644 && fchmod(fd, 0644) < 0)
                r = -errno;
        if (r == 0) {
                n = pread(fd, &g, sizeof(g), 0);
                if (n != (ssize_t) sizeof(g))
                        g = 0;
                g++;
                n = pwrite(fd, &g, sizeof(g), 0);
                if (n != (ssize_t) sizeof(g))
                        r = n < 0 ? -errno : -EIO;
        }
        close(fd);
        return r;
}
