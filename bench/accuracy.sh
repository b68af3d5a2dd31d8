#!/usr/bin/env bash
# bench/accuracy.sh: how often perfguard's regression gate fails a build
# for nothing (A/A: the same code twice), and how often it catches a real
# slowdown (power), over repeated rounds of the workflow docs/ci.md gives.
#
#   bash bench/accuracy.sh                       all conditions, 100 rounds each
#   ROUNDS=20 NS="30" CONDITIONS="aa slow2" POLICIES=run bash bench/accuracy.sh
#   REV=HEAD bash bench/accuracy.sh              perfguard as committed
#   DEBUG=1 ...                                  the regressions of each failed
#                                                round on stderr
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
#   perfguard.regressions('acc') under each policy -- the gate fails when
#   it returns a row, as perfguard.assert_no_violations('acc') would.
#   Every policy judges the same two runs.
# Policies (POLICIES, default "run p95"):
#   run      the defaults: latency against the run's speed factor, Holm's
#            correction, minimum absolute effects (docs/baselines.md)
#   p95      the rule of the first design: policy => 'p95', min_calls => 50,
#            min_confidence => 0.95
# Conditions:
#   aa       nothing changes (every failure is a false alarm)
#   aa-hog   nothing changes, but a CPU hog busies one of the two cores
#            during the second run (a noisy CI runner)
#   slow2    the fourth statement (a 4 ms wait) takes twice as long
#   slow15   ... 1.5 times as long
# The workload, from 0.02 ms to about 15 ms a call: a lookup by key, a
# range sum, a sequential count, a 4 ms wait, a CPU-bound aggregate.
#
# Prints markdown on stdout: per condition, N and policy, the rounds, how
# many the gate failed (with a 95% Wilson interval), how many of those
# failures are latency kinds, for the slow conditions how often the changed
# statement was among the regressions, and the run speed factor
# perfguard.run_speed() found (the median over the rounds, min–max), and
# the machine's 1-minute load average at the end of each round (the median,
# min–max: how quiet the machine was; a CPU hog adds 1).  Progress on stderr.  KEEP=1 keeps
# the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ROUNDS=${ROUNDS:-100}
NS=${NS:-30 50 100}
CONDITIONS=${CONDITIONS:-aa aa-hog slow2 slow15}
POLICIES=${POLICIES:-run p95}

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

# policy_args POLICY: the arguments of perfguard.regressions() for it
policy_args() {
    case $1 in
        run) echo "" ;;
        # the rule of the first design: the p95 up more than 20% with 95%
        # confidence over at least 50 calls
        p95) echo ", policy => 'p95', min_calls => 50, min_confidence => 0.95" ;;
        *) echo "bench/accuracy.sh: unknown policy $1" >&2; exit 2 ;;
    esac
}

echo "| condition | N | policy | rounds | gate failed | of which latency kinds | changed statement caught | run speed: median (min–max) | load average: median (min–max) |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
for cond in $CONDITIONS; do
    for n in $NS; do
        declare -A failed=() latency=() caught=()
        speeds=()
        loads=()
        for p in $POLICIES; do failed[$p]=0; latency[$p]=0; caught[$p]=0; done
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
            speeds+=("$(psql_ -At -c "SELECT factor FROM perfguard.run_speed('acc')")")
            loads+=("$(cut -d' ' -f1 /proc/loadavg)")
            for p in $POLICIES; do
                read -r rows lat hit < <(psql_ -At -F ' ' -c "
                    SELECT count(*), count(*) FILTER (WHERE kind LIKE 'latency%'),
                           count(*) FILTER (WHERE query LIKE 'SELECT pg_sleep%')
                      FROM perfguard.regressions('acc'$(policy_args "$p"))")
                if [ "$rows" -gt 0 ] && [ "${DEBUG:-0}" = 1 ]; then
                    psql_ -At -c "SELECT '$cond N=$n $p: ' || kind || ': ' || left(query, 30) || ': ' || message
                                    FROM perfguard.regressions('acc'$(policy_args "$p"))" >&2
                fi
                [ "$rows" -gt 0 ] && failed[$p]=$((failed[$p] + 1))
                [ "$lat" -gt 0 ] && latency[$p]=$((latency[$p] + 1))
                [ "$hit" -gt 0 ] && caught[$p]=$((caught[$p] + 1))
            done
        done
        printf '%*s\r' 40 '' >&2
        speed=$(printf '%s\n' "${speeds[@]}" | sort -g | awk '{ v[NR] = $1 }
            END { printf "%.2f (%.2f–%.2f)", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR] }')
        load=$(printf '%s\n' "${loads[@]}" | sort -g | awk '{ v[NR] = $1 }
            END { printf "%.2f (%.2f–%.2f)", v[int((NR + 1) / 2)], v[1], v[NR] }')
        for p in $POLICIES; do
            case $cond in
                slow*) c=$(wilson "${caught[$p]}" "$ROUNDS") ;;
                *) c='—' ;;
            esac
            echo "| $cond | $n | $p | $ROUNDS | ${failed[$p]}: $(wilson "${failed[$p]}" "$ROUNDS") | ${latency[$p]} | $c | $speed | $load |"
        done
        unset failed latency caught
    done
done
