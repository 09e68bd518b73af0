/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-internal.h"

struct checker {
        struct dynid_store *s;
        dynid_report_fn report;
        void *userdata;
        int problems;
        bool stop;
};

static void problem(struct checker *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void problem(struct checker *c, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        c->problems++;
        if (c->stop)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (c->report && c->report(msg, c->userdata) != 0)
                c->stop = true;
}

/* Each lease: a valid name, a whole aligned block inside the pool, and a
 * block index entry that points back at it. */
static void check_lease(struct checker *c, MDB_txn *txn,
                        const struct dynid_lease *l)
{
        struct dynid_store *s = c->s;
        uint32_t base = l->base;
        MDB_val k = { sizeof(base), &base }, v;
        struct dynid_err err;

        if (dynid_name_check(l->name, &err) < 0)
                problem(c, "lease '%s': %s", l->name, err.msg);
        if (l->size != s->cfg.block_size || base % s->cfg.block_size != 0)
                problem(c, "lease '%s': block %u+%u is not an aligned block "
                        "of %u IDs", l->name, base, l->size,
                        s->cfg.block_size);
        if (!pool_contains(&s->cfg, base) ||
            !pool_contains(&s->cfg, base + (l->size - 1)))
                problem(c, "lease '%s': block %u-%u lies outside the pool "
                        "%u-%u", l->name, base, base + (l->size - 1),
                        s->cfg.pool_first, s->cfg.pool_last);
        if (mdb_get(txn, s->dbi_block, &k, &v) != MDB_SUCCESS ||
            v.mv_size != strlen(l->name) ||
            memcmp(v.mv_data, l->name, v.mv_size) != 0)
                problem(c, "lease '%s': the index by ID does not point to "
                        "it", l->name);
}

static int check_indexes(struct checker *c, struct dynid_lease *list,
                         size_t n)
{
        struct dynid_store *s = c->s;
        MDB_stat bst, lst;
        MDB_txn *txn;
        int r;

        r = read_begin(s, &txn);
        if (r < 0)
                return r;
        r = mdb_to_errno(mdb_stat(txn, s->dbi_block, &bst));
        if (r >= 0)
                r = mdb_to_errno(mdb_stat(txn, s->dbi_lease, &lst));
        if (r < 0)
                goto out;
        if (bst.ms_entries != lst.ms_entries || lst.ms_entries != n)
                problem(c, "the indexes disagree: %zu leases by name, "
                        "%zu by ID", (size_t) lst.ms_entries,
                        (size_t) bst.ms_entries);

        /* The list is ordered by base. */
        for (size_t i = 0; i < n; i++) {
                check_lease(c, txn, &list[i]);
                if (i > 0 && (uint64_t) list[i - 1].base +
                             list[i - 1].size > list[i].base)
                        problem(c, "leases '%s' and '%s' overlap",
                                list[i - 1].name, list[i].name);
        }
out:
        mdb_txn_abort(txn);
        return r;
}

static bool record_equal(const struct snap_record *a,
                         const struct snap_record *b)
{
        return a->base == b->base && a->size == b->size &&
               strcmp(a->name, b->name) == 0 &&
               strcmp(a->gecos, b->gecos) == 0 &&
               strcmp(a->dir, b->dir) == 0 &&
               strcmp(a->shell, b->shell) == 0;
}

/* Looks up @key in the snapshot and compares with what @l should give. */
static void check_entry(struct checker *c, MDB_txn *txn, MDB_dbi dbi,
                        const void *key, size_t klen,
                        const struct dynid_lease *l, const char *how)
{
        MDB_val k = { klen, (void *) key }, v;
        struct lease_val lv = { .base = l->base, .size = l->size };
        struct snap_record want, got;
        char buf[4096];

        if (mdb_get(txn, dbi, &k, &v) != MDB_SUCCESS) {
                problem(c, "snapshot: lease '%s' is missing (by %s)",
                        l->name, how);
                return;
        }
        if (snapshot_record(c->s, l->name, &lv, buf, sizeof(buf), &want) < 0 ||
            snap_record_decode(v.mv_data, v.mv_size, &got) < 0 ||
            got.base != want.base || got.size != want.size ||
            strcmp(got.name, want.name) != 0)
                problem(c, "snapshot: lease '%s' differs from the database "
                        "(by %s)", l->name, how);
        else if (!record_equal(&want, &got))
                /* The same lease: dynid.conf changed since the last publish. */
                problem(c, "snapshot: lease '%s' has the home or shell of "
                        "another configuration (by %s): the next change "
                        "publishes this one, check --repair does now",
                        l->name, how);
}

static int check_snapshot_content(struct checker *c, MDB_env *env,
                                  uint64_t generation,
                                  struct dynid_lease *list, size_t n)
{
        char mkey = SNAP_KEY_META;
        MDB_val k = { 1, &mkey }, v;
        struct snap_meta m;
        MDB_stat st;
        MDB_txn *txn;
        MDB_dbi dbi;
        int r;

        r = mdb_to_errno(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
        if (r < 0)
                return r;
        r = mdb_to_errno(mdb_dbi_open(txn, NULL, 0, &dbi));
        if (r >= 0)
                r = mdb_to_errno(mdb_stat(txn, dbi, &st));
        if (r >= 0)
                r = mdb_to_errno(mdb_get(txn, dbi, &k, &v));
        if (r >= 0)
                r = snap_meta_decode(v.mv_data, v.mv_size, &m);
        if (r < 0) {
                mdb_txn_abort(txn);
                return r;
        }

        if (m.generation != generation)
                problem(c, "snapshot: generation %llu, the database is at "
                        "%llu", (unsigned long long) m.generation,
                        (unsigned long long) generation);
        if (m.block_size != c->s->cfg.block_size)
                problem(c, "snapshot: block size %u, expected %u",
                        m.block_size, c->s->cfg.block_size);
        if (m.count != n || st.ms_entries != 1 + 2 * (uint64_t) n)
                problem(c, "snapshot: %u leases in %zu entries, the database "
                        "has %zu leases", m.count, (size_t) st.ms_entries, n);
        for (size_t i = 0; i < n; i++) {
                unsigned char key[1 + DYNID_NAME_MAX];
                size_t len = strlen(list[i].name);

                key[0] = SNAP_KEY_NAME;
                memcpy(key + 1, list[i].name, len);
                check_entry(c, txn, dbi, key, 1 + len, &list[i], "name");
                snap_base_key(list[i].base, key);
                check_entry(c, txn, dbi, key, 5, &list[i], "ID");
        }
        mdb_txn_abort(txn);
        return 0;
}

/* @path must be of type @type, owned by us, with exactly @mode. */
static void check_mode(struct checker *c, const char *path,
                       const struct stat *st, mode_t type, mode_t mode)
{
        if ((st->st_mode & S_IFMT) == type && st->st_uid == geteuid() &&
            (st->st_mode & 07777) == mode)
                return;
        problem(c, "%s: must be a %s owned by uid %u with mode %04o", path,
                type == S_IFDIR ? "directory" : "regular file",
                (unsigned) geteuid(), (unsigned) mode);
}

/* STATE/storage is root's and private; each lease's storage a real
 * directory owned by the foreign range (by us when we are not root). */
static void check_storage(struct checker *c, const struct dynid_lease *list,
                          size_t n)
{
        uid_t owner = geteuid() == 0 ? DYNID_FOREIGN_BASE : geteuid();
        char path[4096];
        struct stat st;

        snprintf(path, sizeof(path), "%s/storage", c->s->state_dir);
        if (lstat(path, &st) < 0)
                return;
        check_mode(c, path, &st, S_IFDIR, 0700);
        for (size_t i = 0; i < n; i++) {
                snprintf(path, sizeof(path), "%s/storage/%s", c->s->state_dir,
                         list[i].name);
                if (lstat(path, &st) < 0)
                        continue;       /* made again at the next session */
                if (!S_ISDIR(st.st_mode) || st.st_uid != owner)
                        problem(c, "%s: must be a directory owned by uid %u",
                                path, (unsigned) owner);
        }
}

static void check_files(struct checker *c)
{
        struct dynid_store *s = c->s;
        const char *files[] = { "data.mdb", "lock.mdb" };
        struct stat st;
        char path[4096];

        /* Users must reach the snapshot; nobody else may write here. */
        if (stat(s->state_dir, &st) >= 0)
                check_mode(c, s->state_dir, &st, S_IFDIR, 0755);
        for (size_t i = 0; i < 2; i++) {
                snprintf(path, sizeof(path), "%s/%s", s->db_path, files[i]);
                if (stat(path, &st) >= 0)
                        check_mode(c, path, &st, S_IFREG, 0600);
        }
        /* Made by every publish; readers map it, and without it they
         * look at the snapshot at every lookup. */
        if (lstat(s->gen_path, &st) >= 0) {
                check_mode(c, s->gen_path, &st, S_IFREG, 0644);
                if (S_ISREG(st.st_mode) && st.st_size < SNAP_GEN_SIZE)
                        problem(c, "%s: %lld bytes, not %d, so readers check "
                                "the snapshot at every lookup", s->gen_path,
                                (long long) st.st_size, SNAP_GEN_SIZE);
        } else if (errno == ENOENT && lstat(s->snapshot_path, &st) >= 0)
                problem(c, "%s: missing, so readers check the snapshot at "
                        "every lookup", s->gen_path);
}

static void check_snapshot(struct checker *c, struct dynid_lease *list,
                           size_t n)
{
        struct dynid_store *s = c->s;
        struct dynid_status st;
        struct stat fst;
        MDB_env *env;
        int r;

        if (lstat(s->snapshot_path, &fst) < 0) {
                problem(c, "snapshot %s: %s", s->snapshot_path,
                        strerror(errno));
                return;
        }
        check_mode(c, s->snapshot_path, &fst, S_IFREG, 0644);

        r = dynid_store_status(s, &st);
        if (r >= 0)
                r = snapshot_open(s->snapshot_path, &env);
        if (r >= 0) {
                r = check_snapshot_content(c, env, st.generation, list, n);
                mdb_env_close(env);
        }
        if (r < 0)
                problem(c, "snapshot %s: cannot be read: %s",
                        s->snapshot_path,
                        r == -EBADMSG || r == -EIO || r == -EINVAL
                                ? "damaged" : strerror(-r));
}

static void check_conflicts(struct checker *c, struct dynid_lease *list,
                            size_t n)
{
        struct dynid_store *s = c->s;
        struct dynid_err err;

        if (dynid_pool_conflict(&s->cfg, s->etc_dir, &err) < 0)
                problem(c, "%s", err.msg);
        for (size_t i = 0; i < n; i++) {
                if (name_conflict(s, list[i].name, &err) < 0)
                        problem(c, "lease '%s': %s", list[i].name, err.msg);
                if (base_conflict(s, list[i].base))
                        problem(c, "lease '%s': another source resolves ID "
                                "%u", list[i].name, list[i].base);
        }
}

int dynid_check(struct dynid_store *s, dynid_report_fn report,
                void *userdata)
{
        struct checker c = { s, report, userdata, 0, false };
        struct dynid_lease *list;
        size_t n;
        int r;

        r = dynid_lease_list(s, &list, &n);
        if (r == -EIO) {
                problem(&c, "the indexes disagree or the database is damaged");
                return c.problems;
        }
        if (r < 0)
                return r;

        r = check_indexes(&c, list, n);
        if (r >= 0) {
                check_files(&c);
                check_storage(&c, list, n);
                check_snapshot(&c, list, n);
                check_conflicts(&c, list, n);
        }
        free(list);
        return r < 0 ? r : c.problems;
}
