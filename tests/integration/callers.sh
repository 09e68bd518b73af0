#!/bin/sh
# Callers that misbehave, from the module's side: closed standard
# descriptors, a setuid program run by an unprivileged user with a hostile
# environment, and a module that imports nothing to read the environment.
# (Threads, forks and enumeration during fork: tests/unit/test-nss; PAM
# callers with every signal blocked and SIGCHLD ignored, and long-lived
# launchers: tests/unit/test-pam-cycles.)
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

"$DYNIDCTL" add web >/dev/null || fail "add web"
B=$(getent passwd web | cut -d: -f3)
LINE="web:*:$B:$B:dynid service web:$STATE_DIR/home/web:/usr/sbin/nologin"
SNAP=$STATE_DIR/nss.mdb
cp "$SNAP" "$WORK/snap.copy"

# ---- closed standard descriptors ------------------------------------------------
# The snapshot may be opened as fd 0, 1 or 2; what the caller then writes
# there must not reach it (it is opened read-only).
expect_eq "getent with stderr closed" "$LINE" "$(getent passwd web 2>&-)"
expect_eq "getent with stdin and stderr closed" "$LINE" \
        "$(getent passwd web <&- 2>&-)"
getent passwd web nosuchname >&- 2>&-
expect_eq "getent with stdout and stderr closed: exit status" 2 "$?"
# id writes its error about the missing name to fd 2, which is then the
# snapshot or nss.gen if the module took it.
id nosuchname 2>&-
expect_eq "id of an unknown name with stderr closed: exit status" 1 "$?"
cmp -s "$SNAP" "$WORK/snap.copy" || fail "the snapshot changed"
expect_eq "nss.gen is 4096 bytes still" 4096 "$(stat -c %s "$STATE_DIR/nss.gen")"
echo "ok: nothing written reached the snapshot or nss.gen"

# ---- a setuid program, an unprivileged caller, a hostile environment -----------
# su runs with AT_SECURE and resolves the name through the module before
# it asks for a password; variables that a careless module might read
# change nothing.
run as_nobody env LOCALSTATEDIR=/tmp NSS_DYNID=/tmp/x DYNID_STATE=/tmp \
        HOME=/tmp TMPDIR=/nonexistent su web -c true </dev/null
expect_eq "su web as nobody: refused at the password, not the name" \
        "1 Password: su: Authentication failure" \
        "$rc $(echo "$out $err" | sed 's/^ *//')"
run as_nobody env LOCALSTATEDIR=/tmp su nosuchname -c true </dev/null
expect_eq "su of an unknown name as nobody" \
        "1 su: user nosuchname does not exist or the user entry does not contain all the required fields" \
        "$rc $err"

# ---- the module reads no environment ----------------------------------------------
# Not one function that reads the environment is imported, by the module
# or by LMDB (linked in, or liblmdb.so.0 where it could not be).
module=$nssdir/libnss_dynid.so.2
lmdb=$(ldd "$module" | awk '/liblmdb/ { print $3 }')
for lib in "$module" $lmdb; do
        expect_eq "$lib imports nothing that reads the environment" "" \
                "$(nm -D --undefined-only "$lib" |
                   grep -wE 'getenv|secure_getenv|__secure_getenv|environ|__environ')"
done

# ---- the module opens the snapshot and nss.gen, nothing else ---------------------
# Every file opened once the loader has looked for the module, but the
# shared libraries that the loader maps (the sanitizers' in an ASan build).
command -v strace >/dev/null || skip "needs strace (scripts/deps)"
for q in "passwd web" "passwd web+7" "passwd $((B + 7))" "group web" passwd \
         "passwd nosuchname"; do
        # shellcheck disable=SC2086
        strace -f -qq -e trace=open,openat,openat2 \
                -o "$WORK/trace" getent $q >/dev/null
        expect_eq "getent $q: files the module opens" \
                "$STATE_DIR/nss.gen $STATE_DIR/nss.mdb" \
                "$(sed -n '/libnss_dynid\.so\.2/,$p' "$WORK/trace" |
                   sed -n 's/^[0-9]* *open[a-z0-9]*([A-Z_]*, *"\([^"]*\)".*/\1/p' |
                   grep -vE '\.so(\.[0-9]+)*$' | sort -u | tr '\n' ' ' |
                   sed 's/ $//')"
        expect_eq "getent $q: the module opens with O_CLOEXEC" "" \
                "$(sed -n '/libnss_dynid\.so\.2/,$p' "$WORK/trace" |
                   grep -E 'nss\.(gen|mdb)"' | grep -v O_CLOEXEC)"
done

