#!/usr/bin/env bash
# bench/overhead.sh: what each configuration costs, in CPU instructions per
# statement, counted exactly by valgrind's callgrind.
#
#   bash bench/overhead.sh              all configurations and workloads
#   CONFIGS="none perfguard" WORKLOADS="simple" bash bench/overhead.sh
#   EXTRA_CONFIGS='name|setting=value ...' bash bench/overhead.sh
#   REV=HEAD bash bench/overhead.sh     perfguard as committed (git archive)
#   PG_BINDIR=$(bash test/pg18.sh | tail -1) bash bench/overhead.sh
#                                       against PostgreSQL 18 (built once
#                                       and cached by test/pg18.sh; any
#                                       PG_BINDIR with pg_stat_statements,
#                                       auto_explain and pg_prewarm will do)
#
# Run as root on Debian 12 from anywhere; installs valgrind if missing and
# builds perfguard in a copy of this tree; the servers load that build by its
# path (see bench_build in bench/lib.sh; INSTALL=1 also installs it).
#
# Method.  Wall time on a shared machine swings by tens of percent, so this
# counts instructions instead: callgrind runs a single-user backend
# (postgres --single) that reads the statements, one per line, from stdin.
# For every configuration and workload it runs twice, each time on a fresh
# copy of the same data directory:
#   base:  the warm-up statements only,
#   full:  the warm-up statements, then the workload's statements,
# and reports (Ir(full) - Ir(base)) / statements: start-up, warm-up and
# shutdown cancel out, and what is left is the steady-state cost of one
# statement (parse, plan, execute, print the result, commit).  The warm-up
# loads the table and index into shared buffers (pg_prewarm) and runs the
# workload's statement a few times, so that caches, the plan cache and the
# extensions' entries for the statement exist before the measured part.
#
# Prints markdown on stdout: the machine, the table of instructions per
# statement and % over none, a repeatability check, and, for the
# configurations in BREAKDOWN_CONFIGS (default: those named perfguard*) and
# the workloads in BREAKDOWN_WORKLOADS (default: simple prepared scan), where
# the instructions over none go: by phase, and the functions whose cost grows
# the most (callgrind_annotate, inclusive and self).  Progress goes to
# stderr.  KEEP=1 keeps the work directory (callgrind files in WORK/out).
#
# Plan capture.  perfguard captures, and auto_explain logs, the plans of
# statements slower than a threshold in wall time (1 s in bench/configs.sh).
# Under callgrind everything runs some 50 times slower, so a statement could
# cross it here when it would not outside; what is measured must be the
# steady state of statements under the threshold.  So every run also counts
# what was captured: slow_plan and seq_scan events in perfguard's events
# file (written at shutdown) and plans in auto_explain's log; the report
# shows those of the measured statements (full - base), and warns when a
# plan was captured there.  PAIRS lists the perfguard/auto_explain pairs
# with the same instrumentation, compared in a table of their own.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

N_SIMPLE=${N_SIMPLE:-3000}		# statements of simple and prepared
N_SCAN=${N_SCAN:-20}			# statements of scan
WARM=${WARM:-10}				# warm-up runs of the simple/prepared statement
WORKLOADS=${WORKLOADS:-simple prepared scan}
TOP=${TOP:-20}					# functions listed per breakdown
REPEAT_CELL=${REPEAT_CELL:-perfguard:simple}	# run again to check repeatability
# perfguard:auto_explain configurations with the same per-node instrumentation
PAIRS=${PAIRS:-perfguard-always-timing:auto_explain-timing perfguard-always-rows:auto_explain-rows}

bench_configs

bash test/install-deps.sh valgrind >&2

bench_workdir overhead
BENCH_DATA=$work/setup/data

echo "== building perfguard" >&2
bench_build "$work"
machine=$(bench_machine)	# at build time: HEAD may move during the run

# --- the data: pgbench -i -s 1, made once by a normal server ---------------
echo "== making the data (pgbench -i -s 1)" >&2
mkdir -p "$work/setup" "$work/sql" "$work/out" "$work/runs"
chown postgres:postgres "$work/setup" "$work/out" "$work/runs"
port=$(free_port)
# jit off: none of these statements reaches jit_above_cost, but no
# configuration should be able to change that
bench_initdb "$work/setup/data" "$work/setup" "$port" "jit = off"
as_pg "$PG_BINDIR/pg_ctl" -D "$work/setup/data" -l "$work/setup/log" -w start >/dev/null
as_pg "$PG_BINDIR/pgbench" -h "$work/setup" -p "$port" -i -s 1 -q postgres >"$work/setup/pgbench.log" 2>&1
as_pg "$PG_BINDIR/psql" -h "$work/setup" -p "$port" -X -q -v ON_ERROR_STOP=1 \
    -c "CREATE EXTENSION pg_prewarm" -c "VACUUM ANALYZE" postgres
as_pg "$PG_BINDIR/pg_ctl" -D "$work/setup/data" -w stop >/dev/null
pristine=$work/setup/data

# --- the statements ---------------------------------------------------------
# simple/prepared: aid = (i * 7919) % 100000 + 1, i = 1..N (all different)
prewarm="SELECT pg_prewarm('pgbench_accounts'), pg_prewarm('pgbench_accounts_pkey');"
scan_sql="SELECT count(*) FROM pgbench_accounts WHERE abalance >= 0;"
make_sql() {
    local w=$1 i
    case $w in
        simple)
            {
                echo "$prewarm"
                for ((i = 1; i <= WARM; i++)); do
                    echo "SELECT abalance FROM pgbench_accounts WHERE aid = $((i * 104729 % 100000 + 1));"
                done
            } >"$work/sql/$w.base"
            for ((i = 1; i <= N_SIMPLE; i++)); do
                echo "SELECT abalance FROM pgbench_accounts WHERE aid = $((i * 7919 % 100000 + 1));"
            done >"$work/sql/$w.body"
            count[$w]=$N_SIMPLE ;;
        prepared)
            {
                echo "$prewarm"
                echo 'PREPARE q(int) AS SELECT abalance FROM pgbench_accounts WHERE aid = $1;'
                for ((i = 1; i <= WARM; i++)); do
                    echo "EXECUTE q($((i * 104729 % 100000 + 1)));"
                done
            } >"$work/sql/$w.base"
            for ((i = 1; i <= N_SIMPLE; i++)); do
                echo "EXECUTE q($((i * 7919 % 100000 + 1)));"
            done >"$work/sql/$w.body"
            count[$w]=$N_SIMPLE ;;
        scan)
            printf '%s\n%s\n' "$prewarm" "$scan_sql" >"$work/sql/$w.base"
            for ((i = 1; i <= N_SCAN; i++)); do
                echo "$scan_sql"
            done >"$work/sql/$w.body"
            count[$w]=$N_SCAN ;;
        *)
            echo "bench: unknown workload $w (simple, prepared, scan)" >&2
            exit 2 ;;
    esac
    cat "$work/sql/$w.base" "$work/sql/$w.body" >"$work/sql/$w.full"
}
declare -A count=()
for w in $WORKLOADS; do make_sql "$w"; done

# --- counting ---------------------------------------------------------------
# run_one CONFIG WORKLOAD KIND TAG: callgrind a single-user backend on a
# fresh copy of the data with sql/WORKLOAD.KIND on stdin; writes
# out/CONFIG.WORKLOAD.KIND.TAG (callgrind file) and .log (stderr)
run_one() {
    local cfg=$1 w=$2 kind=$3 tag=$4
    local id=$cfg.$w.$kind.$tag
    local data=$work/runs/$id
    rm -rf "$data"
    cp -a "$pristine" "$data"
    # shellcheck disable=SC2046
    as_pg valgrind --tool=callgrind --collect-atstart=yes \
        --callgrind-out-file="$work/out/$id" \
        "$PG_BINDIR/postgres" --single -D "$data" $(cfg_opts "$cfg") postgres \
        <"$work/sql/$w.$kind" >"$work/out/$id.stdout" 2>"$work/out/$id.log"
    captured "$data" "$work/out/$id.log" >"$work/out/$id.events"
    rm -rf "$data"
    if grep -qE '(ERROR|FATAL|PANIC):' "$work/out/$id.log" "$work/out/$id.stdout"; then
        echo "bench: $id reported an error:" >&2
        grep -E '(ERROR|FATAL|PANIC):' "$work/out/$id.log" "$work/out/$id.stdout" | head -5 >&2
        return 1
    fi
}

# captured DATADIR LOG: "slow_plans seq_scans logged_plans": perfguard's
# slow_plan and seq_scan events in the events file a run left (their
# details hold "armed_run" and "table_rows" respectively), and the plans
# auto_explain logged
captured() {
    local ev=$1/pg_stat/perfguard_events.stat slow=0 seq=0 logged
    if [ -f "$ev" ]; then
        slow=$(grep -a -o '"armed_run"' "$ev" | wc -l)
        seq=$(grep -a -o '"table_rows"' "$ev" | wc -l)
    fi
    logged=$(grep -c 'duration: [0-9.]* ms  plan:' "$2" || true)
    echo "$slow $seq $logged"
}

# total_ir FILE: the total instruction count of a callgrind file
total_ir() {
    awk '/^(summary|totals):/ {print $2; exit}' "$1"
}

# measure CONFIG WORKLOAD TAG: run base and full (side by side: instruction
# counts do not depend on the load) and print instructions per statement
measure() {
    local cfg=$1 w=$2 tag=$3 pid_base pid_full rc=0
    run_one "$cfg" "$w" base "$tag" &
    pid_base=$!
    run_one "$cfg" "$w" full "$tag" &
    pid_full=$!
    wait "$pid_base" || rc=1
    wait "$pid_full" || rc=1
    [ "$rc" -eq 0 ] || exit 1
    awk -v b="$(total_ir "$work/out/$cfg.$w.base.$tag")" \
        -v f="$(total_ir "$work/out/$cfg.$w.full.$tag")" -v n="${count[$w]}" \
        'BEGIN {printf "%.1f\n", (f - b) / n}'
}

declare -A ir=()
for w in $WORKLOADS; do
    for cfg in "${CFG_NAMES[@]}"; do
        echo "== $cfg / $w" >&2
        ir[$cfg.$w]=$(measure "$cfg" "$w" 1)
        echo "   ${ir[$cfg.$w]} instructions/statement" >&2
    done
done

repeat_cfg=${REPEAT_CELL%%:*}
repeat_w=${REPEAT_CELL#*:}
repeat_ir=
if [ -n "${ir[$repeat_cfg.$repeat_w]:-}" ]; then
    echo "== $repeat_cfg / $repeat_w again (repeatability)" >&2
    repeat_ir=$(measure "$repeat_cfg" "$repeat_w" 2)
    echo "   $repeat_ir instructions/statement" >&2
fi

# --- report -----------------------------------------------------------------
pct() {		# pct X BASE: "+1.23%"
    awk -v x="$1" -v b="$2" 'BEGIN {printf "%+.2f%%", (x / b - 1) * 100}'
}
thousands() {
    awk -v x="$1" 'BEGIN {
        s = sprintf("%.0f", x); neg = (s ~ /^-/); sub(/^-/, "", s)
        out = ""
        while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
        printf "%s%s%s", (neg ? "-" : ""), s, out }'
}

echo "## Instructions per statement (callgrind)"
echo
echo "$machine"
echo "- statements: simple and prepared $N_SIMPLE each, scan $N_SCAN; warm-up: pg_prewarm, then $WARM runs of the simple/prepared statement (1 of scan)"
echo
header="| configuration |"
rule="|---|"
for w in $WORKLOADS; do
    header+=" $w: Ir/stmt | $w: vs none |"
    rule+="---:|---:|"
done
echo "$header"
echo "$rule"
for cfg in "${CFG_NAMES[@]}"; do
    row="| $cfg |"
    for w in $WORKLOADS; do
        if [ "$cfg" = none ]; then
            row+=" $(thousands "${ir[$cfg.$w]}") | — |"
        else
            row+=" $(thousands "${ir[$cfg.$w]}") | $(pct "${ir[$cfg.$w]}" "${ir[none.$w]}") |"
        fi
    done
    echo "$row"
done
echo
bench_settings_md
if [ -n "$repeat_ir" ]; then
    echo
    echo "Repeatability: $repeat_cfg / $repeat_w measured twice:" \
        "$(thousands "${ir[$repeat_cfg.$repeat_w]}") and $(thousands "$repeat_ir")" \
        "instructions/statement ($(awk -v a="${ir[$repeat_cfg.$repeat_w]}" -v b="$repeat_ir" \
            'BEGIN {d = (b - a) / a * 100; if (d < 0) d = -d; printf "%.3f%%", d}') apart)."
fi

# --- pairs: perfguard's capture against auto_explain's ----------------------
# the whole cost, and the cost of the capture alone: perfguard-always-X
# over perfguard (its defaults, which capture nothing here), auto_explain
# over none
pair_rows=
for p in $PAIRS; do
    a=${p%%:*}
    b=${p#*:}
    [ -n "${CFG_SETTINGS[$a]+set}" ] && [ -n "${CFG_SETTINGS[$b]+set}" ] || continue
    for w in $WORKLOADS; do
        pair_rows+="| $a vs $b | $w | $(thousands "${ir[$a.$w]}") | $(thousands "${ir[$b.$w]}") | $(pct "${ir[$a.$w]}" "${ir[$b.$w]}") |"
        if [ -n "${ir[perfguard.$w]:-}" ]; then
            pair_rows+=" $(thousands "$(awk -v a="${ir[$a.$w]}" -v b="${ir[perfguard.$w]}" 'BEGIN {print a - b}')") |"
        else
            pair_rows+=" |"
        fi
        pair_rows+=" $(thousands "$(awk -v a="${ir[$b.$w]}" -v b="${ir[none.$w]}" 'BEGIN {print a - b}')") |"$'\n'
    done
done
if [ -n "$pair_rows" ]; then
    echo
    echo "### Plan capture against auto_explain, same instrumentation"
    echo
    echo "Instructions per statement; the last two columns are the capture alone: the perfguard configuration minus \`perfguard\` (its defaults), and auto_explain minus \`none\`."
    echo
    echo "| pair | workload | perfguard | auto_explain | perfguard vs auto_explain | capture alone, perfguard: minus \`perfguard\` | capture alone, auto_explain: minus \`none\` |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    printf '%s' "$pair_rows"
fi

# --- what was captured during the runs --------------------------------------
echo
echo "### Plans captured during the runs"
echo
echo "Per cell, in the measured statements (full run minus base run): perfguard's slow_plan and seq_scan events, and the plans auto_explain logged. A slow plan here means a statement crossed the capture threshold under callgrind, so that its cell measures a capture, not the steady state."
echo
echo "| configuration | workload | slow_plan events | seq_scan events | plans logged by auto_explain |"
echo "|---|---|---:|---:|---:|"
slow_total=0
for cfg in "${CFG_NAMES[@]}"; do
    for w in $WORKLOADS; do
        read -r bs bq bl <"$work/out/$cfg.$w.base.1.events"
        read -r fs fq fl <"$work/out/$cfg.$w.full.1.events"
        echo "| $cfg | $w | $((fs - bs)) (base $bs) | $((fq - bq)) (base $bq) | $((fl - bl)) (base $bl) |"
        slow_total=$((slow_total + fs - bs + fl - bl))
    done
done
if [ "$slow_total" -ne 0 ]; then
    echo
    echo "**Warning**: $slow_total plans were captured or logged in the measured statements; those cells include the cost of capturing them."
    echo "bench: warning: $slow_total plans captured or logged in the measured statements" >&2
fi

# --- breakdown: which functions cost more than under none -------------------
# annotate FILE INCL: "function (object)<TAB>Ir" for every function of a
# callgrind file (INCL=yes: inclusive cost; no: self cost).  callgrind
# splits a function into pieces: code inlined from other files, and calls
# nested in a recursion (fn'2, fn'3, ...).  Self costs of the pieces are
# summed; inclusive costs sum the inlined pieces and leave out the nested
# calls, which the outer call's inclusive cost already holds.
annotate() {
    callgrind_annotate --inclusive="$2" --threshold=100 --auto=no "$1" 2>/dev/null |
        awk -v incl="$2" '
            /^-+$/ {sep++; next}
            sep == 6 && /^ *[0-9,]+ / {
                n = $1; gsub(",", "", n)
                line = $0
                sub(/^ *[0-9,]+ \( *[0-9.]+%\) +/, "", line)
                obj = ""
                if (match(line, / \[[^]]*\]$/)) {
                    obj = substr(line, RSTART + 2, RLENGTH - 3)
                    sub(/.*\//, "", obj)
                    line = substr(line, 1, RSTART - 1)
                }
                sub(/^[^:]*:/, "", line)		# file:fn -> fn
                if (line ~ /'"'"'[0-9]+$/) {
                    if (incl == "yes") next
                    sub(/'"'"'[0-9]+$/, "", line)
                }
                cost[line] += n
                if (obj != "") o[line] = obj
            }
            END {for (f in cost) printf "%s (%s)\t%s\n", f, (f in o) ? o[f] : "?", cost[f]}'
}

# per_stmt CONFIG WORKLOAD INCL: "function<TAB>Ir per statement" (full - base)
per_stmt() {
    local cfg=$1 w=$2 incl=$3
    [ -s "$work/out/$cfg.$w.$incl.per" ] && { cat "$work/out/$cfg.$w.$incl.per"; return; }
    annotate "$work/out/$cfg.$w.base.1" "$incl" >"$work/out/$cfg.$w.base.$incl.tsv"
    annotate "$work/out/$cfg.$w.full.1" "$incl" >"$work/out/$cfg.$w.full.$incl.tsv"
    awk -F'\t' -v n="${count[$w]}" '
        FNR == NR {base[$1] += $2; next}
        {full[$1] += $2}
        END {
            for (f in full) printf "%s\t%.2f\n", f, (full[f] - base[f]) / n
            for (f in base) if (!(f in full)) printf "%s\t%.2f\n", f, -base[f] / n
        }' "$work/out/$cfg.$w.base.$incl.tsv" "$work/out/$cfg.$w.full.$incl.tsv" |
        tee "$work/out/$cfg.$w.$incl.per"
}

# differences CONFIG WORKLOAD INCL: "function<TAB>none<TAB>CONFIG<TAB>difference"
# per statement, largest increase first
differences() {
    local cfg=$1 w=$2 incl=$3
    per_stmt none "$w" "$incl" >"$work/out/none.$w.$incl.tmp"
    per_stmt "$cfg" "$w" "$incl" >"$work/out/$cfg.$w.$incl.tmp"
    awk -F'\t' '
        FNR == NR {a[$1] = $2; next}
        {b[$1] = $2}
        END {
            for (f in b) printf "%s\t%.2f\t%.2f\t%.2f\n", f, a[f], b[f], b[f] - a[f]
            for (f in a) if (!(f in b)) printf "%s\t%.2f\t0\t%.2f\n", f, a[f], -a[f]
        }' "$work/out/none.$w.$incl.tmp" "$work/out/$cfg.$w.$incl.tmp" |
        sort -t$'\t' -k4,4gr
}

# phases CONFIG WORKLOAD TOTAL: the difference split by the core functions
# that call the extensions' hooks (none of them calls another here)
phases() {
    local cfg=$1 w=$2 total=$3
    echo "| phase (inclusive cost of) | none | $cfg | difference |"
    echo "|---|---:|---:|---:|"
    differences "$cfg" "$w" yes | awk -F'\t' -v total="$total" '
        BEGIN {
            n = split("JumbleQuery ExecutorStart ExecutorRun ExecutorFinish ExecutorEnd", p, " ")
            label["JumbleQuery"] = "query id (`JumbleQuery`)"
        }
        {a[$1] = $2; b[$1] = $3; d[$1] = $4}
        END {
            for (i = 1; i <= n; i++) {
                k = p[i] " (postgres)"
                l = (p[i] in label) ? label[p[i]] : "`" p[i] "`"
                printf "| %s | %.0f | %.0f | %+.0f |\n", l, a[k], b[k], d[k]
                sum += d[k]
            }
            printf "| everything else | | | %+.0f |\n", total - sum
        }'
}

# breakdown CONFIG WORKLOAD INCL TOTAL: markdown table of the TOP functions
# whose per-statement cost grows the most from none to CONFIG.  Self costs
# add up to TOTAL (the rest is one "other" row).  Inclusive costs leave out
# the functions that carry the whole difference (main, PostgresMain, ...)
# and the extension's own functions that cost more than TOTAL: those are
# hooks, whose inclusive cost holds the core function they chain to.
breakdown() {
    local cfg=$1 w=$2 incl=$3 total=$4
    echo "| function (object) | none | $cfg | difference |"
    echo "|---|---:|---:|---:|"
    differences "$cfg" "$w" "$incl" |
        awk -F'\t' -v top="$TOP" -v incl="$incl" -v total="$total" '
            incl == "yes" && ($4 >= 0.95 * total || ($2 == 0 && $4 > total)) {next}
            shown < top {printf "| `%s` | %.0f | %.0f | %+.0f |\n", $1, $2, $3, $4; shown++; next}
            {rest += $4}
            END {if (incl == "no") printf "| (all other functions) | | | %+.0f |\n", rest}'
}

BREAKDOWN_CONFIGS=${BREAKDOWN_CONFIGS:-$(printf '%s\n' "${CFG_NAMES[@]}" | grep '^perfguard' || true)}
BREAKDOWN_WORKLOADS=${BREAKDOWN_WORKLOADS:-simple prepared scan}
for cfg in $BREAKDOWN_CONFIGS; do
    [ "$cfg" != none ] && [ -n "${CFG_SETTINGS[$cfg]+set}" ] || continue
    echo
    echo "## Where $cfg's instructions go"
    for w in $BREAKDOWN_WORKLOADS; do
        [ -n "${ir[$cfg.$w]:-}" ] || continue
        diff=$(awk -v a="${ir[$cfg.$w]}" -v b="${ir[none.$w]}" 'BEGIN {print a - b}')
        echo
        echo "### $cfg, $w: $(thousands "$diff") instructions/statement over none"
        echo
        echo "By phase, per statement:"
        echo
        phases "$cfg" "$w" "$diff"
        echo
        echo "Inclusive cost (the function and all it calls) per statement, the $TOP largest increases:"
        echo
        breakdown "$cfg" "$w" yes "$diff"
        echo
        echo "Self cost (the function's own instructions) per statement, the $TOP largest increases:"
        echo
        breakdown "$cfg" "$w" no "$diff"
    done
done
