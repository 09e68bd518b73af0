#!/bin/sh
# Damage: a snapshot of random bytes or cut short is answered "not found"
# at once, never a crash or a hang, and files keeps working; a database of
# random bytes or cut short is refused by dynidctl and pam_dynid with a
# clear message, and no session runs; a full map is a clean refusal that
# leaves the earlier leases intact, mended by raising [store] map_size.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

D=$DYNIDCTL
SNAP=$STATE_DIR/nss.mdb
DATA=$STATE_DIR/db/data.mdb
command -v pamtester >/dev/null || skip "needs pamtester (scripts/deps)"
"$D" add web db >/dev/null || fail "add web db"
B=$(getent passwd web | cut -d: -f3)
cp -p "$SNAP" "$WORK/good.mdb"
size=$(stat -c %s "$SNAP")

# ---- the snapshot ---------------------------------------------------------------
for how in random zero 1 4095 4096 8191 $((size - 1)); do
        case $how in
        random) head -c "$size" /dev/urandom >"$WORK/bad" ;;
        zero) : >"$WORK/bad" ;;
        *) head -c "$how" "$WORK/good.mdb" >"$WORK/bad" ;;
        esac
        chmod 0644 "$WORK/bad"
        mv "$WORK/bad" "$SNAP"
        for key in web "$B" web+7; do
                expect_eq "snapshot $how: getent passwd $key" 2 \
                        "$(timeout 5 getent passwd "$key" >/dev/null; echo $?)"
        done
        expect_eq "snapshot $how: getent group web" 2 \
                "$(timeout 5 getent group web >/dev/null; echo $?)"
        expect_eq "snapshot $how: files still answers" root \
                "$(timeout 5 getent passwd root | cut -d: -f1)"
        timeout 5 "$D" check >"$WORK/out" 2>&1
        expect_eq "snapshot $how: check finds it" \
                "1 snapshot $SNAP: cannot be read: damaged" \
                "$? $(grep '^snapshot' "$WORK/out")"
done
"$D" check --repair >/dev/null || fail "check --repair after the damage"
expect_eq "repaired: web resolves" web "$(getent passwd web | cut -d: -f1)"

# ---- the database ---------------------------------------------------------------
printf '%s\n' 'auth required pam_permit.so' 'account required pam_permit.so' \
        'session required pam_dynid.so' >/etc/pam.d/dynid-damage
echo 'session required pam_dynid.so' >>/etc/pam.d/runuser-l
cp -p "$DATA" "$WORK/good-data.mdb"
dsize=$(stat -c %s "$DATA")
for how in random cut; do
        case $how in
        random) head -c "$dsize" /dev/urandom >"$DATA" ;;
        cut) head -c 100 "$WORK/good-data.mdb" >"$DATA" ;;
        esac
        for cmd in "add x" list "show web" gc "remove web" status check \
                   "check --repair" "run web -- true"; do
                # shellcheck disable=SC2086
                run "$D" $cmd
                expect_eq "database $how: dynidctl $cmd" \
                        "1 dynidctl: cannot open the lease store: $STATE_DIR/db: damaged database" \
                        "$rc $err"
        done
        run pamtester dynid-damage web open_session
        expect_eq "database $how: pamtester open_session" \
                "1 pamtester: Cannot make/remove an entry for the specified session" \
                "$rc $err"
        run runuser -l -s /bin/sh web -c 'echo ran as $(id -u)'
        expect_eq "database $how: runuser is refused, nothing runs" \
                "1 " "$rc $out"
        expect_eq "database $how: the snapshot still answers" web \
                "$(getent passwd web | cut -d: -f1)"
done
cp -p "$WORK/good-data.mdb" "$DATA"
"$D" check >/dev/null || fail "check after the database came back"

# An empty database file, or none, beside a snapshot that lists leases is
# a lost database: refused by readers and writers before anything is made.
n=$("$D" list | awk 'NR > 1' | wc -l)
lost="1 dynidctl: cannot open the lease store: $STATE_DIR/db is empty but $SNAP lists $n lease(s): restore the database from a backup, or remove the snapshot to start with no lease"
for how in empty missing; do
        case $how in
        empty) : >"$DATA"; rm -f "$STATE_DIR/db/lock.mdb" ;;
        missing) rm -rf "$STATE_DIR/db" ;;
        esac
        for cmd in list check status "show web" gc "add x" "run web -- true"; do
                # shellcheck disable=SC2086
                run "$D" $cmd
                expect_eq "database $how: dynidctl $cmd" "$lost" "$rc $err"
        done
        run pamtester dynid-damage web open_session
        expect_eq "database $how: pamtester open_session" \
                "1 pamtester: Cannot make/remove an entry for the specified session" \
                "$rc $err"
        expect_eq "database $how: nothing was made in db/" \
                "$([ "$how" = empty ] && echo data.mdb)" \
                "$(ls "$STATE_DIR/db" | tr '\n' ' ' | sed 's/ $//')"
done
cp -p "$WORK/good-data.mdb" "$DATA"
"$D" check >/dev/null || fail "check after the database came back again"

# A page of 0xff inside the file: LMDB follows it past the file's end into
# the unbacked part of its map, which faults with SIGBUS. dynidctl says so;
# a launcher dies of it before the session opens, so nothing runs.
mv "$STATE_DIR" "$WORK/state-kept"
"$D" add web db >/dev/null || fail "add web db into a fresh store"
cp -p "$DATA" "$WORK/fresh-data.mdb"
head -c 4096 /dev/zero | tr '\0' '\377' |
        dd of="$DATA" bs=4096 seek=7 count=1 conv=notrunc 2>/dev/null
cp -p "$DATA" "$WORK/bad-data.mdb"
for cmd in list check "add x" "show web" "remove db" "run web -- id -u"; do
        # shellcheck disable=SC2086
        run "$D" $cmd
        expect_eq "a page past the file's end: dynidctl $cmd" \
                "1 dynidctl: $STATE_DIR/db: damaged database (a page lies past the end of the file): restore it from a backup" \
                "$rc $err"
done
run runuser -l -s /bin/sh web -c 'echo ran as $(id -u)'
# Killed by SIGBUS (128 + 7); with the ASan runtime preloaded, its handler
# reports the fault and exits 1.
died=135
[ -z "${ASAN_PRELOAD:-}" ] || died=1
expect_eq "a page past the file's end: runuser dies, nothing runs" "$died " \
        "$rc $out"
cmp -s "$DATA" "$WORK/bad-data.mdb" || fail "the damaged database changed"
echo "ok: a page past the file's end: the database is as it was"
cp -p "$WORK/fresh-data.mdb" "$DATA"
expect_eq "the fresh store restored: list" "db web" \
        "$("$D" list | awk 'NR > 1 { printf "%s%s", sep, $1; sep = " " }')"
rm -rf "$STATE_DIR"
mv "$WORK/state-kept" "$STATE_DIR"
echo "ok: the database restored from its copy passes check"

# ---- a full map -------------------------------------------------------------------
mkdir -p "${CONF_FILE%/*}"
printf '[pool]\nblock_size = 1024\n[store]\nmap_size = 1\n' >"$CONF_FILE"
rm -rf "$STATE_DIR"
"$D" add web >/dev/null || fail "add web in a 1 MiB map"
i=0
while :; do
        i=$((i + 1))
        [ "$i" -le 100 ] || fail "the 1 MiB map never filled"
        # shellcheck disable=SC2046
        run "$D" add $(seq -f "f$i-%g" 1 500)
        [ "$rc" = 0 ] || break
done
expect_eq "full map: the refusal" \
        "1 dynidctl: add: cannot add the leases: the lease database is full (its map size, 1 MiB, is reached): raise [store] map_size in dynid.conf" \
        "$rc $err"
expect_eq "full map: the refused batch left nothing" 0 \
        "$("$D" list | grep -c "^f$i-")"
n=$("$D" list | awk 'NR > 1' | wc -l)
expect_eq "full map: earlier leases intact" $(( (i - 1) * 500 + 1 )) "$n"
"$D" check >/dev/null || fail "check with a full map"
echo "ok: check passes with a full map"
printf '[pool]\nblock_size = 1024\n[store]\nmap_size = 2\n' >"$CONF_FILE"
# shellcheck disable=SC2046
"$D" add $(seq -f "f$i-%g" 1 500) >/dev/null ||
        fail "add after raising map_size"
expect_eq "a larger map: the batch is there" 500 \
        "$("$D" list | grep -c "^f$i-")"
expect_eq "a larger map: one of it resolves" "f$i-7" \
        "$(getent passwd "f$i-7" | cut -d: -f1)"
