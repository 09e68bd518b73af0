/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <lmdb.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "dynid.h"
#include "record.h"
#include "util.h"

#define GECOS_PREFIX DYNID_GECOS_PREFIX

/* The names in ETC/passwd or ETC/group, sorted, kept while the file is
 * the one they were read from (conflict.c). */
struct name_set {
        struct stat st;
        bool loaded;
        char **names;
        size_t n;
};

struct dynid_store {
        struct dynid_config cfg;        /* a private copy */
        char *state_dir;
        char *db_path;
        char *snapshot_path;
        char *gen_path;         /* nss.gen, see record.h */
        char *etc_dir;
        bool no_nss;
        int nss_more;   /* NSS has sources beyond files and dynid: 1, 0,
                         * or -1 when not read yet (conflict.c) */
        bool read_only;
        int db_fd;                      /* the db/ directory, for flock() */
        MDB_env *env;
        MDB_dbi dbi_lease;              /* name -> struct lease_val */
        MDB_dbi dbi_block;              /* base (MDB_INTEGERKEY) -> name */
        MDB_dbi dbi_meta;               /* key -> value */
        MDB_dbi dbi_session;            /* pid (MDB_INTEGERKEY) -> session */
        struct name_set etc_names[2];   /* passwd, group */
        /* How the last write_end() failed: the file at fault, if one is,
         * and whether the change had been committed before it did. */
        const char *failed_path;
        bool committed;
};

/* The value of a lease in the database. */
struct lease_val {
        uint32_t base;
        uint32_t size;
        uint64_t created;
        uint64_t last_used;
};

/* LMDB result -> 0 or -errno (STYLE.md: translated once, here). */
int mdb_to_errno(int rc);


/*
 * A write: takes the writer lock, begins a write transaction. write_end()
 * commits (after preparing the snapshot, so that a failed publish changes
 * nothing) or aborts, then renames the snapshot and drops the lock.
 */
int write_begin(struct dynid_store *s, MDB_txn **ret);
int write_end(struct dynid_store *s, MDB_txn *txn, int r);
/*
 * Ends a write that the snapshot does not show (sessions, last use): no new
 * generation and no publish, and the commit does not wait for LMDB's meta
 * page to reach the disk, so a crash may undo it (ACI without D). That is
 * safe for session records: a lost one is a session that the reboot ended
 * anyway, and gc reaps what a lost close leaves.
 */
int write_end_private(struct dynid_store *s, MDB_txn *txn, int r);

int read_begin(struct dynid_store *s, MDB_txn **ret);

int lease_get(struct dynid_store *s, MDB_txn *txn, const char *name,
              struct lease_val *ret);
/* The lease named by the LMDB value @name (an index entry); its name is
 * copied to @buf. An entry that names no lease is -EIO: the indexes
 * disagree. */
int lease_get_val(struct dynid_store *s, MDB_txn *txn, const MDB_val *name,
                  char buf[DYNID_NAME_MAX + 1], struct lease_val *ret);
void lease_fill(const char *name, size_t len, const struct lease_val *v,
                struct dynid_lease *ret);

/* Every lease, ordered by base, as seen by @txn. */
int lease_list_txn(struct dynid_store *s, MDB_txn *txn,
                   struct dynid_lease **ret, size_t *n);

/* The value of @key in @dbi, which must be exactly @size bytes (-EIO if
 * not); -ENOENT when there is none. */
int db_get_fixed(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
                 void *ret, size_t size);

int meta_get_u64(struct dynid_store *s, MDB_txn *txn, const char *key,
                 uint64_t *ret);
int meta_put_u64(struct dynid_store *s, MDB_txn *txn, const char *key,
                 uint64_t v);

/* Snapshot (publish.c). */
int snapshot_prepare(struct dynid_store *s, MDB_txn *txn, char **ret_tmp);
int snapshot_commit(struct dynid_store *s, const char *tmp);
void snapshot_discard(const char *tmp);
/* Removes temporary files that a writer killed while publishing left
 * behind. Only with the writer lock held. */
void snapshot_sweep(struct dynid_store *s);
/* The meta record of the snapshot at @path. -ENOENT when there is none,
 * -EBADMSG (or another -errno) when it cannot be read. */
int snapshot_read_meta(const char *path, struct snap_meta *ret);
/* Opens the published snapshot read-only, as the NSS module does. */
int snapshot_open(const char *path, MDB_env **ret);
/* Expected record of a lease, strings in @buf. Returns 0 or -ERANGE. */
int snapshot_record(struct dynid_store *s, const char *name,
                    const struct lease_val *v, char *buf, size_t size,
                    struct snap_record *ret);

/* Sessions (session.c). */
struct session_val;
bool session_alive(uint32_t pid, const struct session_val *sv);
int session_count(struct dynid_store *s, MDB_txn *txn, const char *name,
                  uint32_t *ret);
/* Does a process run with a uid inside the block? */
bool block_in_use(uint32_t base, uint32_t size);
/* Ends the sessions whose process is gone; returns how many (or would). */
int session_reap(struct dynid_store *s, MDB_txn *txn, bool dry_run);

/* Conflicts (conflict.c). name_conflict() returns -EINVAL when another
 * source has @name, with the reason (which source) in @err. */
int name_conflict(struct dynid_store *s, const char *name,
                  struct dynid_err *err);
bool base_conflict(struct dynid_store *s, uint32_t base);
void name_sets_free(struct dynid_store *s);
/* Is @id inside the configured pool's slots? */
bool pool_contains(const struct dynid_config *cfg, uint32_t id);
