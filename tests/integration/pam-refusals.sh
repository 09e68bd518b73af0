#!/bin/sh
# pam_dynid's refusals through libpam (pamtester): a home that cannot be
# idmapped, and a service whose passwd entry is not its lease's, each fail
# the session with one syslog line that says why and leave nothing
# mounted, as do a damaged database and a mode option with a typo in it;
# a user without a lease, or a local account that merely has a service's
# name, passes untouched and unmentioned.
. "${top_srcdir:-.}/tests/lib.sh"
command -v pamtester >/dev/null || skip "needs pamtester(1)"
command -v socat >/dev/null || skip "needs socat(1)"
enter_sandbox "$@"

D=$DYNIDCTL

# ---- a syslog to read ------------------------------------------------------

# pam_syslog() writes to /dev/log, which the host may not have, and /dev
# is the host's devtmpfs: a socket created there would outlive the test.
# Instead /dev becomes a tmpfs of bind mounts of the real entries, private
# to the sandbox, and the socket is created in it.
mkdir "$WORK/dev"
mount --rbind /dev "$WORK/dev" || fail "cannot bind /dev"
mount -t tmpfs -o mode=0755 tmpfs /dev || fail "cannot mount a tmpfs on /dev"
for e in "$WORK/dev"/* "$WORK/dev"/.[!.]*; do
        n=/dev/${e##*/}
        if [ -L "$e" ]; then
                cp -P "$e" "$n"
        elif [ -d "$e" ]; then
                mkdir "$n" && mount --rbind "$e" "$n"
        elif [ -e "$e" ]; then
                touch "$n" && mount --bind "$e" "$n"
        fi || fail "cannot copy $e into the private /dev"
done

: >"$WORK/log"
# Neither socat nor logger loads our modules: no ASan runtime for them
# (logger hangs with it preloaded, as ps does; see tests/lib.sh).
LD_PRELOAD= socat -u UNIX-RECV:/dev/log OPEN:"$WORK/log",append </dev/null \
        >/dev/null 2>&1 &
socat_pid=$!
trap 'kill "$socat_pid" 2>/dev/null; wait "$socat_pid"' EXIT
for _ in $(seq 100); do
        [ -S /dev/log ] && break
        sleep 0.05
done
[ -S /dev/log ] || fail "the syslog listener did not start"

# The records logged since the last call, one a line, without the
# timestamp. Datagrams on a socket keep their order: once a marker sent
# last is in the file, so is everything before it.
read_log() {
        mark=$(cat /proc/sys/kernel/random/uuid)
        LD_PRELOAD= logger -t dynid-test "mark $mark"
        for _ in $(seq 200); do
                grep -q "dynid-test: mark $mark" "$WORK/log" && break
                sleep 0.05
        done
        grep -q "dynid-test: mark $mark" "$WORK/log" ||
                fail "the syslog listener did not receive a marker"
        # socat writes each datagram as it is, without a newline.
        sed -E 's/(.)(<[0-9]+>)/\1\n\2/g' "$WORK/log" |
                sed -E 's/^(<[0-9]+>)[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} /\1/' |
                grep -v '^<[0-9]*>dynid-test: mark '
        : >"$WORK/log"
}

# ---- the stack -------------------------------------------------------------

# pam_permit first: a stack of nothing but an ignoring module would fail.
cat >/etc/pam.d/dynid-test <<END
auth required pam_permit.so
account required pam_permit.so
session required pam_permit.so
session required pam_dynid.so
END
"$D" add web legacy >/dev/null || fail "add web legacy"
read_log >/dev/null
mounts=$(cat /proc/self/mountinfo)

# refused WHAT USER LOG-LINE: open_session fails, pam_dynid logs exactly
# LOG-LINE (as authpriv.err), the sandbox's mounts are as they were.
refused() {
        pamtester dynid-test "$2" open_session >"$WORK/out" 2>&1
        expect_eq "$1: pamtester exit status" 1 "$?"
        expect_eq "$1: pamtester says" \
                "pamtester: Cannot make/remove an entry for the specified session" \
                "$(cat "$WORK/out")"
        expect_eq "$1: syslog" \
                "<83>pamtester: pam_dynid(dynid-test:session): $3" \
                "$(read_log)"
        expect_eq "$1: nothing mounted at the home" "" \
                "$(grep " $STATE_DIR/home/$2 " /proc/self/mountinfo)"
        expect_eq "$1: the sandbox's mounts are unchanged" "$mounts" \
                "$(cat /proc/self/mountinfo)"
        expect_eq "$1: no live session" 0 \
                "$("$D" show "$2" --json |
                   sed -n 's/^ *"sessions": \([0-9]*\),*$/\1/p')"
}

# ---- (a) a home on a filesystem that cannot be idmapped --------------------

mkdir "$WORK/lower" "$WORK/upper" "$WORK/ovl"
echo data >"$WORK/lower/file"
mount -t overlay overlay \
        -o "lowerdir=$WORK/lower,upperdir=$WORK/upper,workdir=$WORK/ovl" \
        "$STATE_DIR/storage/web" || fail "cannot overlay web's storage"
mounts=$(cat /proc/self/mountinfo)
# pam_dynid's sentence, then libdynid's reason.
why="Failed to build the home of web at $STATE_DIR/storage/web:"
why="$why cannot idmap the storage (filesystem overlay): Invalid argument"
refused "a home on overlayfs" web "$why"
expect_eq "a home on overlayfs: the storage is untouched" "" \
        "$(ls -A "$WORK/upper")"
umount "$STATE_DIR/storage/web" || fail "cannot unmount the overlay"
mounts=$(cat /proc/self/mountinfo)

# ---- (b) a service whose passwd entry is not its lease's -------------------

# A copy of the entry pinned in /etc/passwd ("files" comes first in
# nsswitch.conf) that went stale: the lease has moved to another block
# since. Simulated by rewriting the IDs; dynidctl, which refuses names
# that /etc/passwd has, ran before.
B=$(getent passwd legacy | cut -d: -f3)
getent passwd legacy | sed "s/^legacy:\*:$B:$B:/legacy:*:1234:1234:/" \
        >>/etc/passwd
expect_eq "legacy resolves to the stale copy" \
        "legacy:*:1234:1234:dynid service legacy:$STATE_DIR/home/legacy" \
        "$(getent passwd legacy | cut -d: -f1-6)"
refused "a stale passwd entry" legacy \
        "Failed to open a session of legacy: uid 1234 is not the base $B of its lease"

# A local account of the same name is somebody else's: without dynid's
# GECOS it is left alone, lease or not.
sed -i '/^legacy:/d' /etc/passwd
echo 'legacy:x:1234:1234::/tmp:/bin/sh' >>/etc/passwd
pamtester dynid-test legacy open_session >"$WORK/out" 2>&1
expect_eq "a local account: pamtester exit status" 0 "$?"
expect_eq "a local account: nothing in syslog" "" "$(read_log)"
expect_eq "a local account: the sandbox's mounts are unchanged" "$mounts" \
        "$(cat /proc/self/mountinfo)"
sed -i '/^legacy:/d' /etc/passwd

# ---- (c) a damaged lease database ------------------------------------------

cp -p "$STATE_DIR/db/data.mdb" "$WORK/data.mdb"
head -c "$(stat -c %s "$WORK/data.mdb")" /dev/urandom >"$STATE_DIR/db/data.mdb"
pamtester dynid-test web open_session >"$WORK/out" 2>&1
expect_eq "a damaged database: pamtester exit status" 1 "$?"
expect_eq "a damaged database: syslog" \
        "<83>pamtester: pam_dynid(dynid-test:session): Failed to open the lease store: $STATE_DIR/db: damaged database" \
        "$(read_log)"
expect_eq "a damaged database: the sandbox's mounts are unchanged" "$mounts" \
        "$(cat /proc/self/mountinfo)"
cp -p "$WORK/data.mdb" "$STATE_DIR/db/data.mdb"
expect_eq "a damaged database, restored: no live session" 0 \
        "$(lease_field web sessions)"

# ---- (d) a mode option that cannot be honoured -----------------------------

# A typo must not open a weaker session than the stack asks for: refused
# for a service, ignored for everybody else.
for opt in mode=usern mode=USERNS mode= mode; do
        sed -i "s/^session required pam_dynid.so.*/session required pam_dynid.so $opt/" \
                /etc/pam.d/dynid-test
        refused "option '$opt'" web \
                "Failed to open a session of web: bad option '$opt' (mode=mount or mode=userns)"
        pamtester dynid-test nobody open_session >"$WORK/out" 2>&1
        expect_eq "option '$opt', nobody: pamtester exit status" 0 "$?"
        expect_eq "option '$opt', nobody: nothing in syslog" "" "$(read_log)"
done
sed -i 's/^session required pam_dynid.so.*/session required pam_dynid.so/' \
        /etc/pam.d/dynid-test

# ---- (e) users without a lease ---------------------------------------------

for user in nobody root NoSuchUser; do
        pamtester dynid-test "$user" open_session >"$WORK/out" 2>&1
        expect_eq "$user: pamtester exit status" 0 "$?"
        expect_eq "$user: pamtester says" \
                "pamtester: successfully opened a session" "$(cat "$WORK/out")"
        expect_eq "$user: nothing in syslog" "" "$(read_log)"
        expect_eq "$user: no storage" "" \
                "$(ls -A "$STATE_DIR/storage" | grep -vx -e web -e legacy)"
done
expect_eq "the sandbox's mounts after the users without a lease" "$mounts" \
        "$(cat /proc/self/mountinfo)"

# The session's processes keep the launcher's mount namespace.
echo 'session required pam_dynid.so' >>/etc/pam.d/runuser-l
out=$(runuser -l -s /bin/sh nobody -c 'readlink /proc/self/ns/mnt')
expect_eq "runuser exit status for nobody" 0 "$?"
expect_eq "nobody's session keeps the mount namespace" \
        "$(readlink /proc/self/ns/mnt)" "$out"
expect_eq "runuser nobody: nothing from pam_dynid in syslog" "" \
        "$(read_log | grep pam_dynid)"
