--
-- nplusone: the same statement repeated inside a transaction (N+1 reads,
-- row-by-row writing), in autocommit bursts, and in PL/pgSQL loops
--
CREATE TABLE authors (id int PRIMARY KEY, name text);
CREATE TABLE books (id int PRIMARY KEY, author_id int NOT NULL, title text);
INSERT INTO authors SELECT g, 'author ' || g FROM generate_series(1, 40) g;
INSERT INTO books SELECT g, 1 + g % 40, 'book ' || g FROM generate_series(1, 400) g;
CREATE INDEX ON books (author_id);
CREATE TABLE audit (id int, note text);
ANALYZE authors, books;

CREATE VIEW repeats AS
    SELECT kind, query, detail->>'scope' AS scope, detail->>'count' AS count,
           detail->>'threshold' AS threshold,
           detail->>'parent_query' AS parent_query,
           detail->>'parent_rows' AS parent_rows
      FROM perfguard.events WHERE kind IN ('n_plus_one', 'row_by_row_dml')
     ORDER BY event_id;

SELECT perfguard.reset() >= 0 AS reset, perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.capture_interval = 0;
SET perfguard.seqscan_min_rows = -1;
SHOW perfguard.nplus1_threshold;
SHOW perfguard.row_by_row_threshold;

-- an ORM loop in one transaction: one query for 15 authors, then one query
-- per author (\gexec runs each generated statement on its own; the blocks
-- between ECHO none and ECHO all are not echoed, only their messages show).
-- Reported once, with the final count and the parent.
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT title FROM books WHERE author_id = %s ORDER BY id LIMIT 1', id)
  FROM authors ORDER BY id LIMIT 15 \gexec
\o
\set ECHO all
COMMIT;
SELECT * FROM repeats;
SELECT query, calls, n_plus_one FROM perfguard.stats
 WHERE query LIKE 'SELECT title FROM books%';

-- below the threshold: 9 repeats are not reported
SELECT perfguard.reset_events() >= 0 AS reset_events;
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT title FROM books WHERE author_id = %s ORDER BY id LIMIT 1', id)
  FROM authors ORDER BY id LIMIT 9 \gexec
\o
\set ECHO all
COMMIT;
-- the fixed versions: one join, or one = ANY(array)
BEGIN;
SELECT count(*) FROM authors a JOIN books b ON b.author_id = a.id WHERE a.id <= 15;
SELECT count(*) FROM books WHERE author_id = ANY (ARRAY(SELECT id FROM authors ORDER BY id LIMIT 15));
COMMIT;
SELECT count(*) AS events FROM repeats;

-- the counts start again in every transaction, however it ended: an error
-- in the middle, then a new transaction of 8 (not reported)
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT title FROM books WHERE author_id = %s ORDER BY id LIMIT 1', id)
  FROM authors ORDER BY id LIMIT 8 \gexec
\o
\set ECHO all
SELECT 1 / 0;
ROLLBACK;
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT title FROM books WHERE author_id = %s ORDER BY id LIMIT 1', id)
  FROM authors ORDER BY id LIMIT 8 \gexec
\o
\set ECHO all
COMMIT;
-- executions in a subtransaction rolled back still count (the work was
-- done): 6 + 6 reach the threshold
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT title FROM books WHERE author_id = %s ORDER BY id LIMIT 1', id)
  FROM authors ORDER BY id LIMIT 6 \gexec
SAVEPOINT s;
SELECT format('SELECT title FROM books WHERE author_id = %s ORDER BY id LIMIT 1', id)
  FROM authors ORDER BY id DESC LIMIT 6 \gexec
ROLLBACK TO s;
\o
\set ECHO all
COMMIT;
-- and two-phase commit ends a transaction too: 8 before PREPARE, 8 after
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT title FROM books WHERE author_id = %s ORDER BY id LIMIT 1', id)
  FROM authors ORDER BY id LIMIT 8 \gexec
\o
\set ECHO all
PREPARE TRANSACTION 'pfg_nplus1';
COMMIT PREPARED 'pfg_nplus1';
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT title FROM books WHERE author_id = %s ORDER BY id LIMIT 1', id)
  FROM authors ORDER BY id LIMIT 8 \gexec
\o
\set ECHO all
COMMIT;
SELECT kind, scope, count, parent_rows FROM repeats;

-- row-by-row writing is told apart, with its own threshold; a multi-row
-- INSERT repeated is batching already and is not counted
SELECT perfguard.reset_events() >= 0 AS reset_events;
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('INSERT INTO audit VALUES (%s, %L)', g, 'row ' || g)
  FROM generate_series(1, 55) g \gexec
SELECT format('INSERT INTO audit VALUES (%s, %L), (%s, %L)', g, 'a', g, 'b')
  FROM generate_series(1, 55) g \gexec
\o
\set ECHO all
COMMIT;
SELECT kind, query, scope, count, threshold FROM repeats;

--
-- autocommit: a burst of statements with short pauses is one scope.  The
-- loop is reported when it follows a parent that ran once and returned
-- at least as many rows as the threshold.
--
SELECT perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.nplus1_window = '200ms';
SELECT pg_sleep(0.3);
\set ECHO none
\o /dev/null
SELECT format('SELECT title FROM books WHERE author_id = %s ORDER BY id LIMIT 1', id)
  FROM authors ORDER BY id LIMIT 12 \gexec
\o
\set ECHO all
SELECT kind, query, scope, count, parent_query, parent_rows FROM repeats;

-- one lookup over and over after a one-row statement (what pgbench -S
-- does after its set-up query): no parent that drives it, not reported
SELECT perfguard.reset_events() >= 0 AS reset_events;
SELECT pg_sleep(0.3);
\set ECHO none
\o /dev/null
SELECT 'SELECT title FROM books WHERE id = 1', 'SELECT title FROM books WHERE id = 2',
       'SELECT title FROM books WHERE id = 3', 'SELECT title FROM books WHERE id = 4',
       'SELECT title FROM books WHERE id = 5', 'SELECT title FROM books WHERE id = 6',
       'SELECT title FROM books WHERE id = 7', 'SELECT title FROM books WHERE id = 8',
       'SELECT title FROM books WHERE id = 9', 'SELECT title FROM books WHERE id = 10',
       'SELECT title FROM books WHERE id = 11', 'SELECT title FROM books WHERE id = 12' \gexec
\o
\set ECHO all
-- nested N+1 in autocommit, as an ORM loads it: 12 authors, then the books
-- of each author (12 lookups), then each of those books again by id (60
-- lookups).  Both loops are reported: the per-book lookup's parent, the
-- books-by-author lookup, is itself repeated and its lists drove it.
SELECT perfguard.reset_events() >= 0 AS reset_events;
SELECT pg_sleep(0.3);
\set ECHO none
\o /dev/null
SELECT sql FROM (
    SELECT 'SELECT id FROM authors WHERE id <= 12 ORDER BY id' AS sql, 0 AS a, 0 AS b
    UNION ALL
    SELECT format('SELECT id, title FROM books WHERE author_id = %s ORDER BY id LIMIT 5', a.id), a.id, 0
      FROM authors a WHERE a.id <= 12
    UNION ALL
    SELECT format('SELECT title, author_id FROM books WHERE id = %s', b.id), b.author_id, b.id
      FROM authors a CROSS JOIN LATERAL
           (SELECT id, author_id FROM books WHERE author_id = a.id ORDER BY id LIMIT 5) b
     WHERE a.id <= 12
) q ORDER BY a, b \gexec
\o
\set ECHO all
SELECT kind, query, scope, parent_query FROM repeats;
SELECT perfguard.reset_events() >= 0 AS reset_events;

-- a pause longer than the window splits the loop: no burst reaches 10
SELECT pg_sleep(0.3);
\set ECHO none
\o /dev/null
SELECT format('SELECT title FROM books WHERE author_id = %s ORDER BY id LIMIT 1', id)
  FROM authors ORDER BY id LIMIT 6 \gexec
\o
\set ECHO all
-- (a real pause: no statement in it; a statement that sleeps is part of
-- the burst)
\! sleep 0.3
\set ECHO none
\o /dev/null
SELECT format('SELECT title FROM books WHERE author_id = %s ORDER BY id LIMIT 1', id)
  FROM authors ORDER BY id LIMIT 6 \gexec
\o
\set ECHO all
SELECT count(*) AS events FROM repeats;
-- nplus1_window = 0: autocommit statements are not counted
SET perfguard.nplus1_window = 0;
SELECT pg_sleep(0.3);
\set ECHO none
\o /dev/null
SELECT format('SELECT title FROM books WHERE author_id = %s ORDER BY id LIMIT 1', id)
  FROM authors ORDER BY id LIMIT 12 \gexec
\o
\set ECHO all
SELECT count(*) AS events FROM repeats;
RESET perfguard.nplus1_window;

--
-- a PL/pgSQL loop that runs a query per row: counted with track = all, and
-- the client's statement that called the function is the parent
--
CREATE FUNCTION titles_by_author() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    a record;
    t text;
    n bigint := 0;
BEGIN
    FOR a IN SELECT id FROM authors ORDER BY id LIMIT 20 LOOP
        SELECT title INTO t FROM books WHERE author_id = a.id ORDER BY id LIMIT 1;
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;
SELECT perfguard.reset_events() >= 0 AS reset_events;
SELECT titles_by_author();
SELECT count(*) AS events FROM repeats;
SET perfguard.track = 'all';
SELECT titles_by_author();
RESET perfguard.track;
SELECT kind, query, scope, count, parent_query FROM repeats;

--
-- actions: warn, and error with its own SQLSTATE, at the statement that
-- reaches the threshold
--
SELECT perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.nplus1_action = 'warn';
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT title FROM books WHERE author_id = %s ORDER BY id LIMIT 1', id)
  FROM authors ORDER BY id LIMIT 11 \gexec
\o
\set ECHO all
COMMIT;
SET perfguard.nplus1_action = 'error';
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT title FROM books WHERE author_id = %s ORDER BY id LIMIT 1', id)
  FROM authors ORDER BY id LIMIT 11 \gexec
\o
\set ECHO all
ROLLBACK;
\set VERBOSITY sqlstate
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('INSERT INTO audit VALUES (%s, %L)', g, 'row ' || g)
  FROM generate_series(1, 50) g \gexec
\o
\set ECHO all
ROLLBACK;
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT title FROM books WHERE author_id = %s ORDER BY id LIMIT 1', id)
  FROM authors ORDER BY id LIMIT 10 \gexec
\o
\set ECHO all
ROLLBACK;
\set VERBOSITY default
RESET perfguard.nplus1_action;
-- every occurrence is an event and is counted (the failed ones too)
SELECT kind, count FROM repeats;
SELECT query, n_plus_one, row_by_row_dml FROM perfguard.stats
 WHERE n_plus_one > 0 OR row_by_row_dml > 0 ORDER BY query;

-- thresholds are -1 (off) or at least 2
SET perfguard.nplus1_threshold = 1;
SET perfguard.nplus1_threshold = -1;
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT title FROM books WHERE author_id = %s ORDER BY id LIMIT 1', id)
  FROM authors ORDER BY id LIMIT 12 \gexec
\o
\set ECHO all
COMMIT;
RESET perfguard.nplus1_threshold;

-- the rate limit (capture_interval) is per N+1 site, (statement, parent):
-- the same lookup driven by two different queries is reported twice; the
-- same site again within the interval is not; perfguard.reset_events()
-- starts the rate limit over
SET perfguard.capture_interval = 3600;
SELECT perfguard.reset_events() >= 0 AS reset_events;
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT name FROM authors WHERE id = %s', id) FROM authors WHERE id <= 12 ORDER BY id \gexec
\o
\set ECHO all
COMMIT;
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT name FROM authors WHERE id = %s', author_id) FROM books WHERE id <= 12 ORDER BY id \gexec
\o
\set ECHO all
COMMIT;
-- the first site again: rate-limited
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT name FROM authors WHERE id = %s', id) FROM authors WHERE id <= 12 ORDER BY id \gexec
\o
\set ECHO all
COMMIT;
SELECT query, parent_query FROM repeats;
SELECT perfguard.reset_events('n_plus_one') AS reset_events;
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT name FROM authors WHERE id = %s', id) FROM authors WHERE id <= 12 ORDER BY id \gexec
\o
\set ECHO all
COMMIT;
SELECT query, parent_query FROM repeats;

-- long transactions: 3 transactions of 300 distinct statements each (a
-- test suite wrapping each test in one) are counted completely: every
-- statement ran in 3 transactions, and a repetition after them is still
-- detected; nothing was left uncounted
SET perfguard.capture_interval = 0;
SELECT perfguard.reset() >= 0 AS reset, perfguard.reset_events() >= 0 AS reset_events;
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT %s FROM authors WHERE id = 1', string_agg('id', ', ')) FROM generate_series(1, 300) k, generate_series(1, k) GROUP BY k \gexec
\o
\set ECHO all
COMMIT;
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT %s FROM authors WHERE id = 1', string_agg('id', ', ')) FROM generate_series(1, 300) k, generate_series(1, k) GROUP BY k \gexec
\o
\set ECHO all
COMMIT;
BEGIN;
\set ECHO none
\o /dev/null
SELECT format('SELECT %s FROM authors WHERE id = 1', string_agg('id', ', ')) FROM generate_series(1, 300) k, generate_series(1, k) GROUP BY k \gexec
SELECT format('SELECT title FROM books WHERE id = %s', g) FROM generate_series(1, 12) g \gexec
\o
\set ECHO all
COMMIT;
SELECT count(*) AS statements, count(*) FILTER (WHERE xacts = 3 AND calls = 3) AS in_3_xacts,
       max(max_calls_per_xact) AS max_per_xact
  FROM perfguard.stats WHERE query LIKE 'SELECT id%';
SELECT query, count FROM repeats;
SELECT nplus1_uncounted FROM perfguard.info();

RESET perfguard.capture_interval;
RESET perfguard.seqscan_min_rows;
SELECT perfguard.reset_events() >= 0 AS reset_events;
DROP FUNCTION titles_by_author();
DROP VIEW repeats;
DROP TABLE audit, books, authors;
