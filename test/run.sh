#!/usr/bin/env bash
# perfguard's whole test suite, on Debian 12 as root:
#   1. install what is missing (test/install-deps.sh),
#   2. build with warnings as errors and install,
#   3. run, as the postgres user in a copy of the tree, the histogram unit
#      test, the pg_regress tests, the isolation tests and the TAP tests,
#      each kind against its own temporary cluster with perfguard preloaded.
# Prints regression.diffs (and TAP logs) on failure, ends with a summary
# line "N passed, M failed", and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/common.sh

bash test/install-deps.sh

echo "== build"
make -s PG_CONFIG="$PG_CONFIG" clean >/dev/null
build_and_install PG_CFLAGS="-Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers"

work=$(mktemp -d /tmp/perfguard-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
chown postgres:postgres "$work"		# mktemp makes it root's, mode 700
copy_tree_for_postgres "$work/perfguard"

passed=0
failed=0
status=0

# run_phase NAME MAKE-ARGS...: run one kind of test as postgres, print its
# output, count its results; returns non-zero if the phase failed
run_phase() {
    local name=$1
    shift
    echo "== $name"
    local log="$work/$name.log" rc=0 ok bad
    su postgres -c "cd '$work/perfguard' && make -s PG_CONFIG='$PG_CONFIG' $*" >"$log" 2>&1 || rc=1
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
            ok=$(grep -cE '\.\.\. ok( |$)' "$log" || true)
            bad=$(grep -cE '\.\.\. FAILED' "$log" || true) ;;
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

tree=$work/perfguard
run_phase unit unittest || true
run_phase regress installcheck ISOLATION= TAP_TESTS= || show all "$tree/regression.diffs"
run_phase isolation installcheck REGRESS= TAP_TESTS= || show all "$tree/output_iso/regression.diffs"
run_phase tap installcheck REGRESS= ISOLATION= || show 60 "$tree"/tmp_check/log/regress_log_*

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1	# a phase failed without a test to blame (build, cluster start)
fi
echo "perfguard: $passed passed, $failed failed"
exit $status
