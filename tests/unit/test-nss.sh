#!/bin/sh
# Runs the dlopen() test of the NSS module against a real snapshot at the
# compiled-in path, inside the private sandbox.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

"$DYNIDCTL" add web db abcdefghijklmnopqrstuvwxyz01234 >/dev/null ||
        fail "dynidctl add"
DYNIDCTL=$DYNIDCTL exec "$top_builddir/tests/unit/test-nss"
