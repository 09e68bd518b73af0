#!/bin/sh
# A service login through a real sshd (key authentication, UsePAM yes) on
# 127.0.0.1, mode=mount: the session runs as the lease's base in its own
# mount namespace with the idmapped home at pw_dir.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

D=$DYNIDCTL
SSHD=/usr/sbin/sshd
[ -x "$SSHD" ] || skip "needs $SSHD (openssh-server, scripts/deps)"
for c in ssh ssh-keygen timeout; do
        command -v "$c" >/dev/null || skip "needs $c"
done
getent passwd sshd >/dev/null || skip "no privilege separation user sshd"

# sshd wants /run/sshd. /run is the host's: overlay it like /etc, so that
# the directory, and what the PAM stack writes below /run (pam_motd), stay
# in this namespace. No login is refused for a nologin file either.
overlay /run
[ -d /run/sshd ] || mkdir -m 0755 /run/sshd || fail "cannot make /run/sshd"
rm -f /run/nologin /etc/nologin

# The service gets a real shell: the snapshot takes it at "add".
mkdir -p "${CONF_FILE%/*}"
printf '[service]\nshell = /bin/sh\n' >"$CONF_FILE"
echo 'session required pam_dynid.so' >>/etc/pam.d/sshd
"$D" add web >/dev/null || fail "add web"
B=$(getent passwd web | cut -d: -f3)
expect_eq "web's shell" /bin/sh "$(getent passwd web | cut -d: -f7)"
HOME_DIR=$STATE_DIR/home/web
FOREIGN=2147352576
last_used() {
        "$D" show web --json | sed -n 's/^ *"last_used": \([0-9]*\),*$/\1/p'
}

ssh-keygen -q -t ed25519 -N '' -C host -f "$WORK/host_key" ||
        fail "ssh-keygen (host key)"
ssh-keygen -q -t ed25519 -N '' -C client -f "$WORK/client_key" ||
        fail "ssh-keygen (client key)"
mkdir -p "$WORK/authorized_keys"
cp "$WORK/client_key.pub" "$WORK/authorized_keys/web"
chmod 0644 "$WORK/authorized_keys/web"

sshd_pid=
cleanup() {
        [ -n "$sshd_pid" ] || return 0
        # Connections first (the listener leaves them running), then sshd.
        kids=
        read -r kids 2>/dev/null <"/proc/$sshd_pid/task/$sshd_pid/children"
        for p in $kids; do
                kill -9 "$p" 2>/dev/null
        done
        kill "$sshd_pid" 2>/dev/null
        wait "$sshd_pid" 2>/dev/null
        sshd_pid=
}
trap cleanup EXIT

# A random port from 2222 up; one in use makes sshd exit, then the next.
try=0
while :; do
        try=$((try + 1))
        [ "$try" -le 5 ] || fail "sshd never started (last log: $WORK/sshd.log)"
        port=$((2222 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
        cat >"$WORK/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $WORK/host_key
PidFile $WORK/sshd.pid
AuthorizedKeysFile $WORK/authorized_keys/%u
StrictModes no
UsePAM yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
CONF
        "$SSHD" -t -f "$WORK/sshd_config" || fail "sshd rejects its config"
        "$SSHD" -D -e -f "$WORK/sshd_config" 2>"$WORK/sshd.log" &
        sshd_pid=$!
        n=0
        while kill -0 "$sshd_pid" 2>/dev/null &&
              ! grep -q "Server listening on 127.0.0.1 port $port" \
                "$WORK/sshd.log"; do
                n=$((n + 1))
                [ "$n" -le 50 ] || break
                sleep 0.1
        done
        grep -q "Server listening on 127.0.0.1 port $port" \
                "$WORK/sshd.log" && break
        cat "$WORK/sshd.log" >&2
        cleanup
done
echo "ok: sshd listens on 127.0.0.1 port $port"

on_web() {
        timeout 20 ssh -F /dev/null -i "$WORK/client_key" \
                -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
                -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
                -o LogLevel=ERROR -o ConnectTimeout=10 \
                -p "$port" web@127.0.0.1 "$@"
}

# shellcheck disable=SC2016
out=$(on_web 'id -u; echo $HOME; touch ~/viassh; stat -c %u ~/viassh; grep " $HOME " /proc/self/mountinfo; readlink /proc/self/ns/mnt')
rc=$?
[ "$rc" = 0 ] || cat "$WORK/sshd.log" >&2
expect_eq "ssh exit status" 0 "$rc"
expect_eq "uid in the session" "$B" "$(echo "$out" | sed -n 1p)"
expect_eq "HOME in the session" "$HOME_DIR" "$(echo "$out" | sed -n 2p)"
expect_eq "owner of a new file, seen inside" "$B" "$(echo "$out" | sed -n 3p)"
opts=$(echo "$out" | sed -n 4p | cut -d' ' -f6)
for o in idmapped nosuid nodev; do
        case ",$opts," in
        *",$o,"*) echo "ok: the home is mounted $o" ;;
        *) fail "the home's mount options '$opts' lack $o" ;;
        esac
done
mntns=$(echo "$out" | sed -n 5p)
if [ -z "$mntns" ] || [ "$mntns" = "$(readlink /proc/self/ns/mnt)" ]; then
        fail "the session's mount namespace '$mntns' is not its own"
fi
echo "ok: the session has its own mount namespace"
expect_eq "the raw file in storage" "$FOREIGN $FOREIGN" \
        "$(stat -c '%u %g' "$STATE_DIR/storage/web/viassh")"
expect_eq "the mount is not visible outside the session" "" \
        "$(grep " $HOME_DIR " /proc/self/mountinfo)"

# sshd's privileged process closes the session once the client is gone.
n=0
while [ "$("$D" show web --json |
           sed -n 's/^ *"sessions": \([0-9]*\),*$/\1/p')" != 0 ]; do
        n=$((n + 1))
        [ "$n" -le 50 ] || fail "the ssh session still counts"
        sleep 0.1
done
echo "ok: no live session after logout"
expect_eq "sshd accepted one key login" 1 \
        "$(grep -c 'Accepted publickey for web from 127.0.0.1' "$WORK/sshd.log")"

# The connection's processes end by themselves; then sshd is stopped.
n=0
while [ -n "$(cat "/proc/$sshd_pid/task/$sshd_pid/children" 2>/dev/null)" ]; do
        n=$((n + 1))
        [ "$n" -le 50 ] || fail "sshd's connection processes do not end"
        sleep 0.1
done
cleanup
echo "ok: sshd stopped"

# sshd closed the record itself: gc finds nothing to reap (reaping would
# move last_used).
used=$(last_used)
after_second "$used"
"$D" gc || fail "gc"
expect_eq "gc found no record left by sshd" "$used" "$(last_used)"
