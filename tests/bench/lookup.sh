#!/bin/sh
# make bench: lookup cost with 100 leases, in the private sandbox.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"
set -e

# dynid straight after files: a systemd module in between asks userdb over
# a socket first, which would dominate what is measured here.
sed -i -E 's/^(passwd|group):.*/\1: files dynid/' /etc/nsswitch.conf

names=$(i=0; while [ $i -lt 99 ]; do echo "svc$i"; i=$((i + 1)); done)
# shellcheck disable=SC2086
"$DYNIDCTL" add web $names >/dev/null
echo "$(uname -sr), $(date -u +%Y-%m-%d), 100 leases, nsswitch: $(grep '^passwd:' /etc/nsswitch.conf | tr -s ' ')"
"$top_builddir/tests/bench/bench-lookup" "$top_builddir/.libs/libnss_dynid.so.2" web
