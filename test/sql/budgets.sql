--
-- budgets: the per-fingerprint statistics, setting and dropping budgets,
-- violations() for every limit, and run-time enforcement
--
CREATE TABLE orders (id int PRIMARY KEY, customer int NOT NULL, total numeric);
INSERT INTO orders SELECT g, g % 100, g * 1.5 FROM generate_series(1, 20000) g;
CREATE TABLE lines (order_id int NOT NULL, item text);
INSERT INTO lines SELECT 1 + g % 500, 'item ' || g FROM generate_series(1, 2000) g;
CREATE INDEX ON lines (order_id);
ANALYZE orders, lines;

CREATE ROLE regress_pfg_budget_user LOGIN;
GRANT SELECT ON orders, lines TO regress_pfg_budget_user;

SELECT perfguard.reset() >= 0 AS reset, perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.capture_interval = 0;

-- the statistics per fingerprint: rows and blocks per call and their
-- maxima, transactions and executions per transaction, the plan's shape
SELECT id FROM orders WHERE id = 1;
SELECT id FROM orders WHERE id < 11;
SELECT id FROM orders WHERE id < 11;
BEGIN;
SELECT item FROM lines WHERE order_id = 1;
SELECT item FROM lines WHERE order_id = 2;
SELECT item FROM lines WHERE order_id = 3;
COMMIT;
SELECT item FROM lines WHERE order_id = 4;
SELECT query, calls, rows, rows_per_call, max_rows, xacts, calls_per_xact,
       max_calls_per_xact, plan_shape IS NOT NULL AS has_shape,
       blocks_per_call > 0 AS reads_blocks, max_blocks >= blocks_per_call AS max_ok
  FROM perfguard.statements
 WHERE query LIKE 'SELECT id FROM orders%' OR query LIKE 'SELECT item FROM lines%'
 ORDER BY query;
-- the same statement has the same shape; a statement of another plan has another
SELECT count(DISTINCT plan_shape) AS shapes
  FROM perfguard.statements
 WHERE query LIKE 'SELECT id FROM orders%' OR query LIKE 'SELECT item FROM lines%';

-- setting budgets: by text (fingerprinted), by fingerprint, and the default
SELECT perfguard.set_budget('SELECT id FROM orders WHERE id < 500', max_rows => 5)
       = perfguard.fingerprint('SELECT id FROM orders WHERE id < 11') AS by_text;
SELECT perfguard.set_budget(perfguard.fingerprint('SELECT item FROM lines WHERE order_id = 7'),
                            max_calls_per_xact => 2, max_blocks => 1000)
       = perfguard.fingerprint('SELECT item FROM lines WHERE order_id = 1') AS by_fingerprint;
SELECT perfguard.set_default_budget(max_rows => 1000);
SELECT query, max_ms, max_rows, max_blocks, max_calls_per_xact, allow_seqscan,
       allow_nplus1, calls
  FROM perfguard.budget_list ORDER BY fingerprint NULLS LAST;
-- set_budget replaces the whole budget
SELECT perfguard.set_budget('SELECT id FROM orders WHERE id < 500', max_rows => 5, max_ms => 1e6) IS NOT NULL AS replaced;
SELECT query, max_ms, max_rows FROM perfguard.budgets WHERE query LIKE 'SELECT id%';

-- what makes no budget
\set VERBOSITY terse
SELECT perfguard.set_budget('SELECT 1');
SELECT perfguard.set_budget('SELECT 1', max_ms => -1);
SELECT perfguard.set_budget('SELECT 1', max_ms => 'NaN');
SELECT perfguard.set_budget('SELECT 1', max_calls_per_xact => 0);
SELECT perfguard.set_budget(NULL::text, max_ms => 1);
SELECT perfguard.set_budget(NULL::bigint, max_ms => 1);
\set VERBOSITY default

-- violations so far: 10 rows in a call, over max_rows 5; 3 executions in
-- one transaction, over max_calls_per_xact 2
SELECT limit_name, limit_value, measured, calls, budget, severity, message
  FROM perfguard.violations() ORDER BY limit_name;

-- each limit, broken and kept
SELECT perfguard.drop_budget('SELECT id FROM orders WHERE id < 500');
SELECT perfguard.drop_budget('SELECT id FROM orders WHERE id < 500') AS again;
SELECT perfguard.drop_default_budget();
SELECT count(*) AS violations FROM perfguard.violations();

-- time: pg_sleep of 30 ms against 10 ms (broken) and 60 s (kept)
SELECT pg_sleep(0.03);
SELECT pg_sleep(0.03);
SELECT perfguard.set_budget('SELECT pg_sleep(0.5)', max_ms => 10, mean_ms => 10, p95_ms => 10) IS NOT NULL AS set;
SELECT limit_name, limit_value, calls, budget, severity
  FROM perfguard.violations() ORDER BY limit_name;
SELECT perfguard.set_budget('SELECT pg_sleep(0.5)', max_ms => 60000, mean_ms => 60000, p95_ms => 60000) IS NOT NULL AS set;
SELECT count(*) AS violations FROM perfguard.violations();

-- rows: 10 rows per call against 5 and 10
SELECT perfguard.set_budget('SELECT id FROM orders WHERE id < 11', max_rows => 9) IS NOT NULL AS set;
SELECT limit_name, limit_value, measured, severity, message FROM perfguard.violations();
SELECT perfguard.set_budget('SELECT id FROM orders WHERE id < 11', max_rows => 10) IS NOT NULL AS set;
SELECT count(*) AS violations FROM perfguard.violations();

-- blocks: a sequential scan of orders reads every block of it
SELECT count(*) FROM orders WHERE total < 0;
SELECT perfguard.set_budget('SELECT count(*) FROM orders WHERE total < 0', max_blocks => 10) IS NOT NULL AS set;
SELECT limit_name, limit_value, measured = (SELECT relpages FROM pg_class WHERE relname = 'orders') AS all_blocks,
       severity
  FROM perfguard.violations();
SELECT perfguard.set_budget('SELECT count(*) FROM orders WHERE total < 0', max_blocks => 100000) IS NOT NULL AS set;
SELECT count(*) AS violations FROM perfguard.violations();

-- a sequential scan flagged by the detector, not allowed
SELECT perfguard.set_budget('SELECT count(*) FROM orders WHERE total < 0', allow_seqscan => false) IS NOT NULL AS set;
SELECT limit_name, limit_value, measured, message FROM perfguard.violations();
SELECT perfguard.set_budget('SELECT count(*) FROM orders WHERE total < 0', allow_seqscan => true) IS NOT NULL AS set;
SELECT count(*) AS violations FROM perfguard.violations();

-- executions per transaction: 3 in one transaction against 2 (statement's
-- budget, set above) and 3
SELECT limit_name, limit_value, measured, budget, message FROM perfguard.violations();
SELECT perfguard.set_budget('SELECT item FROM lines WHERE order_id = 7', max_calls_per_xact => 3) IS NOT NULL AS set;
SELECT count(*) AS violations FROM perfguard.violations();

-- N+1: twelve lookups after a 12-row parent, in one transaction
BEGIN;
SELECT id FROM orders WHERE id <= 12;
SELECT format('SELECT customer FROM orders WHERE id = %s', g) FROM generate_series(1, 12) g \gexec
COMMIT;
SELECT perfguard.set_default_budget(allow_nplus1 => false);
SELECT query, limit_name, measured, budget, message FROM perfguard.violations();
-- a statement's own budget overrides the default, limit by limit
SELECT perfguard.set_budget('SELECT customer FROM orders WHERE id = 1', allow_nplus1 => true, max_rows => 100) IS NOT NULL AS set;
SELECT count(*) AS violations FROM perfguard.violations();
SELECT perfguard.drop_budget('SELECT customer FROM orders WHERE id = 1');

-- reports leave perfguard's own statements out
SELECT perfguard.set_default_budget(max_rows => 0);
SELECT DISTINCT query FROM perfguard.violations() ORDER BY query;
SELECT perfguard.drop_default_budget();

-- others may read the limits and violations, not a budget's text, nor change them
SET ROLE regress_pfg_budget_user;
SELECT count(*) > 0 AS can_read FROM perfguard.budget_limits;
\set VERBOSITY terse
SELECT count(*) FROM perfguard.budgets;
\set VERBOSITY default
SELECT count(*) >= 0 AS can_report FROM perfguard.violations();
SELECT perfguard.set_budget('SELECT 1', max_ms => 1);
SELECT perfguard.set_default_budget(max_ms => 1);
SELECT perfguard.drop_budget('SELECT 1');
DELETE FROM perfguard.budgets;
RESET ROLE;

--
-- Run-time enforcement.
--
SELECT perfguard.set_budget('SELECT id FROM orders WHERE id < 11', max_rows => 5) IS NOT NULL AS set;
SELECT perfguard.set_default_budget(max_blocks => 100000);
-- off: nothing happens
SHOW perfguard.enforce;
SELECT count(*) FROM (SELECT id FROM orders WHERE id < 11) s;
SELECT id FROM orders WHERE id < 11;
-- warn: a WARNING naming the limit, the value and the fingerprint
SET perfguard.enforce = warn;
SELECT id FROM orders WHERE id < 11;
-- kept within the budget: nothing
SELECT id FROM orders WHERE id < 3;
-- error: the statement fails, with SQLSTATE PF003
SET perfguard.enforce = error;
SELECT id FROM orders WHERE id < 11;
\set VERBOSITY sqlstate
SELECT id FROM orders WHERE id < 11;
\set VERBOSITY default
-- in a transaction, the ERROR aborts it; what perfguard counts is right after
BEGIN;
SELECT id FROM orders WHERE id < 3;
SELECT id FROM orders WHERE id < 11;
SELECT 1;
ROLLBACK;
SELECT id FROM orders WHERE id < 3;
-- several limits broken: the first in the message, the others in the detail
SELECT perfguard.set_default_budget(max_blocks => 10, allow_seqscan => false);
SELECT count(*) FROM orders WHERE customer < 0;
-- the statement's own budget allows its sequential scan; max_blocks is the default's
SELECT count(*) FROM orders WHERE total < 0;
-- executions per transaction: the third fails (once per transaction)
SELECT perfguard.set_default_budget(max_calls_per_xact => 2);
BEGIN;
SELECT item FROM lines WHERE order_id = 10;
SELECT item FROM lines WHERE order_id = 11;
SELECT item FROM lines WHERE order_id = 12;
ROLLBACK;
SET perfguard.enforce = warn;
BEGIN;
SELECT count(*) FROM lines WHERE order_id = 10;
SELECT count(*) FROM lines WHERE order_id = 11;
SELECT count(*) FROM lines WHERE order_id = 12;
SELECT count(*) FROM lines WHERE order_id = 13;
COMMIT;
-- the time limit, with pg_sleep; mean_ms and p95_ms are judged by the
-- reports only, never at run time
SELECT perfguard.drop_default_budget();
SELECT perfguard.set_budget('SELECT pg_sleep(0.5)', mean_ms => 5, p95_ms => 5) IS NOT NULL AS set;
SET perfguard.enforce = error;
SELECT pg_sleep(0.02);
SELECT perfguard.set_budget('SELECT pg_sleep(0.5)', max_ms => 5) IS NOT NULL AS set;
\set VERBOSITY sqlstate
SELECT pg_sleep(0.02);
\set VERBOSITY default
-- a change in this session applies at once, and a rolled-back one is gone
SELECT pg_sleep(0.001) IS NULL AS not_yet;
BEGIN;
SELECT perfguard.set_budget('SELECT pg_sleep(0.5)', max_ms => 60000) IS NOT NULL AS set;
SELECT pg_sleep(0.02);
ROLLBACK;
\set VERBOSITY sqlstate
SELECT pg_sleep(0.02);
\set VERBOSITY default
-- with track = top, a nested statement is not judged
SELECT perfguard.set_budget('SELECT id FROM orders WHERE id < $1', max_rows => 5) IS NOT NULL AS set;
DO $$BEGIN PERFORM id FROM orders WHERE id < 11; END$$;
-- a role's setting
RESET perfguard.enforce;
ALTER ROLE regress_pfg_budget_user SET perfguard.enforce = error;
SELECT current_user AS admin \gset
\c - regress_pfg_budget_user
SHOW perfguard.enforce;
\set VERBOSITY sqlstate
SELECT id FROM orders WHERE id < 11;
\set VERBOSITY default
\c - :admin
ALTER ROLE regress_pfg_budget_user RESET perfguard.enforce;

-- an empty budgets table judges nothing (TRUNCATE is announced too)
TRUNCATE perfguard.budgets;
SET perfguard.enforce = error;
SELECT id FROM orders WHERE id < 11;
RESET perfguard.enforce;

REVOKE ALL ON orders, lines FROM regress_pfg_budget_user;
DROP ROLE regress_pfg_budget_user;
