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

#
# Plan capture is compared in pairs with the same per-node instrumentation:
#
#   auto_explain-timing  (rows, timing; buffers off)  perfguard-always-timing
#   auto_explain-rows    (rows only)                  perfguard-always-rows
#
# perfguard-always is capture_mode=always at its own defaults (rows and
# buffers, no timing), which auto_explain has no default equivalent of;
# perfguard is everything at its defaults (capture_mode=adaptive,
# capture_min_duration=1s, seqscan_min_rows=10000).  Both auto_explain
# entries log plans of statements over 1s, as perfguard captures them.

BENCH_CONFIGS=(
    "none|"
    "pg_stat_statements|shared_preload_libraries=pg_stat_statements"
    "auto_explain-timing|shared_preload_libraries=auto_explain auto_explain.log_analyze=on auto_explain.log_min_duration=1s"
    "auto_explain-rows|shared_preload_libraries=auto_explain auto_explain.log_analyze=on auto_explain.log_timing=off auto_explain.log_min_duration=1s"
    "perfguard|shared_preload_libraries=perfguard"
    "perfguard-always|shared_preload_libraries=perfguard perfguard.capture_mode=always"
    "perfguard-always-timing|shared_preload_libraries=perfguard perfguard.capture_mode=always perfguard.capture_timing=on perfguard.capture_buffers=off"
    "perfguard-always-rows|shared_preload_libraries=perfguard perfguard.capture_mode=always perfguard.capture_buffers=off perfguard.capture_timing=off"
)
