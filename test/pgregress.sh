#!/usr/bin/env bash
# PostgreSQL's own regression suite, run twice -- against a plain server and
# against one with perfguard preloaded at its most sensitive settings
# (test/pgregress.conf) -- and the two outputs compared.  This is how
# perfguard shows that it never changes what the client sees.
#
# On Debian 12 as root:
#   1. install what is missing (test/install-deps.sh, plus what
#      `apt-get source` needs), adding a deb-src entry for the configured
#      bookworm archives if apt has none
#      (/etc/apt/sources.list.d/perfguard-deb-src.sources),
#   2. fetch Debian's source package postgresql-15 of the installed server's
#      version and build only pg_regress and its test modules (regress.so,
#      refint.so, autoinc.so), cached in $PGREGRESS_CACHE
#      (/var/tmp/perfguard-pgregress) so that a second run starts at once,
#   3. build perfguard from a copy of this tree and install it into the
#      PostgreSQL of $PG_BINDIR (test/common.sh),
#   4. initdb two clusters as the postgres user in a temporary directory,
#      identically configured, each on a private port on 127.0.0.1; the
#      second also gets test/pgregress.conf,
#   5. run src/test/regress's parallel_schedule against each, as
#      `make installcheck` does (pg_regress creates the database
#      "regression"; --max-connections=1, i.e. one test at a time, unless
#      PGREGRESS_MAX_CONNECTIONS says otherwise),
#   6. compare the two runs' results/ file by file: each test's .out and
#      what the tests write there with COPY TO.
#
# The comparison is plain against perfguard, not against PostgreSQL's
# expected files: a test that fails the same way on both servers (a locale
# or platform difference, a test of a newer minor release) is not
# perfguard's business and counts as identical.  Tests that the schedule
# marks "ignore" (random) are reported if they differ but not counted.
#
# Prints the tests whose output differs with the first
# $PGREGRESS_DIFF_LINES (200) lines of each diff, ends with a line
# "pgregress: N identical, M different", and exits non-zero if any output
# differs or if either run could not be completed.
#
# Environment:
#   PG_BINDIR                  the PostgreSQL 15 to use (as test/common.sh);
#                              perfguard is installed into it
#   PGREGRESS_CACHE            where the built suite is kept
#                              (/var/tmp/perfguard-pgregress)
#   PGREGRESS_MAX_CONNECTIONS  tests run at once (1, as installcheck; 20 is
#                              installcheck-parallel)
#   PGREGRESS_DIFF_LINES       lines of each diff shown (200)
#   PGREGRESS_CONF             the perfguard server's settings
#                              (test/pgregress.conf; /dev/null makes a
#                              control run, plain against plain)
#   PGREGRESS_COMMON_CONF      a file of settings appended for both servers
#                              (e.g. compute_query_id = on, to see what else
#                              differs than the query identifier)
#   PGREGRESS_KEEP=1           keep the temporary directory (servers stopped)
set -euo pipefail
# file names given relative to where this was started
for v in PGREGRESS_CONF PGREGRESS_COMMON_CONF; do
    case ${!v:-/} in /*) ;; *) printf -v "$v" '%s/%s' "$PWD" "${!v}" ;; esac
done
cd "$(dirname "$0")/.."
. test/common.sh

CACHE=${PGREGRESS_CACHE:-/var/tmp/perfguard-pgregress}
MAXCONN=${PGREGRESS_MAX_CONNECTIONS:-1}
DIFF_LINES=${PGREGRESS_DIFF_LINES:-200}
DEBSRC_FILE=/etc/apt/sources.list.d/perfguard-deb-src.sources
PFG_CONF=${PGREGRESS_CONF:-test/pgregress.conf}
COMMON_CONF=${PGREGRESS_COMMON_CONF:-}

say() { echo "pgregress: $*"; }
die() { echo "pgregress: $*" >&2; echo "pgregress: 0 identical, 0 different"; exit 2; }

# --- 1. packages -----------------------------------------------------------

bash test/install-deps.sh dpkg-dev bzip2 xz-utils libc6-dev

[ -x "$PG_BINDIR/postgres" ] || die "no PostgreSQL server in $PG_BINDIR"

# have_deb_src: does apt know any deb-src entry?
have_deb_src() {
    grep -Eqs '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list && return 0
    grep -Eiqs '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources && return 0
    return 1
}

# write_deb_src: deb-src stanzas mirroring the URIs, suites, components and
# keys of the configured "deb" entries of Debian's bookworm archives
# (bookworm, bookworm-updates, bookworm-security); those of other
# repositories are left out.
write_deb_src() {
    local out
    out=$(
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -f "$f" ] || continue
            awk 'BEGIN { RS = ""; FS = "\n" }
            {
                types = uris = suites = comps = signed = ""; enabled = 1
                for (i = 1; i <= NF; i++) {
                    line = $i
                    if (line ~ /^[ \t]*#/) continue
                    key = tolower(line); sub(/:.*/, "", key)
                    val = line; sub(/^[^:]*:[ \t]*/, "", val)
                    if (key == "types") types = val
                    else if (key == "uris") uris = val
                    else if (key == "suites") suites = val
                    else if (key == "components") comps = val
                    else if (key == "signed-by") signed = val
                    else if (key == "enabled" && tolower(val) == "no") enabled = 0
                }
                if (!enabled || (" " types " ") !~ / deb /) next
                n = split(suites, s, /[ \t]+/); keep = ""
                for (j = 1; j <= n; j++)
                    if (s[j] ~ /^bookworm(-updates|-security)?$/) keep = keep (keep == "" ? "" : " ") s[j]
                if (keep == "") next
                printf "Types: deb-src\nURIs: %s\nSuites: %s\nComponents: %s\n", uris, keep, comps
                if (signed != "") printf "Signed-By: %s\n", signed
                printf "\n"
            }' "$f"
        done
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [ -f "$f" ] || continue
            awk '$1 == "deb" {
                opts = ""; i = 2
                if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) { opts = opts " " $i; i++ } opts = opts " " $i; i++ }
                uri = $i; suite = $(i + 1); comps = ""
                for (j = i + 2; j <= NF; j++) comps = comps (comps == "" ? "" : " ") $j
                if (suite !~ /^bookworm(-updates|-security)?$/) next
                signed = ""
                if (match(opts, /signed-by=[^ \]]*/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
                printf "Types: deb-src\nURIs: %s\nSuites: %s\nComponents: %s\n", uri, suite, comps
                if (signed != "") printf "Signed-By: %s\n", signed
                printf "\n"
            }' "$f"
        done
    )
    if [ -z "$out" ]; then
        out="Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"
    fi
    {
        echo "# Written by perfguard's test/pgregress.sh: the source of postgresql-15,"
        echo "# for PostgreSQL's regression suite.  Mirrors the deb entries of bookworm."
        echo
        printf '%s\n' "$out"
    } > "$DEBSRC_FILE"
    say "added $DEBSRC_FILE"
}

# --- 2. PostgreSQL's regression suite --------------------------------------

# The Debian version of the server that will run, e.g. 15.18-0+deb12u1
debver=$("$PG_BINDIR/postgres" --version | sed -n 's/.*(Debian \([^)]*\)).*/\1/p')
[ -n "$debver" ] || debver=$(dpkg-query -W -f='${Version}' postgresql-15 2>/dev/null || true)
[ -n "$debver" ] || die "cannot tell the version of $PG_BINDIR/postgres"
say "server $("$PG_BINDIR/postgres" --version)"

# source_versions: the versions of postgresql-15's source that apt offers
source_versions() {
    apt-cache showsrc --only-source postgresql-15 2>/dev/null | sed -n 's/^Version: //p'
}

srcroot=$CACHE/$debver
tree=$(find "$srcroot" -mindepth 1 -maxdepth 1 -type d -name 'postgresql-15-*' 2>/dev/null | head -1 || true)
[ -z "$tree" ] || [ -f "$tree/configure" ] || tree=""	# an interrupted unpacking
regress=${tree:+$tree/src/test/regress}
if [ -z "$tree" ] || [ ! -f "$tree/.perfguard-built" ]; then
    if [ -z "$tree" ]; then
        if ! have_deb_src; then
            write_deb_src
            apt-get update -qq
        fi
        if ! source_versions | grep -qxF "$debver"; then
            apt-get update -qq
        fi
        want=$debver
        if ! source_versions | grep -qxF "$debver"; then
            want=$(source_versions | sort -V | tail -1)
            [ -n "$want" ] || die "apt offers no source of postgresql-15 (deb-src entries: see $DEBSRC_FILE)"
            say "WARNING: the source of postgresql-15 $debver is no longer offered; using $want's regression suite"
        fi
        say "fetching the source of postgresql-15 $want into $srcroot"
        rm -rf "$srcroot"
        mkdir -p "$srcroot"
        (cd "$srcroot" && apt-get -q -o APT::Sandbox::User=root source --only-source "postgresql-15=$want" >"$srcroot/apt-source.log" 2>&1) ||
            { cat "$srcroot/apt-source.log"; die "apt-get source postgresql-15=$want failed"; }
        tree=$(find "$srcroot" -mindepth 1 -maxdepth 1 -type d -name 'postgresql-15-*' | head -1)
        [ -n "$tree" ] || die "apt-get source left no postgresql-15-* directory in $srcroot"
    fi
    regress=$tree/src/test/regress
    say "building pg_regress and regress.so in $tree"
    # Only the test driver and the test's C modules are built.  What the
    # modules share with the server is checked below (the magic block:
    # version, FUNC_MAX_ARGS, INDEX_MAX_KEYS, NAMEDATALEN, float8 by value).
    # The server's own configure options (pg_config --configure) add
    # libraries that none of this needs.
    (cd "$tree" && ./configure --without-readline --without-zlib --without-icu >"$tree/perfguard-configure.log" 2>&1) ||
        { tail -30 "$tree/perfguard-configure.log"; die "configure failed (log: $tree/perfguard-configure.log)"; }
    make -s -j"$(nproc)" -C "$regress" >"$tree/perfguard-make.log" 2>&1 ||
        { tail -30 "$tree/perfguard-make.log"; die "building src/test/regress failed (log: $tree/perfguard-make.log)"; }
    touch "$tree/.perfguard-built"
fi

server_h=$("$PG_CONFIG" --includedir-server)/pg_config.h
[ -f "$server_h" ] || die "$server_h is missing (postgresql-server-dev-15)"
for m in BLCKSZ FUNC_MAX_ARGS INDEX_MAX_KEYS NAMEDATALEN USE_FLOAT8_BYVAL PG_MAJORVERSION_NUM; do
    a=$(sed -n "s/^#define $m \(.*\)/\1/p" "$tree/src/include/pg_config.h")
    b=$(sed -n "s/^#define $m \(.*\)/\1/p" "$server_h")
    [ "$a" = "$b" ] || die "$m is '$a' in the regression build but '$b' in the server ($server_h)"
done
for f in pg_regress regress.so refint.so autoinc.so parallel_schedule; do
    [ -e "$regress/$f" ] || die "$regress/$f is missing (remove $tree/.perfguard-built to rebuild)"
done

# --- 3. perfguard ----------------------------------------------------------

work=$(mktemp -d /tmp/perfguard-pgregress.XXXXXX)
chmod 755 "$work"
chown postgres:postgres "$work"
clusters=()
cleanup() {
    local d
    for d in "${clusters[@]}"; do
        [ -f "$d/data/postmaster.pid" ] &&
            su postgres -s /bin/sh -c "'$PG_BINDIR/pg_ctl' -D '$d/data' -m immediate -w stop" >/dev/null 2>&1
    done
    if [ "${PGREGRESS_KEEP:-0}" = 1 ]; then
        echo "pgregress: kept $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== build perfguard"
# (not in $work/perfguard: that is the perfguard run's output directory,
# where pg_regress would take perfguard's own expected/ for the suite's)
copy_tree_for_postgres "$work/src"
(cd "$work/src" &&
    make -s PG_CONFIG="$PG_CONFIG" clean >/dev/null &&
    build_and_install) || die "building or installing perfguard failed"
say "perfguard installed into $("$PG_CONFIG" --pkglibdir)"

# --- 4. and 5. two clusters, one run each ----------------------------------

# run_suite NAME EXTRA-CONF: initdb, configure, start, run the suite, stop.
# Leaves $work/NAME/results/*.out; returns non-zero if the run could not
# be completed.
run_suite() {
    local name=$1 extra=$2 dir=$work/$1 port start end rc=0
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    clusters+=("$dir")
    port=$(free_port) || return 1
    echo "== $name server (port $port)"
    su postgres -s /bin/sh -c "'$PG_BINDIR/initdb' -D '$dir/data' -U postgres -A trust -E UTF8 --no-locale --no-sync" \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; return 1; }
    # The settings pg_regress gives the clusters it makes itself
    # (--temp-instance; the suite needs max_prepared_transactions), and a
    # private port and socket directory.
    cat >>"$dir/data/postgresql.conf" <<EOF

# test/pgregress.sh: for both servers
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
log_autovacuum_min_duration = 0
log_checkpoints = on
log_line_prefix = '%m %b[%p] %q%a '
log_lock_waits = on
log_temp_files = 128kB
max_prepared_transactions = 2
# perfguard needs the core's query identifier, which makes EXPLAIN VERBOSE
# print a "Query Identifier" line (as pg_stat_statements does); "regress"
# computes it and leaves that line out, as PostgreSQL's own tests of
# pg_stat_statements run.  The same on both servers.
compute_query_id = regress
EOF
    if [ -n "$COMMON_CONF" ]; then
        { echo "# test/pgregress.sh: PGREGRESS_COMMON_CONF"; cat "$work/common.conf"; } >>"$dir/data/postgresql.conf"
    fi
    if [ -n "$extra" ]; then
        { echo; echo "# test/pgregress.sh: $extra"; cat "$extra"; } >>"$dir/data/postgresql.conf"
    fi
    su postgres -s /bin/sh -c "'$PG_BINDIR/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -t 120 start" \
        >"$dir/pg_ctl.log" 2>&1 || { cat "$dir/pg_ctl.log" "$dir/server.log"; return 1; }
    start=$(date +%s)
    su postgres -s /bin/sh -c "cd '$dir' && env LANG=C.UTF-8 '$regress/pg_regress' \
        --inputdir='$regress' --outputdir='$dir' --bindir='$PG_BINDIR' --dlpath='$regress' \
        --host=127.0.0.1 --port=$port --user=postgres \
        --schedule='$regress/parallel_schedule' \
        --max-connections=$MAXCONN --max-concurrent-tests=20" >"$dir/pg_regress.log" 2>&1 || rc=$?
    end=$(date +%s)
    su postgres -s /bin/sh -c "'$PG_BINDIR/pg_ctl' -D '$dir/data' -m fast -w stop" >/dev/null 2>&1 ||
        say "WARNING: the $name server did not stop cleanly"
    eval "time_$name=$((end - start))"
    # pg_regress exits 1 when a test differs from PostgreSQL's expected
    # output (not this script's business) and 2 when it could not run.
    local summary
    summary=$(grep -E '^ *(All [0-9]+ tests passed|[0-9]+ of [0-9]+ tests (passed|failed))' "$dir/pg_regress.log" || true)
    say "$name: ${summary:-no summary} ($((end - start)) s, pg_regress exit $rc)"
    if grep -qE 'terminated by signal|was terminated by exception' "$dir/server.log"; then
        say "WARNING: a $name server process crashed:"
        grep -E 'terminated by signal|was terminated by exception' "$dir/server.log" | head -5
        return 1
    fi
    if [ "$rc" -ge 2 ] || [ -z "$summary" ]; then
        tail -40 "$dir/pg_regress.log"
        return 1
    fi
    return 0
}

ok=1
[ -z "$COMMON_CONF" ] || cat "$COMMON_CONF" >"$work/common.conf"
cat "$PFG_CONF" >"$work/pgregress.conf"
run_suite plain "" || { say "the plain run could not be completed"; ok=0; }
run_suite perfguard "$work/pgregress.conf" || { say "the perfguard run could not be completed"; ok=0; }

# --- 6. compare -------------------------------------------------------------

echo "== compare"
ignored_tests=$(sed -n 's/^ignore:[[:space:]]*//p' "$regress/parallel_schedule" | tr -s ' \t' '\n')
# every test of the schedule in its order, then any other file in
# results/ (what the tests write there with COPY TO)
tests=$(sed -n 's/^test:[[:space:]]*//p' "$regress/parallel_schedule" | tr -s ' \t' '\n' | grep . | sed 's/$/.out/')
others=$(ls "$work/plain/results" "$work/perfguard/results" 2>/dev/null | grep -v -e '\.out$' -e ':$' -e '^$' | sort -u || true)
same=0
different=0
ignored=0
difflist=()
for f in $tests $others; do
    t=${f%.out}
    a=$work/plain/results/$f
    b=$work/perfguard/results/$f
    if [ -f "$a" ] && [ -f "$b" ] && cmp -s "$a" "$b"; then
        same=$((same + 1))
        continue
    fi
    if [ ! -f "$a" ] && [ ! -f "$b" ]; then
        say "$t: no output from either run"
        different=$((different + 1))
        difflist+=("$t")
        continue
    fi
    if printf '%s\n' "$ignored_tests" | grep -qxF "$t"; then
        echo "== $t differs, but the schedule ignores it (its output is random)"
        ignored=$((ignored + 1))
    else
        echo "== $t differs"
        different=$((different + 1))
        difflist+=("$t")
    fi
    if [ ! -f "$a" ]; then
        echo "(no output from the plain run)"
    elif [ ! -f "$b" ]; then
        echo "(no output from the perfguard run)"
    else
        diff -u --label "plain/results/$f" --label "perfguard/results/$f" "$a" "$b" |
            head -n "$DIFF_LINES" || true
        n=$(diff "$a" "$b" | wc -l || true)
        [ "$n" -le "$DIFF_LINES" ] || echo "(... $n lines of diff in all)"
    fi
done

failed_plain=$(awk '/\.\.\. FAILED/ { printf "%s ", ($1 == "test" ? $2 : $1) }' "$work/plain/pg_regress.log" 2>/dev/null || true)
[ -z "$failed_plain" ] || say "the plain run differs from PostgreSQL's expected output in: $failed_plain(not perfguard's business: only plain and perfguard are compared)"
say "run times: plain ${time_plain:-?} s, perfguard ${time_perfguard:-?} s"
[ "$ignored" -eq 0 ] || say "$ignored test(s) that the schedule ignores differ"
[ "${#difflist[@]}" -eq 0 ] || say "different: ${difflist[*]}"
echo "pgregress: $same identical, $different different"
[ "$ok" -eq 1 ] && [ "$different" -eq 0 ]
