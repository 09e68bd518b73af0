/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the NSS module reading snapshots of arbitrary content.
 * Each input is a list of entries (key length: 1 byte, key, value length:
 * 2 bytes, value), written with LMDB into a new file that is renamed over
 * the snapshot the module reads (nss.gen is incremented, as the writer
 * does); the meta record, the records and the keys are whatever the input
 * says. Then the module answers lookups by name and ID and enumerates: it
 * may answer "not found" or "unavailable", but never crashes, never loops
 * and keeps the NSS rules.
 *
 * LMDB's own page structure is LMDB's to check, and it has no checksums:
 * a snapshot damaged below the records (a bit flipped on disk) can make
 * LMDB abort in the reading process. Only root writes the snapshot, and
 * "dynidctl check --repair" writes it again (SECURITY.md). This target
 * therefore varies the content, not LMDB's pages. The corpus holds the
 * entries of real snapshots (tests/fuzz/corpus/snapshot).
 *
 * Built with LOCALSTATEDIR under FUZZ_ROOT (tests/fuzz/run.sh, as root in
 * the sandbox).
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dynid.h"
#include "nss/nss-dynid.h"
#include "record.h"

#define SNAP_DIR LOCALSTATEDIR "/lib/dynid"
#define SENTINEL 7777

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        mkdir(LOCALSTATEDIR, 0755);
        mkdir(LOCALSTATEDIR "/lib", 0755);
        mkdir(SNAP_DIR, 0755);
        return 0;
}

/* Writes the entries of @data into a new LMDB file and renames it over the
 * snapshot. Returns the first ID found in a value, for lookups by ID. */
static uint32_t publish(const unsigned char *data, size_t size)
{
        const char *tmp = SNAP_DIR "/.fuzz.mdb";
        const unsigned char *p = data, *end = data + size;
        uint32_t id = 65536;
        MDB_env *env;
        MDB_txn *txn;
        MDB_dbi dbi;

        unlink(tmp);
        if (mdb_env_create(&env) != 0 ||
            mdb_env_set_mapsize(env, 1 << 20) != 0 ||
            mdb_env_open(env, tmp, MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOSYNC,
                         0644) != 0 ||
            mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
            mdb_dbi_open(txn, NULL, 0, &dbi) != 0)
                abort();
        while (end - p >= 3) {
                size_t klen = p[0], vlen;
                MDB_val k, v;

                if ((size_t) (end - p) < 1 + klen + 2)
                        break;
                k = (MDB_val) { klen, (void *) (p + 1) };
                p += 1 + klen;
                vlen = p[0] | p[1] << 8;
                p += 2;
                if ((size_t) (end - p) < vlen)
                        vlen = end - p;
                v = (MDB_val) { vlen, (void *) p };
                p += vlen;
                if (vlen >= 4 && id == 65536)
                        memcpy(&id, v.mv_data, 4);
                if (klen > 0)
                        mdb_put(txn, dbi, &k, &v, 0);
        }
        if (mdb_txn_commit(txn) != 0)
                abort();
        mdb_env_close(env);
        if (rename(tmp, SNAP_DIR "/nss.mdb") < 0 ||
            snap_gen_bump(SNAP_DIR "/nss.gen") < 0)
                abort();
        return id;
}

static void check(enum nss_status st, int e, int saved)
{
        if (errno != saved)
                abort();
        if ((st == NSS_STATUS_SUCCESS || st == NSS_STATUS_NOTFOUND) &&
            e != SENTINEL)
                abort();
        if (st == NSS_STATUS_TRYAGAIN && e != ERANGE)
                abort();
        if (st == NSS_STATUS_UNAVAIL && e == SENTINEL)
                abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        const char *names[] = { "web", "db", "web+7", "db~3", "s1" };
        struct passwd pw;
        struct group gr;
        char buf[1024];
        enum nss_status st;
        uint32_t id;
        int e, saved = 4321, n;

        id = publish(data, size);
        errno = saved;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                e = SENTINEL;
                st = _nss_dynid_getpwnam_r(names[i], &pw, buf, sizeof(buf),
                                           &e);
                check(st, e, saved);
                if (st == NSS_STATUS_SUCCESS && strcmp(pw.pw_name, names[i]))
                        abort();
                e = SENTINEL;
                check(_nss_dynid_getgrnam_r(names[i], &gr, buf, sizeof(buf),
                                            &e), e, saved);
        }
        for (uint32_t d = 0; d < 3; d++) {
                e = SENTINEL;
                st = _nss_dynid_getpwuid_r(id + d, &pw, buf, sizeof(buf), &e);
                check(st, e, saved);
                if (st == NSS_STATUS_SUCCESS && pw.pw_uid != id + d)
                        abort();
                e = SENTINEL;
                check(_nss_dynid_getgrgid_r(id + d, &gr, buf, sizeof(buf),
                                            &e), e, saved);
        }
        /* Enumeration ends: each step moves to a higher base. */
        _nss_dynid_setpwent(0);
        for (n = 0; n < 100000; n++) {
                e = SENTINEL;
                st = _nss_dynid_getpwent_r(&pw, buf, sizeof(buf), &e);
                check(st, e, saved);
                if (st != NSS_STATUS_SUCCESS)
                        break;
        }
        if (n == 100000)
                abort();
        _nss_dynid_endpwent();
        return 0;
}
