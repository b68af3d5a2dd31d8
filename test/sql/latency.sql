--
-- latency: the statistical latency kinds of perfguard.regressions(), on
-- controlled inputs.  Both runs are baseline documents built here call by
-- call (the second stored as baseline 'now' and compared with
-- compare_to), so every histogram, percentile and p-value is exact.
--   - the claim tested is "more than min_effect slower", not "any increase"
--   - the run's speed factor: a whole run slower is not a regression of
--     every statement; one statement slower than the rest still is
--   - Holm's correction across the statements of one report
--   - minimum absolute effects, per call and per run
--   - policy 'p95', the rule of the first design, is still there
--   - perfguard.shift_test() against exact values; bad arguments
--

-- The histogram bucket of a duration (docs/baselines.md, histogram.h).
CREATE FUNCTION pg_temp.bucket(ms float8) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN u < 8 THEN u
                ELSE 8 * (e - 2) + ((u >> (e - 3)) & 7) END
      FROM (SELECT u, floor(log(2, u))::int AS e
              FROM (SELECT floor(ms * 1000 + 1e-9)::bigint AS u) a) b
$$;

-- A statement of a document from its calls: ms[i] taken n[i] times.
CREATE FUNCTION pg_temp.stmt(fp bigint, ms float8[], n int[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    WITH calls AS (
        SELECT m FROM unnest(ms, n) AS u(m, k), generate_series(1, k)),
    ranked AS (
        SELECT m, row_number() OVER (ORDER BY m) AS r, count(*) OVER () AS total FROM calls)
    SELECT jsonb_build_object(
               'fingerprint', fp::text,
               'calls', (SELECT count(*) FROM calls),
               'mean_ms', (SELECT avg(m) FROM calls),
               'stddev_ms', (SELECT coalesce(stddev_samp(m), 0) FROM calls),
               'p50_ms', (SELECT m FROM ranked WHERE r = ceil(0.5 * total)),
               'p95_ms', (SELECT m FROM ranked WHERE r = ceil(0.95 * total)),
               'latency_histogram',
               (SELECT jsonb_agg(jsonb_build_array(b, c) ORDER BY b)
                  FROM (SELECT pg_temp.bucket(m) AS b, count(*) AS c
                          FROM calls GROUP BY 1) h))
$$;

CREATE FUNCTION pg_temp.doc(VARIADIC stmts jsonb[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('format', 'perfguard-baseline', 'version', 2,
                              'name', 'now', 'server_version_num', 150000,
                              'statements', to_jsonb(stmts))
$$;

-- 30 calls spread evenly from lo to hi ms
CREATE FUNCTION pg_temp.spread(lo float8, hi float8, k int DEFAULT 30) RETURNS float8[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_agg(lo + (hi - lo) * i / (k - 1) ORDER BY i) FROM generate_series(0, k - 1) i
$$;
CREATE FUNCTION pg_temp.ones(k int DEFAULT 30) RETURNS int[]
LANGUAGE sql IMMUTABLE AS $$ SELECT array_fill(1, ARRAY[k]) $$;

-- Compares two documents: the second stored as 'now'.
CREATE FUNCTION pg_temp.judge(base jsonb, cur jsonb, opts text DEFAULT '')
RETURNS TABLE (fingerprint bigint, kind text, confidence_over_99 boolean, message text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM perfguard.baseline_import(cur, 'now', replace => true);
    RETURN QUERY EXECUTE format(
        'SELECT r.fingerprint, r.kind, r.confidence > 0.99, r.message
           FROM perfguard.regressions(%L::jsonb, compare_to => %L%s) r
          ORDER BY 1, 2', base, 'now', opts);
END
$$;

--
-- What is claimed is tested.  Statement 101 is 21% slower at its median
-- (every call 1.21 times the baseline's): the point estimate passes
-- min_effect, but "more than 20% slower" is not shown with 99% confidence
-- by 30 calls, so it is not a regression.  Statement 102 is twice as slow.
-- Statements 103-105 keep the speed factor at 1.
--
SELECT fingerprint, kind, confidence_over_99
  FROM pg_temp.judge(
    pg_temp.doc(pg_temp.stmt(101, pg_temp.spread(3.5, 4.46), pg_temp.ones()),
                pg_temp.stmt(102, pg_temp.spread(3.5, 4.46), pg_temp.ones()),
                pg_temp.stmt(103, pg_temp.spread(1.0, 1.1), pg_temp.ones()),
                pg_temp.stmt(104, pg_temp.spread(2.0, 2.2), pg_temp.ones()),
                pg_temp.stmt(105, pg_temp.spread(8.0, 8.8), pg_temp.ones())),
    pg_temp.doc(pg_temp.stmt(101, pg_temp.spread(3.5 * 1.21, 4.46 * 1.21), pg_temp.ones()),
                pg_temp.stmt(102, pg_temp.spread(7.0, 8.92), pg_temp.ones()),
                pg_temp.stmt(103, pg_temp.spread(1.0, 1.1), pg_temp.ones()),
                pg_temp.stmt(104, pg_temp.spread(2.0, 2.2), pg_temp.ones()),
                pg_temp.stmt(105, pg_temp.spread(8.0, 8.8), pg_temp.ones())));
-- what 1.0 judged instead: its mean is 1.21 times the baseline's and
-- Welch's test of "any increase" is certain, so 1.0 called 101 a regression
SELECT (c->>'mean_ms')::float8 >= 1.2 * (b->>'mean_ms')::float8 AS mean_up_20pct,
       perfguard.welch_test(30, (b->>'mean_ms')::float8, (b->>'stddev_ms')::float8,
                            30, (c->>'mean_ms')::float8, (c->>'stddev_ms')::float8) < 0.01 AS welch_certain
  FROM (SELECT pg_temp.stmt(101, pg_temp.spread(3.5, 4.46), pg_temp.ones()) AS b,
               pg_temp.stmt(101, pg_temp.spread(3.5 * 1.21, 4.46 * 1.21), pg_temp.ones()) AS c) x;
-- the message says what was tested, and how
SELECT message FROM pg_temp.judge(
    pg_temp.doc(pg_temp.stmt(102, pg_temp.spread(3.5, 4.46), pg_temp.ones())),
    pg_temp.doc(pg_temp.stmt(102, pg_temp.spread(7.0, 8.92), pg_temp.ones())))
 WHERE kind = 'latency_median';

--
-- The run's speed.  Five statements, every one 1.5 times slower: the
-- machine, not the code.  No latency regression, and run_speed() says so;
-- policy 'p95' (no speed factor) fails every one of them.
--
CREATE TEMP TABLE speed_case AS
SELECT pg_temp.doc(VARIADIC ARRAY(
           SELECT pg_temp.stmt(200 + i, pg_temp.spread(i, i * 1.1, 60), pg_temp.ones(60))
             FROM generate_series(1, 5) i)) AS base,
       pg_temp.doc(VARIADIC ARRAY(
           SELECT pg_temp.stmt(200 + i, pg_temp.spread(1.5 * i, 1.5 * i * 1.1, 60), pg_temp.ones(60))
             FROM generate_series(1, 5) i)) AS slower_run,
       pg_temp.doc(VARIADIC ARRAY(
           SELECT pg_temp.stmt(200 + i, pg_temp.spread(f * i, f * i * 1.1, 60), pg_temp.ones(60))
             FROM generate_series(1, 5) i,
                  LATERAL (SELECT CASE WHEN i = 5 THEN 4.5 ELSE 1.5 END AS f) x)) AS one_slower;
SELECT count(*) AS regressions FROM speed_case, pg_temp.judge(base, slower_run);
SELECT round(factor::numeric, 2) AS factor, round(tail_factor::numeric, 2) AS tail_factor, statements
  FROM perfguard.run_speed((SELECT base FROM speed_case), 'now');
SELECT count(*) AS p95_policy_regressions
  FROM speed_case, pg_temp.judge(base, slower_run, ', policy => ''p95'', min_calls => 50, min_confidence => 0.95');
-- one statement three times slower than the rest is caught, and the
-- message gives the speed it was judged against
SELECT fingerprint, kind, confidence_over_99 FROM speed_case, pg_temp.judge(base, one_slower);
SELECT message LIKE '%its machine was 1.5x slower than the baseline''s at the median, over 5 statements%' AS speed_in_message
  FROM speed_case, pg_temp.judge(base, one_slower) WHERE kind = 'latency_median';
-- A part of the run on a slower machine: a third of every statement's
-- calls 1.6 times slower.  The medians do not move, the p95s do, all of
-- them: the tail factor is 1.6 and no p95 is a regression.  One statement
-- whose slow third is 3 times slower is.
CREATE TEMP TABLE tail_case AS
SELECT pg_temp.doc(VARIADIC ARRAY(
           SELECT pg_temp.stmt(200 + i, pg_temp.spread(i, i * 1.1, 60), pg_temp.ones(60))
             FROM generate_series(1, 5) i)) AS base,
       pg_temp.doc(VARIADIC ARRAY(
           SELECT pg_temp.stmt(200 + i, pg_temp.spread(i, i * 1.1, 40) ||
                                        pg_temp.spread(1.6 * i, 1.6 * i * 1.1, 20),
                               pg_temp.ones(60))
             FROM generate_series(1, 5) i)) AS slow_third,
       pg_temp.doc(VARIADIC ARRAY(
           SELECT pg_temp.stmt(200 + i, pg_temp.spread(i, i * 1.1, 40) ||
                                        pg_temp.spread(f * i, f * i * 1.1, 20),
                               pg_temp.ones(60))
             FROM generate_series(1, 5) i,
                  LATERAL (SELECT CASE WHEN i = 3 THEN 3 ELSE 1.6 END AS f) x)) AS one_tail;
SELECT count(*) AS regressions FROM tail_case, pg_temp.judge(base, slow_third);
SELECT count(*) AS p95_policy_regressions
  FROM tail_case, pg_temp.judge(base, slow_third, ', policy => ''p95'', min_calls => 50, min_confidence => 0.95');
SELECT round(factor::numeric, 2) AS factor, round(tail_factor::numeric, 2) AS tail_factor
  FROM tail_case, perfguard.run_speed(base, 'now');
SELECT fingerprint, kind, confidence_over_99 FROM tail_case, pg_temp.judge(base, one_tail);
SELECT message LIKE '%its machine was 1.58x slower than the baseline''s at the p95, over 5 statements%' AS tail_speed_in_message
  FROM tail_case, pg_temp.judge(base, one_tail);
-- a run faster than the baseline's is not held against the statements
-- that did not get faster: the factor is never taken below 1
CREATE TEMP TABLE faster AS
SELECT pg_temp.doc(VARIADIC ARRAY(
           SELECT pg_temp.stmt(200 + i, pg_temp.spread(f * i, f * i * 1.1, 60), pg_temp.ones(60))
             FROM generate_series(1, 5) i,
                  LATERAL (SELECT CASE WHEN i = 5 THEN 1.5 ELSE 1 END AS f) x)) AS cur;
SELECT count(*) AS regressions FROM speed_case, faster, pg_temp.judge(slower_run, cur);
SELECT round(factor::numeric, 2) AS factor FROM speed_case, perfguard.run_speed(slower_run, 'now');
-- fewer than 3 statements with min_calls: no factor (1)
SELECT factor, statements FROM speed_case,
       perfguard.run_speed(base, 'now', min_calls => 61);

--
-- Holm's correction.  A statement with 8 of 100 calls now over 1.2 times
-- its baseline's p95 (none before) is a regression on its own (p = 0.0036,
-- 2 tests); ten such statements in one report are not (20 tests): each
-- alone would be a false alarm 0.36% of the time, ten together 3.6%.
-- Policy 'p95' tests each alone and fails all ten.
--
CREATE TEMP TABLE holm_case AS
SELECT pg_temp.stmt(300 + i, '{4.0}', '{100}') AS b,
       pg_temp.stmt(300 + i, '{4.0,6.0}', '{92,8}') AS c
  FROM generate_series(1, 10) i;
SELECT fingerprint, kind, confidence_over_99
  FROM pg_temp.judge((SELECT pg_temp.doc(b) FROM holm_case WHERE b->>'fingerprint' = '301'),
                     (SELECT pg_temp.doc(c) FROM holm_case WHERE c->>'fingerprint' = '301'));
SELECT count(*) AS regressions_of_ten
  FROM pg_temp.judge((SELECT pg_temp.doc(VARIADIC array_agg(b)) FROM holm_case),
                     (SELECT pg_temp.doc(VARIADIC array_agg(c)) FROM holm_case));
SELECT count(*) AS p95_policy_regressions_of_ten
  FROM pg_temp.judge((SELECT pg_temp.doc(VARIADIC array_agg(b)) FROM holm_case),
                     (SELECT pg_temp.doc(VARIADIC array_agg(c)) FROM holm_case),
                     ', policy => ''p95'', min_calls => 50, min_confidence => 0.95');

--
-- Minimum absolute effects.  A lookup from 0.017 to 0.023 ms over 1000
-- calls is certainly slower, and 35% slower, but 0.006 ms per call is
-- below min_ms (0.1 ms).  A statement from 0.5 to 0.9 ms over 20 calls
-- spends 8 ms more in the run, below min_total_ms (10 ms).  Each is a
-- regression once its minimum is lowered.
--
CREATE TEMP TABLE small_case AS
SELECT pg_temp.doc(pg_temp.stmt(401, '{0.017}', '{1000}'),
                   pg_temp.stmt(402, pg_temp.spread(0.50, 0.52, 20), pg_temp.ones(20))) AS b,
       pg_temp.doc(pg_temp.stmt(401, '{0.023}', '{1000}'),
                   pg_temp.stmt(402, pg_temp.spread(0.90, 0.92, 20), pg_temp.ones(20))) AS c;
SELECT count(*) AS regressions FROM small_case, pg_temp.judge(b, c, ', min_calls => 20');
SELECT fingerprint, kind FROM small_case, pg_temp.judge(b, c, ', min_calls => 20, min_ms => 0.001, min_total_ms => 0');
SELECT fingerprint, kind FROM small_case, pg_temp.judge(b, c, ', min_calls => 20, min_total_ms => 5');

--
-- Policy 'p95': one test per statement, of its p95 alone, without the
-- speed factor, Holm's correction or minimum effects; min_calls as given.
--
SELECT fingerprint, kind, confidence_over_99 FROM small_case,
       pg_temp.judge(b, c, ', policy => ''p95'', min_calls => 20');
SELECT count(*) AS too_few_calls FROM small_case,
       pg_temp.judge(b, c, ', policy => ''p95'', min_calls => 50') WHERE fingerprint = 402;

--
-- perfguard.shift_test: thresholds, counts and exact p-values (checked
-- against the hypergeometric distribution computed independently).
--
SELECT * FROM perfguard.shift_test('{79,30}', '{79,30}', 0.5, 1.2);
SELECT base_over, cur_over, round(p_value::numeric, 10) AS p
  FROM perfguard.shift_test('{79,15,80,15}', '{90,30}', 0.5, 1.2);
SELECT base_over, cur_over, round(p_value::numeric, 10) AS p
  FROM perfguard.shift_test('{79,29,90,1}', '{79,27,90,3}', 0.95, 1.0);
SELECT base_over, cur_over, round(p_value::numeric, 10) AS p
  FROM perfguard.shift_test('{79,10,90,20}', '{79,12,90,18}', 0.3, 1.0);
SELECT base_over, cur_over, p_value = 0 AS p_zero
  FROM perfguard.shift_test('{79,1000000,90,1}', '{79,900000,90,100000}', 0.95, 1.0);
-- a threshold beyond the last bucket: nothing can be over it
SELECT cur_threshold_ms, cur_over, p_value FROM perfguard.shift_test('{79,30}', '{79,30}', 0.5, 1e6);
-- empty histograms: NULL
SELECT * FROM perfguard.shift_test('{}', '{79,30}', 0.5, 1.2);
SELECT p_value FROM perfguard.shift_test('{79,30}', '{}', 0.5, 1.2);
SELECT p_value IS NULL AS is_null FROM perfguard.shift_test(NULL, '{79,30}', 0.5, 1.2);
-- bad arguments: an error, SQLSTATE 22023
\set VERBOSITY sqlstate
SELECT perfguard.shift_test('{79,30}', '{79,30}', 1, 1.2);
SELECT perfguard.shift_test('{79,30}', '{79,30}', 'NaN', 1.2);
SELECT perfguard.shift_test('{79,30}', '{79,30}', 0.5, 0.9);
SELECT perfguard.shift_test('{79,30}', '{79,30}', 0.5, 'NaN');
SELECT perfguard.shift_test('{79,30}', '{79,30}', 0.5, 'Infinity');
SELECT perfguard.shift_test('{79}', '{79,30}', 0.5, 1.2);
SELECT perfguard.shift_test('{79,-1}', '{79,30}', 0.5, 1.2);
SELECT perfguard.shift_test('{9999,1}', '{79,30}', 0.5, 1.2);
\set VERBOSITY default

--
-- The new arguments: NULL is an error (22004), values out of range too
-- (22023), and nothing is judged.
--
\set SHOW_CONTEXT never
SELECT count(*) FROM small_case, perfguard.regressions(b, 'now', policy => NULL);
SELECT count(*) FROM small_case, perfguard.regressions(b, 'now', policy => 'P95');
SELECT count(*) FROM small_case, perfguard.regressions(b, 'now', min_ms => NULL);
SELECT count(*) FROM small_case, perfguard.regressions(b, 'now', min_ms => 'NaN');
SELECT count(*) FROM small_case, perfguard.regressions(b, 'now', min_ms => -0.1);
SELECT count(*) FROM small_case, perfguard.regressions(b, 'now', min_total_ms => NULL);
SELECT count(*) FROM small_case, perfguard.regressions(b, 'now', min_total_ms => 'Infinity');
SELECT count(*) FROM perfguard.regressions('now', policy => 'none');
SELECT * FROM perfguard.run_speed(NULL::text);
SELECT * FROM perfguard.run_speed('now', min_calls => NULL);
SELECT * FROM perfguard.run_speed('now', min_calls => 1);
SELECT * FROM perfguard.run_speed('no such baseline');
SELECT * FROM perfguard.run_speed('{"format": "perfguard-baseline", "version": 1, "statements": []}'::jsonb);

\set SHOW_CONTEXT errors
SELECT perfguard.baseline_drop('now');
