/* perfguard--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION perfguard" to load this file. \quit

-- Everyone may use the schema; what each object shows is decided by the
-- object itself (the visibility rule of perfguard.stats).
GRANT USAGE ON SCHEMA perfguard TO PUBLIC;

-- The statistics table, one row per tracked statement.
CREATE FUNCTION stats_internal(
    showtext boolean,
    OUT userid oid,
    OUT dbid oid,
    OUT toplevel boolean,
    OUT queryid bigint,
    OUT fingerprint bigint,
    OUT query text,
    OUT calls bigint,
    OUT total_exec_time double precision,
    OUT min_exec_time double precision,
    OUT max_exec_time double precision,
    OUT mean_exec_time double precision,
    OUT stddev_exec_time double precision,
    OUT p50_exec_time double precision,
    OUT p95_exec_time double precision,
    OUT p99_exec_time double precision,
    OUT rows bigint,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT shared_blks_dirtied bigint,
    OUT shared_blks_written bigint,
    OUT local_blks_hit bigint,
    OUT local_blks_read bigint,
    OUT local_blks_dirtied bigint,
    OUT local_blks_written bigint,
    OUT temp_blks_read bigint,
    OUT temp_blks_written bigint,
    OUT slow_calls bigint,
    OUT plans_captured bigint,
    OUT seq_scans bigint,
    OUT n_plus_one bigint,
    OUT row_by_row_dml bigint,
    OUT max_rows bigint,
    OUT max_blocks bigint,
    OUT xacts bigint,
    OUT max_calls_per_xact bigint,
    OUT plan_shape bigint,
    OUT first_exec_at timestamptz,
    OUT last_exec_at timestamptz
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'perfguard_stats'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION stats_internal(boolean) IS
    'perfguard statistics; use the view perfguard.stats';

CREATE VIEW stats AS
    SELECT * FROM stats_internal(true);

COMMENT ON VIEW stats IS
    'perfguard statistics: one row per statement, user, database and nesting level';

GRANT SELECT ON stats TO PUBLIC;

-- Forget all statistics, or those of one fingerprint.
CREATE FUNCTION reset(fingerprint bigint DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'perfguard_reset'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION reset(bigint) IS
    'forget perfguard statistics: all of them, or those of one fingerprint; returns the number of entries removed';

-- Only superusers may reset, unless they grant it.
REVOKE ALL ON FUNCTION reset(bigint) FROM PUBLIC;

-- The stable fingerprint of a statement's text.
CREATE FUNCTION fingerprint(query text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'perfguard_fingerprint'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

COMMENT ON FUNCTION fingerprint(text) IS
    'perfguard fingerprint of a statement: the same for the same statement in any database or cluster';

-- About perfguard itself.
CREATE FUNCTION info(
    OUT version text,
    OUT max_queries integer,
    OUT statements bigint,
    OUT evictions bigint,
    OUT stats_reset timestamptz,
    OUT query_text_length integer,
    OUT events bigint,
    OUT events_dropped bigint,
    OUT events_memory bigint
)
RETURNS record
AS 'MODULE_PATHNAME', 'perfguard_info'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION info() IS
    'perfguard library version, sizing, and use of the statistics table and the event store';

-- The event store: what perfguard's detectors noticed.
CREATE FUNCTION events_internal(
    OUT event_id bigint,
    OUT event_time timestamptz,
    OUT kind text,
    OUT dbid oid,
    OUT userid oid,
    OUT toplevel boolean,
    OUT fingerprint bigint,
    OUT queryid bigint,
    OUT query text,
    OUT duration_ms double precision,
    OUT plan_format text,
    OUT plan text,
    OUT detail jsonb
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'perfguard_events'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION events_internal() IS
    'perfguard events; use the view perfguard.events';

CREATE VIEW events AS
    SELECT e.event_id, e.event_time, e.kind,
           e.dbid, d.datname AS database,
           e.userid, r.rolname AS username,
           e.toplevel, e.fingerprint, e.queryid, e.query,
           e.duration_ms, e.plan_format, e.plan, e.detail
      FROM events_internal() e
      LEFT JOIN pg_catalog.pg_database d ON d.oid = e.dbid
      LEFT JOIN pg_catalog.pg_roles r ON r.oid = e.userid;

COMMENT ON VIEW events IS
    'perfguard events (slow plans, sequential scans of large tables, ...), oldest first';

GRANT SELECT ON events TO PUBLIC;

-- Forget all events, or the events of one kind.
CREATE FUNCTION reset_events(kind text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'perfguard_reset_events'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION reset_events(text) IS
    'forget perfguard events: all of them (and the dropped-events count), or those of one kind; returns the number removed';

REVOKE ALL ON FUNCTION reset_events(text) FROM PUBLIC;

--
-- The statistics per fingerprint: what budgets and baselines are about.
--
CREATE FUNCTION statements_internal(
    showtext boolean,
    OUT fingerprint bigint,
    OUT query text,
    OUT calls bigint,
    OUT total_exec_time double precision,
    OUT min_exec_time double precision,
    OUT max_exec_time double precision,
    OUT mean_exec_time double precision,
    OUT stddev_exec_time double precision,
    OUT p50_exec_time double precision,
    OUT p95_exec_time double precision,
    OUT p99_exec_time double precision,
    OUT rows bigint,
    OUT rows_per_call double precision,
    OUT max_rows bigint,
    OUT shared_blks bigint,
    OUT blocks_per_call double precision,
    OUT max_blocks bigint,
    OUT xacts bigint,
    OUT calls_per_xact double precision,
    OUT max_calls_per_xact bigint,
    OUT plan_shape bigint,
    OUT seq_scans bigint,
    OUT n_plus_one bigint,
    OUT row_by_row_dml bigint,
    OUT last_exec_at timestamptz,
    OUT latency_hist bigint[],
    OUT own boolean
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'perfguard_statements'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION statements_internal(boolean) IS
    'perfguard statistics of the current database per fingerprint; use the view perfguard.statements';

CREATE VIEW statements AS
    SELECT fingerprint, query, calls, total_exec_time, min_exec_time,
           max_exec_time, mean_exec_time, stddev_exec_time, p50_exec_time,
           p95_exec_time, p99_exec_time, rows, rows_per_call, max_rows,
           shared_blks, blocks_per_call, max_blocks, xacts, calls_per_xact,
           max_calls_per_xact, plan_shape, seq_scans, n_plus_one,
           row_by_row_dml, last_exec_at, own
      FROM statements_internal(true);

COMMENT ON VIEW statements IS
    'perfguard statistics of the current database, one row per fingerprint (all users and nesting levels together)';

GRANT SELECT ON statements TO PUBLIC;

-- The two statistical tests of the regression report.
CREATE FUNCTION welch_test(n1 bigint, mean1 double precision, sd1 double precision,
                           n2 bigint, mean2 double precision, sd2 double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'perfguard_welch_test'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION welch_test(bigint, double precision, double precision, bigint, double precision, double precision) IS
    'one-sided Welch t-test that the second mean is larger: the p-value';

CREATE FUNCTION exceedance_test(base_hist bigint[], cur_hist bigint[],
                                fraction double precision DEFAULT 0.95)
RETURNS double precision
AS 'MODULE_PATHNAME', 'perfguard_exceedance_test'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION exceedance_test(bigint[], bigint[], double precision) IS
    'one-sided two-proportion z-test that more of the second histogram''s calls exceed the first''s percentile: the p-value';

--
-- Budgets.
--
CREATE TABLE budgets (
    fingerprint bigint,
    query text,
    max_ms double precision,
    mean_ms double precision,
    p95_ms double precision,
    max_rows bigint,
    max_blocks bigint,
    max_calls_per_xact bigint,
    allow_seqscan boolean,
    allow_nplus1 boolean,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT budgets_fingerprint_key UNIQUE NULLS NOT DISTINCT (fingerprint),
    CONSTRAINT budgets_limits_check CHECK (
        max_ms >= 0 AND mean_ms >= 0 AND p95_ms >= 0 AND max_rows >= 0 AND
        max_blocks >= 0 AND max_calls_per_xact >= 1)
);

COMMENT ON TABLE budgets IS
    'perfguard budgets: one row per fingerprint, and the default budget (fingerprint NULL); NULL limits are not checked';

SELECT pg_catalog.pg_extension_config_dump('budgets', '');
GRANT SELECT ON budgets TO PUBLIC;

CREATE FUNCTION budgets_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'perfguard_budgets_changed'
LANGUAGE C;

CREATE TRIGGER budgets_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON budgets
    FOR EACH STATEMENT EXECUTE FUNCTION budgets_changed();

-- Store a budget (fingerprint NULL: the default), replacing the one there.
CREATE FUNCTION store_budget(
    fp bigint, qtext text,
    max_ms double precision, mean_ms double precision, p95_ms double precision,
    max_rows bigint, max_blocks bigint, max_calls_per_xact bigint,
    allow_seqscan boolean, allow_nplus1 boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lim record;
BEGIN
    FOR lim IN
        SELECT * FROM (VALUES ('max_ms', store_budget.max_ms, 0),
                              ('mean_ms', store_budget.mean_ms, 0),
                              ('p95_ms', store_budget.p95_ms, 0),
                              ('max_rows', store_budget.max_rows::float8, 0),
                              ('max_blocks', store_budget.max_blocks::float8, 0),
                              ('max_calls_per_xact', store_budget.max_calls_per_xact::float8, 1))
                      AS l(name, value, least_value)
         WHERE value IS NOT NULL AND (value = 'NaN' OR value < least_value)
    LOOP
        RAISE EXCEPTION 'perfguard budget limit % must be a number of at least %, not %',
                        lim.name, lim.least_value, lim.value
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Leave a limit NULL not to check it.';
    END LOOP;
    IF num_nonnulls(max_ms, mean_ms, p95_ms, max_rows, max_blocks,
                    max_calls_per_xact, allow_seqscan, allow_nplus1) = 0 THEN
        RAISE EXCEPTION 'a perfguard budget needs at least one limit'
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Give limits as named arguments, e.g. max_ms => 100; to remove a budget, use perfguard.drop_budget().';
    END IF;
    -- one statement, so that two sessions setting the same budget do not collide
    INSERT INTO perfguard.budgets AS b
           (fingerprint, query, max_ms, mean_ms, p95_ms, max_rows, max_blocks,
            max_calls_per_xact, allow_seqscan, allow_nplus1, updated_at)
    VALUES (fp, qtext, store_budget.max_ms, store_budget.mean_ms, store_budget.p95_ms,
            store_budget.max_rows, store_budget.max_blocks,
            store_budget.max_calls_per_xact, store_budget.allow_seqscan,
            store_budget.allow_nplus1, now())
    ON CONFLICT (fingerprint) DO UPDATE
       SET query = EXCLUDED.query, max_ms = EXCLUDED.max_ms,
           mean_ms = EXCLUDED.mean_ms, p95_ms = EXCLUDED.p95_ms,
           max_rows = EXCLUDED.max_rows, max_blocks = EXCLUDED.max_blocks,
           max_calls_per_xact = EXCLUDED.max_calls_per_xact,
           allow_seqscan = EXCLUDED.allow_seqscan,
           allow_nplus1 = EXCLUDED.allow_nplus1, updated_at = EXCLUDED.updated_at;
END
$$;

REVOKE ALL ON FUNCTION store_budget(bigint, text, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean) FROM PUBLIC;

CREATE FUNCTION set_budget(
    query text,
    max_ms double precision DEFAULT NULL,
    mean_ms double precision DEFAULT NULL,
    p95_ms double precision DEFAULT NULL,
    max_rows bigint DEFAULT NULL,
    max_blocks bigint DEFAULT NULL,
    max_calls_per_xact bigint DEFAULT NULL,
    allow_seqscan boolean DEFAULT NULL,
    allow_nplus1 boolean DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fp bigint;
BEGIN
    IF query IS NULL THEN
        RAISE EXCEPTION 'perfguard.set_budget needs a statement'
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'For the budget of every statement, use perfguard.set_default_budget().';
    END IF;
    fp := perfguard.fingerprint(query);
    PERFORM perfguard.store_budget(fp, query, max_ms, mean_ms, p95_ms, max_rows,
                                   max_blocks, max_calls_per_xact, allow_seqscan,
                                   allow_nplus1);
    RETURN fp;
END
$$;

COMMENT ON FUNCTION set_budget(text, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean) IS
    'set the budget of a statement (given by its text, stored as given), replacing the one it had; returns its fingerprint';

CREATE FUNCTION set_budget(
    fingerprint bigint,
    max_ms double precision DEFAULT NULL,
    mean_ms double precision DEFAULT NULL,
    p95_ms double precision DEFAULT NULL,
    max_rows bigint DEFAULT NULL,
    max_blocks bigint DEFAULT NULL,
    max_calls_per_xact bigint DEFAULT NULL,
    allow_seqscan boolean DEFAULT NULL,
    allow_nplus1 boolean DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF fingerprint IS NULL THEN
        RAISE EXCEPTION 'perfguard.set_budget needs a statement'
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'For the budget of every statement, use perfguard.set_default_budget().';
    END IF;
    PERFORM perfguard.store_budget(
        fingerprint,
        (SELECT s.query FROM perfguard.statements s WHERE s.fingerprint = set_budget.fingerprint),
        max_ms, mean_ms, p95_ms, max_rows, max_blocks, max_calls_per_xact,
        allow_seqscan, allow_nplus1);
    RETURN fingerprint;
END
$$;

COMMENT ON FUNCTION set_budget(bigint, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean) IS
    'set the budget of a statement (given by its fingerprint), replacing the one it had; returns the fingerprint';

CREATE FUNCTION set_default_budget(
    max_ms double precision DEFAULT NULL,
    mean_ms double precision DEFAULT NULL,
    p95_ms double precision DEFAULT NULL,
    max_rows bigint DEFAULT NULL,
    max_blocks bigint DEFAULT NULL,
    max_calls_per_xact bigint DEFAULT NULL,
    allow_seqscan boolean DEFAULT NULL,
    allow_nplus1 boolean DEFAULT NULL)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT perfguard.store_budget(NULL, NULL, max_ms, mean_ms, p95_ms, max_rows,
                                  max_blocks, max_calls_per_xact, allow_seqscan,
                                  allow_nplus1);
END;

COMMENT ON FUNCTION set_default_budget(double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean) IS
    'set the default budget: the limits of every statement whose own budget leaves them NULL';

CREATE FUNCTION drop_budget(fingerprint bigint)
RETURNS boolean
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH d AS (DELETE FROM perfguard.budgets b
                WHERE b.fingerprint = drop_budget.fingerprint RETURNING 1)
    SELECT count(*) > 0 FROM d;
END;

CREATE FUNCTION drop_budget(query text)
RETURNS boolean
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
RETURN perfguard.drop_budget(perfguard.fingerprint(query));

CREATE FUNCTION drop_default_budget()
RETURNS boolean
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH d AS (DELETE FROM perfguard.budgets b WHERE b.fingerprint IS NULL RETURNING 1)
    SELECT count(*) > 0 FROM d;
END;

COMMENT ON FUNCTION drop_budget(bigint) IS 'remove the budget of a statement, given by its fingerprint; true if there was one';
COMMENT ON FUNCTION drop_budget(text) IS 'remove the budget of a statement, given by its text; true if there was one';
COMMENT ON FUNCTION drop_default_budget() IS 'remove the default budget; true if there was one';

-- Budgets change what other users' statements may do: superusers only, unless granted.
REVOKE ALL ON FUNCTION set_budget(text, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION set_budget(bigint, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION set_default_budget(double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION drop_budget(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION drop_budget(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION drop_default_budget() FROM PUBLIC;

-- The budgets with the text of their statements and what they did so far.
CREATE VIEW budget_list AS
    SELECT b.fingerprint,
           CASE WHEN b.fingerprint IS NULL THEN '(default budget)'
                ELSE coalesce(b.query, s.query) END AS query,
           b.max_ms, b.mean_ms, b.p95_ms, b.max_rows, b.max_blocks,
           b.max_calls_per_xact, b.allow_seqscan, b.allow_nplus1,
           b.updated_at, s.calls
      FROM budgets b
      LEFT JOIN statements s ON s.fingerprint = b.fingerprint;

COMMENT ON VIEW budget_list IS
    'perfguard budgets with the text of their statements and their calls so far';

GRANT SELECT ON budget_list TO PUBLIC;

-- Every limit of every budget that a statement of this database broke.
CREATE FUNCTION violations()
RETURNS TABLE (fingerprint bigint, query text, limit_name text,
               limit_value double precision, measured double precision,
               calls bigint, budget text, severity text, message text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT s.fingerprint, s.query, l.name, l.lim, l.measured, s.calls,
           CASE WHEN l.own THEN 'statement' ELSE 'default' END,
           CASE WHEN l.kind = 'number' AND l.measured >= 2 * l.lim AND l.lim > 0
                THEN 'critical' ELSE 'error' END,
           l.message
      FROM perfguard.statements_internal(true) s
      LEFT JOIN perfguard.budgets o ON o.fingerprint = s.fingerprint
      LEFT JOIN perfguard.budgets d ON d.fingerprint IS NULL
     CROSS JOIN LATERAL (VALUES
        ('max_ms', 'number', coalesce(o.max_ms, d.max_ms), o.max_ms IS NOT NULL,
         s.max_exec_time,
         format('its slowest call took %s ms; max_ms is %s',
                round(s.max_exec_time::numeric, 3), coalesce(o.max_ms, d.max_ms))),
        ('mean_ms', 'number', coalesce(o.mean_ms, d.mean_ms), o.mean_ms IS NOT NULL,
         s.mean_exec_time,
         format('its mean is %s ms over %s calls; mean_ms is %s',
                round(s.mean_exec_time::numeric, 3), s.calls, coalesce(o.mean_ms, d.mean_ms))),
        ('p95_ms', 'number', coalesce(o.p95_ms, d.p95_ms), o.p95_ms IS NOT NULL,
         s.p95_exec_time,
         format('its p95 is %s ms over %s calls; p95_ms is %s',
                round(s.p95_exec_time::numeric, 3), s.calls, coalesce(o.p95_ms, d.p95_ms))),
        ('max_rows', 'number', coalesce(o.max_rows, d.max_rows)::float8, o.max_rows IS NOT NULL,
         s.max_rows::float8,
         format('its largest call processed %s rows; max_rows is %s',
                s.max_rows, coalesce(o.max_rows, d.max_rows))),
        ('max_blocks', 'number', coalesce(o.max_blocks, d.max_blocks)::float8, o.max_blocks IS NOT NULL,
         s.max_blocks::float8,
         format('its largest call touched %s shared blocks; max_blocks is %s',
                s.max_blocks, coalesce(o.max_blocks, d.max_blocks))),
        ('max_calls_per_xact', 'number',
         coalesce(o.max_calls_per_xact, d.max_calls_per_xact)::float8,
         o.max_calls_per_xact IS NOT NULL, s.max_calls_per_xact::float8,
         format('it ran %s times in one transaction; max_calls_per_xact is %s',
                s.max_calls_per_xact, coalesce(o.max_calls_per_xact, d.max_calls_per_xact))),
        ('seqscan', 'flag',
         CASE WHEN NOT coalesce(o.allow_seqscan, d.allow_seqscan) THEN 0::float8 END,
         o.allow_seqscan IS NOT NULL, s.seq_scans::float8,
         format('%s of its calls read a large table with a sequential scan; allow_seqscan is false',
                s.seq_scans)),
        ('nplus1', 'flag',
         CASE WHEN NOT coalesce(o.allow_nplus1, d.allow_nplus1) THEN 0::float8 END,
         o.allow_nplus1 IS NOT NULL, (s.n_plus_one + s.row_by_row_dml)::float8,
         format('N+1 or row-by-row patterns it completed: %s; allow_nplus1 is false',
                s.n_plus_one + s.row_by_row_dml))
     ) AS l(name, kind, lim, own, measured, message)
     WHERE l.lim IS NOT NULL AND l.measured > l.lim
       AND NOT s.own
     ORDER BY s.fingerprint, l.name;
END;

COMMENT ON FUNCTION violations() IS
    'every budget limit broken by a statement of this database: one row per statement and limit';

--
-- Baselines.
--
CREATE TABLE baselines (
    name text PRIMARY KEY CHECK (name <> ''),
    captured_at timestamptz NOT NULL,
    database text,
    server_version_num integer,
    perfguard_version text,
    imported_at timestamptz,
    statements integer NOT NULL DEFAULT 0
);

COMMENT ON TABLE baselines IS
    'perfguard baselines: what the statements of a database did at one time, captured here or imported';

CREATE TABLE baseline_statements (
    baseline text NOT NULL,
    fingerprint bigint NOT NULL,
    query text,
    calls bigint NOT NULL,
    mean_ms double precision,
    stddev_ms double precision,
    p50_ms double precision,
    p95_ms double precision,
    p99_ms double precision,
    max_ms double precision,
    rows_per_call double precision,
    blocks_per_call double precision,
    calls_per_xact double precision,
    max_calls_per_xact bigint,
    plan_shape bigint,
    seq_scans bigint,
    n_plus_one bigint,
    row_by_row_dml bigint,
    latency_hist bigint[],
    PRIMARY KEY (baseline, fingerprint)
);

COMMENT ON TABLE baseline_statements IS
    'perfguard baselines: one row per baseline and fingerprint';

SELECT pg_catalog.pg_extension_config_dump('baselines', '');
SELECT pg_catalog.pg_extension_config_dump('baseline_statements', '');

-- Numbers for everyone; texts only for those who may read every text.
GRANT SELECT ON baselines TO PUBLIC;
GRANT SELECT (baseline, fingerprint, calls, mean_ms, stddev_ms, p50_ms, p95_ms,
              p99_ms, max_ms, rows_per_call, blocks_per_call, calls_per_xact,
              max_calls_per_xact, plan_shape, seq_scans, n_plus_one,
              row_by_row_dml, latency_hist)
    ON baseline_statements TO PUBLIC;
GRANT SELECT ON baseline_statements TO pg_read_all_stats;

-- The current statistics as the rows of a baseline, perfguard's own left out.
CREATE FUNCTION current_rows(baseline text DEFAULT NULL)
RETURNS SETOF baseline_statements
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT baseline, s.fingerprint, s.query, s.calls, s.mean_exec_time,
           s.stddev_exec_time, s.p50_exec_time, s.p95_exec_time, s.p99_exec_time,
           s.max_exec_time, s.rows_per_call, s.blocks_per_call, s.calls_per_xact,
           s.max_calls_per_xact, s.plan_shape, s.seq_scans, s.n_plus_one,
           s.row_by_row_dml, s.latency_hist
      FROM perfguard.statements_internal(true) s
     WHERE NOT s.own;
END;

-- A stored baseline's rows; the texts only for those who may read them.
CREATE FUNCTION stored_rows(baseline text)
RETURNS SETOF baseline_statements
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM perfguard.baselines b WHERE b.name = stored_rows.baseline) THEN
        RAISE EXCEPTION 'perfguard baseline "%" does not exist', baseline
              USING ERRCODE = 'undefined_object',
                    HINT = 'The stored baselines are listed in the table perfguard.baselines.';
    END IF;
    IF has_column_privilege('perfguard.baseline_statements', 'query', 'SELECT') THEN
        RETURN QUERY SELECT * FROM perfguard.baseline_statements s
                      WHERE s.baseline = stored_rows.baseline;
    ELSE
        RETURN QUERY
            SELECT s.baseline, s.fingerprint, NULL::text, s.calls, s.mean_ms,
                   s.stddev_ms, s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms,
                   s.rows_per_call, s.blocks_per_call, s.calls_per_xact,
                   s.max_calls_per_xact, s.plan_shape, s.seq_scans, s.n_plus_one,
                   s.row_by_row_dml, s.latency_hist
              FROM perfguard.baseline_statements s
             WHERE s.baseline = stored_rows.baseline;
    END IF;
END
$$;

-- The rows of a stored baseline, or (NULL) of the current statistics.
CREATE FUNCTION rows_of(baseline text)
RETURNS baseline_statements[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN baseline IS NULL
            THEN ARRAY(SELECT r FROM perfguard.current_rows() r)
            ELSE ARRAY(SELECT r FROM perfguard.stored_rows(baseline) r) END;

CREATE FUNCTION baseline_capture(name text, replace boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    IF name IS NULL OR name = '' THEN
        RAISE EXCEPTION 'a perfguard baseline needs a name'
              USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT FROM perfguard.baselines b WHERE b.name = baseline_capture.name) THEN
        IF NOT replace THEN
            RAISE EXCEPTION 'perfguard baseline "%" already exists', name
                  USING ERRCODE = 'duplicate_object',
                        HINT = 'Drop it with perfguard.baseline_drop(), or pass replace => true.';
        END IF;
        PERFORM perfguard.baseline_drop(name);
    END IF;
    INSERT INTO perfguard.baselines
           (name, captured_at, database, server_version_num, perfguard_version)
    VALUES (name, now(), current_database(),
            current_setting('server_version_num')::integer,
            (SELECT i.version FROM perfguard.info() i));
    INSERT INTO perfguard.baseline_statements
    SELECT * FROM perfguard.current_rows(name);
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE perfguard.baselines b SET statements = n WHERE b.name = baseline_capture.name;
    RETURN n;
END
$$;

COMMENT ON FUNCTION baseline_capture(text, boolean) IS
    'store the current statistics of this database as a baseline; returns the number of statements';

CREATE FUNCTION baseline_drop(name text, missing_ok boolean DEFAULT false)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM perfguard.baseline_statements s WHERE s.baseline = baseline_drop.name;
    DELETE FROM perfguard.baselines b WHERE b.name = baseline_drop.name;
    IF NOT FOUND THEN
        IF missing_ok THEN
            RETURN false;
        END IF;
        RAISE EXCEPTION 'perfguard baseline "%" does not exist', name
              USING ERRCODE = 'undefined_object',
                    HINT = 'The stored baselines are listed in the table perfguard.baselines.';
    END IF;
    RETURN true;
END
$$;

COMMENT ON FUNCTION baseline_drop(text, boolean) IS 'remove a stored baseline';

-- A baseline as a document (name NULL: the current statistics, not stored).
CREATE FUNCTION baseline_export(name text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    head perfguard.baselines;
    rows perfguard.baseline_statements[];
BEGIN
    rows := perfguard.rows_of(name);
    IF name IS NULL THEN
        head := ROW(NULL, now(), current_database(),
                    current_setting('server_version_num')::integer,
                    (SELECT i.version FROM perfguard.info() i), NULL, 0);
    ELSE
        SELECT * INTO head FROM perfguard.baselines b WHERE b.name = baseline_export.name;
    END IF;
    RETURN jsonb_build_object(
        'format', 'perfguard-baseline',
        'version', 1,
        'name', head.name,
        'captured_at', head.captured_at,
        'database', head.database,
        'server_version_num', head.server_version_num,
        'perfguard_version', head.perfguard_version,
        'histogram', 'log-linear-8',
        'statements', coalesce((
            SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                       'fingerprint', r.fingerprint::text,
                       'query', r.query,
                       'calls', r.calls,
                       'mean_ms', r.mean_ms,
                       'stddev_ms', r.stddev_ms,
                       'p50_ms', r.p50_ms,
                       'p95_ms', r.p95_ms,
                       'p99_ms', r.p99_ms,
                       'max_ms', r.max_ms,
                       'rows_per_call', r.rows_per_call,
                       'blocks_per_call', r.blocks_per_call,
                       'calls_per_xact', r.calls_per_xact,
                       'max_calls_per_xact', r.max_calls_per_xact,
                       'plan_shape', r.plan_shape::text,
                       'seq_scans', r.seq_scans,
                       'n_plus_one', r.n_plus_one,
                       'row_by_row_dml', r.row_by_row_dml,
                       'latency_histogram',
                           (SELECT jsonb_agg(jsonb_build_array(r.latency_hist[i], r.latency_hist[i + 1]) ORDER BY i)
                              FROM generate_series(1, coalesce(array_length(r.latency_hist, 1), 0), 2) i)))
                   ORDER BY r.fingerprint)
              FROM unnest(rows) r),
            '[]'::jsonb));
END
$$;

COMMENT ON FUNCTION baseline_export(text) IS
    'a stored baseline (or, without a name, the current statistics) as a versioned JSON document';

-- Reading baseline documents: every value is checked, and a fault names
-- where it is, e.g. "statements[3].calls".
CREATE FUNCTION doc_fault(what text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RAISE EXCEPTION 'malformed perfguard baseline document: %', what
          USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Baseline documents are written by perfguard.baseline_export(); see docs/baselines.md for the format.';
END
$$;

CREATE FUNCTION doc_number(o jsonb, key text, path text, required boolean DEFAULT false,
                           integral boolean DEFAULT false)
RETURNS numeric
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v jsonb := o -> key;
    n numeric;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        IF required THEN
            PERFORM perfguard.doc_fault(format('%s.%s is missing', path, key));
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) = 'number' THEN
        n := v::numeric;
    ELSIF integral AND jsonb_typeof(v) = 'string' AND v #>> '{}' ~ '^-?[0-9]{1,40}$' THEN
        n := (v #>> '{}')::numeric;
    ELSE
        PERFORM perfguard.doc_fault(format('%s.%s is not a number', path, key));
    END IF;
    IF integral AND (n <> trunc(n) OR n < -9223372036854775808 OR n > 9223372036854775807) THEN
        PERFORM perfguard.doc_fault(format('%s.%s is not a 64-bit integer', path, key));
    END IF;
    IF NOT integral AND abs(n) > 1e300 THEN
        PERFORM perfguard.doc_fault(format('%s.%s is out of range', path, key));
    END IF;
    RETURN n;
END
$$;

CREATE FUNCTION doc_check_header(doc jsonb)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF doc IS NULL OR jsonb_typeof(doc) <> 'object' THEN
        PERFORM perfguard.doc_fault('it is not a JSON object');
    END IF;
    IF doc -> 'format' IS DISTINCT FROM '"perfguard-baseline"'::jsonb THEN
        RAISE EXCEPTION 'this JSON document is not a perfguard baseline'
              USING ERRCODE = 'invalid_parameter_value',
                    DETAIL = format('Its "format" member is %s; a perfguard baseline has "perfguard-baseline".',
                                    coalesce((doc -> 'format')::text, 'missing')),
                    HINT = 'Baseline documents are written by perfguard.baseline_export().';
    END IF;
    IF doc -> 'version' IS DISTINCT FROM '1'::jsonb THEN
        RAISE EXCEPTION 'perfguard cannot read version % of the baseline format',
                        coalesce((doc -> 'version')::text, '(missing)')
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'This perfguard reads version 1. Export the baseline again with this version of perfguard.';
    END IF;
    IF doc ? 'histogram' AND doc -> 'histogram' IS DISTINCT FROM '"log-linear-8"'::jsonb THEN
        PERFORM perfguard.doc_fault(format('its histogram scheme %s is not "log-linear-8"', doc -> 'histogram'));
    END IF;
    IF jsonb_typeof(doc -> 'statements') IS DISTINCT FROM 'array' THEN
        PERFORM perfguard.doc_fault('"statements" is missing or not an array');
    END IF;
    PERFORM perfguard.doc_number(doc, 'server_version_num', 'the document', false, true);
    IF jsonb_typeof(doc -> 'name') NOT IN ('string', 'null') THEN
        PERFORM perfguard.doc_fault('"name" is not a string');
    END IF;
END
$$;

-- The statements of a checked document as baseline rows, under a name.
CREATE FUNCTION doc_rows(doc jsonb, name text)
RETURNS SETOF baseline_statements
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st jsonb;
    pair jsonb;
    i integer := 0;
    path text;
    r perfguard.baseline_statements;
    hist bigint[];
BEGIN
    PERFORM perfguard.doc_check_header(doc);
    FOR st IN SELECT e FROM jsonb_array_elements(doc -> 'statements') e LOOP
        path := format('statements[%s]', i);
        IF jsonb_typeof(st) <> 'object' THEN
            PERFORM perfguard.doc_fault(format('%s is not an object', path));
        END IF;
        r.baseline := name;
        r.fingerprint := perfguard.doc_number(st, 'fingerprint', path, true, true);
        IF jsonb_typeof(st -> 'query') NOT IN ('string', 'null') THEN
            PERFORM perfguard.doc_fault(format('%s.query is not a string', path));
        END IF;
        r.query := st ->> 'query';
        r.calls := perfguard.doc_number(st, 'calls', path, true, true);
        r.mean_ms := perfguard.doc_number(st, 'mean_ms', path);
        r.stddev_ms := perfguard.doc_number(st, 'stddev_ms', path);
        r.p50_ms := perfguard.doc_number(st, 'p50_ms', path);
        r.p95_ms := perfguard.doc_number(st, 'p95_ms', path);
        r.p99_ms := perfguard.doc_number(st, 'p99_ms', path);
        r.max_ms := perfguard.doc_number(st, 'max_ms', path);
        r.rows_per_call := perfguard.doc_number(st, 'rows_per_call', path);
        r.blocks_per_call := perfguard.doc_number(st, 'blocks_per_call', path);
        r.calls_per_xact := perfguard.doc_number(st, 'calls_per_xact', path);
        r.max_calls_per_xact := perfguard.doc_number(st, 'max_calls_per_xact', path, false, true);
        r.plan_shape := perfguard.doc_number(st, 'plan_shape', path, false, true);
        r.seq_scans := perfguard.doc_number(st, 'seq_scans', path, false, true);
        r.n_plus_one := perfguard.doc_number(st, 'n_plus_one', path, false, true);
        r.row_by_row_dml := perfguard.doc_number(st, 'row_by_row_dml', path, false, true);
        IF r.calls < 0 OR least(r.mean_ms, r.stddev_ms, r.p50_ms, r.p95_ms, r.p99_ms,
                                r.max_ms, r.rows_per_call, r.blocks_per_call,
                                r.calls_per_xact, r.max_calls_per_xact, r.seq_scans,
                                r.n_plus_one, r.row_by_row_dml) < 0 THEN
            PERFORM perfguard.doc_fault(format('%s has a negative count or time', path));
        END IF;
        hist := NULL;
        IF jsonb_typeof(st -> 'latency_histogram') = 'array' THEN
            hist := '{}';
            FOR pair IN SELECT e FROM jsonb_array_elements(st -> 'latency_histogram') e LOOP
                IF jsonb_typeof(pair) <> 'array' OR jsonb_array_length(pair) <> 2 OR
                   jsonb_typeof(pair -> 0) <> 'number' OR jsonb_typeof(pair -> 1) <> 'number' OR
                   (pair ->> 0) !~ '^[0-9]{1,3}$' OR (pair ->> 0)::integer > 263 OR
                   (pair ->> 1) !~ '^[0-9]{1,18}$' THEN
                    PERFORM perfguard.doc_fault(format('%s.latency_histogram has an entry that is not a [bucket, count] pair', path));
                END IF;
                hist := hist || ARRAY[(pair ->> 0)::bigint, (pair ->> 1)::bigint];
            END LOOP;
        ELSIF st ? 'latency_histogram' AND jsonb_typeof(st -> 'latency_histogram') <> 'null' THEN
            PERFORM perfguard.doc_fault(format('%s.latency_histogram is not an array', path));
        END IF;
        r.latency_hist := hist;
        RETURN NEXT r;
        i := i + 1;
    END LOOP;
END
$$;

-- Rows of a document, checked as a whole: each fingerprint once.
CREATE FUNCTION doc_rows_checked(doc jsonb, name text)
RETURNS baseline_statements[]
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rows perfguard.baseline_statements[];
    dup bigint;
BEGIN
    rows := ARRAY(SELECT r FROM perfguard.doc_rows(doc, name) r);
    SELECT r.fingerprint INTO dup FROM unnest(rows) r
     GROUP BY r.fingerprint HAVING count(*) > 1 LIMIT 1;
    IF FOUND THEN
        PERFORM perfguard.doc_fault(format('fingerprint %s appears more than once', dup));
    END IF;
    RETURN rows;
END
$$;

CREATE FUNCTION baseline_import(doc jsonb, name text DEFAULT NULL, replace boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target text;
    rows perfguard.baseline_statements[];
    captured timestamptz;
BEGIN
    PERFORM perfguard.doc_check_header(doc);
    target := coalesce(name, doc ->> 'name');
    IF target IS NULL OR target = '' THEN
        RAISE EXCEPTION 'the baseline document has no name'
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Give one: perfguard.baseline_import(doc, name => ''...'').';
    END IF;
    BEGIN
        captured := (doc ->> 'captured_at')::timestamptz;
    EXCEPTION WHEN data_exception THEN
        PERFORM perfguard.doc_fault('"captured_at" is not a timestamp');
    END;
    rows := perfguard.doc_rows_checked(doc, target);
    IF EXISTS (SELECT FROM perfguard.baselines b WHERE b.name = target) THEN
        IF NOT replace THEN
            RAISE EXCEPTION 'perfguard baseline "%" already exists', target
                  USING ERRCODE = 'duplicate_object',
                        HINT = 'Drop it with perfguard.baseline_drop(), import under another name, or pass replace => true.';
        END IF;
        PERFORM perfguard.baseline_drop(target);
    END IF;
    INSERT INTO perfguard.baselines
           (name, captured_at, database, server_version_num, perfguard_version,
            imported_at, statements)
    VALUES (target, coalesce(captured, now()), doc ->> 'database',
            (doc ->> 'server_version_num')::integer, doc ->> 'perfguard_version',
            now(), cardinality(rows));
    INSERT INTO perfguard.baseline_statements SELECT * FROM unnest(rows);
    RETURN target;
END
$$;

COMMENT ON FUNCTION baseline_import(jsonb, text, boolean) IS
    'store a baseline document (from perfguard.baseline_export) under its name or the one given; returns the name';

REVOKE ALL ON FUNCTION baseline_capture(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION baseline_import(jsonb, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION baseline_drop(text, boolean) FROM PUBLIC;

--
-- Regressions: a baseline against now (or against another baseline).
--
CREATE FUNCTION compare(base baseline_statements[], cur baseline_statements[],
                        same_major boolean, min_calls integer,
                        min_effect double precision, tolerance double precision,
                        min_confidence double precision)
RETURNS TABLE (fingerprint bigint, query text, kind text,
               baseline_value double precision, current_value double precision,
               baseline_calls bigint, current_calls bigint, test text,
               confidence double precision, message text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF min_calls IS NULL OR min_calls < 2 THEN
        RAISE EXCEPTION 'min_calls must be 2 or more' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF min_effect IS NULL OR NOT min_effect >= 0 OR min_effect = 'Infinity' THEN
        RAISE EXCEPTION 'min_effect must be a fraction of 0 or more, e.g. 0.2 for 20%%' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF tolerance IS NULL OR NOT tolerance >= 0 OR tolerance = 'Infinity' THEN
        RAISE EXCEPTION 'tolerance must be a fraction of 0 or more, e.g. 0.1 for 10%%' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF min_confidence IS NULL OR NOT (min_confidence > 0 AND min_confidence < 1) THEN
        RAISE EXCEPTION 'min_confidence must be between 0 and 1, e.g. 0.99' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH j AS (
        SELECT c.fingerprint AS fp, coalesce(c.query, b.query) AS q,
               b.calls AS bc, c.calls AS cc,
               b.mean_ms AS bm, c.mean_ms AS cm, b.stddev_ms AS bs, c.stddev_ms AS cs,
               b.p95_ms AS bp, c.p95_ms AS cp,
               b.rows_per_call AS br, c.rows_per_call AS cr,
               b.blocks_per_call AS bb, c.blocks_per_call AS cb,
               b.calls_per_xact AS bx, c.calls_per_xact AS cx,
               b.plan_shape AS bps, c.plan_shape AS cps,
               coalesce(b.seq_scans, 0) AS bss, coalesce(c.seq_scans, 0) AS css,
               coalesce(b.n_plus_one, 0) + coalesce(b.row_by_row_dml, 0) AS bn,
               coalesce(c.n_plus_one, 0) + coalesce(c.row_by_row_dml, 0) AS cn,
               b.latency_hist AS bh, c.latency_hist AS ch
          FROM unnest(base) b JOIN unnest(cur) c ON c.fingerprint = b.fingerprint),
    t AS (
        SELECT j.*,
               CASE WHEN bc >= min_calls AND cc >= min_calls AND cm >= bm * (1 + min_effect)
                    THEN perfguard.welch_test(bc, bm, bs, cc, cm, cs) END AS p_mean,
               CASE WHEN bc >= min_calls AND cc >= min_calls AND cp >= bp * (1 + min_effect)
                    THEN perfguard.exceedance_test(bh, ch, 0.95) END AS p_p95
          FROM j)
    SELECT t.fp, t.q, x.kind, x.bv, x.cv, t.bc, t.cc, x.test, x.conf, x.msg
      FROM t CROSS JOIN LATERAL (
        SELECT 'blocks_per_call', bb, cb, 'exact', 1.0::float8,
               format('it touches %s shared blocks per call; the baseline touched %s',
                      round(cb::numeric, 1), round(bb::numeric, 1))
         WHERE cb > bb * (1 + tolerance) AND cb - bb >= 1
        UNION ALL
        SELECT 'rows_per_call', br, cr, 'exact', 1.0,
               format('it processes %s rows per call; the baseline processed %s',
                      round(cr::numeric, 1), round(br::numeric, 1))
         WHERE cr > br * (1 + tolerance) AND cr - br >= 1
        UNION ALL
        SELECT 'calls_per_xact', bx, cx, 'exact', 1.0,
               format('it runs %s times per transaction; in the baseline %s',
                      round(cx::numeric, 1), round(bx::numeric, 1))
         WHERE cx > bx * (1 + tolerance) AND cx - bx >= 1
        UNION ALL
        SELECT 'plan_shape', NULL, NULL, 'exact', 1.0,
               'its plan has another shape than in the baseline'
         WHERE same_major AND bps IS NOT NULL AND cps IS NOT NULL AND bps <> cps
        UNION ALL
        SELECT 'seq_scan', bss, css, 'exact', 1.0,
               format('%s of its calls read a large table with a sequential scan; none did in the baseline', css)
         WHERE bss = 0 AND css > 0
        UNION ALL
        SELECT 'n_plus_one', bn, cn, 'exact', 1.0,
               format('N+1 or row-by-row patterns it completed: %s; none in the baseline', cn)
         WHERE bn = 0 AND cn > 0
        UNION ALL
        SELECT 'latency_mean', bm, cm, 'welch_t', 1 - p_mean,
               format('its mean is %s ms over %s calls; the baseline''s was %s ms over %s calls (Welch t-test, confidence %s%%)',
                      round(cm::numeric, 3), cc, round(bm::numeric, 3), bc,
                      round((100 * (1 - p_mean))::numeric, 2))
         WHERE p_mean <= 1 - min_confidence
        UNION ALL
        SELECT 'latency_p95', bp, cp, 'exceedance_z', 1 - p_p95,
               format('its p95 is %s ms over %s calls; the baseline''s was %s ms over %s calls (more calls over the baseline''s p95: z-test, confidence %s%%)',
                      round(cp::numeric, 3), cc, round(bp::numeric, 3), bc,
                      round((100 * (1 - p_p95))::numeric, 2))
         WHERE p_p95 <= 1 - min_confidence
      ) AS x(kind, bv, cv, test, conf, msg)
     ORDER BY t.fp, x.kind;
END
$$;

-- The server major version a baseline was captured on (NULL: unknown).
CREATE FUNCTION baseline_major(baseline text)
RETURNS integer
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN baseline IS NULL
            THEN current_setting('server_version_num')::integer / 10000
            ELSE (SELECT b.server_version_num / 10000 FROM perfguard.baselines b
                   WHERE b.name = baseline) END;

CREATE FUNCTION regressions(baseline text, compare_to text DEFAULT NULL,
                            min_calls integer DEFAULT 30,
                            min_effect double precision DEFAULT 0.2,
                            tolerance double precision DEFAULT 0.1,
                            min_confidence double precision DEFAULT 0.99)
RETURNS TABLE (fingerprint bigint, query text, kind text,
               baseline_value double precision, current_value double precision,
               baseline_calls bigint, current_calls bigint, test text,
               confidence double precision, message text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT * FROM perfguard.compare(
        ARRAY(SELECT r FROM perfguard.stored_rows(baseline) r),
        perfguard.rows_of(compare_to),
        coalesce(perfguard.baseline_major(baseline) = perfguard.baseline_major(compare_to), false),
        min_calls, min_effect, tolerance, min_confidence);
END;

CREATE FUNCTION regressions(baseline jsonb, compare_to text DEFAULT NULL,
                            min_calls integer DEFAULT 30,
                            min_effect double precision DEFAULT 0.2,
                            tolerance double precision DEFAULT 0.1,
                            min_confidence double precision DEFAULT 0.99)
RETURNS TABLE (fingerprint bigint, query text, kind text,
               baseline_value double precision, current_value double precision,
               baseline_calls bigint, current_calls bigint, test text,
               confidence double precision, message text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT * FROM perfguard.compare(
        perfguard.doc_rows_checked(baseline, NULL),
        perfguard.rows_of(compare_to),
        coalesce((baseline ->> 'server_version_num')::integer / 10000 =
                 perfguard.baseline_major(compare_to), false),
        min_calls, min_effect, tolerance, min_confidence);
END;

COMMENT ON FUNCTION regressions(text, text, integer, double precision, double precision, double precision) IS
    'what got worse since a stored baseline (or between two): one row per statement and kind';
COMMENT ON FUNCTION regressions(jsonb, text, integer, double precision, double precision, double precision) IS
    'what got worse since a baseline document, without storing it: one row per statement and kind';

-- Statements the baseline does not have (information, not regressions).
CREATE FUNCTION new_statements_of(base baseline_statements[], cur baseline_statements[])
RETURNS TABLE (fingerprint bigint, query text, calls bigint, mean_exec_time double precision)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT c.fingerprint, c.query, c.calls, c.mean_ms
      FROM unnest(cur) c
     WHERE NOT EXISTS (SELECT FROM unnest(base) b WHERE b.fingerprint = c.fingerprint)
     ORDER BY c.fingerprint;
END;

CREATE FUNCTION new_statements(baseline text, compare_to text DEFAULT NULL)
RETURNS TABLE (fingerprint bigint, query text, calls bigint, mean_exec_time double precision)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT * FROM perfguard.new_statements_of(
        ARRAY(SELECT r FROM perfguard.stored_rows(baseline) r),
        perfguard.rows_of(compare_to));
END;

CREATE FUNCTION new_statements(baseline jsonb, compare_to text DEFAULT NULL)
RETURNS TABLE (fingerprint bigint, query text, calls bigint, mean_exec_time double precision)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT * FROM perfguard.new_statements_of(
        perfguard.doc_rows_checked(baseline, NULL),
        perfguard.rows_of(compare_to));
END;

COMMENT ON FUNCTION new_statements(text, text) IS
    'statements run now (or in compare_to) that a stored baseline does not have';
COMMENT ON FUNCTION new_statements(jsonb, text) IS
    'statements run now (or in compare_to) that a baseline document does not have';

--
-- The CI gate: an ERROR listing every violation and regression.
--
CREATE FUNCTION report_line(what text, fingerprint bigint, message text, query text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN format('  %s: statement %s: %s%s', what, fingerprint, message,
              coalesce(E'\n      ' || left(regexp_replace(query, '\s+', ' ', 'g'), 120), ''));

CREATE FUNCTION assert_report(regression_lines text[])
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lines text[];
    nv integer;
    nr integer := coalesce(cardinality(regression_lines), 0);
BEGIN
    lines := ARRAY(
        SELECT perfguard.report_line('budget ' || v.limit_name, v.fingerprint,
                                     v.message, v.query)
          FROM perfguard.violations() v);
    nv := cardinality(lines);
    IF nv + nr = 0 THEN
        RETURN;
    END IF;
    RAISE EXCEPTION E'perfguard found % budget violation% and % regression%:\n%',
                    nv, CASE WHEN nv = 1 THEN '' ELSE 's' END,
                    nr, CASE WHEN nr = 1 THEN '' ELSE 's' END,
                    array_to_string(lines || coalesce(regression_lines, '{}'), E'\n')
          USING ERRCODE = 'PF004',
                HINT = 'perfguard.violations() and perfguard.regressions() give these as rows.';
END
$$;

CREATE FUNCTION assert_no_violations(baseline text DEFAULT NULL)
RETURNS void
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT perfguard.assert_report(
        CASE WHEN baseline IS NOT NULL THEN
            ARRAY(SELECT perfguard.report_line('regression ' || r.kind, r.fingerprint,
                                               r.message, r.query)
                    FROM perfguard.regressions(baseline) r) END);
END;

CREATE FUNCTION assert_no_violations(baseline jsonb)
RETURNS void
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT perfguard.assert_report(
        ARRAY(SELECT perfguard.report_line('regression ' || r.kind, r.fingerprint,
                                           r.message, r.query)
                FROM perfguard.regressions(baseline) r));
END;

COMMENT ON FUNCTION assert_no_violations(text) IS
    'raise an ERROR (SQLSTATE PF004) listing every budget violation and every regression since the baseline, if any';
COMMENT ON FUNCTION assert_no_violations(jsonb) IS
    'raise an ERROR (SQLSTATE PF004) listing every budget violation and every regression since the baseline document, if any';
