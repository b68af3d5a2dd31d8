#!/usr/bin/env bash
# Installs, with apt-get, what perfguard needs to build, test and demo on
# Debian 12.  Run as root.  Installs only what is missing, so it is cheap to
# run again.  Extra package names may be given as arguments (bench/ asks for
# valgrind this way).
set -euo pipefail

packages=(make gcc postgresql-15 postgresql-server-dev-15 postgresql-contrib
          libipc-run-perl perl "$@")
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "perfguard: missing packages (${missing[*]}); run this as root" >&2
        exit 2
    fi
    echo "perfguard: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive UCF_FORCE_CONFFOLD=1
    apt-get update -qq
    # The packaged "main" cluster is not needed (every test and the demo start
    # their own): keep it from being created and started.  The file is kept
    # as it is when postgresql-common is installed after it.
    mkdir -p /etc/postgresql-common
    grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf ||
        echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" >/dev/null
fi

# What some tests use when it is there, and skip (saying so) when it is not:
# postgres_exporter (test/t/160_prometheus.pl) and a headless browser
# (test/t/170_html_report.pl).  A failure to install them is not fatal.
# The exporter's package enables its service; nothing here starts it (the
# test runs its own copy on a private port).
optional=(prometheus-postgres-exporter chromium)
missing=()
for p in "${optional[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" -eq 0 ]; then
    echo "perfguard: installing ${missing[*]} (optional: some tests use them)"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" >/dev/null; } ||
        echo "perfguard: could not install ${missing[*]}; the tests that need them are skipped" >&2
fi
