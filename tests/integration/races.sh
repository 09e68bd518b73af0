#!/bin/sh
# 16 writers at once: one name leased from every one of them yields one
# lease; different names never share a block; concurrent logins of one
# service, and concurrent "dynidctl run" of a service not yet leased, all
# see the same block.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

LC_ALL=C
export LC_ALL
D=$DYNIDCTL
W=16

# together CMD...: runs CMD in $W processes started at once (they wait on
# a FIFO opened by all), each with K set to its number in its environment;
# waits for all;
# their outputs are in $WORK/out.$k, their statuses in $WORK/rc.$k.
together() {
        rm -f "$WORK/go"
        mkfifo "$WORK/go"
        k=1
        while [ "$k" -le "$W" ]; do
                (read -r _ <"$WORK/go"; K=$k "$@" >"$WORK/out.$k" 2>&1
                 echo $? >"$WORK/rc.$k") &
                k=$((k + 1))
        done
        sleep 0.2
        # Opening for writing releases every reader at once.
        : >"$WORK/go"
        wait
        statuses=$(cat "$WORK"/rc.* | sort -u | tr '\n' ' ')
}

# ---- one name from 16 writers ------------------------------------------------
together "$D" add same
expect_eq "16 adds of one name: statuses" "0 " "$statuses"
expect_eq "16 adds of one name: one line each, all the same" 1 \
        "$(cat "$WORK"/out.* | sort -u | wc -l)"
expect_eq "16 adds of one name: one lease" "same" \
        "$("$D" list | awk 'NR > 1 { print $1 }')"

# ---- different names from 16 writers -----------------------------------------
# shellcheck disable=SC2016
together sh -c '"$0" add "w$K-a" "w$K-b" "w$K-c" "w$K-d" "w$K-e"' "$D"
expect_eq "16 writers of 5 names each: statuses" "0 " "$statuses"
expect_eq "81 leases" 81 "$("$D" list | awk 'NR > 1' | wc -l)"
expect_eq "81 distinct bases" 81 \
        "$("$D" list | awk 'NR > 1 { print $2 }' | sort -u | wc -l)"
expect_eq "81 names through NSS, with 81 distinct uids" "81 81" \
        "$(getent -s dynid passwd | wc -l) $(getent -s dynid passwd | cut -d: -f3 | sort -u | wc -l)"
"$D" check >/dev/null || fail "check after the concurrent writers"
echo "ok: check passes after the concurrent writers"

# ---- 16 logins of one service at once ------------------------------------------
echo 'session required pam_dynid.so' >>/etc/pam.d/runuser-l
B=$(getent passwd same | cut -d: -f3)
together runuser -l -s /bin/sh same -c 'id -u'
expect_eq "16 logins at once: statuses" "0 " "$statuses"
expect_eq "16 logins at once: every one runs as the lease's base" "$B" \
        "$(cat "$WORK"/out.* | sort -u)"

# ---- 16 runs of a service not yet leased --------------------------------------
together "$D" run fresh -- cat /proc/self/uid_map
expect_eq "16 runs at once: statuses" "0 " "$statuses"
expect_eq "16 runs at once: one map for all" 1 \
        "$(cat "$WORK"/out.* | sort -u | wc -l)"
FB=$(getent passwd fresh | cut -d: -f3)
expect_eq "16 runs at once: inner root is the one lease's base" \
        "0 $FB $(lease_field fresh size)" \
        "$(awk '{ print $1, $2, $3 }' "$WORK/out.1")"
expect_eq "one lease named fresh" 1 \
        "$("$D" list | awk '$1 == "fresh"' | wc -l)"
"$D" check >/dev/null || fail "check after the concurrent runs"
echo "ok: check passes after the concurrent runs"
