--
-- failures: executions that end in an ERROR, cancelled or timed out, are
-- counted per statement with their SQLSTATE, enter the histogram when
-- cancelled, give a failed event, break max_ms, and a baseline in which
-- a statement never failed reports the kind failures
--
SELECT perfguard.reset() >= 0 AS reset;
SELECT perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.capture_interval = 0;
CREATE TABLE fail_t (id int PRIMARY KEY, v int);
INSERT INTO fail_t SELECT g, g FROM generate_series(1, 10) g;

-- what a statement's failures look like in perfguard.stats
CREATE FUNCTION fail_row(pattern text)
RETURNS TABLE (toplevel boolean, calls bigint, failed_calls bigint,
               failed_by_sqlstate jsonb, failed_ms_positive boolean)
LANGUAGE sql AS $$
    SELECT s.toplevel, s.calls, s.failed_calls, s.failed_by_sqlstate,
           s.failed_exec_time > 0
      FROM perfguard.stats s
     WHERE s.query LIKE pattern
     ORDER BY s.toplevel DESC
$$;

-- a statement that only ever timed out: counted, in the histogram with
-- the time it had run, percentiles of that time.  The time is the
-- executor's, as for completed calls: the timeout counts from the start
-- of the statement (parsing and planning included), so the checks ask for
-- most of it, not all.
SET statement_timeout = '100ms';
SELECT pg_sleep(0.5);
RESET statement_timeout;
SELECT * FROM fail_row('SELECT pg_sleep($1)');
SELECT calls, failed_calls, failed_exec_time >= 80 AS ran_most_of_timeout,
       min_exec_time IS NULL AS no_completed_call,
       p50_exec_time >= 80 * 15 / 16 AS p50_is_the_timeout,
       p99_exec_time >= 80 * 15 / 16 AS p99_is_the_timeout
  FROM perfguard.stats WHERE query = 'SELECT pg_sleep($1)';
SELECT calls, failed_calls, rows_per_call IS NULL AS no_rows_per_call,
       failed_by_sqlstate->>'57014' AS timeouts,
       (SELECT sum(h) FROM unnest(latency_hist) WITH ORDINALITY AS u(h, i)
         WHERE i % 2 = 0) AS in_histogram
  FROM perfguard.statements_internal(true)
 WHERE query = 'SELECT pg_sleep($1)';
-- the p99 of a statement does not get better when its slowest call is
-- cancelled: a completed fast call, then a cancelled slow one
SELECT pg_sleep(0.001);
SET perfguard.capture_min_duration = 0;
SET statement_timeout = '100ms';
SELECT pg_sleep(0.5);
RESET statement_timeout;
RESET perfguard.capture_min_duration;
SELECT calls, failed_calls, p99_exec_time >= 80 * 15 / 16 AS p99_includes_cancel,
       max_exec_time < 100 AS max_is_completed_calls_only
  FROM perfguard.stats WHERE query = 'SELECT pg_sleep($1)';

-- the failed event: SQLSTATE and elapsed time for everyone who may see
-- the statement, no plan (a note instead when it was slow enough)
SELECT kind, query, toplevel, detail->>'sqlstate' AS sqlstate,
       (detail->>'elapsed_ms')::float8 >= 80 AS elapsed_most_of_timeout,
       duration_ms >= 80 AS duration, plan IS NULL AS no_plan, detail->>'plan' AS plan_note,
       detail->>'message' AS message
  FROM perfguard.events WHERE kind = 'failed' ORDER BY event_id;
-- the message can hold constants: hidden from those who may not read them
CREATE ROLE regress_pfg_fail_bob;
SET ROLE regress_pfg_fail_bob;
SELECT kind, query, detail->>'sqlstate' AS sqlstate, detail ? 'message' AS has_message
  FROM perfguard.events WHERE kind = 'failed' ORDER BY event_id;
RESET ROLE;
DROP ROLE regress_pfg_fail_bob;

-- a division by zero: counted as other, not in the histogram
SELECT perfguard.reset() >= 0 AS reset;
SELECT 1 / (v - v) FROM fail_t WHERE id = 1;
SELECT * FROM fail_row('SELECT $1 / (v - v)%');
SELECT p50_exec_time IS NULL AS no_percentile FROM perfguard.stats
 WHERE query LIKE 'SELECT $1 / (v - v)%';
SELECT detail->>'sqlstate' AS sqlstate, detail->>'message' AS message
  FROM perfguard.events WHERE kind = 'failed' AND query LIKE 'SELECT $1 / (v - v)%';
-- completed calls of the same statement count as before
SELECT 1 / (v - v + 1) FROM fail_t WHERE id = 1;
SELECT 1 / (v - v + 1) FROM fail_t WHERE id = 1;
SELECT * FROM fail_row('SELECT $1 / (v - v + $2)%');

-- an error inside a function, track = all: the nested statement and the
-- client's both failed
CREATE FUNCTION fail_divide(d int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT count(*) FROM fail_t WHERE v / d > 0);
END $$;
SET perfguard.track = 'all';
SELECT perfguard.reset() >= 0 AS reset;
\set SHOW_CONTEXT never
SELECT fail_divide(0);
\set SHOW_CONTEXT errors
SELECT * FROM fail_row('%FROM fail_t WHERE v / d > $1%');
SELECT * FROM fail_row('SELECT fail_divide($1)');

-- a caught exception in PL/pgSQL: the statement that failed is counted,
-- the function's statement completed, and the nesting level is right
-- afterwards (the next nested statement is still nested)
CREATE FUNCTION fail_caught() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        PERFORM v / 0 FROM fail_t WHERE id = 2;
    EXCEPTION WHEN division_by_zero THEN
        NULL;
    END;
    PERFORM count(*) FROM fail_t WHERE id = 3;
    RETURN 'caught';
END $$;
SELECT perfguard.reset() >= 0 AS reset;
SELECT fail_caught();
SELECT fail_caught();
SELECT * FROM fail_row('%v / $1 FROM fail_t%');
SELECT * FROM fail_row('%count(*) FROM fail_t WHERE id = $1%');
SELECT * FROM fail_row('SELECT fail_caught()');
-- its event: the error was caught, never reported, so it has no message
SELECT kind, query, toplevel, detail->>'sqlstate' AS sqlstate, detail ? 'message' AS has_message
  FROM perfguard.events WHERE kind = 'failed' AND query LIKE '%v / $1 FROM fail_t%'
 ORDER BY event_id;

-- an error in ExecutorFinish: an AFTER trigger that raises
CREATE FUNCTION fail_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'no updates' USING ERRCODE = 'serialization_failure';
END $$;
CREATE TRIGGER fail_after AFTER UPDATE ON fail_t
    FOR EACH ROW EXECUTE FUNCTION fail_trigger();
SET perfguard.track = 'top';
SELECT perfguard.reset() >= 0 AS reset;
UPDATE fail_t SET v = v + 1 WHERE id = 4;
SELECT * FROM fail_row('UPDATE fail_t SET v = v + $1%');
DROP TRIGGER fail_after ON fail_t;

-- a cursor whose FETCH is cancelled: the cursor's query failed
SELECT perfguard.reset() >= 0 AS reset;
BEGIN;
DECLARE fail_cur CURSOR FOR SELECT id, pg_sleep(0.2) FROM fail_t ORDER BY id;
FETCH 1 FROM fail_cur;
SET LOCAL statement_timeout = '50ms';
FETCH 5 FROM fail_cur;
ROLLBACK;
SELECT query, calls, failed_calls, failed_by_sqlstate->>'57014' AS cancelled
  FROM perfguard.stats WHERE query LIKE '%pg_sleep($1) FROM fail_t ORDER BY id'
 ORDER BY query;

-- budgets: a failed call that ran longer than max_ms breaks it
SELECT perfguard.reset() >= 0 AS reset;
SELECT perfguard.set_budget('SELECT pg_sleep(0.5)', max_ms => 20) <> 0 AS budget_set;
SET statement_timeout = '100ms';
SELECT pg_sleep(0.5);
RESET statement_timeout;
SELECT query, limit_name, limit_value, measured >= 80 AS measured_most_of_timeout,
       calls, message LIKE 'a call that failed had run % ms; max_ms is 20' AS message
  FROM perfguard.violations();
SELECT perfguard.drop_budget('SELECT pg_sleep(0.5)');
-- max_failed_calls: how many executions may fail
SELECT perfguard.set_budget('SELECT pg_sleep(0.5)', max_failed_calls => 0) <> 0 AS budget_set;
SELECT query, limit_name, limit_value, measured, calls, budget, severity, message
  FROM perfguard.violations();
SELECT max_failed_calls, failed_calls FROM perfguard.budget_list
 WHERE query = 'SELECT pg_sleep(0.5)';
SELECT perfguard.set_budget('SELECT pg_sleep(0.5)', max_failed_calls => 1) <> 0 AS budget_set;
SELECT count(*) FROM perfguard.violations();
SELECT perfguard.set_budget('SELECT pg_sleep(0.5)', max_failed_calls => -1);
SELECT perfguard.drop_budget('SELECT pg_sleep(0.5)');
SELECT perfguard.set_default_budget(max_failed_calls => 0);
SELECT limit_name, budget FROM perfguard.violations();
SELECT perfguard.drop_default_budget();

-- an ERROR of perfguard's own, after the execution completed (a broken
-- budget with enforce = error), fails the statement, not the execution:
-- it is a completed call
SELECT perfguard.reset() >= 0 AS reset;
SELECT perfguard.set_budget('SELECT id FROM fail_t WHERE id < 3', max_rows => 1) <> 0 AS budget_set;
SET perfguard.enforce = error;
SELECT id FROM fail_t WHERE id < 3;
RESET perfguard.enforce;
SELECT calls, failed_calls FROM perfguard.stats WHERE query = 'SELECT id FROM fail_t WHERE id < $1';
SELECT perfguard.drop_budget('SELECT id FROM fail_t WHERE id < 3');

-- regressions: a statement that never failed in the baseline now fails
UPDATE fail_t SET v = 0 WHERE id = 6;
SELECT perfguard.reset() >= 0 AS reset;
SELECT 10 / v FROM fail_t WHERE id = 5;
SELECT 10 / v FROM fail_t WHERE id = 5;
SELECT perfguard.baseline_capture('fail_base') AS captured;
SELECT calls, failed_calls, failed_ms, failed_by_sqlstate
  FROM perfguard.baseline_statements
 WHERE baseline = 'fail_base' AND query = 'SELECT $1 / v FROM fail_t WHERE id = $2';
SELECT count(*) FROM perfguard.regressions('fail_base') WHERE kind = 'failures';
SELECT perfguard.reset() >= 0 AS reset;
SELECT 10 / v FROM fail_t WHERE id = 5;
SELECT 10 / v FROM fail_t WHERE id = 6;
SELECT query, kind, baseline_value, current_value, baseline_calls, current_calls,
       test, confidence, message
  FROM perfguard.regressions('fail_base') WHERE kind = 'failures';

-- the same through a document: it carries the failures, and fails at a
-- higher rate now than in a baseline where it failed once in four
SELECT perfguard.reset() >= 0 AS reset;
SELECT 10 / v FROM fail_t WHERE id = 5;
SELECT 10 / v FROM fail_t WHERE id = 5;
SELECT 10 / v FROM fail_t WHERE id = 5;
SELECT 10 / v FROM fail_t WHERE id = 6;
SELECT s -> 'calls' AS calls, s -> 'failed_calls' AS failed_calls,
       s -> 'failed_by_sqlstate' AS failed_by_sqlstate, s ? 'failed_ms' AS has_failed_ms
  FROM jsonb_array_elements(perfguard.baseline_export() -> 'statements') s
 WHERE s ->> 'query' = 'SELECT $1 / v FROM fail_t WHERE id = $2';
SELECT perfguard.baseline_import(perfguard.baseline_export(), 'fail_doc') AS imported;
SELECT calls, failed_calls, failed_by_sqlstate FROM perfguard.baseline_statements
 WHERE baseline = 'fail_doc' AND query = 'SELECT $1 / v FROM fail_t WHERE id = $2';
SELECT count(*) FROM perfguard.regressions('fail_doc') WHERE kind = 'failures';
SELECT 10 / v FROM fail_t WHERE id = 6;
SELECT 10 / v FROM fail_t WHERE id = 6;
SELECT kind, baseline_value, current_value, message
  FROM perfguard.regressions('fail_doc') WHERE kind = 'failures';
-- a document without the failure keys (as 1.0 and early 1.1 wrote them)
-- still imports
SELECT perfguard.baseline_import(
         jsonb_set(perfguard.baseline_export(), '{statements}',
                   (SELECT jsonb_agg(s - 'failed_calls' - 'failed_ms' - 'failed_by_sqlstate' - 'latency_histogram')
                      FROM jsonb_array_elements(perfguard.baseline_export() -> 'statements') s)),
         'fail_old') AS imported;
SELECT count(*) FILTER (WHERE failed_calls IS NULL) = count(*) AS no_failures
  FROM perfguard.baseline_statements WHERE baseline = 'fail_old';
-- a malformed breakdown is refused
SELECT perfguard.baseline_import(
         jsonb_set(perfguard.baseline_export(), '{statements,0,failed_by_sqlstate}',
                   '{"XX000": 1}'), 'fail_bad');

SELECT perfguard.baseline_drop(name) FROM perfguard.baselines
 WHERE name LIKE 'fail\_%' ORDER BY name;
DROP TABLE fail_t;
DROP FUNCTION fail_row(text), fail_divide(int), fail_caught(), fail_trigger();
RESET perfguard.capture_interval;
