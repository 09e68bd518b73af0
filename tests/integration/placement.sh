#!/bin/sh
# Placement: a name's block follows from the name alone (a stable hash over
# the pool's slots, then the next free slot), whatever the order of adding,
# and again after a remove; adding is idempotent; a batch publishes once.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

# expect_ok WHAT EXPECTED-STDOUT CMD...: exit 0, nothing on stderr.
expect_ok() {
        what=$1 want=$2
        shift 2
        run "$@"
        expect_eq "$what: exit status" 0 "$rc"
        expect_eq "$what: stderr" "" "$err"
        expect_eq "$what: output" "$want" "$out"
}

fresh_db() {
        rm -rf "$STATE_DIR"
}

# The placement rule for the default pool (0x70000000-0x7FFDFFFF: 4094
# slots of 65536): base = 1879048192 + (FNV-1a-64(name) mod 4094) * 65536.
# FNV-1a-64("web") mod 4094 = 3654 and FNV-1a-64("db") mod 4094 = 2286,
# computed once with Python; sh and awk have no exact 64-bit arithmetic,
# so the two results are written down here rather than computed.
WEB=2108489728
DB=2018836480
ADD_WEB="web  $WEB  65536"
ADD_DB="db   $DB  65536"           # under "web": names are padded

expect_ok "add web db" "$(printf '%s\n%s' "$ADD_WEB" "$ADD_DB")" \
        "$DYNIDCTL" add web db
expect_eq "show web: base" "$WEB" "$("$DYNIDCTL" show web --json | json_num base)"
expect_eq "show db: base" "$DB" "$("$DYNIDCTL" show db --json | json_num base)"
expect_eq "show by an ID inside the block" \
        "$(printf 'name: web\nblock: %s-%s' "$WEB" $((WEB + 65535)))" \
        "$("$DYNIDCTL" show $((WEB + 4242)) | head -n 2)"

# Idempotent: the same answer, nothing else changes.
list=$("$DYNIDCTL" list --json | grep -v '"last_used"')
expect_ok "add web again" "$ADD_WEB" "$DYNIDCTL" add web
expect_ok "add web a third time" "$ADD_WEB" "$DYNIDCTL" add web
expect_ok "add db web again" "$(printf '%s\n%s' "$ADD_DB" "$ADD_WEB")" \
        "$DYNIDCTL" add db web
expect_ok "add db web db web: each once, in the order first given" \
        "$(printf '%s\n%s' "$ADD_DB" "$ADD_WEB")" "$DYNIDCTL" add db web db web
expect_eq "leases after adding existing names" "$list" \
        "$("$DYNIDCTL" list --json | grep -v '"last_used"')"

# Removed and added again: the same block.
expect_ok "remove web" "removed web" "$DYNIDCTL" remove web
run getent passwd web
expect_eq "getent passwd web after remove: exit status" 2 "$rc"
expect_ok "add web after remove" "$ADD_WEB" "$DYNIDCTL" add web
expect_eq "getent passwd web after re-add: uid" "$WEB" \
        "$(getent passwd web | cut -d: -f3)"
expect_ok "check" "ok: 2 leases, no problem found" "$DYNIDCTL" check

# The order of adding does not matter.
fresh_db
expect_ok "add db web (fresh database)" \
        "$(printf '%s\n%s' "$ADD_DB" "$ADD_WEB")" "$DYNIDCTL" add db web
fresh_db
expect_ok "add db, then web (fresh database)" "db  $DB  65536" \
        "$DYNIDCTL" add db
expect_ok "add web after db" "$ADD_WEB" "$DYNIDCTL" add web

# One call, one transaction, one publish.
gen() {
        "$DYNIDCTL" status --json | json_num "$1"
}
g0=$(gen generation)
s0=$(gen snapshot_generation)
[ -n "$g0" ] && [ -n "$s0" ] || fail "no generation in 'dynidctl status --json'"
expect_eq "snapshot generation before the batch" "$g0" "$s0"
run "$DYNIDCTL" add x y z
expect_eq "add x y z: exit status" 0 "$rc"
expect_eq "add x y z: lines" 3 "$(printf '%s\n' "$out" | wc -l)"
expect_eq "generation after a 3-name add" $((g0 + 1)) "$(gen generation)"
expect_eq "snapshot generation after a 3-name add" $((s0 + 1)) \
        "$(gen snapshot_generation)"
expect_eq "leases after the batch" 5 "$(gen used)"

# Collisions, in a pool of three slots of 65536: 1048576, 1114112, 1179648.
# FNV-1a-64 mod 3 is 2 for "g" and for "x", 1 for "a": "x" finds its slot
# taken and wraps around to the first slot.
: >/etc/subuid
: >/etc/subgid
conf=$WORK/three.conf
printf '[pool]\nrange = 1048576-1245183\n' >"$conf"
fresh_db
expect_ok "3 slots: add g" "g  1179648  65536" \
        "$DYNIDCTL" --config "$conf" add g
expect_ok "3 slots: add x (wraps around)" "x  1048576  65536" \
        "$DYNIDCTL" --config "$conf" add x
expect_ok "3 slots: add a" "a  1114112  65536" \
        "$DYNIDCTL" --config "$conf" add a
expect_ok "3 slots: remove g" "removed g" "$DYNIDCTL" --config "$conf" remove g
expect_ok "3 slots: add g again" "g  1179648  65536" \
        "$DYNIDCTL" --config "$conf" add g
expect_ok "3 slots: check" "ok: 3 leases, no problem found" \
        "$DYNIDCTL" --config "$conf" check

# In the other order the collision falls the other way.
fresh_db
expect_ok "3 slots: add x g a" \
        "$(printf 'x  1179648  65536\ng  1048576  65536\na  1114112  65536')" \
        "$DYNIDCTL" --config "$conf" add x g a

exit 0
