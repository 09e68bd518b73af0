#!/bin/sh
# Modes and owners of the state directory, what an unprivileged user can
# and cannot do there, and how the snapshot is replaced: a new file renamed
# into place by each change, never modified afterwards, no temporary files
# left behind.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

# modes WHAT: the modes and owners every change must leave.
modes() {
        expect_eq "$1: $STATE_DIR" "755 root root directory" \
                "$(stat -c '%a %U %G %F' "$STATE_DIR")"
        expect_eq "$1: $STATE_DIR/db" "700 root root directory" \
                "$(stat -c '%a %U %G %F' "$STATE_DIR/db")"
        expect_eq "$1: $STATE_DIR/nss.mdb" "644 root root regular file" \
                "$(stat -c '%a %U %G %F' "$STATE_DIR/nss.mdb")"
        expect_eq "$1: $STATE_DIR/nss.gen" "644 root root regular file 4096" \
                "$(stat -c '%a %U %G %F %s' "$STATE_DIR/nss.gen")"
        expect_eq "$1: the database files" \
                "$(printf '600 root data.mdb\n600 root lock.mdb')" \
                "$(cd "$STATE_DIR/db" && stat -c '%a %U %n' -- *)"
        expect_eq "$1: no temporary snapshot left" "db nss.gen nss.mdb storage" \
                "$(ls -A "$STATE_DIR" | tr '\n' ' ' | sed 's/ $//')"
        # Storage: a private parent, homes owned by the foreign range.
        expect_eq "$1: the storage directory" "700 root root directory" \
                "$(stat -c '%a %U %G %F' "$STATE_DIR/storage")"
        for name in $(ls "$STATE_DIR/storage"); do
                expect_eq "$1: storage of $name" \
                        "755 2147352576 2147352576 directory" \
                        "$(stat -c '%a %u %g %F' "$STATE_DIR/storage/$name")"
        done
}

ino() {
        stat -c %i "$STATE_DIR/nss.mdb"
}

"$DYNIDCTL" add web >/dev/null || fail "dynidctl add web"
modes "after an add"

# The same with a umask that would hide everything from other users.
rm -rf "$STATE_DIR"
(umask 077 && "$DYNIDCTL" add web >/dev/null) || fail "add under umask 077"
modes "after an add under umask 077"
run as_nobody getent passwd web
expect_eq "nobody getent passwd web after umask 077: exit status" 0 "$rc"

# ---- what nobody may do ----------------------------------------------------

snap=$STATE_DIR/nss.mdb
cp "$snap" "$WORK/nss.mdb.copy"
# The copy of dynidctl lives where nobody can surely run it from.
ctl=$WORK/dynidctl
cp "$DYNIDCTL" "$ctl" && chmod 0755 "$ctl" || fail "cannot copy dynidctl"

run as_nobody cat "$snap"
expect_eq "nobody reads nss.mdb: exit status" 0 "$rc"
as_nobody cat "$snap" | cmp -s - "$WORK/nss.mdb.copy" ||
        fail "nobody reads other bytes than root"
echo "ok: nobody reads nss.mdb"

run as_nobody sh -c "echo x >>'$snap'"
[ "$rc" -ne 0 ] || fail "nobody could append to nss.mdb"
cmp -s "$snap" "$WORK/nss.mdb.copy" || fail "nss.mdb changed"
echo "ok: nobody cannot write nss.mdb"

gen=$STATE_DIR/nss.gen
cp "$gen" "$WORK/nss.gen.copy"
run as_nobody sh -c "printf x >>'$gen'"
[ "$rc" -ne 0 ] || fail "nobody could append to nss.gen"
cmp -s "$gen" "$WORK/nss.gen.copy" || fail "nss.gen changed"
echo "ok: nobody cannot write nss.gen"

run as_nobody ls "$STATE_DIR/db"
[ "$rc" -ne 0 ] || fail "nobody could list $STATE_DIR/db"
expect_eq "nobody ls db: output" "" "$out"
echo "ok: nobody cannot list the database directory"

run as_nobody cat "$STATE_DIR/db/lock.mdb"
[ "$rc" -ne 0 ] || fail "nobody could read the lock file"
echo "ok: nobody cannot open the lock file"

run as_nobody touch "$STATE_DIR/planted"
[ "$rc" -ne 0 ] || fail "nobody could create a file in $STATE_DIR"
[ ! -e "$STATE_DIR/planted" ] || fail "$STATE_DIR/planted exists"
echo "ok: nobody cannot create a file in $STATE_DIR"

run as_nobody mv "$snap" "$STATE_DIR/moved"
[ "$rc" -ne 0 ] || fail "nobody could rename nss.mdb"
run as_nobody rm -f "$snap"
[ -e "$snap" ] || fail "nobody could remove nss.mdb"
echo "ok: nobody cannot rename or remove nss.mdb"

denied="dynidctl: cannot open the lease store: $STATE_DIR/db: Permission denied"
for cmd in list status check "add other" "remove web" gc "show web"; do
        # shellcheck disable=SC2086
        run as_nobody "$ctl" $cmd
        expect_eq "nobody dynidctl $cmd: exit status" 1 "$rc"
        expect_eq "nobody dynidctl $cmd: stdout" "" "$out"
        expect_eq "nobody dynidctl $cmd: stderr" "$denied" "$err"
done
cmp -s "$snap" "$WORK/nss.mdb.copy" || fail "nss.mdb changed"
expect_eq "leases after nobody's attempts" "web" \
        "$("$DYNIDCTL" list | awk 'NR > 1 { print $1 }')"
modes "after nobody's attempts"

# ---- the snapshot is replaced, never rewritten -------------------------------

# Holding the old file open keeps its inode alive, so a new file cannot
# reuse the number; and lets us see that the old file kept its bytes.
exec 3<"$snap"
i0=$(ino)
"$DYNIDCTL" add db >/dev/null || fail "dynidctl add db"
i1=$(ino)
[ "$i1" != "$i0" ] || fail "add db rewrote nss.mdb in place (inode $i0)"
echo "ok: add db replaced nss.mdb"
cmp -s /proc/$$/fd/3 "$WORK/nss.mdb.copy" ||
        fail "the replaced snapshot was modified"
echo "ok: the replaced snapshot kept its bytes"
exec 4<"$snap"
"$DYNIDCTL" add x y z >/dev/null || fail "dynidctl add x y z"
i2=$(ino)
[ "$i2" != "$i1" ] && [ "$i2" != "$i0" ] ||
        fail "add x y z rewrote nss.mdb in place (inode $i1)"
echo "ok: add x y z replaced nss.mdb"
exec 5<"$snap"
"$DYNIDCTL" remove x >/dev/null || fail "dynidctl remove x"
i3=$(ino)
[ "$i3" != "$i2" ] && [ "$i3" != "$i1" ] && [ "$i3" != "$i0" ] ||
        fail "remove x rewrote nss.mdb in place (inode $i2)"
echo "ok: remove x replaced nss.mdb"
exec 3<&- 4<&- 5<&-
modes "after adds and a remove"

# ---- nss.gen counts publishes, in place --------------------------------------

# counter: the first 8 bytes of nss.gen, a native-endian integer.
counter() {
        od -An -t u8 -N 8 "$gen" | tr -d ' '
}
g0=$(counter)
gi0=$(stat -c %i "$gen")
"$DYNIDCTL" add x >/dev/null || fail "dynidctl add x"
"$DYNIDCTL" remove x >/dev/null || fail "dynidctl remove x"
expect_eq "nss.gen after two publishes" "$((g0 + 2)) $gi0" \
        "$(counter) $(stat -c %i "$gen")"
exit 0
