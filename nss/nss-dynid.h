/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The entry points glibc looks up in libnss_dynid.so.2. */

#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <sys/types.h>

enum nss_status _nss_dynid_getpwnam_r(const char *name, struct passwd *pw,
                                      char *buf, size_t buflen, int *errnop);
enum nss_status _nss_dynid_getpwuid_r(uid_t uid, struct passwd *pw,
                                      char *buf, size_t buflen, int *errnop);
enum nss_status _nss_dynid_setpwent(int stayopen);
enum nss_status _nss_dynid_getpwent_r(struct passwd *pw, char *buf,
                                      size_t buflen, int *errnop);
enum nss_status _nss_dynid_endpwent(void);

enum nss_status _nss_dynid_getgrnam_r(const char *name, struct group *gr,
                                      char *buf, size_t buflen, int *errnop);
enum nss_status _nss_dynid_getgrgid_r(gid_t gid, struct group *gr,
                                      char *buf, size_t buflen, int *errnop);
enum nss_status _nss_dynid_setgrent(int stayopen);
enum nss_status _nss_dynid_getgrent_r(struct group *gr, char *buf,
                                      size_t buflen, int *errnop);
enum nss_status _nss_dynid_endgrent(void);

enum nss_status _nss_dynid_initgroups_dyn(const char *user, gid_t group,
                                          long *start, long *size,
                                          gid_t **groupsp, long limit,
                                          int *errnop);
