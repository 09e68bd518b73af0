/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store-internal.h"

static bool slot_used(struct dynid_store *s, MDB_txn *txn, uint32_t base)
{
        MDB_val k = { sizeof(base), &base }, v;

        return mdb_get(txn, s->dbi_block, &k, &v) != MDB_NOTFOUND;
}

/*
 * The name's preferred slot is its hash over the pool's slots; when that is
 * taken, the next free one, wrapping around. A slot whose base another
 * source already resolves is passed over.
 */
static int place(struct dynid_store *s, MDB_txn *txn, const char *name,
                 uint32_t *ret, struct dynid_err *err)
{
        uint32_t slots = dynid_pool_slots(&s->cfg);
        uint32_t first;

        if (slots == 0) {
                set_errf(err, "the pool %u-%u holds no whole block of %u IDs",
                         s->cfg.pool_first, s->cfg.pool_last,
                         s->cfg.block_size);
                return -ENOSPC;
        }
        first = dynid_hash(name) % slots;
        for (uint32_t i = 0; i < slots; i++) {
                uint32_t base = dynid_pool_slot_base(&s->cfg,
                                                     (first + i) % slots);

                if (slot_used(s, txn, base) || base_conflict(s, base))
                        continue;
                *ret = base;
                return 0;
        }
        set_errf(err, "cannot lease '%s': the pool is exhausted "
                 "(all %u blocks are taken)", name, slots);
        return -ENOSPC;
}

static int add_one(struct dynid_store *s, MDB_txn *txn, const char *name,
                   uint64_t now, struct dynid_lease *out,
                   struct dynid_err *err)
{
        struct dynid_err why = { "" };
        struct lease_val lv;
        MDB_val k, v;
        int r;

        r = lease_get(s, txn, name, &lv);
        if (r >= 0) {
                if (out)
                        lease_fill(name, strlen(name), &lv, out);
                return 0;
        }
        if (r != -ENOENT)
                return r;

        r = name_conflict(s, name, &why);
        if (r == -EINVAL)
                set_errf(err, "cannot lease '%s': %s", name, why.msg);
        if (r < 0)
                return r;
        lv = (struct lease_val) {
                .size = s->cfg.block_size,
                .created = now,
                .last_used = now,
        };
        r = place(s, txn, name, &lv.base, err);
        if (r < 0)
                return r;
        r = dynid_storage_create(s, name);
        if (r < 0) {
                set_errf(err, "cannot create the storage of '%s': %s", name,
                         strerror(-r));
                return r;
        }

        k = (MDB_val) { strlen(name), (void *) name };
        v = (MDB_val) { sizeof(lv), &lv };
        r = mdb_to_errno(mdb_put(txn, s->dbi_lease, &k, &v, MDB_NOOVERWRITE));
        if (r >= 0) {
                MDB_val bk = { sizeof(lv.base), &lv.base };

                r = mdb_to_errno(mdb_put(txn, s->dbi_block, &bk, &k,
                                         MDB_NOOVERWRITE));
        }
        if (r < 0)
                return r;
        if (out)
                lease_fill(name, strlen(name), &lv, out);
        return 1;
}

static void set_errno_msg(const struct dynid_store *s, struct dynid_err *err,
                          int r, const char *what)
{
        MDB_envinfo info;

        if (err->msg[0])
                return;
        if (s->committed)
                /* Like a writer killed before its rename: the database has
                 * the change, readers do not yet. */
                set_errf(err, "%s: the change is made, but %s could not be "
                         "written (%s): dynidctl check --repair publishes "
                         "the snapshot again", what,
                         s->failed_path ?: s->snapshot_path, strerror(-r));
        else if (s->failed_path)
                set_errf(err, "%s: %s: %s", what, s->failed_path,
                         strerror(-r));
        else if (r == -ENOSPC && mdb_env_info(s->env, &info) == 0)
                /* The map in force, which a test may have set below the
                 * configured one. */
                set_errf(err, "%s: the lease database is full (its map "
                         "size, %zu %s, is reached): raise [store] map_size "
                         "in dynid.conf", what,
                         info.me_mapsize >= (1u << 20) ?
                         info.me_mapsize >> 20 : info.me_mapsize >> 10,
                         info.me_mapsize >= (1u << 20) ? "MiB" : "KiB");
        else if (r == -EIO)
                set_errf(err, "%s: the lease database is damaged", what);
        else
                set_errf(err, "%s: %s", what, strerror(-r));
}

int dynid_lease_add(struct dynid_store *s, const char *const *names,
                    size_t n, struct dynid_lease *out, struct dynid_err *err)
{
        struct dynid_err dummy;
        uint64_t now = time(NULL);
        MDB_txn *txn;
        int r, added = 0;

        if (!err)
                err = &dummy;
        err->msg[0] = 0;
        for (size_t i = 0; i < n; i++) {
                r = dynid_name_check(names[i], err);
                if (r < 0)
                        return r;
        }
        r = dynid_pool_conflict(&s->cfg, s->etc_dir, err);
        if (r < 0)
                return r;

        r = write_begin(s, &txn);
        if (r < 0) {
                set_errno_msg(s, err, r, "cannot start a write");
                return r;
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = add_one(s, txn, names[i], now, out ? &out[i] : NULL, err);
                if (r > 0)
                        added++;
        }
        r = write_end(s, txn, r);
        if (r < 0) {
                set_errno_msg(s, err, r, "cannot add the leases");
                return r;
        }
        return added;
}

static int remove_one(struct dynid_store *s, MDB_txn *txn, const char *name,
                      bool force, struct dynid_err *err)
{
        MDB_val k = { strlen(name), (void *) name };
        struct lease_val lv;
        MDB_val bk;
        int r;

        r = lease_get(s, txn, name, &lv);
        if (r == -ENOENT) {
                set_errf(err, "'%s' has no lease", name);
                return r;
        }
        if (r < 0)
                return r;
        if (!force) {
                uint32_t n;

                r = session_count(s, txn, name, &n);
                if (r < 0)
                        return r;
                if (n > 0) {
                        set_errf(err, "'%s' has %u live session(s)", name, n);
                        return -EBUSY;
                }
        }

        bk = (MDB_val) { sizeof(lv.base), &lv.base };
        r = mdb_to_errno(mdb_del(txn, s->dbi_block, &bk, NULL));
        if (r >= 0)
                r = mdb_to_errno(mdb_del(txn, s->dbi_lease, &k, NULL));
        return r == -ENOENT ? -EIO : r;
}

int dynid_lease_remove(struct dynid_store *s, const char *const *names,
                       size_t n, bool force, struct dynid_err *err)
{
        struct dynid_err dummy;
        MDB_txn *txn;
        int r;

        if (!err)
                err = &dummy;
        err->msg[0] = 0;
        for (size_t i = 0; i < n; i++)
                if (dynid_name_check(names[i], err) < 0)
                        return -EINVAL;

        r = write_begin(s, &txn);
        if (r < 0) {
                set_errno_msg(s, err, r, "cannot start a write");
                return r;
        }
        for (size_t i = 0; i < n && r >= 0; i++)
                r = remove_one(s, txn, names[i], force, err);
        r = write_end(s, txn, r);
        if (r < 0) {
                set_errno_msg(s, err, r, "cannot remove the leases");
                return r;
        }
        return 0;
}

int dynid_gc(struct dynid_store *s, uint64_t now, bool dry_run,
             dynid_lease_fn report, void *userdata)
{
        struct dynid_lease *list = NULL;
        size_t n = 0, count = 0;
        MDB_txn *txn;
        int r;

        r = dry_run ? read_begin(s, &txn) : write_begin(s, &txn);
        if (r < 0)
                return r;
        /* Sessions whose process is gone first: only live ones count. */
        r = session_reap(s, txn, dry_run);
        if (r >= 0 && s->cfg.idle_ttl > 0)
                r = lease_list_txn(s, txn, &list, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const struct dynid_lease *l = &list[i];

                if (l->sessions > 0 || l->last_used > now ||
                    now - l->last_used < s->cfg.idle_ttl ||
                    block_in_use(l->base, l->size))
                        continue;
                if (!dry_run)
                        r = remove_one(s, txn, l->name, false, NULL);
                if (r >= 0 && report)
                        report(l, userdata);
                count++;
        }
        free(list);
        /* Reaped sessions alone leave the snapshot as it was. */
        if (dry_run)
                mdb_txn_abort(txn);
        else if (count > 0)
                r = write_end(s, txn, r);
        else
                r = write_end_private(s, txn, r);
        return r < 0 ? r : (int) count;
}
