/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The layout of the published snapshot (nss.mdb), shared by the writer and
 * the NSS module. One unnamed LMDB database holds:
 *
 *   "M"                      -> struct snap_meta
 *   "n" NAME                 -> record
 *   "b" BASE (4 bytes, big-endian, so keys sort by ID) -> record
 *
 * A record is a struct snap_head followed by four NUL-terminated strings:
 * the service name, the GECOS field, the home and the shell. The writer has
 * already applied the configuration; the reader only copies.
 */

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/*
 * Next to the snapshot, nss.gen holds a counter that the writer increments
 * in place after each rename of a new snapshot. Readers map its first 8
 * bytes once and compare: an unchanged counter means an unchanged snapshot,
 * with no system call. The file is never truncated, renamed or replaced.
 */
#define SNAP_GEN_SIZE 4096

#define SNAP_MAGIC   0x534e5944u        /* "DYNS" */
#define SNAP_VERSION 1u

#define SNAP_KEY_META 'M'
#define SNAP_KEY_NAME 'n'
#define SNAP_KEY_BASE 'b'

struct snap_meta {
        uint32_t magic;
        uint32_t version;
        uint32_t block_size;
        uint32_t count;
        uint64_t generation;
        uint64_t published;     /* seconds since the epoch */
};

struct snap_head {
        uint32_t base;
        uint32_t size;
};

struct snap_record {
        uint32_t base;
        uint32_t size;
        const char *name;
        const char *gecos;
        const char *dir;
        const char *shell;
};

/* Key "b" + big-endian @base into @key (5 bytes). */
void snap_base_key(uint32_t base, unsigned char key[5]);

/*
 * Encodes @r into @buf. Returns the length needed; writes only when it is
 * not larger than @size.
 */
size_t snap_record_encode(const struct snap_record *r, void *buf,
                          size_t size);

/*
 * Decodes and validates a record read from the snapshot: the strings must
 * all be terminated inside the value and the block must not wrap.
 * Returns 0 or -EBADMSG.
 */
int snap_record_decode(const void *data, size_t len, struct snap_record *r);

/* Validates a meta value. Returns 0 or -EBADMSG. */
int snap_meta_decode(const void *data, size_t len, struct snap_meta *m);

/*
 * Opens the snapshot at @path read-only, without a lock file, close-on-exec,
 * and checks it: a non-empty regular file, no shorter than its pages, with
 * our meta record. Stores the environment, its database, the meta record
 * and the file's status.
 * Returns 0; -ENOENT when there is no snapshot; -EBADMSG when it is not a
 * usable snapshot; -ENOMEM; -EBADF.
 */
int snap_open(const char *path, MDB_env **ret_env, MDB_dbi *ret_dbi,
              struct snap_meta *ret_meta, struct stat *ret_st);

/*
 * Whether a file with status @st may be trusted by a reader: root's regular
 * file that group and others cannot write. A FIFO would block, and a file
 * that others may write could change under the mapping. Inside a user
 * namespace that does not map root (a pam_dynid session in mode=userns),
 * root's files show the overflow uid: only there does it stand for root.
 */
bool snap_file_trusted(const struct stat *st);

/*
 * Maps the counter of the generation file at @path read-only, after the
 * same checks as the snapshot (root's regular file that group and others
 * cannot write, at least 8 bytes). The descriptor is closed before
 * returning. Returns the mapping, or NULL.
 */
const uint64_t *snap_gen_map(const char *path);

/* Reads a mapped counter. */
static inline uint64_t snap_gen_read(const uint64_t *gen)
{
        return __atomic_load_n(gen, __ATOMIC_ACQUIRE);
}

/*
 * Increments the counter of the generation file at @path in place,
 * creating it (0644, SNAP_GEN_SIZE bytes) when missing and growing it when
 * short; it is never shrunk, since readers map it. Anything else at
 * @path (a symbolic link, a FIFO, a file that is not ours) is replaced by
 * a new file through rename(). Returns 0 or -errno.
 */
int snap_gen_bump(const char *path);
