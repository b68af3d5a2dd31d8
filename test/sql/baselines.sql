--
-- baselines: capture, export and import (into another database with a
-- differently created schema), regressions of every kind, the latency
-- tests, malformed documents, and the CI assertion
--
CREATE TABLE customers (id int PRIMARY KEY, name text, region int);
CREATE TABLE invoices (id int PRIMARY KEY, customer_id int NOT NULL, amount numeric);
INSERT INTO customers SELECT g, 'customer ' || g, g % 10 FROM generate_series(1, 20000) g;
INSERT INTO invoices SELECT g, 1 + g % 20000, g FROM generate_series(1, 40000) g;
CREATE INDEX invoices_customer ON invoices (customer_id);
ANALYZE customers, invoices;

SELECT perfguard.reset() >= 0 AS reset, perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.capture_interval = 0;

-- the application's workload, the same in every "CI run"
CREATE TABLE workload (n int, stmt text);
INSERT INTO workload VALUES
    (1, 'SELECT name FROM customers WHERE id = 1'),
    (2, 'SELECT name FROM customers WHERE id = 2'),
    (3, 'SELECT count(*) FROM invoices WHERE customer_id = 3'),
    (4, 'BEGIN'),
    (5, 'SELECT amount FROM invoices WHERE customer_id = 4'),
    (6, 'SELECT amount FROM invoices WHERE customer_id = 5'),
    (7, 'COMMIT');
SELECT perfguard.reset() >= 0 AS reset;
\o /dev/null
SELECT stmt FROM workload ORDER BY n \gexec
\o

SELECT perfguard.baseline_capture('main');
SELECT name, database = current_database() AS here, server_version_num / 10000 = current_setting('server_version_num')::int / 10000 AS major,
       imported_at IS NULL AS captured_here, statements
  FROM perfguard.baselines;
SELECT query, calls, rows_per_call, blocks_per_call > 0 AS blocks, calls_per_xact,
       max_calls_per_xact, plan_shape IS NOT NULL AS shape,
       cardinality(latency_hist) > 0 AS hist
  FROM perfguard.baseline_statements ORDER BY query;
SELECT perfguard.baseline_capture('main');
SELECT perfguard.baseline_capture('main', replace => true);
SELECT perfguard.baseline_capture('');

-- the document
SELECT perfguard.baseline_export('main') AS doc \gset
SELECT :'doc'::jsonb - 'statements' - 'captured_at' - 'database' - 'server_version_num'
       - 'perfguard_version' AS head,
       jsonb_array_length(:'doc'::jsonb -> 'statements') AS statements,
       (SELECT array_agg(DISTINCT jsonb_typeof(s -> 'fingerprint'))
          FROM jsonb_array_elements(:'doc'::jsonb -> 'statements') s) AS fingerprint_types,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(:'doc'::jsonb -> 'statements' -> 2) k) AS keys;
-- the current statistics, not stored
SELECT jsonb_array_length(perfguard.baseline_export() -> 'statements') =
       (SELECT count(*) FROM perfguard.statements WHERE NOT own) AS current;
SELECT perfguard.baseline_export('nothing');

-- nothing changed: no regression, no new statement
SELECT * FROM perfguard.regressions('main');
SELECT query, calls FROM perfguard.new_statements('main');
SELECT perfguard.assert_no_violations('main');

--
-- Another database, as a CI run on another cluster would have: the same
-- tables created in another order, with other columns first, so that OIDs
-- and column numbers differ.  The baseline travels as a document.
--
SELECT current_database() AS home \gset
SELECT jsonb_agg(w) AS workload FROM workload w \gset
CREATE DATABASE regress_pfg_other;
\c regress_pfg_other
CREATE EXTENSION perfguard;
CREATE TABLE unrelated (x int);
CREATE TABLE invoices (amount numeric, note text, customer_id int NOT NULL, id int PRIMARY KEY);
CREATE TABLE customers (region int, name text, id int PRIMARY KEY);
INSERT INTO customers (id, name, region) SELECT g, 'customer ' || g, g % 10 FROM generate_series(1, 20000) g;
INSERT INTO invoices (id, customer_id, amount) SELECT g, 1 + g % 20000, g FROM generate_series(1, 40000) g;
CREATE INDEX invoices_customer ON invoices (customer_id);
ANALYZE customers, invoices;
SELECT perfguard.baseline_import(:'doc');
SELECT name, imported_at IS NOT NULL AS imported, statements FROM perfguard.baselines;
SELECT perfguard.baseline_import(:'doc');
SELECT perfguard.baseline_import(:'doc', name => 'main-copy');
CREATE TABLE workload (stmt text, n int);
INSERT INTO workload (n, stmt) SELECT n, stmt FROM jsonb_to_recordset(:'workload'::jsonb) AS w(n int, stmt text);
SELECT perfguard.reset() >= 0 AS reset;
\o /dev/null
SELECT stmt FROM workload ORDER BY n \gexec
\o
-- this run has one statement more
SELECT region FROM customers WHERE id = 9;
-- the same fingerprints: nothing regressed; the one new statement is listed apart
SELECT count(*) AS matched
  FROM perfguard.statements s JOIN perfguard.baseline_statements b USING (fingerprint)
 WHERE b.baseline = 'main';
SELECT * FROM perfguard.regressions('main');
SELECT query, calls FROM perfguard.new_statements('main');
-- the same straight from the document, without storing it
SELECT count(*) AS regressions FROM perfguard.regressions(:'doc'::jsonb);
SELECT query FROM perfguard.new_statements(:'doc'::jsonb);

-- a plan change: the index is dropped; the lookups read the whole table
DROP INDEX invoices_customer;
SELECT perfguard.reset() >= 0 AS reset;
\o /dev/null
SELECT stmt FROM workload ORDER BY n \gexec
\o
SELECT query, kind, baseline_value, current_value, baseline_calls, current_calls,
       test, confidence
  FROM perfguard.regressions('main');
SELECT kind, message FROM perfguard.regressions('main')
 WHERE query LIKE 'SELECT count(*)%' ORDER BY kind;
-- a larger tolerance does not hide a plan change or a new sequential scan
SELECT kind FROM perfguard.regressions('main', tolerance => 1000) ORDER BY 1;

-- more rows per call, and more executions per transaction (an N+1 begins);
-- with 42 rows, customer 4 is now read with another plan
CREATE INDEX invoices_customer ON invoices (customer_id);
UPDATE invoices SET customer_id = 4 WHERE id <= 40;
ANALYZE invoices;
SELECT perfguard.reset() >= 0 AS reset;
\o /dev/null
SELECT stmt FROM workload ORDER BY n \gexec
BEGIN;
SELECT format('SELECT amount FROM invoices WHERE customer_id = %s', g) FROM generate_series(10, 21) g \gexec
COMMIT;
\o
SELECT query, kind, baseline_value, round(current_value::numeric, 3) AS current_value
  FROM perfguard.regressions('main') ORDER BY query, kind;
SELECT perfguard.drop_budget(0) AS no_budgets;

-- the gate fails, listing every regression
SELECT perfguard.assert_no_violations('main');
\set VERBOSITY sqlstate
SELECT perfguard.assert_no_violations(:'doc'::jsonb);
\set VERBOSITY default
-- and budget violations too, with or without a baseline
SELECT perfguard.set_budget('SELECT name FROM customers WHERE id = 1', max_rows => 0) IS NOT NULL AS set;
SELECT perfguard.assert_no_violations();
SELECT perfguard.drop_budget('SELECT name FROM customers WHERE id = 1');
SELECT perfguard.assert_no_violations();

--
-- Latency: Welch's t-test on the means, a z-test on the share of calls over
-- the baseline's p95; both need min_calls on each side and min_effect.
--
SELECT perfguard.reset() >= 0 AS reset;
\o /dev/null
SELECT 'SELECT pg_sleep(0.02)' FROM generate_series(1, 30) \gexec
\o
SELECT perfguard.baseline_capture('sleep-a');
SELECT perfguard.reset() >= 0 AS reset;
\o /dev/null
SELECT 'SELECT pg_sleep(0.02)' FROM generate_series(1, 30) \gexec
\o
SELECT perfguard.baseline_capture('sleep-b');
-- A/A: the same statement, the same sleep, two runs: noise is not a regression
SELECT count(*) AS aa_regressions FROM perfguard.regressions('sleep-a', compare_to => 'sleep-b');
SELECT count(*) AS aa_regressions FROM perfguard.regressions('sleep-a');
-- twice as slow, with enough calls: both tests fire
SELECT perfguard.reset() >= 0 AS reset;
\o /dev/null
SELECT 'SELECT pg_sleep(0.04)' FROM generate_series(1, 30) \gexec
\o
SELECT query, kind, test, confidence > 0.99 AS confident,
       current_value / baseline_value BETWEEN 1.5 AND 3 AS about_twice
  FROM perfguard.regressions('sleep-a') ORDER BY kind;
-- not with fewer calls than min_calls, nor under a larger min_effect
SELECT count(*) FROM perfguard.regressions('sleep-a', min_calls => 31);
SELECT count(*) FROM perfguard.regressions('sleep-a', min_effect => 5);
SELECT perfguard.regressions('sleep-a', min_calls => 1);
SELECT perfguard.regressions('sleep-a', min_confidence => 1);

-- the tests themselves, on given numbers
SELECT round(perfguard.welch_test(30, 10, 1, 30, 10, 1)::numeric, 4) AS same,
       round(perfguard.welch_test(30, 10, 1, 30, 10.5, 1)::numeric, 4) AS slightly,
       round(perfguard.welch_test(30, 10, 1, 30, 20, 1)::numeric, 4) AS twice,
       round(perfguard.welch_test(30, 10, 0, 30, 10, 0)::numeric, 4) AS constant_same,
       perfguard.welch_test(30, 10, 0, 30, 11, 0) AS constant_slower,
       perfguard.welch_test(1, 10, 0, 30, 11, 0) AS too_few;
-- Student's t with 58 degrees of freedom at t = 1.9365: p = 0.0288
SELECT round(perfguard.welch_test(30, 10, 1, 30, 10.5, 1)::numeric, 3) = 0.029 AS student;
SELECT round(perfguard.exceedance_test('{40,95,48,5}', '{40,95,48,5}')::numeric, 4) AS same,
       round(perfguard.exceedance_test('{40,95,48,5}', '{40,50,48,50}')::numeric, 6) AS half_over,
       perfguard.exceedance_test('{40,100}', '{40,100}') AS no_tail,
       perfguard.exceedance_test('{}', '{40,100}') AS no_baseline;
SELECT perfguard.exceedance_test('{40}', '{40,1}');
SELECT perfguard.exceedance_test('{400,1}', '{40,1}');

--
-- Malformed and foreign documents: a clear error, and nothing changes.
--
SELECT count(*) AS baselines_before FROM perfguard.baselines \gset
\set VERBOSITY terse
SELECT perfguard.baseline_import('[1, 2]');
SELECT perfguard.baseline_import('{"format": "pg_stat_statements"}');
SELECT perfguard.baseline_import('{"format": "perfguard-baseline", "version": 3, "statements": []}');
-- version 1 (perfguard 1.0) carries fingerprints that no statement has any more
SELECT perfguard.baseline_import('{"format": "perfguard-baseline", "version": 1, "name": "old", "statements": [{"fingerprint": "1", "calls": 3}]}');
SELECT perfguard.baseline_import('{"format": "perfguard-baseline", "version": 2}');
SELECT perfguard.baseline_import('{"format": "perfguard-baseline", "version": 2, "statements": []}');
SELECT perfguard.baseline_import('{"format": "perfguard-baseline", "version": 2, "name": "x", "statements": [{"calls": 1}]}');
SELECT perfguard.baseline_import('{"format": "perfguard-baseline", "version": 2, "name": "x", "statements": [{"fingerprint": "12a", "calls": 1}]}');
SELECT perfguard.baseline_import('{"format": "perfguard-baseline", "version": 2, "name": "x", "statements": [{"fingerprint": "99999999999999999999", "calls": 1}]}');
SELECT perfguard.baseline_import('{"format": "perfguard-baseline", "version": 2, "name": "x", "statements": [{"fingerprint": "1", "calls": "many"}]}');
SELECT perfguard.baseline_import('{"format": "perfguard-baseline", "version": 2, "name": "x", "statements": [{"fingerprint": "1", "calls": -1}]}');
SELECT perfguard.baseline_import('{"format": "perfguard-baseline", "version": 2, "name": "x", "statements": [{"fingerprint": "1", "calls": 1, "latency_histogram": [[300, 1]]}]}');
SELECT perfguard.baseline_import('{"format": "perfguard-baseline", "version": 2, "name": "x", "statements": [{"fingerprint": "1", "calls": 1}, {"fingerprint": 1, "calls": 2}]}');
SELECT perfguard.baseline_import('{"format": "perfguard-baseline", "version": 2, "name": "x", "captured_at": "yesterday-ish", "statements": []}');
SELECT perfguard.baseline_import('{"format": "perfguard-baseline", "version": 2, "name": "x", "histogram": "linear", "statements": []}');
SELECT perfguard.regressions('{"format": "perfguard-baseline", "version": 2, "statements": [7]}'::jsonb);
\set VERBOSITY default
SELECT count(*) = :baselines_before AS unchanged FROM perfguard.baselines;
-- a minimal hand-written document is fine
SELECT perfguard.baseline_import('{"format": "perfguard-baseline", "version": 2, "name": "tiny", "statements": [{"fingerprint": "1", "calls": 3}]}');
SELECT fingerprint, calls, mean_ms, latency_hist FROM perfguard.baseline_statements WHERE baseline = 'tiny';

-- unknown baselines, dropping
SELECT * FROM perfguard.regressions('nothing');
SELECT perfguard.baseline_drop('nothing');
SELECT perfguard.baseline_drop('nothing', missing_ok => true);
SELECT perfguard.baseline_drop('tiny');
SELECT name FROM perfguard.baselines ORDER BY name;

-- others: numbers, not the baselines' texts; no writing
CREATE ROLE regress_pfg_base_user LOGIN;
SET ROLE regress_pfg_base_user;
SELECT kind, query IS NULL AS text_hidden FROM perfguard.regressions('sleep-a') ORDER BY kind;
SELECT query FROM perfguard.baseline_statements LIMIT 1;
SELECT count(*) > 0 AS numbers FROM perfguard.baseline_statements;
SELECT jsonb_path_query_array(perfguard.baseline_export('main'), '$.statements[*].query') AS texts;
SELECT perfguard.baseline_capture('mine');
SELECT perfguard.baseline_import(:'doc', name => 'mine');
SELECT perfguard.baseline_drop('main');
RESET ROLE;
DROP ROLE regress_pfg_base_user;

\c :home
DROP DATABASE regress_pfg_other;
SELECT perfguard.baseline_drop(name) FROM perfguard.baselines ORDER BY name;
DROP TABLE workload;
