# Shared by the test scripts: skipping, and the private sandbox that every
# root test runs in. Nothing here changes the host: inside a private mount
# namespace, /etc and glibc's library directory are overlaid and /var/lib
# is an empty tmpfs; all of it vanishes with the namespace.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"

# Under CI=true a skip is a failure (exit 1); elsewhere it is exit 77.
skip() {
        echo "SKIP: $*" >&2
        if [ "${CI:-}" = true ]; then
                echo "CI=true: a skipped test counts as a failure" >&2
                exit 1
        fi
        exit 77
}

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
        if [ "$2" != "$3" ]; then
                printf 'FAIL: %s\n  expected: %s\n  actual:   %s\n' \
                        "$1" "$2" "$3" >&2
                exit 1
        fi
        echo "ok: $1"
}

# The directory glibc loads NSS modules from.
glibc_nssdir() {
        for d in "/usr/lib/$(cc -print-multiarch 2>/dev/null)" /usr/lib64 \
                 /usr/lib; do
                if [ -e "$d/libnss_files.so.2" ]; then
                        echo "$d"
                        return
                fi
        done
        return 1
}

# Re-executes the calling script inside a private mount namespace with the
# sandbox set up; returns only inside it.
enter_sandbox() {
        if [ -n "${DYNID_SANDBOX:-}" ]; then
                setup_sandbox
                return
        fi
        [ "$(id -u)" = 0 ] || skip "needs root (a private mount namespace)"
        command -v unshare >/dev/null || skip "needs unshare(1)"
        DYNID_SANDBOX=$(mktemp -d /tmp/dynid-sandbox.XXXXXX) || exit 1
        export DYNID_SANDBOX
        unshare -m --propagation private "${SHELL_FOR_TESTS:-/bin/sh}" \
                "$0" "$@"
        rc=$?
        rmdir "$DYNID_SANDBOX" 2>/dev/null
        exit "$rc"
}

overlay() {
        mkdir -p "$DYNID_SANDBOX/u$1" "$DYNID_SANDBOX/w$1"
        mount -t overlay overlay \
                -o "lowerdir=$1,upperdir=$DYNID_SANDBOX/u$1,workdir=$DYNID_SANDBOX/w$1" \
                "$1" || fail "cannot overlay $1"
}

setup_sandbox() {
        nssdir=$(glibc_nssdir) || fail "cannot find glibc's NSS directory"
        mount -t tmpfs -o mode=0755 tmpfs "$DYNID_SANDBOX" ||
                fail "cannot mount a tmpfs on $DYNID_SANDBOX"
        overlay /etc
        overlay "$nssdir"

        # The compiled-in state directory: /var/lib/dynid, or below the
        # prefix of a staged build (make distcheck). Its parent becomes an
        # empty tmpfs: a filesystem that idmapped mounts work on, which an
        # overlay is not.
        STATE_DIR=${LOCALSTATEDIR:-/var}/lib/dynid
        mkdir -p "${STATE_DIR%/dynid}"
        mount -t tmpfs -o mode=0755 tmpfs "${STATE_DIR%/dynid}" ||
                fail "cannot mount a tmpfs on ${STATE_DIR%/dynid}"
        # The compiled-in configuration, empty: /etc/dynid is in the /etc
        # overlay; a staged build's gets a tmpfs of its own.
        CONF_FILE=${SYSCONFDIR:-/etc}/dynid/dynid.conf
        rm -rf /etc/dynid
        if [ "$CONF_FILE" != /etc/dynid/dynid.conf ]; then
                mkdir -p "${CONF_FILE%/*}"
                mount -t tmpfs -o mode=0755 tmpfs "${CONF_FILE%/*}" ||
                        fail "cannot mount a tmpfs on ${CONF_FILE%/*}"
        fi
        install -m 0644 "$top_builddir/.libs/libnss_dynid.so.2" "$nssdir/" ||
                fail "the NSS module is not built"
        install -D -m 0644 "$top_builddir/.libs/pam_dynid.so" \
                "$nssdir/security/pam_dynid.so" ||
                fail "the PAM module is not built"
        sed -i -E 's/^(passwd|group):.*/& dynid/' /etc/nsswitch.conf
        grep -q '^passwd:.* dynid$' /etc/nsswitch.conf ||
                echo 'passwd: files dynid' >>/etc/nsswitch.conf
        grep -q '^group:.* dynid$' /etc/nsswitch.conf ||
                echo 'group: files dynid' >>/etc/nsswitch.conf

        if [ -n "${ASAN_PRELOAD:-}" ]; then
                # Our module is built with ASan; the programs that load it
                # (getent, id, ls) are not, so the runtime comes first.
                LD_PRELOAD=$ASAN_PRELOAD
                ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
                export LD_PRELOAD ASAN_OPTIONS
        fi

        DYNIDCTL="$top_builddir/dynidctl"
        WORK=$DYNID_SANDBOX/work
        mkdir -p "$WORK"
}

# procps' ps deadlocks in textdomain() when libasan is preloaded (glibc
# 2.36, gcc 12), whatever it loads. Without the preload it still loads our
# ASan-built module, late, which verify_asan_link_order=0 allows.
ps() {
        LD_PRELOAD= command ps "$@"
}

# Runs a command as nobody, with no supplementary groups.
as_nobody() {
        [ "$1" = ps ] && set -- env LD_PRELOAD= "$@"
        setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
}

# run CMD...: stores the exit status in $rc, stdout and stderr in $out and
# $err (without the final newline).
run() {
        "$@" >"$WORK/out" 2>"$WORK/err"
        rc=$?
        out=$(cat "$WORK/out")
        err=$(cat "$WORK/err")
}

# json_num KEY: a numeric field of pretty-printed JSON on standard input.
json_num() {
        sed -n "s/^ *\"$1\": \\([0-9][0-9]*\\),\\{0,1\\}\$/\\1/p"
}

# lease_field NAME KEY: a numeric field of "dynidctl show NAME --json".
lease_field() {
        "$DYNIDCTL" show "$1" --json | json_num "$2"
}

# after_second T: waits until the clock has passed second T, so that a
# write of last_used after this is seen as a change. time(), which the
# writers use, reads the kernel's coarse clock and may trail date(1) by one
# tick (at most 10 ms): the last sleep covers that tick.
after_second() {
        n=0
        while [ "$(date +%s)" -le "$1" ]; do
                n=$((n + 1))
                [ "$n" -le 30 ] || fail "the clock does not move"
                sleep 0.1
        done
        sleep 0.05
}

# expect_home_mount WHAT MOUNTINFO-LINE: the home's line of
# /proc/self/mountinfo, seen in a session, says idmapped, nosuid and nodev.
expect_home_mount() {
        opts=$(echo "$2" | cut -d' ' -f6)
        for o in idmapped nosuid nodev; do
                case ",$opts," in
                *",$o,"*) echo "ok: $1: the home is mounted $o" ;;
                *) fail "$1: the home's mount options '$opts' lack $o" ;;
                esac
        done
}

# The command a session test runs, and what its output must show.
SESSION_PROBE='id -u; echo $HOME; touch ~/f; stat -c %u ~/f; grep " $HOME " /proc/self/mountinfo'

# expect_session_home WHAT OUTPUT BASE NAME: OUTPUT of SESSION_PROBE in a
# session of service NAME shows uid BASE, its home idmapped, nosuid and
# nodev, a new file owned by BASE that is stored with the canonical owner,
# and the mount is not visible here.
expect_session_home() {
        home=$STATE_DIR/home/$4
        expect_eq "$1: uid" "$3" "$(echo "$2" | sed -n 1p)"
        expect_eq "$1: HOME" "$home" "$(echo "$2" | sed -n 2p)"
        expect_eq "$1: owner of a new file, seen inside" "$3" \
                "$(echo "$2" | sed -n 3p)"
        expect_home_mount "$1" "$(echo "$2" | sed -n 4p)"
        expect_eq "$1: the raw file in storage" "2147352576 2147352576" \
                "$(stat -c '%u %g' "$STATE_DIR/storage/$4/f")"
        expect_eq "$1: the mount is not visible outside the session" "" \
                "$(grep " $home " /proc/self/mountinfo)"
}
