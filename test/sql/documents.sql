--
-- documents: every value of a baseline document is checked by every
-- function that reads one (baseline_import, and the jsonb forms of
-- regressions, new_statements and assert_no_violations); a bad one is an
-- error naming its place in the document (SQLSTATE 22023), and nothing
-- changes
--

-- Runs one statement: 'ok: ' and the first value it returned, or the
-- SQLSTATE and the message of its error.
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result text;
    state text;
    msg text;
BEGIN
    EXECUTE stmt INTO result;
    RETURN 'ok: ' || coalesce(result, 'NULL');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN state || ': ' || msg;
END
$$;

-- A valid document, and the same with one member changed.
CREATE TABLE docs (n int, what text, doc jsonb);
\set base '{"format": "perfguard-baseline", "version": 2, "name": "d", "statements": [{"fingerprint": "11", "calls": 3}, {"fingerprint": "12", "calls": 5, "mean_ms": 0.5, "latency_histogram": [[40, 2], [41, 3]]}]}'
INSERT INTO docs (n, what, doc)
SELECT row_number() OVER (), v.what,
       CASE WHEN v.path IS NULL THEN :'base'::jsonb || coalesce(v.value, '{}')
            ELSE jsonb_set(:'base'::jsonb, v.path, v.value) END
  FROM (VALUES
    -- the document's members
    ('captured_at "yesterday"',          '{captured_at}'::text[], '"yesterday"'::jsonb),
    ('captured_at "now"',                '{captured_at}', '"now"'),
    ('captured_at "epoch"',              '{captured_at}', '"epoch"'),
    ('captured_at "infinity"',           '{captured_at}', '"infinity"'),
    ('captured_at "-infinity"',          '{captured_at}', '"-infinity"'),
    ('captured_at "2026-02-30"',         '{captured_at}', '"2026-02-30T10:00:00Z"'),
    ('captured_at a number',             '{captured_at}', '20261123'),
    ('captured_at an object',            '{captured_at}', '{"at": "2026-11-23"}'),
    ('captured_at ISO 8601',             '{captured_at}', '"2026-11-23T14:41:18.886702+00:00"'),
    ('captured_at ISO 8601, Z',          '{captured_at}', '"2026-11-23T14:41:18Z"'),
    ('captured_at a date',               '{captured_at}', '"2026-11-23"'),
    ('captured_at null',                 '{captured_at}', 'null'),
    ('database a number',                '{database}', '42'),
    ('database an object',               '{database}', '{"name": "app"}'),
    ('database an array',                '{database}', '["app"]'),
    ('database a string',                '{database}', '"app"'),
    ('perfguard_version a number',       '{perfguard_version}', '1.1'),
    ('perfguard_version a string',       '{perfguard_version}', '"1.1.0"'),
    ('name a number',                    '{name}', '7'),
    ('server_version_num -1',            '{server_version_num}', '-1'),
    ('server_version_num 0',             '{server_version_num}', '0'),
    ('server_version_num 90624',         '{server_version_num}', '90624'),
    ('server_version_num 99999999999',   '{server_version_num}', '99999999999'),
    ('server_version_num 150010.5',      '{server_version_num}', '150010.5'),
    ('server_version_num 150010.0',      '{server_version_num}', '150010.0'),
    ('server_version_num "15.10"',       '{server_version_num}', '"15.10"'),
    ('server_version_num 150010',        '{server_version_num}', '150010'),
    ('server_version_num "150010"',      '{server_version_num}', '"150010"'),
    -- a statement's members
    ('fingerprint 0',                    '{statements,0,fingerprint}', '"0"'),
    ('fingerprint -1',                   '{statements,0,fingerprint}', '"-1"'),
    ('mean_ms 1e-400',                   '{statements,1,mean_ms}', '1e-400'),
    ('stddev_ms -1e-400',                '{statements,1,stddev_ms}', '-1e-400'),
    ('p95_ms 1e400',                     '{statements,1,p95_ms}', '1e400'),
    ('rows_per_call 1e-300',             '{statements,1,rows_per_call}', '1e-300'),
    ('mean_ms 0',                        '{statements,1,mean_ms}', '0'),
    ('calls_per_xact 1e-301',            '{statements,1,calls_per_xact}', '1e-301'),
    ('histogram, a bucket twice',        '{statements,1,latency_histogram}', '[[40, 2], [40, 3]]'),
    ('histogram, more than the calls',   '{statements,1,latency_histogram}', '[[40, 2], [41, 4]]'),
    ('histogram, out of order',          '{statements,1,latency_histogram}', '[[41, 3], [40, 2]]'),
    ('histogram, empty',                 '{statements,1,latency_histogram}', '[]'),
    ('histogram, huge counts',           '{statements,1,latency_histogram}',
         '[[1, 999999999999999999], [2, 999999999999999999], [3, 999999999999999999], [4, 999999999999999999], [5, 999999999999999999], [6, 999999999999999999], [7, 999999999999999999], [8, 999999999999999999], [9, 999999999999999999], [10, 999999999999999999]]'),
    ('calls 1e-400',                     '{statements,1,calls}', '1e-400'),
    ('unchanged',                        NULL, NULL),
    ('every member of the header',       NULL,
         '{"captured_at": "2026-11-23T14:41:18+05:30", "database": "app", "perfguard_version": "1.1.0",
           "server_version_num": 150010.0, "histogram": "log-linear-8"}')
  ) AS v(what, path, value);

SELECT count(*) AS baselines_before FROM perfguard.baselines \gset
-- each document, imported
SELECT n, what, pg_temp.try(format('SELECT perfguard.baseline_import(%L, replace => true)', doc)) AS import
  FROM docs ORDER BY n;
-- what the last import stored
SELECT name, captured_at, database, server_version_num,
       perfguard_version, statements, fingerprint_version
  FROM perfguard.baselines WHERE name = 'd';
SELECT perfguard.baseline_drop('d');
SELECT count(*) = :baselines_before AS unchanged FROM perfguard.baselines;

-- every reader of documents refuses the same documents
SELECT n, what,
       pg_temp.try(format('SELECT count(*) FROM perfguard.regressions(%L::jsonb)', doc)) AS regressions,
       pg_temp.try(format('SELECT count(*) >= 0 FROM perfguard.new_statements(%L::jsonb)', doc)) AS new_statements,
       pg_temp.try(format('SELECT perfguard.assert_no_violations(%L::jsonb)', doc)) AS assert
  FROM docs
 WHERE what ~ '^(captured_at "yesterday"|database a number|perfguard_version a number|server_version_num 99999999999|server_version_num 150010.0|mean_ms 1e-400|histogram, a bucket twice|unchanged)$'
 ORDER BY n;

-- the error, in full
\set SHOW_CONTEXT never
SELECT perfguard.baseline_import(jsonb_set(:'base'::jsonb, '{statements,1,mean_ms}', '1e-400'));
SELECT perfguard.baseline_import(jsonb_set(:'base'::jsonb, '{captured_at}', '"infinity"'));
SELECT perfguard.regressions(jsonb_set(:'base'::jsonb, '{server_version_num}', '99999999999'));
\set SHOW_CONTEXT errors

DROP TABLE docs;
