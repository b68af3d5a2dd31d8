# Helpers shared by bench/overhead.sh and bench/throughput.sh.  Sourced
# from the root of the source tree; don't run it.

. test/common.sh
. bench/configs.sh

# as_pg CMD...: run a command as the postgres OS user (PostgreSQL refuses root)
as_pg() {
    runuser -u postgres -- "$@"
}

# bench_configs: fill CFG_NAMES (in order) and CFG_SETTINGS[name] from
# BENCH_CONFIGS, EXTRA_CONFIGS and CONFIGS (see bench/configs.sh)
declare -a CFG_NAMES=()
declare -A CFG_SETTINGS=()
bench_configs() {
    local entries=("${BENCH_CONFIGS[@]}") e name extra
    if [ -n "${EXTRA_CONFIGS:-}" ]; then
        IFS=';' read -r -a extra <<<"$EXTRA_CONFIGS"
        entries+=("${extra[@]}")
    fi
    for e in "${entries[@]}"; do
        [ -n "${e// /}" ] || continue
        name=${e%%|*}
        name=${name// /}
        if [ -n "${CONFIGS:-}" ] && [ "$name" != none ] &&
            ! [[ " $CONFIGS " == *" $name "* ]]; then
            continue
        fi
        if [ -n "${CFG_SETTINGS[$name]+set}" ]; then
            echo "bench: configuration $name is defined twice" >&2
            exit 2
        fi
        CFG_NAMES+=("$name")
        CFG_SETTINGS[$name]=${e#*|}
    done
    if [ "${CFG_NAMES[0]:-}" != none ]; then
        echo "bench: the first configuration must be none" >&2
        exit 2
    fi
}

# cfg_opts NAME: print the configuration's settings as "-c name=value"
# words; perfguard in shared_preload_libraries becomes $PFG_LIB, the
# library bench_build made
cfg_opts() {
    local s libs lib out
    for s in ${CFG_SETTINGS[$1]}; do
        if [[ $s == shared_preload_libraries=* ]]; then
            out=
            IFS=',' read -r -a libs <<<"${s#*=}"
            for lib in "${libs[@]}"; do
                [ "$lib" = perfguard ] && lib=$PFG_LIB
                out+=${out:+,}$lib
            done
            s=shared_preload_libraries=$out
        fi
        printf -- '-c %s ' "$s"
    done
}

# bench_build WORK: build perfguard in a fresh copy of this tree (or, when
# REV is set, of that git revision: REV=HEAD leaves out uncommitted changes)
# and set PFG_LIB to the library built.  The servers load that file by its
# path, so that a "make install" of another build while a benchmark runs
# (tests, another benchmark) changes nothing here, and this build changes
# nothing there.  INSTALL=1 installs it too.
PFG_LIB=perfguard
bench_build() {
    local root=$PWD
    if [ -n "${REV:-}" ]; then
        mkdir -p "$1/perfguard"
        git archive --format=tar "$REV" | tar -C "$1/perfguard" -xf -
        chown -R postgres:postgres "$1/perfguard"
    else
        copy_tree_for_postgres "$1/perfguard"
    fi
    cd "$1/perfguard"
    make -s PG_CONFIG="$PG_CONFIG" clean >/dev/null
    if [ "${INSTALL:-0}" = 1 ]; then
        build_and_install
    else
        make -s PG_CONFIG="$PG_CONFIG" >/dev/null
    fi
    cd "$root"
    PFG_LIB=$1/perfguard/perfguard.so
}

# bench_initdb DATADIR SOCKDIR PORT [conf lines...]: a new cluster that
# listens on a unix socket in SOCKDIR only
bench_initdb() {
    local data=$1 sock=$2 port=$3
    shift 3
    as_pg "$PG_BINDIR/initdb" -D "$data" -A trust -U postgres -E UTF8 \
        --locale=C >/dev/null
    {
        echo "# added by perfguard's bench/"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$sock'"
        echo "port = $port"
        local line
        for line in "$@"; do echo "$line"; done
    } >>"$data/postgresql.conf"
}

# bench_machine: describe this machine, as markdown list items
bench_machine() {
    local cpu mem
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
    mem=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
    echo "- CPU: ${cpu:-unknown} ($(nproc) cores available)"
    echo "- RAM: $mem"
    echo "- OS: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
    echo "- PostgreSQL: $("$PG_BINDIR/postgres" --version | sed 's/^postgres (PostgreSQL) //')"
    if [ -n "${REV:-}" ]; then
        echo "- perfguard: $(git rev-parse --short "$REV") (REV=$REV)"
    else
        echo "- perfguard: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src sql Makefile 2>/dev/null || echo ' with uncommitted changes in src/, sql/ or Makefile')"
    fi
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
}

# bench_workdir NAME: make the work directory $work, owned by postgres, and
# arrange for it to be removed on exit (KEEP=1 keeps it), after stopping the
# server whose data directory is in $BENCH_DATA, if it is running.
bench_workdir() {
    work=$(mktemp -d "/tmp/perfguard-$1.XXXXXX")
    chmod 755 "$work"
    chown postgres:postgres "$work"
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    if [ -n "${BENCH_DATA:-}" ] && [ -f "$BENCH_DATA/postmaster.pid" ]; then
        as_pg "$PG_BINDIR/pg_ctl" -D "$BENCH_DATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [ "${KEEP:-0}" = 1 ]; then
        echo "bench: kept $work" >&2
    else
        rm -rf "$work"
    fi
}

# bench_settings_md: the markdown list of the configurations' settings
bench_settings_md() {
    local cfg
    echo "Settings:"
    echo
    for cfg in "${CFG_NAMES[@]}"; do
        echo "- \`$cfg\`: ${CFG_SETTINGS[$cfg]:-(no preload library)}"
    done
}
