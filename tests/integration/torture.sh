#!/bin/sh
# Writers killed by SIGKILL at random instants: batches of adds and
# removes, and PAM session opens, over a store of 2,000 leases, so that
# the publish step is a good part of each write and many kills land in it.
# After each kill: "dynidctl check --repair" passes; the leases that
# "dynidctl list" shows are exactly those the NSS module enumerates, and
# each resolves by name; each batch is wholly there or wholly absent; the
# first 2,000 leases are intact. Then two writers killed exactly between
# their commit and the rename of the snapshot.
#
# TORTURE_ITERATIONS sets the number of kills (make check: 40; make
# torture: 1000).
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

LC_ALL=C
export LC_ALL
D=$DYNIDCTL
N=${TORTURE_ITERATIONS:-40}
KILL_AT=$top_builddir/tests/kill-at
command -v pamtester >/dev/null || skip "needs pamtester (scripts/deps)"
# Every check asks NSS about each lease; systemd's module would make that
# the bulk of the run.
sed -i -E 's/^(passwd|group):.*/\1: files dynid/' /etc/nsswitch.conf
printf '%s\n' 'auth required pam_permit.so' 'account required pam_permit.so' \
        'session required pam_dynid.so' >/etc/pam.d/dynid-torture

rand() {
        echo $(($(od -An -N2 -tu2 /dev/urandom) % $1))
}

# shellcheck disable=SC2046
"$D" add $(seq -f 'base%g' 1 2000) >/dev/null || fail "initial add"
"$D" add sess >/dev/null || fail "add sess"

# How long an undisturbed add takes: kills land anywhere from the start to
# a little past its end.
t0=$(date +%s%N)
"$D" add probe >/dev/null || fail "add probe"
t1=$(date +%s%N)
"$D" remove probe >/dev/null || fail "remove probe"
window=$(((t1 - t0) / 1000 * 5 / 4))

batches=        # batches that are there, as the last check saw
killed=0 added=0 removed=0 sessions=0 repaired=0 leftovers=0
i=0
while [ "$i" -lt "$N" ]; do
        i=$((i + 1))
        op=$(rand 3)
        # shellcheck disable=SC2086
        set -- $batches
        [ "$op" = 1 ] && [ $# -eq 0 ] && op=0
        case $op in
        0) what=$("$KILL_AT" "$window" "$D" add "b$i-x" "b$i-y" "b$i-z") ;;
        1) victim=$1
           what=$("$KILL_AT" "$window" "$D" remove "b$victim-x" \
                  "b$victim-y" "b$victim-z") ;;
        2) what=$("$KILL_AT" "$window" pamtester dynid-torture sess \
                  open_session) ;;
        esac
        case $what in
        killed) killed=$((killed + 1)) ;;
        "exited 0") ;;
        *) fail "iteration $i: operation $op $what" ;;
        esac

        # Where the kill landed: a temporary snapshot left by a writer
        # killed while building one; a snapshot behind the database, by
        # one killed between its commit and its rename.
        ls -A "$STATE_DIR" | grep -q '^\.nss\.mdb\.' &&
                leftovers=$((leftovers + 1))
        "$D" check --repair >"$WORK/check" 2>&1 ||
                { cat "$WORK/check"; fail "iteration $i: check --repair"; }
        grep -q '^repaired: ' "$WORK/check" && repaired=$((repaired + 1))
        "$D" gc >/dev/null 2>&1 || fail "iteration $i: gc"

        "$D" list | awk 'NR > 1 { print $1 }' | sort >"$WORK/listed"
        getent -s dynid passwd | cut -d: -f1 | sort >"$WORK/enumerated"
        cmp -s "$WORK/listed" "$WORK/enumerated" || {
                diff "$WORK/listed" "$WORK/enumerated"
                fail "iteration $i: list and NSS enumeration disagree"
        }
        # shellcheck disable=SC2046
        getent passwd $(cat "$WORK/listed") | cut -d: -f1 |
                sort >"$WORK/resolved"
        cmp -s "$WORK/listed" "$WORK/resolved" ||
                fail "iteration $i: a listed lease does not resolve by name"

        # Each batch: all three names, or none.
        grep '^b[0-9]*-[xyz]$' "$WORK/listed" | sed 's/-.$//' | uniq -c |
                awk '$1 != 3 { print "batch", $2, "has", $1, "of 3" }' \
                >"$WORK/partial"
        [ ! -s "$WORK/partial" ] ||
                fail "iteration $i: $(cat "$WORK/partial")"
        new=$(sed -n 's/^b\([0-9]*\)-x$/\1/p' "$WORK/listed")
        case $op in
        0) grep -qx "b$i-x" "$WORK/listed" && added=$((added + 1)) ;;
        1) grep -qx "b$victim-x" "$WORK/listed" ||
                   removed=$((removed + 1)) ;;
        2) sessions=$((sessions + 1)) ;;
        esac
        batches=$new
done
# The instant that random kills almost never hit, between the commit and
# the rename of the new snapshot: strace kills the writer as it enters
# rename(2). The lease is in the database, the snapshot is behind; check
# says so, and check --repair, or the next write, publishes it.
command -v strace >/dev/null || skip "needs strace (scripts/deps)"
k=0
for mend in "check --repair" "add k-next"; do
        k=k-$((${k#k-} + 1))
        LD_PRELOAD= strace -f -qq -o /dev/null -e trace=rename \
                -e inject=rename:signal=KILL "$D" add "$k" >/dev/null 2>&1
        expect_eq "killed at the rename: exit status" 137 "$?"
        expect_eq "killed at the rename: $k is in the database" "$k" \
                "$("$D" list | awk -v k="$k" '$1 == k { print $1 }')"
        expect_eq "killed at the rename: $k does not resolve yet" 2 \
                "$(getent passwd "$k" >/dev/null; echo $?)"
        run "$D" check
        expect_eq "killed at the rename: check fails, $k missing by name and ID" \
                "1 snapshot: lease '$k' is missing (by name)
snapshot: lease '$k' is missing (by ID)" \
                "$rc $(echo "$out" | grep "^snapshot: lease '$k'")"
        # shellcheck disable=SC2086
        "$D" $mend >/dev/null || fail "$mend after the kill at the rename"
        expect_eq "after $mend: $k resolves" "$k" \
                "$(getent passwd "$k" | cut -d: -f1)"
        "$D" check >/dev/null || fail "check after $mend"
        echo "ok: after $mend: check passes"
        repaired=$((repaired + 1))
done
"$D" remove k-1 k-2 k-next >/dev/null || fail "remove k-*"

expect_eq "the first 2,000 leases are intact" 2000 \
        "$(grep -c '^base[0-9]*$' "$WORK/listed")"
expect_eq "no session left" 0 "$("$D" show sess --json | json_num sessions)"
"$D" check >/dev/null || fail "final check"
# The kills must have landed: about a third of the writers die (370 of
# 1,000 in one run), and about one in ten inside the publish step, where
# it leaves a temporary snapshot. Fewer than one in ten killed, or none in
# the publish step over a long run, means the window is wrong.
[ $((killed * 10)) -ge "$N" ] ||
        fail "only $killed of $N writers were killed: the kills missed"
[ "$N" -lt 500 ] || [ "$leftovers" -gt 0 ] ||
        fail "no kill landed inside the publish step in $N writers"
echo "ok: $N writers, $killed killed by SIGKILL: $added add batches and" \
        "$removed remove batches took effect, $sessions session opens;" \
        "a temporary snapshot was left $leftovers times; a snapshot behind" \
        "the database was mended $repaired times (2 of them by writers" \
        "killed at the rename)"
