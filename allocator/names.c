/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dynid.h"
#include "util.h"

/* The message shows at most 64 bytes of the name, with anything that is
 * not printable ASCII as '?', so that it stays one line. */
static void set_err(struct dynid_err *err, const char *name, const char *why)
{
        char shown[65];
        size_t i;

        if (!err)
                return;
        for (i = 0; i < sizeof(shown) - 1 && name[i]; i++)
                shown[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
        shown[i] = 0;
        snprintf(err->msg, sizeof(err->msg), "invalid service name '%s': %s",
                 shown, why);
}

int dynid_name_check(const char *name, struct dynid_err *err)
{
        size_t len = strlen(name);

        if (len == 0) {
                set_err(err, name, "empty");
                return -EINVAL;
        }
        if (len > DYNID_NAME_MAX) {
                set_err(err, name, "longer than 31 bytes");
                return -EINVAL;
        }
        if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) {
                set_err(err, name,
                        "must start with a lowercase letter or '_'");
                return -EINVAL;
        }
        for (size_t i = 1; i < len; i++) {
                char c = name[i];

                if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-')
                        continue;
                set_err(err, name,
                        "only lowercase letters, digits, '_' and '-' are allowed");
                return -EINVAL;
        }
        /* The first byte is never a digit, so the name is never all
         * digits, which is what keeps it apart from a numeric ID. */
        return 0;
}

uint64_t dynid_hash(const char *name)
{
        uint64_t h = 0xcbf29ce484222325ull;

        for (const unsigned char *p = (const unsigned char *) name; *p; p++) {
                h ^= *p;
                h *= 0x100000001b3ull;
        }
        return h;
}

int dynid_derived_name(const char *name, uint32_t base, uint32_t k,
                       char *buf, size_t size)
{
        char tmp[DYNID_NAME_MAX + 16];
        int len;

        len = snprintf(tmp, sizeof(tmp), "%s+%u", name, k);
        if (len > DYNID_NAME_MAX) {
                char id[11];
                int idlen = snprintf(id, sizeof(id), "%u", base + k);
                int keep = DYNID_NAME_MAX - 1 - idlen;

                len = snprintf(tmp, sizeof(tmp), "%.*s~%s", keep, name, id);
        }
        if ((size_t) len >= size)
                return -ERANGE;
        memcpy(buf, tmp, len + 1);
        return len;
}

int dynid_derived_parse(const char *s, char *service, uint32_t *k,
                        uint32_t *id)
{
        const char *sep = strpbrk(s, "+~");
        uint64_t v;
        size_t len;

        if (!sep || sep == s)
                return -EINVAL;
        len = sep - s;
        if (len > DYNID_NAME_MAX || parse_u64(sep + 1, &v) < 0 ||
            v > UINT32_MAX)
                return -EINVAL;

        memcpy(service, s, len);
        service[len] = 0;
        if (*sep == '+') {
                if (v == 0)
                        return -EINVAL;
                *k = v;
                *id = 0;
        } else {
                *k = 0;
                *id = v;
        }
        return 0;
}
