/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dynidctl: the administrator's command (DESIGN.md section 7).
 *
 * Exit status: 0 on success; 1 when something failed, after one line on
 * stderr, or when "check" found a problem; 2 for a usage error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dynid.h"
#include "run.h"
#include "util.h"

#define DEFAULT_CONFIG SYSCONFDIR "/dynid/dynid.conf"
#define EXIT_USAGE 2

#define _cleanup_(f) __attribute__((cleanup(f)))

/* Hands @p over to the caller: a cleanup attribute on it then frees NULL. */
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })

static void freep(void *p)
{
        free(*(void **) p);
}

static void json_putp(struct json_object **j)
{
        json_object_put(*j);
}

static void store_closep(struct dynid_store **s)
{
        if (*s)
                dynid_store_close(*s);
        *s = NULL;
}

struct ctx {
        const char *config;     /* --config; NULL for the default */
        bool json;
        bool force;
        bool purge;
        bool has_inner;
        uint32_t inner;         /* run --user */
        bool dry_run;
        bool repair;
        char **args;            /* the operands after the command */
        size_t n_args;
        struct dynid_config cfg;
};

/*
 * A command returns < 0 after it reported a failure on stderr, else the
 * exit status.
 */
struct verb {
        const char *name;
        const struct option *options;
        size_t min_args;
        size_t max_args;
        const char *operand[2]; /* what "missing ..." names, by position */
        int (*run)(struct ctx *c);
};

/* ---- reporting ---------------------------------------------------------- */

/*
 * Reports a failure as "dynidctl: WHAT: WHY", WHY being the library's
 * sentence when it wrote one, else the text of @r. Returns @r.
 */
static int fail(const char *what, int r, const struct dynid_err *err)
{
        const char *why = err && err->msg[0] ? err->msg : strerror(-r);

        fprintf(stderr, "dynidctl: %s: %s\n", what, why);
        return r;
}

__attribute__((format(printf, 2, 3)))
static int usage_error(const char *verb, const char *fmt, ...)
{
        va_list ap;

        fputs("dynidctl: ", stderr);
        if (verb)
                fprintf(stderr, "%s: ", verb);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nTry 'dynidctl --help' for more information.\n", stderr);
        return -EINVAL;
}

/*
 * Output that could not be written (a full disk, a closed descriptor) is
 * a failure too, or "dynidctl list > file" would silently lose rows.
 */
static int finish(int status)
{
        errno = 0;
        if (fflush(stdout) == 0 && !ferror(stdout))
                return status;
        fprintf(stderr, "dynidctl: cannot write to standard output: %s\n",
                strerror(errno ?: EIO));
        return EXIT_FAILURE;
}

/* ---- formatting --------------------------------------------------------- */

/* Local time as "YYYY-MM-DD HH:MM:SS"; NULL for 0, which means never. */
static const char *format_time(uint64_t t, char *buf, size_t size)
{
        time_t tt = (time_t) t;
        struct tm tm;

        if (t == 0 || (uint64_t) tt != t || !localtime_r(&tt, &tm))
                return NULL;
        if (strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                return NULL;
        return buf;
}

static const char *lease_state(const struct dynid_lease *l)
{
        return l->sessions > 0 ? "active" : "idle";
}

static uint32_t lease_last(const struct dynid_lease *l)
{
        return l->base + (l->size - 1);
}

static int width_of(uint64_t v)
{
        int w = 1;

        for (; v >= 10; v /= 10)
                w++;
        return w;
}

static int max_int(int a, int b)
{
        return a > b ? a : b;
}

/*
 * Prints @l as aligned columns: name, base and size; with @full also a
 * header, the state, the sessions and the last use (the "list" table).
 * Numbers are right-aligned so that their digits line up.
 */
static void print_leases(const struct dynid_lease *l, size_t n, bool full)
{
        /* Under a header, a column is at least as wide as its title. */
        int wn = full ? 4 : 0, wb = full ? 4 : 0, ws = full ? 4 : 0;
        int wse = 8;

        for (size_t i = 0; i < n; i++) {
                wn = max_int(wn, (int) strlen(l[i].name));
                wb = max_int(wb, width_of(l[i].base));
                ws = max_int(ws, width_of(l[i].size));
                wse = max_int(wse, width_of(l[i].sessions));
        }

        if (full)
                printf("%-*s  %*s  %*s  %-6s  %*s  %s\n", wn, "NAME",
                       wb, "BASE", ws, "SIZE", "STATE", wse, "SESSIONS",
                       "LAST-USED");
        for (size_t i = 0; i < n; i++) {
                char buf[32];

                printf("%-*s  %*" PRIu32 "  %*" PRIu32, wn, l[i].name,
                       wb, l[i].base, ws, l[i].size);
                if (full)
                        printf("  %-6s  %*" PRIu32 "  %s",
                               lease_state(&l[i]), wse, l[i].sessions,
                               format_time(l[i].last_used, buf,
                                           sizeof(buf)) ?: "-");
                putchar('\n');
        }
}

/* ---- JSON --------------------------------------------------------------- */

/* Hands @v to @o under @key; @v is NULL when its allocation failed. */
static int json_add(struct json_object *o, const char *key,
                    struct json_object *v)
{
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* Seconds, or null when not known (@age < 0). */
static int json_add_age(struct json_object *o, const char *key, int64_t age)
{
        if (age >= 0)
                return json_add(o, key, json_object_new_int64(age));
        return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
}

static int lease_json(const struct dynid_lease *l, struct json_object **ret)
{
        _cleanup_(json_putp) struct json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        if (json_add(o, "name", json_object_new_string(l->name)) < 0 ||
            json_add(o, "base", json_object_new_int64(l->base)) < 0 ||
            json_add(o, "size", json_object_new_int64(l->size)) < 0 ||
            json_add(o, "last_id",
                     json_object_new_int64(lease_last(l))) < 0 ||
            json_add(o, "state",
                     json_object_new_string(lease_state(l))) < 0 ||
            json_add(o, "sessions",
                     json_object_new_int64(l->sessions)) < 0 ||
            json_add(o, "created",
                     json_object_new_uint64(l->created)) < 0 ||
            json_add(o, "last_used",
                     json_object_new_uint64(l->last_used)) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(o);
        return 0;
}

static int print_json(const char *what, struct json_object *j)
{
        /* Paths are full of slashes; "\/" is valid JSON but unreadable. */
        int flags = JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                    JSON_C_TO_STRING_NOSLASHESCAPE;
        const char *s;

        /* json-c spreads an empty array over two lines. */
        if (json_object_is_type(j, json_type_array) &&
            json_object_array_length(j) == 0) {
                puts("[]");
                return 0;
        }

        s = json_object_to_json_string_ext(j, flags);
        if (!s)
                return fail(what, -ENOMEM, NULL);
        puts(s);
        return 0;
}

/* ---- the store ---------------------------------------------------------- */

static int load_config(struct ctx *c)
{
        const char *path = c->config ?: DEFAULT_CONFIG;
        struct dynid_err err = {};
        int r;

        /* Only the default may be missing: a named file is meant to be. */
        r = dynid_config_load(path, !c->config, &c->cfg, &err);
        if (r < 0 && err.msg[0])
                fprintf(stderr, "dynidctl: %s\n", err.msg);
        else if (r < 0)
                fprintf(stderr, "dynidctl: %s: %s\n", path, strerror(-r));
        return r;
}

/* What on_sigbus() needs, set as soon as the database is mapped. */
static struct {
        const char *addr;
        size_t len;
        char msg[512];
        size_t msg_len;
} db_map;

/*
 * LMDB follows a damaged page past the end of the database file into the
 * unbacked part of its map: say so and exit 1 instead of dying of SIGBUS.
 * A write transaction in progress was never committed, so nothing changed.
 * A fault anywhere else is not ours to explain: it kills as before.
 */
static void on_sigbus(int sig, siginfo_t *si, void *ucontext)
{
        const char *a = si->si_addr;

        if (db_map.len && a >= db_map.addr && a < db_map.addr + db_map.len) {
                (void) !write(STDERR_FILENO, db_map.msg, db_map.msg_len);
                _exit(EXIT_FAILURE);
        }
        sigaction(SIGBUS, &(struct sigaction) { .sa_handler = SIG_DFL },
                  NULL);
}

static void db_mapped(const char *db_path, const void *addr, size_t len)
{
        int r;

        r = snprintf(db_map.msg, sizeof(db_map.msg), "dynidctl: %s: damaged "
                     "database (a page lies past the end of the file): "
                     "restore it from a backup\n", db_path);
        db_map.msg_len = r < 0 ? 0 : (size_t) r < sizeof(db_map.msg) ?
                         (size_t) r : sizeof(db_map.msg) - 1;
        db_map.addr = addr;
        db_map.len = len;
}

static int open_store(const struct ctx *c, bool read_only,
                      struct dynid_store **ret)
{
        struct dynid_store_opts opts = { .read_only = read_only,
                                         .mapped = db_mapped };
        struct sigaction sa = { .sa_sigaction = on_sigbus,
                                .sa_flags = SA_SIGINFO };
        struct dynid_err err = {};
        int r;

        sigaction(SIGBUS, &sa, NULL);

        r = dynid_store_open(&c->cfg, &opts, ret, &err);
        if (r < 0)
                return fail("cannot open the lease store", r, &err);
        return 0;
}

/* Names are checked before the store is opened: a typo changes nothing. */
static int check_names(const char *verb, char **names, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                struct dynid_err err = {};
                int r;

                r = dynid_name_check(names[i], &err);
                if (r < 0)
                        return fail(verb, r, &err);
        }
        return 0;
}

/* ---- add, remove -------------------------------------------------------- */

/* Orders pointers into an array of names by name, then by place. */
static int cmp_name_refs(const void *a, const void *b)
{
        char **const *x = a, **const *y = b;
        int r = strcmp(**x, **y);

        return r ? r : (*x > *y) - (*x < *y);
}

/*
 * Drops repeated names, keeping the first of each in its place, so that
 * "remove web web" ends one lease rather than failing on the second and
 * "add web web" prints it once. Sorting pointers into @names finds the
 * repeats in O(n log n): a batch may hold 10,000 names. Returns the new
 * count, or -ENOMEM.
 */
static ssize_t drop_repeats(char **names, size_t n)
{
        char ***sorted;
        size_t k = 0;

        if (n < 2)
                return n;
        sorted = calloc(n, sizeof(*sorted));
        if (!sorted)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                sorted[i] = &names[i];
        qsort(sorted, n, sizeof(*sorted), cmp_name_refs);
        for (size_t i = 1, first = 0; i < n; i++) {
                if (strcmp(*sorted[i], *sorted[first]) == 0)
                        *sorted[i] = NULL;
                else
                        first = i;
        }
        free(sorted);
        for (size_t i = 0; i < n; i++)
                if (names[i])
                        names[k++] = names[i];
        return k;
}

static int verb_add(struct ctx *c)
{
        _cleanup_(store_closep) struct dynid_store *s = NULL;
        _cleanup_(freep) struct dynid_lease *out = NULL;
        struct dynid_err err = {};
        ssize_t n;
        int r;

        r = check_names("add", c->args, c->n_args);
        if (r < 0)
                return r;
        n = drop_repeats(c->args, c->n_args);
        if (n < 0)
                return fail("add", n, NULL);
        c->n_args = n;

        r = open_store(c, false, &s);
        if (r < 0)
                return r;
        out = calloc(c->n_args, sizeof(*out));
        if (!out)
                return fail("add", -ENOMEM, NULL);

        r = dynid_lease_add(s, (const char *const *) c->args, c->n_args, out,
                            &err);
        if (r < 0)
                return fail("add", r, &err);

        print_leases(out, c->n_args, false);
        return EXIT_SUCCESS;
}

static int verb_remove(struct ctx *c)
{
        _cleanup_(store_closep) struct dynid_store *s = NULL;
        struct dynid_err err = {};
        ssize_t k;
        size_t n;
        int r;

        r = check_names("remove", c->args, c->n_args);
        if (r < 0)
                return r;
        k = drop_repeats(c->args, c->n_args);
        if (k < 0)
                return fail("remove", k, NULL);
        n = k;

        r = open_store(c, false, &s);
        if (r < 0)
                return r;

        r = dynid_lease_remove(s, (const char *const *) c->args, n, c->force,
                               &err);
        if (r == -EBUSY) {
                fprintf(stderr,
                        "dynidctl: remove: %s (--force removes it anyway)\n",
                        err.msg[0] ? err.msg : strerror(EBUSY));
                return r;
        }
        if (r < 0)
                return fail("remove", r, &err);

        /* Storage goes only once the leases are gone for good. */
        for (size_t i = 0; i < n; i++) {
                printf("removed %s\n", c->args[i]);
                if (!c->purge)
                        continue;
                r = dynid_storage_purge(s, c->args[i]);
                if (r < 0) {
                        fprintf(stderr, "dynidctl: remove: cannot delete the "
                                "storage of '%s': %s\n", c->args[i],
                                strerror(-r));
                        return r;
                }
        }
        return EXIT_SUCCESS;
}

/* ---- list, show --------------------------------------------------------- */

static int list_json(const struct dynid_lease *l, size_t n)
{
        _cleanup_(json_putp) struct json_object *a = json_object_new_array();
        int r;

        if (!a)
                return fail("list", -ENOMEM, NULL);
        for (size_t i = 0; i < n; i++) {
                struct json_object *o;

                r = lease_json(&l[i], &o);
                if (r < 0)
                        return fail("list", r, NULL);
                if (json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        return fail("list", -ENOMEM, NULL);
                }
        }
        return print_json("list", a);
}

static int verb_list(struct ctx *c)
{
        _cleanup_(store_closep) struct dynid_store *s = NULL;
        _cleanup_(freep) struct dynid_lease *l = NULL;
        size_t n;
        int r;

        r = open_store(c, true, &s);
        if (r < 0)
                return r;

        r = dynid_lease_list(s, &l, &n);
        if (r < 0)
                return fail("list", r, NULL);

        if (c->json)
                return list_json(l, n);
        print_leases(l, n, true);
        return EXIT_SUCCESS;
}

/*
 * The operand of "show" is an ID when it is all digits, which a service
 * name never is, else a name. Stores the ID, or UINT64_MAX for a name.
 */
static int parse_show_operand(const char *arg, uint64_t *ret)
{
        struct dynid_err err = {};
        uint64_t id;
        int r;

        if (!arg[0] || arg[strspn(arg, "0123456789")]) {
                char service[DYNID_NAME_MAX + 1];
                uint32_t k, id32;

                r = dynid_name_check(arg, &err);
                /* The name of an ID inside a block, as NSS gives it. */
                if (r < 0 && dynid_derived_parse(arg, service, &k, &id32) < 0)
                        return fail("show", r, &err);
                *ret = UINT64_MAX;
                return 0;
        }

        if (parse_u64(arg, &id) < 0 || id > UINT32_MAX) {
                fprintf(stderr, "dynidctl: show: invalid ID '%s': %s\n", arg,
                        "expected 0 to 4294967295 without leading zeros");
                return -EINVAL;
        }
        *ret = id;
        return 0;
}

static void show_text(const struct ctx *c, const struct dynid_lease *l,
                      const char *home)
{
        char created[32], used[32];

        printf("name: %s\n", l->name);
        printf("block: %" PRIu32 "-%" PRIu32 "\n", l->base, lease_last(l));
        printf("size: %" PRIu32 "\n", l->size);
        printf("state: %s\n", lease_state(l));
        printf("sessions: %" PRIu32 "\n", l->sessions);
        printf("created: %s\n",
               format_time(l->created, created, sizeof(created)) ?: "-");
        printf("last used: %s\n",
               format_time(l->last_used, used, sizeof(used)) ?: "never");
        printf("home: %s\n", home);
        printf("shell: %s\n", c->cfg.shell);
}

static int show_json(const struct ctx *c, const struct dynid_lease *l,
                     const char *home)
{
        _cleanup_(json_putp) struct json_object *o = NULL;
        int r;

        r = lease_json(l, &o);
        if (r >= 0 &&
            (json_add(o, "home", json_object_new_string(home)) < 0 ||
             json_add(o, "shell", json_object_new_string(c->cfg.shell)) < 0))
                r = -ENOMEM;
        if (r < 0)
                return fail("show", r, NULL);
        return print_json("show", o);
}

/*
 * The lease of a derived name ("web+7", "PREFIX~ID"): found through its
 * ID, and only for the canonical spelling that NSS answers to.
 */
static int find_derived(struct dynid_store *s, const char *arg,
                        struct dynid_lease *ret)
{
        char service[DYNID_NAME_MAX + 1], canon[DYNID_NAME_MAX + 1];
        struct dynid_lease l;
        uint32_t k, id;
        int r;

        if (dynid_derived_parse(arg, service, &k, &id) < 0)
                return -ENOENT;
        /* "web+7" names its lease; "PREFIX~ID" its ID. */
        if (k) {
                r = dynid_lease_find(s, service, &l);
                if (r >= 0 && k >= l.size)
                        r = -ENOENT;
                else if (r >= 0)
                        id = l.base + k;
        } else {
                r = dynid_lease_find_id(s, id, &l);
        }
        if (r < 0)
                return r;
        if (id == l.base ||
            dynid_derived_name(l.name, l.base, id - l.base, canon,
                               sizeof(canon)) < 0 ||
            strcmp(canon, arg) != 0)
                return -ENOENT;
        *ret = l;
        return 0;
}

/* The lease of @arg, which parse_show_operand() turned into @id. */
static int find_lease(struct dynid_store *s, const char *arg, uint64_t id,
                      struct dynid_lease *ret)
{
        int r;

        if (id == UINT64_MAX && dynid_name_check(arg, NULL) < 0)
                r = find_derived(s, arg, ret);
        else if (id == UINT64_MAX)
                r = dynid_lease_find(s, arg, ret);
        else
                r = dynid_lease_find_id(s, (uint32_t) id, ret);
        if (r == -ENOENT) {
                fprintf(stderr, "dynidctl: show: no lease for '%s'\n", arg);
                return r;
        }
        if (r < 0)
                return fail("show", r, NULL);
        return 0;
}

static int verb_show(struct ctx *c)
{
        _cleanup_(store_closep) struct dynid_store *s = NULL;
        const char *arg = c->args[0];
        struct dynid_lease l;
        char home[PATH_MAX];
        uint64_t id;
        int r;

        r = parse_show_operand(arg, &id);
        if (r < 0)
                return r;

        r = open_store(c, true, &s);
        if (r < 0)
                return r;

        r = find_lease(s, arg, id, &l);
        if (r < 0)
                return r;

        r = dynid_config_home(&c->cfg, l.name, home, sizeof(home));
        if (r < 0)
                return fail("show", r, NULL);

        if (c->json)
                return show_json(c, &l, home);
        show_text(c, &l, home);
        return EXIT_SUCCESS;
}

/* ---- status ------------------------------------------------------------- */

struct status_view {
        const struct dynid_config *cfg;
        struct dynid_status st;
        const char *db;
        const char *snapshot;
        int64_t db_age;         /* seconds, -1 when unknown */
        int64_t snapshot_age;   /* seconds, -1 when there is no snapshot */
        uint32_t free;
};

static int64_t age_of(int64_t mtime, time_t now)
{
        if (mtime < 0)
                return -1;
        /* A clock set back would make a fresh file look older than now. */
        return now > mtime ? now - mtime : 0;
}

static void print_age(const char *key, int64_t age, const char *none)
{
        if (age < 0)
                printf("%s: %s\n", key, none);
        else
                printf("%s: %" PRId64 "s\n", key, age);
}

static void status_text(const struct status_view *v)
{
        printf("pool: %" PRIu32 "-%" PRIu32 "\n", v->cfg->pool_first,
               v->cfg->pool_last);
        printf("block size: %" PRIu32 "\n", v->cfg->block_size);
        printf("slots: %" PRIu32 "\n", v->st.slots);
        printf("used: %" PRIu32 "\n", v->st.used);
        printf("free: %" PRIu32 "\n", v->free);
        printf("database: %s\n", v->db);
        print_age("database age", v->db_age, "unknown");
        printf("snapshot: %s\n", v->snapshot);
        print_age("snapshot age", v->snapshot_age, "missing");
        printf("generation: %" PRIu64 "\n", v->st.generation);
        if (v->snapshot_age < 0)
                printf("snapshot generation: -\n");
        else
                printf("snapshot generation: %" PRIu64 "\n",
                       v->st.snapshot_generation);
}

static int status_json(const struct status_view *v)
{
        _cleanup_(json_putp) struct json_object *o = json_object_new_object();
        const struct dynid_config *cfg = v->cfg;
        int r = 0;

        if (!o ||
            json_add(o, "pool_first",
                     json_object_new_int64(cfg->pool_first)) < 0 ||
            json_add(o, "pool_last",
                     json_object_new_int64(cfg->pool_last)) < 0 ||
            json_add(o, "block_size",
                     json_object_new_int64(cfg->block_size)) < 0 ||
            json_add(o, "slots", json_object_new_int64(v->st.slots)) < 0 ||
            json_add(o, "used", json_object_new_int64(v->st.used)) < 0 ||
            json_add(o, "free", json_object_new_int64(v->free)) < 0 ||
            json_add(o, "database", json_object_new_string(v->db)) < 0 ||
            json_add(o, "snapshot",
                     json_object_new_string(v->snapshot)) < 0 ||
            json_add_age(o, "database_age", v->db_age) < 0 ||
            json_add_age(o, "snapshot_age", v->snapshot_age) < 0 ||
            json_add(o, "generation",
                     json_object_new_uint64(v->st.generation)) < 0)
                r = -ENOMEM;

        /* Without a snapshot there is no generation to speak of. */
        if (r == 0 && v->snapshot_age < 0)
                r = json_object_object_add(o, "snapshot_generation", NULL);
        else if (r == 0)
                r = json_add(o, "snapshot_generation",
                             json_object_new_uint64(v->st.snapshot_generation));
        if (r < 0)
                return fail("status", -ENOMEM, NULL);
        return print_json("status", o);
}

static int verb_status(struct ctx *c)
{
        _cleanup_(store_closep) struct dynid_store *s = NULL;
        struct status_view v = { .cfg = &c->cfg };
        time_t now;
        int r;

        r = open_store(c, true, &s);
        if (r < 0)
                return r;

        r = dynid_store_status(s, &v.st);
        if (r < 0)
                return fail("status", r, NULL);

        now = time(NULL);
        v.db = dynid_store_db_path(s);
        v.snapshot = dynid_store_snapshot_path(s);
        v.db_age = age_of(v.st.db_mtime, now);
        v.snapshot_age = age_of(v.st.snapshot_mtime, now);
        v.free = v.st.slots > v.st.used ? v.st.slots - v.st.used : 0;

        if (c->json)
                return status_json(&v);
        status_text(&v);
        return EXIT_SUCCESS;
}

/* ---- check, gc ---------------------------------------------------------- */

static int report_problem(const char *problem, void *userdata)
{
        (void) userdata;
        puts(problem);
        return 0;
}

static int count_problem(const char *problem, void *userdata)
{
        (void) problem;
        (void) userdata;
        return 0;
}

/*
 * The snapshot is the one thing that a check finds wrong and that can be
 * made again from the database: --repair publishes it again when a check
 * read-only finds any problem, then checks again and reports what is left.
 */
static int repair(struct ctx *c)
{
        _cleanup_(store_closep) struct dynid_store *s = NULL;
        int r;

        r = open_store(c, true, &s);
        if (r < 0)
                return r;
        r = dynid_check(s, count_problem, NULL);
        if (r < 0)
                return fail("check", r, NULL);
        if (r == 0)
                return 0;
        store_closep(&s);

        r = open_store(c, false, &s);
        if (r < 0)
                return r;
        r = dynid_publish(s);
        if (r < 0 && dynid_store_failed_path(s)) {
                struct dynid_err err;

                snprintf(err.msg, sizeof(err.msg), "%s: %s",
                         dynid_store_failed_path(s), strerror(-r));
                return fail("publish the snapshot", r, &err);
        }
        if (r < 0)
                return fail("publish the snapshot", r, NULL);
        printf("repaired: published %s again from the database\n",
               dynid_store_snapshot_path(s));
        return 0;
}

static int verb_check(struct ctx *c)
{
        _cleanup_(store_closep) struct dynid_store *s = NULL;
        struct dynid_status st;
        int r;

        if (c->repair) {
                r = repair(c);
                if (r != 0)
                        return r;
        }
        r = open_store(c, true, &s);
        if (r < 0)
                return r;

        r = dynid_check(s, report_problem, NULL);
        if (r < 0)
                return fail("check", r, NULL);
        if (r > 0)
                return EXIT_FAILURE;

        r = dynid_store_status(s, &st);
        if (r < 0)
                return fail("check", r, NULL);
        printf("ok: %" PRIu32 " lease%s, no problem found\n", st.used,
               st.used == 1 ? "" : "s");
        return EXIT_SUCCESS;
}

static int report_reclaimed(const struct dynid_lease *l, void *userdata)
{
        const bool *dry_run = userdata;

        printf("%s %s\n", *dry_run ? "would reclaim" : "reclaimed", l->name);
        return 0;
}

static int verb_gc(struct ctx *c)
{
        _cleanup_(store_closep) struct dynid_store *s = NULL;
        int r;

        /* A dry run changes nothing, not even a stale snapshot. */
        r = open_store(c, c->dry_run, &s);
        if (r < 0)
                return r;

        r = dynid_gc(s, (uint64_t) time(NULL), c->dry_run, report_reclaimed,
                     &c->dry_run);
        if (r < 0)
                return fail("gc", r, NULL);
        return EXIT_SUCCESS;
}

/* ---- the command line --------------------------------------------------- */

enum {
        /* Above every char, so that optopt tells a long option apart. */
        ARG_CONFIG = 0x100,
        ARG_HELP,
        ARG_VERSION,
        ARG_JSON,
        ARG_FORCE,
        ARG_PURGE,
        ARG_DRY_RUN,
        ARG_REPAIR,
        ARG_USER,
};

/* Accepted after the command too: "dynidctl list --config X" just works. */
#define GLOBAL_OPTIONS                                                  \
        { "config",  required_argument, NULL, ARG_CONFIG },             \
        { "help",    no_argument,       NULL, ARG_HELP },               \
        { "version", no_argument,       NULL, ARG_VERSION }

static const struct option options_global[] = {
        GLOBAL_OPTIONS,
        {}
};

static const struct option options_json[] = {
        { "json", no_argument, NULL, ARG_JSON },
        GLOBAL_OPTIONS,
        {}
};

static const struct option options_remove[] = {
        { "force", no_argument, NULL, ARG_FORCE },
        { "purge", no_argument, NULL, ARG_PURGE },
        GLOBAL_OPTIONS,
        {}
};

static const struct option options_run[] = {
        { "user", required_argument, NULL, ARG_USER },
        GLOBAL_OPTIONS,
        {}
};

static const struct option options_check[] = {
        { "repair", no_argument, NULL, ARG_REPAIR },
        GLOBAL_OPTIONS,
        {}
};

static const struct option options_gc[] = {
        { "dry-run", no_argument, NULL, ARG_DRY_RUN },
        GLOBAL_OPTIONS,
        {}
};

/* ---- run ------------------------------------------------------------------ */

struct run_ctx {
        struct dynid_store *s;
        const char *name;
        struct dynid_err err;   /* why the session could not be recorded */
};

static int run_session(pid_t pid, bool open, void *userdata)
{
        struct run_ctx *rc = userdata;

        if (!open)
                return dynid_session_close(rc->s, pid);
        return dynid_session_open(rc->s, rc->name, pid, &rc->err);
}

/* The detached, idmapped home of @l. */
static int home_tree(struct dynid_store *s, const struct dynid_lease *l,
                     int *ret)
{
        struct dynid_err err = {};
        int storage, r;

        r = dynid_storage_create(s, l->name);
        if (r >= 0)
                r = dynid_storage_open(s, l->name, &storage);
        if (r < 0)
                return fail("run: cannot open the storage", r, NULL);
        r = dynid_idmap_tree(storage, l->base, l->size, ret, &err);
        close(storage);
        if (r < 0)
                return fail("run: cannot build the home", r, &err);
        return 0;
}

static int verb_run(struct ctx *c)
{
        _cleanup_(store_closep) struct dynid_store *s = NULL;
        const char *name = c->args[0];
        char home[4096], user[DYNID_NAME_MAX + 1];
        struct dynid_lease l;
        struct dynid_err err = {};
        struct run_ctx rc;
        int tree, r;

        if (geteuid() != 0)
                return fail("run", -EPERM, &(struct dynid_err) {
                        "must be run as root" });
        r = check_names("run", c->args, 1);
        if (r < 0)
                return r;
        if (c->has_inner && c->inner >= c->cfg.block_size)
                return fail("run", -EINVAL, &(struct dynid_err) {
                        "--user is outside the block" });
        r = open_store(c, false, &s);
        if (r < 0)
                return r;
        r = dynid_lease_add(s, (const char *const *) c->args, 1, &l, &err);
        if (r < 0)
                return fail("run", r, &err);
        if (dynid_config_home(&c->cfg, name, home, sizeof(home)) < 0)
                return fail("run", -ENAMETOOLONG, NULL);
        if (c->inner == 0)
                snprintf(user, sizeof(user), "%s", name);
        else if (dynid_derived_name(name, l.base, c->inner, user,
                                    sizeof(user)) < 0)
                return fail("run", -ERANGE, NULL);
        r = home_tree(s, &l, &tree);
        if (r < 0)
                return r;

        rc = (struct run_ctx) { .s = s, .name = name };
        r = run_service(&(struct run_request) {
                                .home = home,
                                .shell = c->cfg.shell,
                                .user = user,
                                .base = l.base,
                                .size = l.size,
                                .inner = c->inner,
                                .argv = c->args + 1,
                        }, tree, run_session, &rc);
        close(tree);
        if (r < 0 && rc.err.msg[0])
                return fail("run: cannot record the session", r, &rc.err);
        if (r < 0)
                return fail("run: cannot start the command", r, NULL);
        return r;
}

static const struct verb verbs[] = {
        { "add",    options_global, 1, SIZE_MAX, { "NAME" }, verb_add },
        { "remove", options_remove, 1, SIZE_MAX, { "NAME" }, verb_remove },
        { "list",   options_json,   0, 0,        { NULL },   verb_list },
        { "show",   options_json,   1, 1,        { "NAME or UID" },
          verb_show },
        { "status", options_json,   0, 0,        { NULL },   verb_status },
        { "check",  options_check,  0, 0,        { NULL },   verb_check },
        { "gc",     options_gc,     0, 0,        { NULL },   verb_gc },
        { "run",    options_run,    2, SIZE_MAX, { "NAME", "COMMAND" },
          verb_run },
};

static void help(void)
{
        fputs("Usage: dynidctl [--config PATH] COMMAND [OPTIONS] [ARGS]\n"
              "\n"
              "Lease blocks of IDs to services and inspect the leases.\n"
              "\n"
              "Commands:\n"
              "  add NAME...               lease a block to each service\n"
              "  remove [--force] [--purge] NAME...\n"
              "                            end leases (--force: in use too;\n"
              "                            --purge: delete their storage)\n"
              "  list [--json]             list every lease\n"
              "  show NAME|UID [--json]    one lease, by name or by any ID\n"
              "  status [--json]           pool, database and snapshot\n"
              "  check [--repair]          verify every invariant; --repair\n"
              "                            publishes the snapshot again\n"
              "  gc [--dry-run]            reap dead sessions and idle leases\n"
              "  run NAME [--user INNER] -- COMMAND...\n"
              "                            run COMMAND as root (or INNER) in\n"
              "                            the service's user namespace\n"
              "\n"
              "Options:\n"
              "  --config PATH   configuration file (default "
              DEFAULT_CONFIG ")\n"
              "  --help          show this help and exit\n"
              "  --version       show the version and exit\n"
              "\n"
              "See dynidctl(8) for details.\n", stdout);
}

static const struct verb *find_verb(const char *name)
{
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                if (strcmp(verbs[i].name, name) == 0)
                        return &verbs[i];
        return NULL;
}

/* getopt's own '?' and ':' cases; its messages would name argv[0]. */
static int option_error(const char *verb, int o, char *argv[])
{
        if (o == ':')
                return usage_error(verb, "option '%s' needs an argument",
                                   argv[optind - 1]);
        if (optopt > 0 && optopt < ARG_CONFIG)
                return usage_error(verb, "invalid option -- '%c'", optopt);
        return usage_error(verb, "invalid option '%s'", argv[optind - 1]);
}

/*
 * Parses the global options (@verb NULL, stopping at the command) or
 * those of @verb. Returns 0 to go on, 1 when --help or --version was
 * answered, or -EINVAL after a usage error.
 */
static int parse_options(int argc, char *argv[], const char *verb,
                         const struct option *options, struct ctx *c)
{
        /* ':' makes a missing argument distinct; '+' stops at the command */
        const char *optstring = verb ? ":h" : "+:h";
        int o;

        opterr = 0;
        optind = 0;     /* the command's options are a second, fresh scan */
        while ((o = getopt_long(argc, argv, optstring, options, NULL)) >= 0) {
                switch (o) {
                case 'h':
                case ARG_HELP:
                        help();
                        return 1;
                case ARG_VERSION:
                        puts("dynidctl " PACKAGE_VERSION);
                        return 1;
                case ARG_CONFIG:
                        if (!optarg[0])
                                return usage_error(verb,
                                                   "--config needs a path");
                        c->config = optarg;
                        break;
                case ARG_JSON:
                        c->json = true;
                        break;
                case ARG_FORCE:
                        c->force = true;
                        break;
                case ARG_PURGE:
                        c->purge = true;
                        break;
                case ARG_USER: {
                        uint64_t v;

                        if (parse_u64(optarg, &v) < 0 || v > UINT32_MAX)
                                return usage_error(verb, "invalid inner user "
                                                   "'%s'", optarg);
                        c->inner = v;
                        c->has_inner = true;
                        break;
                }
                case ARG_DRY_RUN:
                        c->dry_run = true;
                        break;
                case ARG_REPAIR:
                        c->repair = true;
                        break;
                case ':':
                case '?':
                        return option_error(verb, o, argv);
                default:
                        abort();        /* getopt_long() returns nothing else */
                }
        }
        return 0;
}

static int check_operands(const struct verb *v, const struct ctx *c)
{
        if (c->n_args < v->min_args)
                return usage_error(v->name, "missing %s%s%s",
                                   v->operand[c->n_args],
                                   v->min_args - c->n_args > 1 ? " and " : "",
                                   v->min_args - c->n_args > 1 ?
                                   v->operand[c->n_args + 1] : "");
        if (c->n_args > v->max_args)
                return usage_error(v->name, "unexpected argument '%s'",
                                   c->args[v->max_args]);
        return 0;
}

/*
 * With 0, 1 or 2 closed, the database would be opened on one of them and
 * the next error message written into it: fill the gaps with /dev/null.
 */
static int open_std_fds(void)
{
        for (int fd = 0; fd <= 2; fd++) {
                int n;

                if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
                        continue;
                n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
                if (n != fd)
                        return -1;
        }
        return 0;
}

int main(int argc, char *argv[])
{
        struct ctx c = {};
        const struct verb *v;
        int r;

        if (open_std_fds() < 0)
                return EXIT_FAILURE;
        r = parse_options(argc, argv, NULL, options_global, &c);
        if (r != 0)
                return finish(r < 0 ? EXIT_USAGE : EXIT_SUCCESS);
        if (optind >= argc) {
                usage_error(NULL, "missing command");
                return EXIT_USAGE;
        }
        v = find_verb(argv[optind]);
        if (!v) {
                usage_error(NULL, "unknown command '%s'", argv[optind]);
                return EXIT_USAGE;
        }

        argc -= optind;
        argv += optind;
        r = parse_options(argc, argv, v->name, v->options, &c);
        if (r != 0)
                return finish(r < 0 ? EXIT_USAGE : EXIT_SUCCESS);
        c.args = argv + optind;
        c.n_args = argc - optind;
        if (check_operands(v, &c) < 0)
                return EXIT_USAGE;

        r = load_config(&c);
        if (r >= 0)
                r = v->run(&c);
        dynid_config_free(&c.cfg);
        return finish(r < 0 ? EXIT_FAILURE : r);
}
