/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: dynid.conf text through the parser that
 * dynid_config_load() uses. A parse either fails with a message naming
 * the file and a line, or yields a configuration whose values keep their
 * rules.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "dynid.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        struct dynid_err err = { "" };
        struct dynid_config cfg;
        char home[4096];

        if (dynid_config_parse("fuzz.conf", (const char *) data, size, &cfg,
                               &err) < 0) {
                if (strncmp(err.msg, "fuzz.conf:", 10) != 0)
                        abort();
                return 0;
        }
        if (cfg.block_size == 0 || cfg.pool_first > cfg.pool_last ||
            cfg.home[0] != '/' || cfg.shell[0] != '/')
                abort();
        if (dynid_config_home(&cfg, "web", home, sizeof(home)) >= 0 &&
            home[0] != '/')
                abort();
        (void) dynid_pool_slots(&cfg);
        dynid_config_free(&cfg);
        return 0;
}
