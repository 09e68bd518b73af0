/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dynid.h"
#include "record.h"
#include "tmpdir.h"

/* A pool of exactly four blocks, far from 65534 and 65535:
 * 1048576, 1114112, 1179648, 1245184. */
#define SMALL_FIRST 1048576u            /* 65536 * 16 */
#define SMALL_LAST  1310719u            /* 65536 * 20 - 1 */

struct fixture {
        char state[PATH_MAX];
        char etc[PATH_MAX];
        char snap[PATH_MAX + 16];       /* STATE/nss.mdb */
        struct dynid_config cfg;
        struct dynid_store_opts opts;
        struct dynid_store *s;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        tmpdir_make(f->state);
        tmpdir_make(f->etc);
        snprintf(f->snap, sizeof(f->snap), "%s/nss.mdb", f->state);
        tmpdir_write(f->etc, "passwd", "", NULL);
        tmpdir_write(f->etc, "group", "", NULL);
        assert_int_equal(dynid_config_defaults(&f->cfg), 0);
        f->opts = (struct dynid_store_opts) {
                .state_dir = f->state,
                .etc_dir = f->etc,
                .no_nss = true,
        };
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        dynid_store_close(f->s);
        dynid_config_free(&f->cfg);
        tmpdir_remove(f->state);
        tmpdir_remove(f->etc);
        free(f);
        return 0;
}

static void store_open(struct fixture *f)
{
        struct dynid_err err = { "" };
        int r;

        r = dynid_store_open(&f->cfg, &f->opts, &f->s, &err);
        if (r < 0)
                fail_msg("dynid_store_open: %d: %s", r, err.msg);
}

static void store_close(struct fixture *f)
{
        dynid_store_close(f->s);
        f->s = NULL;
}

static void set_string(char **dst, const char *v)
{
        free(*dst);
        *dst = strdup(v);
        assert_non_null(*dst);
}

static uint32_t expected_base(const struct dynid_config *cfg,
                              const char *name)
{
        return dynid_pool_slot_base(cfg,
                                    dynid_hash(name) % dynid_pool_slots(cfg));
}

/* Adds one name; returns what dynid_lease_add() returns. */
static int add1(struct fixture *f, const char *name, struct dynid_lease *out,
                struct dynid_err *err)
{
        const char *names[] = { name };

        return dynid_lease_add(f->s, names, 1, out, err);
}

static uint32_t add_ok(struct fixture *f, const char *name)
{
        struct dynid_lease l;
        struct dynid_err err = { "" };
        int r;

        r = add1(f, name, &l, &err);
        if (r < 0)
                fail_msg("adding '%s': %d: %s", name, r, err.msg);
        assert_string_equal(l.name, name);
        return l.base;
}

static uint64_t generation(struct fixture *f)
{
        struct dynid_status st;

        assert_int_equal(dynid_store_status(f->s, &st), 0);
        return st.generation;
}

static void assert_lease_equal(const struct dynid_lease *a,
                               const struct dynid_lease *b)
{
        assert_string_equal(a->name, b->name);
        assert_int_equal(a->base, b->base);
        assert_int_equal(a->size, b->size);
        assert_true(a->created == b->created);
        assert_true(a->last_used == b->last_used);
        assert_int_equal(a->sessions, b->sessions);
}

static void assert_lists_equal(const struct dynid_lease *a, size_t na,
                               const struct dynid_lease *b, size_t nb)
{
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++)
                assert_lease_equal(&a[i], &b[i]);
}

/* Names of the entries of @dir, sorted, joined with spaces. */
static void dir_entries(const char *dir, char *buf, size_t size)
{
        struct dirent **list;
        int n;

        n = scandir(dir, &list, NULL, alphasort);
        assert_true(n >= 0);
        buf[0] = 0;
        for (int i = 0; i < n; i++) {
                if (strcmp(list[i]->d_name, ".") != 0 &&
                    strcmp(list[i]->d_name, "..") != 0) {
                        if (buf[0])
                                strncat(buf, " ", size - strlen(buf) - 1);
                        strncat(buf, list[i]->d_name,
                                size - strlen(buf) - 1);
                }
                free(list[i]);
        }
        free(list);
}

/* ---- leases and placement --------------------------------------------- */

static void test_fresh_status(void **state)
{
        struct fixture *f = *state;
        struct dynid_status st;
        struct dynid_lease *list;
        char path[PATH_MAX + 16];
        size_t n = 99;

        store_open(f);
        assert_int_equal(dynid_store_status(f->s, &st), 0);
        assert_int_equal(st.slots, 4094);
        assert_int_equal(st.used, 0);
        /* Opening a new store publishes an empty snapshot. */
        assert_true(st.generation == 1);
        assert_true(st.snapshot_mtime > 0);
        assert_true(st.snapshot_generation == 1);
        assert_true(st.db_mtime > 0);

        assert_int_equal(dynid_lease_list(f->s, &list, &n), 0);
        assert_int_equal(n, 0);
        free(list);

        snprintf(path, sizeof(path), "%s/db", f->state);
        assert_string_equal(dynid_store_db_path(f->s), path);
        snprintf(path, sizeof(path), "%s/nss.mdb", f->state);
        assert_string_equal(dynid_store_snapshot_path(f->s), path);
}

static void test_add_preferred_slot(void **state)
{
        struct fixture *f = *state;
        struct dynid_lease l, found;
        struct dynid_status st;
        uint64_t t0, t1;

        store_open(f);
        t0 = time(NULL);
        assert_int_equal(add1(f, "web", &l, NULL), 1);
        t1 = time(NULL);

        /* FNV-1a("web") % 4094 = 3501. */
        assert_int_equal(dynid_hash("web") % 4094, 3501);
        assert_int_equal(expected_base(&f->cfg, "web"), 2108489728);
        assert_string_equal(l.name, "web");
        assert_int_equal(l.base, 2108489728);
        assert_int_equal(l.size, 65536);
        assert_true(l.created >= t0 && l.created <= t1);
        assert_true(l.last_used == l.created);
        assert_int_equal(l.sessions, 0);

        assert_int_equal(dynid_lease_find(f->s, "web", &found), 0);
        assert_lease_equal(&found, &l);
        assert_int_equal(dynid_lease_find(f->s, "db", &found), -ENOENT);
        assert_int_equal(dynid_lease_find(f->s, "Not-Valid", &found),
                         -ENOENT);

        assert_int_equal(dynid_store_status(f->s, &st), 0);
        assert_int_equal(st.slots, 4094);
        assert_int_equal(st.used, 1);
        assert_true(st.generation == 2);
        assert_true(st.snapshot_generation == 2);
        assert_true(st.snapshot_mtime >= (int64_t) t0);
}

static void test_add_idempotent(void **state)
{
        struct fixture *f = *state;
        const char *names[] = { "web", "db", "web" };
        struct dynid_lease first, again, out[3];
        struct dynid_lease *list;
        size_t n;

        store_open(f);
        assert_int_equal(add1(f, "web", &first, NULL), 1);
        assert_int_equal(add1(f, "web", &again, NULL), 0);
        assert_lease_equal(&again, &first);

        /* In a batch: only "db" is new, "web" twice is one lease. */
        assert_int_equal(dynid_lease_add(f->s, names, 3, out, NULL), 1);
        assert_lease_equal(&out[0], &first);
        assert_string_equal(out[1].name, "db");
        assert_int_equal(out[1].base, expected_base(&f->cfg, "db"));
        assert_lease_equal(&out[2], &first);

        assert_int_equal(dynid_lease_list(f->s, &list, &n), 0);
        assert_int_equal(n, 2);
        /* Ordered by base: db (2018836480) before web (2108489728). */
        assert_lease_equal(&list[0], &out[1]);
        assert_lease_equal(&list[1], &first);
        free(list);
}

static void test_remove_and_add_again(void **state)
{
        struct fixture *f = *state;
        const char *web[] = { "web" };
        struct dynid_lease l;
        uint32_t base;

        store_open(f);
        base = add_ok(f, "web");
        assert_int_equal(dynid_lease_remove(f->s, web, 1, false, NULL), 0);
        assert_int_equal(dynid_lease_find(f->s, "web", &l), -ENOENT);
        assert_int_equal(dynid_lease_find_id(f->s, base, &l), -ENOENT);
        assert_int_equal(add_ok(f, "web"), base);
        assert_int_equal(base, expected_base(&f->cfg, "web"));
}

static void test_remove_unknown(void **state)
{
        struct fixture *f = *state;
        const char *names[] = { "web", "nope" };
        const char *bad[] = { "web", "No" };
        struct dynid_lease l;
        struct dynid_err err;
        uint64_t g;

        store_open(f);
        add_ok(f, "web");
        g = generation(f);

        assert_int_equal(dynid_lease_remove(f->s, names, 2, false, &err),
                         -ENOENT);
        assert_string_equal(err.msg, "'nope' has no lease");
        assert_int_equal(dynid_lease_remove(f->s, bad, 2, false, &err),
                         -EINVAL);
        assert_string_equal(err.msg, "invalid service name 'No': must start "
                            "with a lowercase letter or '_'");

        /* The batch failed as a whole: "web" is still there. */
        assert_int_equal(dynid_lease_find(f->s, "web", &l), 0);
        assert_true(generation(f) == g);
}

static void test_order_does_not_matter(void **state)
{
        struct fixture *f = *state;
        char state2[PATH_MAX];
        uint32_t web, db;

        /* The premise: no collision in the default pool. */
        assert_int_equal(expected_base(&f->cfg, "web"), 2108489728);
        assert_int_equal(expected_base(&f->cfg, "db"), 2018836480);

        store_open(f);
        web = add_ok(f, "web");
        db = add_ok(f, "db");
        store_close(f);

        tmpdir_make(state2);
        f->opts.state_dir = state2;
        store_open(f);
        assert_int_equal(add_ok(f, "db"), db);
        assert_int_equal(add_ok(f, "web"), web);
        assert_int_equal(web, 2108489728);
        assert_int_equal(db, 2018836480);
        store_close(f);
        tmpdir_remove(state2);
}

static void use_small_pool(struct fixture *f)
{
        f->cfg.pool_first = SMALL_FIRST;
        f->cfg.pool_last = SMALL_LAST;
        assert_int_equal(dynid_pool_slots(&f->cfg), 4);

        /* The premise of the collision tests: FNV-1a of these names modulo
         * 4 is web 1, cache 1, db 3, svc-a 3, dns 0, mail 2. */
        assert_int_equal(dynid_hash("web") % 4, 1);
        assert_int_equal(dynid_hash("cache") % 4, 1);
        assert_int_equal(dynid_hash("db") % 4, 3);
        assert_int_equal(dynid_hash("svc-a") % 4, 3);
        assert_int_equal(dynid_hash("dns") % 4, 0);
        assert_int_equal(dynid_hash("mail") % 4, 2);
}

static void test_collision_next_free(void **state)
{
        struct fixture *f = *state;

        use_small_pool(f);
        store_open(f);
        assert_int_equal(add_ok(f, "web"), 1114112);    /* slot 1 */
        assert_int_equal(add_ok(f, "cache"), 1179648);  /* 1 taken: 2 */
        assert_int_equal(add_ok(f, "db"), 1245184);     /* slot 3 */
        assert_int_equal(add_ok(f, "svc-a"), 1048576);  /* 3 taken: wraps */
}

static void test_pool_exhausted(void **state)
{
        struct fixture *f = *state;
        const char *batch[] = { "dns", "mail" };
        struct dynid_lease *before, *after, l;
        size_t nb, na;
        struct dynid_status st;
        struct dynid_err err;
        uint64_t g;

        use_small_pool(f);
        store_open(f);
        add_ok(f, "web");
        add_ok(f, "cache");
        add_ok(f, "db");
        g = generation(f);
        assert_int_equal(dynid_lease_list(f->s, &before, &nb), 0);
        assert_int_equal(nb, 3);

        /* "dns" would fit in slot 0, "mail" finds none: nothing happens. */
        assert_int_equal(dynid_lease_add(f->s, batch, 2, NULL, &err),
                         -ENOSPC);
        assert_string_equal(err.msg, "cannot lease 'mail': the pool is "
                            "exhausted (all 4 blocks are taken)");
        assert_int_equal(dynid_lease_list(f->s, &after, &na), 0);
        assert_lists_equal(before, nb, after, na);
        free(after);
        assert_int_equal(dynid_lease_find(f->s, "dns", &l), -ENOENT);
        assert_int_equal(dynid_store_status(f->s, &st), 0);
        assert_true(st.generation == g);
        assert_true(st.snapshot_generation == g);
        assert_int_equal(st.used, 3);

        /* Fill the last slot; then any new name is refused. */
        assert_int_equal(add_ok(f, "dns"), 1048576);
        assert_int_equal(add1(f, "mail", NULL, &err), -ENOSPC);
        assert_string_equal(err.msg, "cannot lease 'mail': the pool is "
                            "exhausted (all 4 blocks are taken)");
        /* An existing lease is still found, idempotently. */
        assert_int_equal(add1(f, "web", &l, &err), 0);
        assert_int_equal(l.base, 1114112);
        free(before);
}

static void test_pool_without_block(void **state)
{
        struct fixture *f = *state;
        struct dynid_err err;

        f->cfg.pool_first = 1048576;
        f->cfg.pool_last = 1114110;     /* one ID short of a block */
        store_open(f);
        assert_int_equal(add1(f, "web", NULL, &err), -ENOSPC);
        assert_string_equal(err.msg, "the pool 1048576-1114110 holds no "
                            "whole block of 65536 IDs");
        assert_true(generation(f) == 1);
}

static void test_invalid_name_in_batch(void **state)
{
        struct fixture *f = *state;
        const char *names[] = { "web", "db", "Bad" };
        struct dynid_lease *list;
        struct dynid_err err;
        struct stat st;
        size_t n;

        store_open(f);
        assert_int_equal(dynid_lease_add(f->s, names, 3, NULL, &err),
                         -EINVAL);
        assert_string_equal(err.msg, "invalid service name 'Bad': must "
                            "start with a lowercase letter or '_'");
        assert_int_equal(dynid_lease_list(f->s, &list, &n), 0);
        assert_int_equal(n, 0);
        free(list);
        assert_true(generation(f) == 1);
        assert_int_equal(stat(f->snap, &st), 0);
}

static void test_name_of_other_source(void **state)
{
        struct fixture *f = *state;
        const char *names[] = { "web", "www-data" };
        const char *staff[] = { "staff" };
        char want[PATH_MAX + 128];
        struct dynid_lease *list;
        struct dynid_err err;
        size_t n;

        tmpdir_write(f->etc, "passwd", "root:x:0:0:root:/root:/bin/bash\n"
                     "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n",
                     NULL);
        tmpdir_write(f->etc, "group", "root:x:0:\nstaff:x:50:\n", NULL);
        store_open(f);

        assert_int_equal(dynid_lease_add(f->s, names, 2, NULL, &err),
                         -EINVAL);
        snprintf(want, sizeof(want), "cannot lease 'www-data': %s/passwd "
                 "already has that name", f->etc);
        assert_string_equal(err.msg, want);

        assert_int_equal(dynid_lease_add(f->s, staff, 1, NULL, &err),
                         -EINVAL);
        snprintf(want, sizeof(want), "cannot lease 'staff': %s/group "
                 "already has that name", f->etc);
        assert_string_equal(err.msg, want);

        assert_int_equal(dynid_lease_list(f->s, &list, &n), 0);
        assert_int_equal(n, 0);
        free(list);
        assert_true(generation(f) == 1);
}

static void test_pool_conflict_refused(void **state)
{
        struct fixture *f = *state;
        struct dynid_err err;

        tmpdir_write(f->etc, "passwd",
                     "intruder:x:1879048200:100::/:/bin/sh\n", NULL);
        char want[PATH_MAX + 128];

        store_open(f);
        assert_int_equal(add1(f, "web", NULL, &err), -EEXIST);
        snprintf(want, sizeof(want), "the pool 1879048192-2147352575 "
                 "contains ID 1879048200 of 'intruder' in %s/passwd", f->etc);
        assert_string_equal(err.msg, want);
        assert_true(generation(f) == 1);
}

static void test_persistence(void **state)
{
        struct fixture *f = *state;
        struct dynid_lease *before, *after;
        size_t nb, na;
        uint64_t g;

        store_open(f);
        add_ok(f, "web");
        add_ok(f, "db");
        add_ok(f, "cache");
        g = generation(f);
        assert_true(g == 4);
        assert_int_equal(dynid_lease_list(f->s, &before, &nb), 0);
        store_close(f);

        store_open(f);
        assert_int_equal(dynid_lease_list(f->s, &after, &na), 0);
        assert_int_equal(na, 3);
        assert_lists_equal(before, nb, after, na);
        assert_true(generation(f) == g);
        free(before);
        free(after);
}

static void test_find_id(void **state)
{
        struct fixture *f = *state;
        struct dynid_lease l;
        uint32_t web, db;

        store_open(f);
        assert_int_equal(dynid_lease_find_id(f->s, 2108489728, &l), -ENOENT);
        web = add_ok(f, "web");
        db = add_ok(f, "db");
        assert_int_equal(web, 2108489728);
        assert_int_equal(db, 2018836480);

        assert_int_equal(dynid_lease_find_id(f->s, web, &l), 0);
        assert_string_equal(l.name, "web");
        assert_int_equal(l.base, web);
        assert_int_equal(dynid_lease_find_id(f->s, web + 1, &l), 0);
        assert_string_equal(l.name, "web");
        assert_int_equal(dynid_lease_find_id(f->s, web + 65535, &l), 0);
        assert_string_equal(l.name, "web");
        assert_int_equal(l.base, web);
        assert_int_equal(dynid_lease_find_id(f->s, web + 65536, &l),
                         -ENOENT);
        assert_int_equal(dynid_lease_find_id(f->s, web - 1, &l), -ENOENT);

        assert_int_equal(dynid_lease_find_id(f->s, db + 65535, &l), 0);
        assert_string_equal(l.name, "db");
        assert_int_equal(dynid_lease_find_id(f->s, db + 65536, &l), -ENOENT);
        assert_int_equal(dynid_lease_find_id(f->s, db - 1, &l), -ENOENT);
        assert_int_equal(dynid_lease_find_id(f->s, 0, &l), -ENOENT);
        assert_int_equal(dynid_lease_find_id(f->s, 65534, &l), -ENOENT);
        assert_int_equal(dynid_lease_find_id(f->s, UINT32_MAX, &l), -ENOENT);
}

/* The block right after a lease belongs to the next lease. */
static void test_find_id_adjacent(void **state)
{
        struct fixture *f = *state;
        struct dynid_lease l;

        use_small_pool(f);
        store_open(f);
        assert_int_equal(add_ok(f, "web"), 1114112);
        assert_int_equal(add_ok(f, "cache"), 1179648);
        assert_int_equal(dynid_lease_find_id(f->s, 1114112 + 65535, &l), 0);
        assert_string_equal(l.name, "web");
        assert_int_equal(dynid_lease_find_id(f->s, 1114112 + 65536, &l), 0);
        assert_string_equal(l.name, "cache");
        assert_int_equal(l.base, 1179648);
        assert_int_equal(dynid_lease_find_id(f->s, 1114111, &l), -ENOENT);
}

/* ---- the published snapshot ------------------------------------------- */

struct snap {
        MDB_env *env;
        MDB_txn *txn;
        MDB_dbi dbi;
};

static void open_snapshot(const struct fixture *f, struct snap *sn)
{
        /* As the NSS module opens it. */
        assert_int_equal(mdb_env_create(&sn->env), 0);
        assert_int_equal(mdb_env_open(sn->env, f->snap,
                                      MDB_RDONLY | MDB_NOLOCK | MDB_NOSUBDIR,
                                      0), 0);
        assert_int_equal(mdb_txn_begin(sn->env, NULL, MDB_RDONLY, &sn->txn),
                         0);
        assert_int_equal(mdb_dbi_open(sn->txn, NULL, 0, &sn->dbi), 0);
}

static void snap_close(struct snap *sn)
{
        mdb_txn_abort(sn->txn);
        mdb_env_close(sn->env);
}

static struct snap_meta snap_meta(struct snap *sn)
{
        char key = SNAP_KEY_META;
        MDB_val k = { 1, &key }, v;
        struct snap_meta m;

        assert_int_equal(mdb_get(sn->txn, sn->dbi, &k, &v), 0);
        assert_int_equal(snap_meta_decode(v.mv_data, v.mv_size, &m), 0);
        return m;
}

static void assert_record(const MDB_val *v, const struct dynid_lease *l,
                          const char *home, const char *shell)
{
        struct snap_record r;
        char gecos[64];

        snprintf(gecos, sizeof(gecos), "dynid service %s", l->name);
        assert_int_equal(snap_record_decode(v->mv_data, v->mv_size, &r), 0);
        assert_int_equal(r.base, l->base);
        assert_int_equal(r.size, l->size);
        assert_string_equal(r.name, l->name);
        assert_string_equal(r.gecos, gecos);
        assert_string_equal(r.dir, home);
        assert_string_equal(r.shell, shell);
}

static void test_snapshot_content(void **state)
{
        struct fixture *f = *state;
        const char *names[] = { "web", "db" };
        struct dynid_lease l[2];
        struct dynid_status st;
        char entries[256];
        struct snap_meta m;
        struct stat fst;
        struct snap sn;
        MDB_cursor *c;
        MDB_val k, v;
        uint64_t t0, t1;

        set_string(&f->cfg.home, "/srv/home/%n");
        set_string(&f->cfg.shell, "/bin/sh");
        store_open(f);
        /* What a writer killed in the middle of a publish leaves behind
         * goes with the next write. */
        tmpdir_write(f->state, ".nss.mdb.Ab12Cd", "partial", NULL);
        t0 = time(NULL);
        assert_int_equal(dynid_lease_add(f->s, names, 2, l, NULL), 2);
        t1 = time(NULL);

        assert_int_equal(stat(f->snap, &fst), 0);
        assert_true(S_ISREG(fst.st_mode));
        assert_int_equal(fst.st_mode & 07777, 0644);
        assert_int_equal(fst.st_uid, geteuid());
        /* The database directory and the snapshot: no temporary file. */
        dir_entries(f->state, entries, sizeof(entries));
        assert_string_equal(entries, "db nss.gen nss.mdb storage");

        assert_int_equal(dynid_store_status(f->s, &st), 0);
        assert_true(st.generation == 2);
        assert_true(st.snapshot_generation == 2);

        open_snapshot(f, &sn);
        m = snap_meta(&sn);
        assert_int_equal(m.magic, SNAP_MAGIC);
        assert_int_equal(m.version, SNAP_VERSION);
        assert_int_equal(m.block_size, 65536);
        assert_int_equal(m.count, 2);
        assert_true(m.generation == st.generation);
        assert_true(m.published >= t0 && m.published <= t1);

        /* Exactly five entries, in this order: M, b<db>, b<web>, ndb,
         * nweb (db's block is below web's). */
        assert_int_equal(l[1].base, 2018836480);
        assert_int_equal(l[0].base, 2108489728);
        assert_int_equal(mdb_cursor_open(sn.txn, sn.dbi, &c), 0);

        assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_FIRST), 0);
        assert_int_equal(k.mv_size, 1);
        assert_memory_equal(k.mv_data, "M", 1);

        assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_NEXT), 0);
        assert_int_equal(k.mv_size, 5);
        assert_memory_equal(k.mv_data, "b\x78\x55\x00\x00", 5);
        assert_record(&v, &l[1], "/srv/home/db", "/bin/sh");

        assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_NEXT), 0);
        assert_int_equal(k.mv_size, 5);
        assert_memory_equal(k.mv_data, "b\x7d\xad\x00\x00", 5);
        assert_record(&v, &l[0], "/srv/home/web", "/bin/sh");

        assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_NEXT), 0);
        assert_int_equal(k.mv_size, 3);
        assert_memory_equal(k.mv_data, "ndb", 3);
        assert_record(&v, &l[1], "/srv/home/db", "/bin/sh");

        assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_NEXT), 0);
        assert_int_equal(k.mv_size, 4);
        assert_memory_equal(k.mv_data, "nweb", 4);
        assert_record(&v, &l[0], "/srv/home/web", "/bin/sh");

        assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_NEXT), MDB_NOTFOUND);
        mdb_cursor_close(c);
        snap_close(&sn);
}

static void test_snapshot_follows_changes(void **state)
{
        struct fixture *f = *state;
        const char *web[] = { "web" };
        char entries[256];
        struct snap_meta m;
        struct snap sn;

        store_open(f);
        add_ok(f, "web");
        add_ok(f, "db");
        assert_int_equal(dynid_lease_remove(f->s, web, 1, false, NULL), 0);
        assert_true(generation(f) == 4);

        open_snapshot(f, &sn);
        m = snap_meta(&sn);
        assert_int_equal(m.count, 1);
        assert_true(m.generation == 4);
        snap_close(&sn);

        /* A publish with no change still bumps the generation. */
        assert_int_equal(dynid_publish(f->s), 0);
        assert_true(generation(f) == 5);
        open_snapshot(f, &sn);
        m = snap_meta(&sn);
        assert_int_equal(m.count, 1);
        assert_true(m.generation == 5);
        snap_close(&sn);

        dir_entries(f->state, entries, sizeof(entries));
        assert_string_equal(entries, "db nss.gen nss.mdb storage");
}

/* ---- dynid_check() ----------------------------------------------------- */

struct reports {
        char msg[8][512];
        int n;
        int stop_after;         /* return non-zero after this many, or 0 */
};

static int collect(const char *problem, void *userdata)
{
        struct reports *rep = userdata;

        if (rep->n < 8)
                snprintf(rep->msg[rep->n], sizeof(rep->msg[0]), "%s",
                         problem);
        rep->n++;
        return rep->stop_after && rep->n >= rep->stop_after;
}

static void test_check_good(void **state)
{
        struct fixture *f = *state;
        struct reports rep = { .n = 0 };

        store_open(f);
        add_ok(f, "web");
        add_ok(f, "db");
        assert_int_equal(dynid_check(f->s, collect, &rep), 0);
        assert_int_equal(rep.n, 0);
        assert_int_equal(dynid_check(f->s, NULL, NULL), 0);
}

static void test_check_snapshot_missing(void **state)
{
        struct fixture *f = *state;
        struct reports rep = { .n = 0 };
        char want[PATH_MAX + 64];

        store_open(f);
        add_ok(f, "web");
        assert_int_equal(unlink(f->snap), 0);

        assert_int_equal(dynid_check(f->s, collect, &rep), 1);
        assert_int_equal(rep.n, 1);
        snprintf(want, sizeof(want), "snapshot %s: No such file or directory",
                 f->snap);
        assert_string_equal(rep.msg[0], want);

        /* Publishing again repairs it. */
        assert_int_equal(dynid_publish(f->s), 0);
        assert_int_equal(dynid_check(f->s, NULL, NULL), 0);
}

static void test_check_snapshot_mode(void **state)
{
        struct fixture *f = *state;
        struct reports rep = { .n = 0 };
        char want[PATH_MAX + 128];

        store_open(f);
        add_ok(f, "web");
        assert_int_equal(chmod(f->snap, 0600), 0);

        assert_int_equal(dynid_check(f->s, collect, &rep), 1);
        snprintf(want, sizeof(want), "%s: must be a regular file "
                 "owned by uid %u with mode 0644", f->snap,
                 (unsigned) geteuid());
        assert_string_equal(rep.msg[0], want);

        /* The state directory and the database files too. */
        assert_int_equal(chmod(f->snap, 0644), 0);
        assert_int_equal(chmod(f->state, 0775), 0);
        rep.n = 0;
        assert_int_equal(dynid_check(f->s, collect, &rep), 1);
        snprintf(want, sizeof(want), "%s: must be a directory owned by uid "
                 "%u with mode 0755", f->state, (unsigned) geteuid());
        assert_string_equal(rep.msg[0], want);
        assert_int_equal(chmod(f->state, 0755), 0);
        snprintf(want, sizeof(want), "%s/db/lock.mdb", f->state);
        assert_int_equal(chmod(want, 0666), 0);
        rep.n = 0;
        assert_int_equal(dynid_check(f->s, collect, &rep), 1);
        snprintf(want, sizeof(want), "%s/db/lock.mdb: must be a regular "
                 "file owned by uid %u with mode 0600", f->state,
                 (unsigned) geteuid());
        assert_string_equal(rep.msg[0], want);
}

/* A snapshot that is a symlink, even to a good copy, and a missing
 * generation file are problems that a publish mends. */
static void test_check_snapshot_link_and_generation(void **state)
{
        struct fixture *f = *state;
        struct reports rep = { .n = 0 };
        char want[PATH_MAX + 128], copy[PATH_MAX + 16], gen[PATH_MAX + 16];

        store_open(f);
        add_ok(f, "web");
        snprintf(copy, sizeof(copy), "%s/copy.mdb", f->state);
        assert_int_equal(rename(f->snap, copy), 0);
        assert_int_equal(symlink(copy, f->snap), 0);
        assert_int_equal(dynid_check(f->s, collect, &rep), 1);
        snprintf(want, sizeof(want), "%s: must be a regular file "
                 "owned by uid %u with mode 0644", f->snap,
                 (unsigned) geteuid());
        assert_string_equal(rep.msg[0], want);

        snprintf(gen, sizeof(gen), "%s/nss.gen", f->state);
        assert_int_equal(unlink(gen), 0);
        rep.n = 0;
        assert_int_equal(dynid_check(f->s, collect, &rep), 2);
        snprintf(want, sizeof(want), "%s: missing, so readers check the "
                 "snapshot at every lookup", gen);
        assert_string_equal(rep.msg[0], want);

        assert_int_equal(dynid_publish(f->s), 0);
        assert_int_equal(unlink(copy), 0);
        rep.n = 0;
        assert_int_equal(dynid_check(f->s, collect, &rep), 0);

        /* Cut short, as an empty file: the next publish grows it. */
        assert_int_equal(truncate(gen, 0), 0);
        rep.n = 0;
        assert_int_equal(dynid_check(f->s, collect, &rep), 1);
        snprintf(want, sizeof(want), "%s: 0 bytes, not 4096, so readers "
                 "check the snapshot at every lookup", gen);
        assert_string_equal(rep.msg[0], want);
        assert_int_equal(dynid_publish(f->s), 0);
        rep.n = 0;
        assert_int_equal(dynid_check(f->s, collect, &rep), 0);
}

/* A directory where the snapshot or nss.gen belongs: a write is refused
 * before it commits, naming the path, and changes nothing. */
static void test_publish_target_directory(void **state)
{
        struct fixture *f = *state;
        const char *names[] = { "db" };
        struct dynid_err err;
        struct dynid_lease l;
        char gen[PATH_MAX + 16], want[PATH_MAX + 128];

        store_open(f);
        add_ok(f, "web");
        snprintf(gen, sizeof(gen), "%s/nss.gen", f->state);
        for (const char *path = gen; path; path = path == gen ? f->snap : NULL) {
                assert_int_equal(unlink(path), 0);
                assert_int_equal(mkdir(path, 0755), 0);
                assert_int_equal(dynid_lease_add(f->s, names, 1, NULL, &err),
                                 -EISDIR);
                snprintf(want, sizeof(want), "cannot add the leases: %s: "
                         "Is a directory", path);
                assert_string_equal(err.msg, want);
                assert_int_equal(dynid_lease_find(f->s, "db", &l), -ENOENT);
                /* What check --repair reports. */
                assert_int_equal(dynid_publish(f->s), -EISDIR);
                assert_string_equal(dynid_store_failed_path(f->s), path);
                assert_int_equal(rmdir(path), 0);
                assert_int_equal(dynid_publish(f->s), 0);
                assert_null(dynid_store_failed_path(f->s));
        }
        add_ok(f, "db");
}

static void test_check_snapshot_older(void **state)
{
        struct fixture *f = *state;
        struct reports rep = { .n = 0 };
        struct reports first = { .stop_after = 1 };
        char old[PATH_MAX + 32];

        store_open(f);
        add_ok(f, "web");
        snprintf(old, sizeof(old), "%s.old", f->snap);
        tmpdir_copy(f->snap, old);
        assert_int_equal(chmod(old, 0644), 0);
        add_ok(f, "db");
        assert_int_equal(rename(old, f->snap), 0);

        /* Leases are checked in the order of their blocks: db, web. */
        assert_int_equal(dynid_check(f->s, collect, &rep), 4);
        assert_int_equal(rep.n, 4);
        assert_string_equal(rep.msg[0],
                            "snapshot: generation 2, the database is at 3");
        assert_string_equal(rep.msg[1], "snapshot: 1 leases in 3 entries, "
                            "the database has 2 leases");
        assert_string_equal(rep.msg[2],
                            "snapshot: lease 'db' is missing (by name)");
        assert_string_equal(rep.msg[3],
                            "snapshot: lease 'db' is missing (by ID)");

        /* A callback that says stop gets no more, the count stays. */
        assert_int_equal(dynid_check(f->s, collect, &first), 4);
        assert_int_equal(first.n, 1);
        assert_string_equal(first.msg[0],
                            "snapshot: generation 2, the database is at 3");
}

static void test_check_pool_conflict(void **state)
{
        struct fixture *f = *state;
        struct reports rep = { .n = 0 };
        char want[PATH_MAX + 128];

        store_open(f);
        add_ok(f, "web");
        tmpdir_write(f->etc, "passwd",
                     "web:x:1000:1000::/home/web:/bin/sh\n", NULL);
        tmpdir_write(f->etc, "subgid", "web:2108489728:10\n", NULL);

        assert_int_equal(dynid_check(f->s, collect, &rep), 2);
        snprintf(want, sizeof(want), "the pool 1879048192-2147352575 "
                 "overlaps the range 2108489728-2108489737 of 'web' in "
                 "%s/subgid", f->etc);
        assert_string_equal(rep.msg[0], want);
        snprintf(want, sizeof(want), "lease 'web': %s/passwd already has "
                 "that name", f->etc);
        assert_string_equal(rep.msg[1], want);
}

/* ---- limits ------------------------------------------------------------ */

static void test_map_full(void **state)
{
        struct fixture *f = *state;
        struct dynid_lease *before, *after, l;
        struct dynid_status st;
        struct dynid_err err;
        size_t nb, na;
        int r = 0, added = 1, batches;
        uint64_t g;

        /* Big enough to open and hold a few leases, far too small for
         * 2000 of them. */
        f->opts.map_size = 65536;
        store_open(f);
        add_ok(f, "web");

        for (batches = 0; batches < 40; batches++) {
                char buf[50][16];
                const char *names[50];

                for (int i = 0; i < 50; i++) {
                        snprintf(buf[i], sizeof(buf[i]), "s%d-%d", batches,
                                 i);
                        names[i] = buf[i];
                }
                g = generation(f);
                assert_int_equal(dynid_lease_list(f->s, &before, &nb), 0);
                memset(&err, 0, sizeof(err));
                r = dynid_lease_add(f->s, names, 50, NULL, &err);
                if (r < 0)
                        break;
                assert_int_equal(r, 50);
                added += r;
                free(before);
        }
        assert_int_equal(r, -ENOSPC);
        assert_true(batches > 0);       /* some batches did fit */
        assert_string_equal(err.msg, "cannot add the leases: the lease "
                            "database is full (its map size, 64 KiB, is "
                            "reached): raise [store] map_size in dynid.conf");

        /* The earlier leases are intact, the failed batch left nothing. */
        assert_int_equal(nb, added);
        assert_int_equal(dynid_lease_list(f->s, &after, &na), 0);
        assert_lists_equal(before, nb, after, na);
        free(before);
        free(after);
        assert_int_equal(dynid_lease_find(f->s, "web", &l), 0);
        assert_int_equal(l.base, 2108489728);
        assert_int_equal(dynid_store_status(f->s, &st), 0);
        assert_true(st.generation == g);
        assert_true(st.snapshot_generation == g);
        assert_int_equal(st.used, added);
        assert_int_equal(dynid_check(f->s, NULL, NULL), 0);
}

/* ---- dynid_gc() -------------------------------------------------------- */

struct names {
        char name[8][DYNID_NAME_MAX + 1];
        int n;
};

static int collect_lease(const struct dynid_lease *l, void *userdata)
{
        struct names *got = userdata;

        if (got->n < 8)
                strcpy(got->name[got->n], l->name);
        got->n++;
        return 0;
}

static void test_gc(void **state)
{
        struct fixture *f = *state;
        const char *names[] = { "web", "db" };
        struct dynid_lease l[2], *list;
        struct names got = { .n = 0 };
        size_t n;
        uint64_t t;

        f->cfg.idle_ttl = 3600;
        store_open(f);
        assert_int_equal(dynid_lease_add(f->s, names, 2, l, NULL), 2);
        t = l[0].last_used;
        assert_true(l[1].last_used == t);

        /* One second short of idle_ttl: nothing to reclaim. */
        assert_int_equal(dynid_gc(f->s, t + 3599, false, collect_lease, &got),
                         0);
        assert_int_equal(got.n, 0);
        /* A clock that went backwards reclaims nothing either. */
        assert_int_equal(dynid_gc(f->s, t - 100000, true, collect_lease,
                                  &got), 0);
        assert_int_equal(got.n, 0);

        /* Dry run: reported in the order of their blocks, kept. */
        assert_int_equal(dynid_gc(f->s, t + 3600, true, collect_lease, &got),
                         2);
        assert_int_equal(got.n, 2);
        assert_string_equal(got.name[0], "db");
        assert_string_equal(got.name[1], "web");
        assert_int_equal(dynid_lease_list(f->s, &list, &n), 0);
        assert_int_equal(n, 2);
        free(list);

        got.n = 0;
        assert_int_equal(dynid_gc(f->s, t + 10 * 365 * 86400ull, false,
                                  collect_lease, &got), 2);
        assert_int_equal(got.n, 2);
        assert_string_equal(got.name[0], "db");
        assert_string_equal(got.name[1], "web");
        assert_int_equal(dynid_lease_list(f->s, &list, &n), 0);
        assert_int_equal(n, 0);
        free(list);
        assert_int_equal(dynid_lease_find(f->s, "web", &l[0]), -ENOENT);
        /* The snapshot follows. */
        assert_int_equal(dynid_check(f->s, NULL, NULL), 0);

        /* Without a report callback. */
        add_ok(f, "web");
        assert_int_equal(dynid_gc(f->s, UINT64_MAX, false, NULL, NULL), 1);
        assert_int_equal(dynid_lease_find(f->s, "web", &l[0]), -ENOENT);
}

static void test_gc_disabled(void **state)
{
        struct fixture *f = *state;
        struct names got = { .n = 0 };
        struct dynid_lease l;

        store_open(f);
        add_ok(f, "web");
        assert_int_equal(dynid_gc(f->s, UINT64_MAX, false, collect_lease,
                                  &got), 0);
        assert_int_equal(dynid_gc(f->s, UINT64_MAX, true, collect_lease,
                                  &got), 0);
        assert_int_equal(got.n, 0);
        assert_int_equal(dynid_lease_find(f->s, "web", &l), 0);
}

/* ---- opening ----------------------------------------------------------- */

static void test_block_size_change(void **state)
{
        struct fixture *f = *state;
        const char *web[] = { "web" };
        struct dynid_status st;
        struct dynid_store *s = NULL;
        struct dynid_err err;

        store_open(f);
        add_ok(f, "web");
        store_close(f);

        f->cfg.block_size = 4096;
        assert_int_equal(dynid_store_open(&f->cfg, &f->opts, &s, &err),
                         -EINVAL);
        assert_null(s);
        assert_string_equal(err.msg, "block_size 4096 differs from 65536 "
                            "used by the existing leases");

        /* Without leases the block size may change. */
        f->cfg.block_size = 65536;
        store_open(f);
        assert_int_equal(dynid_lease_remove(f->s, web, 1, false, NULL), 0);
        store_close(f);
        f->cfg.block_size = 4096;
        store_open(f);
        assert_int_equal(dynid_store_status(f->s, &st), 0);
        assert_int_equal(st.slots, 65504);
        assert_int_equal(add_ok(f, "web"), expected_base(&f->cfg, "web"));
        store_close(f);

        f->cfg.block_size = 65536;
        assert_int_equal(dynid_store_open(&f->cfg, &f->opts, &s, &err),
                         -EINVAL);
        assert_string_equal(err.msg, "block_size 65536 differs from 4096 "
                            "used by the existing leases");
}

static void test_db_dir_mode(void **state)
{
        struct fixture *f = *state;
        struct dynid_store *s = NULL;
        struct dynid_err err;
        char db[PATH_MAX + 8], want[PATH_MAX + 128];
        struct stat st;

        store_open(f);
        store_close(f);
        snprintf(db, sizeof(db), "%s/db", f->state);
        assert_int_equal(stat(db, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);

        assert_int_equal(chmod(db, 0755), 0);
        assert_int_equal(dynid_store_open(&f->cfg, &f->opts, &s, &err),
                         -EPERM);
        assert_null(s);
        snprintf(want, sizeof(want), "%s: must be a directory owned by uid %u "
                 "with mode 0700", db, (unsigned) geteuid());
        assert_string_equal(err.msg, want);

        assert_int_equal(chmod(db, 0700), 0);
        store_open(f);
}

static void test_db_not_a_directory(void **state)
{
        struct fixture *f = *state;
        struct dynid_store *s = NULL;
        struct dynid_err err;
        char db[PATH_MAX + 8], want[PATH_MAX + 64];

        tmpdir_write(f->state, "db", "not a database\n", NULL);
        snprintf(db, sizeof(db), "%s/db", f->state);
        assert_int_equal(dynid_store_open(&f->cfg, &f->opts, &s, &err),
                         -ENOTDIR);
        assert_null(s);
        snprintf(want, sizeof(want), "%s: Not a directory", db);
        assert_string_equal(err.msg, want);
}

/* nss.gen: made by the first publish, incremented in place by each one,
 * mapped by readers, who see every increment; what is not a sound counter
 * file is refused by readers and repaired or refused by the writer. */
static void test_generation_file(void **state)
{
        struct fixture *f = *state;
        char gen[PATH_MAX + 16];
        const uint64_t *g;
        struct stat st, st2;
        uint64_t v;

        snprintf(gen, sizeof(gen), "%s/nss.gen", f->state);
        store_open(f);
        assert_int_equal(stat(gen, &st), 0);
        assert_int_equal(st.st_size, SNAP_GEN_SIZE);
        assert_int_equal(st.st_mode & 07777, 0644);
        g = snap_gen_map(gen);
        if (geteuid() != 0) {
                /* Readers trust root's files only. */
                assert_null(g);
                return;
        }
        assert_non_null(g);
        v = snap_gen_read(g);
        assert_true(v == 1);
        add_ok(f, "web");
        assert_true(snap_gen_read(g) == 2);
        assert_int_equal(dynid_publish(f->s), 0);
        assert_true(snap_gen_read(g) == 3);
        assert_int_equal(stat(gen, &st2), 0);
        assert_true(st2.st_ino == st.st_ino);
        assert_int_equal(munmap((void *) g, sizeof(*g)), 0);

        /* Others could write it: readers refuse; the writer puts it back. */
        assert_int_equal(chmod(gen, 0666), 0);
        assert_null(snap_gen_map(gen));
        assert_int_equal(snap_gen_bump(gen), 0);
        assert_int_equal(stat(gen, &st2), 0);
        assert_int_equal(st2.st_mode & 07777, 0644);

        /* Cut short: readers refuse; the writer grows it and counts on
         * from what is left (4 bytes of the 4 it held). */
        assert_int_equal(truncate(gen, 4), 0);
        assert_null(snap_gen_map(gen));
        assert_int_equal(snap_gen_bump(gen), 0);
        assert_int_equal(stat(gen, &st2), 0);
        assert_int_equal(st2.st_size, SNAP_GEN_SIZE);
        g = snap_gen_map(gen);
        assert_non_null(g);
        assert_true(snap_gen_read(g) == 5);
        assert_int_equal(munmap((void *) g, sizeof(*g)), 0);

        /* A FIFO neither blocks nor is used, a symlink is not followed:
         * each is replaced by a new file that counts from 1. */
        assert_int_equal(unlink(gen), 0);
        assert_int_equal(mkfifo(gen, 0644), 0);
        assert_null(snap_gen_map(gen));
        assert_int_equal(snap_gen_bump(gen), 0);
        assert_int_equal(lstat(gen, &st2), 0);
        assert_true(S_ISREG(st2.st_mode));
        assert_int_equal(st2.st_size, SNAP_GEN_SIZE);
        assert_int_equal(st2.st_mode & 07777, 0644);
        g = snap_gen_map(gen);
        assert_non_null(g);
        assert_true(snap_gen_read(g) == 1);
        assert_int_equal(munmap((void *) g, sizeof(*g)), 0);

        assert_int_equal(stat(f->snap, &st), 0);
        assert_int_equal(unlink(gen), 0);
        assert_int_equal(symlink(f->snap, gen), 0);
        assert_null(snap_gen_map(gen));
        assert_int_equal(snap_gen_bump(gen), 0);
        assert_int_equal(lstat(gen, &st2), 0);
        assert_true(S_ISREG(st2.st_mode));
        assert_int_equal(stat(f->snap, &st2), 0);
        assert_true(st2.st_mtim.tv_sec == st.st_mtim.tv_sec &&
                    st2.st_mtim.tv_nsec == st.st_mtim.tv_nsec);
        g = snap_gen_map(gen);
        assert_non_null(g);
        assert_true(snap_gen_read(g) == 1);
        assert_int_equal(munmap((void *) g, sizeof(*g)), 0);
}

/* A tree its owner made deeper than the descriptors a process may hold,
 * and wide at each level: purged all the same, with 64 descriptors. */
static void test_storage_purge_deep(void **state)
{
        struct fixture *f = *state;
        const char *web[] = { "web" };
        struct rlimit old, low;
        char path[PATH_MAX + 64];
        int fd, next;

        store_open(f);
        add_ok(f, "web");
        assert_int_equal(dynid_storage_open(f->s, "web", &fd), 0);
        for (int i = 0; i < 3000; i++) {
                assert_int_equal(mkdirat(fd, "a", 0755), 0);
                assert_int_equal(mkdirat(fd, "b", 0755), 0);
                next = openat(fd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                assert_true(next >= 0);
                close(next);
                next = openat(fd, i % 2 ? "a" : "b", O_RDONLY | O_DIRECTORY |
                              O_CLOEXEC);
                assert_true(next >= 0);
                close(fd);
                fd = next;
        }
        close(fd);
        assert_int_equal(dynid_lease_remove(f->s, web, 1, false, NULL), 0);

        assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
        low = (struct rlimit) { 64, old.rlim_max };
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
        assert_int_equal(dynid_storage_purge(f->s, "web"), 0);
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
        snprintf(path, sizeof(path), "%s/storage/web", f->state);
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(errno, ENOENT);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* A child that lives until its pipe closes: a session leader to record. */
static pid_t start_leader(int *wfd)
{
        int p[2];
        pid_t pid;
        char c;

        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[1]);
                _exit(read(p[0], &c, 1) < 0);
        }
        close(p[0]);
        *wfd = p[1];
        return pid;
}

/* As a launcher killed by SIGKILL: no close_session ever comes. */
static void stop_leader(pid_t pid, int wfd)
{
        int st;

        close(wfd);
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(waitpid(pid, &st, 0), pid);
}

static void test_sessions(void **state)
{
        struct fixture *f = *state;
        const char *web[] = { "web" };
        struct dynid_lease l;
        struct dynid_err err = { "" };
        pid_t a, b;
        int wa, wb;

        store_open(f);
        add_ok(f, "web");
        a = start_leader(&wa);
        b = start_leader(&wb);
        assert_int_equal(dynid_session_open(f->s, "web", a, &err), 0);
        assert_int_equal(dynid_session_open(f->s, "web", b, &err), 0);
        assert_int_equal(dynid_lease_find(f->s, "web", &l), 0);
        assert_int_equal(l.sessions, 2);
        assert_true(l.last_used >= l.created);

        /* Live sessions hold the lease. */
        assert_int_equal(dynid_lease_remove(f->s, web, 1, false, &err),
                         -EBUSY);
        assert_string_equal(err.msg, "'web' has 2 live session(s)");

        /* A closed session ends; a killed leader stops counting at once
         * and its record goes with the next gc. */
        assert_int_equal(dynid_session_close(f->s, a), 0);
        assert_int_equal(dynid_session_close(f->s, a), -ENOENT);
        stop_leader(a, wa);
        stop_leader(b, wb);
        assert_int_equal(dynid_lease_find(f->s, "web", &l), 0);
        assert_int_equal(l.sessions, 0);
        assert_int_equal(dynid_gc(f->s, time(NULL), false, NULL, NULL), 0);
        assert_int_equal(dynid_session_close(f->s, b), -ENOENT);
        assert_int_equal(dynid_lease_remove(f->s, web, 1, false, &err), 0);

        /* No session for a name without a lease, or a process gone. */
        assert_int_equal(dynid_session_open(f->s, "web", getpid(), &err),
                         -ENOENT);
        assert_string_equal(err.msg, "'web' has no lease");
        add_ok(f, "web");
        assert_int_equal(dynid_session_open(f->s, "web", b, &err), -ENOENT);
}

static void test_storage(void **state)
{
        struct fixture *f = *state;
        const char *web[] = { "web" };
        char path[PATH_MAX + 64], outside[PATH_MAX + 64];
        struct stat st;
        int fd;

        store_open(f);
        add_ok(f, "web");
        snprintf(path, sizeof(path), "%s/storage", f->state);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        snprintf(path, sizeof(path), "%s/storage/web", f->state);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
        assert_int_equal(st.st_uid, geteuid() == 0 ? DYNID_FOREIGN_BASE
                                                    : geteuid());
        assert_int_equal(dynid_storage_open(f->s, "web", &fd), 0);
        close(fd);

        /* Purging follows no symlink out of the tree. */
        snprintf(outside, sizeof(outside), "%s/precious", f->etc);
        tmpdir_write(f->etc, "precious", "keep", NULL);
        snprintf(path, sizeof(path), "%s/storage/web/sub", f->state);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/storage/web/sub/link", f->state);
        assert_int_equal(symlink(outside, path), 0);
        snprintf(path, sizeof(path), "%s/storage/web/dirlink", f->state);
        assert_int_equal(symlink(f->etc, path), 0);

        /* Removing keeps the storage, purging deletes it. */
        assert_int_equal(dynid_lease_remove(f->s, web, 1, false, NULL), 0);
        assert_int_equal(dynid_storage_open(f->s, "web", &fd), 0);
        close(fd);
        assert_int_equal(dynid_storage_purge(f->s, "web"), 0);
        assert_int_equal(dynid_storage_open(f->s, "web", &fd), -ENOENT);
        assert_int_equal(stat(outside, &st), 0);
        assert_int_equal(dynid_storage_purge(f->s, "web"), 0);

        /* A symlink in place of a storage directory is not followed. */
        snprintf(path, sizeof(path), "%s/storage/web", f->state);
        assert_int_equal(symlink(f->etc, path), 0);
        assert_int_equal(dynid_storage_open(f->s, "web", &fd), -ELOOP);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_fresh_status),
                T(test_add_preferred_slot),
                T(test_add_idempotent),
                T(test_remove_and_add_again),
                T(test_remove_unknown),
                T(test_order_does_not_matter),
                T(test_collision_next_free),
                T(test_pool_exhausted),
                T(test_pool_without_block),
                T(test_invalid_name_in_batch),
                T(test_name_of_other_source),
                T(test_pool_conflict_refused),
                T(test_persistence),
                T(test_find_id),
                T(test_find_id_adjacent),
                T(test_snapshot_content),
                T(test_snapshot_follows_changes),
                T(test_generation_file),
                T(test_check_good),
                T(test_check_snapshot_missing),
                T(test_check_snapshot_mode),
                T(test_check_snapshot_link_and_generation),
                T(test_publish_target_directory),
                T(test_check_snapshot_older),
                T(test_check_pool_conflict),
                T(test_map_full),
                T(test_gc),
                T(test_gc_disabled),
                T(test_sessions),
                T(test_storage),
                T(test_storage_purge_deep),
                T(test_block_size_change),
                T(test_db_dir_mode),
                T(test_db_not_a_directory),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
