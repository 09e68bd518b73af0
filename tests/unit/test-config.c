/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dynid.h"
#include "tmpdir.h"

#define HOME_DEFAULT LOCALSTATEDIR "/lib/dynid/home/%n"

/* The state of every test: a temporary directory of its own. */
static int setup_dir(void **state)
{
        char *dir = malloc(PATH_MAX);

        assert_non_null(dir);
        tmpdir_make(dir);
        *state = dir;
        return 0;
}

static int teardown_dir(void **state)
{
        tmpdir_remove(*state);
        free(*state);
        return 0;
}

/* Writes @text as DIR/dynid.conf, stores its path in @path and loads it. */
static int load_text(const char *dir, const char *text, char *path,
                     struct dynid_config *cfg, struct dynid_err *err)
{
        tmpdir_write(dir, "dynid.conf", text, path);
        return dynid_config_load(path, false, cfg, err);
}

static void assert_defaults(const struct dynid_config *cfg)
{
        assert_int_equal(cfg->pool_first, 1879048192);
        assert_int_equal(cfg->pool_last, 2147352575);
        assert_int_equal(cfg->block_size, 65536);
        assert_string_equal(cfg->home, HOME_DEFAULT);
        assert_string_equal(cfg->shell, "/usr/sbin/nologin");
        assert_true(cfg->idle_ttl == 0);
}

static void test_defaults(void **state)
{
        struct dynid_config cfg;

        assert_int_equal(dynid_config_defaults(&cfg), 0);
        assert_defaults(&cfg);
        dynid_config_free(&cfg);
        assert_null(cfg.home);
        assert_null(cfg.shell);
}

static void test_missing_optional(void **state)
{
        const char *dir = *state;
        char path[PATH_MAX];
        struct dynid_config cfg;
        struct dynid_err err = { "untouched" };

        snprintf(path, sizeof(path), "%s/missing.conf", dir);
        assert_int_equal(dynid_config_load(path, true, &cfg, &err), 0);
        assert_defaults(&cfg);
        assert_string_equal(err.msg, "untouched");
        dynid_config_free(&cfg);
}

static void test_missing_required(void **state)
{
        const char *dir = *state;
        char path[PATH_MAX], want[PATH_MAX + 64];
        struct dynid_config cfg;
        struct dynid_err err;

        snprintf(path, sizeof(path), "%s/missing.conf", dir);
        assert_int_equal(dynid_config_load(path, false, &cfg, &err), -ENOENT);
        snprintf(want, sizeof(want), "%s: No such file or directory", path);
        assert_string_equal(err.msg, want);
        assert_null(cfg.home);
        assert_null(cfg.shell);
}

static void test_empty_file(void **state)
{
        char path[PATH_MAX];
        struct dynid_config cfg;
        struct dynid_err err;

        assert_int_equal(load_text(*state, "", path, &cfg, &err), 0);
        assert_defaults(&cfg);
        dynid_config_free(&cfg);
}

static void test_full_file(void **state)
{
        static const char text[] =
                "# dynid.conf for the tests\n"
                "; a comment line of the other kind\n"
                "\n"
                "[pool]   ; the pool\n"
                "range = 1048576-2097151   ; first-last\n"
                "block_size = 65536 ; overridden below\n"
                "  # an indented comment\n"
                "block_size=4096\n"
                "\n"
                "[service]\t# services\r\n"
                "home = /srv/%n/100%%   ; %n is the name\n"
                "shell =   /bin/false\n"
                "idle_ttl = 86400 ; seconds\n";
        char path[PATH_MAX];
        struct dynid_config cfg;
        struct dynid_err err;

        assert_int_equal(load_text(*state, text, path, &cfg, &err), 0);
        assert_int_equal(cfg.pool_first, 1048576);
        assert_int_equal(cfg.pool_last, 2097151);
        assert_int_equal(cfg.block_size, 4096);
        assert_string_equal(cfg.home, "/srv/%n/100%%");
        assert_string_equal(cfg.shell, "/bin/false");
        assert_true(cfg.idle_ttl == 86400);
        dynid_config_free(&cfg);
}

static void test_extreme_values(void **state)
{
        static const char text[] =
                "[pool]\n"
                "range = 0-4294967295\n"
                "block_size = 2147483648\n"
                "[service]\n"
                "idle_ttl = 18446744073709551615\n";
        char path[PATH_MAX];
        struct dynid_config cfg;
        struct dynid_err err;

        assert_int_equal(load_text(*state, text, path, &cfg, &err), 0);
        assert_int_equal(cfg.pool_first, 0);
        assert_int_equal(cfg.pool_last, 4294967295u);
        assert_int_equal(cfg.block_size, 2147483648u);
        assert_true(cfg.idle_ttl == UINT64_MAX);
        dynid_config_free(&cfg);
}

/* The example shipped in etc/ shows every default and changes nothing. */
static void test_example_file(void **state)
{
        const char *top = getenv("top_srcdir");
        char path[PATH_MAX];
        struct dynid_config cfg, def;
        struct dynid_err err;

        if (!top || !*top)
                skip();
        snprintf(path, sizeof(path), "%s/etc/dynid.conf", top);
        assert_int_equal(dynid_config_load(path, false, &cfg, &err), 0);
        assert_int_equal(dynid_config_defaults(&def), 0);

        assert_int_equal(cfg.pool_first, def.pool_first);
        assert_int_equal(cfg.pool_last, def.pool_last);
        assert_int_equal(cfg.block_size, def.block_size);
        assert_string_equal(cfg.shell, def.shell);
        assert_true(cfg.idle_ttl == def.idle_ttl);
        /* The example spells out the standard localstatedir. */
        assert_string_equal(cfg.home, "/var/lib/dynid/home/%n");
        if (strcmp(LOCALSTATEDIR, "/var") == 0)
                assert_string_equal(cfg.home, def.home);

        dynid_config_free(&def);
        dynid_config_free(&cfg);
}

/* One bad file: where the first problem is and what it is. */
struct bad_conf {
        const char *text;
        int line;
        const char *why;
};

#define EXPECT_RANGE "(expected FIRST-LAST with FIRST <= LAST <= 4294967295)"
#define EXPECT_BS    "(expected an integer from 1 to 2147483648)"
#define EXPECT_HOME  "(expected an absolute path of printable characters " \
        "but blanks and ':', with no '.' or '..' part; '%n' is the name)"
#define EXPECT_SHELL "(expected an absolute path of printable characters " \
        "but blanks and ':')"
#define EXPECT_TTL   "(expected seconds, a non-negative integer)"

static const struct bad_conf bad_confs[] = {
        { "[pool]\nsize = 5\n", 2,
          "unknown key 'size' in section [pool]" },
        { "[service]\nrange = 1-2\n", 2,
          "unknown key 'range' in section [service]" },
        { "[pool]\nrange = 1048576-2097151\n\n[pools]\nrange = 1-2\n", 5,
          "unknown key 'range' in section [pools]" },
        { "# no section yet\nidle_ttl = 5\n[service]\n", 2,
          "key 'idle_ttl' outside of a section" },

        { "[pool]\nrange = 5\n", 2,
          "invalid value for pool.range: '5' " EXPECT_RANGE },
        { "[pool]\nrange = 10-5\n", 2,
          "invalid value for pool.range: '10-5' " EXPECT_RANGE },
        { "[pool]\nrange = a-b\n", 2,
          "invalid value for pool.range: 'a-b' " EXPECT_RANGE },
        { "[pool]\nrange = -1-5\n", 2,
          "invalid value for pool.range: '-1-5' " EXPECT_RANGE },
        { "[pool]\nrange = 1-4294967296\n", 2,
          "invalid value for pool.range: '1-4294967296' " EXPECT_RANGE },
        { "[pool]\nrange = 1-\n", 2,
          "invalid value for pool.range: '1-' " EXPECT_RANGE },
        { "[pool]\nrange = 1 - 5\n", 2,
          "invalid value for pool.range: '1 - 5' " EXPECT_RANGE },
        { "[pool]\nrange = 12345678901234567-12345678901234568\n", 2,
          "invalid value for pool.range: "
          "'12345678901234567-12345678901234568' " EXPECT_RANGE },

        { "[pool]\nblock_size = 0\n", 2,
          "invalid value for pool.block_size: '0' " EXPECT_BS },
        { "[pool]\nblock_size = 65536x\n", 2,
          "invalid value for pool.block_size: '65536x' " EXPECT_BS },
        { "[pool]\nblock_size = 0x10000\n", 2,
          "invalid value for pool.block_size: '0x10000' " EXPECT_BS },
        { "[pool]\nblock_size = 007\n", 2,
          "invalid value for pool.block_size: '007' " EXPECT_BS },
        /* Blanks around a value are not part of it (see
         * test_blanks_around_values); inside, they are. */
        { "[pool]\nblock_size = 1 2\n", 2,
          "invalid value for pool.block_size: '1 2' " EXPECT_BS },
        { "[pool]\nblock_size = +12\n", 2,
          "invalid value for pool.block_size: '+12' " EXPECT_BS },
        { "[pool]\nblock_size = 2147483649\n", 2,
          "invalid value for pool.block_size: '2147483649' " EXPECT_BS },
        { "[pool]\nblock_size =\n", 2,
          "invalid value for pool.block_size: '' " EXPECT_BS },

        { "[service]\nhome = home/%n\n", 2,
          "invalid value for service.home: 'home/%n' " EXPECT_HOME },
        { "[service]\nhome = /srv/%x\n", 2,
          "invalid value for service.home: '/srv/%x' " EXPECT_HOME },
        { "[service]\nhome = /var/lib/dynid/home/%n/../../../etc\n", 2,
          "invalid value for service.home: "
          "'/var/lib/dynid/home/%n/../../../etc' " EXPECT_HOME },
        { "[service]\nhome = /srv/./%n\n", 2,
          "invalid value for service.home: '/srv/./%n' " EXPECT_HOME },
        { "[service]\nhome = /srv/%n/..\n", 2,
          "invalid value for service.home: '/srv/%n/..' " EXPECT_HOME },
        { "[service]\nshell = /bin/sh:x\n", 2,
          "invalid value for service.shell: '/bin/sh:x' " EXPECT_SHELL },
        { "[service]\nhome = /srv/100%\n", 2,
          "invalid value for service.home: '/srv/100%' " EXPECT_HOME },
        { "[service]\nhome = /srv/a:b\n", 2,
          "invalid value for service.home: '/srv/a:b' " EXPECT_HOME },
        { "[service]\nshell = nologin\n", 2,
          "invalid value for service.shell: 'nologin' " EXPECT_SHELL },
        { "[service]\nshell =\n", 2,
          "invalid value for service.shell: '' " EXPECT_SHELL },
        { "[service]\nshell = /bin/a:b\n", 2,
          "invalid value for service.shell: '/bin/a:b' " EXPECT_SHELL },
        { "[service]\nidle_ttl = 5;x\n", 2,
          "invalid value for service.idle_ttl: '5;x' " EXPECT_TTL },
        { "[service]\nidle_ttl = -1\n", 2,
          "invalid value for service.idle_ttl: '-1' " EXPECT_TTL },
        { "[service]\nidle_ttl = 18446744073709551616\n", 2,
          "invalid value for service.idle_ttl: '18446744073709551616' "
          EXPECT_TTL },

        { "[pool]\nrange\n", 2, "not a section header or key = value" },
        { "[pool\nrange = 1-2\n", 1, "not a section header or key = value" },
        { "[pool]]\nrange = 1-2\n", 1, "not a section header or key = value" },
        { "[pool] junk\n", 1, "not a section header or key = value" },
        { "# c\n[]\n", 2, "not a section header or key = value" },
        { "[service]x\n", 1, "not a section header or key = value" },

        /* Only the first problem is reported, with its own line. */
        { "[pool]\nblock_size = 0\nrange = 5\n", 2,
          "invalid value for pool.block_size: '0' " EXPECT_BS },
        { "[pool]\nblock_size = 0\ngarbage\n", 2,
          "invalid value for pool.block_size: '0' " EXPECT_BS },
        { "[pool]\ngarbage\nblock_size = 0\n", 2,
          "not a section header or key = value" },
        { "[pool]\ngarbage\n[service]\nshel = /bin/sh\n", 2,
          "not a section header or key = value" },
};

static void test_bad_files(void **state)
{
        for (size_t i = 0; i < sizeof(bad_confs) / sizeof(bad_confs[0]); i++) {
                const struct bad_conf *b = &bad_confs[i];
                char path[PATH_MAX], want[PATH_MAX + 600];
                struct dynid_config cfg;
                struct dynid_err err;

                memset(&err, 0, sizeof(err));
                assert_int_equal(load_text(*state, b->text, path, &cfg, &err),
                                 -EINVAL);
                snprintf(want, sizeof(want), "%s:%d: %s", path, b->line,
                         b->why);
                assert_string_equal(err.msg, want);
                /* Nothing to free after a failure. */
                assert_null(cfg.home);
                assert_null(cfg.shell);
        }
}

/* Lines are limited to 199 bytes; a longer one is malformed on its own
 * line, and does not shift the numbers of the lines after it. */
static void test_long_lines(void **state)
{
        char text[1024], path[PATH_MAX], want[PATH_MAX + 128], a[512];
        struct dynid_config cfg;
        struct dynid_err err;

        /* "home = /" and 191 more bytes: 199 in all, the longest line. */
        memset(a, 'a', sizeof(a));
        snprintf(text, sizeof(text), "[service]\nhome = /%.191s\n", a);
        assert_int_equal(load_text(*state, text, path, &cfg, &err), 0);
        assert_int_equal(strlen(cfg.home), 192);
        dynid_config_free(&cfg);

        snprintf(text, sizeof(text),
                 "[service]\nhome = /%.191s\nshell = x\n", a);
        assert_int_equal(load_text(*state, text, path, &cfg, &err), -EINVAL);
        snprintf(want, sizeof(want), "%s:3: invalid value for service.shell: "
                 "'x' " EXPECT_SHELL, path);
        assert_string_equal(err.msg, want);

        /* 200 bytes, with or without a newline at the end. */
        snprintf(text, sizeof(text), "[service]\nhome = /%.192s\n", a);
        assert_int_equal(load_text(*state, text, path, &cfg, &err), -EINVAL);
        snprintf(want, sizeof(want), "%s:2: longer than 199 bytes", path);
        assert_string_equal(err.msg, want);
        snprintf(text, sizeof(text), "[service]\nhome = /%.192s", a);
        assert_int_equal(load_text(*state, text, path, &cfg, &err), -EINVAL);
        assert_string_equal(err.msg, want);

        /* A long comment, then a value that would have passed. */
        snprintf(text, sizeof(text), "[service]\n# %.300s\nshell = /bin/sh\n",
                 a);
        assert_int_equal(load_text(*state, text, path, &cfg, &err), -EINVAL);
        assert_string_equal(err.msg, want);

        /* The rest of a long line is not a continuation of its value. */
        snprintf(text, sizeof(text), "[service]\nhome = /%.191s /srv\n", a);
        assert_int_equal(load_text(*state, text, path, &cfg, &err), -EINVAL);
        assert_string_equal(err.msg, want);
}

static void test_blanks_around_values(void **state)
{
        static const char text[] =
                "  [pool]  \n"
                "\trange\t=\t1048576-2097151\t\n"
                "block_size =  12 \n";
        char path[PATH_MAX];
        struct dynid_config cfg;
        struct dynid_err err;

        assert_int_equal(load_text(*state, text, path, &cfg, &err), 0);
        assert_int_equal(cfg.pool_first, 1048576);
        assert_int_equal(cfg.pool_last, 2097151);
        assert_int_equal(cfg.block_size, 12);
        dynid_config_free(&cfg);
}

static void test_home_expansion(void **state)
{
        struct dynid_config cfg;
        char buf[PATH_MAX];

        assert_int_equal(dynid_config_defaults(&cfg), 0);
        assert_int_equal(dynid_config_home(&cfg, "web", buf, sizeof(buf)),
                         (int) strlen(LOCALSTATEDIR "/lib/dynid/home/web"));
        assert_string_equal(buf, LOCALSTATEDIR "/lib/dynid/home/web");

        free(cfg.home);
        cfg.home = strdup("/srv/%n/%%/%n%%n");
        assert_non_null(cfg.home);
        assert_int_equal(dynid_config_home(&cfg, "web", buf, sizeof(buf)),
                         16);
        assert_string_equal(buf, "/srv/web/%/web%n");

        /* Exactly large enough, then one byte short, at every step. */
        assert_int_equal(dynid_config_home(&cfg, "web", buf, 17), 16);
        assert_string_equal(buf, "/srv/web/%/web%n");
        for (size_t size = 0; size < 17; size++)
                assert_int_equal(dynid_config_home(&cfg, "web", buf, size),
                                 -ERANGE);

        free(cfg.home);
        cfg.home = strdup("/nowhere");
        assert_non_null(cfg.home);
        assert_int_equal(dynid_config_home(&cfg, "web", buf, sizeof(buf)), 8);
        assert_string_equal(buf, "/nowhere");
        dynid_config_free(&cfg);
}

static void test_pool_slots(void **state)
{
        struct dynid_config cfg;

        assert_int_equal(dynid_config_defaults(&cfg), 0);
        assert_int_equal(dynid_pool_slots(&cfg), 4094);
        assert_int_equal(dynid_pool_slot_base(&cfg, 0), 1879048192);
        assert_int_equal(dynid_pool_slot_base(&cfg, 1), 1879113728);
        assert_int_equal(dynid_pool_slot_base(&cfg, 4093), 2147287040);

        /* Unaligned ends round inward to whole blocks. */
        cfg.pool_first = 1879048193;
        assert_int_equal(dynid_pool_slots(&cfg), 4093);
        assert_int_equal(dynid_pool_slot_base(&cfg, 0), 1879113728);
        cfg.pool_first = 1879048192;
        cfg.pool_last = 2147352574;
        assert_int_equal(dynid_pool_slots(&cfg), 4093);
        assert_int_equal(dynid_pool_slot_base(&cfg, 4092), 2147221504);
        cfg.pool_first = 1000;
        cfg.pool_last = 200000;
        assert_int_equal(dynid_pool_slots(&cfg), 2);
        assert_int_equal(dynid_pool_slot_base(&cfg, 0), 65536);
        assert_int_equal(dynid_pool_slot_base(&cfg, 1), 131072);

        /* Exactly one block; one ID short of it; inside one block. */
        cfg.pool_first = 65536;
        cfg.pool_last = 131071;
        assert_int_equal(dynid_pool_slots(&cfg), 1);
        cfg.pool_last = 131070;
        assert_int_equal(dynid_pool_slots(&cfg), 0);
        cfg.pool_first = 70000;
        cfg.pool_last = 80000;
        assert_int_equal(dynid_pool_slots(&cfg), 0);

        /* The last block of the ID space does not overflow. */
        cfg.pool_first = 4294901760u;
        cfg.pool_last = 4294967295u;
        assert_int_equal(dynid_pool_slots(&cfg), 1);
        assert_int_equal(dynid_pool_slot_base(&cfg, 0), 4294901760u);

        /* Blocks that are not a power of two. */
        cfg.block_size = 1000;
        cfg.pool_first = 1500;
        cfg.pool_last = 4999;
        assert_int_equal(dynid_pool_slots(&cfg), 3);
        assert_int_equal(dynid_pool_slot_base(&cfg, 0), 2000);
        assert_int_equal(dynid_pool_slot_base(&cfg, 2), 4000);
        dynid_config_free(&cfg);
}

/* A fake /etc with the files dynid_pool_conflict() reads. */
static void write_etc(const char *dir)
{
        tmpdir_write(dir, "passwd",
                     "root:x:0:0:root:/root:/bin/bash\n"
                     "# a comment 1879048200\n"
                     "+nisuser:x:1879048300:1879048300::/:/bin/sh\n"
                     "nobody:x:65534:65534:nobody:/nonexistent:"
                     "/usr/sbin/nologin\n"
                     "\n"
                     "broken-line\n", NULL);
        tmpdir_write(dir, "group", "root:x:0:\nnogroup:x:65534:\n", NULL);
        tmpdir_write(dir, "subuid", "alice:100000:65536\n", NULL);
        tmpdir_write(dir, "subgid", "alice:100000:65536\n", NULL);
}

static void assert_conflict(const struct dynid_config *cfg, const char *dir,
                            const char *want)
{
        struct dynid_err err;
        char expected[1024];

        const char *hole = strstr(want, "%s");

        /* @want names the file as "%s/FILE": the directory goes there. */
        if (hole)
                snprintf(expected, sizeof(expected), "%.*s%s%s",
                         (int) (hole - want), want, dir, hole + 2);
        else
                snprintf(expected, sizeof(expected), "%s", want);
        memset(&err, 0, sizeof(err));
        assert_int_equal(dynid_pool_conflict(cfg, dir, &err), -EEXIST);
        assert_string_equal(err.msg, expected);
}

static void test_conflict_none(void **state)
{
        const char *dir = *state;
        struct dynid_config cfg;
        struct dynid_err err;

        assert_int_equal(dynid_config_defaults(&cfg), 0);
        /* Missing files are fine. */
        assert_int_equal(dynid_pool_conflict(&cfg, dir, &err), 0);
        write_etc(dir);
        assert_int_equal(dynid_pool_conflict(&cfg, dir, &err), 0);
        assert_int_equal(dynid_pool_conflict(&cfg, dir, NULL), 0);
        dynid_config_free(&cfg);
}

static void test_conflict_files(void **state)
{
        const char *dir = *state;
        struct dynid_config cfg;

        assert_int_equal(dynid_config_defaults(&cfg), 0);
        write_etc(dir);

        tmpdir_write(dir, "passwd",
                     "root:x:0:0:root:/root:/bin/bash\n"
                     "intruder:x:1879048200:100::/:/bin/sh\n", NULL);
        assert_conflict(&cfg, dir, "the pool 1879048192-2147352575 contains "
                        "ID 1879048200 of 'intruder' in %s/passwd");
        assert_int_equal(dynid_pool_conflict(&cfg, dir, NULL), -EEXIST);

        /* The primary group of a passwd entry counts too. */
        tmpdir_write(dir, "passwd", "gidonly:x:1000:2147352575::/:/bin/sh\n",
                     NULL);
        assert_conflict(&cfg, dir, "the pool 1879048192-2147352575 contains "
                        "ID 2147352575 of 'gidonly' in %s/passwd");

        write_etc(dir);
        tmpdir_write(dir, "group", "root:x:0:\nsvc:x:1879048192:\n", NULL);
        assert_conflict(&cfg, dir, "the pool 1879048192-2147352575 contains "
                        "ID 1879048192 of 'svc' in %s/group");

        write_etc(dir);
        tmpdir_write(dir, "subuid", "alice:100000:65536\n"
                     "bob:1879000000:100000\n", NULL);
        assert_conflict(&cfg, dir, "the pool 1879048192-2147352575 overlaps "
                        "the range 1879000000-1879099999 of 'bob' in %s/subuid");

        /* A range that ends right before the pool does not overlap. */
        tmpdir_write(dir, "subuid", "bob:1878982656:65536\n", NULL);
        assert_int_equal(dynid_pool_conflict(&cfg, dir, NULL), 0);

        tmpdir_write(dir, "subgid", "carol:2147352575:1\n", NULL);
        assert_conflict(&cfg, dir, "the pool 1879048192-2147352575 overlaps "
                        "the range 2147352575-2147352575 of 'carol' in "
                        "%s/subgid");
        dynid_config_free(&cfg);
}

static void test_conflict_special(void **state)
{
        const char *dir = *state;
        struct dynid_config cfg;

        assert_int_equal(dynid_config_defaults(&cfg), 0);

        cfg.pool_first = 65000;
        cfg.pool_last = 70000;
        assert_conflict(&cfg, dir,
                        "the pool 65000-70000 contains the special ID 65534");
        cfg.pool_first = 65535;
        cfg.pool_last = 65535;
        assert_conflict(&cfg, dir,
                        "the pool 65535-65535 contains the special ID 65535");
        cfg.pool_first = 4294901760u;
        cfg.pool_last = 4294967295u;
        assert_conflict(&cfg, dir, "the pool 4294901760-4294967295 contains "
                        "the special ID 4294967295");

        cfg.pool_first = 2000000000;
        cfg.pool_last = 2147352576;
        assert_conflict(&cfg, dir, "the pool 2000000000-2147352576 goes "
                        "beyond 2147352575: the foreign range, where storage "
                        "keeps its canonical owners, starts at 2147352576, "
                        "and IDs from 2^31 up are not leased");

        /* Right below the foreign range and right above 65535: fine. */
        cfg.pool_first = 65536;
        cfg.pool_last = 2147352575;
        assert_int_equal(dynid_pool_conflict(&cfg, dir, NULL), 0);
        dynid_config_free(&cfg);
}

static void test_conflict_unreadable(void **state)
{
        const char *dir = *state;
        char path[PATH_MAX], want[PATH_MAX + 64];
        struct dynid_config cfg;
        struct dynid_err err;

        assert_int_equal(dynid_config_defaults(&cfg), 0);
        snprintf(path, sizeof(path), "%s/group", dir);
        assert_int_equal(mkdir(path, 0755), 0);
        assert_int_equal(dynid_pool_conflict(&cfg, dir, &err), -EISDIR);
        snprintf(want, sizeof(want), "%s: Is a directory", path);
        assert_string_equal(err.msg, want);
        dynid_config_free(&cfg);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test_setup_teardown(test_missing_optional,
                                                setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_missing_required,
                                                setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_empty_file,
                                                setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_full_file,
                                                setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_extreme_values,
                                                setup_dir, teardown_dir),
                cmocka_unit_test(test_example_file),
                cmocka_unit_test_setup_teardown(test_bad_files,
                                                setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_long_lines,
                                                setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_blanks_around_values,
                                                setup_dir, teardown_dir),
                cmocka_unit_test(test_home_expansion),
                cmocka_unit_test(test_pool_slots),
                cmocka_unit_test_setup_teardown(test_conflict_none,
                                                setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_conflict_files,
                                                setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_conflict_special,
                                                setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_conflict_unreadable,
                                                setup_dir, teardown_dir),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
