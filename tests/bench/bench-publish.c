/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The publish step alone, run by tests/bench/run.sh: opens the store with
 * the configuration CONFIG and, RUNS times, under the writer's lock and in
 * a read transaction, builds the snapshot into a temporary file, fsyncs
 * it, renames it over nss.mdb, fsyncs the directory and increments
 * nss.gen: what a write adds to its own transaction. Prints MEDIAN MIN MAX
 * in microseconds.
 *
 *   bench-publish CONFIG RUNS
 */
#include "config.h"

#include "tests/bench/bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/file.h>

#include "store-internal.h"

int main(int argc, char **argv)
{
        struct dynid_store_opts opts = { 0 };
        struct dynid_err err = { "" };
        struct dynid_config cfg;
        struct dynid_store *s;
        double *t;
        long runs;
        int r;

        if (argc != 3 || (runs = strtol(argv[2], NULL, 10)) < 1) {
                fprintf(stderr, "usage: bench-publish CONFIG RUNS\n");
                return 2;
        }
        t = calloc(runs, sizeof(*t));
        r = t ? dynid_config_load(argv[1], true, &cfg, &err) : -ENOMEM;
        if (r >= 0)
                r = dynid_store_open(&cfg, &opts, &s, &err);
        if (r < 0) {
                fprintf(stderr, "bench-publish: %s\n",
                        err.msg[0] ? err.msg : strerror(-r));
                return 1;
        }
        for (long i = 0; i < runs; i++) {
                double start = bench_now_us(CLOCK_MONOTONIC);
                char *tmp = NULL;
                MDB_txn *txn;

                flock(s->db_fd, LOCK_EX);
                r = read_begin(s, &txn);
                if (r >= 0) {
                        r = snapshot_prepare(s, txn, &tmp);
                        mdb_txn_abort(txn);
                }
                if (r >= 0)
                        r = snapshot_commit(s, tmp);
                flock(s->db_fd, LOCK_UN);
                free(tmp);
                t[i] = bench_now_us(CLOCK_MONOTONIC) - start;
                if (r < 0) {
                        fprintf(stderr, "bench-publish: %s\n", strerror(-r));
                        return 1;
                }
        }
        qsort(t, runs, sizeof(*t), bench_cmp);
        printf("%.1f %.1f %.1f\n", t[runs / 2], t[0], t[runs - 1]);
        dynid_store_close(s);
        dynid_config_free(&cfg);
        free(t);
        return 0;
}
