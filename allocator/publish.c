/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store-internal.h"

int snapshot_record(struct dynid_store *s, const char *name,
                    const struct lease_val *v, char *buf, size_t size,
                    struct snap_record *ret)
{
        size_t glen = sizeof(DYNID_GECOS_PREFIX) + strlen(name);
        int hlen;

        if (glen > size)
                return -ERANGE;
        memcpy(buf, DYNID_GECOS_PREFIX, sizeof(DYNID_GECOS_PREFIX) - 1);
        memcpy(buf + sizeof(DYNID_GECOS_PREFIX) - 1, name, strlen(name) + 1);
        hlen = dynid_config_home(&s->cfg, name, buf + glen, size - glen);
        if (hlen < 0)
                return hlen;

        *ret = (struct snap_record) {
                .base = v->base,
                .size = v->size,
                .name = name,
                .gecos = buf,
                .dir = buf + glen,
                .shell = s->cfg.shell,
        };
        return 0;
}

/* Every record of the snapshot, encoded once, for both of its keys. */
struct built {
        char *data;             /* the encoded records, one after another */
        size_t used, cap;
        struct built_rec {
                uint32_t base;
                uint32_t off;   /* of the record in data */
                uint32_t len;
        } *recs;
        size_t n, ncap;
};

static void built_free(struct built *b)
{
        free(b->data);
        free(b->recs);
}

/* Appends the record of lease @name to @b. */
static int built_add(struct dynid_store *s, struct built *b,
                     const char *name, const struct lease_val *v)
{
        char strings[PATH_MAX + 64];
        struct snap_record sr;
        size_t len;
        int r;

        r = snapshot_record(s, name, v, strings, sizeof(strings), &sr);
        if (r < 0)
                return r;
        len = snap_record_encode(&sr, NULL, 0);
        if (b->used + len > b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 64 * 1024;
                char *d;

                while (cap < b->used + len)
                        cap *= 2;
                if (cap > UINT32_MAX || !(d = realloc(b->data, cap)))
                        return -ENOMEM;
                b->data = d;
                b->cap = cap;
        }
        if (b->n == b->ncap) {
                size_t ncap = b->ncap ? b->ncap * 2 : 1024;
                struct built_rec *nr = reallocarray(b->recs, ncap,
                                                    sizeof(*nr));

                if (!nr)
                        return -ENOMEM;
                b->recs = nr;
                b->ncap = ncap;
        }
        snap_record_encode(&sr, b->data + b->used, len);
        b->recs[b->n++] = (struct built_rec) { v->base, b->used, len };
        b->used += len;
        return 0;
}

static int by_base(const void *a, const void *b)
{
        uint32_t x = ((const struct built_rec *) a)->base;
        uint32_t y = ((const struct built_rec *) b)->base;

        return (x > y) - (x < y);
}

static int append(MDB_cursor *c, const void *key, size_t klen,
                  const void *data, size_t dlen)
{
        MDB_val k = { klen, (void *) key }, v = { dlen, (void *) data };

        return mdb_to_errno(mdb_cursor_put(c, &k, &v, MDB_APPEND));
}

/* Collects the record of every lease, in name order. */
static int collect(struct dynid_store *s, MDB_txn *in, struct built *b)
{
        MDB_cursor *c;
        MDB_val k, v;
        int r, op;

        r = mdb_to_errno(mdb_cursor_open(in, s->dbi_lease, &c));
        if (r < 0)
                return r;
        for (op = MDB_FIRST;; op = MDB_NEXT) {
                char name[DYNID_NAME_MAX + 1];
                struct lease_val lv;

                r = mdb_to_errno(mdb_cursor_get(c, &k, &v, op));
                if (r == -ENOENT) {
                        r = 0;
                        break;
                }
                if (r >= 0 && (k.mv_size == 0 || k.mv_size > DYNID_NAME_MAX ||
                               v.mv_size != sizeof(lv)))
                        r = -EIO;
                if (r < 0)
                        break;
                memcpy(name, k.mv_data, k.mv_size);
                name[k.mv_size] = 0;
                memcpy(&lv, v.mv_data, sizeof(lv));
                r = built_add(s, b, name, &lv);
                if (r < 0)
                        break;
        }
        mdb_cursor_close(c);
        return r;
}

/*
 * Stores each record, encoded once, under "b" + base and under "n" + name.
 * Keys go in in order ("b" keys sort before "n" keys), so that every put
 * is an append. Two leases with one base make an append fail: a damaged
 * database is never published.
 */
static int copy_leases(struct dynid_store *s, MDB_txn *in, MDB_cursor *out,
                       uint32_t *count)
{
        struct built b = { 0 };
        struct built_rec *sorted = NULL;
        int r;

        r = collect(s, in, &b);
        if (r >= 0 && b.n > 0) {
                sorted = malloc(b.n * sizeof(*sorted));
                if (!sorted)
                        r = -ENOMEM;
        }
        if (r >= 0 && sorted) {
                memcpy(sorted, b.recs, b.n * sizeof(*sorted));
                qsort(sorted, b.n, sizeof(*sorted), by_base);
        }
        for (size_t i = 0; r >= 0 && i < b.n; i++) {
                unsigned char key[5];

                snap_base_key(sorted[i].base, key);
                r = append(out, key, sizeof(key), b.data + sorted[i].off,
                           sorted[i].len);
                if (r == -EEXIST)
                        r = -EIO;
        }
        /* In name order already, as the lease index keeps them. */
        for (size_t i = 0; r >= 0 && i < b.n; i++) {
                const char *rec = b.data + b.recs[i].off;
                const char *name = rec + sizeof(struct snap_head);
                unsigned char key[1 + DYNID_NAME_MAX];
                size_t len = strlen(name);

                key[0] = SNAP_KEY_NAME;
                memcpy(key + 1, name, len);
                r = append(out, key, 1 + len, rec, b.recs[i].len);
                if (r == -EEXIST)
                        r = -EIO;
        }
        *count = b.n;
        free(sorted);
        built_free(&b);
        return r;
}

static int fill(struct dynid_store *s, MDB_txn *in, MDB_env *env)
{
        struct snap_meta m = {
                .magic = SNAP_MAGIC,
                .version = SNAP_VERSION,
                .block_size = s->cfg.block_size,
                .published = time(NULL),
        };
        char mkey = SNAP_KEY_META;
        MDB_cursor *c = NULL;
        MDB_txn *out;
        MDB_dbi dbi;
        int r;

        r = meta_get_u64(s, in, "generation", &m.generation);
        if (r < 0 && r != -ENOENT)
                return r;
        r = mdb_to_errno(mdb_txn_begin(env, NULL, 0, &out));
        if (r < 0)
                return r;
        r = mdb_to_errno(mdb_dbi_open(out, NULL, 0, &dbi));
        if (r >= 0)
                r = mdb_to_errno(mdb_cursor_open(out, dbi, &c));
        if (r >= 0)
                r = copy_leases(s, in, c, &m.count);
        if (c)
                mdb_cursor_close(c);
        if (r >= 0) {
                MDB_val k = { 1, &mkey }, v = { sizeof(m), &m };

                /* "M" sorts before "b" and "n": not an append. */
                r = mdb_to_errno(mdb_put(out, dbi, &k, &v, 0));
        }
        if (r < 0) {
                mdb_txn_abort(out);
                return r;
        }
        return mdb_to_errno(mdb_txn_commit(out));
}

/* Writes the snapshot into the empty file @tmp, makes it durable. */
static int write_file(struct dynid_store *s, MDB_txn *in, const char *tmp,
                      size_t map_size)
{
        MDB_env *env;
        int fd, r;

        r = mdb_to_errno(mdb_env_create(&env));
        if (r < 0)
                return r;
        r = mdb_to_errno(mdb_env_set_mapsize(env, map_size));
        if (r >= 0)
                r = mdb_to_errno(mdb_env_open(env, tmp,
                                              MDB_NOSUBDIR | MDB_NOLOCK |
                                              MDB_NOSYNC, 0644));
        if (r >= 0)
                r = fill(s, in, env);
        if (r >= 0)
                r = mdb_to_errno(mdb_env_sync(env, 1));
        if (r >= 0)
                r = mdb_to_errno(mdb_env_get_fd(env, &fd));
        /* mkostemp() made it 0600; readers need 0644 whatever the umask. */
        if (r >= 0 && fchmod(fd, 0644) < 0)
                r = -errno;
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        mdb_env_close(env);
        return r;
}

static int publish_target_ok(struct dynid_store *s, const char *path)
{
        struct stat st;

        if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
                return 0;
        s->failed_path = path;
        return -EISDIR;
}

int snapshot_prepare(struct dynid_store *s, MDB_txn *txn, char **ret_tmp)
{
        size_t map_size = 1u << 20;
        MDB_stat mst;
        char *tmp;
        int r;

        r = mdb_to_errno(mdb_stat(txn, s->dbi_lease, &mst));
        if (r < 0)
                return r;
        map_size += mst.ms_entries * 1024;
        /* A directory where the snapshot or the generation file belongs
         * cannot be replaced: refuse before anything is committed. */
        r = publish_target_ok(s, s->snapshot_path);
        if (r >= 0)
                r = publish_target_ok(s, s->gen_path);
        if (r < 0)
                return r;

        if (asprintf(&tmp, "%s/.nss.mdb.XXXXXX", s->state_dir) < 0)
                return -ENOMEM;
        for (;;) {
                int fd = mkostemp(tmp, O_CLOEXEC);

                if (fd < 0) {
                        r = -errno;
                        break;
                }
                close(fd);
                r = write_file(s, txn, tmp, map_size);
                if (r != -ENOSPC || map_size > (SIZE_MAX >> 2))
                        break;
                /* Our estimate was short: start again, twice as large. */
                unlink(tmp);
                strcpy(tmp + strlen(tmp) - 6, "XXXXXX");
                map_size *= 2;
        }
        if (r < 0) {
                snapshot_discard(tmp);
                free(tmp);
                return r;
        }
        *ret_tmp = tmp;
        return 0;
}

void snapshot_sweep(struct dynid_store *s)
{
        struct dirent *de;
        DIR *d;

        d = opendir(s->state_dir);
        if (!d)
                return;
        while ((de = readdir(d)))
                if (strncmp(de->d_name, ".nss.mdb.", 9) == 0)
                        unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
}

void snapshot_discard(const char *tmp)
{
        if (strstr(tmp, "XXXXXX") == NULL)
                unlink(tmp);
}

int snapshot_commit(struct dynid_store *s, const char *tmp)
{
        int dfd, r = 0;

        if (rename(tmp, s->snapshot_path) < 0) {
                r = -errno;
                unlink(tmp);
                s->failed_path = s->snapshot_path;
                return r;
        }
        dfd = open(s->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0) {
                r = -errno;
                s->failed_path = s->state_dir;
        }
        if (dfd >= 0)
                close(dfd);
        /* Now running readers look at the new file. */
        if (r >= 0) {
                r = snap_gen_bump(s->gen_path);
                if (r < 0)
                        s->failed_path = s->gen_path;
        }
        return r;
}

int dynid_publish(struct dynid_store *s)
{
        MDB_txn *txn;
        int r;

        r = write_begin(s, &txn);
        if (r < 0)
                return r;
        return write_end(s, txn, 0);
}

int snapshot_open(const char *path, MDB_env **ret)
{
        struct snap_meta m;
        struct stat st;
        MDB_dbi dbi;

        return snap_open(path, ret, &dbi, &m, &st);
}

int snapshot_read_meta(const char *path, struct snap_meta *ret)
{
        struct stat st;
        MDB_env *env;
        MDB_dbi dbi;
        int r;

        r = snap_open(path, &env, &dbi, ret, &st);
        if (r >= 0)
                mdb_env_close(env);
        return r;
}
