--
-- arguments: what every function of the SQL API does with a NULL or a
-- nonsensical argument.  Each gets a defined result (documented in
-- docs/functions.md) or an error with the SQLSTATE of its class: 22004 for
-- a NULL that means nothing, 22023 for a value out of its range.  An error
-- changes nothing.
--
CREATE TABLE accounts (id int PRIMARY KEY, owner text);
INSERT INTO accounts SELECT g, 'owner ' || g FROM generate_series(1, 100) g;
ANALYZE accounts;

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

SELECT perfguard.reset() >= 0 AS reset;
SELECT owner FROM accounts WHERE id = 1;
SELECT count(*) FROM accounts WHERE owner = 'x';
SELECT perfguard.baseline_capture('args');
SELECT perfguard.baseline_capture('other');
SELECT perfguard.baseline_export('args') AS doc \gset
CREATE TABLE baselines_before AS SELECT * FROM perfguard.baselines;

--
-- Flags of the baseline functions: NULL is an error, never "replace".
--
\set SHOW_CONTEXT never
SELECT perfguard.baseline_capture('args', NULL);
SELECT perfguard.baseline_import(:'doc', 'args', NULL);
SELECT perfguard.baseline_drop('nothing', NULL);
\set SHOW_CONTEXT errors
SELECT stmt, pg_temp.try(stmt) AS result
  FROM (VALUES
    ($$SELECT perfguard.baseline_capture('args', NULL)$$),
    ($$SELECT perfguard.baseline_capture('args', replace => NULL)$$),
    ($$SELECT perfguard.baseline_capture('new-one', replace => NULL)$$),
    ($$SELECT perfguard.baseline_capture(NULL)$$),
    ($$SELECT perfguard.baseline_capture('')$$),
    ($$SELECT perfguard.baseline_drop('args', missing_ok => NULL)$$),
    ($$SELECT perfguard.baseline_drop('nothing', missing_ok => NULL)$$),
    ($$SELECT perfguard.baseline_drop(NULL)$$),
    ($$SELECT perfguard.baseline_drop(NULL, missing_ok => true)$$),
    ($$SELECT perfguard.baseline_drop('nothing', missing_ok => true)$$),
    ($$SELECT perfguard.baseline_export('nothing')$$),
    ($$SELECT perfguard.baseline_export('') IS NOT NULL$$),
    ($$SELECT perfguard.baseline_export(NULL) ->> 'name'$$)
  ) AS c(stmt);
SELECT stmt, pg_temp.try(format(stmt, :'doc')) AS result
  FROM (VALUES
    ($$SELECT perfguard.baseline_import(%L, 'args', NULL)$$),
    ($$SELECT perfguard.baseline_import(%L, 'new-one', replace => NULL)$$),
    ($$SELECT perfguard.baseline_import(%L, name => '')$$),
    ($$SELECT perfguard.baseline_import(NULL)$$),
    ($$SELECT perfguard.baseline_import(NULL, 'args', true)$$),
    ($$SELECT perfguard.baseline_import(%L, NULL, true)$$)
  ) AS c(stmt);
-- nothing was replaced, added or removed (the last import above replaced
-- "args" by its own export, on purpose: replace => true)
SELECT b.name, b.captured_at = o.captured_at AS same_capture,
       b.statements = o.statements AS same_statements
  FROM perfguard.baselines b FULL JOIN baselines_before o USING (name)
 ORDER BY 1;
SELECT count(*) AS rows_kept FROM perfguard.baseline_statements WHERE baseline = 'args';

--
-- The reports: the baseline is required; compare_to NULL is the current
-- statistics; the thresholds are required and within their ranges.
--
SELECT stmt, pg_temp.try(stmt) AS result
  FROM (VALUES
    ($$SELECT count(*) FROM perfguard.regressions(NULL::text)$$),
    ($$SELECT count(*) FROM perfguard.regressions(NULL::jsonb)$$),
    ($$SELECT count(*) FROM perfguard.new_statements(NULL::text)$$),
    ($$SELECT count(*) FROM perfguard.new_statements(NULL::jsonb)$$),
    ($$SELECT perfguard.assert_no_violations(NULL::jsonb)$$),
    ($$SELECT perfguard.assert_no_violations(NULL::text)$$),
    ($$SELECT perfguard.assert_no_violations()$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', compare_to => NULL)$$),
    ($$SELECT count(*) >= 0 FROM perfguard.new_statements('args', compare_to => NULL)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', 'other')$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', 'nothing')$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_calls => NULL)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_calls => 1)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_calls => -5)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_calls => 2)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_effect => NULL)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_effect => 'NaN')$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_effect => -0.1)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_effect => 'Infinity')$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_effect => 1e300)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_effect => 0)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_effect => 1000000)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', tolerance => NULL)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', tolerance => 'NaN')$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', tolerance => -1)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', tolerance => '-Infinity')$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', tolerance => 1e7)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', tolerance => 0)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_confidence => NULL)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_confidence => 'NaN')$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_confidence => -0.5)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_confidence => 1)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_confidence => 1.5)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_confidence => 0)$$),
    ($$SELECT count(*) FROM perfguard.regressions('args', min_confidence => 0.999999)$$)
  ) AS c(stmt);
-- the same checks for a document
SELECT stmt, pg_temp.try(format(stmt, :'doc')) AS result
  FROM (VALUES
    ($$SELECT count(*) FROM perfguard.regressions(%L::jsonb, compare_to => 'other')$$),
    ($$SELECT count(*) FROM perfguard.regressions(%L::jsonb, min_effect => 'NaN')$$),
    ($$SELECT count(*) FROM perfguard.regressions(%L::jsonb, tolerance => 'NaN')$$),
    ($$SELECT count(*) FROM perfguard.regressions(%L::jsonb, min_confidence => 'NaN')$$),
    ($$SELECT count(*) FROM perfguard.regressions(%L::jsonb, min_calls => NULL)$$),
    ($$SELECT count(*) FROM perfguard.new_statements(%L::jsonb, compare_to => 'other')$$)
  ) AS c(stmt);
-- a message that says what is expected
\set SHOW_CONTEXT never
SELECT count(*) FROM perfguard.regressions('args', min_effect => 'NaN');
SELECT count(*) FROM perfguard.regressions('args', min_confidence => NULL);
\set SHOW_CONTEXT errors

--
-- Budgets: a NULL statement is an error; a NULL limit is "not checked";
-- fingerprint 0 belongs to no statement; a text must be one valid
-- statement (perfguard.fingerprint() says what is wrong with it).
--
SELECT count(*) AS budgets_before FROM perfguard.budgets \gset
SELECT stmt, pg_temp.try(stmt) AS result
  FROM (VALUES
    ($$SELECT perfguard.set_budget(NULL::text, max_ms => 1)$$),
    ($$SELECT perfguard.set_budget(NULL::bigint, max_ms => 1)$$),
    ($$SELECT perfguard.set_budget(0::bigint, max_ms => 1)$$),
    ($$SELECT perfguard.set_budget(0::bigint)$$),
    ($$SELECT perfguard.set_budget('', max_ms => 1)$$),
    ($$SELECT perfguard.set_budget('   ', max_ms => 1)$$),
    ($$SELECT perfguard.set_budget('-- nothing', max_ms => 1)$$),
    ($$SELECT perfguard.set_budget('this is not sql', max_ms => 1)$$),
    ($$SELECT perfguard.set_budget('SELECT 1; DROP TABLE accounts', max_ms => 1)$$),
    ($$SELECT perfguard.set_budget('SELECT * FROM no_such_table', max_ms => 1)$$),
    ($$SELECT perfguard.set_budget('SELECT owner FROM accounts WHERE id = 1')$$),
    ($$SELECT perfguard.set_budget('SELECT owner FROM accounts WHERE id = 1', max_ms => 'NaN')$$),
    ($$SELECT perfguard.set_budget('SELECT owner FROM accounts WHERE id = 1', max_rows => -1)$$),
    ($$SELECT perfguard.set_default_budget()$$),
    ($$SELECT perfguard.set_default_budget(allow_seqscan => NULL, allow_nplus1 => NULL)$$),
    ($$SELECT perfguard.drop_budget(NULL::text)$$),
    ($$SELECT perfguard.drop_budget(NULL::bigint)$$),
    ($$SELECT perfguard.drop_budget('')$$),
    ($$SELECT perfguard.drop_budget(0::bigint)$$)
  ) AS c(stmt);
SELECT count(*) = :budgets_before AS nothing_stored FROM perfguard.budgets;
\set SHOW_CONTEXT never
SELECT perfguard.set_budget(0::bigint, max_ms => 1);
SELECT perfguard.drop_budget(NULL::bigint);
SELECT perfguard.set_budget('SELECT 1; DROP TABLE accounts', max_ms => 1);
\set SHOW_CONTEXT errors
SELECT count(*) AS accounts FROM accounts;
-- the allow_* flags: NULL is "not checked", as every limit
SELECT perfguard.set_budget('SELECT owner FROM accounts WHERE id = 1',
                            allow_seqscan => false, allow_nplus1 => NULL)
       = perfguard.fingerprint('SELECT owner FROM accounts WHERE id = 7') AS set;
SELECT max_ms, allow_seqscan, allow_nplus1 FROM perfguard.budgets;
SELECT perfguard.drop_budget('SELECT owner FROM accounts WHERE id = 1');

--
-- The statistics and events: NULL means "all"; fingerprint() of NULL is
-- NULL; the statistical tests give NULL for NULL.
--
SELECT perfguard.reset(perfguard.fingerprint('SELECT owner FROM accounts WHERE id = 1')) AS removed;
SELECT perfguard.reset(0) AS removed_none;
SELECT perfguard.reset(NULL) >= 1 AS removed_all;
SELECT count(*) AS left_after_reset FROM perfguard.stats WHERE query LIKE '%accounts%';
SELECT perfguard.reset_events(NULL) >= 0 AS all_events;
SELECT perfguard.reset_events('no_such_kind');
SELECT perfguard.fingerprint(NULL) AS fingerprint_of_null;
SELECT perfguard.welch_test(NULL, 1, 1, 30, 1, 1) AS welch_null,
       perfguard.welch_test(1, 1, 1, 30, 1, 1) AS welch_too_few,
       perfguard.welch_test(30, 'NaN', 1, 30, 1, 1) AS welch_nan,
       perfguard.exceedance_test(NULL, '{1,1}') AS exceedance_null;
SELECT perfguard.exceedance_test('{1,1}', '{1,1}', 'NaN');

DROP TABLE baselines_before, accounts;
SELECT perfguard.baseline_drop(name) FROM perfguard.baselines ORDER BY name;
