--
-- metrics: the functions integrations/postgres_exporter.yaml calls: the top
-- statements by total time (bounded, per database, user and fingerprint,
-- equal to perfguard.stats summed), texts only when asked for and only for
-- superusers and members of pg_read_all_stats; events per kind; budget
-- violations per budget and limit
--
CREATE ROLE regress_pfg_m_plain LOGIN;
CREATE ROLE regress_pfg_m_stats LOGIN IN ROLE pg_read_all_stats;
CREATE TABLE mt_big (id int PRIMARY KEY, v int);
INSERT INTO mt_big SELECT g, g % 10 FROM generate_series(1, 5000) g;
ANALYZE mt_big;
GRANT SELECT ON mt_big TO regress_pfg_m_plain;

SELECT perfguard.reset() >= 0 AS reset, perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.seqscan_min_rows = 1000;
SELECT count(*) FROM mt_big WHERE v = 1;
SELECT count(*) FROM mt_big WHERE v = 2;
SELECT v FROM mt_big WHERE id = 7;
SET ROLE regress_pfg_m_plain;
SELECT v FROM mt_big WHERE id = 8;
RESET ROLE;
RESET perfguard.seqscan_min_rows;

-- arguments: NULL and out of range are refused
\set VERBOSITY sqlstate
SELECT * FROM perfguard.metrics_statements(NULL);
SELECT * FROM perfguard.metrics_statements(10, NULL);
SELECT * FROM perfguard.metrics_statements(0);
SELECT * FROM perfguard.metrics_statements(1001);
\set VERBOSITY default
SELECT * FROM perfguard.metrics_statements(-1);

-- the statements of this test, with texts (a superuser asked for them);
-- the lookup is two series, one per user
SELECT username = current_user AS me, query, calls_total, rows_total,
       seq_scans_total, n_plus_one_total, row_by_row_dml_total,
       exec_seconds_total > 0 AS timed,
       p50_exec_seconds <= p95_exec_seconds AND p95_exec_seconds <= p99_exec_seconds AS ordered
  FROM perfguard.metrics_statements(1000, true)
 WHERE database = current_database() AND query LIKE '%mt\_big%'
 ORDER BY query, me;

-- every number equals perfguard.stats summed per database, user and
-- fingerprint (times in seconds; a percentile is the largest of the entries')
SELECT count(*) AS differ
  FROM perfguard.metrics_statements(1000) m
  JOIN (SELECT d.datname, r.rolname, s.fingerprint::text AS fingerprint,
               sum(s.calls) AS calls, sum(s.total_exec_time) / 1000 AS secs,
               max(s.p95_exec_time) / 1000 AS p95, sum(s.rows) AS rows,
               sum(s.shared_blks_hit) AS hit, sum(s.shared_blks_read) AS read,
               sum(s.seq_scans) AS seq
          FROM perfguard.stats s
          JOIN pg_database d ON d.oid = s.dbid JOIN pg_roles r ON r.oid = s.userid
         GROUP BY 1, 2, 3) e
    ON e.datname = m.database AND e.rolname = m.username AND e.fingerprint = m.fingerprint
 WHERE m.query <> '' OR e.calls < m.calls_total OR e.rows <> m.rows_total
    OR e.hit < m.shared_blks_hit_total OR e.read <> m.shared_blks_read_total
    OR e.seq <> m.seq_scans_total
    -- (statements of this query itself may have run since)
    OR (e.calls = m.calls_total AND abs(e.secs - m.exec_seconds_total) > 1e-9 * e.secs)
    OR (e.calls = m.calls_total AND e.p95 <> m.p95_exec_seconds);

-- top N: N rows, the largest total times, in order
SELECT count(*) AS top2 FROM perfguard.metrics_statements(2);
SELECT bool_and(m.exec_seconds_total >= x.min_top) AS are_the_top
  FROM perfguard.metrics_statements(3) m,
       LATERAL (SELECT min(exec_seconds_total) AS min_top FROM perfguard.metrics_statements(3)) x;
SELECT count(*) = least(1000, (SELECT count(*) FROM (SELECT DISTINCT dbid, userid, fingerprint FROM perfguard.stats) s))
       AS one_row_per_statement
  FROM perfguard.metrics_statements(1000);

-- texts: only when asked for, and only for superusers and members of
-- pg_read_all_stats; never for others, not even of their own statements
SET ROLE regress_pfg_m_plain;
SELECT count(*) FILTER (WHERE query <> '') AS texts, count(*) > 0 AS rows
  FROM perfguard.metrics_statements(1000, true);
SET ROLE regress_pfg_m_stats;
SELECT count(*) FILTER (WHERE query = '') AS without_text, count(*) > 0 AS rows
  FROM perfguard.metrics_statements(1000, true) WHERE database = current_database();
SELECT count(*) FILTER (WHERE query <> '') AS texts_not_asked_for
  FROM perfguard.metrics_statements(1000);
RESET ROLE;
-- the text is on one line and cut to 60 characters
SELECT max(length(query)) <= 60 AS cut, bool_and(query !~ '\s\s|\n') AS one_line
  FROM perfguard.metrics_statements(1000, true);

-- events stored per kind, every kind, as perfguard.events counts them
SELECT kind, stored > 0 AS some FROM perfguard.metrics_events();
SELECT bool_and(m.stored = (SELECT count(*) FROM perfguard.events e WHERE e.kind = m.kind)) AS as_events
  FROM perfguard.metrics_events() m;

-- budget violations per budget and limit
SELECT perfguard.set_default_budget(max_rows => 1) IS NULL AS set_default;
SELECT perfguard.set_budget('SELECT v FROM mt_big WHERE id = 1', max_blocks => 0) IS NOT NULL AS set_own;
SELECT database = current_database() AS here,
       CASE WHEN budget = 'default' THEN budget
            ELSE (budget = perfguard.fingerprint('SELECT v FROM mt_big WHERE id = 1')::text)::text END AS budget,
       limit_name, statements > 0 AS some
  FROM perfguard.metrics_violations() ORDER BY 2, 3;
SELECT (SELECT sum(statements) FROM perfguard.metrics_violations()) =
       (SELECT count(*) FROM perfguard.violations()) AS every_violation;
SELECT perfguard.drop_default_budget(), perfguard.drop_budget('SELECT v FROM mt_big WHERE id = 1');
SELECT count(*) AS none FROM perfguard.metrics_violations();

-- everyone may call them
SET ROLE regress_pfg_m_plain;
SELECT count(*) > 0 AS statements FROM perfguard.metrics_statements();
SELECT count(*) AS kinds FROM perfguard.metrics_events();
SELECT count(*) AS violations FROM perfguard.metrics_violations();
RESET ROLE;

DROP TABLE mt_big;
DROP ROLE regress_pfg_m_plain, regress_pfg_m_stats;
