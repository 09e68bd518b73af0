#!/bin/sh
# Without a usable snapshot (none yet, removed, truncated, empty) the NSS
# module answers "unavailable" at once and every other source keeps
# working; the next publish makes the leases resolve again with nothing
# else to do.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

snap=$STATE_DIR/nss.mdb
PW_ROOT=$(awk -F: '$1 == "root"' /etc/passwd)
GR_ROOT=$(awk -F: '$1 == "root"' /etc/group)
[ -n "$PW_ROOT" ] && [ -n "$GR_ROOT" ] || fail "no root in /etc/passwd, /etc/group"

# What the host answers without dynid: the same lookups with our module
# taken out of nsswitch.conf again.
cp /etc/nsswitch.conf "$WORK/nsswitch.conf"
sed -i -E 's/^((passwd|group):.*) dynid$/\1/' /etc/nsswitch.conf
getent passwd >"$WORK/passwd.host" || fail "getent passwd without dynid"
getent group >"$WORK/group.host" || fail "getent group without dynid"
id root >"$WORK/id.host" || fail "id root without dynid"
cp "$WORK/nsswitch.conf" /etc/nsswitch.conf

# unavailable WHAT: lookups of leases fail fast, the rest works unchanged.
unavailable() {
        for who in root nobody; do
                as=
                [ "$who" = nobody ] && as=as_nobody
                for key in web 2108489728 web+7; do
                        # "timeout" turns a hang into exit status 124.
                        run $as timeout 5 getent passwd "$key"
                        expect_eq "$1: $who getent passwd $key: exit status" \
                                2 "$rc"
                        expect_eq "$1: $who getent passwd $key: output" \
                                "" "$out$err"
                done
                run $as timeout 5 getent group web
                expect_eq "$1: $who getent group web: exit status" 2 "$rc"
                expect_eq "$1: $who getent group web: output" "" "$out$err"

                run $as timeout 5 getent passwd root
                expect_eq "$1: $who getent passwd root" "$PW_ROOT" "$out"
                run $as timeout 5 getent group root
                expect_eq "$1: $who getent group root" "$GR_ROOT" "$out"
                run $as timeout 5 id root
                expect_eq "$1: $who id root" "$(cat "$WORK/id.host")" "$out"
                run $as timeout 5 getent passwd
                expect_eq "$1: $who getent passwd: exit status" 0 "$rc"
                expect_eq "$1: $who getent passwd" \
                        "$(cat "$WORK/passwd.host")" "$out"
                run $as timeout 5 getent group
                expect_eq "$1: $who getent group" \
                        "$(cat "$WORK/group.host")" "$out"
        done
}

# resolves WHAT: web resolves, for root and for nobody.
resolves() {
        pw="web:*:$B:$B:dynid service web:$STATE_DIR/home/web:/usr/sbin/nologin"
        for who in root nobody; do
                as=
                [ "$who" = nobody ] && as=as_nobody
                run $as getent passwd web
                expect_eq "$1: $who getent passwd web" "$pw" "$out"
                run $as getent group "$B"
                expect_eq "$1: $who getent group B" "web:*:$B:" "$out"
                run $as id -un "$B"
                expect_eq "$1: $who id -un B" web "$out"
        done
}

# ---- a fresh host: no state at all ------------------------------------------

[ ! -e "$STATE_DIR" ] || fail "$STATE_DIR exists in a fresh sandbox"
unavailable "fresh host"

run "$DYNIDCTL" add web
expect_eq "add web: exit status" 0 "$rc"
B=$(printf '%s\n' "$out" | awk '$1 == "web" { print $2 }')
# The rule for the default pool gives web this block (see placement.sh).
expect_eq "add web: base" 2108489728 "$B"
resolves "after the first add"

# ---- the snapshot removed ----------------------------------------------------

rm "$snap"
unavailable "snapshot removed"
run "$DYNIDCTL" check
expect_eq "snapshot removed: check: exit status" 1 "$rc"
expect_eq "snapshot removed: check" \
        "snapshot $snap: No such file or directory" "$out"
run "$DYNIDCTL" status
expect_eq "snapshot removed: status" \
        "$(printf 'snapshot: %s\nsnapshot age: missing\nsnapshot generation: -' \
           "$snap")" \
        "$(printf '%s\n' "$out" | grep '^snapshot')"

# The next change publishes a complete snapshot again.
run "$DYNIDCTL" add web
expect_eq "add web again: exit status" 0 "$rc"
resolves "after add web"
run "$DYNIDCTL" check
expect_eq "after add web: check" "ok: 1 lease, no problem found" "$out"

# ---- the snapshot truncated, then empty --------------------------------------

for size in 4096 0; do
        truncate -s "$size" "$snap" || fail "cannot truncate $snap"
        unavailable "snapshot of $size bytes"
        run "$DYNIDCTL" check
        expect_eq "snapshot of $size bytes: check: exit status" 1 "$rc"
        expect_eq "snapshot of $size bytes: check" \
                "snapshot $snap: cannot be read: damaged" "$out"
        run "$DYNIDCTL" add web
        expect_eq "snapshot of $size bytes: add web: exit status" 0 "$rc"
        resolves "snapshot of $size bytes, after add web"
done

exit 0
