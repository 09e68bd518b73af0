/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libdynid: the lease store of dynid.
 *
 * Every function returns an int: >= 0 on success, a negative errno value on
 * failure. The library never prints or logs. Where a failure needs more
 * words than an errno (which name, which line, which conflict), the caller
 * passes a struct dynid_err and the library writes one sentence into it;
 * the sentence never ends in a newline or a full stop.
 *
 * Caveats:
 *  - Only root opens the store: the database directory is 0700.
 *  - Writers serialise on an flock() of the database directory, held across
 *    the LMDB write transaction and the publish of the snapshot, so that
 *    snapshots are renamed into place in commit order.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DYNID_NAME_MAX 31               /* bytes, without the NUL */

#define DYNID_POOL_FIRST_DEFAULT 1879048192u   /* 0x70000000 */
#define DYNID_POOL_LAST_DEFAULT  2147352575u   /* 0x7FFDFFFF */
#define DYNID_BLOCK_SIZE_DEFAULT 65536u
#define DYNID_FOREIGN_BASE       2147352576u   /* 0x7FFE0000 */

/* Every service's GECOS field starts with this: it tells our own answers
 * from those of other NSS sources. */
#define DYNID_GECOS_PREFIX "dynid service "

struct dynid_err {
        char msg[512];
};

/* ---- names (names.c) --------------------------------------------------- */

/*
 * dynid_name_check() - is @name a valid service name?
 *
 * 1-31 bytes of [a-z_][a-z0-9_-]*, not all digits.
 * Returns 0, or -EINVAL with the reason in @err (may be NULL).
 */
int dynid_name_check(const char *name, struct dynid_err *err);

/*
 * dynid_hash() - the stable placement hash of a service name.
 *
 * 64-bit FNV-1a over the bytes of the name. It is part of the on-host
 * contract (the same name gets the same block everywhere): never change it.
 */
uint64_t dynid_hash(const char *name);

/*
 * dynid_derived_name() - name of ID @base + @k (0 < k) for service @name.
 *
 * "NAME+K" when that fits in DYNID_NAME_MAX bytes, else "PREFIX~ID" with
 * PREFIX the first bytes of NAME that fit and ID the full decimal ID.
 * Neither form can be a service name, as '+' and '~' are not allowed there.
 * Writes at most @size bytes including the NUL.
 * Returns the length, or -ERANGE when @size is too small.
 */
int dynid_derived_name(const char *name, uint32_t base, uint32_t k,
                       char *buf, size_t size);

/*
 * dynid_derived_parse() - split a derived name into its parts.
 *
 * For "NAME+K" stores NAME in @service (DYNID_NAME_MAX + 1 bytes) and sets
 * *@k, *@id = 0. For "PREFIX~ID" stores PREFIX in @service and sets *@id,
 * *@k = 0. The caller still has to find the lease and compare the result of
 * dynid_derived_name() with the input: only the canonical spelling is valid.
 * Returns 0, or -EINVAL when @s is not of either form.
 */
int dynid_derived_parse(const char *s, char *service, uint32_t *k,
                        uint32_t *id);

/* ---- configuration (config.c) ------------------------------------------ */

struct dynid_config {
        uint32_t pool_first;
        uint32_t pool_last;
        uint32_t block_size;
        char *home;             /* template, "%n" is the service name */
        char *shell;
        uint64_t idle_ttl;      /* seconds, 0 = never */
        uint32_t map_size_mib;  /* [store] map_size: the most the lease
                                 * database may grow to, in MiB */
};

/*
 * dynid_config_load() - read dynid.conf.
 *
 * Fills @cfg with the built-in defaults, then applies @path. A missing file
 * is not an error when @optional is true.
 * Returns 0; -ENOENT when the file is missing and not optional; -EINVAL on
 * an unknown section or key or a malformed value, with "PATH:LINE: why" in
 * @err; -ENOMEM; other -errno from opening or reading the file.
 * On failure @cfg holds nothing to free.
 */
int dynid_config_load(const char *path, bool optional,
                      struct dynid_config *cfg, struct dynid_err *err);

/* Fills @cfg with the built-in defaults. Returns 0 or -ENOMEM. */
int dynid_config_defaults(struct dynid_config *cfg);

/*
 * dynid_config_parse() - apply the @len bytes at @data, dynid.conf text,
 * over the built-in defaults, as dynid_config_load() does for a file;
 * @name stands for the file in messages.
 * Returns 0; -EINVAL with "NAME:LINE: why" in @err (a NUL byte, an unknown
 * section or key, a malformed value); -ENOMEM. On failure @cfg holds
 * nothing to free.
 */
int dynid_config_parse(const char *name, const char *data, size_t len,
                       struct dynid_config *cfg, struct dynid_err *err);

void dynid_config_free(struct dynid_config *cfg);

/*
 * dynid_config_home() - the home directory of service @name.
 * Returns the length, -ERANGE when @size is too small.
 */
int dynid_config_home(const struct dynid_config *cfg, const char *name,
                      char *buf, size_t size);

/* Number of whole, aligned blocks in the configured pool (may be 0). */
uint32_t dynid_pool_slots(const struct dynid_config *cfg);

/* Base ID of slot @slot (0 <= slot < dynid_pool_slots()). */
uint32_t dynid_pool_slot_base(const struct dynid_config *cfg, uint32_t slot);

/* ---- the store (store.c) ----------------------------------------------- */

struct dynid_store;

struct dynid_store_opts {
        const char *state_dir;  /* default: LOCALSTATEDIR "/lib/dynid" */
        const char *etc_dir;    /* where passwd, group, subuid, subgid live;
                                 * default "/etc" */
        size_t map_size;        /* LMDB map size in bytes; 0 = the
                                 * configuration's [store] map_size */
        bool no_nss;            /* do not ask NSS about conflicts (tests) */
        bool read_only;         /* open for reading only; no lock taken */
        /* Called with the database's map as soon as it exists, before it
         * is read. LMDB's map is larger than the file: a damaged page that
         * points past the file's end makes the reader fault with SIGBUS
         * inside this range, which a caller may report as damage. */
        void (*mapped)(const char *db_path, const void *addr, size_t len);
};

/*
 * dynid_store_open() - open (and on first use create) the lease store.
 *
 * Creates STATE_DIR (0755) and STATE_DIR/db (0700) when missing; refuses a
 * database directory that is not a directory owned by us with mode 0700.
 * Returns 0; -EACCES or -EPERM when not allowed; -ENOTDIR, -EPERM for a
 * wrong owner or mode; -EINVAL for a database written by another format or
 * another block size; -EIO for a damaged database; other -errno.
 */
int dynid_store_open(const struct dynid_config *cfg,
                     const struct dynid_store_opts *opts,
                     struct dynid_store **ret, struct dynid_err *err);

void dynid_store_close(struct dynid_store *s);

struct dynid_lease {
        char name[DYNID_NAME_MAX + 1];
        uint32_t base;
        uint32_t size;
        uint64_t created;       /* seconds since the epoch */
        uint64_t last_used;     /* seconds since the epoch */
        uint32_t sessions;      /* live sessions */
};

/*
 * dynid_lease_add() - lease every name of @names in one transaction.
 *
 * A name that already has a lease keeps it (idempotent). On success fills
 * @out[i] (may be NULL) for each name, then publishes the snapshot.
 * On any failure nothing is changed.
 * Returns the number of new leases; -EINVAL for an invalid name or a name
 * other sources already resolve (which and why in @err); -EEXIST for a pool
 * that conflicts with other sources of IDs; -ENOSPC when the pool is
 * exhausted or the database map is full (@err tells which); -EIO for a
 * damaged database; other -errno from LMDB or the publish.
 */
int dynid_lease_add(struct dynid_store *s, const char *const *names,
                    size_t n, struct dynid_lease *out, struct dynid_err *err);

/*
 * dynid_lease_remove() - end the leases of @names in one transaction.
 *
 * Returns 0; -ENOENT when a name has no lease; -EBUSY when a lease has live
 * sessions and @force is false; other -errno. On failure nothing changes.
 */
int dynid_lease_remove(struct dynid_store *s, const char *const *names,
                       size_t n, bool force, struct dynid_err *err);

/*
 * dynid_lease_find() - the lease of service @name.
 * Returns 0; -ENOENT when there is none; other -errno.
 */
int dynid_lease_find(struct dynid_store *s, const char *name,
                     struct dynid_lease *ret);

/*
 * dynid_lease_find_id() - the lease whose block contains @id.
 * Returns 0; -ENOENT when there is none; other -errno.
 */
int dynid_lease_find_id(struct dynid_store *s, uint32_t id,
                        struct dynid_lease *ret);

/*
 * dynid_lease_list() - every lease, ordered by base.
 * Stores a malloc()ed array in *@ret (free() it) and its length in *@n.
 * Returns 0 or -errno.
 */
int dynid_lease_list(struct dynid_store *s, struct dynid_lease **ret,
                     size_t *n);

struct dynid_status {
        uint32_t slots;         /* blocks in the pool */
        uint32_t used;          /* leases */
        uint64_t generation;    /* bumped by every committed change */
        int64_t db_mtime;       /* seconds since the epoch, -1 if unknown */
        int64_t snapshot_mtime; /* -1 when there is no snapshot */
        uint64_t snapshot_generation;
};

int dynid_store_status(struct dynid_store *s, struct dynid_status *ret);

/* Paths of the database directory and the snapshot. Never NULL. */
const char *dynid_store_db_path(const struct dynid_store *s);
const char *dynid_store_snapshot_path(const struct dynid_store *s);

/*
 * dynid_check() - verify every invariant.
 *
 * Calls @report once per problem with one sentence; stops early when it
 * returns non-zero. Returns the number of problems (>= 0) or -errno when
 * the check itself could not run.
 */
typedef int (*dynid_report_fn)(const char *problem, void *userdata);
int dynid_check(struct dynid_store *s, dynid_report_fn report,
                void *userdata);

/*
 * dynid_gc() - end the sessions whose process is gone, then reclaim leases
 * idle for longer than idle_ttl at time @now.
 *
 * With @dry_run nothing changes. @report, when not NULL, is called once per
 * reclaimed (or, with @dry_run, reclaimable) lease.
 * Returns the number of leases reclaimed (or reclaimable) or -errno.
 */
typedef int (*dynid_lease_fn)(const struct dynid_lease *lease,
                              void *userdata);
int dynid_gc(struct dynid_store *s, uint64_t now, bool dry_run,
             dynid_lease_fn report, void *userdata);

/*
 * dynid_publish() - write the snapshot again from the database.
 * Returns 0 or -errno; dynid_store_failed_path() then names the file at
 * fault, when one is.
 */
int dynid_publish(struct dynid_store *s);

/*
 * dynid_store_failed_path() - the file (snapshot, nss.gen, state
 * directory) that made the last write of @s fail, or NULL.
 */
const char *dynid_store_failed_path(const struct dynid_store *s);

/* ---- storage (storage.c) ----------------------------------------------- */

/*
 * dynid_storage_open() - an O_PATH descriptor of STATE/storage/NAME,
 * resolved without following any symlink and without leaving STATE.
 * Returns 0; -ENOENT when there is no storage; -ELOOP for a symlink;
 * -EPERM when STATE/storage is not ours; -EINVAL for an invalid name.
 */
int dynid_storage_open(struct dynid_store *s, const char *name, int *ret);

/*
 * dynid_storage_purge() - delete STATE/storage/NAME and all below it,
 * following no symlink. A missing storage is not an error.
 * Returns 0 or -errno.
 */
int dynid_storage_purge(struct dynid_store *s, const char *name);

/*
 * dynid_storage_create() - create STATE/storage/NAME if missing, owned by
 * DYNID_FOREIGN_BASE (by the caller when it is not root), mode 0755.
 * Returns 0 or -errno.
 */
int dynid_storage_create(struct dynid_store *s, const char *name);

/* ---- idmapped homes (idmap.c) ------------------------------------------ */

/*
 * dynid_userns_fd() - a descriptor of a new, empty user namespace whose
 * uid_map and gid_map are both @map ("INSIDE OUTSIDE COUNT\n"). The helper
 * process is created with no exit signal and reaped by its pid.
 * Returns 0 or -errno.
 */
int dynid_userns_fd(const char *map, int *ret);

/*
 * dynid_idmap_tree() - a detached, idmapped clone of the storage directory
 * @storage_fd: files owned by DYNID_FOREIGN_BASE + k appear owned by
 * @base + k, with nosuid and nodev. Needs CAP_SYS_ADMIN in the initial user
 * namespace. Stores a close-on-exec mount descriptor in *@ret.
 * Returns 0; -EINVAL or -EOPNOTSUPP when the filesystem cannot be idmapped
 * (@err names the filesystem); -EPERM; other -errno.
 */
int dynid_idmap_tree(int storage_fd, uint32_t base, uint32_t size, int *ret,
                     struct dynid_err *err);

/*
 * dynid_enter_userns() - move the calling process into a new user
 * namespace with @map as its uid_map and gid_map, written by a helper
 * process that stays behind and is reaped by its pid.
 * Returns 0; -EINVAL when the caller has more than one thread; -EPERM when
 * the maps could not be written; other -errno.
 */
int dynid_enter_userns(const char *map);

/*
 * dynid_make_home_dir() - make sure the mount point @path exists, walking
 * it from "/" without following a symlink, creating what is missing
 * (root's, 0755). Every directory on the way must be root's and writable
 * by nobody else, or sticky like /tmp: a home that another user could
 * redirect would let a session mount its own files over anything. Below
 * a sticky directory that others may write, the next directory must be
 * root's and not a mount point, the home's mount point included. Nothing
 * on the way may be on FUSE, whose owners its daemon makes up. Returns 0;
 * -ELOOP for a symlink on the way; -EPERM for a directory that breaks
 * these rules; -EINVAL for a relative path, "." or ".."; other -errno.
 */
int dynid_make_home_dir(const char *path);

/*
 * dynid_home_dir_empty() - is the mount point @path an empty directory?
 * A home is attached only over nothing: a template such as "/%n" would
 * otherwise let a service named "etc" cover /etc in its sessions.
 * Returns 0; -ENOTEMPTY; other -errno.
 */
int dynid_home_dir_empty(const char *path);

/* ---- sessions (session.c) ---------------------------------------------- */

/*
 * dynid_session_open() - record a session of lease @name led by @pid, with
 * the process's start time and the boot ID, and mark the lease used now.
 * Returns 0; -ENOENT when @name has no lease; -ESRCH when @pid is gone;
 * other -errno.
 */
int dynid_session_open(struct dynid_store *s, const char *name, uint32_t pid,
                       struct dynid_err *err);

/*
 * dynid_session_close() - end the session led by @pid.
 * Returns 0; -ENOENT when there is none; other -errno.
 */
int dynid_session_close(struct dynid_store *s, uint32_t pid);

/* ---- conflicts with other sources of IDs (conflict.c) ------------------ */

/*
 * dynid_pool_conflict() - does the pool overlap IDs that belong to others?
 *
 * Looks at the special IDs 65534, 65535 and 4294967295, the IDs in
 * ETC/passwd and ETC/group and the ranges of ETC/subuid and ETC/subgid.
 * Returns 0 when there is no conflict, -EEXIST with the conflict named in
 * @err, or -errno when a file could not be read (a missing file is fine).
 */
int dynid_pool_conflict(const struct dynid_config *cfg, const char *etc_dir,
                        struct dynid_err *err);
