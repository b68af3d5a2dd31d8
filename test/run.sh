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

# run_phase NAME MAKE-ARGS...: run one kind of test as postgres, count results
run_phase() {
    local name=$1
    shift
    echo "== $name"
    local log="$work/$name.log"
    if su postgres -c "cd '$work/perfguard' && make -s PG_CONFIG='$PG_CONFIG' $*" >"$log" 2>&1; then
        cat "$log"
    else
        cat "$log"
        status=1
    fi
    local ok bad
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
    if [ "$status" -ne 0 ] && [ "$bad" -eq 0 ] && ! grep -q '^Result: PASS' "$log" && [ "$name" != unit ]; then
        : # a phase that failed before running tests is counted below
    fi
    passed=$((passed + ok))
    failed=$((failed + bad))
}

run_phase unit unittest
phase_status=$status
run_phase regress installcheck ISOLATION= TAP_TESTS=
if [ "$status" -ne "$phase_status" ]; then
    for f in "$work/perfguard/regression.diffs"; do [ -f "$f" ] && { echo "== $f"; cat "$f"; }; done
fi
phase_status=$status
run_phase isolation installcheck REGRESS= TAP_TESTS=
if [ "$status" -ne "$phase_status" ]; then
    for f in "$work/perfguard/output_iso/regression.diffs"; do [ -f "$f" ] && { echo "== $f"; cat "$f"; }; done
fi
phase_status=$status
run_phase tap installcheck REGRESS= ISOLATION=
if [ "$status" -ne "$phase_status" ]; then
    for f in "$work"/perfguard/tmp_check/log/regress_log_*; do [ -f "$f" ] && { echo "== $f"; tail -n 60 "$f"; }; done
fi

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1	# a phase failed without a test to blame (build, cluster start)
fi
echo "perfguard: $passed passed, $failed failed"
exit $status
