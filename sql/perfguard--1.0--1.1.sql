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

COMMENT ON FUNCTION fingerprint(text) IS
    'the fingerprint of one statement, analyzed in the current database and search_path';

-- Budgets of 1.0: fingerprint their texts again, in the default search_path.
DO $$
DECLARE
    b record;
    fp bigint;
    lost text[] := '{}';
    saved text := pg_catalog.current_setting('search_path');
BEGIN
    PERFORM pg_catalog.set_config('search_path', '"$user", public', true);
    FOR b IN SELECT * FROM perfguard.budgets WHERE fingerprint IS NOT NULL ORDER BY updated_at LOOP
        BEGIN
            IF b.query IS NULL THEN
                RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed';
            END IF;
            fp := perfguard.fingerprint(b.query);
            UPDATE perfguard.budgets SET fingerprint = fp WHERE fingerprint = b.fingerprint;
        EXCEPTION WHEN OTHERS THEN
            lost := lost || format('%s (%s)', b.fingerprint, coalesce(b.query, 'no text'));
        END;
    END LOOP;
    PERFORM pg_catalog.set_config('search_path', saved, true);
    IF cardinality(lost) > 0 THEN
        RAISE WARNING 'perfguard could not fingerprint % of its budgets again', cardinality(lost)
              USING DETAIL = 'These budgets keep their fingerprints of perfguard 1.0, which no statement has any more: '
                             || array_to_string(lost, '; '),
                    HINT = 'Set them again with perfguard.set_budget(), in a session whose search_path finds their tables, and drop the old ones with perfguard.drop_budget(fingerprint).';
    END IF;
END
$$;

-- Baselines: which fingerprints their rows carry (NULL: those of 1.0).
ALTER TABLE perfguard.baselines ADD COLUMN fingerprint_version integer;
ALTER TABLE perfguard.baselines ALTER COLUMN fingerprint_version SET DEFAULT 2;
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
                   s.row_by_row_dml, s.latency_hist
              FROM perfguard.baseline_statements s
             WHERE s.baseline = stored_rows.baseline;
    END IF;
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
                       'latency_histogram',
                           (SELECT jsonb_agg(jsonb_build_array(r.latency_hist[i], r.latency_hist[i + 1]) ORDER BY i)
                              FROM generate_series(1, coalesce(array_length(r.latency_hist, 1), 0), 2) i)))
                   ORDER BY r.fingerprint)
              FROM unnest(rows) r),
            '[]'::jsonb));
END
$$;

CREATE OR REPLACE FUNCTION doc_check_header(doc jsonb)
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
    PERFORM perfguard.doc_number(doc, 'server_version_num', 'the document', false, true);
    IF jsonb_typeof(doc -> 'name') NOT IN ('string', 'null') THEN
        PERFORM perfguard.doc_fault('"name" is not a string');
    END IF;
END
$$;
