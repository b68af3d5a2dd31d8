#!/usr/bin/env bash
# A PostgreSQL 18 server for perfguard's tests, built from Debian's source
# package and cached.  On Debian 12 as root:
#
#   1. install what the build needs (test/install-deps.sh: bison, flex,
#      libreadline-dev, zlib1g-dev, ...),
#   2. find the version of the source package postgresql-18 in Debian's sid
#      with a PRIVATE apt configuration: a sources list of our own (one
#      "deb-src <mirror> sid main" line, the mirror being the one this
#      machine's apt uses for Debian) and our own lists and cache
#      directories, all under $PG18_CACHE/apt; the machine's apt
#      configuration and package lists are left alone,
#   3. unless $PG18_CACHE/pg-<version> already holds a complete build: fetch
#      the source package (apt-get source --download-only), unpack the
#      upstream tarball, configure (--without-icu --enable-tap-tests), build
#      with make -j2 and install into $PG18_CACHE/pg-<version>, with the
#      contrib modules the tests and bench/ use (pg_stat_statements,
#      auto_explain, pg_prewarm),
#   4. print the bin directory of that installation on the last line of
#      standard output (everything else goes to standard error).
#
# A second run finds the cached build and neither downloads nor builds (a
# contrib module added to the list since is built alone, with PGXS, from
# the upstream tarball kept in the cache):
# without PG18_REFRESH=1 the newest complete build in the cache is used
# as it is.  With PG18_REFRESH=1 the source index is fetched again and a
# newer sid version, if any, is built beside the old one.
#
# Environment:
#   PG18_CACHE     where builds are kept (/var/cache/perfguard/pg18)
#   PG18_REFRESH   1: look up the current version in sid even if a build
#                  is cached
#   PG18_MIRROR    the Debian mirror (default: the one apt is configured
#                  with, else http://deb.debian.org/debian)
#   PG18_JOBS      make's parallelism (2)
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${PG18_CACHE:-/var/cache/perfguard/pg18}
JOBS=${PG18_JOBS:-2}
CONTRIB="pg_stat_statements auto_explain pg_prewarm"

say() { echo "pg18: $*" >&2; }
die() { echo "pg18: $*" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || die "run this as root (it installs build dependencies with apt-get)"

# complete DIR: is DIR a finished build with every contrib module?
complete() {
    local m
    [ -f "$1/.complete" ] || return 1
    for m in $CONTRIB; do
        [ -f "$1/lib/postgresql/$m.so" ] || return 1
    done
}

# newest_cached: the newest finished build in the cache, if any
newest_cached() {
    local d best=
    for d in "$CACHE"/pg-*/; do
        [ -f "$d/.complete" ] || continue
        best=$(printf '%s\n%s\n' "$best" "${d%/}" | sed '/^$/d' | sort -V | tail -1)
    done
    printf '%s' "$best"
}

# add_contrib DIR: build with PGXS, from the upstream tarball kept in the
# cache, the contrib modules of the list that the build in DIR lacks
add_contrib() {
    local prefix=$1 m missing= upstream tarball tmp rc=0
    for m in $CONTRIB; do
        [ -f "$prefix/lib/postgresql/$m.so" ] || missing+=" $m"
    done
    [ -n "$missing" ] || return 0
    upstream=${prefix##*/pg-}
    tarball=$(ls "$CACHE"/src-*/postgresql-18_"$upstream".orig.tar.* 2>/dev/null | head -1)
    [ -n "$tarball" ] || return 1
    say "adding$missing to $prefix"
    tmp=$(mktemp -d)
    for m in $missing; do
        tar -C "$tmp" -xf "$tarball" "postgresql-$upstream/contrib/$m" &&
            make -C "$tmp/postgresql-$upstream/contrib/$m" USE_PGXS=1 \
                PG_CONFIG="$prefix/bin/pg_config" install >&2 || rc=1
    done
    rm -rf "$tmp"
    return $rc
}

if [ "${PG18_REFRESH:-0}" != 1 ]; then
    cached=$(newest_cached)
    if [ -n "$cached" ] && add_contrib "$cached" && complete "$cached"; then
        say "using the cached build $cached"
        echo "$cached/bin"
        exit 0
    fi
fi

# --- 1. packages -----------------------------------------------------------

bash test/install-deps.sh dpkg-dev xz-utils bzip2 gcc make bison flex \
    libreadline-dev zlib1g-dev perl libipc-run-perl >&2

# --- 2. the version in sid, with a private apt configuration ---------------

# mirror: the URI this machine's apt uses for Debian's main archive
mirror() {
    local m
    m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' |
        grep -E '/debian/?$' | head -1 || true)
    if [ -z "$m" ]; then
        m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' |
            grep -E '/debian/?$' | head -1 || true)
    fi
    printf '%s' "${m:-http://deb.debian.org/debian}"
}

MIRROR=${PG18_MIRROR:-$(mirror)}
apt_dir=$CACHE/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${MIRROR%/} sid main" \
    > "$apt_dir/sources.list"
APT_OPTS=(-o Dir::Etc::sourcelist="$apt_dir/sources.list"
          -o Dir::Etc::sourceparts=-
          -o Dir::State::Lists="$apt_dir/lists"
          -o Dir::Cache="$apt_dir/cache"
          -o APT::Get::List-Cleanup=0)

say "looking up postgresql-18 in ${MIRROR%/} sid"
apt-get "${APT_OPTS[@]}" -qq update >&2 || die "apt-get update of the private sid source list failed"
version=$(apt-cache "${APT_OPTS[@]}" showsrc postgresql-18 2>/dev/null |
          awk '/^Version:/ { print $2 }' | sort -V | tail -1)
[ -n "$version" ] || die "no source package postgresql-18 in ${MIRROR%/} sid"
upstream=${version%-*}          # 18.1-2 -> 18.1
upstream=${upstream#*:}
prefix=$CACHE/pg-$upstream

if [ -f "$prefix/.complete" ] && add_contrib "$prefix" && complete "$prefix"; then
    say "PostgreSQL $upstream is already built in $prefix"
    echo "$prefix/bin"
    exit 0
fi

# --- 3. fetch, build, install ----------------------------------------------

src=$CACHE/src-$version
rm -rf "$prefix" "$src"/postgresql-18*/
mkdir -p "$src"
if ! ls "$src"/postgresql-18_*.orig.tar.* >/dev/null 2>&1; then
    say "fetching the source package postgresql-18 $version"
    (cd "$src" && apt-get "${APT_OPTS[@]}" -qq source --download-only "postgresql-18=$version") >&2 ||
        die "apt-get source postgresql-18=$version failed"
fi
tarball=$(ls "$src"/postgresql-18_*.orig.tar.* 2>/dev/null | head -1)
[ -n "$tarball" ] || die "the source package has no upstream tarball"
tar -C "$src" -xf "$tarball"
tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'postgresql-18*' | head -1)
[ -n "$tree" ] || die "the upstream tarball left no postgresql-18* directory"

say "building PostgreSQL $upstream into $prefix (make -j$JOBS; a few minutes)"
log=$src/build.log
(
    cd "$tree"
    ./configure --prefix="$prefix" --without-icu --enable-tap-tests
    make -j"$JOBS"
    make install
    for m in $CONTRIB; do
        make -C "contrib/$m" -j"$JOBS" install
    done
) >"$log" 2>&1 || { tail -40 "$log" >&2; die "the build failed (log: $log)"; }
touch "$prefix/.complete"
rm -rf "$tree"                  # keep the downloaded files and the log
say "PostgreSQL $upstream installed in $prefix"
echo "$prefix/bin"
