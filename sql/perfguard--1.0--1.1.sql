/* perfguard 1.0 -> 1.1 */

\echo Use "ALTER EXTENSION perfguard UPDATE TO '1.1'" to load this file. \quit

--
-- Statement identity (1.1): a fingerprint is now computed from the analyzed
-- statement, with names in place of OIDs, instead of from the first text
-- seen.  Fingerprints stored by 1.0 no longer match the statements they
-- were taken from: budgets are fingerprinted again from their texts below,
-- baselines and baseline documents of 1.0 are refused with a hint to
-- capture or export them again.
--
-- Arguments (1.1): every function of the API gives a NULL argument a
-- defined meaning or refuses it (22004), and refuses values out of range
-- (22023); a flag that is NULL never replaces or drops anything.  Baseline
-- documents are checked value by value by every function that reads one.
--

-- A statement's text is analyzed where it is given: in the caller's
-- search_path, so these two no longer pin one.  Every name in their bodies
-- is schema-qualified.
CREATE OR REPLACE FUNCTION set_budget(
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

CREATE OR REPLACE FUNCTION drop_budget(query text)
RETURNS boolean
LANGUAGE sql
RETURN perfguard.drop_budget(perfguard.fingerprint(query));

-- No statement has fingerprint 0 (perfguard's "none").  The text of the
-- statement comes from the statistics when perfguard is preloaded; setting
-- a budget does not need it.
CREATE OR REPLACE FUNCTION set_budget(
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
DECLARE
    qtext text;
BEGIN
    IF fingerprint IS NULL THEN
        RAISE EXCEPTION 'perfguard.set_budget needs a statement'
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'For the budget of every statement, use perfguard.set_default_budget().';
    END IF;
    IF fingerprint = 0 THEN
        RAISE EXCEPTION 'no statement has fingerprint 0'
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'perfguard.fingerprint(text) gives the fingerprint of a statement; perfguard.statements lists those that ran.';
    END IF;
    BEGIN
        SELECT s.query INTO qtext FROM perfguard.statements s
         WHERE s.fingerprint = set_budget.fingerprint;
    EXCEPTION WHEN object_not_in_prerequisite_state THEN
        qtext := NULL;      -- not preloaded: no statistics, so no text
    END;
    PERFORM perfguard.store_budget(fingerprint, qtext, max_ms, mean_ms, p95_ms,
                                   max_rows, max_blocks, max_calls_per_xact,
                                   allow_seqscan, allow_nplus1);
    RETURN fingerprint;
END
$$;

-- A NULL statement is an error, as for set_budget (NULL is not the default
-- budget here).  drop_budget(text) of NULL comes here too.
CREATE OR REPLACE FUNCTION drop_budget(fingerprint bigint)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF fingerprint IS NULL THEN
        RAISE EXCEPTION 'perfguard.drop_budget needs a statement'
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'To remove the default budget, use perfguard.drop_default_budget().';
    END IF;
    DELETE FROM perfguard.budgets b WHERE b.fingerprint = drop_budget.fingerprint;
    RETURN FOUND;
END
$$;

COMMENT ON FUNCTION fingerprint(text) IS
    'the fingerprint of one statement, analyzed in the current database and search_path';

-- Budgets of 1.0: fingerprint their texts again, in the search_path the
-- session would have without the script's (that of the database, the role
-- or the connection; by default "$user", public).  The budget set last
-- comes first: when two texts that 1.0 held apart are now one statement, it
-- is the one that gets the statement.  Those that cannot be fingerprinted
-- keep 1.0's fingerprint (no statement has it) and are listed, each with
-- the reason.  Only the texts are read in that search_path: every other
-- name here is resolved in the script's, where pg_catalog comes first.
DO $$
DECLARE
    b record;
    fp bigint;
    other text;
    lost text[] := '{}';
    saved text := pg_catalog.current_setting('search_path');
    texts_path text := (SELECT s.reset_val FROM pg_catalog.pg_settings s
                         WHERE s.name = 'search_path');
BEGIN
    FOR b IN SELECT ctid, * FROM perfguard.budgets WHERE fingerprint IS NOT NULL
              ORDER BY updated_at DESC, fingerprint LOOP
        BEGIN
            IF b.query IS NULL THEN
                lost := lost || format('%s: it has no text (it was set by fingerprint)', b.fingerprint);
                CONTINUE;
            END IF;
            -- (an error undoes the set_config with the rest of this block)
            PERFORM pg_catalog.set_config('search_path', texts_path, true);
            fp := perfguard.fingerprint(b.query);
            PERFORM pg_catalog.set_config('search_path', saved, true);
            SELECT o.query INTO other FROM perfguard.budgets o
             WHERE o.fingerprint = fp AND o.ctid <> b.ctid;
            IF FOUND THEN
                lost := lost || format('%s, "%s": the same statement as the budget of "%s", set after it',
                                       b.fingerprint, left(regexp_replace(b.query, '\s+', ' ', 'g'), 100),
                                       left(regexp_replace(other, '\s+', ' ', 'g'), 100));
                CONTINUE;
            END IF;
            UPDATE perfguard.budgets SET fingerprint = fp WHERE ctid = b.ctid;
        EXCEPTION WHEN OTHERS THEN
            lost := lost || format('%s, "%s": %s', b.fingerprint,
                                   left(regexp_replace(b.query, '\s+', ' ', 'g'), 100), SQLERRM);
        END;
    END LOOP;
    IF cardinality(lost) > 0 THEN
        RAISE WARNING 'perfguard could not fingerprint % of its budgets again', cardinality(lost)
              USING DETAIL = E'These budgets keep their fingerprints of perfguard 1.0, which no statement has any more:\n'
                             || array_to_string(lost, E'\n'),
                    HINT = 'Drop them with perfguard.drop_budget(fingerprint), and set those still wanted again with perfguard.set_budget() in a session whose search_path finds their tables.';
    END IF;
END
$$;

-- Baselines: which fingerprints their rows carry (NULL: those of 1.0).
-- No default: the functions that store a baseline say 2, and a row that
-- does not say (one of 1.0, or restored from a dump of 1.0 into a fresh
-- 1.1) is taken for one of 1.0.
ALTER TABLE perfguard.baselines ADD COLUMN fingerprint_version integer;
COMMENT ON COLUMN perfguard.baselines.fingerprint_version IS
    '2: fingerprints of analyzed statements (perfguard 1.1); NULL: of perfguard 1.0, which no longer match';

CREATE OR REPLACE FUNCTION stored_rows(baseline text)
RETURNS SETOF baseline_statements
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    version integer;
BEGIN
    IF baseline IS NULL THEN
        RAISE EXCEPTION 'baseline must not be NULL'
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'Name a stored baseline, or give a baseline document (jsonb).';
    END IF;
    SELECT b.fingerprint_version INTO version
      FROM perfguard.baselines b WHERE b.name = stored_rows.baseline;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'perfguard baseline "%" does not exist', baseline
              USING ERRCODE = 'undefined_object',
                    HINT = 'The stored baselines are listed in the table perfguard.baselines.';
    END IF;
    IF version IS DISTINCT FROM 2 THEN
        RAISE EXCEPTION 'perfguard baseline "%" was captured by perfguard 1.0, whose fingerprints no longer match any statement', baseline
              USING ERRCODE = 'object_not_in_prerequisite_state',
                    DETAIL = 'perfguard 1.1 identifies a statement by its analyzed form, not by the first text seen.',
                    HINT = 'Capture the baseline again (perfguard.baseline_capture(name, replace => true)) on the code it describes.';
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
                   s.row_by_row_dml, s.latency_hist, s.failed_calls, s.failed_ms,
                   s.failed_by_sqlstate
              FROM perfguard.baseline_statements s
             WHERE s.baseline = stored_rows.baseline;
    END IF;
END
$$;

-- Storing baselines: the rows say which fingerprints they carry; a NULL
-- flag is an error, so that nothing is replaced or dropped by accident.
CREATE OR REPLACE FUNCTION baseline_capture(name text, replace boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'name must not be NULL'
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'A perfguard baseline needs a name.';
    END IF;
    IF name = '' THEN
        RAISE EXCEPTION 'a perfguard baseline needs a name'
              USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF replace IS NULL THEN
        RAISE EXCEPTION 'replace must not be NULL'
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'Pass replace => true to replace a baseline of that name, false (the default) not to.';
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
           (name, captured_at, database, server_version_num, perfguard_version,
            fingerprint_version)
    VALUES (name, now(), current_database(),
            current_setting('server_version_num')::integer,
            (SELECT i.version FROM perfguard.info() i), 2);
    INSERT INTO perfguard.baseline_statements
    SELECT * FROM perfguard.current_rows(name);
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE perfguard.baselines b SET statements = n WHERE b.name = baseline_capture.name;
    RETURN n;
END
$$;

CREATE OR REPLACE FUNCTION baseline_drop(name text, missing_ok boolean DEFAULT false)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'name must not be NULL'
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'The stored baselines are listed in the table perfguard.baselines.';
    END IF;
    IF missing_ok IS NULL THEN
        RAISE EXCEPTION 'missing_ok must not be NULL'
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'Pass missing_ok => true to return false for a baseline that does not exist, false (the default) for an error.';
    END IF;
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

-- Documents: version 2 carries the fingerprints of 1.1.
CREATE OR REPLACE FUNCTION baseline_export(name text DEFAULT NULL)
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
                    (SELECT i.version FROM perfguard.info() i), NULL, 0, 2);
    ELSE
        SELECT * INTO head FROM perfguard.baselines b WHERE b.name = baseline_export.name;
    END IF;
    RETURN jsonb_build_object(
        'format', 'perfguard-baseline',
        'version', 2,
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
                       'failed_calls', r.failed_calls,
                       'failed_ms', r.failed_ms,
                       'failed_by_sqlstate', r.failed_by_sqlstate,
                       'latency_histogram',
                           (SELECT jsonb_agg(jsonb_build_array(r.latency_hist[i], r.latency_hist[i + 1]) ORDER BY i)
                              FROM generate_series(1, coalesce(array_length(r.latency_hist, 1), 0), 2) i)))
                   ORDER BY r.fingerprint)
              FROM unnest(rows) r),
            '[]'::jsonb));
END
$$;

-- Numbers of a document: those that are not integers are 0 or of a
-- magnitude from 1e-300 to 1e300, so that they are double precision values
-- (and sums of a few of them are too).
CREATE OR REPLACE FUNCTION doc_number(o jsonb, key text, path text, required boolean DEFAULT false,
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
    IF NOT integral AND (abs(n) > 1e300 OR (n <> 0 AND abs(n) < 1e-300)) THEN
        PERFORM perfguard.doc_fault(format('%s.%s is out of range', path, key));
    END IF;
    RETURN n;
END
$$;

-- The members of a document outside "statements", checked for every
-- function that reads a document.
CREATE OR REPLACE FUNCTION doc_check_header(doc jsonb)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    svn numeric;
BEGIN
    IF doc IS NULL THEN
        RAISE EXCEPTION 'the baseline document is NULL'
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'Baseline documents are written by perfguard.baseline_export().';
    END IF;
    IF jsonb_typeof(doc) <> 'object' THEN
        PERFORM perfguard.doc_fault('it is not a JSON object');
    END IF;
    IF doc -> 'format' IS DISTINCT FROM '"perfguard-baseline"'::jsonb THEN
        RAISE EXCEPTION 'this JSON document is not a perfguard baseline'
              USING ERRCODE = 'invalid_parameter_value',
                    DETAIL = format('Its "format" member is %s; a perfguard baseline has "perfguard-baseline".',
                                    coalesce((doc -> 'format')::text, 'missing')),
                    HINT = 'Baseline documents are written by perfguard.baseline_export().';
    END IF;
    IF doc -> 'version' = '1'::jsonb THEN
        RAISE EXCEPTION 'this perfguard baseline document is of version 1, whose fingerprints no longer match any statement'
              USING ERRCODE = 'invalid_parameter_value',
                    DETAIL = 'Version 1 documents were written by perfguard 1.0, which identified a statement by the first text seen; perfguard 1.1 identifies it by its analyzed form.',
                    HINT = 'Export the baseline again (perfguard.baseline_export() or "perfguard baseline export") from a server running perfguard 1.1.';
    END IF;
    IF doc -> 'version' IS DISTINCT FROM '2'::jsonb THEN
        RAISE EXCEPTION 'perfguard cannot read version % of the baseline format',
                        coalesce((doc -> 'version')::text, '(missing)')
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'This perfguard reads version 2. Export the baseline again with this version of perfguard.';
    END IF;
    IF doc ? 'histogram' AND doc -> 'histogram' IS DISTINCT FROM '"log-linear-8"'::jsonb THEN
        PERFORM perfguard.doc_fault(format('its histogram scheme %s is not "log-linear-8"', doc -> 'histogram'));
    END IF;
    IF jsonb_typeof(doc -> 'statements') IS DISTINCT FROM 'array' THEN
        PERFORM perfguard.doc_fault('"statements" is missing or not an array');
    END IF;
    svn := perfguard.doc_number(doc, 'server_version_num', 'the document', false, true);
    IF svn < 150000 OR svn > 2147483647 THEN
        PERFORM perfguard.doc_fault(format('"server_version_num" is out of range: %s is not the version number of PostgreSQL 15 or later', svn));
    END IF;
    IF jsonb_typeof(doc -> 'name') NOT IN ('string', 'null') THEN
        PERFORM perfguard.doc_fault('"name" is not a string');
    END IF;
    IF jsonb_typeof(doc -> 'database') NOT IN ('string', 'null') THEN
        PERFORM perfguard.doc_fault('"database" is not a string');
    END IF;
    IF jsonb_typeof(doc -> 'perfguard_version') NOT IN ('string', 'null') THEN
        PERFORM perfguard.doc_fault('"perfguard_version" is not a string');
    END IF;
    -- an ISO 8601 date and time (or date): not "yesterday", "now", "epoch"
    -- or "infinity", which PostgreSQL reads too
    IF jsonb_typeof(doc -> 'captured_at') = 'string' THEN
        IF doc ->> 'captured_at' !~* '^[0-9]{4}-[0-9]{2}-[0-9]{2}([t ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(z|[+-][0-9]{2}(:?[0-9]{2}){0,2})?)?$' THEN
            PERFORM perfguard.doc_fault('"captured_at" is not a timestamp');
        END IF;
        BEGIN
            PERFORM (doc ->> 'captured_at')::timestamptz;
        EXCEPTION WHEN data_exception THEN
            PERFORM perfguard.doc_fault('"captured_at" is not a timestamp');
        END;
    ELSIF jsonb_typeof(doc -> 'captured_at') <> 'null' THEN
        PERFORM perfguard.doc_fault('"captured_at" is not a timestamp');
    END IF;
END
$$;

-- The statements of a document: no statement has fingerprint 0; a
-- histogram has each bucket once, and no more executions than calls.
CREATE OR REPLACE FUNCTION doc_rows(doc jsonb, name text)
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
    buckets integer[];
    total numeric;
BEGIN
    PERFORM perfguard.doc_check_header(doc);
    FOR st IN SELECT e FROM jsonb_array_elements(doc -> 'statements') e LOOP
        path := format('statements[%s]', i);
        IF jsonb_typeof(st) <> 'object' THEN
            PERFORM perfguard.doc_fault(format('%s is not an object', path));
        END IF;
        r.baseline := name;
        r.fingerprint := perfguard.doc_number(st, 'fingerprint', path, true, true);
        IF r.fingerprint = 0 THEN
            PERFORM perfguard.doc_fault(format('%s.fingerprint is 0, which no statement has', path));
        END IF;
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
        -- failed executions (1.1): optional, a document without them imports
        r.failed_calls := perfguard.doc_number(st, 'failed_calls', path, false, true);
        r.failed_ms := perfguard.doc_number(st, 'failed_ms', path);
        r.failed_by_sqlstate := NULL;
        IF jsonb_typeof(st -> 'failed_by_sqlstate') = 'object' THEN
            IF EXISTS (SELECT FROM jsonb_each(st -> 'failed_by_sqlstate') e
                        WHERE e.key NOT IN ('57014', '55P03', '40P01', '40001', 'other')
                           OR jsonb_typeof(e.value) <> 'number'
                           OR (e.value #>> '{}') !~ '^[0-9]{1,18}$') THEN
                PERFORM perfguard.doc_fault(format('%s.failed_by_sqlstate is not an object of counts by 57014, 55P03, 40P01, 40001 and other', path));
            END IF;
            r.failed_by_sqlstate := st -> 'failed_by_sqlstate';
        ELSIF st ? 'failed_by_sqlstate' AND jsonb_typeof(st -> 'failed_by_sqlstate') <> 'null' THEN
            PERFORM perfguard.doc_fault(format('%s.failed_by_sqlstate is not an object', path));
        END IF;
        IF r.calls < 0 OR least(r.mean_ms, r.stddev_ms, r.p50_ms, r.p95_ms, r.p99_ms,
                                r.max_ms, r.rows_per_call, r.blocks_per_call,
                                r.calls_per_xact, r.max_calls_per_xact, r.seq_scans,
                                r.n_plus_one, r.row_by_row_dml, r.failed_calls,
                                r.failed_ms) < 0 THEN
            PERFORM perfguard.doc_fault(format('%s has a negative count or time', path));
        END IF;
        hist := NULL;
        IF jsonb_typeof(st -> 'latency_histogram') = 'array' THEN
            hist := '{}';
            buckets := '{}';
            total := 0;
            FOR pair IN SELECT e FROM jsonb_array_elements(st -> 'latency_histogram') e LOOP
                IF jsonb_typeof(pair) <> 'array' OR jsonb_array_length(pair) <> 2 OR
                   jsonb_typeof(pair -> 0) <> 'number' OR jsonb_typeof(pair -> 1) <> 'number' OR
                   (pair ->> 0) !~ '^[0-9]{1,3}$' OR (pair ->> 0)::integer > 263 OR
                   (pair ->> 1) !~ '^[0-9]{1,18}$' THEN
                    PERFORM perfguard.doc_fault(format('%s.latency_histogram has an entry that is not a [bucket, count] pair', path));
                END IF;
                IF (pair ->> 0)::integer = ANY (buckets) THEN
                    PERFORM perfguard.doc_fault(format('%s.latency_histogram has bucket %s more than once', path, pair -> 0));
                END IF;
                buckets := buckets || (pair ->> 0)::integer;
                hist := hist || ARRAY[(pair ->> 0)::bigint, (pair ->> 1)::bigint];
                total := total + (pair ->> 1)::numeric;
            END LOOP;
            -- cancelled executions are in the histogram too
            IF total > r.calls + coalesce(r.failed_calls, 0) THEN
                PERFORM perfguard.doc_fault(format('%s.latency_histogram counts %s executions, more than its %s calls',
                                                   path, total, r.calls + coalesce(r.failed_calls, 0)));
            END IF;
        ELSIF st ? 'latency_histogram' AND jsonb_typeof(st -> 'latency_histogram') <> 'null' THEN
            PERFORM perfguard.doc_fault(format('%s.latency_histogram is not an array', path));
        END IF;
        r.latency_hist := hist;
        RETURN NEXT r;
        i := i + 1;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION baseline_import(doc jsonb, name text DEFAULT NULL, replace boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target text;
    rows perfguard.baseline_statements[];
BEGIN
    IF name = '' THEN
        RAISE EXCEPTION 'a perfguard baseline needs a name'
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Leave name out (or NULL) for the name the document gives.';
    END IF;
    IF replace IS NULL THEN
        RAISE EXCEPTION 'replace must not be NULL'
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'Pass replace => true to replace a baseline of that name, false (the default) not to.';
    END IF;
    PERFORM perfguard.doc_check_header(doc);
    target := coalesce(name, doc ->> 'name');
    IF target IS NULL OR target = '' THEN
        RAISE EXCEPTION 'the baseline document has no name'
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Give one: perfguard.baseline_import(doc, name => ''...'').';
    END IF;
    rows := perfguard.doc_rows_checked(doc, target);
    IF EXISTS (SELECT FROM perfguard.baselines b WHERE b.name = target) THEN
        IF NOT replace THEN
            RAISE EXCEPTION 'perfguard baseline "%" already exists', target
                  USING ERRCODE = 'duplicate_object',
                        HINT = 'Drop it with perfguard.baseline_drop(), import under another name, or pass replace => true.';
        END IF;
        PERFORM perfguard.baseline_drop(target);
    END IF;
    -- doc_check_header has checked captured_at and server_version_num
    INSERT INTO perfguard.baselines
           (name, captured_at, database, server_version_num, perfguard_version,
            imported_at, statements, fingerprint_version)
    VALUES (target, coalesce((doc ->> 'captured_at')::timestamptz, now()), doc ->> 'database',
            (doc ->> 'server_version_num')::numeric::integer, doc ->> 'perfguard_version',
            now(), cardinality(rows), 2);
    INSERT INTO perfguard.baseline_statements SELECT * FROM unnest(rows);
    RETURN target;
END
$$;

--
-- Latency regressions (1.1).  The unit of noise is the run, not the call:
-- a whole run on a busier machine is slower in every statement.  So the
-- run's speed factor is estimated from the statements themselves (the
-- median of the ratios of their medians, which a minority of real
-- regressions does not move), each statement is judged relative to it, the
-- test is of what the message claims ("more than min_effect slower", not
-- "any increase"), exact (Fisher's exact test on the calls over a
-- threshold, valid at 0 exceedances), with Holm's correction over every
-- test of the report, and below a minimum absolute effect latency is never
-- a regression.  The rule of the first design (the p95 up by min_effect,
-- one test per statement, no speed factor) is kept as policy 'p95'.
-- docs/baselines.md gives the formulas.  The signatures change: the
-- functions that call them are made again.
--
DROP FUNCTION assert_no_violations(text);
DROP FUNCTION assert_no_violations(jsonb);
DROP FUNCTION regressions(text, text, integer, double precision, double precision, double precision);
DROP FUNCTION regressions(jsonb, text, integer, double precision, double precision, double precision);
DROP FUNCTION compare(baseline_statements[], baseline_statements[], boolean, integer,
                      double precision, double precision, double precision);

-- One-sided Fisher's exact test of "the current run is more than factor
-- times slower at this percentile": see src/report.c.
CREATE FUNCTION shift_test(base_hist bigint[], cur_hist bigint[],
                           fraction double precision, factor double precision,
                           OUT base_threshold_ms double precision, OUT base_over bigint,
                           OUT base_calls bigint, OUT cur_threshold_ms double precision,
                           OUT cur_over bigint, OUT cur_calls bigint,
                           OUT p_value double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'perfguard_shift_test'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION shift_test(bigint[], bigint[], double precision, double precision) IS
    'is the second latency histogram more than factor times slower than the first at a percentile? Fisher''s exact test on the calls over the two thresholds';

-- min_calls of the reports: 2 or more.
CREATE FUNCTION checked_min_calls(min_calls integer)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF min_calls IS NULL THEN
        RAISE EXCEPTION 'min_calls must not be NULL'
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'Leave it out for its default, 30.';
    END IF;
    IF min_calls < 2 THEN
        RAISE EXCEPTION 'min_calls must be 2 or more' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN min_calls;
END
$$;

-- The run's speed against the baseline's: the median, over the statements
-- with min_calls calls on both sides, of the ratio of their medians, and
-- the same of their p95s (a part of the run on a slower machine moves the
-- tails of every statement, not their medians); 1 (unknown) with fewer
-- than 3 such statements.
CREATE FUNCTION speed_of(base baseline_statements[], cur baseline_statements[],
                         min_calls integer,
                         OUT factor double precision, OUT tail_factor double precision,
                         OUT statements integer)
RETURNS record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT CASE WHEN count(*) >= 3
                THEN percentile_cont(0.5) WITHIN GROUP (ORDER BY c.p50_ms / b.p50_ms)
                ELSE 1 END,
           CASE WHEN count(*) >= 3
                THEN percentile_cont(0.5) WITHIN GROUP (ORDER BY c.p95_ms / b.p95_ms)
                ELSE 1 END,
           count(*)::integer
      FROM unnest(base) b JOIN unnest(cur) c ON c.fingerprint = b.fingerprint
     WHERE b.calls >= min_calls AND c.calls >= min_calls
       AND b.p50_ms > 0 AND c.p50_ms > 0 AND b.p95_ms > 0 AND c.p95_ms > 0;
END;

-- The thresholds of the regression report: NULL is an error (leave an
-- argument out for its default); NaN and values out of range too.
-- min_effect and tolerance stop at 1e6, where "never" has long been
-- reached and a product with a value of a document still fits.
CREATE FUNCTION compare(base baseline_statements[], cur baseline_statements[],
                        same_major boolean, min_calls integer,
                        min_effect double precision, tolerance double precision,
                        min_confidence double precision, policy text,
                        min_ms double precision, min_total_ms double precision)
RETURNS TABLE (fingerprint bigint, query text, kind text,
               baseline_value double precision, current_value double precision,
               baseline_calls bigint, current_calls bigint, test text,
               confidence double precision, message text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    arg record;
    speed double precision := 1;		-- at the median
    tail_speed double precision := 1;	-- at the p95
    nspeed integer := 0;
BEGIN
    FOR arg IN
        SELECT * FROM (VALUES ('min_calls', compare.min_calls::text, '30'),
                              ('min_effect', compare.min_effect::text, '0.2'),
                              ('tolerance', compare.tolerance::text, '0.1'),
                              ('min_confidence', compare.min_confidence::text, '0.99'),
                              ('policy', compare.policy, '''run'''),
                              ('min_ms', compare.min_ms::text, '0.1'),
                              ('min_total_ms', compare.min_total_ms::text, '10')) AS a(name, value, dflt)
         WHERE value IS NULL
    LOOP
        RAISE EXCEPTION '% must not be NULL', arg.name
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = format('Leave it out for its default, %s.', arg.dflt);
    END LOOP;
    PERFORM perfguard.checked_min_calls(min_calls);
    IF min_effect = 'NaN' OR min_effect < 0 OR min_effect > 1e6 THEN
        RAISE EXCEPTION 'min_effect must be a fraction from 0 to 1000000, e.g. 0.2 for 20%%, not %', min_effect
              USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF tolerance = 'NaN' OR tolerance < 0 OR tolerance > 1e6 THEN
        RAISE EXCEPTION 'tolerance must be a fraction from 0 to 1000000, e.g. 0.1 for 10%%, not %', tolerance
              USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF min_confidence = 'NaN' OR min_confidence < 0 OR min_confidence >= 1 THEN
        RAISE EXCEPTION 'min_confidence must be at least 0 and less than 1, e.g. 0.99, not %', min_confidence
              USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF policy NOT IN ('run', 'p95') THEN
        RAISE EXCEPTION 'policy must be ''run'' or ''p95'', not %', quote_literal(policy)
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = '''run'' judges the median and the p95 against the run''s speed, with Holm''s correction; ''p95'' tests the p95 of each statement alone.';
    END IF;
    IF min_ms = 'NaN' OR min_ms < 0 OR min_ms > 1e9 THEN
        RAISE EXCEPTION 'min_ms must be from 0 to 1000000000 milliseconds, not %', min_ms
              USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF min_total_ms = 'NaN' OR min_total_ms < 0 OR min_total_ms > 1e12 THEN
        RAISE EXCEPTION 'min_total_ms must be from 0 to 1000000000000 milliseconds, not %', min_total_ms
              USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF policy = 'run' THEN
        SELECT greatest(s.factor, 1), greatest(s.tail_factor, 1), s.statements
          INTO speed, tail_speed, nspeed
          FROM perfguard.speed_of(base, cur, min_calls) s;
    END IF;
    RETURN QUERY
    WITH j AS (
        SELECT c.fingerprint AS fp, coalesce(c.query, b.query) AS q,
               b.calls AS bc, c.calls AS cc,
               b.mean_ms AS bm, c.mean_ms AS cm,
               b.p50_ms AS b50, c.p50_ms AS c50, b.p95_ms AS bp, c.p95_ms AS cp,
               b.rows_per_call AS br, c.rows_per_call AS cr,
               b.blocks_per_call AS bb, c.blocks_per_call AS cb,
               b.calls_per_xact AS bx, c.calls_per_xact AS cx,
               b.plan_shape AS bps, c.plan_shape AS cps,
               coalesce(b.seq_scans, 0) AS bss, coalesce(c.seq_scans, 0) AS css,
               coalesce(b.n_plus_one, 0) + coalesce(b.row_by_row_dml, 0) AS bn,
               coalesce(c.n_plus_one, 0) + coalesce(c.row_by_row_dml, 0) AS cn,
               b.latency_hist AS bh, c.latency_hist AS ch,
               coalesce(b.failed_calls, 0) AS bf, coalesce(c.failed_calls, 0) AS cf
          FROM unnest(base) b JOIN unnest(cur) c ON c.fingerprint = b.fingerprint),
    -- the latency tests: the median and the p95 under policy 'run', the
    -- p95 under 'p95'; of every statement with min_calls calls on both sides
    lt AS (
        SELECT j.fp, l.lkind, l.fraction, l.sp,
               CASE WHEN l.fraction = 0.5 THEN j.b50 ELSE j.bp END AS lbv,
               CASE WHEN l.fraction = 0.5 THEN j.c50 ELSE j.cp END AS lcv,
               st.*
          FROM j
         CROSS JOIN LATERAL (VALUES ('latency_median', 0.5::float8, speed),
                                    ('latency_p95', 0.95, tail_speed))
               AS l(lkind, fraction, sp)
         CROSS JOIN LATERAL perfguard.shift_test(j.bh, j.ch, l.fraction,
                                                  least((1 + min_effect) * l.sp, 1e6)) st
         WHERE j.bc >= min_calls AND j.cc >= min_calls
           AND (policy = 'run' OR l.fraction = 0.95)
           AND st.p_value IS NOT NULL),
    -- Holm's step-down adjustment over every test of the report
    ranked AS (
        SELECT lt.*, count(*) OVER () AS m,
               row_number() OVER (ORDER BY lt.p_value, lt.fp, lt.lkind) AS i
          FROM lt),
    adj AS (
        SELECT r.*,
               CASE WHEN policy = 'run'
                    THEN max(least(1, (r.m - r.i + 1) * r.p_value))
                             OVER (ORDER BY r.i ROWS UNBOUNDED PRECEDING)
                    ELSE r.p_value END AS p_adj
          FROM ranked r),
    lat AS (
        SELECT a.*, j.cc AS lcc
          FROM adj a JOIN j ON j.fp = a.fp
         WHERE a.p_adj <= 1 - min_confidence
           AND a.lcv >= (1 + min_effect) * a.sp * a.lbv
           AND (policy = 'p95' OR
                (a.lcv - a.sp * a.lbv >= min_ms AND
                 (j.cm - a.sp * j.bm) * j.cc >= min_total_ms)))
    SELECT t.fp, t.q, x.kind, x.bv, x.cv, t.bc, t.cc, x.test, x.conf, x.msg
      FROM j t CROSS JOIN LATERAL (
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
        SELECT 'failures', bf::float8 / nullif(bc + bf, 0), cf::float8 / nullif(cc + cf, 0), 'exact', 1.0,
               CASE WHEN bf = 0
                    THEN format('%s of its %s executions failed; none did in the baseline', cf, cc + cf)
                    ELSE format('%s of its %s executions failed; in the baseline %s of %s',
                                cf, cc + cf, bf, bc + bf) END
         WHERE cf > 0 AND (bf = 0 OR cf::float8 / (cc + cf) > bf::float8 / (bc + bf) * (1 + tolerance))
        UNION ALL
        SELECT l.lkind, l.lbv, l.lcv, 'fisher_exact', 1 - l.p_adj,
               format('its %s is %s ms over %s calls; the baseline''s was %s ms over %s calls%s: '
                      'more than %s%% slower with confidence %s%% (Fisher''s exact test: '
                      '%s of %s calls at or over %s ms, against %s of %s over %s ms in the baseline%s)',
                      CASE WHEN l.fraction = 0.5 THEN 'median' ELSE 'p95' END,
                      round(l.lcv::numeric, 3), l.lcc, round(l.lbv::numeric, 3), l.base_calls,
                      CASE WHEN l.sp > 1
                           THEN format(', %s ms at this run''s speed (its machine was %sx slower than the baseline''s at the %s, over %s statements)',
                                       round((l.sp * l.lbv)::numeric, 3), trim_scale(round(l.sp::numeric, 2)),
                                       CASE WHEN l.fraction = 0.5 THEN 'median' ELSE 'p95' END, nspeed)
                           ELSE '' END,
                      round((100 * min_effect)::numeric, 1),
                      trunc((100 * (1 - l.p_adj))::numeric, 2),
                      l.cur_over, l.cur_calls, round(l.cur_threshold_ms::numeric, 3),
                      l.base_over, l.base_calls, round(l.base_threshold_ms::numeric, 3),
                      CASE WHEN policy = 'run' THEN format('; Holm''s correction over %s tests', l.m) ELSE '' END)
          FROM lat l WHERE l.fp = t.fp
      ) AS x(kind, bv, cv, test, conf, msg)
     ORDER BY t.fp, x.kind;
END
$$;

CREATE FUNCTION regressions(baseline text, compare_to text DEFAULT NULL,
                            min_calls integer DEFAULT 30,
                            min_effect double precision DEFAULT 0.2,
                            tolerance double precision DEFAULT 0.1,
                            min_confidence double precision DEFAULT 0.99,
                            policy text DEFAULT 'run',
                            min_ms double precision DEFAULT 0.1,
                            min_total_ms double precision DEFAULT 10)
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
        min_calls, min_effect, tolerance, min_confidence, policy, min_ms, min_total_ms);
END;

-- The document's server_version_num may be written 150010.0.
CREATE FUNCTION regressions(baseline jsonb, compare_to text DEFAULT NULL,
                            min_calls integer DEFAULT 30,
                            min_effect double precision DEFAULT 0.2,
                            tolerance double precision DEFAULT 0.1,
                            min_confidence double precision DEFAULT 0.99,
                            policy text DEFAULT 'run',
                            min_ms double precision DEFAULT 0.1,
                            min_total_ms double precision DEFAULT 10)
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
        coalesce((baseline ->> 'server_version_num')::numeric::integer / 10000 =
                 perfguard.baseline_major(compare_to), false),
        min_calls, min_effect, tolerance, min_confidence, policy, min_ms, min_total_ms);
END;

COMMENT ON FUNCTION regressions(text, text, integer, double precision, double precision, double precision, text, double precision, double precision) IS
    'what got worse since a stored baseline (or between two): one row per statement and kind';
COMMENT ON FUNCTION regressions(jsonb, text, integer, double precision, double precision, double precision, text, double precision, double precision) IS
    'what got worse since a baseline document, without storing it: one row per statement and kind';

-- The speed factor the latency kinds are judged against, for a report.
CREATE FUNCTION run_speed(baseline text, compare_to text DEFAULT NULL,
                          min_calls integer DEFAULT 30,
                          OUT factor double precision, OUT tail_factor double precision,
                          OUT statements integer)
RETURNS record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT s.factor, s.tail_factor, s.statements
      FROM perfguard.speed_of(ARRAY(SELECT r FROM perfguard.stored_rows(baseline) r),
                              perfguard.rows_of(compare_to),
                              perfguard.checked_min_calls(min_calls)) s;
END;

CREATE FUNCTION run_speed(baseline jsonb, compare_to text DEFAULT NULL,
                          min_calls integer DEFAULT 30,
                          OUT factor double precision, OUT tail_factor double precision,
                          OUT statements integer)
RETURNS record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT s.factor, s.tail_factor, s.statements
      FROM perfguard.speed_of(perfguard.doc_rows_checked(baseline, NULL),
                              perfguard.rows_of(compare_to),
                              perfguard.checked_min_calls(min_calls)) s;
END;

COMMENT ON FUNCTION run_speed(text, text, integer) IS
    'how many times slower (above 1) or faster (below 1) this run is than a stored baseline: the median ratio of the statements'' medians, of their p95s, and over how many statements';
COMMENT ON FUNCTION run_speed(jsonb, text, integer) IS
    'how many times slower (above 1) or faster (below 1) this run is than a baseline document: the median ratio of the statements'' medians, of their p95s, and over how many statements';

-- The CI gate, as in 1.0, on the regressions above.
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

--
-- Privileges (1.1).  Write functions run as the extension's owner, so that
-- GRANT EXECUTE on one of them delegates exactly it: no table grant is
-- needed, and none is given.  Each pins its search_path (pg_catalog first,
-- pg_temp last) and names everything with its schema, except the two that
-- analyze a statement's text, which must read it in the caller's
-- search_path: their bodies name every object with its schema and use no
-- operator.
--
ALTER FUNCTION set_budget(text, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean) SECURITY DEFINER;
ALTER FUNCTION set_budget(bigint, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean) SECURITY DEFINER;
ALTER FUNCTION set_default_budget(double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean) SECURITY DEFINER;
ALTER FUNCTION drop_budget(bigint) SECURITY DEFINER;
ALTER FUNCTION drop_budget(text) SECURITY DEFINER;
ALTER FUNCTION drop_default_budget() SECURITY DEFINER;
ALTER FUNCTION baseline_capture(text, boolean) SECURITY DEFINER;
ALTER FUNCTION baseline_import(jsonb, text, boolean) SECURITY DEFINER;
ALTER FUNCTION baseline_drop(text, boolean) SECURITY DEFINER;

-- Budget texts are given by whoever set them and can hold constants: the
-- table is no longer readable by everyone.  The limits are.
REVOKE SELECT ON budgets FROM PUBLIC;

CREATE VIEW budget_limits AS
    SELECT b.fingerprint, b.max_ms, b.mean_ms, b.p95_ms, b.max_rows,
           b.max_blocks, b.max_calls_per_xact, b.allow_seqscan,
           b.allow_nplus1, b.updated_at
      FROM perfguard.budgets b;

COMMENT ON VIEW budget_limits IS
    'perfguard budgets without their texts: the limits of each fingerprint, and of the default budget (fingerprint NULL)';
GRANT SELECT ON budget_limits TO PUBLIC;

-- A marker: EXECUTE on it lets a role read what can hold constant values
-- (captured plans, filters, parent texts, budget texts) of other users'
-- statements.  Superusers always can; nobody else unless granted.
CREATE FUNCTION read_constants()
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN true;

COMMENT ON FUNCTION read_constants() IS
    'grant EXECUTE on this to let a role read perfguard''s plans, filters and budget texts of other users'' statements, which can hold constant values';
REVOKE ALL ON FUNCTION read_constants() FROM PUBLIC;

CREATE OR REPLACE VIEW budget_list AS
    SELECT b.fingerprint,
           CASE WHEN b.fingerprint IS NULL THEN '(default budget)'
                WHEN pg_catalog.has_function_privilege('perfguard.read_constants()', 'EXECUTE')
                THEN coalesce(b.query, s.query)
                ELSE coalesce(s.query, '<insufficient privilege>') END AS query,
           b.max_ms, b.mean_ms, b.p95_ms, b.max_rows, b.max_blocks,
           b.max_calls_per_xact, b.allow_seqscan, b.allow_nplus1,
           b.updated_at, s.calls
      FROM perfguard.budgets b
      LEFT JOIN perfguard.statements s ON s.fingerprint = b.fingerprint;

COMMENT ON VIEW budget_list IS
    'perfguard budgets with the text of their statements and their calls so far; a budget''s own text only for superusers and roles granted EXECUTE on perfguard.read_constants()';

-- violations() reads the limits, not the texts.
CREATE OR REPLACE FUNCTION violations()
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
      LEFT JOIN perfguard.budget_limits o ON o.fingerprint = s.fingerprint
      LEFT JOIN perfguard.budget_limits d ON d.fingerprint IS NULL
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

-- info(): how many statements the N+1 detector could not count (a
-- transaction of more distinct statements than it counts).
DROP FUNCTION info();
CREATE FUNCTION info(
    OUT version text,
    OUT max_queries integer,
    OUT statements bigint,
    OUT evictions bigint,
    OUT stats_reset timestamptz,
    OUT query_text_length integer,
    OUT events bigint,
    OUT events_dropped bigint,
    OUT events_memory bigint,
    OUT nplus1_uncounted bigint
)
RETURNS record
AS 'MODULE_PATHNAME', 'perfguard_info_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION info() IS
    'perfguard library version, sizing, and use of the statistics table, the event store and the N+1 detector';

--
-- Failed executions (1.1): executions that ended in an ERROR, cancelled or
-- timed out.  perfguard.stats, perfguard.statements and baselines count
-- them per statement, with a breakdown by SQLSTATE; violations() judges
-- max_ms on them too.
--
DROP VIEW stats;
DROP FUNCTION stats_internal(boolean);
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
    OUT last_exec_at timestamptz,
    OUT failed_calls bigint,
    OUT failed_exec_time double precision,
    OUT failed_by_sqlstate jsonb
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'perfguard_stats_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION stats_internal(boolean) IS
    'perfguard statistics; use the view perfguard.stats';

CREATE VIEW stats AS
    SELECT * FROM stats_internal(true);

COMMENT ON VIEW stats IS
    'perfguard statistics: one row per statement, user, database and nesting level';

GRANT SELECT ON stats TO PUBLIC;

-- Baselines carry the failed executions; documents without them still import.
ALTER TABLE baseline_statements ADD COLUMN failed_calls bigint;
ALTER TABLE baseline_statements ADD COLUMN failed_ms double precision;
ALTER TABLE baseline_statements ADD COLUMN failed_by_sqlstate jsonb;
GRANT SELECT (failed_calls, failed_ms, failed_by_sqlstate)
    ON baseline_statements TO PUBLIC;

-- Budgets: max_failed_calls, the executions of a statement that may end in
-- an ERROR (judged by violations(), like mean_ms).  The functions that set
-- budgets take it as their last argument: they are replaced.
ALTER TABLE budgets ADD COLUMN max_failed_calls bigint;
ALTER TABLE budgets ADD CONSTRAINT budgets_max_failed_calls_check
    CHECK (max_failed_calls >= 0);

-- Grants of EXECUTE on the replaced functions do not carry over: say whose.
DO $$
DECLARE
    who text;
BEGIN
    SELECT string_agg(DISTINCT a.grantee::regrole::text, ', ') INTO who
      FROM pg_catalog.pg_proc p
     CROSS JOIN LATERAL pg_catalog.aclexplode(p.proacl) a
     WHERE p.oid IN ('perfguard.set_budget(text, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean)'::regprocedure,
                     'perfguard.set_budget(bigint, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean)'::regprocedure,
                     'perfguard.set_default_budget(double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean)'::regprocedure)
       AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner;
    IF who IS NOT NULL THEN
        RAISE WARNING 'perfguard.set_budget() and perfguard.set_default_budget() have a new argument, max_failed_calls: the EXECUTE granted on them to % does not carry over', who
              USING HINT = 'Grant EXECUTE on the new functions again (docs/functions.md, Privileges).';
    END IF;
END
$$;

DROP FUNCTION set_budget(text, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean);
DROP FUNCTION set_budget(bigint, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean);
DROP FUNCTION set_default_budget(double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean);
DROP FUNCTION store_budget(bigint, text, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean);

-- Store a budget (fingerprint NULL: the default), replacing the one there.
CREATE FUNCTION store_budget(
    fp bigint, qtext text,
    max_ms double precision, mean_ms double precision, p95_ms double precision,
    max_rows bigint, max_blocks bigint, max_calls_per_xact bigint,
    allow_seqscan boolean, allow_nplus1 boolean, max_failed_calls bigint)
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
                              ('max_calls_per_xact', store_budget.max_calls_per_xact::float8, 1),
                              ('max_failed_calls', store_budget.max_failed_calls::float8, 0))
                      AS l(name, value, least_value)
         WHERE value IS NOT NULL AND (value = 'NaN' OR value < least_value)
    LOOP
        RAISE EXCEPTION 'perfguard budget limit % must be a number of at least %, not %',
                        lim.name, lim.least_value, lim.value
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Leave a limit NULL not to check it.';
    END LOOP;
    IF num_nonnulls(max_ms, mean_ms, p95_ms, max_rows, max_blocks,
                    max_calls_per_xact, allow_seqscan, allow_nplus1,
                    max_failed_calls) = 0 THEN
        RAISE EXCEPTION 'a perfguard budget needs at least one limit'
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Give limits as named arguments, e.g. max_ms => 100; to remove a budget, use perfguard.drop_budget().';
    END IF;
    -- one statement, so that two sessions setting the same budget do not collide
    INSERT INTO perfguard.budgets AS b
           (fingerprint, query, max_ms, mean_ms, p95_ms, max_rows, max_blocks,
            max_calls_per_xact, allow_seqscan, allow_nplus1, max_failed_calls,
            updated_at)
    VALUES (fp, qtext, store_budget.max_ms, store_budget.mean_ms, store_budget.p95_ms,
            store_budget.max_rows, store_budget.max_blocks,
            store_budget.max_calls_per_xact, store_budget.allow_seqscan,
            store_budget.allow_nplus1, store_budget.max_failed_calls, now())
    ON CONFLICT (fingerprint) DO UPDATE
       SET query = EXCLUDED.query, max_ms = EXCLUDED.max_ms,
           mean_ms = EXCLUDED.mean_ms, p95_ms = EXCLUDED.p95_ms,
           max_rows = EXCLUDED.max_rows, max_blocks = EXCLUDED.max_blocks,
           max_calls_per_xact = EXCLUDED.max_calls_per_xact,
           allow_seqscan = EXCLUDED.allow_seqscan,
           allow_nplus1 = EXCLUDED.allow_nplus1,
           max_failed_calls = EXCLUDED.max_failed_calls,
           updated_at = EXCLUDED.updated_at;
END
$$;

REVOKE ALL ON FUNCTION store_budget(bigint, text, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint) FROM PUBLIC;

CREATE FUNCTION set_budget(
    query text,
    max_ms double precision DEFAULT NULL,
    mean_ms double precision DEFAULT NULL,
    p95_ms double precision DEFAULT NULL,
    max_rows bigint DEFAULT NULL,
    max_blocks bigint DEFAULT NULL,
    max_calls_per_xact bigint DEFAULT NULL,
    allow_seqscan boolean DEFAULT NULL,
    allow_nplus1 boolean DEFAULT NULL,
    max_failed_calls bigint DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
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
                                   allow_nplus1, max_failed_calls);
    RETURN fp;
END
$$;

COMMENT ON FUNCTION set_budget(text, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint) IS
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
    allow_nplus1 boolean DEFAULT NULL,
    max_failed_calls bigint DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    qtext text;
BEGIN
    IF fingerprint IS NULL THEN
        RAISE EXCEPTION 'perfguard.set_budget needs a statement'
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'For the budget of every statement, use perfguard.set_default_budget().';
    END IF;
    IF fingerprint = 0 THEN
        RAISE EXCEPTION 'no statement has fingerprint 0'
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'perfguard.fingerprint(text) gives the fingerprint of a statement; perfguard.statements lists those that ran.';
    END IF;
    BEGIN
        SELECT s.query INTO qtext FROM perfguard.statements s
         WHERE s.fingerprint = set_budget.fingerprint;
    EXCEPTION WHEN object_not_in_prerequisite_state THEN
        qtext := NULL;      -- not preloaded: no statistics, so no text
    END;
    PERFORM perfguard.store_budget(fingerprint, qtext, max_ms, mean_ms, p95_ms,
                                   max_rows, max_blocks, max_calls_per_xact,
                                   allow_seqscan, allow_nplus1, max_failed_calls);
    RETURN fingerprint;
END
$$;

COMMENT ON FUNCTION set_budget(bigint, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint) IS
    'set the budget of a statement (given by its fingerprint), replacing the one it had; returns the fingerprint';

CREATE FUNCTION set_default_budget(
    max_ms double precision DEFAULT NULL,
    mean_ms double precision DEFAULT NULL,
    p95_ms double precision DEFAULT NULL,
    max_rows bigint DEFAULT NULL,
    max_blocks bigint DEFAULT NULL,
    max_calls_per_xact bigint DEFAULT NULL,
    allow_seqscan boolean DEFAULT NULL,
    allow_nplus1 boolean DEFAULT NULL,
    max_failed_calls bigint DEFAULT NULL)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT perfguard.store_budget(NULL, NULL, max_ms, mean_ms, p95_ms, max_rows,
                                  max_blocks, max_calls_per_xact, allow_seqscan,
                                  allow_nplus1, max_failed_calls);
END;

COMMENT ON FUNCTION set_default_budget(double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint) IS
    'set the default budget: the limits of every statement whose own budget leaves them NULL';

REVOKE ALL ON FUNCTION set_budget(text, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION set_budget(bigint, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION set_default_budget(double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint) FROM PUBLIC;
ALTER FUNCTION set_budget(text, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint) SECURITY DEFINER;
ALTER FUNCTION set_budget(bigint, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint) SECURITY DEFINER;
ALTER FUNCTION set_default_budget(double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint) SECURITY DEFINER;

CREATE OR REPLACE VIEW budget_limits AS
    SELECT b.fingerprint, b.max_ms, b.mean_ms, b.p95_ms, b.max_rows,
           b.max_blocks, b.max_calls_per_xact, b.allow_seqscan,
           b.allow_nplus1, b.updated_at, b.max_failed_calls
      FROM perfguard.budgets b;

-- statements_internal() gets new columns.  What reads it is pointed
-- elsewhere while it is replaced, then back.
CREATE OR REPLACE FUNCTION current_rows(baseline text DEFAULT NULL)
RETURNS SETOF baseline_statements
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT * FROM perfguard.baseline_statements WHERE false;
END;
CREATE OR REPLACE FUNCTION violations()
RETURNS TABLE (fingerprint bigint, query text, limit_name text,
               limit_value double precision, measured double precision,
               calls bigint, budget text, severity text, message text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT NULL::bigint, NULL::text, NULL::text, NULL::float8, NULL::float8,
           NULL::bigint, NULL::text, NULL::text, NULL::text WHERE false;
END;
DROP VIEW budget_list;
DROP VIEW statements;
DROP FUNCTION statements_internal(boolean);

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
    OUT own boolean,
    OUT failed_calls bigint,
    OUT failed_exec_time double precision,
    OUT failed_max_exec_time double precision,
    OUT failed_by_sqlstate jsonb
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'perfguard_statements_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION statements_internal(boolean) IS
    'perfguard statistics of the current database per fingerprint; use the view perfguard.statements';

CREATE VIEW statements AS
    SELECT fingerprint, query, calls, total_exec_time, min_exec_time,
           max_exec_time, mean_exec_time, stddev_exec_time, p50_exec_time,
           p95_exec_time, p99_exec_time, rows, rows_per_call, max_rows,
           shared_blks, blocks_per_call, max_blocks, xacts, calls_per_xact,
           max_calls_per_xact, plan_shape, seq_scans, n_plus_one,
           row_by_row_dml, last_exec_at, own, failed_calls,
           failed_exec_time, failed_by_sqlstate
      FROM statements_internal(true);

COMMENT ON VIEW statements IS
    'perfguard statistics of the current database, one row per fingerprint (all users and nesting levels together)';

GRANT SELECT ON statements TO PUBLIC;

CREATE VIEW budget_list AS
    SELECT b.fingerprint,
           CASE WHEN b.fingerprint IS NULL THEN '(default budget)'
                WHEN pg_catalog.has_function_privilege('perfguard.read_constants()', 'EXECUTE')
                THEN coalesce(b.query, s.query)
                ELSE coalesce(s.query, '<insufficient privilege>') END AS query,
           b.max_ms, b.mean_ms, b.p95_ms, b.max_rows, b.max_blocks,
           b.max_calls_per_xact, b.allow_seqscan, b.allow_nplus1,
           b.updated_at, s.calls, b.max_failed_calls, s.failed_calls
      FROM perfguard.budgets b
      LEFT JOIN perfguard.statements s ON s.fingerprint = b.fingerprint;

COMMENT ON VIEW budget_list IS
    'perfguard budgets with the text of their statements and their calls so far; a budget''s own text only for superusers and roles granted EXECUTE on perfguard.read_constants()';
GRANT SELECT ON budget_list TO PUBLIC;

-- The current statistics as the rows of a baseline, perfguard's own left out.
CREATE OR REPLACE FUNCTION current_rows(baseline text DEFAULT NULL)
RETURNS SETOF baseline_statements
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT baseline, s.fingerprint, s.query, s.calls, s.mean_exec_time,
           s.stddev_exec_time, s.p50_exec_time, s.p95_exec_time, s.p99_exec_time,
           s.max_exec_time, s.rows_per_call, s.blocks_per_call, s.calls_per_xact,
           s.max_calls_per_xact, s.plan_shape, s.seq_scans, s.n_plus_one,
           s.row_by_row_dml, s.latency_hist, s.failed_calls, s.failed_exec_time,
           s.failed_by_sqlstate
      FROM perfguard.statements_internal(true) s
     WHERE NOT s.own;
END;

-- violations(): a failed execution that ran longer than max_ms breaks it.
CREATE OR REPLACE FUNCTION violations()
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
      LEFT JOIN perfguard.budget_limits o ON o.fingerprint = s.fingerprint
      LEFT JOIN perfguard.budget_limits d ON d.fingerprint IS NULL
     CROSS JOIN LATERAL (VALUES
        ('max_ms', 'number', coalesce(o.max_ms, d.max_ms), o.max_ms IS NOT NULL,
         greatest(s.max_exec_time, s.failed_max_exec_time),
         CASE WHEN s.failed_max_exec_time > s.max_exec_time OR s.max_exec_time IS NULL
              THEN format('a call that failed had run %s ms; max_ms is %s',
                          round(s.failed_max_exec_time::numeric, 3), coalesce(o.max_ms, d.max_ms))
              ELSE format('its slowest call took %s ms; max_ms is %s',
                          round(s.max_exec_time::numeric, 3), coalesce(o.max_ms, d.max_ms)) END),
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
                s.n_plus_one + s.row_by_row_dml)),
        ('max_failed_calls', 'number',
         coalesce(o.max_failed_calls, d.max_failed_calls)::float8,
         o.max_failed_calls IS NOT NULL, s.failed_calls::float8,
         format('%s of its executions failed (%s); max_failed_calls is %s',
                s.failed_calls,
                (SELECT string_agg(format('%s: %s', e.key, e.value), ', ' ORDER BY e.key)
                   FROM jsonb_each(s.failed_by_sqlstate) e WHERE e.value <> '0'),
                coalesce(o.max_failed_calls, d.max_failed_calls)))
     ) AS l(name, kind, lim, own, measured, message)
     WHERE l.lim IS NOT NULL AND l.measured > l.lim
       AND NOT s.own
     ORDER BY s.fingerprint, l.name;
END;

--
-- ==== Metrics for Prometheus (1.1) ====================================
-- What integrations/postgres_exporter.yaml asks for, one function per
-- family, so that the exporter's queries stay a plain SELECT * and the
-- number of series is bounded here: the top statements by total time, not
-- all of them.  Numbers for everyone (the rule of "Privileges (1.1)"); a
-- statement's normalized text only when asked for and only for superusers
-- and members of pg_read_all_stats.  Units are Prometheus's: seconds.
-- A new per-statement metric is one column in metrics_statements: its
-- declaration in RETURNS TABLE and its aggregate (and, for its type and
-- help, one entry in the exporter's file).
--
CREATE FUNCTION metrics_statements(top integer DEFAULT 20, with_query boolean DEFAULT false)
RETURNS TABLE (database name, username name, fingerprint text, query text,
               calls_total bigint,
               exec_seconds_total double precision,
               mean_exec_seconds double precision,
               p50_exec_seconds double precision,
               p95_exec_seconds double precision,
               p99_exec_seconds double precision,
               rows_total bigint,
               shared_blks_hit_total bigint,
               shared_blks_read_total bigint,
               seq_scans_total bigint,
               n_plus_one_total bigint,
               row_by_row_dml_total bigint,
               failed_calls_total bigint,
               failed_exec_seconds_total double precision)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF top IS NULL OR with_query IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', CASE WHEN top IS NULL THEN 'top' ELSE 'with_query' END
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'Leave it out for its default.';
    END IF;
    IF top < 1 OR top > 1000 THEN
        RAISE EXCEPTION 'top must be from 1 to 1000, not %', top
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Each statement is about a dozen series; keep top small.';
    END IF;
    RETURN QUERY
    WITH g AS (
        -- one statement per database, user and fingerprint: its entries
        -- (queryids, nesting levels) summed; a percentile of several
        -- entries is the largest of theirs, an upper bound of the true one
        SELECT s.dbid, s.userid, s.fingerprint,
               max(s.query) FILTER (WHERE s.query <> '<insufficient privilege>') AS query,
               sum(s.calls)::bigint AS calls,
               sum(s.total_exec_time) AS total_ms,
               max(s.p50_exec_time) AS p50_ms,
               max(s.p95_exec_time) AS p95_ms,
               max(s.p99_exec_time) AS p99_ms,
               sum(s.rows)::bigint AS rows,
               sum(s.shared_blks_hit)::bigint AS blks_hit,
               sum(s.shared_blks_read)::bigint AS blks_read,
               sum(s.seq_scans)::bigint AS seq_scans,
               sum(s.n_plus_one)::bigint AS n_plus_one,
               sum(s.row_by_row_dml)::bigint AS row_by_row_dml,
               sum(s.failed_calls)::bigint AS failed_calls,
               sum(s.failed_exec_time) AS failed_ms
          FROM perfguard.stats_internal(true) s
         GROUP BY s.dbid, s.userid, s.fingerprint
         ORDER BY total_ms DESC, s.dbid, s.userid, s.fingerprint
         LIMIT metrics_statements.top
    )
    SELECT coalesce(d.datname, g.dbid::text::name), coalesce(r.rolname, g.userid::text::name),
           g.fingerprint::text,
           CASE WHEN metrics_statements.with_query
                 AND pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE')	-- superusers too
                THEN pg_catalog.left(pg_catalog.regexp_replace(g.query, '\s+', ' ', 'g'), 60)
                ELSE '' END,
           g.calls,
           g.total_ms / 1000,
           CASE WHEN g.calls > 0 THEN g.total_ms / g.calls / 1000 END,
           g.p50_ms / 1000, g.p95_ms / 1000, g.p99_ms / 1000,
           g.rows, g.blks_hit, g.blks_read,
           g.seq_scans, g.n_plus_one, g.row_by_row_dml,
           g.failed_calls, g.failed_ms / 1000
      FROM g
      LEFT JOIN pg_catalog.pg_database d ON d.oid = g.dbid
      LEFT JOIN pg_catalog.pg_roles r ON r.oid = g.userid
     ORDER BY g.total_ms DESC, g.dbid, g.userid, g.fingerprint;
END
$$;

COMMENT ON FUNCTION metrics_statements(integer, boolean) IS
    'perfguard metrics for Prometheus: the top statements of the cluster by total time (1 to 1000), per database, user and fingerprint; the query text only with with_query, for superusers and members of pg_read_all_stats';

-- Events dropped to make room in the store, per kind, since the last
-- reset_events() of all kinds (or of that kind).
CREATE FUNCTION event_drops(OUT kind text, OUT dropped bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'perfguard_event_drops'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION event_drops() IS
    'perfguard events dropped to make room in the event store, per kind';

-- Events stored now and dropped so far, per kind (every kind, 0 included,
-- so that the series exist before the first event).
CREATE FUNCTION metrics_events()
RETURNS TABLE (kind text, stored bigint, dropped bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT d.kind, count(e.kind), d.dropped
      FROM perfguard.event_drops() d
      LEFT JOIN perfguard.events_internal() e ON e.kind = d.kind
     GROUP BY d.kind, d.dropped
     ORDER BY d.kind;
END;

COMMENT ON FUNCTION metrics_events() IS
    'perfguard metrics for Prometheus: events in the store now, and dropped to make room, per kind';

-- Budget violations of the current database, per budget (a statement's
-- own, by its fingerprint, or "default") and limit: how many statements
-- break it.  As many series as budgets and limits set.
CREATE FUNCTION metrics_violations()
RETURNS TABLE (database name, budget text, limit_name text, statements bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT pg_catalog.current_database(),
           CASE WHEN v.budget = 'default' THEN 'default' ELSE v.fingerprint::text END,
           v.limit_name, count(*)
      FROM perfguard.violations() v
     GROUP BY 2, 3
     ORDER BY 2, 3;
END;

COMMENT ON FUNCTION metrics_violations() IS
    'perfguard metrics for Prometheus: statements of the current database that break each budget limit';
-- ==== end of Metrics for Prometheus (1.1) ==============================
