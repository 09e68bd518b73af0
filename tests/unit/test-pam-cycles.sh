#!/bin/sh
# Runs the open/close cycles of tests/unit/test-pam-cycles.c inside the
# private sandbox, through the stack /etc/pam.d/dynid-cycles.
#
# Usage: test-pam-cycles.sh [MODE]; MODE (or $DYNID_PAM_MODE) is mount, the
# default and the only one that can be cycled in one process: mode=userns
# drops the process out of root's user namespace at the first session.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

mode=${1:-${DYNID_PAM_MODE:-mount}}
[ "$mode" = mount ] ||
        fail "mode=$mode cannot be cycled in one process; only mode=mount"

cat >/etc/pam.d/dynid-cycles <<END
auth required pam_permit.so
account required pam_permit.so
session required pam_dynid.so mode=$mode
END

# For the refusal of a threaded caller in mode=userns.
cat >/etc/pam.d/dynid-threads <<END
auth required pam_permit.so
account required pam_permit.so
session required pam_dynid.so mode=userns
END

"$DYNIDCTL" add web >/dev/null || fail "dynidctl add"
# Without malloc's per-thread cache, the bytes in use are exact (see the
# memory check in the test).
GLIBC_TUNABLES=${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.malloc.tcache_count=0 \
        exec "$top_builddir/tests/unit/test-pam-cycles"
