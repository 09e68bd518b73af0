#!/bin/sh
# What an administrator's mistakes and a crash leave behind: closed
# standard descriptors, a lost database, a snapshot behind the database,
# unsafe modes, a snapshot that is not a plain root-owned file, and
# configuration files that are not text.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

D=$DYNIDCTL
SNAP=$STATE_DIR/nss.mdb

# run_err WHAT EXPECTED-STATUS EXPECTED-STDERR CMD...
run_err() {
        what=$1 want_rc=$2 want_err=$3
        shift 3
        "$@" >"$WORK/out" 2>"$WORK/err"
        expect_eq "$what: exit status" "$want_rc" "$?"
        expect_eq "$what: stderr" "$want_err" "$(cat "$WORK/err")"
}

check_ok() {
        "$D" check >"$WORK/out" 2>&1 || { cat "$WORK/out"; fail "$1: check"; }
        echo "ok: $1: check passes"
}

# ---- closed standard descriptors never reach the database -----------------
"$D" add web >/dev/null || fail "add web"
"$D" add root <&- >&- 2>&-
expect_eq "refused add with 0-2 closed: exit status" 1 "$?"
check_ok "after a refusal with 0-2 closed"
"$D" add db <&- >&- 2>&-
expect_eq "add with 0-2 closed: exit status" 0 "$?"
check_ok "after an add with 0-2 closed"
expect_eq "db resolves" db "$(getent passwd db | cut -d: -f1)"

# ---- a snapshot behind the database is published by the next writer ------
cp -p "$SNAP" "$WORK/old.mdb"
"$D" add late >/dev/null || fail "add late"
mv "$WORK/old.mdb" "$SNAP"      # as if killed between commit and rename
expect_eq "stale snapshot: late unknown" 2 \
        "$(getent passwd late >/dev/null; echo $?)"
"$D" check >/dev/null 2>&1
expect_eq "stale snapshot: check fails" 1 "$?"
"$D" gc >/dev/null || fail "gc"
expect_eq "repaired by the next writer: late resolves" late \
        "$(getent passwd late | cut -d: -f1)"
check_ok "after the repair"

# ---- dynidctl check --repair: the same without a write ------------------------
cp -p "$SNAP" "$WORK/old.mdb"
"$D" add later >/dev/null || fail "add later"
mv "$WORK/old.mdb" "$SNAP"
run_err "check --repair of a stale snapshot" 0 "" "$D" check --repair
expect_eq "check --repair of a stale snapshot: stdout" \
        "$(printf 'repaired: published %s again from the database\nok: 4 leases, no problem found' "$SNAP")" \
        "$(cat "$WORK/out")"
expect_eq "repaired by check --repair: later resolves" later \
        "$(getent passwd later | cut -d: -f1)"
rm "$SNAP"
run_err "check --repair of a missing snapshot" 0 "" "$D" check --repair
expect_eq "missing snapshot repaired: web resolves" web \
        "$(getent passwd web | cut -d: -f1)"
run_err "check --repair with nothing to repair" 0 "" "$D" check --repair
expect_eq "nothing to repair: stdout" "ok: 4 leases, no problem found" \
        "$(cat "$WORK/out")"
"$D" remove later >/dev/null || fail "remove later"

# ---- a lost database is not silently replaced by an empty one -------------
rm -rf "$STATE_DIR/db"
run_err "lost database" 1 "dynidctl: cannot open the lease store: $STATE_DIR/db is empty but $SNAP lists 3 lease(s): restore the database from a backup, or remove the snapshot to start with no lease" \
        "$D" add other
expect_eq "lost database: the snapshot still answers" web \
        "$(getent passwd web | cut -d: -f1)"
rm "$SNAP"
"$D" add web >/dev/null || fail "add after removing the snapshot"
check_ok "a new start"

# ---- a snapshot that cannot be read: reported, then replaced --------------
"$D" add web db >/dev/null || fail "add web db"
for how in fifo truncated; do
        cp -p "$SNAP" "$WORK/good.mdb"
        case $how in
        fifo) rm "$SNAP"; mkfifo -m 0644 "$SNAP" ;;
        truncated) head -c 5000 "$WORK/good.mdb" >"$SNAP" ;;
        esac
        timeout 5 "$D" check >"$WORK/out" 2>&1
        expect_eq "$how snapshot: check exits 1" 1 "$?"
        expect_eq "$how snapshot: check says why" \
                "snapshot $SNAP: cannot be read: damaged" \
                "$(grep '^snapshot' "$WORK/out")"
        timeout 5 "$D" gc --dry-run >/dev/null 2>&1 ||
                fail "$how snapshot: gc --dry-run"
        expect_eq "$how snapshot: a dry run changes nothing" "$how" \
                "$(if [ -p "$SNAP" ]; then echo fifo; else echo truncated; fi)"
        timeout 5 "$D" gc >/dev/null 2>&1 || fail "$how snapshot: gc"
        expect_eq "$how snapshot: gc publishes it again" web \
                "$(getent passwd web | cut -d: -f1)"
        check_ok "$how snapshot replaced"
        rm -f "$WORK/good.mdb"
done

# ---- nor is an unreadable snapshot replaced by an empty database ----------
head -c 5000 "$SNAP" >"$WORK/cut.mdb"
mv "$WORK/cut.mdb" "$SNAP"
rm -rf "$STATE_DIR/db"
run_err "lost database, unreadable snapshot" 1 "dynidctl: cannot open the lease store: $STATE_DIR/db is empty and $SNAP cannot be read: restore the database from a backup, or remove the snapshot to start with no lease" \
        "$D" add other
rm "$SNAP"
"$D" add web >/dev/null || fail "add after removing the snapshot"

# ---- unsafe modes are refused and reported --------------------------------
chmod 0777 "$STATE_DIR"
run_err "world-writable state directory" 1 "dynidctl: cannot open the lease store: $STATE_DIR: must be owned by uid 0 and not writable by group or others" \
        "$D" add other
run_err "check of a world-writable state directory" 1 "" "$D" check
expect_eq "check names it" "$STATE_DIR: must be a directory owned by uid 0 with mode 0755" \
        "$(cat "$WORK/out")"
chmod 0755 "$STATE_DIR"

# ---- NSS answers only from root's own regular file ------------------------
B=$(getent passwd web | cut -d: -f3)
for how in fifo owner mode; do
        cp -p "$SNAP" "$WORK/good.mdb"
        case $how in
        fifo) rm "$SNAP"; mkfifo -m 0644 "$SNAP" ;;
        owner) chown nobody "$SNAP" ;;
        mode) chmod 0666 "$SNAP" ;;
        esac
        expect_eq "snapshot ($how): web unavailable at once" 2 \
                "$(timeout 5 getent passwd web >/dev/null; echo $?)"
        expect_eq "snapshot ($how): by ID too" 2 \
                "$(timeout 5 getent passwd "$B" >/dev/null; echo $?)"
        expect_eq "snapshot ($how): root still resolves" root \
                "$(timeout 5 getent passwd root | cut -d: -f1)"
        rm -f "$SNAP"
        mv "$WORK/good.mdb" "$SNAP"
done
expect_eq "restored: web resolves" web "$(getent passwd web | cut -d: -f1)"

# ---- an nss.gen that is not root's own file is replaced by the next write --
GEN=$STATE_DIR/nss.gen
for how in owner fifo symlink check; do
        case $how in
        owner|check) chown nobody "$GEN" ;;
        fifo) rm "$GEN"; mkfifo -m 0644 "$GEN" ;;
        symlink) rm "$GEN"; ln -s /etc/passwd "$GEN" ;;
        esac
        cp /etc/passwd "$WORK/passwd.before"
        if [ "$how" = check ]; then
                run "$D" check
                expect_eq "nss.gen of nobody: check" \
                        "1 $GEN: must be a regular file owned by uid 0 with mode 0644" \
                        "$rc $out"
                run "$D" check --repair
                expect_eq "nss.gen of nobody: check --repair" \
                        "0 $(printf 'repaired: published %s again from the database\nok: 4 leases, no problem found' "$SNAP")" \
                        "$rc $out"
        else
                "$D" add "gen-$how" >/dev/null || fail "add with nss.gen ($how)"
                expect_eq "nss.gen ($how): gen-$how resolves" "gen-$how" \
                        "$(getent passwd "gen-$how" | cut -d: -f1)"
        fi
        expect_eq "nss.gen ($how): replaced by root's own file" \
                "644 root root regular file 4096" \
                "$(stat -c '%a %U %G %F %s' "$GEN")"
        cmp -s /etc/passwd "$WORK/passwd.before" ||
                fail "nss.gen ($how): the link's target changed"
done
"$D" remove gen-owner gen-fifo gen-symlink >/dev/null || fail "remove gen-*"

# ---- configuration files that are not text --------------------------------
run_err "--config of a directory" 1 "dynidctl: /etc: not a regular file" \
        "$D" --config /etc list
run_err "--config /dev/zero" 1 "dynidctl: /dev/zero: not a regular file" \
        "$D" --config /dev/zero list
printf '[pool]\nrange = 1-2\0junk\n' >"$WORK/nul.conf"
run_err "a NUL byte" 1 "dynidctl: $WORK/nul.conf:2: contains a NUL byte" \
        "$D" --config "$WORK/nul.conf" list
printf '[service]\nshell = /bin/sh\n' >"$WORK/open.conf"
chmod 0666 "$WORK/open.conf"
run_err "a world-writable configuration" 1 "dynidctl: $WORK/open.conf: must be owned by root and not writable by group or others" \
        "$D" --config "$WORK/open.conf" list
printf '[service]\nshell = /bin/sh\n' >"$WORK/nobodys.conf"
chown nobody "$WORK/nobodys.conf"
run_err "a configuration that is not root's" 1 "dynidctl: $WORK/nobodys.conf: must be owned by root and not writable by group or others" \
        "$D" --config "$WORK/nobodys.conf" list
printf '[service]\nshell = /bin/s h\n' >"$WORK/blank.conf"
run_err "a blank in the shell" 1 "dynidctl: $WORK/blank.conf:2: invalid value for service.shell: '/bin/s h' (expected an absolute path of printable characters but blanks and ':')" \
        "$D" --config "$WORK/blank.conf" list
check_ok "after the refused configurations"

# ---- a configuration changed since the last publish ----------------------
# The snapshot carries the old shell until the next change: check says so
# and how to publish now.
printf '[service]\nshell = /bin/sh\n' >"$WORK/shell.conf"
run "$D" --config "$WORK/shell.conf" check
expect_eq "a changed shell: check" "1 $(for by in name ID; do
        printf "snapshot: lease 'web' has the home or shell of another configuration (by %s): the next change publishes this one, check --repair does now\n" "$by"
done)" "$rc $out"
"$D" --config "$WORK/shell.conf" check --repair >/dev/null ||
        fail "check --repair with a changed shell"
expect_eq "a changed shell: published" "/bin/sh" \
        "$(getent passwd web | cut -d: -f7)"
