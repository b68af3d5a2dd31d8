# The server configurations that bench/overhead.sh and bench/throughput.sh
# compare.  Sourced; don't run it.
#
# One entry per configuration: "NAME|SETTINGS", where SETTINGS is a
# space-separated list of name=value server parameters (values without
# spaces), each passed to the server as "-c name=value".  "none" must come
# first: it is the baseline the others are compared with.
#
# To measure another configuration, add a line here, or, without editing
# this file, give it in EXTRA_CONFIGS (entries separated by ";"):
#
#   EXTRA_CONFIGS='perfguard-all|shared_preload_libraries=perfguard perfguard.track=all' \
#       bash bench/overhead.sh
#
# CONFIGS="none perfguard" restricts a run to the named configurations.

BENCH_CONFIGS=(
    "none|"
    "pg_stat_statements|shared_preload_libraries=pg_stat_statements"
    "auto_explain|shared_preload_libraries=auto_explain auto_explain.log_analyze=on auto_explain.log_min_duration=1s"
    "perfguard|shared_preload_libraries=perfguard"
)
