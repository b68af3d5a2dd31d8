#!/usr/bin/env bash
# perfguard's whole test suite, on Debian 12 as root:
#   1. install what is missing (test/install-deps.sh),
#   2. build with warnings as errors and install,
#   3. run, as the postgres user in a copy of the tree, the histogram unit
#      test, the pg_regress tests, the isolation tests and the TAP tests,
#      each kind against its own temporary cluster with perfguard preloaded.
# This is done against PostgreSQL 15 ($PG_BINDIR, test/common.sh) and, unless
# PERFGUARD_PG18=0, again against PostgreSQL 18 (test/pg18.sh builds it
# once from Debian's source package and caches it; PG18_BINDIR names
# another installation instead).  The PostgreSQL 18 run also runs the TAP
# test that checks a PostgreSQL 15 server's baseline on a PostgreSQL 18
# server (test/t/150_cross_version.pl, which is skipped otherwise).
#
# Prints regression.diffs (and TAP logs) on failure, a summary line
# "perfguard (PostgreSQL V): N passed, M failed" per version and a last
# line "perfguard: N passed, M failed" over all of them, and exits non-zero
# on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/common.sh

bash test/install-deps.sh

CFLAGS_STRICT="-Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers"

work=$(mktemp -d /tmp/perfguard-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
chown postgres:postgres "$work"		# mktemp makes it root's, mode 700

passed=0		# of the version under test
failed=0
status=0
total_passed=0
total_failed=0
total_status=0
summaries=()

# run_phase NAME MAKE-ARGS...: run one kind of test as postgres, print its
# output, count its results; returns non-zero if the phase failed.  Runs
# in $tree with $PG_CONFIG; $phase_env is put in the environment.
run_phase() {
    local name=$1
    shift
    echo "== $name"
    local log="$work/$label-$name.log" rc=0 ok bad
    su postgres -c "cd '$tree' && $phase_env make -s PG_CONFIG='$PG_CONFIG' $*" >"$log" 2>&1 || rc=1
    cat "$log"
    case $name in
        unit)
            ok=$(grep -c '^ok ' "$log" || true)
            bad=$(grep -c '^not ok ' "$log" || true) ;;
        tap)
            ok=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$log" | tail -1)
            ok=${ok:-0}
            bad=$(sed -n 's/.*Failed \([0-9]*\)\/[0-9]* subtests.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
            ok=$((ok - bad))
            if grep -q '^Result: FAIL' "$log" && [ "$bad" -eq 0 ]; then bad=1; fi ;;
        *)
            # "test x ... ok" up to PostgreSQL 15, "ok 1 - x" from 16 on
            ok=$(grep -cE '\.\.\. ok( |$)|^ok +[0-9]+ ' "$log" || true)
            bad=$(grep -cE '\.\.\. FAILED|^not ok +[0-9]+ ' "$log" || true) ;;
    esac
    passed=$((passed + ok))
    failed=$((failed + bad))
    [ "$rc" -eq 0 ] || status=1
    return $rc
}

# show LINES FILE...: print the last LINES lines ("all": the whole) of
# those of the files that exist -- what a failed phase left behind
show() {
    local lines=$1 f
    shift
    for f in "$@"; do
        [ -f "$f" ] || continue
        echo "== $f"
        if [ "$lines" = all ]; then cat "$f"; else tail -n "$lines" "$f"; fi
    done
    return 0
}

# run_suite BINDIR [VAR=VALUE...]: build perfguard against the PostgreSQL
# of BINDIR, install it there, and run every test against it (the
# variables are given to the TAP tests); prints the version's summary line
run_suite() {
    local bindir=$1 version
    shift
    PG_BINDIR=$bindir
    PG_CONFIG=$bindir/pg_config
    version=$("$PG_CONFIG" --version | sed 's/^PostgreSQL //; s/ .*//')
    label=pg${version%%.*}
    passed=0 failed=0 status=0
    phase_env=
    echo "== PostgreSQL $version ($bindir)"
    echo "== build"
    if (PATH="$bindir:$PATH"
        make -s PG_CONFIG="$PG_CONFIG" clean >/dev/null &&
        build_and_install PG_CFLAGS="$CFLAGS_STRICT"); then
        tree=$work/$label/perfguard
        mkdir -p "$work/$label"
        chown postgres:postgres "$work/$label"
        copy_tree_for_postgres "$tree"
        run_phase unit unittest || true
        run_phase regress installcheck ISOLATION= TAP_TESTS= || show all "$tree/regression.diffs"
        run_phase isolation installcheck REGRESS= TAP_TESTS= || show all "$tree/output_iso/regression.diffs"
        phase_env="$*"
        run_phase tap installcheck REGRESS= ISOLATION= || show 60 "$tree"/tmp_check/log/regress_log_*
        make -s PG_CONFIG="$PG_CONFIG" clean >/dev/null 2>&1 || true
    else
        echo "perfguard: the build against PostgreSQL $version failed"
        status=1
    fi
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        failed=1	# a phase failed without a test to blame (build, cluster start)
    fi
    summaries+=("perfguard (PostgreSQL $version): $passed passed, $failed failed")
    echo "${summaries[-1]}"
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    [ "$status" -eq 0 ] || total_status=1
}

pg15_bindir=$PG_BINDIR
run_suite "$pg15_bindir"

if [ "${PERFGUARD_PG18:-1}" = 1 ]; then
    pg18_bindir=${PG18_BINDIR:-}
    if [ -z "$pg18_bindir" ]; then
        pg18_bindir=$(bash test/pg18.sh | tail -1) || pg18_bindir=
    fi
    if [ -n "$pg18_bindir" ] && [ -x "$pg18_bindir/pg_config" ]; then
        run_suite "$pg18_bindir" PERFGUARD_PG15_BINDIR="'$pg15_bindir'"
    else
        echo "perfguard: no PostgreSQL 18 to test against (test/pg18.sh failed)"
        summaries+=("perfguard (PostgreSQL 18): 0 passed, 1 failed")
        total_failed=$((total_failed + 1))
        total_status=1
    fi
fi

printf '%s\n' "${summaries[@]}"
echo "perfguard: $total_passed passed, $total_failed failed"
exit $total_status
