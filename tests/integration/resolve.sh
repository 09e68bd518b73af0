#!/bin/sh
# Leases resolve through the real NSS stack (getent, id, ls, stat, ps), for
# root and for an unprivileged user alike; names that are not ours still
# resolve from files, and anything else is not found.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

# not_found WHO DB KEY: "getent DB KEY" exits 2 and prints nothing.
not_found() {
        run $1 getent "$2" "$3"
        expect_eq "$who getent $2 $3: exit status" 2 "$rc"
        expect_eq "$who getent $2 $3: output" "" "$out$err"
}

run "$DYNIDCTL" add web db
expect_eq "add web db: exit status" 0 "$rc"
B=$("$DYNIDCTL" show web --json | json_num base)
D=$("$DYNIDCTL" show db --json | json_num base)
[ -n "$B" ] && [ -n "$D" ] || fail "no base in 'dynidctl show --json'"
expect_eq "add web db: output" \
        "$(printf 'web  %s  65536\ndb   %s  65536' "$B" "$D")" "$out"
expect_eq "add web db: stderr" "" "$err"

B7=$((B + 7))
BL=$((B + 65535))
HOME_WEB=$STATE_DIR/home/web
PW_WEB="web:*:$B:$B:dynid service web:$HOME_WEB:/usr/sbin/nologin"
PW_WEB7="web+7:*:$B7:$B7:dynid service web:/:/usr/sbin/nologin"
PW_WEBL="web+65535:*:$BL:$BL:dynid service web:/:/usr/sbin/nologin"
PW_DB="db:*:$D:$D:dynid service db:$STATE_DIR/home/db:/usr/sbin/nologin"
PW_ROOT=$(awk -F: '$1 == "root"' /etc/passwd)
GR_ROOT=$(awk -F: '$1 == "root"' /etc/group)
[ -n "$PW_ROOT" ] && [ -n "$GR_ROOT" ] || fail "no root in /etc/passwd, /etc/group"

# The IDs next to the block belong to nobody here (db is elsewhere).
[ $((B + 65536)) -ne "$D" ] && [ $((B - 65536)) -ne "$D" ] ||
        fail "db sits next to web; pick other names"

# The same answers for root and for nobody: the snapshot is world-readable
# and the module needs nothing else.
for who in root nobody; do
        as=
        [ "$who" = nobody ] && as=as_nobody

        run $as getent passwd web
        expect_eq "$who getent passwd web" "$PW_WEB" "$out"
        run $as getent passwd "$B"
        expect_eq "$who getent passwd B" "$PW_WEB" "$out"
        run $as getent passwd "$B7"
        expect_eq "$who getent passwd B+7" "$PW_WEB7" "$out"
        run $as getent passwd web+7
        expect_eq "$who getent passwd web+7" "$PW_WEB7" "$out"
        run $as getent passwd "$BL"
        expect_eq "$who getent passwd B+65535" "$PW_WEBL" "$out"
        run $as getent passwd web+65535
        expect_eq "$who getent passwd web+65535" "$PW_WEBL" "$out"
        run $as getent passwd db
        expect_eq "$who getent passwd db" "$PW_DB" "$out"

        run $as getent group web
        expect_eq "$who getent group web" "web:*:$B:" "$out"
        run $as getent group "$B"
        expect_eq "$who getent group B" "web:*:$B:" "$out"
        run $as getent group "$B7"
        expect_eq "$who getent group B+7" "web+7:*:$B7:" "$out"
        run $as getent group web+7
        expect_eq "$who getent group web+7" "web+7:*:$B7:" "$out"

        run $as id web
        expect_eq "$who id web" "uid=$B(web) gid=$B(web) groups=$B(web)" \
                "$out"
        run $as id web+7
        expect_eq "$who id web+7" \
                "uid=$B7(web+7) gid=$B7(web+7) groups=$B7(web+7)" "$out"

        # Each lease once, by its service name; derived names never.
        run $as getent passwd
        expect_eq "$who getent passwd: exit status" 0 "$rc"
        expect_eq "$who getent passwd: leases" 2 \
                "$(printf '%s\n' "$out" | grep -c 'dynid service')"
        expect_eq "$who getent passwd: web" "$PW_WEB" \
                "$(printf '%s\n' "$out" | grep '^web[:+~]')"
        expect_eq "$who getent passwd: db" "$PW_DB" \
                "$(printf '%s\n' "$out" | grep '^db[:+~]')"
        run $as getent group
        expect_eq "$who getent group: exit status" 0 "$rc"
        expect_eq "$who getent group: web" "web:*:$B:" \
                "$(printf '%s\n' "$out" | grep '^web[:+~]')"
        expect_eq "$who getent group: db" "db:*:$D:" \
                "$(printf '%s\n' "$out" | grep '^db[:+~]')"

        # Not ours, or not a canonical spelling: not found, silently.
        for key in nosuch WEB web+0 web+07 web+65536 "web~$B7" web+ web++7 \
                   "$((B - 1))" "$((B + 65536))"; do
                not_found "$as" passwd "$key"
        done
        for key in nosuch web+0 web+65536 "$((B + 65536))"; do
                not_found "$as" group "$key"
        done

        # Other sources still answer for their own names.
        run $as getent passwd root
        expect_eq "$who getent passwd root" "$PW_ROOT" "$out"
        run $as getent passwd 0
        expect_eq "$who getent passwd 0" "$PW_ROOT" "$out"
        run $as getent group root
        expect_eq "$who getent group root" "$GR_ROOT" "$out"
done

# File ownership shown by name.
f=$WORK/owned
: >"$f" && chown "$B7:$B7" "$f" && chmod 0644 "$f" || fail "cannot chown $f"
for who in root nobody; do
        as=
        [ "$who" = nobody ] && as=as_nobody
        expect_eq "$who stat -c %U:%G" "web+7:web+7" \
                "$($as stat -c %U:%G "$f")"
        expect_eq "$who stat -c %u:%g" "$B7:$B7" "$($as stat -c %u:%g "$f")"
        expect_eq "$who ls -l owner and group" "web+7 web+7" \
                "$($as ls -l "$f" | awk '{ print $3, $4 }')"
        expect_eq "$who ls -ln owner and group" "$B7 $B7" \
                "$($as ls -ln "$f" | awk '{ print $3, $4 }')"
done
chown "$B:$B" "$f" || fail "cannot chown $f"
expect_eq "ls -l of a file owned by B" "web web" \
        "$(ls -l "$f" | awk '{ print $3, $4 }')"

# Processes shown by name: one running as B, one as B+7.
pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null; done' EXIT
start_as() {
        setpriv --reuid="$1" --regid="$1" --clear-groups sleep 60 &
        pid=$!
        pids="$pids $pid"
        i=0
        # setpriv changes its IDs before it executes sleep.
        while [ "$(ps -o uid= -p "$pid" | tr -d ' ')" != "$1" ]; do
                i=$((i + 1))
                [ "$i" -lt 100 ] || fail "setpriv did not become uid $1"
                sleep 0.05
        done
}
start_as "$B"
pid_b=$pid
start_as "$B7"
pid_b7=$pid
for who in root nobody; do
        as=
        [ "$who" = nobody ] && as=as_nobody
        expect_eq "$who ps user of B" web \
                "$($as ps -o user:32= -p "$pid_b" | tr -d ' ')"
        expect_eq "$who ps group of B" web \
                "$($as ps -o group:32= -p "$pid_b" | tr -d ' ')"
        expect_eq "$who ps user of B+7" web+7 \
                "$($as ps -o user:32= -p "$pid_b7" | tr -d ' ')"
        expect_eq "$who ps user= (8 columns) of B+7" web+7 \
                "$($as ps -o user= -p "$pid_b7" | tr -d ' ')"
done

exit 0
