#!/bin/sh
# make check: each libFuzzer target for 5 seconds (tests/fuzz/run.sh).
exec "${SHELL_FOR_TESTS:-/bin/sh}" "${top_srcdir:-.}/tests/fuzz/run.sh" 5
