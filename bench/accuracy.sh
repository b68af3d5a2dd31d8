#!/usr/bin/env bash
# bench/accuracy.sh: how often perfguard's regression gate fails a build
# for nothing (A/A: the same code twice), and how often it catches a real
# slowdown (power), over repeated rounds of the workflow docs/ci.md gives.
#
#   bash bench/accuracy.sh                       all conditions, 100 rounds each
#   ROUNDS=20 NS="30" CONDITIONS="aa slow2" bash bench/accuracy.sh
#   REV=HEAD bash bench/accuracy.sh              perfguard as committed
#
# Run as root on Debian 12 from anywhere; builds perfguard in a copy of this
# tree (bench/lib.sh, bench_build), which one throwaway cluster loads by its
# path; the cluster runs as postgres on a unix socket in a temporary
# directory.
#
# One round, for a condition and a number of calls N:
#   reset the statistics; run the workload: each of its five statements N
#   times, interleaved; perfguard.baseline_capture('acc');
#   reset; run the workload again, changed as the condition says;
#   perfguard.regressions('acc') (its defaults) -- the gate fails when it
#   returns a row, as perfguard.assert_no_violations('acc') would.
# Conditions:
#   aa       nothing changes (every failure is a false alarm)
#   aa-hog   nothing changes, but a CPU hog busies one of the two cores
#            during the second run (a noisy CI runner)
#   slow2    the fourth statement (a 4 ms wait) takes twice as long
#   slow15   ... 1.5 times as long
# The workload, from 0.02 ms to about 15 ms a call: a lookup by key, a
# range sum, a sequential count, a 4 ms wait, a CPU-bound aggregate.
#
# Prints markdown on stdout: per condition and N, the rounds, how many the
# gate failed (with a 95% Wilson interval), how many of those failures are
# latency kinds, and for the slow conditions how often the changed
# statement was among the regressions.  Progress on stderr.  KEEP=1 keeps
# the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ROUNDS=${ROUNDS:-100}
NS=${NS:-30 50 100}
CONDITIONS=${CONDITIONS:-aa aa-hog slow2 slow15}

bash test/install-deps.sh >/dev/null

work=$(mktemp -d /tmp/perfguard-accuracy.XXXXXX)
chown postgres:postgres "$work"
hog=
cleanup() {
    [ -z "$hog" ] || kill "$hog" 2>/dev/null || true
    as_pg "$PG_BINDIR/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
    [ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

echo "== building perfguard" >&2
bench_build "$work" >&2
port=$(free_port)
as_pg "$PG_BINDIR/initdb" -D "$work/data" -A trust >/dev/null
cat >>"$work/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$work'
port = $port
shared_preload_libraries = '$PFG_LIB'
perfguard.track = top
max_parallel_workers_per_gather = 0
EOF
as_pg "$PG_BINDIR/pg_ctl" -D "$work/data" -l "$work/server.log" -w start >/dev/null

psql_() { as_pg "$PG_BINDIR/psql" -X -q -h "$work" -p "$port" -d postgres -v ON_ERROR_STOP=1 "$@"; }

psql_ <<'EOF' >/dev/null
CREATE EXTENSION perfguard;
CREATE TABLE acc (id int PRIMARY KEY, v int);
INSERT INTO acc SELECT g, g % 1000 FROM generate_series(1, 100000) g;
VACUUM ANALYZE acc;
EOF

# workload N WAIT_MS: the five statements N times each, interleaved
workload() {
    local n=$1 wait=$2 i k
    {
        for ((i = 1; i <= n; i++)); do
            k=$(( (i * 7919) % 99000 + 1 ))
            echo "SELECT v FROM acc WHERE id = $k;"
            echo "SELECT sum(v) FROM acc WHERE id BETWEEN $k AND $((k + 1000));"
            echo "SELECT count(*) FROM acc WHERE v % 7 = 3;"
            echo "SELECT pg_sleep($wait / 1000.0);"
            echo "SELECT md5(string_agg(md5(g::text), '')) FROM generate_series(1, 20000) g;"
        done
    } >"$work/workload.sql"
    psql_ -f "$work/workload.sql" >/dev/null
}

# wilson K N: a 95% Wilson interval of K successes in N, in percent
wilson() {
    awk -v k="$1" -v n="$2" 'BEGIN {
        z = 1.959964; p = k / n; d = 1 + z * z / n;
        c = (p + z * z / (2 * n)) / d; h = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d;
        lo = c - h; if (lo < 0) lo = 0; hi = c + h; if (hi > 1) hi = 1;
        printf "%.1f%% (%.1f–%.1f%%)", 100 * p, 100 * lo, 100 * hi }'
}

echo "| condition | N | rounds | gate failed | of which latency kinds | changed statement caught |"
echo "|---|---:|---:|---:|---:|---:|"
for cond in $CONDITIONS; do
    for n in $NS; do
        failed=0
        latency=0
        caught=0
        for ((r = 1; r <= ROUNDS; r++)); do
            printf '%s N=%s round %s/%s\r' "$cond" "$n" "$r" "$ROUNDS" >&2
            psql_ -c "SELECT perfguard.reset()" -c "SELECT perfguard.baseline_drop('acc', missing_ok => true)" >/dev/null
            workload "$n" 4
            psql_ -c "SELECT perfguard.baseline_capture('acc')" >/dev/null
            psql_ -c "SELECT perfguard.reset()" >/dev/null
            wait=4
            case $cond in
                slow2) wait=8 ;;
                slow15) wait=6 ;;
                aa-hog)
                    taskset -c 1 bash -c 'while :; do :; done' &
                    hog=$! ;;
            esac
            workload "$n" "$wait"
            if [ -n "$hog" ]; then
                kill "$hog" 2>/dev/null || true
                wait "$hog" 2>/dev/null || true
                hog=
            fi
            read -r rows lat hit < <(psql_ -At -F ' ' -c "
                SELECT count(*), count(*) FILTER (WHERE kind LIKE 'latency%'),
                       count(*) FILTER (WHERE query LIKE 'SELECT pg_sleep%')
                  FROM perfguard.regressions('acc')")
            [ "$rows" -gt 0 ] && failed=$((failed + 1))
            [ "$lat" -gt 0 ] && latency=$((latency + 1))
            [ "$hit" -gt 0 ] && caught=$((caught + 1))
        done
        printf '%*s\r' 40 '' >&2
        case $cond in
            slow*) c=$(wilson "$caught" "$ROUNDS") ;;
            *) c='—' ;;
        esac
        echo "| $cond | $n | $ROUNDS | $failed: $(wilson "$failed" "$ROUNDS") | $latency | $c |"
    done
done
