--
-- nesting: perfguard.track, nested statements, and errors at any depth
--
CREATE TABLE nest (id int PRIMARY KEY, v int);
INSERT INTO nest SELECT g, g FROM generate_series(1, 100) g;

CREATE FUNCTION nest_sum() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT sum(v) FROM nest WHERE id <= 10);
END $$;

CREATE FUNCTION nest_fail(d int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE r int;
BEGIN
    SELECT v / d INTO r FROM nest WHERE id = 1;
    RETURN r;
END $$;

-- The nested statement's text is the query inside the function.
CREATE VIEW nested_stats AS
    SELECT query, calls, rows, toplevel FROM perfguard.stats
     WHERE query LIKE '%nest%' AND query NOT LIKE '%perfguard%'
       AND query NOT LIKE 'CREATE%' AND query NOT LIKE 'INSERT%';

-- track = top: only the client's statement
SET perfguard.track = 'top';
SELECT perfguard.reset() >= 0 AS reset;
SELECT nest_sum();
SELECT * FROM nested_stats ORDER BY query COLLATE "C", toplevel;

-- track = all: the nested statement too, marked toplevel = false
SET perfguard.track = 'all';
SELECT perfguard.reset() >= 0 AS reset;
SELECT nest_sum();
SELECT nest_sum();
SELECT * FROM nested_stats ORDER BY query COLLATE "C", toplevel;

-- An ERROR thrown two levels down leaves the nesting depth right:
-- afterwards, the function's statement is still nested and the client's
-- statements are still top level.
SELECT perfguard.reset() >= 0 AS reset;
SELECT nest_fail(0);
SELECT nest_fail(1);
SELECT v FROM nest WHERE id = 2;
SELECT * FROM nested_stats ORDER BY query COLLATE "C", toplevel;

-- the same with track = top: statements after the error are still tracked
SET perfguard.track = 'top';
SELECT perfguard.reset() >= 0 AS reset;
SELECT nest_fail(0);
SELECT v FROM nest WHERE id = 3;
SELECT nest_fail(1);
SELECT * FROM nested_stats ORDER BY query COLLATE "C", toplevel;

-- an error inside a DO block, caught by an exception handler
SELECT perfguard.reset() >= 0 AS reset;
DO $$
BEGIN
    PERFORM nest_fail(0);
EXCEPTION WHEN division_by_zero THEN
    RAISE NOTICE 'caught';
END $$;
SELECT v FROM nest WHERE id = 4;
SELECT * FROM nested_stats ORDER BY query COLLATE "C", toplevel;

-- statements run by a DO block are nested, not top level
SELECT perfguard.reset() >= 0 AS reset;
DO $$ BEGIN PERFORM count(*) FROM nest; END $$;
SELECT count(*) AS top_level_counts FROM perfguard.stats
 WHERE query LIKE '%count(*) FROM nest%' AND toplevel;
SET perfguard.track = 'all';
DO $$ BEGIN PERFORM count(*) FROM nest; END $$;
SELECT * FROM nested_stats WHERE query LIKE '%count(*)%' ORDER BY query COLLATE "C", toplevel;

-- a cursor: DECLARE, FETCH and CLOSE are timed as commands, and FETCH
-- counts the rows it returns (the query a cursor runs has no queryid)
SELECT perfguard.reset() >= 0 AS reset;
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM nest WHERE id <= 7 ORDER BY id;
FETCH 3 FROM c;
FETCH 10 FROM c;
CLOSE c;
COMMIT;
SELECT query, calls, rows, toplevel FROM perfguard.stats
 WHERE query NOT LIKE '%perfguard%' ORDER BY query COLLATE "C", toplevel, rows;

-- EXPLAIN runs nothing: only the command is timed; EXPLAIN ANALYZE runs
-- its statement, which is nested
SET perfguard.track = 'all';
SELECT perfguard.reset() >= 0 AS reset;
\o /dev/null
EXPLAIN SELECT v FROM nest WHERE id = 6;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT v FROM nest WHERE id = 7;
\o
SELECT query, calls, rows, toplevel FROM perfguard.stats
 WHERE query NOT LIKE '%perfguard%' ORDER BY query COLLATE "C", toplevel;

-- nesting deeper than perfguard's pool of 32 execution records: the
-- deeper levels take their records from the query's own memory
CREATE FUNCTION nest_depth(n int, d int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    IF n = 0 THEN
        RETURN 0 / d;
    END IF;
    RETURN (SELECT nest_depth(n - 1, d) + 1);
END $$;
SELECT perfguard.reset() >= 0 AS reset;
SELECT nest_depth(40, 1);
SELECT query, calls, rows, toplevel FROM perfguard.stats
 WHERE query LIKE '%nest_depth%' AND query NOT LIKE '%perfguard%'
 ORDER BY query COLLATE "C", toplevel;
-- an ERROR at the bottom of such a stack (d = 0) leaves the level right:
-- the next client statement is top level, the next nested one nested
SELECT perfguard.reset() >= 0 AS reset;
\set VERBOSITY terse
SELECT nest_depth(45, 0);
\set VERBOSITY default
SELECT v FROM nest WHERE id = 8;
SELECT nest_depth(2, 1);
SELECT query, calls, rows, toplevel FROM perfguard.stats
 WHERE query NOT LIKE '%perfguard%'
 ORDER BY query COLLATE "C", toplevel;
DROP FUNCTION nest_depth(int, int);

-- track = none records nothing
SET perfguard.track = 'none';
SELECT perfguard.reset() >= 0 AS reset;
SELECT nest_sum();
SELECT v FROM nest WHERE id = 5;
SELECT count(*) AS recorded FROM perfguard.stats;

RESET perfguard.track;
DROP VIEW nested_stats;
DROP FUNCTION nest_sum(), nest_fail(int);
DROP TABLE nest;
