--
-- stats: what perfguard.stats records for each statement
--
SELECT perfguard.reset() >= 0 AS reset;

CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric);
INSERT INTO accounts SELECT g, 'owner ' || g, g * 10 FROM generate_series(1, 1000) g;

SELECT owner FROM accounts WHERE id = 1;
SELECT owner FROM accounts WHERE id = 2;
select   owner
  from accounts   -- a comment
 where id = 3;
CHECKPOINT;	-- so that the update finds clean pages
UPDATE accounts SET balance = balance + 1 WHERE id BETWEEN 10 AND 19;
SELECT count(*) FROM accounts WHERE balance > 100.5;

-- calls, rows and normalized text (constants become $n)
SELECT query, calls, rows, toplevel
  FROM perfguard.stats
 WHERE query NOT LIKE '%perfguard%'
 ORDER BY query COLLATE "C";

-- times are consistent with each other
SELECT query,
       total_exec_time > 0 AS total,
       min_exec_time <= mean_exec_time AND mean_exec_time <= max_exec_time AS min_mean_max,
       p50_exec_time <= p95_exec_time AND p95_exec_time <= p99_exec_time AS p50_p95_p99,
       p50_exec_time BETWEEN min_exec_time AND max_exec_time AS p50_in_range,
       stddev_exec_time >= 0 AS stddev,
       first_exec_at <= last_exec_at AS first_last
  FROM perfguard.stats
 WHERE query LIKE '%FROM accounts%' OR query LIKE '%from accounts%'
 ORDER BY query COLLATE "C";

-- buffer counters: the table was read through shared buffers, the update dirtied it
SELECT shared_blks_hit + shared_blks_read > 0 AS blocks_read
  FROM perfguard.stats WHERE query LIKE 'SELECT count(*) FROM accounts%';
SELECT shared_blks_dirtied > 0 AS blocks_dirtied
  FROM perfguard.stats WHERE query LIKE 'UPDATE accounts%';

-- temporary tables count as local blocks
CREATE TEMP TABLE scratch AS SELECT g AS n FROM generate_series(1, 500) g;
SELECT sum(n) FROM scratch;
SELECT local_blks_hit + local_blks_read > 0 AS local_blocks
  FROM perfguard.stats WHERE query = 'SELECT sum(n) FROM scratch';

-- a statement that fails while it runs is counted as failed, not as a call
SELECT 10 / (id - 1) FROM accounts WHERE id < 5;
SELECT calls, failed_calls, failed_by_sqlstate->>'other' AS other
  FROM perfguard.stats WHERE query LIKE '% / (id - %';

-- prepared statements: every EXECUTE counts as a call of the prepared text
PREPARE by_id(int) AS SELECT balance FROM accounts WHERE id = $1;
EXECUTE by_id(5);
EXECUTE by_id(6);
EXECUTE by_id(7);
SELECT query, calls, rows, toplevel FROM perfguard.stats
 WHERE query LIKE 'PREPARE by_id%';
DEALLOCATE by_id;

-- utility commands are timed too (perfguard.track_utility), with their rows
SELECT query, calls, rows FROM perfguard.stats
 WHERE query LIKE 'CREATE TABLE accounts%' OR query LIKE 'CREATE TEMP TABLE%'
 ORDER BY query COLLATE "C";
SET perfguard.track_utility = off;
CREATE TABLE not_timed (a int);
SELECT count(*) AS untimed FROM perfguard.stats WHERE query LIKE '%not_timed%';
RESET perfguard.track_utility;

-- percentiles from controlled inputs: 90 short sleeps and 10 of 50 ms
SELECT perfguard.reset() >= 0 AS reset;
-- (same constant type, so one queryid: pg_sleep(0) would be another)
\set ECHO none
\o /dev/null
SELECT 'SELECT pg_sleep(0.0)' FROM generate_series(1, 90) \gexec
SELECT 'SELECT pg_sleep(0.05)' FROM generate_series(1, 10) \gexec
\o
\set ECHO all
SELECT query, calls,
       p50_exec_time < 40 AS p50_short,
       p95_exec_time >= 40 AS p95_long,
       p99_exec_time >= 40 AS p99_long,
       max_exec_time >= 50 AS max_long,
       min_exec_time < 40 AS min_short
  FROM perfguard.stats WHERE query LIKE 'SELECT pg_sleep%';

-- reset of one fingerprint leaves the others
SELECT count(*) > 1 AS several FROM perfguard.stats;
SELECT perfguard.reset(perfguard.fingerprint('SELECT pg_sleep(1.5)')) AS removed;
SELECT count(*) AS sleeps_left FROM perfguard.stats WHERE query LIKE 'SELECT pg_sleep%';
SELECT count(*) > 0 AS others_left FROM perfguard.stats;

-- full reset
SELECT perfguard.reset() > 0 AS removed_some;
SELECT statements <= 1 AS nearly_empty, evictions, stats_reset > now() - interval '1 hour' AS reset_recently
  FROM perfguard.info();

DROP TABLE accounts, not_timed;
