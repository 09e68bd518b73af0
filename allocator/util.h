/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/*
 * Strict decimal parsing: digits only, no sign, no spaces, no leading zero
 * (except "0" itself), no overflow. Returns 0 or -EINVAL.
 */
int parse_u64(const char *s, uint64_t *ret);
