# Shared by test/run.sh, test/demo.sh and bench/*.sh: where PostgreSQL 15
# is, and how to build and install perfguard.  Source it; don't run it.

PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
PG_CONFIG=$PG_BINDIR/pg_config
export PATH="$PG_BINDIR:$PATH"

# build_and_install [extra make variables...]: build perfguard and install it
build_and_install() {
    make -s PG_CONFIG="$PG_CONFIG" "$@" >/dev/null
    make -s PG_CONFIG="$PG_CONFIG" "$@" install >/dev/null
}

# copy_tree_for_postgres DIR: copy the source tree (without .git) into DIR,
# owned by the postgres user, who runs the servers (initdb refuses root)
copy_tree_for_postgres() {
    mkdir -p "$1"
    tar --exclude=./.git --exclude='./tmp_check*' --exclude=./results \
        --exclude=./output_iso -cf - . | tar -C "$1" -xf -
    chown -R postgres:postgres "$1"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on
free_port() {
    local p
    for p in $(seq 54400 54999); do
        if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    echo "perfguard: no free port" >&2
    return 1
}
