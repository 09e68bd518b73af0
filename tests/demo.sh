#!/bin/sh
# What scripts/demo shows: services leased, then resolved by name and ID
# as root and as an unprivileged user. Runs in the private sandbox of
# tests/lib.sh, so the host's files are never touched.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"
set -e
PATH=$top_builddir:$PATH

bold= plain=
if [ -t 1 ]; then
        bold=$(printf '\033[1m') plain=$(printf '\033[0m')
fi

# Prints a command as typed at a root prompt, then runs it.
show() {
        line=
        for a in "$@"; do
                case $a in
                *[!A-Za-z0-9_./:=+-]* | "") a="'$a'" ;;
                esac
                line="$line${line:+ }$a"
        done
        printf '\n%s# %s%s\n' "$bold" "$line" "$plain"
        "$@"
}

echo "dynid demo: /etc and $nssdir are private overlays here, /var/lib a tmpfs;"
echo "nsswitch.conf has: $(grep '^passwd:' /etc/nsswitch.conf)"

show dynidctl add web db cache
show dynidctl list
web=$(dynidctl show web --json | sed -n 's/^ *"base": \([0-9]*\),*$/\1/p')

show getent passwd web
show getent passwd "$web"
show getent passwd "$((web + 7))"
show getent group web
show id web
printf '\n%s# getent passwd | grep dynid%s\n' "$bold" "$plain"
getent passwd | grep dynid

touch "$WORK/config" "$WORK/cache" "$WORK/upload"
chown "$web:$web" "$WORK/config"
chown "$((web + 7)):$((web + 7))" "$WORK/cache"
chown "$((web + 1000)):$web" "$WORK/upload"
show ls -l "$WORK"

echo
echo "As the unprivileged user nobody:"
show as_nobody getent passwd web "$((web + 7))"
show as_nobody getent group web
show as_nobody id web
show as_nobody ls -l "$WORK"

setpriv --reuid="$((web + 7))" --regid="$web" --clear-groups sleep 60 &
sleeper=$!
sleep 0.2
show ps -o user:12,group:12,pid,comm -p "$sleeper"
kill "$sleeper"

echo
echo "A service login through PAM (runuser-l ends with pam_dynid.so): the"
echo "session has its own mount namespace with the home idmapped at pw_dir."
echo 'session required pam_dynid.so' >>/etc/pam.d/runuser-l
show runuser -l -s /bin/sh web -c 'id; echo $HOME; echo hello >~/greeting; ls -l ~'

echo
echo "On disk the file keeps its canonical owner, the foreign range:"
show ls -ln "$STATE_DIR/storage/web"

echo
echo "Root inside: the service's own user namespace, inner 0 = $web:"
show dynidctl run web -- sh -c 'id; cat /proc/self/uid_map; ls -ln ~'

show dynidctl status
show dynidctl check
