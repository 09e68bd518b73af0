/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sessions: one record per session leader, keyed by pid, with what tells
 * later whether that process still lives (its start time and the boot).
 * pam_close_session may run unprivileged, so "dynidctl gc" reaps what was
 * never closed.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store-internal.h"

struct session_val {
        char name[DYNID_NAME_MAX + 1];
        char boot_id[37];
        uint64_t start_time;    /* clock ticks after boot, /proc/PID/stat */
        uint64_t opened;        /* seconds since the epoch */
};

static int read_small(const char *path, char *buf, size_t size)
{
        ssize_t n;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        close(fd);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return 0;
}

static int boot_id(char ret[37])
{
        char buf[64];
        int r;

        r = read_small("/proc/sys/kernel/random/boot_id", buf, sizeof(buf));
        if (r < 0)
                return r;
        if (strlen(buf) < 36)
                return -EIO;
        memcpy(ret, buf, 36);
        ret[36] = 0;
        return 0;
}

/* Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces
 * and parentheses, so counting starts after its last ')'. A zombie has
 * ended already: -ESRCH. */
static int start_time(uint32_t pid, uint64_t *ret)
{
        char path[64], buf[2048], *p;
        unsigned long long v;
        int r;

        snprintf(path, sizeof(path), "/proc/%u/stat", pid);
        r = read_small(path, buf, sizeof(buf));
        if (r < 0)
                return r;
        p = strrchr(buf, ')');
        if (!p || !p[1] || !p[2])
                return -EIO;
        if (p[2] == 'Z' || p[2] == 'X')
                return -ESRCH;
        for (int field = 2; field < 22; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EIO;
        }
        if (sscanf(p + 1, "%llu", &v) != 1)
                return -EIO;
        *ret = v;
        return 0;
}

int dynid_session_open(struct dynid_store *s, const char *name, uint32_t pid,
                       struct dynid_err *err)
{
        struct session_val sv = { .opened = time(NULL) };
        struct lease_val lv;
        MDB_val k = { sizeof(pid), &pid }, v = { sizeof(sv), &sv };
        MDB_val lk = { strlen(name), (void *) name };
        MDB_txn *txn;
        int r;

        if (dynid_name_check(name, err) < 0)
                return -EINVAL;
        r = boot_id(sv.boot_id);
        if (r >= 0)
                r = start_time(pid, &sv.start_time);
        if (r < 0) {
                set_errf(err, "cannot read the state of process %u: %s", pid,
                         strerror(-r));
                return r;
        }
        strcpy(sv.name, name);

        r = write_begin(s, &txn);
        if (r < 0)
                return r;
        r = lease_get(s, txn, name, &lv);
        if (r == -ENOENT)
                set_errf(err, "'%s' has no lease", name);
        if (r >= 0) {
                lv.last_used = sv.opened;
                r = mdb_to_errno(mdb_put(txn, s->dbi_session, &k, &v, 0));
        }
        if (r >= 0) {
                MDB_val lval = { sizeof(lv), &lv };

                r = mdb_to_errno(mdb_put(txn, s->dbi_lease, &lk, &lval, 0));
        }
        return write_end_private(s, txn, r);
}

/* Ends the session of @pid: its lease was used until now. */
static int session_end(struct dynid_store *s, MDB_txn *txn, uint32_t pid,
                       const struct session_val *sv)
{
        MDB_val k = { sizeof(pid), &pid };
        struct lease_val lv;
        int r;

        r = mdb_to_errno(mdb_del(txn, s->dbi_session, &k, NULL));
        if (r < 0)
                return r;
        if (lease_get(s, txn, sv->name, &lv) >= 0) {
                MDB_val lk = { strlen(sv->name), (void *) sv->name };
                MDB_val lval = { sizeof(lv), &lv };

                lv.last_used = time(NULL);
                r = mdb_to_errno(mdb_put(txn, s->dbi_lease, &lk, &lval, 0));
        }
        return r;
}

static int session_get(struct dynid_store *s, MDB_txn *txn, uint32_t pid,
                       struct session_val *ret)
{
        return db_get_fixed(txn, s->dbi_session, &pid, sizeof(pid), ret,
                            sizeof(*ret));
}

int dynid_session_close(struct dynid_store *s, uint32_t pid)
{
        struct session_val sv;
        MDB_txn *txn;
        int r;

        r = write_begin(s, &txn);
        if (r < 0)
                return r;
        r = session_get(s, txn, pid, &sv);
        if (r >= 0)
                r = session_end(s, txn, pid, &sv);
        return write_end_private(s, txn, r);
}

bool session_alive(uint32_t pid, const struct session_val *sv)
{
        char boot[37];
        uint64_t st;

        return boot_id(boot) >= 0 && strcmp(boot, sv->boot_id) == 0 &&
               start_time(pid, &st) >= 0 && st == sv->start_time;
}

/* Does any process run with an ID (real, effective, saved or filesystem
 * uid) inside the block? A session ends with its leader, but what the
 * leader started may still run: such a lease is not idle. */
bool block_in_use(uint32_t base, uint32_t size)
{
        struct dirent *de;
        bool used = false;
        DIR *d;

        d = opendir("/proc");
        if (!d)
                return true;    /* cannot tell: keep the lease */
        while (!used && (de = readdir(d))) {
                char path[300], line[256];
                FILE *f;

                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
                f = fopen(path, "re");
                if (!f)
                        continue;
                while (fgets(line, sizeof(line), f)) {
                        unsigned long id[4];

                        if (sscanf(line, "Uid: %lu %lu %lu %lu", &id[0],
                                   &id[1], &id[2], &id[3]) != 4)
                                continue;
                        for (int i = 0; i < 4; i++)
                                used |= id[i] >= base &&
                                        id[i] - base < size;
                        break;
                }
                fclose(f);
        }
        closedir(d);
        return used;
}

typedef int (*session_fn)(uint32_t pid, const struct session_val *sv,
                          void *userdata);

/* Calls @fn for every recorded session; stops at its first error. */
static int session_foreach(struct dynid_store *s, MDB_txn *txn,
                           session_fn fn, void *userdata)
{
        MDB_cursor *c;
        MDB_val k, v;
        int r, op;

        r = mdb_to_errno(mdb_cursor_open(txn, s->dbi_session, &c));
        if (r < 0)
                return r;
        for (op = MDB_FIRST;; op = MDB_NEXT) {
                struct session_val sv;
                uint32_t pid;

                r = mdb_to_errno(mdb_cursor_get(c, &k, &v, op));
                if (r < 0)
                        break;
                if (v.mv_size != sizeof(sv) || k.mv_size != sizeof(pid)) {
                        r = -EIO;
                        break;
                }
                memcpy(&sv, v.mv_data, sizeof(sv));
                memcpy(&pid, k.mv_data, sizeof(pid));
                r = fn(pid, &sv, userdata);
                if (r < 0)
                        break;
        }
        mdb_cursor_close(c);
        return r == -ENOENT ? 0 : r;
}

struct counting {
        const char *name;
        uint32_t n;
};

/* Only live ones: a killed launcher leaves a record that gc reaps, and
 * until then the lease is idle all the same. */
static int count_live(uint32_t pid, const struct session_val *sv,
                      void *userdata)
{
        struct counting *c = userdata;

        if (strcmp(sv->name, c->name) == 0)
                c->n += session_alive(pid, sv);
        return 0;
}

int session_count(struct dynid_store *s, MDB_txn *txn, const char *name,
                  uint32_t *ret)
{
        struct counting c = { name, 0 };
        int r;

        r = session_foreach(s, txn, count_live, &c);
        if (r < 0)
                return r;
        *ret = c.n;
        return 0;
}

struct dead_list {
        uint32_t *pids;
        size_t n;
};

static int collect_dead(uint32_t pid, const struct session_val *sv,
                        void *userdata)
{
        struct dead_list *d = userdata;
        uint32_t *np;

        if (session_alive(pid, sv))
                return 0;
        np = reallocarray(d->pids, d->n + 1, sizeof(*np));
        if (!np)
                return -ENOMEM;
        d->pids = np;
        d->pids[d->n++] = pid;
        return 0;
}

int session_reap(struct dynid_store *s, MDB_txn *txn, bool dry_run)
{
        struct dead_list d = { NULL, 0 };
        int r;

        /* Collected first: deleting under a cursor would move it. */
        r = session_foreach(s, txn, collect_dead, &d);
        for (size_t i = 0; r >= 0 && !dry_run && i < d.n; i++) {
                struct session_val sv;

                r = session_get(s, txn, d.pids[i], &sv);
                if (r >= 0)
                        r = session_end(s, txn, d.pids[i], &sv);
        }
        free(d.pids);
        return r < 0 ? r : (int) d.n;
}
