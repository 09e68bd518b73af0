/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nss-dynid: answers passwd and group queries for dynid leases from the
 * published snapshot. Loaded into every process, setuid ones included, so
 * it is silent, reads no environment and no configuration, and keeps every
 * string in the caller's buffer.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <lmdb.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "allocator/dynid.h"
#include "allocator/record.h"
#include "nss/nss-dynid.h"

#define SNAPSHOT_PATH LOCALSTATEDIR "/lib/dynid/nss.mdb"
#define GENERATION_PATH LOCALSTATEDIR "/lib/dynid/nss.gen"
#define DERIVED_HOME "/"

#define EXPORT __attribute__((visibility("default")))

/* Read transactions kept open between lookups, for reuse (see txn_get()). */
#define SPARE_TXNS 8

/* However quiet nss.gen is, the snapshot's identity is checked again after
 * this many seconds: a generation file that was replaced rather than
 * updated cannot leave a process on an old snapshot for long. */
#define RECHECK_SECONDS 2

/*
 * The open snapshot. Lookups hold the lock for reading; reopening (a new
 * snapshot was published, or we are a forked child) holds it for writing.
 * pthread_atfork() takes it around fork() so that a child never inherits
 * it locked.
 */
/* Writers first: with glibc's default, lookups in a busy threaded process
 * would starve fork() and a reopen forever. */
#define SNAP_LOCK_INIT PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP
static pthread_rwlock_t snap_lock = SNAP_LOCK_INIT;
static struct {
        MDB_env *env;
        MDB_dbi dbi;
        dev_t dev;
        ino_t ino;
        uint32_t block_size;
        bool forked;
        const uint64_t *gen;    /* the counter in nss.gen, or NULL */
        uint64_t gen_seen;      /* its value when env was last found current */
        time_t recheck_at;      /* coarse monotonic seconds */
        MDB_txn *spare[SPARE_TXNS];
} snap;
static pthread_once_t snap_once = PTHREAD_ONCE_INIT;

/*
 * Enumeration remembers the last base it returned, not a cursor: each call
 * looks up the next base afresh, so a snapshot that changes between calls
 * is simply followed.
 */
struct enumeration {
        pthread_mutex_t lock;
        bool started;
        bool done;
        uint32_t next;
};

static struct enumeration pw_enum = { .lock = PTHREAD_MUTEX_INITIALIZER };
static struct enumeration gr_enum = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Enumerations first, as enum_next() takes its lock before snap_lock. */
static void atfork_prepare(void)
{
        pthread_mutex_lock(&pw_enum.lock);
        pthread_mutex_lock(&gr_enum.lock);
        pthread_rwlock_wrlock(&snap_lock);
}

static void atfork_parent(void)
{
        pthread_rwlock_unlock(&snap_lock);
        pthread_mutex_unlock(&gr_enum.lock);
        pthread_mutex_unlock(&pw_enum.lock);
}

static void atfork_child(void)
{
        pthread_rwlockattr_t attr;

        /* The child's only thread has another TID than the one that took
         * the lock, and glibc's unlock goes by TID: start afresh instead.
         * LMDB environments must not cross fork(): reopen on next use. */
        pthread_rwlockattr_init(&attr);
        pthread_rwlockattr_setkind_np(&attr,
                PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        pthread_rwlock_init(&snap_lock, &attr);
        pthread_rwlockattr_destroy(&attr);
        pthread_mutex_init(&pw_enum.lock, NULL);
        pthread_mutex_init(&gr_enum.lock, NULL);
        snap.forked = true;
}

static void snap_init(void)
{
        pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static time_t coarse_now(void)
{
        struct timespec ts;

        /* Served by the vDSO: no system call. */
        if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) < 0)
                return 0;
        return ts.tv_sec;
}

/* Called with the lock held for writing. */
static void snap_close(void)
{
        /* In a forked child this only frees memory, unmaps the file and
         * closes its descriptor: without a lock file, nothing is shared
         * with the parent's copy. */
        for (size_t i = 0; i < SPARE_TXNS; i++) {
                if (snap.spare[i])
                        mdb_txn_abort(snap.spare[i]);
                snap.spare[i] = NULL;
        }
        if (snap.env)
                mdb_env_close(snap.env);
        snap.env = NULL;
        snap.forked = false;
}

/* LMDB calls this on a failed internal assertion (a snapshot damaged
 * inside its pages) and aborts afterwards; aborting here keeps it from
 * printing to the caller's stderr first. */
static void snap_assert(MDB_env *env, const char *msg)
{
        abort();
}

/* Called with the lock held for writing. */
static int snap_reopen(void)
{
        struct snap_meta m;
        struct stat st;
        MDB_env *env;
        MDB_dbi dbi;
        int r;

        snap_close();
        r = snap_open(SNAPSHOT_PATH, &env, &dbi, &m, &st);
        if (r < 0)
                return r;
        /* What was opened is what is checked. */
        if (!snap_file_trusted(&st)) {
                mdb_env_close(env);
                return -EBADMSG;
        }
        mdb_env_set_assert(env, snap_assert);
        snap.env = env;
        snap.dbi = dbi;
        snap.dev = st.st_dev;
        snap.ino = st.st_ino;
        snap.block_size = m.block_size;
        return 0;
}

/* The fast path, with the lock held for reading: no system call. */
static bool snap_fresh(void)
{
        return snap.env && !snap.forked && snap.gen &&
               snap_gen_read(snap.gen) == snap.gen_seen &&
               coarse_now() < snap.recheck_at;
}

/*
 * Called with the lock held for writing: 1 when the open snapshot is still
 * the one at SNAPSHOT_PATH, 0 when one must be opened, -errno when none
 * may be trusted.
 */
static int snap_still_current(void)
{
        struct stat st;

        if (!snap.env || snap.forked)
                return 0;
        if (stat(SNAPSHOT_PATH, &st) < 0)
                return errno == ENOENT ? -ENOENT : -EBADMSG;
        if (!snap_file_trusted(&st))
                return -EBADMSG;
        return snap.dev == st.st_dev && snap.ino == st.st_ino;
}

/*
 * Called with the lock held for writing: makes the open snapshot the one
 * at SNAPSHOT_PATH, or closes it when there is none that may be trusted.
 */
static int snap_refresh(void)
{
        time_t now = coarse_now();
        uint64_t g;
        int r;

        /* Another thread may have refreshed it while this one waited. */
        if (snap_fresh())
                return 0;
        if (!snap.gen || now >= snap.recheck_at) {
                if (snap.gen)
                        munmap((void *) snap.gen, sizeof(*snap.gen));
                snap.gen = snap_gen_map(GENERATION_PATH);
        }
        /* Read before the snapshot is looked at: a publish in between
         * shows as a changed counter at the next lookup. */
        g = snap.gen ? snap_gen_read(snap.gen) : 0;

        r = snap_still_current();
        if (r == 0)
                r = snap_reopen();
        if (r < 0) {
                snap_close();
                return r;
        }
        snap.gen_seen = g;
        snap.recheck_at = now + RECHECK_SECONDS;
        return 0;
}

/*
 * Returns 0 with the lock held for reading and a current snapshot open,
 * or -errno with the lock not held.
 */
static int snap_acquire(void)
{
        int r;

        pthread_once(&snap_once, snap_init);
        pthread_rwlock_rdlock(&snap_lock);
        if (snap_fresh())
                return 0;
        pthread_rwlock_unlock(&snap_lock);

        pthread_rwlock_wrlock(&snap_lock);
        r = snap_refresh();
        pthread_rwlock_unlock(&snap_lock);
        if (r < 0)
                return r;

        /* Whatever is open now is at least as new as what we saw. */
        pthread_rwlock_rdlock(&snap_lock);
        if (snap.env && !snap.forked)
                return 0;
        pthread_rwlock_unlock(&snap_lock);
        return -EAGAIN;
}

static void snap_release(void)
{
        pthread_rwlock_unlock(&snap_lock);
}

/*
 * A read transaction on the open snapshot, with the lock held for reading:
 * a spare one when there is one. The snapshot never changes and has no
 * writer, so a transaction stays valid until the environment is closed,
 * and is kept open between lookups rather than reset and renewed;
 * MDB_NOTLS lets it move between threads, and the slots hand it over with
 * acquire and release ordering. Returns NULL on failure.
 */
static MDB_txn *txn_get(void)
{
        MDB_txn *txn;

        for (size_t i = 0; i < SPARE_TXNS; i++) {
                txn = __atomic_exchange_n(&snap.spare[i], NULL,
                                          __ATOMIC_ACQUIRE);
                if (txn)
                        return txn;
        }
        return mdb_txn_begin(snap.env, NULL, MDB_RDONLY, &txn) == 0 ? txn
                                                                   : NULL;
}

static void txn_put(MDB_txn *txn)
{
        for (size_t i = 0; i < SPARE_TXNS; i++) {
                MDB_txn *none = NULL;

                if (__atomic_compare_exchange_n(&snap.spare[i], &none, txn,
                                                false, __ATOMIC_RELEASE,
                                                __ATOMIC_RELAXED))
                        return;
        }
        mdb_txn_abort(txn);
}

/* One answer: the record of the block and the offset inside it. */
struct answer {
        struct snap_record rec;
        uint32_t k;
};

static int get_record(MDB_txn *txn, const void *key, size_t klen,
                      struct snap_record *ret)
{
        MDB_val k = { klen, (void *) key }, v;
        int r;

        r = mdb_get(txn, snap.dbi, &k, &v);
        if (r == MDB_NOTFOUND)
                return -ENOENT;
        if (r != 0)
                return -EIO;
        return snap_record_decode(v.mv_data, v.mv_size, ret);
}

static int find_by_id(MDB_txn *txn, uint32_t id, struct answer *ret)
{
        unsigned char key[5];
        int r;

        uint32_t base = id - id % snap.block_size;

        snap_base_key(base, key);
        r = get_record(txn, key, sizeof(key), &ret->rec);
        if (r < 0)
                return r;
        if (ret->rec.base != base)
                return -EBADMSG;
        if (id - base >= ret->rec.size)
                return -ENOENT;
        ret->k = id - ret->rec.base;
        return 0;
}

static int find_service(MDB_txn *txn, const char *name,
                        struct snap_record *rec)
{
        unsigned char key[1 + DYNID_NAME_MAX];
        size_t len = strlen(name);
        int r;

        if (len == 0 || len > DYNID_NAME_MAX)
                return -ENOENT;
        key[0] = SNAP_KEY_NAME;
        memcpy(key + 1, name, len);
        r = get_record(txn, key, 1 + len, rec);
        if (r >= 0 && strcmp(rec->name, name) != 0)
                return -EBADMSG;
        return r;
}

static int find_by_name(MDB_txn *txn, const char *name, struct answer *ret)
{
        char service[DYNID_NAME_MAX + 1], canon[DYNID_NAME_MAX + 1];
        uint32_t k, id;
        int r;

        r = find_service(txn, name, &ret->rec);
        if (r != -ENOENT) {
                ret->k = 0;
                return r;
        }

        /* A derived name: only its canonical spelling resolves. */
        if (dynid_derived_parse(name, service, &k, &id) < 0)
                return -ENOENT;
        if (id == 0) {
                r = find_service(txn, service, &ret->rec);
                if (r >= 0 && k >= ret->rec.size)
                        r = -ENOENT;
                ret->k = k;
        } else {
                r = find_by_id(txn, id, ret);
        }
        if (r < 0)
                return r;
        if (ret->k == 0 ||
            dynid_derived_name(ret->rec.name, ret->rec.base, ret->k, canon,
                               sizeof(canon)) < 0 ||
            strcmp(canon, name) != 0)
                return -ENOENT;
        return 0;
}

typedef int (*find_fn)(MDB_txn *txn, const void *arg, struct answer *ret);

static int find_name_cb(MDB_txn *txn, const void *arg, struct answer *ret)
{
        return find_by_name(txn, arg, ret);
}

static int find_id_cb(MDB_txn *txn, const void *arg, struct answer *ret)
{
        return find_by_id(txn, *(const uint32_t *) arg, ret);
}

/* Copies strings one after another into the caller's buffer, from @used
 * on; the caller has checked that they fit. */
struct packer {
        char *buf;
        size_t used;
};

static char *pack(struct packer *p, const char *s)
{
        size_t l = strlen(s) + 1;
        char *d = p->buf + p->used;

        memcpy(d, s, l);
        p->used += l;
        return d;
}

static int fill_passwd(const struct answer *a, struct passwd *pw, char *buf,
                       size_t buflen)
{
        char name[DYNID_NAME_MAX + 1];
        const char *dir = a->k ? DERIVED_HOME : a->rec.dir;
        struct packer p = { buf, 0 };
        size_t need;

        if (a->k == 0)
                strcpy(name, a->rec.name);
        else if (dynid_derived_name(a->rec.name, a->rec.base, a->k, name,
                                    sizeof(name)) < 0)
                return -EBADMSG;

        need = strlen(name) + 1 + sizeof("*") + strlen(a->rec.gecos) + 1 +
               strlen(dir) + 1 + strlen(a->rec.shell) + 1;
        if (need > buflen)
                return -ERANGE;

        pw->pw_name = pack(&p, name);
        pw->pw_passwd = pack(&p, "*");
        pw->pw_gecos = pack(&p, a->rec.gecos);
        pw->pw_dir = pack(&p, dir);
        pw->pw_shell = pack(&p, a->rec.shell);
        pw->pw_uid = a->rec.base + a->k;
        pw->pw_gid = a->rec.base + a->k;
        return 0;
}

static int fill_group(const struct answer *a, struct group *gr, char *buf,
                      size_t buflen)
{
        char name[DYNID_NAME_MAX + 1];
        size_t pad = (alignof(char *) -
                      (uintptr_t) buf % alignof(char *)) % alignof(char *);
        struct packer p = { buf, pad + sizeof(char *) };

        if (a->k == 0)
                strcpy(name, a->rec.name);
        else if (dynid_derived_name(a->rec.name, a->rec.base, a->k, name,
                                    sizeof(name)) < 0)
                return -EBADMSG;
        if (buflen < pad + sizeof(char *) + strlen(name) + 1 + sizeof("*"))
                return -ERANGE;

        gr->gr_mem = (char **) (void *) (buf + pad);
        gr->gr_mem[0] = NULL;
        gr->gr_name = pack(&p, name);
        gr->gr_passwd = pack(&p, "*");
        gr->gr_gid = a->rec.base + a->k;
        return 0;
}

/* Maps -errno to an NSS status once, here (STYLE.md). */
static enum nss_status status_of(int r, int *errnop)
{
        if (r >= 0)
                return NSS_STATUS_SUCCESS;
        if (r == -ENOENT)
                return NSS_STATUS_NOTFOUND;
        if (r == -ERANGE) {
                *errnop = ERANGE;
                return NSS_STATUS_TRYAGAIN;
        }
        *errnop = -r;
        return NSS_STATUS_UNAVAIL;
}

enum which { PASSWD, GROUP };

static enum nss_status lookup(find_fn find, const void *arg, enum which w,
                              void *result, char *buf, size_t buflen,
                              int *errnop)
{
        int saved = errno, r;
        struct answer a;
        MDB_txn *txn;

        r = snap_acquire();
        if (r < 0) {
                /* No snapshot (or a damaged one): unavailable, at once. */
                errno = saved;
                *errnop = -r;
                return NSS_STATUS_UNAVAIL;
        }
        txn = txn_get();
        r = txn ? 0 : -EIO;
        if (r >= 0) {
                r = find(txn, arg, &a);
                if (r >= 0 && w == PASSWD)
                        r = fill_passwd(&a, result, buf, buflen);
                else if (r >= 0)
                        r = fill_group(&a, result, buf, buflen);
                txn_put(txn);
        }
        snap_release();
        errno = saved;
        return status_of(r == -EBADMSG ? -EIO : r, errnop);
}

EXPORT enum nss_status _nss_dynid_getpwnam_r(const char *name,
                                             struct passwd *pw, char *buf,
                                             size_t buflen, int *errnop)
{
        return lookup(find_name_cb, name, PASSWD, pw, buf, buflen, errnop);
}

EXPORT enum nss_status _nss_dynid_getpwuid_r(uid_t uid, struct passwd *pw,
                                             char *buf, size_t buflen,
                                             int *errnop)
{
        uint32_t id = uid;

        return lookup(find_id_cb, &id, PASSWD, pw, buf, buflen, errnop);
}

EXPORT enum nss_status _nss_dynid_getgrnam_r(const char *name,
                                             struct group *gr, char *buf,
                                             size_t buflen, int *errnop)
{
        return lookup(find_name_cb, name, GROUP, gr, buf, buflen, errnop);
}

EXPORT enum nss_status _nss_dynid_getgrgid_r(gid_t gid, struct group *gr,
                                             char *buf, size_t buflen,
                                             int *errnop)
{
        uint32_t id = gid;

        return lookup(find_id_cb, &id, GROUP, gr, buf, buflen, errnop);
}

static void enum_reset(struct enumeration *e)
{
        pthread_mutex_lock(&e->lock);
        e->started = true;
        e->done = false;
        e->next = 0;
        pthread_mutex_unlock(&e->lock);
}

static int find_next_cb(MDB_txn *txn, const void *arg, struct answer *ret)
{
        const struct enumeration *e = arg;
        unsigned char key[5];
        MDB_cursor *c;
        MDB_val k, v;
        int r;

        if (e->done)
                return -ENOENT;
        snap_base_key(e->next, key);
        k = (MDB_val) { sizeof(key), key };
        if (mdb_cursor_open(txn, snap.dbi, &c) != 0)
                return -EIO;
        r = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (r == 0 && (k.mv_size != 5 ||
                       ((unsigned char *) k.mv_data)[0] != SNAP_KEY_BASE))
                r = MDB_NOTFOUND;
        mdb_cursor_close(c);
        if (r == MDB_NOTFOUND)
                return -ENOENT;
        if (r != 0)
                return -EIO;
        ret->k = 0;
        r = snap_record_decode(v.mv_data, v.mv_size, &ret->rec);
        if (r < 0)
                return r;
        /* The next call starts after this base: it must be the key's, or
         * a damaged record could send enumeration round in a circle. */
        snap_base_key(ret->rec.base, key);
        if (memcmp(k.mv_data, key, sizeof(key)) != 0 ||
            ret->rec.base < e->next)
                return -EBADMSG;
        return 0;
}

static enum nss_status enum_next(struct enumeration *e, enum which w,
                                 void *result, char *buf, size_t buflen,
                                 int *errnop)
{
        enum nss_status st;
        void *res = result;

        pthread_mutex_lock(&e->lock);
        st = lookup(find_next_cb, e, w, res, buf, buflen, errnop);
        if (st == NSS_STATUS_SUCCESS) {
                uint32_t id = w == PASSWD ? ((struct passwd *) res)->pw_uid
                                          : ((struct group *) res)->gr_gid;

                e->done = id == UINT32_MAX;
                e->next = id + 1;
        }
        pthread_mutex_unlock(&e->lock);
        return st;
}

EXPORT enum nss_status _nss_dynid_setpwent(int stayopen)
{
        enum_reset(&pw_enum);
        return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status _nss_dynid_endpwent(void)
{
        enum_reset(&pw_enum);
        return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status _nss_dynid_getpwent_r(struct passwd *pw, char *buf,
                                             size_t buflen, int *errnop)
{
        return enum_next(&pw_enum, PASSWD, pw, buf, buflen, errnop);
}

EXPORT enum nss_status _nss_dynid_setgrent(int stayopen)
{
        enum_reset(&gr_enum);
        return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status _nss_dynid_endgrent(void)
{
        enum_reset(&gr_enum);
        return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status _nss_dynid_getgrent_r(struct group *gr, char *buf,
                                             size_t buflen, int *errnop)
{
        return enum_next(&gr_enum, GROUP, gr, buf, buflen, errnop);
}

/*
 * Our groups have no members, so a service's only group is its primary
 * one, which the caller already holds: there is never anything to add.
 */
EXPORT enum nss_status _nss_dynid_initgroups_dyn(const char *user,
                                                 gid_t group, long *start,
                                                 long *size, gid_t **groupsp,
                                                 long limit, int *errnop)
{
        return NSS_STATUS_NOTFOUND;
}
