--
-- hardening: statistics booked to the right statement, verdicts in the
-- statement that earns them, parallel plans, deep recursion
--
CREATE TABLE hx (a int, b int);

-- 1. The backend's entry cache after resets: 70 statements of distinct
--    shapes, each run twice per round in another order, a full reset
--    before each of 40 rounds (the freed entries are reused for other
--    statements).  Every statement must show exactly its own two calls.
--    (perfguard 1.0 booked some to another statement here.)
SET perfguard.track = 'all';
DO $$
DECLARE
    wrong int := 0;
    n int;
    k int;
BEGIN
    FOR r IN 1..40 LOOP
        PERFORM perfguard.reset();
        FOR pass IN 1..2 LOOP
            FOR k IN SELECT g FROM generate_series(1, 70) g
                      ORDER BY md5(g::text || '/' || r || '/' || pass) LOOP
                EXECUTE format('SELECT %s FROM hx',
                               (SELECT string_agg('a + ' || i, ', ')
                                  FROM generate_series(1, k) i));
            END LOOP;
        END LOOP;
        SELECT count(*) INTO n FROM perfguard.stats
         WHERE query LIKE 'SELECT a + $1%FROM hx' AND calls <> 2;
        wrong := wrong + n;
    END LOOP;
    RAISE NOTICE 'statements whose calls went to another statement: %', wrong;
END $$;
RESET perfguard.track;

-- 2. A cursor's verdict belongs to the FETCH that earns it, never to COMMIT.
CREATE TABLE hc (id int);
INSERT INTO hc SELECT generate_series(1, 500);
CREATE TABLE hlog (n int);
SELECT perfguard.set_budget('SELECT id FROM hc', max_rows => 150) IS NOT NULL AS budget;
SET perfguard.enforce = error;
\set VERBOSITY sqlstate
-- the second FETCH crosses max_rows: it fails, the transaction with it
BEGIN;
INSERT INTO hlog VALUES (1);
DECLARE c CURSOR FOR SELECT id FROM hc;
FETCH 100 FROM c \g /dev/null
FETCH 100 FROM c \g /dev/null
COMMIT;
-- fetched under the limit, then COMMIT without CLOSE: COMMIT succeeds
BEGIN;
INSERT INTO hlog VALUES (2);
DECLARE c CURSOR FOR SELECT id FROM hc;
FETCH 100 FROM c \g /dev/null
COMMIT;
-- a limit only the end of the query shows (a large table read
-- sequentially), with the cursor never fetched to its end: a WARNING at
-- COMMIT, which succeeds
SET perfguard.seqscan_min_rows = 100;
SELECT perfguard.set_default_budget(allow_seqscan => false) IS NULL AS set;
BEGIN;
INSERT INTO hlog VALUES (3);
DECLARE c CURSOR FOR SELECT id FROM hc WHERE id > 0;
FETCH 10 FROM c \g /dev/null
COMMIT;
-- the same fetched to its end: the FETCH fails
BEGIN;
INSERT INTO hlog VALUES (4);
DECLARE c CURSOR FOR SELECT id FROM hc WHERE id > 0;
FETCH ALL FROM c \g /dev/null
COMMIT;
\set VERBOSITY default
RESET perfguard.enforce;
RESET perfguard.seqscan_min_rows;
SELECT n FROM hlog ORDER BY n;
SELECT perfguard.drop_default_budget() AS dropped, perfguard.drop_budget('SELECT id FROM hc') AS dropped;

-- 3. A nested statement inside a parallel plan, with enforce on: no
--    snapshot is taken in parallel mode, the query works.
CREATE TABLE hbig AS SELECT g AS id FROM generate_series(1, 100000) g;
ANALYZE hbig;
CREATE FUNCTION hcount(i int) RETURNS bigint LANGUAGE plpgsql PARALLEL SAFE
AS $$ BEGIN RETURN (SELECT count(*) FROM hlog WHERE n = i); END $$;
SET perfguard.track = 'all';
SET perfguard.enforce = warn;
SELECT perfguard.set_default_budget(max_rows => 1000000) IS NULL AS set;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT sum(hcount(id)) FROM hbig WHERE id < 5;
SELECT sum(hcount(id)) FROM hbig WHERE id < 5;
-- (force_parallel_mode, called debug_parallel_query from PostgreSQL 16 on)
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END,
                  'on', false) AS debug_parallel;
SELECT sum(hcount(id)) FROM hbig WHERE id < 5;
SELECT count(*) FROM hc;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END,
                  'off', false) AS debug_parallel;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT perfguard.drop_default_budget() AS dropped;
RESET perfguard.enforce;

-- 4. Deep recursion with every statement tracked: 800 levels of PL/pgSQL
--    work at the default max_stack_depth, as on a plain server.
SHOW max_stack_depth;
CREATE FUNCTION hrec(n int) RETURNS int LANGUAGE plpgsql
AS $$ BEGIN IF n <= 0 THEN RETURN 0; END IF; RETURN hrec(n - 1) + 1; END $$;
SELECT hrec(800);
-- an error caught deep inside leaves the nesting level right: the next
-- statement is top level again
CREATE FUNCTION hfail(n int) RETURNS int LANGUAGE plpgsql
AS $$ BEGIN IF n <= 0 THEN RETURN 1 / 0; END IF; RETURN hfail(n - 1) + 1; END $$;
DO $$ BEGIN PERFORM hfail(50); EXCEPTION WHEN division_by_zero THEN NULL; END $$;
-- (no CONTEXT lines: their wording differs between PostgreSQL versions)
\set SHOW_CONTEXT never
SELECT hfail(10);
\set SHOW_CONTEXT errors
SELECT perfguard.reset() >= 0 AS reset;
SELECT count(*) AS here FROM hx;
SELECT query, toplevel FROM perfguard.stats WHERE query LIKE '%AS here FROM hx';
RESET perfguard.track;

-- a procedure that ends transactions (COMMIT, ROLLBACK inside a CALL):
-- its statements after them are still nested, and the statement after the
-- CALL is top level
CREATE PROCEDURE hproc() LANGUAGE plpgsql
AS $$ BEGIN PERFORM 1; COMMIT; PERFORM count(*) * 2 FROM hx; ROLLBACK; PERFORM count(*) * 3 FROM hx; END $$;
SET perfguard.track = 'all';
SELECT perfguard.reset() >= 0 AS reset;
CALL hproc();
SELECT count(*) * 4 FROM hx;
SELECT query, toplevel, calls FROM perfguard.stats
 WHERE query LIKE '%count(*) * $1 FROM hx%' ORDER BY toplevel, query COLLATE "C";
RESET perfguard.track;
DROP PROCEDURE hproc();

DROP TABLE hx, hc, hlog, hbig;
DROP FUNCTION hcount(int), hrec(int), hfail(int);
