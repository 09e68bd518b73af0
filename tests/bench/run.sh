#!/bin/sh
# make bench: every figure of BENCHMARKS.md, measured in one run in the
# private sandbox (tests/lib.sh), then written to $BENCH_OUT (default
# BENCHMARKS.md in the source tree).
#
# The pool uses blocks of 16384 IDs, so that 10,000 leases fit;
# nsswitch.conf says "files dynid" for passwd and group unless a figure
# says otherwise.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"
set -e

# As an installation on a host does: the module goes into the loader's
# cache (in the sandbox's /etc), and a first lookup opens it directly.
ldconfig

B=$top_builddir/tests/bench
MODULE=$top_builddir/.libs/libnss_dynid.so.2
D=$DYNIDCTL
OUT=${BENCH_OUT:-$top_srcdir/BENCHMARKS.md}
R=$WORK/results        # KEY MEDIAN MIN MAX, one figure per line
: >"$R"
VARLIB=${STATE_DIR%/dynid}

# The state lives on a fresh ext4 filesystem, in an image on the disk that
# holds the build tree: writes pay for fsync() as on a host, and no earlier
# run's deleted files slow down ext4's inode allocator (it passes over
# recently deleted inodes). Without loop devices, a plain directory on that
# disk does.
img=$top_builddir/bench-state.img
disk=$top_builddir/bench-state
cleanup() {
        rc=$?
        umount "$STATE_DIR" 2>/dev/null || :
        umount "$VARLIB" 2>/dev/null || :
        rm -rf "$img" "$disk"
        exit "$rc"
}
trap cleanup EXIT
BENCH_LOOP=
if command -v mkfs.ext4 >/dev/null && losetup -f >/dev/null 2>&1; then
        truncate -s 1G "$img"
        BENCH_LOOP=1
        FS_DESC="a fresh ext4 filesystem for each store (a loop-mounted image on the build tree's disk)"
else
        FS_DESC="a directory on the build tree's disk ($(stat -f -c %T "$top_builddir"))"
fi
printf '%s\n' '#!/bin/sh' 'set -e' \
        "umount '$VARLIB' 2>/dev/null || :" \
        "if [ -n '$BENCH_LOOP' ]; then" \
        "        mkfs.ext4 -q -F '$img'" \
        "        mount -o loop '$img' '$VARLIB'" \
        "else" \
        "        rm -rf '$disk'" \
        "        mkdir -m 0755 '$disk'" \
        "        mount --bind '$disk' '$VARLIB'" \
        "fi" >"$WORK/fresh-fs"
chmod +x "$WORK/fresh-fs"
fresh_fs() {
        "$WORK/fresh-fs"
}

mkdir -p "${CONF_FILE%/*}"
printf '[pool]\nblock_size = 16384\n' >"$CONF_FILE"
cp /etc/passwd "$WORK/passwd.orig"
cp /etc/nsswitch.conf "$WORK/nsswitch.orig"
nsswitch() {
        sed -E "s/^(passwd|group):.*/\1: $1/" "$WORK/nsswitch.orig" \
                >/etc/nsswitch.conf
}
nsswitch "files dynid"

# spawn KEY... -- [--setup CMD] RUNS CMD... [::: CMD...]: wall times of
# commands taking turns, in µs, one KEY per command; all on one CPU.
spawn() {
        keys=
        while [ "$1" != -- ]; do
                keys="$keys $1"
                shift
        done
        shift
        taskset -c 1 "$B/bench-spawn" "$@" >"$WORK/spawn"
        # shellcheck disable=SC2086
        set -- $keys
        while read -r med min max; do
                echo "$1 $med $min $max" >>"$R"
                shift
        done <"$WORK/spawn"
}

names() {
        seq -f "svc%g" 1 $(($1 - 1))
}

# ---- lookups at 100, 1,000 and 10,000 leases and files entries ----------

# Three stores side by side, mounted in turn over the state directory, and
# eleven passes over them, in one order and then the other, each lookup
# benchmark a process of its own: a slow spell of the machine falls on all
# of them alike. A figure's median is the median of the passes' medians;
# its spread, the lowest and highest round seen. A ratio is the median of
# the ratios within each pass. Each process runs on one CPU with address space layout
# randomisation off: with it on, the same process measures up to 1.6 times
# slower or faster from one start to the next, depending on where its
# libraries and the snapshot were mapped.
LOOKUP="setarch -R taskset -c 1"
fresh_fs
mkdir -p "$STATE_DIR"
for n in 100 1000 10000; do
        mkdir -m 0755 "$VARLIB/store$n"
        mount --bind "$VARLIB/store$n" "$STATE_DIR"
        # shellcheck disable=SC2046
        "$D" add web $(names "$n") >/dev/null
        umount "$STATE_DIR"
        seq 1 "$n" | awk '{ printf "file%d:x:%d:%d::/nonexistent:/usr/sbin/nologin\n", $1, 100000 + $1, 100000 + $1 }' >"$WORK/files$n"
done
for pass in 1 2 3 4 5 6 7 8 9 10 11; do
        order="100 1000 10000"
        [ $((pass % 2)) = 1 ] || order="10000 1000 100"
        for n in $order; do
                echo "bench: lookups at $n leases, pass $pass" >&2
                mount --bind "$VARLIB/store$n" "$STATE_DIR"
                base=$(getent passwd web | cut -d: -f3)
                $LOOKUP "$B/bench-lookup" -m "$MODULE" web "$base" |
                        sed "s/^/dynid$n./" >>"$WORK/passes"
                umount "$STATE_DIR"

                # files alone with as many entries, the last one looked up.
                cat "$WORK/passwd.orig" "$WORK/files$n" >/etc/passwd
                nsswitch files
                $LOOKUP "$B/bench-lookup" "file$n" $((100000 + n)) |
                        sed "s/^/files$n./" >>"$WORK/passes"
                cp "$WORK/passwd.orig" /etc/passwd
                nsswitch "files dynid"
        done
        # files alone, as shipped: the floor under any module after it.
        nsswitch files
        $LOOKUP "$B/bench-lookup" root 0 | sed "s/^/stock./" >>"$WORK/passes"
        nsswitch "files dynid"
done
awk '
{ n = ++cnt[$1]; m[$1, n] = $2
  if (!($1 in lo) || $3 < lo[$1]) lo[$1] = $3
  if (!($1 in hi) || $4 > hi[$1]) hi[$1] = $4 }
END { for (k in cnt) {
        for (i = 1; i <= cnt[k]; i++) v[i] = m[k, i]
        for (i = 1; i <= cnt[k]; i++)
                for (j = i + 1; j <= cnt[k]; j++)
                        if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        print k, v[int((cnt[k] + 1) / 2)], lo[k], hi[k] } }' \
        "$WORK/passes" >>"$R"
# ratio_root: a leased name at 10,000 leases against root, in one process;
# ratio_leases: the same name at 10,000 leases against 100, one pass apart.
awk '
{ m[$1, ++cnt[$1]] = $2 }
function median(key, a, b,   i, j, t, n, v) {
        n = cnt[a]
        for (i = 1; i <= n; i++) v[i] = m[a, i] / m[b, i]
        for (i = 1; i <= n; i++)
                for (j = i + 1; j <= n; j++)
                        if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        print key, v[int((n + 1) / 2)], v[1], v[n] }
END { median("ratio_root", "dynid10000.glibc_pwnam", "dynid10000.glibc_root")
      median("ratio_leases", "dynid10000.glibc_pwnam", "dynid100.glibc_pwnam") }' \
        "$WORK/passes" >>"$R"

# ---- at 10,000 leases: fresh processes, memory, writes ----------------------

mount --bind "$VARLIB/store10000" "$STATE_DIR"
echo "bench: fresh processes" >&2
# The floors: the same pair with "passwd: files floor", a module that
# loads no library, opens nothing and answers every name
# (tests/bench/nss-floor.c), and with "files floorlmdb", which only opens
# the snapshot with LMDB and gets the name (tests/bench/nss-floor-lmdb.c).
for f in floor floorlmdb; do
        install -m 0644 "$top_builddir/tests/bench/.libs/libnss_$f.so.2" \
                "$nssdir/"
done
ldconfig
# The three pairs in seven rounds of 43 runs, in turns and each round in
# another order, so that a slow spell of the machine does not fall on one
# pair only. A figure is the median of its rounds' medians.
for round in 1 2 3 4 5 6 7; do
        case $((round % 3)) in
        0) order="dynid floor floorlmdb" ;;
        1) order="floor floorlmdb dynid" ;;
        2) order="floorlmdb dynid floor" ;;
        esac
        for m in $order; do
                nsswitch "files $m"
                k=$m
                [ "$m" = dynid ] && k=getent
                spawn "round.${k}_leased" "round.${k}_root" -- 43 \
                        getent passwd web ::: getent passwd root
        done
done
awk '
$1 ~ /^round\./ { k = substr($1, 7); n = ++cnt[k]; m[k, n] = $2
        if (!(k in lo) || $3 < lo[k]) lo[k] = $3
        if (!(k in hi) || $4 > hi[k]) hi[k] = $4 }
END { for (k in cnt) {
        for (i = 1; i <= cnt[k]; i++) v[i] = m[k, i]
        for (i = 1; i <= cnt[k]; i++)
                for (j = i + 1; j <= cnt[k]; j++)
                        if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        print k, v[int((cnt[k] + 1) / 2)], lo[k], hi[k] } }' "$R" >"$WORK/rounds"
cat "$WORK/rounds" >>"$R"
nsswitch "files dynid"

echo "bench: memory" >&2
echo "rss_leased $("$B/bench-lookup" --rss web | cut -d' ' -f2)" >>"$R"
echo "rss_root $("$B/bench-lookup" --rss root | cut -d' ' -f2)" >>"$R"

echo "bench: writes" >&2
spawn add_one remove_one -- 21 "$D" add "one{}" ::: "$D" remove "one{}"
echo "publish $("$B/bench-publish" "$CONF_FILE" 21)" >>"$R"
umount "$STATE_DIR"

echo "bench: a batch of 10,000" >&2
# shellcheck disable=SC2046
spawn add_batch -- --setup "'$WORK/fresh-fs'" 5 "$D" add web $(names 10000)
# The same with Debian's own "files systemd": each name's conflict checks
# also ask systemd's module.
nsswitch "files systemd dynid"
# shellcheck disable=SC2046
spawn add_batch_systemd -- --setup "'$WORK/fresh-fs'" 5 "$D" add web \
        $(names 10000)
nsswitch "files dynid"

# ---- sessions ---------------------------------------------------------------

echo "bench: sessions" >&2
fresh_fs
"$D" add web >/dev/null
for m in plain mount userns; do
        {
                echo 'auth required pam_permit.so'
                echo 'account required pam_permit.so'
                echo 'session required pam_permit.so'
                case $m in
                mount) echo 'session required pam_dynid.so' ;;
                userns) echo 'session required pam_dynid.so mode=userns' ;;
                esac
        } >"/etc/pam.d/dynid-bench-$m"
done
spawn pam_plain pam_mount pam_userns unshare run -- 51 \
        pamtester dynid-bench-plain web open_session close_session ::: \
        pamtester dynid-bench-mount web open_session close_session ::: \
        pamtester dynid-bench-userns web open_session close_session ::: \
        unshare -m true ::: \
        "$D" run web -- true

# ---- BENCHMARKS.md ------------------------------------------------------------

cp "$R" "$top_builddir/bench-results.txt"

cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
libc=$(ldd --version | sed -n '1s/.* //p')
awk -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" -v kernel="$(uname -sr)" \
    -v cpu="$cpu" -v ncpu="$(nproc)" -v mem="$mem" -v libc="$libc" -v fs="$FS_DESC" \
    -v nlines="$(wc -l <"$WORK/passwd.orig")" \
    -f "$top_srcdir/tests/bench/report.awk" "$R" >"$WORK/BENCHMARKS.md"
cp "$WORK/BENCHMARKS.md" "$OUT"
echo "bench: wrote $OUT" >&2
cat "$OUT"
