/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "store-internal.h"

#define STATE_DIR_DEFAULT LOCALSTATEDIR "/lib/dynid"
#define DB_VERSION        1u

int mdb_to_errno(int rc)
{
        switch (rc) {
        case MDB_SUCCESS:
                return 0;
        case MDB_NOTFOUND:
                return -ENOENT;
        case MDB_KEYEXIST:
                return -EEXIST;
        case MDB_MAP_FULL:
        case MDB_TXN_FULL:
        case MDB_DBS_FULL:
                return -ENOSPC;
        case MDB_MAP_RESIZED:
                return -EAGAIN;
        default:
                /* MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID, ... */
                return rc > 0 ? -rc : -EIO;
        }
}

static char *path_join(const char *a, const char *b)
{
        char *p;

        if (asprintf(&p, "%s/%s", a, b) < 0)
                return NULL;
        return p;
}

/* Creates @path with exactly @mode, whatever the umask; fine if it exists. */
static int make_dir(const char *path, mode_t mode)
{
        if (mkdir(path, mode) < 0)
                return errno == EEXIST ? 0 : -errno;
        return chmod(path, mode) < 0 ? -errno : 0;
}

/* The database directory must be ours and private: it holds the lock file
 * that every LMDB reader writes to. */
static int open_db_dir(struct dynid_store *s, struct dynid_err *err)
{
        struct stat st;
        int r;

        if (!s->read_only) {
                r = make_dir(s->state_dir, 0755);
                if (r >= 0)
                        r = make_dir(s->db_path, 0700);
                if (r < 0) {
                        errno = -r;
                        goto fail;
                }
        }
        s->db_fd = open(s->db_path,
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s->db_fd < 0 && errno == ENOENT && s->read_only) {
                /* A fresh host: reading means an empty store, which
                 * creating it (and an empty snapshot) gives. */
                s->read_only = false;
                return open_db_dir(s, err);
        }
        if (s->db_fd < 0)
                goto fail;
        if (fstat(s->db_fd, &st) < 0)
                goto fail;
        if (st.st_uid != geteuid() || (st.st_mode & 07777) != 0700) {
                set_errf(err, "%s: must be a directory owned by uid %u "
                         "with mode 0700", s->db_path, (unsigned) geteuid());
                return -EPERM;
        }
        /* Whoever may write the state directory may swap the snapshot:
         * refuse to publish into it. */
        if (!s->read_only && stat(s->state_dir, &st) >= 0 &&
            (st.st_uid != geteuid() || (st.st_mode & 022))) {
                set_errf(err, "%s: must be owned by uid %u and not writable "
                         "by group or others", s->state_dir,
                         (unsigned) geteuid());
                return -EPERM;
        }
        return 0;
fail:
        set_errf(err, "%s: %s", s->db_path, strerror(errno));
        return -errno;
}

/*
 * A new, empty database next to a snapshot that still lists leases means
 * the database was lost: publishing would silently drop every lease.
 */
static int refuse_lost_database(struct dynid_store *s, struct dynid_err *err)
{
        struct snap_meta m;
        int r;

        r = snapshot_read_meta(s->snapshot_path, &m);
        if (r == -ENOENT || (r >= 0 && m.count == 0))
                return 0;
        if (r >= 0)
                set_errf(err, "%s is empty but %s lists %u lease(s): restore "
                         "the database from a backup, or remove the snapshot "
                         "to start with no lease", s->db_path,
                         s->snapshot_path, m.count);
        else
                set_errf(err, "%s is empty and %s cannot be read: restore "
                         "the database from a backup, or remove the snapshot "
                         "to start with no lease", s->db_path,
                         s->snapshot_path);
        return -EEXIST;
}

/*
 * A database file that is missing or empty is one LMDB would start afresh
 * (an empty file: cut short by a crash of the filesystem, or a careless
 * restore). Refused before LMDB creates anything when the snapshot still
 * lists leases; otherwise a store to create, which a reader opens as a
 * writer, as on a fresh host.
 */
static int check_fresh(struct dynid_store *s, struct dynid_err *err)
{
        struct stat st;
        int r;

        if (fstatat(s->db_fd, "data.mdb", &st, AT_SYMLINK_NOFOLLOW) >= 0 &&
            st.st_size > 0)
                return 0;
        r = refuse_lost_database(s, err);
        if (r < 0 || !s->read_only)
                return r;
        close(s->db_fd);
        s->db_fd = -1;
        s->read_only = false;
        return open_db_dir(s, err);
}

static int open_dbis(struct dynid_store *s, struct dynid_err *err)
{
        unsigned fl = s->read_only ? 0 : MDB_CREATE;
        uint64_t version = 0, bs = 0;
        MDB_txn *txn;
        int r;

        r = mdb_to_errno(mdb_txn_begin(s->env, NULL,
                                       s->read_only ? MDB_RDONLY : 0, &txn));
        if (r < 0)
                return r;

        r = mdb_to_errno(mdb_dbi_open(txn, "lease", fl, &s->dbi_lease));
        if (r >= 0)
                r = mdb_to_errno(mdb_dbi_open(txn, "block",
                                              fl | MDB_INTEGERKEY,
                                              &s->dbi_block));
        if (r >= 0)
                r = mdb_to_errno(mdb_dbi_open(txn, "meta", fl, &s->dbi_meta));
        if (r >= 0)
                r = mdb_to_errno(mdb_dbi_open(txn, "session",
                                              fl | MDB_INTEGERKEY,
                                              &s->dbi_session));
        if (r == -ENOENT && s->read_only) {
                set_errf(err, "%s: no lease database yet", s->db_path);
                goto abort;
        }
        if (r < 0)
                goto abort;

        r = meta_get_u64(s, txn, "version", &version);
        if (r == -ENOENT && !s->read_only) {
                r = refuse_lost_database(s, err);
                version = DB_VERSION;
                if (r >= 0)
                        r = meta_put_u64(s, txn, "version", version);
        }
        if (r < 0)
                goto abort;
        if (version != DB_VERSION) {
                set_errf(err, "%s: database format %llu, expected %u",
                         s->db_path, (unsigned long long) version, DB_VERSION);
                r = -EINVAL;
                goto abort;
        }

        r = meta_get_u64(s, txn, "block_size", &bs);
        if (r == -ENOENT)
                r = 0;
        if (r < 0)
                goto abort;
        if (bs != 0 && bs != s->cfg.block_size) {
                MDB_stat mst;

                r = mdb_to_errno(mdb_stat(txn, s->dbi_lease, &mst));
                if (r < 0)
                        goto abort;
                if (mst.ms_entries > 0) {
                        set_errf(err, "block_size %u differs from %llu used "
                                 "by the existing leases", s->cfg.block_size,
                                 (unsigned long long) bs);
                        r = -EINVAL;
                        goto abort;
                }
        }
        if (!s->read_only && bs != s->cfg.block_size) {
                r = meta_put_u64(s, txn, "block_size", s->cfg.block_size);
                if (r < 0)
                        goto abort;
        }

        /* Even a read-only transaction must commit: handles opened in an
         * aborted one are closed with it. */
        return mdb_to_errno(mdb_txn_commit(txn));
abort:
        mdb_txn_abort(txn);
        return r;
}

static int open_env(struct dynid_store *s, size_t map_size,
                    struct dynid_err *err)
{
        unsigned fl = MDB_NOTLS | (s->read_only ? MDB_RDONLY : 0);
        int fd, r;

        r = mdb_to_errno(mdb_env_create(&s->env));
        if (r < 0)
                return r;
        r = mdb_to_errno(mdb_env_set_maxdbs(s->env, 8));
        if (r >= 0)
                r = mdb_to_errno(mdb_env_set_mapsize(s->env, map_size));
        if (r >= 0)
                r = mdb_to_errno(mdb_env_open(s->env, s->db_path, fl, 0600));
        if (r >= 0 && (mdb_env_get_fd(s->env, &fd) != 0 || fd <= 2)) {
                /* Whatever the caller prints to stderr would land in the
                 * database. */
                set_errf(err, "%s: standard input, output and error must be "
                         "open", s->db_path);
                return -EBADF;
        }
        if (r < 0) {
                set_errf(err, "%s: %s", s->db_path,
                         r == -EIO ? "damaged database" : strerror(-r));
                return r;
        }
        return 0;
}

/* Where LMDB mapped the database file: mdb_env_info() reports the address
 * the file was created for, not the map's. */
static int find_map(const struct dynid_store *s, uintptr_t *ret_start,
                    uintptr_t *ret_end)
{
        unsigned long long start, end, ino;
        unsigned maj, min;
        char line[512];
        struct stat st;
        int fd, r = -ENOENT;
        FILE *f;

        if (mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &st) < 0)
                return -EBADF;
        f = fopen("/proc/self/maps", "re");
        if (!f)
                return -errno;
        while (r < 0 && fgets(line, sizeof(line), f))
                if (sscanf(line, "%llx-%llx %*s %*s %x:%x %llu", &start,
                           &end, &maj, &min, &ino) == 5 &&
                    ino == st.st_ino && maj == major(st.st_dev) &&
                    min == minor(st.st_dev)) {
                        *ret_start = start;
                        *ret_end = end;
                        r = 0;
                }
        fclose(f);
        return r;
}

static int copy_config(struct dynid_config *dst, const struct dynid_config *src)
{
        *dst = *src;
        dst->home = strdup(src->home);
        dst->shell = strdup(src->shell);
        if (!dst->home || !dst->shell) {
                dynid_config_free(dst);
                return -ENOMEM;
        }
        return 0;
}

static bool snapshot_current(struct dynid_store *s)
{
        struct snap_meta m;
        uint64_t g = 0;
        MDB_txn *txn;
        int r;

        if (snapshot_read_meta(s->snapshot_path, &m) < 0)
                return false;
        r = read_begin(s, &txn);
        if (r < 0)
                return false;
        r = meta_get_u64(s, txn, "generation", &g);
        mdb_txn_abort(txn);
        return r >= 0 && g == m.generation;
}

int dynid_store_open(const struct dynid_config *cfg,
                     const struct dynid_store_opts *opts,
                     struct dynid_store **ret, struct dynid_err *err)
{
        const char *state = opts->state_dir ?: STATE_DIR_DEFAULT;
        struct dynid_store *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->db_fd = -1;
        s->no_nss = opts->no_nss;
        s->nss_more = -1;
        s->read_only = opts->read_only;
        s->state_dir = strdup(state);
        s->etc_dir = strdup(opts->etc_dir ?: "/etc");
        s->db_path = path_join(state, "db");
        s->snapshot_path = path_join(state, "nss.mdb");
        s->gen_path = path_join(state, "nss.gen");
        if (!s->state_dir || !s->etc_dir || !s->db_path || !s->snapshot_path ||
            !s->gen_path) {
                r = -ENOMEM;
                goto fail;
        }
        r = copy_config(&s->cfg, cfg);
        if (r < 0)
                goto fail;

        r = open_db_dir(s, err);
        if (r >= 0)
                r = check_fresh(s, err);
        if (r < 0)
                goto fail;
        r = open_env(s, opts->map_size ?: (size_t) cfg->map_size_mib << 20,
                     err);
        if (r < 0)
                goto fail;
        if (opts->mapped) {
                uintptr_t start = 0, end = 0;

                if (find_map(s, &start, &end) >= 0)
                        opts->mapped(s->db_path, (const void *) start,
                                     end - start);
        }
        r = open_dbis(s, err);
        if (r < 0)
                goto fail;
        /* A snapshot that is missing, unreadable or behind the database
         * (a writer killed between commit and rename) is published anew. */
        if (!s->read_only && !snapshot_current(s)) {
                r = dynid_publish(s);
                if (r < 0) {
                        set_errf(err, "%s: %s", s->snapshot_path,
                                 strerror(-r));
                        goto fail;
                }
        }

        *ret = s;
        return 0;
fail:
        if (r == -EIO || r == -ENOSPC)
                set_errf(err, "%s: %s", s->db_path ?: state,
                         r == -EIO ? "damaged database" : strerror(-r));
        dynid_store_close(s);
        return r;
}

void dynid_store_close(struct dynid_store *s)
{
        if (!s)
                return;
        if (s->env)
                mdb_env_close(s->env);
        if (s->db_fd >= 0)
                close(s->db_fd);
        dynid_config_free(&s->cfg);
        name_sets_free(s);
        free(s->state_dir);
        free(s->etc_dir);
        free(s->db_path);
        free(s->snapshot_path);
        free(s->gen_path);
        free(s);
}

const char *dynid_store_db_path(const struct dynid_store *s)
{
        return s->db_path;
}

const char *dynid_store_snapshot_path(const struct dynid_store *s)
{
        return s->snapshot_path;
}

int read_begin(struct dynid_store *s, MDB_txn **ret)
{
        return mdb_to_errno(mdb_txn_begin(s->env, NULL, MDB_RDONLY, ret));
}

int write_begin(struct dynid_store *s, MDB_txn **ret)
{
        int r;

        s->failed_path = NULL;
        s->committed = false;
        if (s->read_only)
                return -EROFS;
        /* Held until write_end(): snapshots must be renamed in commit
         * order, and LMDB's own writer lock ends with the commit. */
        if (flock(s->db_fd, LOCK_EX) < 0)
                return -errno;
        snapshot_sweep(s);
        r = mdb_to_errno(mdb_txn_begin(s->env, NULL, 0, ret));
        if (r < 0)
                flock(s->db_fd, LOCK_UN);
        return r;
}

static int bump_generation(struct dynid_store *s, MDB_txn *txn)
{
        uint64_t g = 0;
        int r;

        r = meta_get_u64(s, txn, "generation", &g);
        if (r < 0 && r != -ENOENT)
                return r;
        return meta_put_u64(s, txn, "generation", g + 1);
}

const char *dynid_store_failed_path(const struct dynid_store *s)
{
        return s->failed_path;
}

int write_end(struct dynid_store *s, MDB_txn *txn, int r)
{
        char *tmp = NULL;

        if (r >= 0)
                r = bump_generation(s, txn);
        if (r >= 0)
                r = snapshot_prepare(s, txn, &tmp);
        if (r >= 0) {
                int c = mdb_to_errno(mdb_txn_commit(txn));

                if (c < 0)
                        r = c;
                else
                        s->committed = true;
        } else {
                mdb_txn_abort(txn);
        }
        if (r >= 0) {
                int c = snapshot_commit(s, tmp);

                if (c < 0)
                        r = c;
        } else if (tmp) {
                snapshot_discard(tmp);
        }
        free(tmp);
        flock(s->db_fd, LOCK_UN);
        return r;
}

int write_end_private(struct dynid_store *s, MDB_txn *txn, int r)
{
        if (r >= 0) {
                /* The data pages reach the disk before the commit returns;
                 * the meta page may follow later. */
                mdb_env_set_flags(s->env, MDB_NOMETASYNC, 1);
                r = mdb_to_errno(mdb_txn_commit(txn));
                mdb_env_set_flags(s->env, MDB_NOMETASYNC, 0);
        } else {
                mdb_txn_abort(txn);
        }
        flock(s->db_fd, LOCK_UN);
        return r;
}

int db_get_fixed(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
                 void *ret, size_t size)
{
        MDB_val k = { klen, (void *) key }, v;
        int r;

        r = mdb_to_errno(mdb_get(txn, dbi, &k, &v));
        if (r < 0)
                return r;
        if (v.mv_size != size)
                return -EIO;
        memcpy(ret, v.mv_data, size);
        return 0;
}

int meta_get_u64(struct dynid_store *s, MDB_txn *txn, const char *key,
                 uint64_t *ret)
{
        return db_get_fixed(txn, s->dbi_meta, key, strlen(key), ret,
                            sizeof(*ret));
}

int meta_put_u64(struct dynid_store *s, MDB_txn *txn, const char *key,
                 uint64_t val)
{
        MDB_val k = { strlen(key), (void *) key };
        MDB_val v = { sizeof(val), &val };

        return mdb_to_errno(mdb_put(txn, s->dbi_meta, &k, &v, 0));
}

int lease_get(struct dynid_store *s, MDB_txn *txn, const char *name,
              struct lease_val *ret)
{
        return db_get_fixed(txn, s->dbi_lease, name, strlen(name), ret,
                            sizeof(*ret));
}

int lease_get_val(struct dynid_store *s, MDB_txn *txn, const MDB_val *name,
                  char buf[DYNID_NAME_MAX + 1], struct lease_val *ret)
{
        int r;

        if (name->mv_size == 0 || name->mv_size > DYNID_NAME_MAX)
                return -EIO;
        memcpy(buf, name->mv_data, name->mv_size);
        buf[name->mv_size] = 0;
        r = lease_get(s, txn, buf, ret);
        return r == -ENOENT ? -EIO : r;
}

void lease_fill(const char *name, size_t len, const struct lease_val *v,
                struct dynid_lease *ret)
{
        *ret = (struct dynid_lease) {
                .base = v->base,
                .size = v->size,
                .created = v->created,
                .last_used = v->last_used,
        };
        if (len > DYNID_NAME_MAX)
                len = DYNID_NAME_MAX;
        memcpy(ret->name, name, len);
        ret->name[len] = 0;
}

int dynid_lease_find(struct dynid_store *s, const char *name,
                     struct dynid_lease *ret)
{
        struct lease_val v;
        MDB_txn *txn;
        int r;

        if (dynid_name_check(name, NULL) < 0)
                return -ENOENT;
        r = read_begin(s, &txn);
        if (r < 0)
                return r;
        r = lease_get(s, txn, name, &v);
        if (r >= 0) {
                lease_fill(name, strlen(name), &v, ret);
                r = session_count(s, txn, name, &ret->sessions);
        }
        mdb_txn_abort(txn);
        return r < 0 ? r : 0;
}

int dynid_lease_find_id(struct dynid_store *s, uint32_t id,
                        struct dynid_lease *ret)
{
        MDB_val k = { sizeof(id), &id }, v;
        char name[DYNID_NAME_MAX + 1];
        struct lease_val lv;
        uint32_t found;
        MDB_cursor *c;
        MDB_txn *txn;
        int r;

        r = read_begin(s, &txn);
        if (r < 0)
                return r;
        r = mdb_to_errno(mdb_cursor_open(txn, s->dbi_block, &c));
        if (r < 0)
                goto out;

        /* The block holding @id is the one with the largest base <= id. */
        r = mdb_to_errno(mdb_cursor_get(c, &k, &v, MDB_SET_RANGE));
        if (r >= 0)
                memcpy(&found, k.mv_data, sizeof(found));
        if (r == -ENOENT || (r >= 0 && found != id))
                r = mdb_to_errno(mdb_cursor_get(c, &k, &v,
                                                r == -ENOENT ? MDB_LAST
                                                             : MDB_PREV));
        mdb_cursor_close(c);
        if (r >= 0)
                r = lease_get_val(s, txn, &v, name, &lv);
        if (r >= 0 && (id < lv.base || id - lv.base >= lv.size))
                r = -ENOENT;
        if (r >= 0) {
                lease_fill(name, v.mv_size, &lv, ret);
                r = session_count(s, txn, name, &ret->sessions);
        }
out:
        mdb_txn_abort(txn);
        return r < 0 ? r : 0;
}

int lease_list_txn(struct dynid_store *s, MDB_txn *txn,
                   struct dynid_lease **ret, size_t *n)
{
        struct dynid_lease *list = NULL;
        MDB_val k, v;
        MDB_cursor *c;
        size_t count = 0;
        int r, op;

        r = mdb_to_errno(mdb_cursor_open(txn, s->dbi_block, &c));
        if (r < 0)
                return r;
        for (op = MDB_FIRST;; op = MDB_NEXT) {
                struct dynid_lease *nl;
                struct lease_val lv;
                char name[DYNID_NAME_MAX + 1];

                r = mdb_to_errno(mdb_cursor_get(c, &k, &v, op));
                if (r == -ENOENT) {
                        r = 0;
                        break;
                }
                if (r >= 0)
                        r = lease_get_val(s, txn, &v, name, &lv);
                if (r < 0)
                        break;
                nl = reallocarray(list, count + 1, sizeof(*list));
                if (!nl) {
                        r = -ENOMEM;
                        break;
                }
                list = nl;
                lease_fill(name, v.mv_size, &lv, &list[count]);
                r = session_count(s, txn, name, &list[count++].sessions);
                if (r < 0)
                        break;
        }
        mdb_cursor_close(c);
        if (r < 0) {
                free(list);
                return r;
        }
        *ret = list;
        *n = count;
        return 0;
}

int dynid_lease_list(struct dynid_store *s, struct dynid_lease **ret,
                     size_t *n)
{
        MDB_txn *txn;
        int r;

        r = read_begin(s, &txn);
        if (r < 0)
                return r;
        r = lease_list_txn(s, txn, ret, n);
        mdb_txn_abort(txn);
        return r;
}

static int64_t mtime_of(const char *path)
{
        struct stat st;

        if (stat(path, &st) < 0)
                return -1;
        return st.st_mtime;
}

int dynid_store_status(struct dynid_store *s, struct dynid_status *ret)
{
        struct dynid_status st = {
                .slots = dynid_pool_slots(&s->cfg),
                .snapshot_mtime = mtime_of(s->snapshot_path),
        };
        char *data = path_join(s->db_path, "data.mdb");
        struct snap_meta m;
        MDB_stat mst;
        MDB_txn *txn;
        int r;

        if (!data)
                return -ENOMEM;
        st.db_mtime = mtime_of(data);
        free(data);

        r = read_begin(s, &txn);
        if (r < 0)
                return r;
        r = mdb_to_errno(mdb_stat(txn, s->dbi_lease, &mst));
        if (r >= 0) {
                st.used = mst.ms_entries;
                r = meta_get_u64(s, txn, "generation", &st.generation);
                if (r == -ENOENT)
                        r = 0;
        }
        mdb_txn_abort(txn);
        if (r < 0)
                return r;

        if (snapshot_read_meta(s->snapshot_path, &m) >= 0)
                st.snapshot_generation = m.generation;
        *ret = st;
        return 0;
}
