/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the NSS entry points over a real snapshot. The input
 * gives an ID (4 bytes), a buffer size (2 bytes, up to 4095) and a name
 * (the rest). Every entry point answers with a status that keeps the NSS
 * rules: strings inside the caller's buffer, which is exactly as large as
 * it says (ASan catches a byte beyond it), ERANGE with TRYAGAIN, *errnop
 * and errno untouched otherwise.
 *
 * Built with LOCALSTATEDIR under FUZZ_ROOT, where LLVMFuzzerInitialize()
 * leases a few names through libdynid (tests/fuzz/run.sh, as root in the
 * sandbox).
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dynid.h"
#include "nss/nss-dynid.h"

#define SENTINEL 7777

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        const char *names[] = { "web", "db", "abcdefghijklmnopqrstuvwxyz01234",
                                "_x", "a-b" };
        struct dynid_store_opts opts = {
                .state_dir = LOCALSTATEDIR "/lib/dynid",
                .etc_dir = FUZZ_ROOT "/etc",
                .no_nss = true,
        };
        struct dynid_err err = { "" };
        struct dynid_config cfg;
        struct dynid_store *s;
        FILE *f;

        mkdir(FUZZ_ROOT "/etc", 0755);
        mkdir(LOCALSTATEDIR, 0755);
        mkdir(LOCALSTATEDIR "/lib", 0755);
        for (int i = 0; i < 2; i++) {
                f = fopen(i ? FUZZ_ROOT "/etc/group" : FUZZ_ROOT "/etc/passwd",
                          "we");
                if (f)
                        fclose(f);
        }
        if (dynid_config_defaults(&cfg) < 0 ||
            dynid_store_open(&cfg, &opts, &s, &err) < 0 ||
            dynid_lease_add(s, names, 5, NULL, &err) < 0) {
                fprintf(stderr, "fuzz-nss: cannot make the store: %s\n",
                        err.msg);
                exit(1);
        }
        dynid_store_close(s);
        dynid_config_free(&cfg);
        return 0;
}

static void check(enum nss_status st, int e, int saved, const char *buf,
                  size_t len, const char *const *strs, size_t n)
{
        if (errno != saved)
                abort();
        if (st == NSS_STATUS_SUCCESS) {
                if (e != SENTINEL)
                        abort();
                for (size_t i = 0; i < n; i++)
                        if (strs[i] < buf || strs[i] + strlen(strs[i]) >=
                            buf + len)
                                abort();
        } else if (st == NSS_STATUS_TRYAGAIN) {
                if (e != ERANGE)
                        abort();
        } else if (st == NSS_STATUS_NOTFOUND) {
                if (e != SENTINEL)
                        abort();
        } else {
                abort();        /* the snapshot is there and sound */
        }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        struct passwd pw;
        struct group gr;
        char name[256], *buf;
        uint32_t id;
        size_t len;
        int e, saved = 1234;

        if (size < 6)
                return 0;
        memcpy(&id, data, 4);
        len = (data[4] | data[5] << 8) & 4095;
        size -= 6;
        if (size >= sizeof(name))
                size = sizeof(name) - 1;
        memcpy(name, data + 6, size);
        name[size] = 0;
        buf = malloc(len ? len : 1);
        if (!buf)
                return 0;

        errno = saved;
        e = SENTINEL;
        {
                enum nss_status st = _nss_dynid_getpwnam_r(name, &pw, buf,
                                                           len, &e);
                const char *s[] = { pw.pw_name, pw.pw_passwd, pw.pw_gecos,
                                    pw.pw_dir, pw.pw_shell };

                check(st, e, saved, buf, len, s, 5);
                if (st == NSS_STATUS_SUCCESS && strcmp(pw.pw_name, name))
                        abort();
        }
        e = SENTINEL;
        {
                enum nss_status st = _nss_dynid_getpwuid_r(id, &pw, buf, len,
                                                           &e);
                const char *s[] = { pw.pw_name, pw.pw_passwd, pw.pw_gecos,
                                    pw.pw_dir, pw.pw_shell };

                check(st, e, saved, buf, len, s, 5);
                if (st == NSS_STATUS_SUCCESS && pw.pw_uid != id)
                        abort();
        }
        e = SENTINEL;
        {
                enum nss_status st = _nss_dynid_getgrnam_r(name, &gr, buf,
                                                           len, &e);
                const char *s[] = { gr.gr_name, gr.gr_passwd };

                check(st, e, saved, buf, len, s, 2);
                if (st == NSS_STATUS_SUCCESS && gr.gr_mem[0] != NULL)
                        abort();
        }
        e = SENTINEL;
        {
                enum nss_status st = _nss_dynid_getgrgid_r(id, &gr, buf, len,
                                                           &e);
                const char *s[] = { gr.gr_name, gr.gr_passwd };

                check(st, e, saved, buf, len, s, 2);
                if (st == NSS_STATUS_SUCCESS && gr.gr_gid != id)
                        abort();
        }
        free(buf);
        return 0;
}
