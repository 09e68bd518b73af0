#!/bin/sh
# make bench: what a session costs. pamtester open+close with pam_dynid in
# each mode against the same stack without it, and "dynidctl run NAME --
# true" against "unshare -m true"; median and spread of 51 runs, in ms.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"
set -e
RUNS=51

for m in plain mount userns; do
        {
                echo 'auth required pam_permit.so'
                echo 'account required pam_permit.so'
                echo 'session required pam_permit.so'
                case $m in
                mount) echo 'session required pam_dynid.so' ;;
                userns) echo 'session required pam_dynid.so mode=userns' ;;
                esac
        } >/etc/pam.d/dynid-bench-$m
done
"$DYNIDCTL" add web >/dev/null

# time_cmd LABEL CMD...: runs CMD $RUNS times, prints median (min-max).
time_cmd() {
        label=$1
        shift
        i=0
        while [ $i -lt $RUNS ]; do
                t0=$(date +%s%N)
                "$@" >/dev/null 2>&1 || fail "$label: $*"
                t1=$(date +%s%N)
                echo $(((t1 - t0) / 1000))
                i=$((i + 1))
        done | sort -n | awk -v label="$label" '
                { v[NR] = $1 }
                END { printf "%-46s %7.2f ms  (min %.2f, max %.2f)\n",
                      label, v[int((NR + 1) / 2)] / 1000, v[1] / 1000,
                      v[NR] / 1000 }'
}

echo "$(uname -sr), $(date -u +%Y-%m-%d), $RUNS runs each"
time_cmd "pamtester open+close, without pam_dynid" \
        pamtester dynid-bench-plain web open_session close_session
time_cmd "pamtester open+close, pam_dynid mode=mount" \
        pamtester dynid-bench-mount web open_session close_session
time_cmd "pamtester open+close, pam_dynid mode=userns" \
        pamtester dynid-bench-userns web open_session close_session
time_cmd "unshare -m true" unshare -m true
time_cmd "dynidctl run web -- true" "$DYNIDCTL" run web -- true
