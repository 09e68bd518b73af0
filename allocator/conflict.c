/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store-internal.h"
#include "util.h"

bool pool_contains(const struct dynid_config *cfg, uint32_t id)
{
        uint32_t slots = dynid_pool_slots(cfg);
        uint32_t first = dynid_pool_slot_base(cfg, 0);

        return slots > 0 && id >= first &&
               (uint64_t) id - first < (uint64_t) slots * cfg->block_size;
}

/* Called for each line of a colon-separated file with its fields. */
typedef int (*line_fn)(char **f, size_t n, void *userdata);

static int scan_file(const char *etc_dir, const char *file, line_fn fn,
                     void *userdata)
{
        char path[4096], *line = NULL;
        size_t cap = 0;
        int r = 0;
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", etc_dir, file);
        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? 0 : -errno;

        while (r == 0) {
                char *fields[8], *p;
                size_t n = 0;

                errno = 0;
                if (getline(&line, &cap, f) < 0) {
                        /* End of file, or a read error (EISDIR, EIO). */
                        if (ferror(f))
                                r = errno > 0 ? -errno : -EIO;
                        break;
                }
                p = line;
                line[strcspn(line, "\n")] = 0;
                /* Comments and NIS "+"/"-" lines are not entries. */
                if (strchr("#+-", line[0]) && line[0])
                        continue;
                while (n < 8) {
                        fields[n++] = p;
                        p = strchr(p, ':');
                        if (!p)
                                break;
                        *p++ = 0;
                }
                r = fn(fields, n, userdata);
        }
        free(line);
        fclose(f);
        return r < 0 ? r : 0;
}

struct pool_scan {
        const struct dynid_config *cfg;
        const char *file;
        const char *path;
        struct dynid_err *err;
};

static bool in_range(const struct dynid_config *cfg, uint64_t first,
                     uint64_t count)
{
        return count > 0 && first <= cfg->pool_last &&
               first + count - 1 >= cfg->pool_first;
}

static int id_line(char **f, size_t n, void *userdata)
{
        struct pool_scan *ps = userdata;
        /* passwd: name:pw:uid:gid, group: name:pw:gid */
        size_t last = strcmp(ps->file, "passwd") == 0 ? 3 : 2;
        uint64_t id;

        for (size_t i = 2; i <= last && i < n; i++) {
                if (parse_u64(f[i], &id) < 0 || !in_range(ps->cfg, id, 1))
                        continue;
                set_errf(ps->err, "the pool %u-%u contains ID %llu of '%s' "
                         "in %s", ps->cfg->pool_first, ps->cfg->pool_last,
                         (unsigned long long) id, f[0], ps->path);
                return -EEXIST;
        }
        return 0;
}

static int range_line(char **f, size_t n, void *userdata)
{
        struct pool_scan *ps = userdata;
        uint64_t first, count;

        if (n < 3 || parse_u64(f[1], &first) < 0 ||
            parse_u64(f[2], &count) < 0 || !in_range(ps->cfg, first, count))
                return 0;
        set_errf(ps->err, "the pool %u-%u overlaps the range %llu-%llu of "
                 "'%s' in %s", ps->cfg->pool_first, ps->cfg->pool_last,
                 (unsigned long long) first,
                 (unsigned long long) (first + count - 1), f[0], ps->path);
        return -EEXIST;
}

int dynid_pool_conflict(const struct dynid_config *cfg, const char *etc_dir,
                        struct dynid_err *err)
{
        static const uint32_t special[] = { 65534, 65535, UINT32_MAX };
        static const struct {
                const char *file;
                line_fn fn;
        } files[] = {
                { "passwd", id_line },
                { "group", id_line },
                { "subuid", range_line },
                { "subgid", range_line },
        };

        for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
                if (in_range(cfg, special[i], 1)) {
                        set_errf(err, "the pool %u-%u contains the special "
                                 "ID %u", cfg->pool_first, cfg->pool_last,
                                 special[i]);
                        return -EEXIST;
                }
        if (cfg->pool_last >= DYNID_FOREIGN_BASE) {
                set_errf(err, "the pool %u-%u goes beyond %u: the foreign "
                         "range, where storage keeps its canonical owners, "
                         "starts at %u, and IDs from 2^31 up are not leased",
                         cfg->pool_first, cfg->pool_last,
                         DYNID_FOREIGN_BASE - 1, DYNID_FOREIGN_BASE);
                return -EEXIST;
        }

        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                char path[4096];
                struct pool_scan ps = { cfg, files[i].file, path, err };
                int r;

                snprintf(path, sizeof(path), "%s/%s", etc_dir, files[i].file);
                r = scan_file(etc_dir, files[i].file, files[i].fn, &ps);
                if (r == -EEXIST)
                        return r;
                if (r < 0) {
                        set_errf(err, "%s: %s", path, strerror(-r));
                        return r;
                }
        }
        return 0;
}

static void name_set_clear(struct name_set *ns)
{
        for (size_t i = 0; i < ns->n; i++)
                free(ns->names[i]);
        free(ns->names);
        ns->names = NULL;
        ns->n = 0;
        ns->loaded = false;
}

void name_sets_free(struct dynid_store *s)
{
        for (size_t i = 0; i < 2; i++)
                name_set_clear(&s->etc_names[i]);
}

static int name_line(char **f, size_t n, void *userdata)
{
        struct name_set *ns = userdata;
        char **names;

        names = reallocarray(ns->names, ns->n + 1, sizeof(*names));
        if (!names)
                return -ENOMEM;
        ns->names = names;
        if (!(names[ns->n] = strdup(f[0])))
                return -ENOMEM;
        ns->n++;
        return 0;
}

static int cmp_name(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
               a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
               a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
               a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
               a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * Is @name in ETC/@file? The names are read once and kept while the file
 * stays the same, so that a batch of adds reads each file once.
 * Returns 1, 0 or -errno.
 */
static int etc_has_name(struct dynid_store *s, size_t which,
                        const char *file, const char *name)
{
        struct name_set *ns = &s->etc_names[which];
        char path[4096];
        struct stat st;
        int r;

        snprintf(path, sizeof(path), "%s/%s", s->etc_dir, file);
        if (stat(path, &st) < 0) {
                if (errno != ENOENT)
                        return -errno;
                st = (struct stat) { .st_ino = 0 };
        }
        if (!ns->loaded || !same_file(&ns->st, &st)) {
                struct name_set fresh = { .loaded = false };

                r = scan_file(s->etc_dir, file, name_line, &fresh);
                if (r < 0) {
                        name_set_clear(&fresh);
                        return r;
                }
                if (fresh.n > 0)
                        qsort(fresh.names, fresh.n, sizeof(*fresh.names),
                              cmp_name);
                fresh.st = st;
                fresh.loaded = true;
                name_set_clear(ns);
                *ns = fresh;
        }
        return ns->n > 0 && bsearch(&name, ns->names, ns->n,
                                    sizeof(*ns->names), cmp_name);
}

/*
 * Does NSS have a source for @db beyond what the scans above read? Only
 * when /etc/nsswitch.conf lists nothing but "files" (glibc's reading of
 * /etc/passwd and /etc/group, which the scans cover when ETC is /etc) and
 * "dynid" (our own leases) for it is the answer no. Anything else, or a
 * line this cannot read with certainty, means yes: asking NSS is then
 * slower, never wrong.
 */
static bool nsswitch_has_more(const char *etc_dir, const char *db)
{
        char *line = NULL;
        size_t cap = 0, dblen = strlen(db);
        int seen = 0;
        bool more = false;
        FILE *f;

        if (strcmp(etc_dir, "/etc") != 0)
                return true;
        f = fopen("/etc/nsswitch.conf", "re");
        if (!f)
                return true;
        while (!more && getline(&line, &cap, f) >= 0) {
                char *p = line, *name;
                bool in_action = false;
                size_t len;

                /* As glibc reads a line: blanks are whatever isspace()
                 * says, the database name runs to a blank or ':', and the
                 * colon may be missing. */
                line[strcspn(line, "#")] = 0;
                if (strchr(line, '\\')) {
                        more = true;    /* a continued line, perhaps */
                        break;
                }
                while (isspace((unsigned char) *p))
                        p++;
                name = p;
                while (*p && *p != ':' && !isspace((unsigned char) *p))
                        p++;
                len = p - name;
                if (len != dblen || strncasecmp(name, db, dblen) != 0)
                        continue;
                if (++seen > 1) {
                        more = true;    /* which one counts is glibc's */
                        break;
                }
                /* Services, each maybe followed by "[STATUS=ACTION ...]",
                 * with or without blanks around the brackets: what is
                 * inside them is blanked out. */
                for (char *q = p; *q; q++) {
                        if (*q == '[')
                                in_action = true;
                        else if (*q == ']' && in_action)
                                in_action = false;
                        else if (!in_action && *q != ':')
                                continue;
                        *q = ' ';
                }
                if (in_action) {
                        more = true;    /* a bracket left open */
                        break;
                }
                for (char *q = p; *q && !more;) {
                        size_t n;

                        while (isspace((unsigned char) *q))
                                q++;
                        for (n = 0; q[n] && !isspace((unsigned char) q[n]);)
                                n++;
                        if (n > 0 && !(n == 5 && (strncmp(q, "files", 5) == 0 ||
                                                  strncmp(q, "dynid", 5) == 0)))
                                more = true;
                        q += n;
                }
        }
        free(line);
        fclose(f);
        return more || seen != 1;
}

/* Whether the NSS lookups below can tell anything the scans cannot;
 * decided once per store. */
static bool nss_worth_asking(struct dynid_store *s)
{
        if (s->no_nss)
                return false;
        if (s->nss_more < 0)
                s->nss_more = nsswitch_has_more(s->etc_dir, "passwd") ||
                              nsswitch_has_more(s->etc_dir, "group");
        return s->nss_more;
}

static bool gecos_is_ours(const struct passwd *pw)
{
        return strncmp(pw->pw_gecos, DYNID_GECOS_PREFIX,
                       strlen(DYNID_GECOS_PREFIX)) == 0;
}

/* Is the passwd entry of @id one of ours? Only our services carry our
 * GECOS prefix; a snapshot not yet republished may still answer. */
static bool nss_id_is_ours(uint32_t id)
{
        char buf[16384];
        struct passwd pw, *pwp = NULL;

        return getpwuid_r(id, &pw, buf, sizeof(buf), &pwp) == 0 && pwp &&
               gecos_is_ours(&pw);
}

/* Does another NSS source resolve @name? */
static bool nss_has_name(const char *name, const char **db)
{
        char buf[16384];
        struct passwd pw, *pwp = NULL;
        struct group gr, *grp = NULL;

        if (getpwnam_r(name, &pw, buf, sizeof(buf), &pwp) == 0 && pwp &&
            !gecos_is_ours(&pw)) {
                *db = "passwd";
                return true;
        }
        /* Our groups carry no GECOS: the user of the same ID tells. */
        if (getgrnam_r(name, &gr, buf, sizeof(buf), &grp) == 0 && grp &&
            !nss_id_is_ours(gr.gr_gid)) {
                *db = "group";
                return true;
        }
        return false;
}

int name_conflict(struct dynid_store *s, const char *name,
                  struct dynid_err *err)
{
        const char *files[] = { "passwd", "group" };
        const char *db;

        for (size_t i = 0; i < 2; i++) {
                int r = etc_has_name(s, i, files[i], name);

                if (r > 0) {
                        set_errf(err, "%s/%s already has that name",
                                 s->etc_dir, files[i]);
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        if (nss_worth_asking(s) && nss_has_name(name, &db)) {
                set_errf(err, "the %s database already resolves that name",
                         db);
                return -EINVAL;
        }
        return 0;
}

bool base_conflict(struct dynid_store *s, uint32_t base)
{
        char buf[16384];
        struct passwd pw, *pwp = NULL;
        struct group gr, *grp = NULL;

        /* The pool holds no ID of ETC/passwd or ETC/group
         * (dynid_pool_conflict). */
        if (!nss_worth_asking(s))
                return false;
        if (getpwuid_r(base, &pw, buf, sizeof(buf), &pwp) == 0 && pwp)
                return !gecos_is_ours(&pw);
        /* No user has that ID, so no lease of ours holds it either. */
        return getgrgid_r(base, &gr, buf, sizeof(buf), &grp) == 0 && grp;
}
