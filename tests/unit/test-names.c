/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "dynid.h"
#include "record.h"

static void test_valid_names(void **state)
{
        const char *ok[] = { "web", "_", "a", "db-1", "x_y-z",
                             "abcdefghijklmnopqrstuvwxyz01234" };

        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
                assert_int_equal(dynid_name_check(ok[i], NULL), 0);
}

static void test_invalid_names(void **state)
{
        static const struct {
                const char *name;
                const char *why;
        } bad[] = {
                { "", "invalid service name '': empty" },
                { "Bad", "invalid service name 'Bad': must start with a "
                         "lowercase letter or '_'" },
                { "a:b", "invalid service name 'a:b': only lowercase "
                         "letters, digits, '_' and '-' are allowed" },
                { "12345", "invalid service name '12345': must start with a "
                           "lowercase letter or '_'" },
                { "abcdefghijklmnopqrstuvwxyz012345",
                  "invalid service name 'abcdefghijklmnopqrstuvwxyz012345': "
                  "longer than 31 bytes" },
                { "-x", "invalid service name '-x': must start with a "
                        "lowercase letter or '_'" },
                { "web+7", "invalid service name 'web+7': only lowercase "
                           "letters, digits, '_' and '-' are allowed" },
                { "w b", "invalid service name 'w b': only lowercase "
                         "letters, digits, '_' and '-' are allowed" },
                { "wé", "invalid service name 'w?" "?': only lowercase "
                        "letters, digits, '_' and '-' are allowed" },
                { "a\nb", "invalid service name 'a?b': only lowercase "
                          "letters, digits, '_' and '-' are allowed" },
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct dynid_err err;

                assert_int_equal(dynid_name_check(bad[i].name, &err),
                                 -EINVAL);
                assert_string_equal(err.msg, bad[i].why);
        }
}

static void test_hash_is_fnv1a(void **state)
{
        /* Published FNV-1a 64 test vectors: the placement contract. */
        assert_true(dynid_hash("") == 0xcbf29ce484222325ull);
        assert_true(dynid_hash("a") == 0xaf63dc4c8601ec8cull);
        assert_true(dynid_hash("foobar") == 0x85944171f73967e8ull);
}

static void test_derived_short(void **state)
{
        char buf[32], svc[32];
        uint32_t k, id;

        assert_int_equal(dynid_derived_name("web", 1879048192, 7, buf,
                                            sizeof(buf)), 5);
        assert_string_equal(buf, "web+7");
        assert_int_equal(dynid_derived_parse(buf, svc, &k, &id), 0);
        assert_string_equal(svc, "web");
        assert_int_equal(k, 7);
        assert_int_equal(id, 0);

        /* Exactly as many bytes as needed, and one fewer. */
        assert_int_equal(dynid_derived_name("web", 1, 65535, buf, 10), 9);
        assert_string_equal(buf, "web+65535");
        assert_int_equal(dynid_derived_name("web", 1, 65535, buf, 9),
                         -ERANGE);
}

static void test_derived_long(void **state)
{
        const char *name = "abcdefghijklmnopqrstuvwxyz01234"; /* 31 */
        char buf[32], svc[32];
        uint32_t k, id;
        int len;

        len = dynid_derived_name(name, 1879048192, 65535, buf, sizeof(buf));
        assert_int_equal(len, 31);
        assert_string_equal(buf, "abcdefghijklmnopqrst~1879113727");
        assert_int_equal(dynid_derived_parse(buf, svc, &k, &id), 0);
        assert_string_equal(svc, "abcdefghijklmnopqrst");
        assert_int_equal(k, 0);
        assert_int_equal(id, 1879113727);
}

static void test_derived_parse_rejects(void **state)
{
        const char *bad[] = { "web", "+7", "web+", "web+0", "web+07",
                              "web+-1", "web+4294967296", "web~",
                              "web+1x", "abcdefghijklmnopqrstuvwxyz012345+1" };
        char svc[32];
        uint32_t k, id;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(dynid_derived_parse(bad[i], svc, &k, &id),
                                 -EINVAL);
}

/* A snapshot record decodes only with a valid service name: readers copy
 * it into buffers of DYNID_NAME_MAX + 1 bytes. */
static void test_record_name(void **state)
{
        char buf[512], long_name[64];
        struct snap_record r = {
                .base = 65536, .size = 65536, .name = "web",
                .gecos = "g", .dir = "/", .shell = "/bin/sh",
        }, out;
        size_t len;

        len = snap_record_encode(&r, buf, sizeof(buf));
        assert_int_equal(snap_record_decode(buf, len, &out), 0);
        assert_string_equal(out.name, "web");

        memset(long_name, 'a', 40);
        long_name[40] = 0;
        r.name = long_name;
        len = snap_record_encode(&r, buf, sizeof(buf));
        assert_int_equal(snap_record_decode(buf, len, &out), -EBADMSG);
        r.name = "Web";
        len = snap_record_encode(&r, buf, sizeof(buf));
        assert_int_equal(snap_record_decode(buf, len, &out), -EBADMSG);
        r.name = "";
        len = snap_record_encode(&r, buf, sizeof(buf));
        assert_int_equal(snap_record_decode(buf, len, &out), -EBADMSG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid_names),
                cmocka_unit_test(test_invalid_names),
                cmocka_unit_test(test_hash_is_fnv1a),
                cmocka_unit_test(test_derived_short),
                cmocka_unit_test(test_derived_long),
                cmocka_unit_test(test_derived_parse_rejects),
                cmocka_unit_test(test_record_name),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
