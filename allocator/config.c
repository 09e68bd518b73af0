/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dynid.h"
#include "util.h"

#define HOME_DEFAULT  LOCALSTATEDIR "/lib/dynid/home/%n"
#define SHELL_DEFAULT "/usr/sbin/nologin"

#define CONFIG_MAX 65536       /* bytes; a configuration is a few lines */

struct parse_state {
        struct dynid_config *cfg;
        const char *data;       /* the whole file, NUL-free */
        size_t pos;
        size_t len;
        int line;               /* of the line inih read last */
        char why[256];          /* first problem, without file and line */
        int r;                  /* first error */
        int error_line;
        int long_line;          /* the first line too long for inih */
        int max_line;           /* its length limit, newline excluded */
};

/*
 * inih takes a section name up to the first ']' and ignores what follows:
 * "[pool] junk", "[pool]]" and "[]" would pass. A header line must be a
 * non-empty name in brackets, then nothing but blanks or a comment.
 */
static bool header_ok(const char *p, size_t len)
{
        const char *end = p + len, *close;

        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        if (p == end || *p != '[')
                return true;    /* not a header: inih judges it */
        close = memchr(p, ']', end - p);
        if (!close || close == p + 1)
                return false;
        for (p = close + 1; p < end; p++) {
                if (*p == ';' || *p == '#')
                        return true;
                if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
                        return false;
        }
        return true;
}

/*
 * inih's reader, counting lines so that the handler knows where it is.
 * inih would parse the rest of a line that does not fit its buffer as a
 * line of its own, which shifts every later line number; such a line is
 * skipped here and handed over as "[", which inih reports as malformed,
 * and so is a header that header_ok() refuses.
 */
static char *read_line(char *buf, int size, void *userdata)
{
        struct parse_state *st = userdata;
        const char *p = st->data + st->pos;
        const char *nl = memchr(p, '\n', st->len - st->pos);
        size_t len = nl ? (size_t) (nl - p) + 1 : st->len - st->pos;

        if (len == 0)
                return NULL;
        st->pos += len;
        st->line++;
        if (len > (size_t) size - 1 &&
            !(nl && len == (size_t) size && size > 1)) {
                if (!st->long_line) {
                        st->long_line = st->line;
                        st->max_line = size - 1;
                }
                strcpy(buf, "[");
                return buf;
        }
        if (!header_ok(p, len)) {
                strcpy(buf, "[");
                return buf;
        }
        /* A line that fills the buffer but for its newline still fits. */
        if (len > (size_t) size - 1)
                len = size - 1;
        memcpy(buf, p, len);
        buf[len] = 0;
        return buf;
}

static int check_file(const char *path, const struct stat *st,
                      struct dynid_err *err)
{
        if (!S_ISREG(st->st_mode)) {
                set_errf(err, "%s: not a regular file", path);
                return -EINVAL;
        }
        if (st->st_size > CONFIG_MAX) {
                set_errf(err, "%s: larger than %d bytes", path, CONFIG_MAX);
                return -EFBIG;
        }
        if ((st->st_uid != 0 && st->st_uid != geteuid()) ||
            (st->st_mode & 022)) {
                set_errf(err, "%s: must be owned by root and not writable "
                         "by group or others", path);
                return -EPERM;
        }
        return 0;
}

/*
 * Reads the whole file: a regular file of at most CONFIG_MAX bytes, owned
 * by root (or by us) and writable by nobody else.
 */
static int read_config(const char *path, char **ret, size_t *ret_len,
                       struct dynid_err *err)
{
        struct stat st;
        char *data = NULL;
        ssize_t n;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        r = fstat(fd, &st) < 0 ? -errno : check_file(path, &st, err);
        if (r >= 0 && !(data = malloc(st.st_size + 1)))
                r = -ENOMEM;
        if (r >= 0) {
                n = read(fd, data, st.st_size + 1);
                if (n < 0)
                        r = -errno;
                else if (n > st.st_size)
                        r = -EAGAIN;    /* it grew while we read it */
                else
                        *ret_len = n;
        }
        close(fd);
        if (r < 0) {
                free(data);
                return r;
        }
        *ret = data;
        return 0;
}

int dynid_config_defaults(struct dynid_config *cfg)
{
        *cfg = (struct dynid_config) {
                .pool_first = DYNID_POOL_FIRST_DEFAULT,
                .pool_last = DYNID_POOL_LAST_DEFAULT,
                .block_size = DYNID_BLOCK_SIZE_DEFAULT,
                .map_size_mib = 64,
                .home = strdup(HOME_DEFAULT),
                .shell = strdup(SHELL_DEFAULT),
        };
        if (!cfg->home || !cfg->shell) {
                dynid_config_free(cfg);
                return -ENOMEM;
        }
        return 0;
}

void dynid_config_free(struct dynid_config *cfg)
{
        free(cfg->home);
        free(cfg->shell);
        cfg->home = cfg->shell = NULL;
}

static int parse_range(const char *v, uint32_t *first, uint32_t *last)
{
        const char *dash = strchr(v, '-');
        char a[16];
        uint64_t f, l;

        if (!dash || (size_t) (dash - v) >= sizeof(a))
                return -EINVAL;
        memcpy(a, v, dash - v);
        a[dash - v] = 0;
        if (parse_u64(a, &f) < 0 || parse_u64(dash + 1, &l) < 0)
                return -EINVAL;
        if (f > UINT32_MAX || l > UINT32_MAX || f > l)
                return -EINVAL;
        *first = f;
        *last = l;
        return 0;
}

/* Paths end up in passwd lines: printable ASCII, no blank, no ':'. */
static bool path_char_ok(char c)
{
        return c > 0x20 && c < 0x7f && c != ':';
}

/* A template may use "%n" (the name) and "%%"; nothing else. No part of
 * it may be "." or "..": a home is walked down from "/" as written. */
static int check_home(const char *v)
{
        if (v[0] != '/')
                return -EINVAL;
        for (const char *p = v; *p; p++) {
                if (!path_char_ok(*p))
                        return -EINVAL;
                if (*p == '/' && p[1] == '.' &&
                    (p[2] == '/' || !p[2] ||
                     (p[2] == '.' && (p[3] == '/' || !p[3]))))
                        return -EINVAL;
                if (*p != '%')
                        continue;
                p++;
                if (*p != 'n' && *p != '%')
                        return -EINVAL;
        }
        return 0;
}

static int check_shell(const char *v)
{
        if (v[0] != '/' || v[1] == 0)
                return -EINVAL;
        for (const char *p = v; *p; p++)
                if (!path_char_ok(*p))
                        return -EINVAL;
        return 0;
}

static int replace_string(char **dst, const char *v)
{
        char *s = strdup(v);

        if (!s)
                return -ENOMEM;
        free(*dst);
        *dst = s;
        return 0;
}

static int apply(struct dynid_config *cfg, const char *section,
                 const char *key, const char *v, char *why, size_t size)
{
        uint64_t n;

        if (strcmp(section, "pool") == 0 && strcmp(key, "range") == 0) {
                if (parse_range(v, &cfg->pool_first, &cfg->pool_last) < 0)
                        goto bad;
                return 0;
        }
        if (strcmp(section, "pool") == 0 && strcmp(key, "block_size") == 0) {
                if (parse_u64(v, &n) < 0 || n == 0 || n > 1u << 31)
                        goto bad;
                cfg->block_size = n;
                return 0;
        }
        if (strcmp(section, "service") == 0 && strcmp(key, "home") == 0) {
                if (check_home(v) < 0)
                        goto bad;
                return replace_string(&cfg->home, v);
        }
        if (strcmp(section, "service") == 0 && strcmp(key, "shell") == 0) {
                if (check_shell(v) < 0)
                        goto bad;
                return replace_string(&cfg->shell, v);
        }
        if (strcmp(section, "service") == 0 && strcmp(key, "idle_ttl") == 0) {
                if (parse_u64(v, &n) < 0)
                        goto bad;
                cfg->idle_ttl = n;
                return 0;
        }
        if (strcmp(section, "store") == 0 && strcmp(key, "map_size") == 0) {
                if (parse_u64(v, &n) < 0 || n == 0 || n > 1u << 20)
                        goto bad;
                cfg->map_size_mib = n;
                return 0;
        }
        if (!*section)
                snprintf(why, size, "key '%s' outside of a section", key);
        else
                snprintf(why, size, "unknown key '%s' in section [%s]",
                         key, section);
        return -EINVAL;
bad:
        snprintf(why, size, "invalid value for %s.%s: '%s'", section, key, v);
        return -EINVAL;
}

static const char *expected_value(const char *section, const char *key)
{
        if (strcmp(key, "range") == 0)
                return "FIRST-LAST with FIRST <= LAST <= 4294967295";
        if (strcmp(key, "block_size") == 0)
                return "an integer from 1 to 2147483648";
        if (strcmp(key, "home") == 0)
                return "an absolute path of printable characters but blanks "
                       "and ':', with no '.' or '..' part; '%n' is the name";
        if (strcmp(key, "shell") == 0)
                return "an absolute path of printable characters but blanks "
                       "and ':'";
        if (strcmp(key, "map_size") == 0)
                return "MiB, an integer from 1 to 1048576";
        return "seconds, a non-negative integer";
}

static int handler(void *user, const char *section, const char *key,
                   const char *value)
{
        struct parse_state *st = user;
        char why[sizeof(st->why)];
        int r;

        r = apply(st->cfg, section, key, value, why, sizeof(why));
        if (r == -EINVAL && strncmp(why, "invalid value", 13) == 0) {
                size_t l = strlen(why);

                snprintf(why + l, sizeof(why) - l, " (expected %s)",
                         expected_value(section, key));
        }
        if (r < 0 && st->r == 0) {
                st->r = r;
                st->error_line = st->line;
                if (r == -ENOMEM)
                        snprintf(st->why, sizeof(st->why), "out of memory");
                else
                        memcpy(st->why, why, sizeof(why));
        }
        return r >= 0;
}

int dynid_config_parse(const char *name, const char *data, size_t len,
                       struct dynid_config *cfg, struct dynid_err *err)
{
        struct parse_state st = { .cfg = cfg, .data = data, .len = len };
        const char *nul;
        int line, r;

        r = dynid_config_defaults(cfg);
        if (r < 0)
                return r;
        nul = len > 0 ? memchr(data, 0, len) : NULL;
        if (nul) {
                line = 1;
                for (const char *p = data; p < nul; p++)
                        line += *p == '\n';
                dynid_config_free(cfg);
                set_errf(err, "%s:%d: contains a NUL byte", name, line);
                return -EINVAL;
        }

        line = ini_parse_stream(read_line, &st, handler, &st);
        if (line == 0 && st.r == 0)
                return 0;
        /* inih reports its first error; ours may come later in the file. */
        if (st.r && (line <= 0 || line == st.error_line))
                line = st.error_line;
        else
                st.r = 0;

        dynid_config_free(cfg);
        if (err) {
                if (st.r)
                        snprintf(err->msg, sizeof(err->msg), "%s:%d: %s",
                                 name, line, st.why);
                else if (line > 0 && line == st.long_line)
                        snprintf(err->msg, sizeof(err->msg),
                                 "%s:%d: longer than %d bytes", name, line,
                                 st.max_line);
                else if (line > 0)
                        snprintf(err->msg, sizeof(err->msg),
                                 "%s:%d: not a section header or key = value",
                                 name, line);
                else
                        snprintf(err->msg, sizeof(err->msg),
                                 "%s: could not be read", name);
        }
        return st.r == -ENOMEM ? -ENOMEM : -EINVAL;
}

int dynid_config_load(const char *path, bool optional,
                      struct dynid_config *cfg, struct dynid_err *err)
{
        char *data = NULL;
        size_t len = 0;
        int r;

        r = read_config(path, &data, &len, err);
        if (r == -ENOENT && optional)
                return dynid_config_defaults(cfg);
        if (r < 0) {
                if (err && r != -EINVAL && r != -EFBIG && r != -EPERM)
                        set_errf(err, "%s: %s", path, strerror(-r));
                return r == -EFBIG ? -EINVAL : r;
        }
        r = dynid_config_parse(path, data, len, cfg, err);
        free(data);
        return r;
}

int dynid_config_home(const struct dynid_config *cfg, const char *name,
                      char *buf, size_t size)
{
        size_t len = 0;

        for (const char *p = cfg->home; *p; p++) {
                const char *piece = p;
                size_t l = 1;

                if (p[0] == '%' && p[1] == 'n') {
                        piece = name;
                        l = strlen(name);
                        p++;
                } else if (p[0] == '%' && p[1] == '%') {
                        p++;
                }
                if (len + l >= size)
                        return -ERANGE;
                memcpy(buf + len, piece, l);
                len += l;
        }
        if (len >= size)
                return -ERANGE;
        buf[len] = 0;
        return len;
}

uint32_t dynid_pool_slots(const struct dynid_config *cfg)
{
        uint64_t bs = cfg->block_size;
        uint64_t first = (cfg->pool_first + bs - 1) / bs * bs;
        uint64_t end = (uint64_t) cfg->pool_last + 1;

        if (first >= end || end - first < bs)
                return 0;
        return (end - first) / bs;
}

uint32_t dynid_pool_slot_base(const struct dynid_config *cfg, uint32_t slot)
{
        uint64_t bs = cfg->block_size;
        uint64_t first = (cfg->pool_first + bs - 1) / bs * bs;

        return first + (uint64_t) slot * bs;
}
