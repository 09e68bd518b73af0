#!/bin/sh
# A service login through the real runuser and PAM stack, mode=mount: the
# session has its own mount namespace with the idmapped home at pw_dir,
# files land in storage with canonical owners, and the mount stays inside.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

D=$DYNIDCTL
echo 'session required pam_dynid.so' >>/etc/pam.d/runuser-l

"$D" add web >/dev/null || fail "add web"
B=$(getent passwd web | cut -d: -f3)
STORE=$STATE_DIR/storage/web

out=$(runuser -l -s /bin/sh web -c "$SESSION_PROBE")
expect_eq "runuser exit status" 0 "$?"
expect_session_home "runuser" "$out" "$B" web

# Two services at once: each session sees its own home and not the
# other's, and neither can enter the storage of the other.
"$D" add db >/dev/null || fail "add db"
DB=$(getent passwd db | cut -d: -f3)
runuser -l -s /bin/sh web -c 'touch ~/mark; exec sleep 30' &
web_login=$!
for _ in $(seq 100); do
        [ -e "$STORE/mark" ] && break
        sleep 0.05
done
[ -e "$STORE/mark" ] || fail "web's session did not start"
out=$(runuser -l -s /bin/sh db -c "
        grep -c ' $STATE_DIR/home/' /proc/self/mountinfo
        grep -o ' $STATE_DIR/home/[a-z]* ' /proc/self/mountinfo
        ls ~
        ls $STORE 2>&1 >/dev/null | sed 's/.*: //'")
expect_eq "db's session beside web's: one home, its own, empty; web's storage closed" \
        "$(printf '1\n %s \nPermission denied' "$STATE_DIR/home/db")" \
        "$out"
kill "$web_login"
wait "$web_login" 2>/dev/null
rm -f "$STORE/mark"
expect_eq "the storage of db is its canonical owner's" 2147352576 \
        "$(stat -c %u "$STATE_DIR/storage/db")"

# The known limit of mode=mount (SECURITY.md): a setuid-root program
# outside the nosuid home still raises the session to root, unless the
# service runs with no_new_privs (NoNewPrivileges= in a unit).
cp /usr/bin/id "$WORK/id-suid"
chmod 4755 "$WORK/id-suid"
expect_eq "mode=mount: a setuid-root program outside the home is live" 0 \
        "$(runuser -l -s /bin/sh web -c "$WORK/id-suid -u")"
expect_eq "mode=mount: not under no_new_privs" "$B" \
        "$(runuser -l -s /bin/sh web -c "setpriv --no-new-privs $WORK/id-suid -u")"

# Nothing of the module's is left in the session: the same environment
# and the same open files as a login of web without pam_dynid. Pipes are
# left out: make's job server hands some to the harness, and not always
# the same number (the module's own pipes are close-on-exec).
probe='env | sort; for f in /proc/$$/fd/*; do readlink "$f"; done | grep -v "^pipe:" | sort'
with=$(runuser -l -s /bin/sh web -c "$probe")
sed -i '/pam_dynid/d' /etc/pam.d/runuser-l
without=$(runuser -l -s /bin/sh web -c "$probe")
echo 'session required pam_dynid.so' >>/etc/pam.d/runuser-l
expect_eq "environment and descriptors as without pam_dynid" \
        "$without" "$with"

# The session was recorded and closed again by the same runuser.
expect_eq "no live session after logout" 0 "$(lease_field web sessions)"

# Users without a lease are untouched: no namespace, same mounts.
out=$(runuser -l -s /bin/sh nobody -c 'readlink /proc/self/ns/mnt')
expect_eq "nobody's session keeps the mount namespace" \
        "$(readlink /proc/self/ns/mnt)" "$out"

# The lease moves to another block: the same file, now owned by the new
# base, with nothing chowned. "squat1674" hashes to web's slot (FNV-1a 64
# modulo the 4094 slots of the default pool), so it takes web's old block.
before=$(stat -c '%i %u %Z' "$STORE/f")
"$D" remove --force web >/dev/null || fail "remove --force web"
"$D" add squat1674 >/dev/null || fail "add squat1674"
expect_eq "the squatter holds web's old block" "$B" \
        "$(getent passwd squat1674 | cut -d: -f3)"
"$D" add web >/dev/null || fail "add web again"
B2=$(getent passwd web | cut -d: -f3)
expect_eq "web moved to the next block" "$((B + 65536))" "$B2"
out=$(runuser -l -s /bin/sh web -c 'stat -c %u ~/f')
expect_eq "the file after the move is owned by the new base" "$B2" "$out"
expect_eq "storage untouched (inode, owner, ctime)" "$before" \
        "$(stat -c '%i %u %Z' "$STORE/f")"

# A home reached through a symlink (here to "/", so that the home of a
# service named "etc" would be /etc) is refused, by login and by run.
# (Not under $WORK: that is a mount right below the sticky /tmp, which the
# walk refuses before it meets the link.)
ln -s / "$STATE_DIR/lnk"
mkdir -p "${CONF_FILE%/*}"
printf '[service]\nhome = %s/lnk/%%n\n' "$STATE_DIR" >"$CONF_FILE"
"$D" add etc >/dev/null || fail "add etc"
mounts=$(cat /proc/self/mountinfo)
runuser -l -s /bin/sh etc -c true 2>/dev/null
expect_eq "login with a home through a symlink: exit status" 1 "$?"
"$D" run etc -- true 2>"$WORK/err"
expect_eq "run with a home through a symlink: exit status" 1 "$?"
expect_eq "run with a home through a symlink: message" \
        "dynidctl: run: cannot start the command: Too many levels of symbolic links" \
        "$(cat "$WORK/err")"
expect_eq "nothing mounted" "$mounts" "$(cat /proc/self/mountinfo)"
expect_eq "no live session" 0 "$(lease_field etc sessions)"

# A home that is not empty is not covered: with a template like "/%n", a
# service named "etc" would otherwise hide /etc behind its own files.
printf '[service]\nhome = /%%n\n' >"$CONF_FILE"
"$D" add etc >/dev/null || fail "add etc again"
runuser -l -s /bin/sh etc -c 'grep " /etc " /proc/self/mountinfo' 2>/dev/null
expect_eq "login with a non-empty home: exit status" 1 "$?"
"$D" run etc -- true 2>"$WORK/err"
expect_eq "run with a non-empty home: exit status" 127 "$?"
expect_eq "run with a non-empty home: message" \
        "dynidctl: run: /etc: Directory not empty" "$(cat "$WORK/err")"
expect_eq "nothing mounted over /etc" "$mounts" "$(cat /proc/self/mountinfo)"

# A home in a sticky directory that everyone may write: a name another
# user took first is refused (they could rename it away during the
# session and put a directory of their own in its place); one that the
# module creates is root's, which no one else may rename there.
mkdir -m 1777 "$STATE_DIR/shared"
printf '[service]\nhome = %s/shared/%%n\n' "$STATE_DIR" >"$CONF_FILE"
"$D" add tenant >/dev/null || fail "add tenant"
T=$(getent passwd tenant | cut -d: -f3)
expect_eq "tenant's home" "$STATE_DIR/shared/tenant" \
        "$(getent passwd tenant | cut -d: -f6)"
as_nobody mkdir "$STATE_DIR/shared/tenant" || fail "mkdir as nobody"
runuser -l -s /bin/sh tenant -c true 2>/dev/null
expect_eq "login with a home that nobody made in a sticky directory: exit status" \
        1 "$?"
"$D" run tenant -- true 2>"$WORK/err"
expect_eq "run with a home that nobody made in a sticky directory: message" \
        "dynidctl: run: cannot start the command: Operation not permitted" \
        "$(cat "$WORK/err")"
expect_eq "nothing mounted in the sticky directory" "$mounts" \
        "$(cat /proc/self/mountinfo)"
# Covered by a mount whose root is root's 0755 (as a FUSE daemon of the
# user's could claim): the directory under it is still the user's.
mount -t tmpfs -o mode=0755 tmpfs "$STATE_DIR/shared/tenant" ||
        fail "mount over nobody's directory"
covered=$(cat /proc/self/mountinfo)
runuser -l -s /bin/sh tenant -c true 2>/dev/null
expect_eq "login with a mount over nobody's directory in a sticky directory: exit status" \
        1 "$?"
expect_eq "nothing more mounted" "$covered" "$(cat /proc/self/mountinfo)"
umount "$STATE_DIR/shared/tenant" || fail "umount"
rmdir "$STATE_DIR/shared/tenant"
# (Numeric owners only inside a login: runuser -l drops the ASan preload
# that names would need in a sanitized build.)
out=$(runuser -l -s /bin/sh tenant -c 'id -u; stat -c %u ~')
expect_eq "login with a home the module makes in a sticky directory" \
        "$(printf '%s\n%s' "$T" "$T")" "$out"
expect_eq "the home it made is root's, 0755" "0 755" \
        "$(stat -c '%u %a' "$STATE_DIR/shared/tenant")"
rm -f "$CONF_FILE"
