/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "dynid.h"

/*
 * Strict decimal parsing: digits only, no sign, no spaces, no leading zero
 * (except "0" itself), no overflow. Returns 0 or -EINVAL.
 */
int parse_u64(const char *s, uint64_t *ret);

/* Writes one sentence into @err, when it is not NULL. */
void set_errf(struct dynid_err *err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
