#!/usr/bin/env bash
# bench/throughput.sh: pgbench throughput of each configuration, in rounds.
#
#   bash bench/throughput.sh                     5 rounds of 10 s runs (~16 min)
#   DURATION=30 ROUNDS=7 bash bench/throughput.sh
#   CONFIGS="none perfguard" bash bench/throughput.sh
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
# Prints markdown on stdout, progress on stderr.  KEEP=1 keeps the work
# directory (server log and every pgbench output).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-5}
SCALE=${SCALE:-10}
CLIENTS=${CLIENTS:-2}

MODES=(select-simple select-prepared tpcb-no-branches)
declare -A MODE_ARGS=(
    [select-simple]="-S -M simple"
    [select-prepared]="-S -M prepared"
    [tpcb-no-branches]="-N -M prepared"
)

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
    "synchronous_commit = off" "jit = off" "max_connections = 20"

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
pg -c "CREATE EXTENSION pg_prewarm" -c "VACUUM ANALYZE"
stop

# results: round, mode, configuration, tps
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
            pg -c "SELECT pg_prewarm(c) FROM unnest(array['pgbench_accounts', 'pgbench_accounts_pkey', 'pgbench_branches', 'pgbench_tellers']) c" \
                -c "CHECKPOINT" >/dev/null
            out=$work/pgbench.$r.$mode.$cfg.log
            # shellcheck disable=SC2086
            as_pg "$PG_BINDIR/pgbench" -h "$work/run" -p "$port" -c "$CLIENTS" -j "$CLIENTS" \
                -T "$DURATION" ${MODE_ARGS[$mode]} postgres >"$out" 2>&1 || {
                echo "bench: pgbench failed ($mode, $cfg):" >&2
                tail -5 "$out" >&2
                exit 1
            }
            stop
            tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out" | tail -1)
            if [ -z "$tps" ]; then
                echo "bench: no tps in $out" >&2
                exit 1
            fi
            printf '%d\t%s\t%s\t%s\n' "$((r + 1))" "$mode" "$cfg" "$tps" >>"$results"
            printf '[%d/%d] round %d %-17s %-20s %10.1f tps\n' "$n" "$total" "$((r + 1))" "$mode" "$cfg" "$tps" >&2
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

echo "## pgbench throughput"
echo
echo "$machine"
echo "- pgbench -i -s $SCALE; $CLIENTS clients (-c $CLIENTS -j $CLIENTS), $DURATION s per run, $ROUNDS rounds; server: shared_buffers 512MB, synchronous_commit off, no checkpoint during a run"
echo
echo "Ratio: TPS of the configuration / TPS of none in the same round and mode; median and range (min–max) over the $ROUNDS rounds."
echo
echo "| mode | configuration | median TPS | ratio to none: median | min–max |"
echo "|---|---|---:|---:|---:|"
for mode in "${MODES[@]}"; do
    for cfg in "${CFG_NAMES[@]}"; do
        awk -F'\t' -v m="$mode" -v c="$cfg" '$2 == m && $3 == c {print $4}' "$results" >"$work/tps"
        read -r med _ _ < <(stats "$work/tps")
        if [ "$cfg" = none ]; then
            printf '| %s | %s | %.0f | — | — |\n' "$mode" "$cfg" "$med"
            continue
        fi
        awk -F'\t' -v m="$mode" -v c="$cfg" '
            $2 == m && $3 == "none" {base[$1] = $4}
            $2 == m && $3 == c {tps[$1] = $4}
            END {for (r in tps) print tps[r] / base[r]}' "$results" >"$work/ratio"
        read -r rmed rmin rmax < <(stats "$work/ratio")
        printf '| %s | %s | %.0f | %s | %s … %s |\n' "$mode" "$cfg" "$med" \
            "$(pct "$rmed")" "$(pct "$rmin")" "$(pct "$rmax")"
    done
done
echo
echo "pgbench options per mode: $(for m in "${MODES[@]}"; do printf '%s: `%s`; ' "$m" "${MODE_ARGS[$m]}"; done | sed 's/; $//')."
echo
bench_settings_md
echo
echo "<details><summary>TPS of every run</summary>"
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
            row+=" $(awk -F'\t' -v r="$r" -v m="$mode" -v c="$cfg" \
                '$1 == r && $2 == m && $3 == c {printf "%.0f", $4}' "$results") |"
        done
        echo "$row"
    done
done
echo
echo "</details>"
