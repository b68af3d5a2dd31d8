#!/usr/bin/env bash
# bench/throughput.sh: pgbench throughput of each configuration, in rounds.
#
#   bash bench/throughput.sh                     5 rounds of 10 s runs (~16 min)
#   DURATION=30 ROUNDS=7 bash bench/throughput.sh
#   CONFIGS="none perfguard" bash bench/throughput.sh
#   MODES=count-1m ROUNDS=7 bash bench/throughput.sh   the 1M-row count only
#   REV=HEAD bash bench/throughput.sh   perfguard as committed (git archive)
#
# Run as root on Debian 12 from anywhere; builds perfguard in a copy of this
# tree, which the servers load by its path (INSTALL=1 also installs it).
# Configurations come from bench/configs.sh (with EXTRA_CONFIGS and CONFIGS
# as described there); "none2", a second configuration identical to none,
# is added to show how far two identical configurations land apart.
#
# One cluster, pgbench -i -s $SCALE, on a unix socket only.  Each round runs
# every mode for every configuration once, the configurations in an order
# rotated by one each round, so that no configuration always runs first or
# last.  Each run restarts the server with the configuration's settings,
# loads the tables into shared buffers (pg_prewarm), checkpoints, and runs
# pgbench -c $CLIENTS -j $CLIENTS -T $DURATION.  A configuration is compared
# with none of the same round and mode (the runs closest in time), and the
# report gives, per configuration and mode, the median TPS over the rounds
# and the median and range of those per-round ratios.
#
# The mode count-1m is different: one client (-c 1) runs
# "SELECT count(*) FROM count_1m", a table of 1,000,000 integers, for
# $DURATION s; what counts is the time per statement (pgbench's latency
# average), where per-node instrumentation (EXPLAIN ANALYZE's, as
# auto_explain and perfguard's plan capture use it) costs the most: a few
# clock reads or counter updates for every row.  Its report gives the
# median ms per statement and the median and range of the per-round ratios
# of that time to none's.  Parallel query is off on this server
# (max_parallel_workers_per_gather = 0; no other mode could use it), so the
# statement runs in one process on one core.
#
# Prints markdown on stdout, progress on stderr.  KEEP=1 keeps the work
# directory (server log and every pgbench output).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-5}
SCALE=${SCALE:-10}
CLIENTS=${CLIENTS:-2}

read -r -a MODES <<<"${MODES:-select-simple select-prepared tpcb-no-branches count-1m}"
declare -A MODE_ARGS=(
    [select-simple]="-S -M simple"
    [select-prepared]="-S -M prepared"
    [tpcb-no-branches]="-N -M prepared"
    [count-1m]="-n -M prepared -f count.sql"
)
declare -A MODE_CLIENTS=([count-1m]=1)
for mode in "${MODES[@]}"; do
    if [ -z "${MODE_ARGS[$mode]+set}" ]; then
        echo "bench: unknown mode $mode (${!MODE_ARGS[*]})" >&2
        exit 2
    fi
done

bench_configs
CFG_NAMES=(none none2 "${CFG_NAMES[@]:1}")
CFG_SETTINGS[none2]=${CFG_SETTINGS[none]}

bash test/install-deps.sh >&2

bench_workdir throughput
data=$work/data
BENCH_DATA=$data

echo "== building perfguard" >&2
bench_build "$work"
machine=$(bench_machine)	# at build time: HEAD may move during the run

mkdir -p "$work/run"
chown postgres:postgres "$work/run"
port=$(free_port)
# shared_buffers holds the whole database; no checkpoint during a run;
# synchronous_commit off so that the write mode measures CPU, not the disk
bench_initdb "$data" "$work/run" "$port" \
    "shared_buffers = 512MB" "max_wal_size = 8GB" "checkpoint_timeout = 30min" \
    "synchronous_commit = off" "jit = off" "max_connections = 20" \
    "max_parallel_workers_per_gather = 0"
echo "SELECT count(*) FROM count_1m;" >"$work/run/count.sql"

pg() {
    as_pg "$PG_BINDIR/psql" -h "$work/run" -p "$port" -X -q -v ON_ERROR_STOP=1 "$@" postgres
}
start() {		# start CONFIG
    # shellcheck disable=SC2046
    as_pg "$PG_BINDIR/pg_ctl" -D "$data" -l "$work/server.log" -w \
        -o "$(cfg_opts "$1")" start >/dev/null
}
stop() {
    as_pg "$PG_BINDIR/pg_ctl" -D "$data" -w stop >/dev/null
}

echo "== making the data (pgbench -i -s $SCALE)" >&2
start none
as_pg "$PG_BINDIR/pgbench" -h "$work/run" -p "$port" -i -s "$SCALE" -q postgres >"$work/init.log" 2>&1
pg -c "CREATE EXTENSION pg_prewarm" \
    -c "CREATE TABLE count_1m AS SELECT g AS id FROM generate_series(1, 1000000) g" \
    -c "VACUUM ANALYZE"
stop

# results: round, mode, configuration, tps, latency average (ms)
results=$work/results.tsv
: >"$results"
ncfg=${#CFG_NAMES[@]}
total=$((ROUNDS * ${#MODES[@]} * ncfg))
n=0
for ((r = 0; r < ROUNDS; r++)); do
    for mode in "${MODES[@]}"; do
        for ((i = 0; i < ncfg; i++)); do
            cfg=${CFG_NAMES[$(((i + r) % ncfg))]}
            n=$((n + 1))
            start "$cfg"
            pg -c "SELECT pg_prewarm(c) FROM unnest(array['pgbench_accounts', 'pgbench_accounts_pkey', 'pgbench_branches', 'pgbench_tellers', 'count_1m']) c" \
                -c "CHECKPOINT" >/dev/null
            out=$work/pgbench.$r.$mode.$cfg.log
            c=${MODE_CLIENTS[$mode]:-$CLIENTS}
            # shellcheck disable=SC2086
            (cd "$work/run" && as_pg "$PG_BINDIR/pgbench" -h "$work/run" -p "$port" -c "$c" -j "$c" \
                -T "$DURATION" ${MODE_ARGS[$mode]} postgres) >"$out" 2>&1 || {
                echo "bench: pgbench failed ($mode, $cfg):" >&2
                tail -5 "$out" >&2
                exit 1
            }
            stop
            tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out" | tail -1)
            lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$out" | tail -1)
            if [ -z "$tps" ] || [ -z "$lat" ]; then
                echo "bench: no tps or latency in $out" >&2
                exit 1
            fi
            printf '%d\t%s\t%s\t%s\t%s\n' "$((r + 1))" "$mode" "$cfg" "$tps" "$lat" >>"$results"
            printf '[%d/%d] round %d %-17s %-24s %10.1f tps %9.3f ms\n' "$n" "$total" "$((r + 1))" "$mode" "$cfg" "$tps" "$lat" >&2
        done
    done
done

# --- report -----------------------------------------------------------------
# stats FILE: "median min max" of the numbers in FILE, one per line
stats() {
    sort -g "$1" | awk '{v[NR] = $1}
        END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
             print m, v[1], v[NR]}'
}
pct() {		# pct RATIO: "+1.2%"
    awk -v x="$1" 'BEGIN {printf "%+.1f%%", (x - 1) * 100}'
}

# ratios MODE CONFIG COLUMN: the per-round ratios of COLUMN (4: tps,
# 5: latency) of CONFIG to none's, one per line
ratios() {
    awk -F'\t' -v m="$1" -v c="$2" -v k="$3" '
        $2 == m && $3 == "none" {base[$1] = $k}
        $2 == m && $3 == c {v[$1] = $k}
        END {for (r in v) print v[r] / base[r]}' "$results"
}
values() {		# values MODE CONFIG COLUMN: that column of every round
    awk -F'\t' -v m="$1" -v c="$2" -v k="$3" '$2 == m && $3 == c {print $k}' "$results"
}
tps_modes=()
count_mode=
for mode in "${MODES[@]}"; do
    if [ "$mode" = count-1m ]; then count_mode=$mode; else tps_modes+=("$mode"); fi
done

echo "## Wall time (pgbench)"
echo
echo "$machine"
echo "- pgbench -i -s $SCALE; $DURATION s per run, $ROUNDS rounds; server: shared_buffers 512MB, synchronous_commit off, max_parallel_workers_per_gather 0, no checkpoint during a run"
if [ "${#tps_modes[@]}" -gt 0 ]; then
    echo
    echo "### Throughput, $CLIENTS clients"
    echo
    echo "Ratio: TPS of the configuration / TPS of none in the same round and mode; median and range (min–max) over the $ROUNDS rounds."
    echo
    echo "| mode | configuration | median TPS | ratio to none: median | min–max |"
    echo "|---|---|---:|---:|---:|"
    for mode in "${tps_modes[@]}"; do
        for cfg in "${CFG_NAMES[@]}"; do
            values "$mode" "$cfg" 4 >"$work/tps"
            read -r med _ _ < <(stats "$work/tps")
            if [ "$cfg" = none ]; then
                printf '| %s | %s | %.0f | — | — |\n' "$mode" "$cfg" "$med"
                continue
            fi
            ratios "$mode" "$cfg" 4 >"$work/ratio"
            read -r rmed rmin rmax < <(stats "$work/ratio")
            printf '| %s | %s | %.0f | %s | %s … %s |\n' "$mode" "$cfg" "$med" \
                "$(pct "$rmed")" "$(pct "$rmin")" "$(pct "$rmax")"
        done
    done
    echo
    echo "pgbench options per mode (with \`-c $CLIENTS -j $CLIENTS -T $DURATION\`): $(for m in "${tps_modes[@]}"; do printf '%s: `%s`; ' "$m" "${MODE_ARGS[$m]}"; done | sed 's/; $//')."
fi
if [ -n "$count_mode" ]; then
    echo
    echo "### count(*) of 1,000,000 rows, one client"
    echo
    echo "\`SELECT count(*) FROM count_1m\` (1,000,000 integers, in shared buffers), by \`pgbench -c 1 -j 1 -T $DURATION ${MODE_ARGS[$count_mode]}\`. Time: pgbench's latency average, ms per statement. Ratio: the configuration's time / none's in the same round; median and range (min–max) over the $ROUNDS rounds (above 1: slower)."
    echo
    echo "| configuration | median ms/statement | time / none: median | min–max |"
    echo "|---|---:|---:|---:|"
    for cfg in "${CFG_NAMES[@]}"; do
        values "$count_mode" "$cfg" 5 >"$work/lat"
        read -r med _ _ < <(stats "$work/lat")
        if [ "$cfg" = none ]; then
            printf '| %s | %.1f | — | — |\n' "$cfg" "$med"
            continue
        fi
        ratios "$count_mode" "$cfg" 5 >"$work/ratio"
        read -r rmed rmin rmax < <(stats "$work/ratio")
        printf '| %s | %.1f | %.2f | %.2f … %.2f |\n' "$cfg" "$med" "$rmed" "$rmin" "$rmax"
    done
fi
echo
bench_settings_md
echo
echo "<details><summary>Every run: TPS (ms per statement for count-1m)</summary>"
echo
header="| round | mode |"
rule="|---|---|"
for cfg in "${CFG_NAMES[@]}"; do
    header+=" $cfg |"
    rule+="---:|"
done
echo "$header"
echo "$rule"
for ((r = 1; r <= ROUNDS; r++)); do
    for mode in "${MODES[@]}"; do
        row="| $r | $mode |"
        for cfg in "${CFG_NAMES[@]}"; do
            row+=" $(awk -F'\t' -v r="$r" -v m="$mode" -v c="$cfg" '
                $1 == r && $2 == m && $3 == c {
                    if (m == "count-1m") printf "%.1f ms", $5; else printf "%.0f", $4 }' "$results") |"
        done
        echo "$row"
    done
done
echo
echo "</details>"
