/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Built only when LMDB is linked into the module from liblmdb.a (configure
 * --with-static-lmdb, the default where it links).
 *
 * Debian compiles liblmdb.a as position-independent executable code, which
 * goes into a shared object as long as every data symbol it names is
 * defined inside that object. The one it names from libc is stderr, and
 * only in mdb_assert_fail(), after the assertion callback that
 * nss-dynid.c installs on every environment: that callback aborts, so
 * this stand-in is never read. It is hidden, so no other code in the
 * process sees it, and the module exports nothing but _nss_dynid_*.
 */
void *stderr __attribute__((visibility("hidden")));
