# Renders the figures of tests/bench/run.sh (KEY MEDIAN MIN MAX per line)
# as BENCHMARKS.md. Variables: date, kernel, cpu, ncpu, mem, libc, fs,
# nlines (lines of the stock /etc/passwd).
function v(k) { if (!(k in med)) { print "missing figure " k >"/dev/stderr"; bad = 1 } return med[k] }
function ns(k) { return sprintf("%.0f ns", v(k)) }
function us(k) { return sprintf("%.1f µs", v(k) / 1000) }
function spread_ns(k) { return sprintf("%.0f–%.0f", lo[k], hi[k]) }
function spread_us(k) { return sprintf("%.1f–%.1f", lo[k] / 1000, hi[k] / 1000) }
function ms(k) { return sprintf("%.2f ms", v(k) / 1000) }
function spread_ms(k) { return sprintf("%.2f–%.2f", lo[k] / 1000, hi[k] / 1000) }
function verdict(x, limit) { return x <= limit ? "met" : "**not met**" }
# unexplained(WHAT, X, LIMIT, FMT): notes a target missed with no floor below it.
function unexplained(what, x, limit, fmt) {
        if (x > limit)
                missed = missed sprintf("\n- %s: " fmt " against " fmt ".", what, x, limit)
}
{ med[$1] = $2; lo[$1] = $3; hi[$1] = $4 }
END {
        print "# Benchmarks"
        print ""
        print "Written by `make bench` (tests/bench/run.sh); every figure below comes"
        print "from that one run. Medians, with the lowest and highest run."
        print ""
        printf "- date: %s\n", date
        printf "- machine: %s, %d CPUs, %s\n", cpu, ncpu, mem
        printf "- kernel: %s; glibc %s\n", kernel, libc
        printf "- state directory: %s, so that writes pay for fsync as on a host\n", fs
        print "- pool blocks of 16384 IDs, so that 10,000 leases fit"
        print "- files with N entries: the stock /etc/passwd of the sandbox, then N entries"
        print "- nsswitch.conf: `passwd: files dynid`, `group: files dynid`, unless a row says otherwise"
        print ""
        print "## Targets (10,000 leases)"
        print ""
        print "| figure | measured | target | |"
        print "|---|---|---|---|"
        x = v("dynid10000.direct_pwnam")
        printf "| direct `_nss_dynid_getpwnam_r` | %.0f ns | ≤ 300 ns | %s |\n", x, verdict(x, 300)
        x = v("ratio_root")
        printf "| glibc `getpwnam_r` of a leased name against `root` through files | %.2f× | ≤ 1.1× | %s |\n", x, verdict(x, 1.1)
        x = v("ratio_leases")
        printf "| the same at 10,000 leases against 100 leases | %.3f× | ≤ 1.05× | %s |\n", x, verdict(x, 1.05)
        x = v("getent_leased") / v("getent_root")
        printf "| fresh `getent passwd <leased>` against `getent passwd root` | %.3f× | ≤ 1.1× | %s |\n", x, verdict(x, 1.1)
        fl = v("stock.glibc_miss") / v("stock.glibc_root")
        fr = v("getent_leased") / v("getent_root")
        ff = v("floor_leased") / v("floor_root")
        fdb = v("floorlmdb_leased") / v("floorlmdb_root")
        missed = ""
        unexplained("direct `_nss_dynid_getpwnam_r`", v("dynid10000.direct_pwnam"), 300, "%.0f ns")
        if (fl <= 1.1) unexplained("glibc `getpwnam_r` against `root`", v("ratio_root"), 1.1, "%.2f×")
        unexplained("10,000 leases against 100", v("ratio_leases"), 1.05, "%.3f×")
        if (fdb <= 1.1) unexplained("fresh `getent passwd`", fr, 1.1, "%.3f×")
        unexplained("`dynidctl add` of one name", v("add_one") / 1000, 20, "%.2f ms")
        unexplained("`dynidctl add` of 10,000 names", v("add_batch") / 1e6, 1, "%.3f s")
        unexplained("pam_dynid `mode=mount` overhead", (v("pam_mount") - v("pam_plain")) / 1000, 5, "%.2f ms")
        x = v("add_one") / 1000
        printf "| `dynidctl add` of one name at 10,000 leases, publish included | %.2f ms | ≤ 20 ms | %s |\n", x, verdict(x, 20)
        x = v("add_batch") / 1e6
        printf "| `dynidctl add` of 10,000 names in one call | %.3f s | ≤ 1 s | %s |\n", x, verdict(x, 1)
        x = (v("pam_mount") - v("pam_plain")) / 1000
        printf "| session open+close overhead of pam_dynid, `mode=mount` | %.2f ms | ≤ 5 ms | %s |\n", x, verdict(x, 5)
        print ""
        if (missed != "") {
                print "Not met in this run, with no floor measured below them: shortcomings of dynid, not of the machine." missed
                print ""
        }
        if (fl > 1.1) printf "The glibc ratio has a floor above 1.1×: with `passwd: files dynid`, glibc asks dynid only after files has read all of /etc/passwd without finding the name, so a leased name cannot cost less than a miss in files, and on this machine a miss in files alone (`passwd: files`, the stock %d-line /etc/passwd) costs %.2f× `root`, the first line, before dynid is even asked. See the last paragraph of the next section.\n", nlines, fl
        print ""
        above = (v("getent_leased") - v("getent_root")) - (v("floorlmdb_leased") - v("floorlmdb_root"))
        if (above >= 0)
                rest = sprintf("the %.0f µs above the second floor are mapping `nss.gen`, the trust checks on both files, and decoding and copying the record.", above)
        else
                rest = sprintf("%.0f µs less than the second floor, which is within the spread of these runs: dynid does little more than the floor does.", -above)
        printf "What a fresh process pays. glibc loads a module after files only when files has not found the name, so `getent passwd root` never loads one. Two floors, each measured like dynid as `getent passwd web` against `getent passwd root` in a group of its own: with `passwd: files floor`, where libnss_floor.so.2 (tests/bench/nss-floor.c) loads no library, opens nothing and answers every name with a fixed entry, %.3f× (%.0f µs more): what loading any module costs; with `passwd: files floorlmdb`, where libnss_floorlmdb.so.2 (tests/bench/nss-floor-lmdb.c), linked like dynid's module, only opens the snapshot with LMDB and gets the name with one `mdb_get()`, %.3f× (%.0f µs more): what reading dynid's snapshot, an LMDB file (dynid(7)), costs at the least. dynid costs %.3f× (%.0f µs more); %s%s See \"Whole commands\".\n", ff, v("floor_leased") - v("floor_root"), fdb, v("floorlmdb_leased") - v("floorlmdb_root"), fr, v("getent_leased") - v("getent_root"), rest, (fdb > 1.1 ? " The second floor lies above the 1.1× target: no module that reads an LMDB snapshot meets it on this kernel and glibc." : "")
        print ""
        d = v("dynid10000.direct_pwnam") - v("dynid100.direct_pwnam")
        printf "What the number of leases changes is the module's own call: %s at 100 leases, %s at 10,000, a difference of %.0f ns: added to the glibc lookup at 100 leases (%s), %.3f× it. The ratios in the table are medians of the ratios within each pass; at 10,000 against 100 leases they spread from %.3f to %.3f, as glibc lookups spread from %.0f to %.0f ns at 100 leases and from %.0f to %.0f ns at 10,000 on this machine.\n", ns("dynid100.direct_pwnam"), ns("dynid10000.direct_pwnam"), d, ns("dynid100.glibc_pwnam"), (v("dynid100.glibc_pwnam") + d) / v("dynid100.glibc_pwnam"), lo["ratio_leases"], hi["ratio_leases"], lo["dynid100.glibc_pwnam"], hi["dynid100.glibc_pwnam"], lo["dynid10000.glibc_pwnam"], hi["dynid10000.glibc_pwnam"]
        print ""
        print "## Lookups in a running process"
        print ""
        print "Nanoseconds of CPU time per call. Each benchmark process runs 5 rounds"
        print "of about 0.03 s, on one CPU, with address space layout randomisation off"
        print "(with it on, one process measures up to 1.6 times faster or slower than"
        print "the next); eleven passes over the three stores take turns. Medians of the"
        print "medians of the passes, with the fastest and slowest round seen. dynid"
        print "looks up `web`, leased first; files alone looks up the last of its"
        print "entries. A \"miss\" is a name that no source has."
        print ""
        print "| | 100 | 1,000 | 10,000 | spread at 10,000 |"
        print "|---|---|---|---|---|"
        split("direct_pwnam direct_pwuid glibc_pwnam glibc_pwuid glibc_root glibc_miss", keys, " ")
        split("dynid: `_nss_dynid_getpwnam_r` direct|dynid: `_nss_dynid_getpwuid_r` direct|dynid: glibc `getpwnam_r` (files dynid)|dynid: glibc `getpwuid_r` (files dynid)|`root` through files (glibc floor)|glibc `getpwnam_r` miss (files dynid)", labels, "|")
        for (i = 1; i <= 6; i++)
                printf "| %s | %s | %s | %s | %s |\n", labels[i], ns("dynid100." keys[i]), ns("dynid1000." keys[i]), ns("dynid10000." keys[i]), spread_ns("dynid10000." keys[i])
        split("glibc_pwnam glibc_pwuid glibc_miss", fkeys, " ")
        split("files alone: glibc `getpwnam_r`, last entry|files alone: glibc `getpwuid_r`, last entry|files alone: glibc `getpwnam_r` miss", flabels, "|")
        for (i = 1; i <= 3; i++)
                printf "| %s | %s | %s | %s | %s |\n", flabels[i], us("files100." fkeys[i]), us("files1000." fkeys[i]), us("files10000." fkeys[i]), spread_us("files10000." fkeys[i])
        print ""
        printf "Where the floor lies: with the stock %d-line /etc/passwd and `passwd: files` alone, `getpwnam_r(\"root\")` (the first line) costs %s and a miss %s, %.2f× root. A leased name at 10,000 leases through `files dynid` costs %s, %.2f× that miss.\n", nlines, ns("stock.glibc_root"), ns("stock.glibc_miss"), v("stock.glibc_miss") / v("stock.glibc_root"), ns("dynid10000.glibc_pwnam"), v("dynid10000.glibc_pwnam") / v("stock.glibc_miss")
        print ""
        print "## Whole commands (10,000 leases)"
        print ""
        print "Wall time from fork() to the end of waitpid(), on one CPU; the commands"
        print "of a group take turns, run after run. Median of the runs. The six"
        print "`getent` rows run in seven rounds of 43 runs, the three pairs in turn"
        print "and in another order each round: the median of the rounds' medians."
        print ""
        print "| command | runs | median | spread |"
        print "|---|---|---|---|"
        printf "| `getent passwd web` (leased) | 301 | %s | %s |\n", ms("getent_leased"), spread_ms("getent_leased")
        printf "| `getent passwd root` | 301 | %s | %s |\n", ms("getent_root"), spread_ms("getent_root")
        printf "| `getent passwd web` with `passwd: files floor` | 301 | %s | %s |\n", ms("floor_leased"), spread_ms("floor_leased")
        printf "| `getent passwd root` with `passwd: files floor` | 301 | %s | %s |\n", ms("floor_root"), spread_ms("floor_root")
        printf "| `getent passwd web` with `passwd: files floorlmdb` | 301 | %s | %s |\n", ms("floorlmdb_leased"), spread_ms("floorlmdb_leased")
        printf "| `getent passwd root` with `passwd: files floorlmdb` | 301 | %s | %s |\n", ms("floorlmdb_root"), spread_ms("floorlmdb_root")
        printf "| `dynidctl add NAME` (one new name) | 21 | %s | %s |\n", ms("add_one"), spread_ms("add_one")
        printf "| `dynidctl remove NAME` | 21 | %s | %s |\n", ms("remove_one"), spread_ms("remove_one")
        printf "| the publish step alone (build, fsync, rename, `nss.gen`) | 21 | %s | %s |\n", ms("publish"), spread_ms("publish")
        printf "| `dynidctl add` of 10,000 names into an empty store | 5 | %s | %s |\n", ms("add_batch"), spread_ms("add_batch")
        printf "| the same with `passwd: files systemd dynid` | 5 | %s | %s |\n", ms("add_batch_systemd"), spread_ms("add_batch_systemd")
        print ""
        print "## Sessions (one lease)"
        print ""
        print "| command | runs | median | spread |"
        print "|---|---|---|---|"
        printf "| `pamtester` open+close, stack without pam_dynid | 51 | %s | %s |\n", ms("pam_plain"), spread_ms("pam_plain")
        printf "| `pamtester` open+close, pam_dynid `mode=mount` | 51 | %s | %s |\n", ms("pam_mount"), spread_ms("pam_mount")
        printf "| `pamtester` open+close, pam_dynid `mode=userns` | 51 | %s | %s |\n", ms("pam_userns"), spread_ms("pam_userns")
        printf "| `unshare -m true` | 51 | %s | %s |\n", ms("unshare"), spread_ms("unshare")
        printf "| `dynidctl run web -- true` | 51 | %s | %s |\n", ms("run"), spread_ms("run")
        print ""
        print "## Memory"
        print ""
        printf "One `getpwnam_r` in a fresh process adds %d KiB to its resident set for a leased name (loading the module and mapping the snapshot included), and %d KiB for `root` through files.\n", v("rss_leased"), v("rss_root")
        if (bad) exit 1
}
