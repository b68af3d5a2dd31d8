--
-- capture: slow-plan capture in both modes, the arming sequence, plan
-- fidelity against EXPLAIN, rate limiting, sampling, nested statements,
-- cursors and parallel plans
--
CREATE TABLE cap (id int PRIMARY KEY, grp int, payload text);
INSERT INTO cap SELECT g, g % 10, md5(g::text) FROM generate_series(1, 2000) g;
ANALYZE cap;

-- the plan tree of an EXPLAIN (FORMAT JSON) node, without the figures that
-- change from run to run (times, costs, buffer counts); keys are kept, so
-- two skeletons are equal only if both plans show the same properties
CREATE FUNCTION skeleton(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    k text;
    v jsonb;
    out jsonb := '{}';
BEGIN
    FOR k, v IN SELECT * FROM jsonb_each(p) LOOP
        IF k = 'Plans' THEN
            out := out || jsonb_build_object(k,
                (SELECT jsonb_agg(skeleton(c)) FROM jsonb_array_elements(v) c));
        ELSIF k LIKE '%Cost%' OR k LIKE '%Time%' OR k LIKE '%Blocks%'
              OR k LIKE '%Memory%' OR k LIKE '%Batches%' OR k = 'Sort Space Used' THEN
            out := out || jsonb_build_object(k, true);
        ELSE
            out := out || jsonb_build_object(k, v);
        END IF;
    END LOOP;
    RETURN out;
END $$;

-- the newest captured plan of a statement, next to what EXPLAIN (ANALYZE,
-- BUFFERS, FORMAT JSON) shows for another run of it
CREATE FUNCTION fidelity(q text, OUT same boolean, OUT analyzed boolean,
                         OUT nodes int) LANGUAGE plpgsql AS $$
DECLARE
    captured jsonb;
    explained jsonb;
BEGIN
    SELECT e.plan::jsonb, (e.detail->>'analyzed')::boolean INTO captured, analyzed
      FROM perfguard.events e
     WHERE e.kind = 'slow_plan' AND e.fingerprint = perfguard.fingerprint(q)
     ORDER BY e.event_id DESC LIMIT 1;
    EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) ' || q INTO explained;
    same := skeleton(captured->'Plan') = skeleton(explained->0->'Plan');
    IF NOT same THEN
        RAISE NOTICE 'captured: %', skeleton(captured->'Plan');
        RAISE NOTICE 'explained: %', skeleton(explained->0->'Plan');
    END IF;
    SELECT count(*) INTO nodes
      FROM jsonb_path_query(captured->'Plan', 'strict $.** ? (exists (@."Node Type"))');
END $$;

SELECT perfguard.reset() >= 0 AS reset, perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.capture_interval = 0;
SET perfguard.seqscan_min_rows = -1;

-- the default threshold (1 s): a fast statement leaves no event
SELECT count(*) FROM cap WHERE grp = 1;
SELECT count(*) AS events FROM perfguard.events;

--
-- adaptive (the default): a slow run captures the estimates and arms the
-- statement; a fast instrumented run captures nothing; the next slow run
-- is captured with actual rows
--
SET perfguard.capture_min_duration = 50;
SELECT pg_sleep(0.06);
SELECT pg_sleep(0.001);
SELECT pg_sleep(0.06);
SELECT kind, query, detail->>'analyzed' AS analyzed,
       detail->>'armed_run' AS armed_run, detail->>'mode' AS mode,
       plan ~ 'actual rows=1(\.00)? loops=1' AS has_actuals,
       plan_format, duration_ms >= 50 AS slow
  FROM perfguard.events ORDER BY event_id;
SELECT query, calls, slow_calls, plans_captured
  FROM perfguard.stats WHERE query LIKE '%pg_sleep%' ORDER BY query;

-- capture_analyze = off: estimates only, and nothing is armed
SELECT perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.capture_analyze = off;
SELECT pg_sleep(0.06);
SELECT pg_sleep(0.06);
SELECT kind, detail->>'analyzed' AS analyzed, detail->>'armed_run' AS armed_run
  FROM perfguard.events ORDER BY event_id;
RESET perfguard.capture_analyze;

--
-- rate limiting: one plan per statement per capture_interval (the armed
-- run completes the capture it started); every slow run is still counted
--
SELECT perfguard.reset() >= 0 AS reset, perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.capture_interval = '1h';
SELECT pg_sleep(0.06);
SELECT pg_sleep(0.06);
SELECT pg_sleep(0.06);
SELECT pg_sleep(0.06);
SELECT kind, detail->>'analyzed' AS analyzed, detail->>'armed_run' AS armed_run
  FROM perfguard.events ORDER BY event_id;
SELECT query, calls, slow_calls, plans_captured
  FROM perfguard.stats WHERE query LIKE '%pg_sleep%';
SET perfguard.capture_interval = 0;

-- sampling: a sample rate of 0 captures nothing, and still counts
SELECT perfguard.reset() >= 0 AS reset, perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.capture_sample_rate = 0;
SELECT pg_sleep(0.06);
SELECT count(*) AS events FROM perfguard.events;
SELECT calls, slow_calls, plans_captured FROM perfguard.stats WHERE query LIKE '%pg_sleep%';
RESET perfguard.capture_sample_rate;

-- sampling in capture_mode = always is applied once, when the execution
-- starts: with a rate of 0.5, 400 slow executions are all counted in
-- slow_calls and about half of them captured (the bounds hold with a
-- probability above 1 - 1e-9; sampling twice captured about a quarter);
-- nested statements with capture_nested off are counted too, not captured
CREATE FUNCTION cap_nested(i int) RETURNS bigint LANGUAGE plpgsql
AS $$ BEGIN RETURN (SELECT count(*) FROM cap WHERE grp = i); END $$;
SELECT perfguard.reset() >= 0 AS reset, perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.capture_mode = always;
SET perfguard.capture_min_duration = 0;
SET perfguard.capture_interval = 0;
SET perfguard.capture_sample_rate = 0.5;
\set ECHO none
\o /dev/null
SELECT 'SELECT count(*) FROM cap WHERE grp = ' || g FROM generate_series(1, 400) g \gexec
\o
\set ECHO all
SET perfguard.track = 'all';
SELECT count(cap_nested(g)) FROM generate_series(1, 50) g;
RESET perfguard.track;
SELECT toplevel, calls, slow_calls = calls AS all_slow_counted,
       CASE WHEN toplevel THEN plans_captured BETWEEN 130 AND 270
            ELSE plans_captured = 0 END AS captured_as_sampled
  FROM perfguard.stats WHERE query LIKE '%SELECT count(*) FROM cap WHERE grp =%'
 ORDER BY toplevel;
RESET perfguard.capture_sample_rate;
SET perfguard.capture_min_duration = 50;
SET perfguard.capture_mode = adaptive;
DROP FUNCTION cap_nested(int);

-- an ERROR in a slow statement captures no plan (it gives a failed
-- event), and the next one is fine
SELECT perfguard.reset_events() >= 0 AS reset_events;
SELECT pg_sleep(0.06), 1 / (g - 2) FROM generate_series(1, 3) g;
SELECT pg_sleep(0.06);
SELECT kind, query FROM perfguard.events ORDER BY event_id;

--
-- always: every statement runs instrumented, so the first slow run is
-- captured with actual rows; the plan is the one EXPLAIN ANALYZE shows
--
SELECT perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.capture_mode = always;
SET perfguard.capture_min_duration = 0;
SET perfguard.capture_format = json;
SELECT grp, count(*) FROM cap WHERE id > 100 GROUP BY grp ORDER BY grp LIMIT 3;
SELECT * FROM fidelity('SELECT grp, count(*) FROM cap WHERE id > 100 GROUP BY grp ORDER BY grp LIMIT 3');
SELECT count(*) FROM cap c1 JOIN cap c2 ON c1.id = c2.id + 1 WHERE c2.grp = 3;
SELECT * FROM fidelity('SELECT count(*) FROM cap c1 JOIN cap c2 ON c1.id = c2.id + 1 WHERE c2.grp = 3');
SELECT id, grp FROM cap WHERE id = 42;
SELECT * FROM fidelity('SELECT id, grp FROM cap WHERE id = 42');
SELECT id FROM cap WHERE id = (SELECT max(id) FROM cap) OR grp IN (SELECT 11);
SELECT * FROM fidelity('SELECT id FROM cap WHERE id = (SELECT max(id) FROM cap) OR grp IN (SELECT 11)');
WITH s AS (SELECT grp, payload FROM cap ORDER BY payload LIMIT 5)
SELECT count(DISTINCT grp) FROM s;
-- (PostgreSQL 18 plans this one with two more nodes than 15)
SELECT same, analyzed, nodes >= 4 AS nodes
  FROM fidelity('WITH s AS (SELECT grp, payload FROM cap ORDER BY payload LIMIT 5)
SELECT count(DISTINCT grp) FROM s');
-- the captured plans carry buffers (capture_buffers = on), not timing
SELECT bool_and(plan::jsonb->'Plan' ? 'Shared Hit Blocks') AS buffers,
       bool_or(plan::jsonb->'Plan' ? 'Actual Total Time') AS timing
  FROM perfguard.events WHERE kind = 'slow_plan' AND query LIKE '%cap%';
SET perfguard.capture_timing = on;
SELECT count(*) FROM cap WHERE grp = 2;
SELECT plan::jsonb->'Plan' ? 'Actual Total Time' AS timing
  FROM perfguard.events WHERE kind = 'slow_plan' ORDER BY event_id DESC LIMIT 1;
RESET perfguard.capture_timing;

-- text format, and the query is the statement's normalized text
SET perfguard.capture_format = text;
SELECT perfguard.reset_events() >= 0 AS reset_events;
SELECT id FROM cap WHERE id = 7;
SELECT query, plan_format,
       regexp_replace(regexp_replace(regexp_replace(plan,
           'cost=[0-9.]+ rows=[0-9]+ width=[0-9]+', 'cost', 'g'),
           'actual rows=([0-9]+)\.00', 'actual rows=\1', 'g'),	-- 18: rows=1.00
           '\n *Index Searches: [0-9]+', '', 'g') AS plan	-- 18 shows these
  FROM perfguard.events WHERE query NOT LIKE '%perfguard%' ORDER BY event_id;

--
-- nested statements are captured only with capture_nested = on
--
SELECT perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.capture_min_duration = 50;
CREATE FUNCTION slow_inner() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(0.06);
END $$;
SELECT slow_inner();
SET perfguard.capture_nested = on;
SELECT slow_inner();
SELECT kind, toplevel, query, detail->>'analyzed' AS analyzed
  FROM perfguard.events WHERE query NOT LIKE '%perfguard%' ORDER BY event_id;
RESET perfguard.capture_nested;

--
-- a cursor fetched in pieces: its query is captured once, when it ends,
-- with the rows of every FETCH
--
SELECT perfguard.reset() >= 0 AS reset, perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.capture_min_duration = 0;
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM cap WHERE grp = 4 ORDER BY id;
FETCH 3 FROM c;
FETCH 2 FROM c;
CLOSE c;
COMMIT;
SELECT kind, query, toplevel, detail->>'rows' AS rows,
       plan ~ '^(Index Scan|Sort).*actual rows=5(\.00)? loops=1' AS plan_rows
  FROM perfguard.events WHERE query NOT LIKE 'FETCH%' AND query NOT LIKE 'CLOSE%'
 ORDER BY event_id;
SELECT query, calls, rows FROM perfguard.stats
 WHERE query LIKE '%grp = $1 ORDER BY id' ORDER BY query;

--
-- a parallel plan: the workers' rows are in the captured actuals
--
SELECT perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.capture_format = json;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
-- (a per-loop average times the loops is the total when the loops divide it)
SELECT count(*) FROM cap WHERE grp = 3;
SELECT n->>'Node Type' AS node,
       round((n->>'Actual Rows')::numeric * (n->>'Actual Loops')::int) AS rows_all_processes,
       (plan::jsonb #>> '{Plan,Plans,0,Workers Launched}')::int > 0 AS workers_launched
  FROM perfguard.events,
       jsonb_path_query(plan::jsonb, 'strict $.** ? (@."Node Type" == "Seq Scan")') n
 WHERE kind = 'slow_plan' AND query LIKE '%grp = $1';
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;

RESET perfguard.capture_mode;
RESET perfguard.capture_min_duration;
RESET perfguard.capture_format;
RESET perfguard.capture_interval;
RESET perfguard.seqscan_min_rows;
DROP FUNCTION slow_inner();
DROP FUNCTION fidelity(text);
DROP FUNCTION skeleton(jsonb);
DROP TABLE cap;
