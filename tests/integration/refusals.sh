#!/bin/sh
# Every refusal exits non-zero with one line on stderr that says why, and
# changes nothing: the leases, the generation and the snapshot file stay
# exactly as they were. Usage errors exit 2.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

# Everything a refused command must leave alone, as text: the leases, the
# generations, the snapshot file (same inode, same bytes), the state
# directory's entries (no temporary files left behind).
state() {
        "$DYNIDCTL" ${conf:+--config "$conf"} list
        "$DYNIDCTL" ${conf:+--config "$conf"} status --json |
                grep -E '"(used|generation|snapshot_generation)"'
        stat -c '%i %s %Y' "$STATE_DIR/nss.mdb"
        cksum <"$STATE_DIR/nss.mdb"
        ls -A "$STATE_DIR" "$STATE_DIR/db"
}

# refused WHAT STDERR-LINE CMD...: exit 1, nothing on stdout, exactly
# STDERR-LINE (one line) on stderr, nothing changed.
refused() {
        what=$1 line=$2
        shift 2
        before=$(state)
        run "$@"
        expect_eq "$what: exit status" 1 "$rc"
        expect_eq "$what: stdout" "" "$out"
        expect_eq "$what: stderr" "$line" "$err"
        expect_eq "$what: stderr lines" 1 "$(wc -l <"$WORK/err")"
        expect_eq "$what: nothing changed" "$before" "$(state)"
}

# usage WHAT MESSAGE CMD...: exit 2, MESSAGE and the hint to --help on
# stderr, nothing on stdout, nothing changed.
usage() {
        what=$1 line=$2
        shift 2
        before=$(state)
        run "$@"
        expect_eq "$what: exit status" 2 "$rc"
        expect_eq "$what: stdout" "" "$out"
        expect_eq "$what: stderr" \
                "$(printf "%s\nTry 'dynidctl --help' for more information." \
                   "$line")" "$err"
        expect_eq "$what: nothing changed" "$before" "$(state)"
}

check_ok() {
        run "$DYNIDCTL" ${conf:+--config "$conf"} check
        expect_eq "$1: check: exit status" 0 "$rc"
        expect_eq "$1: check" "ok: $2 leases, no problem found" "$out"
}

absent() {
        run "$DYNIDCTL" ${conf:+--config "$conf"} show "$1"
        expect_eq "show $1: exit status" 1 "$rc"
        expect_eq "show $1: stderr" "dynidctl: show: no lease for '$1'" "$err"
        run getent passwd "$1"
        expect_eq "getent passwd $1: exit status" 2 "$rc"
}

conf=
"$DYNIDCTL" add web db >/dev/null || fail "dynidctl add web db"
check_ok "before" 2

# ---- names -----------------------------------------------------------------

inv="dynidctl: add: invalid service name"
refused "add Bad" \
        "$inv 'Bad': must start with a lowercase letter or '_'" \
        "$DYNIDCTL" add Bad
refused "add a:b" \
        "$inv 'a:b': only lowercase letters, digits, '_' and '-' are allowed" \
        "$DYNIDCTL" add a:b
refused "add 12345" \
        "$inv '12345': must start with a lowercase letter or '_'" \
        "$DYNIDCTL" add 12345
refused "add web+7" \
        "$inv 'web+7': only lowercase letters, digits, '_' and '-' are allowed" \
        "$DYNIDCTL" add web+7
refused "add ''" "$inv '': empty" "$DYNIDCTL" add ""
name32=abcdefghijklmnopqrstuvwxyz012345
refused "add a 32-byte name" "$inv '$name32': longer than 31 bytes" \
        "$DYNIDCTL" add "$name32"
# 31 bytes is fine (and shows the limit is exact).
run "$DYNIDCTL" add "${name32%5}"
expect_eq "add a 31-byte name: exit status" 0 "$rc"
run "$DYNIDCTL" remove "${name32%5}"
expect_eq "remove the 31-byte name: exit status" 0 "$rc"

# Names that other sources already have.
refused "add daemon" \
        "dynidctl: add: cannot lease 'daemon': /etc/passwd already has that name" \
        "$DYNIDCTL" add daemon
echo 'dyntest:x:4242:4242:dynid test:/nonexistent:/usr/sbin/nologin' \
        >>/etc/passwd
echo 'dyngroup:x:4243:' >>/etc/group
refused "add dyntest (appended to /etc/passwd)" \
        "dynidctl: add: cannot lease 'dyntest': /etc/passwd already has that name" \
        "$DYNIDCTL" add dyntest
refused "add dyngroup (appended to /etc/group)" \
        "dynidctl: add: cannot lease 'dyngroup': /etc/group already has that name" \
        "$DYNIDCTL" add dyngroup

# Names that another NSS source resolves. dynidctl asks NSS whenever
# nsswitch.conf lists a source besides files (/etc/passwd and /etc/group,
# which it reads itself) and dynid; the benchmarks' floor module answers
# every name.
cp /etc/nsswitch.conf "$WORK/nsswitch.saved"
install -m 0644 "$top_builddir/tests/bench/.libs/libnss_floor.so.2" "$nssdir/"
sed -i -E 's/^passwd:.*/passwd: files [NOTFOUND=continue UNAVAIL=return] floor dynid/' \
        /etc/nsswitch.conf
refused "add other (another NSS source resolves it)" \
        "dynidctl: add: cannot lease 'other': the passwd database already resolves that name" \
        "$DYNIDCTL" add other
# However the line spells it, as glibc reads it: an action glued to the
# next service, no colon, other blanks (\v), a second passwd line.
for line in "passwd: files [NOTFOUND=continue]floor dynid" \
            "passwd: files [SUCCESS=return]floor dynid" \
            "passwd files floor dynid" \
            "\\vpasswd:\\vfiles floor dynid" \
            "passwd\\v: files floor" \
            "passwd: files dynid\\npasswd: files floor dynid"; do
        grep -v '^passwd' "$WORK/nsswitch.saved" >/etc/nsswitch.conf
        printf '%b\n' "$line" >>/etc/nsswitch.conf
        refused "add other with '$line'" \
                "dynidctl: add: cannot lease 'other': the passwd database already resolves that name" \
                "$DYNIDCTL" add other
done
cp "$WORK/nsswitch.saved" /etc/nsswitch.conf
# reads_of_passwd LINE: how often adding three names opens /etc/passwd
# with LINE as the passwd and group lines of nsswitch.conf.
reads_of_passwd() {
        sed -i -E "s/^(passwd|group):.*/\\1: $1/" /etc/nsswitch.conf
        strace -f -e trace=openat -o "$WORK/strace" \
                "$DYNIDCTL" add ns1 ns2 ns3 >/dev/null ||
                fail "add ns1 ns2 ns3 with '$1'"
        "$DYNIDCTL" remove ns1 ns2 ns3 >/dev/null || fail "remove ns1 ns2 ns3"
        grep -c '"/etc/passwd"' "$WORK/strace"
}
# Twice by dynidctl (the pool and the names), and twice more per name by
# glibc's files source (the name and the block's base) when NSS is asked.
expect_eq "files and dynid only: NSS not asked" 2 \
        "$(reads_of_passwd "files [NOTFOUND=continue] dynid")"
expect_eq "files, systemd and dynid: NSS asked" 8 \
        "$(reads_of_passwd "files systemd dynid")"
cp "$WORK/nsswitch.saved" /etc/nsswitch.conf

# A batch is all or nothing: whether the bad name is caught before the
# store is opened (syntax) or inside the transaction (a taken name).
refused "add ok Bad" \
        "$inv 'Bad': must start with a lowercase letter or '_'" \
        "$DYNIDCTL" add ok Bad
absent ok
refused "add ok daemon" \
        "dynidctl: add: cannot lease 'daemon': /etc/passwd already has that name" \
        "$DYNIDCTL" add ok daemon
absent ok
refused "add ok web dyntest" \
        "dynidctl: add: cannot lease 'dyntest': /etc/passwd already has that name" \
        "$DYNIDCTL" add ok web dyntest
absent ok

refused "remove nosuch" "dynidctl: remove: 'nosuch' has no lease" \
        "$DYNIDCTL" remove nosuch
refused "remove web nosuch" "dynidctl: remove: 'nosuch' has no lease" \
        "$DYNIDCTL" remove web nosuch
refused "show nosuch" "dynidctl: show: no lease for 'nosuch'" \
        "$DYNIDCTL" show nosuch
# The names of IDs inside a block, as NSS gives them; only those.
WB=$("$DYNIDCTL" show web --json | json_num base)
expect_eq "show web+7: the lease of web" "web $WB" \
        "$("$DYNIDCTL" show web+7 --json | sed -n 's/^ *"name": "\(.*\)",$/\1/p') $("$DYNIDCTL" show web+7 --json | json_num base)"
expect_eq "show web+7 is the name getent gives $((WB + 7))" web+7 \
        "$(getent passwd $((WB + 7)) | cut -d: -f1)"
refused "show web+65536" "dynidctl: show: no lease for 'web+65536'" \
        "$DYNIDCTL" show web+65536
refused "show nosuch+3" "dynidctl: show: no lease for 'nosuch+3'" \
        "$DYNIDCTL" show nosuch+3
refused "show web+07" "dynidctl: show: invalid service name 'web+07': only lowercase letters, digits, '_' and '-' are allowed" \
        "$DYNIDCTL" show web+07
check_ok "after the name refusals" 2

# ---- configuration ---------------------------------------------------------

bad=$WORK/unknown-key.conf
printf '[pool]\nblock_size = 65536\n\n[service]\nhomedir = /srv/%%n\n' >"$bad"
refused "--config with an unknown key" \
        "dynidctl: $bad:5: unknown key 'homedir' in section [service]" \
        "$DYNIDCTL" --config "$bad" add newname
bad=$WORK/bad-range.conf
printf '; a pool backwards\n[pool]\nrange = 2000000000-1900000000\n' >"$bad"
refused "--config with a bad range" \
        "dynidctl: $bad:3: invalid value for pool.range: '2000000000-1900000000' (expected FIRST-LAST with FIRST <= LAST <= 4294967295)" \
        "$DYNIDCTL" --config "$bad" add newname
bad=$WORK/no-section.conf
printf 'range = 1-2\n' >"$bad"
refused "--config with a key outside a section" \
        "dynidctl: $bad:1: key 'range' outside of a section" \
        "$DYNIDCTL" --config "$bad" add newname
refused "--config naming a missing file" \
        "dynidctl: $WORK/missing.conf: No such file or directory" \
        "$DYNIDCTL" --config "$WORK/missing.conf" add newname
absent newname
check_ok "after the configuration refusals" 2

# ---- an exhausted pool -----------------------------------------------------

# Two blocks: 1048576-1114111 and 1114112-1179647. /etc/subuid and
# /etc/subgid are emptied so that no host range overlaps them.
: >/etc/subuid
: >/etc/subgid
rm -rf "$STATE_DIR"
conf=$WORK/two-blocks.conf
printf '[pool]\nrange = 1048576-1179647\n' >"$conf"
run "$DYNIDCTL" --config "$conf" add a b
expect_eq "two blocks: add a b: exit status" 0 "$rc"
expect_eq "two blocks: add a b" \
        "$(printf 'a  1048576  65536\nb  1114112  65536')" "$out"
refused "two blocks: add c" \
        "dynidctl: add: cannot lease 'c': the pool is exhausted (all 2 blocks are taken)" \
        "$DYNIDCTL" --config "$conf" add c
absent c
refused "two blocks: add a c" \
        "dynidctl: add: cannot lease 'c': the pool is exhausted (all 2 blocks are taken)" \
        "$DYNIDCTL" --config "$conf" add a c
absent c
check_ok "after the exhausted pool" 2

# ---- a pool that conflicts with /etc/passwd --------------------------------

cp /etc/passwd "$WORK/passwd"
echo 'intruder:x:1048577:1048577::/nonexistent:/usr/sbin/nologin' \
        >>/etc/passwd
refused "conflicting pool: add d" \
        "dynidctl: add: the pool 1048576-1179647 contains ID 1048577 of 'intruder' in /etc/passwd" \
        "$DYNIDCTL" --config "$conf" add d
absent d
run "$DYNIDCTL" --config "$conf" check
expect_eq "conflicting pool: check: exit status" 1 "$rc"
expect_eq "conflicting pool: check" \
        "the pool 1048576-1179647 contains ID 1048577 of 'intruder' in /etc/passwd" \
        "$out"
cp "$WORK/passwd" /etc/passwd
check_ok "after the conflicting pool" 2

# ---- usage errors ----------------------------------------------------------

usage "no command" "dynidctl: missing command" "$DYNIDCTL"
usage "unknown command" "dynidctl: unknown command 'frobnicate'" \
        "$DYNIDCTL" frobnicate
usage "add without a name" "dynidctl: add: missing NAME" "$DYNIDCTL" add
usage "list --bogus" "dynidctl: list: invalid option '--bogus'" \
        "$DYNIDCTL" list --bogus
usage "show with two operands" "dynidctl: show: unexpected argument 'b'" \
        "$DYNIDCTL" show a b
usage "--config without a path" \
        "dynidctl: option '--config' needs an argument" "$DYNIDCTL" --config
check_ok "after the usage errors" 2

exit 0
