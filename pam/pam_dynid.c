/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pam_dynid: turns the login of a leased service into a session with its
 * own mount namespace and an idmapped home (DESIGN.md section 5).
 *
 *   session required pam_dynid.so [mode=mount|userns] [debug] [config=PATH]
 *
 * Runs as root inside launchers (sshd, su, runuser, cron, systemd): it
 * speaks only through pam_syslog(), keeps no state in globals, and leaves
 * no descriptor open behind it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "dynid.h"

#define EXPORT __attribute__((visibility("default")))
#define DATA_PID "pam_dynid_session_pid"
#define DEFAULT_CONFIG SYSCONFDIR "/dynid/dynid.conf"

enum mode { MODE_MOUNT, MODE_USERNS };

struct options {
        enum mode mode;
        bool debug;
        const char *config;
        const char *bad_mode;   /* a mode option we cannot honour */
};

static void parse_options(pam_handle_t *pamh, int argc, const char **argv,
                          struct options *o)
{
        *o = (struct options) { .mode = MODE_MOUNT, .config = NULL };

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "mode=mount") == 0)
                        o->mode = MODE_MOUNT;
                else if (strcmp(argv[i], "mode=userns") == 0)
                        o->mode = MODE_USERNS;
                else if (strncmp(argv[i], "mode", 4) == 0)
                        /* A typo must not quietly give a service a weaker
                         * session than the stack asks for: refused at
                         * open, for leased services only. */
                        o->bad_mode = argv[i];
                else if (strcmp(argv[i], "debug") == 0)
                        o->debug = true;
                else if (strncmp(argv[i], "config=", 7) == 0 && argv[i][7])
                        o->config = argv[i] + 7;
                else
                        pam_syslog(pamh, LOG_WARNING,
                                   "Ignoring unknown option: %s", argv[i]);
        }
}

/* The store and the service's passwd entry, or PAM_IGNORE for a user that
 * is not a leased service. */
struct service {
        struct dynid_store *store;
        struct dynid_lease lease;
        struct passwd pw;
        char pwbuf[4096];
};

static void service_done(struct service *svc)
{
        dynid_store_close(svc->store);
        svc->store = NULL;
}

/*
 * @closing: the caller may be unprivileged (systemd closes sessions as the
 * service user) or inside the session's user namespace; a store it may
 * not open is left to "dynidctl gc", quietly.
 */
static int service_find(pam_handle_t *pamh, const struct options *o,
                        bool closing, struct service *svc)
{
        struct dynid_store_opts opts = { 0 };
        struct dynid_config cfg;
        struct dynid_err err = { "" };
        struct passwd *pwp = NULL;
        const char *user = NULL;
        int r;

        if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || !user ||
            dynid_name_check(user, NULL) < 0)
                return PAM_IGNORE;
        /* Everybody else is none of our business, whatever state the
         * configuration or the store is in: a broken dynid.conf must not
         * lock root out of su. Only our services carry our GECOS prefix. */
        if (getpwnam_r(user, &svc->pw, svc->pwbuf, sizeof(svc->pwbuf),
                       &pwp) != 0 || !pwp ||
            strncmp(svc->pw.pw_gecos, DYNID_GECOS_PREFIX,
                    strlen(DYNID_GECOS_PREFIX)) != 0)
                return PAM_IGNORE;

        r = dynid_config_load(o->config ?: DEFAULT_CONFIG, !o->config, &cfg,
                              &err);
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "Failed to load configuration: %s",
                           err.msg[0] ? err.msg : strerror(-r));
                return PAM_SESSION_ERR;
        }
        r = dynid_store_open(&cfg, &opts, &svc->store, &err);
        dynid_config_free(&cfg);
        if (r < 0 && closing && (r == -EACCES || r == -EPERM))
                return PAM_IGNORE;
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "Failed to open the lease store: %s",
                           err.msg[0] ? err.msg : strerror(-r));
                return PAM_SESSION_ERR;
        }

        r = dynid_lease_find(svc->store, user, &svc->lease);
        if (r == -ENOENT) {
                service_done(svc);
                return PAM_IGNORE;
        }
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "Failed to look up service %s: %s",
                           user, strerror(-r));
                service_done(svc);
                return PAM_SESSION_ERR;
        }
        return PAM_SUCCESS;
}

/*
 * Unshares a mount namespace and attaches @tree at @dir in it, on top of
 * nothing: a process that opens one session after another would otherwise
 * stack a home per session. On failure the caller is back in its own
 * namespace.
 */
static int attach_home(int tree, const char *dir)
{
        int old, r = 0;

        old = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
        if (old < 0)
                return -errno;
        if (unshare(CLONE_NEWNS) < 0) {
                r = -errno;
                close(old);
                return r;
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                r = -errno;
        while (r >= 0 && umount2(dir, MNT_DETACH) == 0)
                ;
        if (r >= 0)
                r = dynid_home_dir_empty(dir);
        if (r >= 0 && move_mount(tree, "", AT_FDCWD, dir,
                                 MOVE_MOUNT_F_EMPTY_PATH) < 0)
                r = -errno;
        if (r < 0 && setns(old, CLONE_NEWNS) < 0)
                r = -errno;
        close(old);
        return r;
}

/* The home, idmapped, in a new mount namespace at pw_dir. */
static int mount_home(pam_handle_t *pamh, struct service *svc)
{
        const char *name = svc->lease.name;
        struct dynid_err err = { "" };
        int storage = -1, tree = -1, r;

        r = dynid_storage_create(svc->store, name);
        if (r >= 0)
                r = dynid_storage_open(svc->store, name, &storage);
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "Failed to open the storage of %s: "
                           "%s", name, strerror(-r));
                return r;
        }
        r = dynid_idmap_tree(storage, svc->lease.base, svc->lease.size,
                             &tree, &err);
        close(storage);
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "Failed to build the home of %s at "
                           "%s/storage/%s: %s", name, LOCALSTATEDIR "/lib/dynid",
                           name, err.msg);
                return r;
        }

        r = dynid_make_home_dir(svc->pw.pw_dir);
        if (r >= 0)
                r = attach_home(tree, svc->pw.pw_dir);
        close(tree);
        if (r < 0)
                pam_syslog(pamh, LOG_ERR, "Failed to mount the home of %s at "
                           "%s: %s", name, svc->pw.pw_dir, strerror(-r));
        return r;
}

/*
 * mode=userns: a user namespace that maps the block onto itself, so the
 * launcher's setuid(pw_uid) still works while IDs outside the block, root
 * among them, mean nothing inside.
 */
static int enter_block(pam_handle_t *pamh, const struct service *svc)
{
        char map[64];
        int r;

        snprintf(map, sizeof(map), "%u %u %u\n", svc->lease.base,
                 svc->lease.base, svc->lease.size);
        r = dynid_enter_userns(map);
        if (r == -EINVAL)
                pam_syslog(pamh, LOG_ERR, "Failed to enter the user namespace "
                           "of %s: the calling process has several threads",
                           svc->lease.name);
        else if (r < 0)
                pam_syslog(pamh, LOG_ERR, "Failed to enter the user namespace "
                           "of %s: %s", svc->lease.name, strerror(-r));
        return r;
}

/* unshare(CLONE_NEWUSER) works in single-threaded processes only: ask
 * before anything is built. */
static int count_threads(void)
{
        char line[256];
        int n = -1;
        FILE *f;

        f = fopen("/proc/self/status", "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Threads: %d", &n) == 1)
                        break;
        fclose(f);
        return n;
}

static void cleanup_pid(pam_handle_t *pamh, void *data, int error_status)
{
        free(data);
}

EXPORT int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc,
                               const char **argv)
{
        struct service svc = { 0 };
        struct dynid_err err = { "" };
        struct options o;
        uint32_t *pid;
        int r;

        parse_options(pamh, argc, argv, &o);
        r = service_find(pamh, &o, false, &svc);
        if (r != PAM_SUCCESS)
                return r;

        if (o.bad_mode) {
                pam_syslog(pamh, LOG_ERR, "Failed to open a session of %s: "
                           "bad option '%s' (mode=mount or mode=userns)",
                           svc.lease.name, o.bad_mode);
                service_done(&svc);
                return PAM_SESSION_ERR;
        }
        if (svc.pw.pw_uid != svc.lease.base) {
                pam_syslog(pamh, LOG_ERR, "Failed to open a session of %s: "
                           "uid %u is not the base %u of its lease",
                           svc.lease.name, (unsigned) svc.pw.pw_uid,
                           svc.lease.base);
                service_done(&svc);
                return PAM_SESSION_ERR;
        }
        if (o.mode == MODE_USERNS && count_threads() != 1) {
                pam_syslog(pamh, LOG_ERR, "Failed to open a session of %s: "
                           "mode=userns needs a single-threaded caller",
                           svc.lease.name);
                service_done(&svc);
                return PAM_SESSION_ERR;
        }

        if (o.debug)
                pam_syslog(pamh, LOG_DEBUG, "Service %s: block %u+%u, home %s",
                           svc.lease.name, svc.lease.base, svc.lease.size,
                           svc.pw.pw_dir);

        pid = malloc(sizeof(*pid));
        if (!pid) {
                service_done(&svc);
                return PAM_BUF_ERR;
        }
        *pid = getpid();
        r = dynid_session_open(svc.store, svc.lease.name, *pid, &err);
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "Failed to record the session of "
                           "%s: %s", svc.lease.name,
                           err.msg[0] ? err.msg : strerror(-r));
                free(pid);
                service_done(&svc);
                return PAM_SESSION_ERR;
        }
        r = mount_home(pamh, &svc);
        if (r >= 0 && o.mode == MODE_USERNS)
                r = enter_block(pamh, &svc);
        if (r < 0) {
                dynid_session_close(svc.store, *pid);
                free(pid);
                service_done(&svc);
                return PAM_SESSION_ERR;
        }
        if (pam_set_data(pamh, DATA_PID, pid, cleanup_pid) != PAM_SUCCESS)
                free(pid);
        pam_syslog(pamh, LOG_INFO, "Opened session of %s (mode=%s)",
                   svc.lease.name, o.mode == MODE_USERNS ? "userns" : "mount");
        service_done(&svc);
        return PAM_SUCCESS;
}

EXPORT int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc,
                                const char **argv)
{
        const void *data = NULL;
        struct service svc = { 0 };
        struct options o;
        int r;

        /* Only the process that opened the session knows its pid. It may
         * be unprivileged now, or inside the session's user namespace
         * (mode=userns), where the store may still be reachable: try, and
         * leave to gc what cannot be closed here. */
        if (pam_get_data(pamh, DATA_PID, &data) != PAM_SUCCESS || !data)
                return PAM_IGNORE;

        parse_options(pamh, argc, argv, &o);
        r = service_find(pamh, &o, true, &svc);
        if (r != PAM_SUCCESS)
                return r == PAM_IGNORE ? PAM_SUCCESS : r;
        r = dynid_session_close(svc.store, *(const uint32_t *) data);
        if (r < 0 && r != -ENOENT)
                pam_syslog(pamh, LOG_ERR, "Failed to end the session of %s: "
                           "%s", svc.lease.name, strerror(-r));
        else
                pam_syslog(pamh, LOG_INFO, "Closed session of %s",
                           svc.lease.name);
        service_done(&svc);
        return r < 0 && r != -ENOENT ? PAM_SESSION_ERR : PAM_SUCCESS;
}
