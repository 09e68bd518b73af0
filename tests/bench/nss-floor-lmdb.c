/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libnss_floorlmdb.so.2: the least a module that reads dynid's snapshot
 * can cost in a fresh process, for tests/bench/run.sh. Built as dynid's
 * module is (LMDB linked in where configure could), it opens the snapshot
 * with LMDB on the first call and looks the name up with one mdb_get(),
 * and does nothing else that nss-dynid does: no generation file, no trust
 * checks, no locks, no copy of the record. Not safe for any real use.
 */
#include "config.h"

#include <errno.h>
#include <lmdb.h>
#include <nss.h>
#include <pwd.h>
#include <string.h>

#include "allocator/dynid.h"
#include "allocator/record.h"
#include "tests/bench/nss-floor.h"

#define SNAPSHOT_PATH LOCALSTATEDIR "/lib/dynid/nss.mdb"

enum nss_status _nss_floorlmdb_getpwnam_r(const char *name,
                                          struct passwd *pw, char *buf,
                                          size_t len, int *errnop)
        __attribute__((visibility("default")));

enum nss_status _nss_floorlmdb_getpwnam_r(const char *name,
                                          struct passwd *pw, char *buf,
                                          size_t len, int *errnop)
{
        static MDB_env *env;
        static MDB_txn *txn;
        static MDB_dbi dbi;
        unsigned char key[1 + DYNID_NAME_MAX];
        size_t n = strlen(name);
        MDB_val k = { 1 + n, key }, v;

        if (!env && (mdb_env_create(&env) != 0 ||
                     mdb_env_open(env, SNAPSHOT_PATH, MDB_RDONLY | MDB_NOLOCK |
                                  MDB_NOSUBDIR | MDB_NOTLS, 0) != 0 ||
                     mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0 ||
                     mdb_dbi_open(txn, NULL, 0, &dbi) != 0)) {
                *errnop = EIO;
                return NSS_STATUS_UNAVAIL;
        }
        if (n == 0 || n > DYNID_NAME_MAX)
                return NSS_STATUS_NOTFOUND;
        key[0] = SNAP_KEY_NAME;
        memcpy(key + 1, name, n);
        if (mdb_get(txn, dbi, &k, &v) != 0)
                return NSS_STATUS_NOTFOUND;
        return floor_answer(name, n, pw, buf, len, errnop);
}
