#!/usr/bin/env bash
# perfguard demo, on Debian 12 as root: installs what is missing, builds and
# installs perfguard, starts a throwaway PostgreSQL 15 cluster (as the
# postgres user, in a temporary directory, on a free loopback port) with
# perfguard preloaded, runs a small bookshop workload with pgbench, shows
# what perfguard saw, and removes the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/common.sh

bash test/install-deps.sh
echo "== building and installing perfguard"
build_and_install

dir=$(mktemp -d /tmp/perfguard-demo.XXXXXX)
chown postgres:postgres "$dir"
port=$(free_port)
pg() { runuser -u postgres -- "$@"; }
cleanup() {
    pg pg_ctl -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

echo "== starting a throwaway cluster on 127.0.0.1:$port"
pg initdb -D "$dir/data" -A trust --no-instructions >/dev/null
cat >> "$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
shared_preload_libraries = 'perfguard'
# low for the demo, so that its few slower statements get their plan captured
perfguard.capture_min_duration = 2ms
# pgbench deals its scripts at random on each connection, as a pool serves
# unrelated requests; a list query followed by ten unrelated lookups would
# look like an autocommit N+1, so count repetitions in transactions only
perfguard.nplus1_window = 0
CONF
pg pg_ctl -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
psql=(pg psql -X -q -h "$dir" -p "$port" -d postgres -v ON_ERROR_STOP=1)

echo "== creating a small bookshop"
"${psql[@]}" <<'SQL'
CREATE EXTENSION perfguard;
CREATE TABLE authors (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE books (id int PRIMARY KEY, author_id int NOT NULL REFERENCES authors,
                    title text NOT NULL, price numeric(8,2), stock int);
CREATE TABLE orders (id bigserial PRIMARY KEY, book_id int NOT NULL REFERENCES books,
                     qty int NOT NULL, ordered_at timestamptz DEFAULT now());
INSERT INTO authors SELECT g, 'Author ' || g FROM generate_series(1, 200) g;
INSERT INTO books SELECT g, 1 + g % 200, 'Book ' || g, 5 + g % 40, 1000
  FROM generate_series(1, 20000) g;
VACUUM ANALYZE;
SELECT perfguard.reset() >= 0 AS reset \gset
SQL

cat > "$dir/lookup.sql" <<'EOF2'
\set id random(1, 20000)
SELECT title, price FROM books WHERE id = :id;
EOF2
cat > "$dir/by_author.sql" <<'EOF2'
\set a random(1, 200)
SELECT title FROM books WHERE author_id = :a ORDER BY title LIMIT 10;
EOF2
cat > "$dir/order.sql" <<'EOF2'
\set b random(1, 20000)
BEGIN;
INSERT INTO orders (book_id, qty) VALUES (:b, 1);
UPDATE books SET stock = stock - 1 WHERE id = :b;
COMMIT;
EOF2
# an "author page" written the ORM way: the author's books, then one query
# per book for its price (the N+1 pattern perfguard reports)
{
    echo '\set a random(1, 200)'
    echo 'BEGIN;'
    echo 'SELECT id FROM books WHERE author_id = :a ORDER BY id LIMIT 12;'
    for k in $(seq 0 11); do
        echo "SELECT price, stock FROM books WHERE id = :a + $((200 * k));"
    done
    echo 'COMMIT;'
} > "$dir/author_page.sql"
cat > "$dir/report.sql" <<'EOF2'
SELECT a.name, sum(o.qty) AS sold
  FROM orders o JOIN books b ON b.id = o.book_id JOIN authors a ON a.id = b.author_id
 GROUP BY a.name ORDER BY sold DESC LIMIT 5;
EOF2
chown postgres:postgres "$dir"/*.sql

echo "== running the workload (pgbench, 2 clients, 2000 transactions)"
pg pgbench -n -h "$dir" -p "$port" -c 2 -j 2 -t 1000 \
    -f "$dir/lookup.sql@20" -f "$dir/by_author.sql@4" \
    -f "$dir/order.sql@4" -f "$dir/report.sql@1" -f "$dir/author_page.sql@1" \
    postgres >/dev/null

echo
echo "== what perfguard saw: top statements by total time"
"${psql[@]}" <<'SQL'
\pset footer off
SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 58) AS query,
       calls,
       round(mean_exec_time::numeric, 3) AS mean_ms,
       round(p95_exec_time::numeric, 3)  AS p95_ms,
       round(p99_exec_time::numeric, 3)  AS p99_ms,
       rows
  FROM perfguard.stats
 WHERE toplevel AND query NOT IN ('BEGIN', 'COMMIT') AND query NOT LIKE '%perfguard%'
 ORDER BY total_exec_time DESC
 LIMIT 8;
SQL

echo "== the fingerprint: the same for any constants, spacing or case"
"${psql[@]}" <<'SQL'
\pset footer off
SELECT s.fingerprint, s.calls, left(s.query, 45) AS query
  FROM perfguard.stats s
 WHERE s.fingerprint = perfguard.fingerprint('select TITLE, price from books where id=42');
SQL

echo "== plans captured for statements over 2 ms (the newest of each statement)"
"${psql[@]}" <<'SQL'
\pset footer off
SELECT DISTINCT ON (fingerprint)
       left(regexp_replace(query, '\s+', ' ', 'g'), 50) AS query,
       round(duration_ms::numeric, 1) AS ms,
       detail->>'analyzed' AS actuals,
       split_part(plan, E'\n', 1) AS plan_top
  FROM perfguard.events
 WHERE kind = 'slow_plan' AND query NOT LIKE '%perfguard%'
 ORDER BY fingerprint, event_id DESC;
SQL

echo "== sequential scans of large tables, with a candidate index"
"${psql[@]}" <<'SQL'
\pset footer off
SELECT DISTINCT ON (fingerprint)
       left(regexp_replace(query, '\s+', ' ', 'g'), 50) AS query,
       detail->>'relation' AS relation, detail->>'filter' AS filter,
       coalesce(detail->>'index_advice',
                CASE WHEN (detail->>'full_read')::boolean THEN '(reads all rows)' END) AS advice
  FROM perfguard.events
 WHERE kind = 'seq_scan'
 ORDER BY fingerprint, event_id DESC;
SQL

echo "== N+1 patterns: a query repeated in one transaction after the query that drove it"
"${psql[@]}" <<'SQL'
\pset footer off
SELECT left(query, 46) AS repeated, detail->>'count' AS times,
       left(regexp_replace(detail->>'parent_query', '\s+', ' ', 'g'), 46) AS after,
       detail->>'parent_rows' AS rows
  FROM perfguard.events WHERE kind = 'n_plus_one' ORDER BY event_id LIMIT 1;
SELECT left(query, 46) AS query, calls, n_plus_one AS "N+1 seen"
  FROM perfguard.stats WHERE n_plus_one > 0;
SQL

echo "== budgets: what statements may cost, and which broke them"
"${psql[@]}" <<'SQL'
\pset footer off
SELECT perfguard.set_default_budget(allow_nplus1 => false, max_calls_per_xact => 10) IS NULL AS ignored \gset
SELECT perfguard.set_budget('SELECT title FROM books WHERE author_id = $1 ORDER BY title LIMIT $2',
                            max_blocks => 20, allow_seqscan => false) IS NULL AS ignored \gset
SELECT left(query, 46) AS query, limit_name, left(message, 80) AS message
  FROM perfguard.violations() ORDER BY query, limit_name;
SQL

# PERFGUARD_DEMO_HTML=FILE: keep an HTML report of what perfguard saw so
# far (docs/cli.md shows a screenshot of one)
if [ -n "${PERFGUARD_DEMO_HTML:-}" ]; then
    echo "== an HTML report: perfguard report --format html"
    pg "$PG_BINDIR/perfguard" -h "$dir" -p "$port" -d postgres report --top 8 \
        --format html -o "$dir/report.html"
    cp "$dir/report.html" "$PERFGUARD_DEMO_HTML"
    echo "written to $PERFGUARD_DEMO_HTML"
fi

echo "== baselines: capture the lookups, drop their index, run them again"
"${psql[@]}" <<'SQL'
SELECT perfguard.reset() >= 0 AS reset \gset
SQL
pg pgbench -n -h "$dir" -p "$port" -c 1 -t 300 -f "$dir/lookup.sql" postgres >/dev/null
"${psql[@]}" <<'SQL'
SELECT perfguard.baseline_capture('before') AS captured \gset
ALTER TABLE orders DROP CONSTRAINT orders_book_id_fkey;
ALTER TABLE books DROP CONSTRAINT books_pkey;
SELECT perfguard.reset() >= 0 AS reset \gset
SQL
pg pgbench -n -h "$dir" -p "$port" -c 1 -t 300 -f "$dir/lookup.sql" postgres >/dev/null
"${psql[@]}" <<'SQL'
\pset footer off
SELECT left(query, 40) AS query, kind, round(baseline_value::numeric, 3) AS before,
       round(current_value::numeric, 3) AS now, test, round(confidence::numeric, 4) AS confidence
  FROM perfguard.regressions('before') ORDER BY kind;
\echo 'and the CI gate, as a CI job would run it:'
\set ON_ERROR_STOP 0
SELECT perfguard.assert_no_violations('before');
SQL

echo "== perfguard itself"
"${psql[@]}" -c '\pset footer off' -c 'SELECT version, max_queries, statements, evictions, events, events_dropped FROM perfguard.info()'
echo "== done; the cluster is removed"
