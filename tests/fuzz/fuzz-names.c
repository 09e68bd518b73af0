/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: service names and derived names. A valid name is 1 to
 * 31 bytes of [a-z0-9_-] starting with a letter or '_'; a derived name
 * that parses has a service part of at most 31 bytes, and the name
 * derived back from what was parsed is never longer than 31 bytes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "dynid.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        char s[64], service[DYNID_NAME_MAX + 1], back[DYNID_NAME_MAX + 1];
        uint32_t k, id;

        if (size >= sizeof(s))
                return 0;
        memcpy(s, data, size);
        s[size] = 0;

        if (dynid_name_check(s, NULL) == 0 &&
            (strlen(s) == 0 || strlen(s) > DYNID_NAME_MAX ||
             strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") !=
             strlen(s)))
                abort();
        (void) dynid_hash(s);
        if (dynid_derived_parse(s, service, &k, &id) == 0) {
                /* The service part is checked by finding its lease. */
                if (strlen(service) > DYNID_NAME_MAX)
                        abort();
                if (id == 0 && k > 0 &&
                    dynid_derived_name(service, 65536, k, back,
                                       sizeof(back)) >= 0 &&
                    strlen(back) > DYNID_NAME_MAX)
                        abort();
        }
        return 0;
}
