--
-- upgrade: perfguard 1.0 with budgets and baselines in place, then ALTER
-- EXTENSION perfguard UPDATE to 1.1: budgets are fingerprinted again (those
-- that cannot be are listed in a WARNING), baselines of 1.0 are kept but
-- refused with a hint, new ones are of fingerprint version 2, and the
-- extension's objects are those of a fresh CREATE EXTENSION.
--
SELECT current_database() AS home \gset
CREATE DATABASE regress_pfg_upgrade;
\c regress_pfg_upgrade

-- Everything that makes up the extension, one row per fact, without OIDs:
-- its members; each function's definition, privileges and comment; each
-- table's and view's columns, defaults, constraints, indexes, triggers,
-- privileges and comments; the schema's privileges; the configuration
-- tables pg_dump keeps.
CREATE FUNCTION public.extension_objects() RETURNS SETOF text
LANGUAGE sql STABLE
AS $$
    WITH ext AS (SELECT oid, extconfig, extcondition, extnamespace
                   FROM pg_extension WHERE extname = 'perfguard'),
    members AS (SELECT d.classid, d.objid FROM pg_depend d, ext
                 WHERE d.refclassid = 'pg_extension'::regclass
                   AND d.refobjid = ext.oid AND d.deptype = 'e'),
    rels AS (SELECT c.oid, c.relname FROM pg_class c JOIN members m
                 ON m.classid = 'pg_class'::regclass AND m.objid = c.oid)
    SELECT 'member ' || pg_describe_object(classid, objid, 0) FROM members
    UNION ALL
    SELECT format('function %s: %s acl %s comment %s', p.oid::regprocedure,
                  pg_get_functiondef(p.oid), p.proacl, obj_description(p.oid, 'pg_proc'))
      FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
    UNION ALL
    SELECT format('relation %s: kind %s acl %s comment %s view %s', r.relname, c.relkind,
                  c.relacl, obj_description(r.oid, 'pg_class'),
                  CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(r.oid) END)
      FROM rels r JOIN pg_class c ON c.oid = r.oid
    UNION ALL
    SELECT format('column %s.%s: %s %s not null %s default %s acl %s comment %s',
                  r.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
                  a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attacl,
                  col_description(r.oid, a.attnum))
      FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0
      LEFT JOIN pg_attrdef ad ON ad.adrelid = r.oid AND ad.adnum = a.attnum
     WHERE NOT a.attisdropped
    UNION ALL
    SELECT format('constraint %s.%s: %s', r.relname, co.conname, pg_get_constraintdef(co.oid))
      FROM rels r JOIN pg_constraint co ON co.conrelid = r.oid
    UNION ALL
    SELECT format('index %s', pg_get_indexdef(i.indexrelid))
      FROM rels r JOIN pg_index i ON i.indrelid = r.oid
    UNION ALL
    SELECT format('trigger %s', pg_get_triggerdef(t.oid))
      FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid
    UNION ALL
    SELECT format('schema %s: acl %s', n.nspname, n.nspacl)
      FROM pg_namespace n, ext WHERE n.oid = ext.extnamespace
    UNION ALL
    SELECT format('configuration table %s: condition %s', x.cfg::regclass, x.cond)
      FROM ext, unnest(ext.extconfig, ext.extcondition) AS x(cfg, cond)
$$;

-- A database to install 1.1 into afresh, made now, with the same function.
\c :home
CREATE DATABASE regress_pfg_fresh TEMPLATE regress_pfg_upgrade;
\c regress_pfg_upgrade

CREATE EXTENSION perfguard VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'perfguard';

-- The application: tables in schema app (found by the database's
-- search_path) and in public.
CREATE SCHEMA app;
CREATE TABLE app.customers (id int PRIMARY KEY, name text);
CREATE TABLE public.invoices (id int PRIMARY KEY, customer_id int NOT NULL, amount numeric);
CREATE TABLE public.gone (id int);
INSERT INTO app.customers SELECT g, 'customer ' || g FROM generate_series(1, 1000) g;
INSERT INTO invoices SELECT g, 1 + g % 1000, g FROM generate_series(1, 2000) g;
ANALYZE app.customers, invoices;
ALTER DATABASE regress_pfg_upgrade SET search_path = "$user", app, public;
\c regress_pfg_upgrade

--
-- Budgets, set with the functions of 1.0.  (1.0's set_budget(text) reads
-- its text with search_path pinned to pg_catalog, so the texts here name
-- their schemas.)
--
-- 1.0's SQL calls the library installed now, whose fingerprint() is 1.1's:
-- the budgets set here carry 1.1's fingerprints.  A real 1.0 installation
-- has the fingerprints of the first text seen (here: made-up numbers), and
-- texts as the user wrote them: 1.0 read only a text's tokens, so they
-- need not name their schema.  Each budget is made so once set.
SELECT perfguard.set_budget('SELECT name FROM app.customers WHERE id = 1', max_rows => 1) IS NOT NULL AS set;
UPDATE perfguard.budgets SET fingerprint = 1001, query = 'SELECT name FROM customers WHERE id = 1'
 WHERE query = 'SELECT name FROM app.customers WHERE id = 1';
SELECT perfguard.set_budget('SELECT amount FROM public.invoices WHERE customer_id = $1',
                            max_blocks => 50, allow_seqscan => false) IS NOT NULL AS set;
UPDATE perfguard.budgets SET fingerprint = 1002
 WHERE query = 'SELECT amount FROM public.invoices WHERE customer_id = $1';
-- two texts 1.0 held apart and 1.1 holds the same (* is the column list):
-- the budget set last wins, the other is listed
SELECT perfguard.set_budget('SELECT * FROM app.customers WHERE id = 2', max_ms => 100) IS NOT NULL AS set;
UPDATE perfguard.budgets SET fingerprint = 1003, updated_at = '2020-01-01'
 WHERE query = 'SELECT * FROM app.customers WHERE id = 2';
SELECT perfguard.set_budget('SELECT id, name FROM app.customers WHERE id = 3', max_ms => 200) IS NOT NULL AS set;
UPDATE perfguard.budgets SET fingerprint = 1004, updated_at = '2020-01-02'
 WHERE query = 'SELECT id, name FROM app.customers WHERE id = 3';
-- a budget whose table is gone
SELECT perfguard.set_budget('SELECT id FROM public.gone', max_ms => 5) IS NOT NULL AS set;
UPDATE perfguard.budgets SET fingerprint = 1005 WHERE query = 'SELECT id FROM public.gone';
-- one set by fingerprint, of a statement that never ran: no text
SELECT perfguard.set_budget(4242424242, max_calls_per_xact => 3);
SELECT perfguard.set_default_budget(max_calls_per_xact => 20, allow_nplus1 => false);
DROP TABLE gone;
CREATE TABLE budgets_before AS SELECT * FROM perfguard.budgets;
SELECT fingerprint, query, max_ms, max_rows, max_blocks, max_calls_per_xact,
       allow_seqscan, allow_nplus1
  FROM perfguard.budgets ORDER BY fingerprint NULLS LAST;

--
-- Baselines: one captured, one imported from a version 1 document.
--
SELECT perfguard.reset() >= 0 AS reset;
SELECT name FROM customers WHERE id = 1;
SELECT amount FROM invoices WHERE customer_id = 2;
SELECT perfguard.baseline_capture('captured');
SELECT perfguard.baseline_import('{"format": "perfguard-baseline", "version": 1,
    "name": "imported", "captured_at": "2026-01-15T10:00:00+00:00",
    "database": "app", "server_version_num": 150010, "perfguard_version": "1.0.0",
    "histogram": "log-linear-8",
    "statements": [
      {"fingerprint": "1001", "query": "SELECT name FROM customers WHERE id = $1",
       "calls": 40, "mean_ms": 0.02, "stddev_ms": 0.01, "rows_per_call": 1,
       "blocks_per_call": 3, "latency_histogram": [[20, 30], [21, 10]]},
      {"fingerprint": "-77", "calls": 2}]}');
CREATE TABLE baselines_before AS SELECT * FROM perfguard.baselines;
SELECT name, database, statements, imported_at IS NOT NULL AS imported
  FROM perfguard.baselines ORDER BY name;

--
-- The update.  Texts are read in the database's search_path (not in the
-- script's, which is perfguard's).
--
-- EXECUTE granted on set_budget in 1.0 does not carry over to the new
-- signature (max_failed_calls): the update names who had it
CREATE ROLE regress_pfg_upg_ci;
GRANT EXECUTE ON FUNCTION perfguard.set_budget(text, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean)
   TO regress_pfg_upg_ci;
ALTER EXTENSION perfguard UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'perfguard';
SELECT has_function_privilege('regress_pfg_upg_ci',
         'perfguard.set_budget(text, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint)',
         'EXECUTE') AS still_granted;

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

-- Budgets: all kept with the same limits; those re-fingerprinted carry
-- the fingerprint of their text now; the others keep 1.0's.
WITH b AS (SELECT coalesce(query, fingerprint::text, '(default)') AS budget, *
             FROM perfguard.budgets),
     o AS (SELECT coalesce(query, fingerprint::text, '(default)') AS budget, *
             FROM budgets_before)
SELECT budget,
       CASE WHEN b.fingerprint IS NULL THEN 'none (default budget)'
            WHEN b.fingerprint = o.fingerprint THEN 'kept: ' || b.fingerprint
            WHEN b.fingerprint = perfguard.fingerprint(b.query) THEN 'fingerprint(query)'
            ELSE 'other' END AS fingerprint,
       (b.max_ms, b.mean_ms, b.p95_ms, b.max_rows, b.max_blocks, b.max_calls_per_xact,
        b.allow_seqscan, b.allow_nplus1, b.updated_at)
       IS NOT DISTINCT FROM
       (o.max_ms, o.mean_ms, o.p95_ms, o.max_rows, o.max_blocks, o.max_calls_per_xact,
        o.allow_seqscan, o.allow_nplus1, o.updated_at) AS same_limits
  FROM b FULL JOIN o USING (budget)
 ORDER BY 1;
-- they apply to the statements again
SELECT name FROM customers WHERE id = 7;
SELECT amount FROM invoices WHERE customer_id = 8;
SELECT query, calls FROM perfguard.budget_list WHERE calls IS NOT NULL ORDER BY query;

-- Baselines of 1.0: kept, as rows, and refused by what reads them.
SELECT b.name, b.fingerprint_version, b.statements,
       (b.captured_at, b.database, b.server_version_num, b.perfguard_version, b.imported_at)
       IS NOT DISTINCT FROM
       (o.captured_at, o.database, o.server_version_num, o.perfguard_version, o.imported_at) AS same,
       (SELECT count(*) FROM perfguard.baseline_statements s WHERE s.baseline = b.name) AS rows
  FROM perfguard.baselines b JOIN baselines_before o USING (name)
 ORDER BY 1;
\set SHOW_CONTEXT never
SELECT * FROM perfguard.regressions('captured');
\set SHOW_CONTEXT errors
SELECT stmt, pg_temp.try(stmt) AS result
  FROM (VALUES
    ($$SELECT count(*) FROM perfguard.regressions('captured')$$),
    ($$SELECT count(*) FROM perfguard.regressions('imported')$$),
    ($$SELECT perfguard.baseline_export('imported')$$),
    ($$SELECT count(*) FROM perfguard.new_statements('imported')$$),
    ($$SELECT perfguard.assert_no_violations('captured')$$),
    ($$SELECT count(*) FROM perfguard.regressions('{"format": "perfguard-baseline", "version": 2, "statements": []}'::jsonb, compare_to => 'captured')$$)
  ) AS c(stmt);
-- they can be dropped, or captured again
SELECT perfguard.baseline_drop('imported');

-- New baselines carry fingerprints of version 2, and are read.
SELECT perfguard.baseline_capture('after') > 0 AS captured;
SELECT perfguard.baseline_capture('captured', replace => true) > 0 AS captured;
SELECT perfguard.baseline_import(perfguard.baseline_export('after'), 'after-copy') AS imported;
SELECT name, fingerprint_version FROM perfguard.baselines ORDER BY name;
SELECT count(*) AS regressions FROM perfguard.regressions('captured', compare_to => 'after-copy');
SELECT perfguard.baseline_export('after') -> 'version' AS document_version;

-- The objects after the update, against a fresh CREATE EXTENSION.
SELECT jsonb_agg(o) AS updated FROM public.extension_objects() o \gset
\c regress_pfg_fresh
CREATE EXTENSION perfguard;
SELECT extversion FROM pg_extension WHERE extname = 'perfguard';
SELECT (SELECT count(*) FROM public.extension_objects()) =
       jsonb_array_length(:'updated') AS same_count,
       jsonb_array_length(:'updated') > 100 AS many;
(SELECT 'only after the update' AS side, u AS object
   FROM jsonb_array_elements_text(:'updated') u
 EXCEPT
 SELECT 'only after the update', f FROM public.extension_objects() f)
UNION ALL
(SELECT 'only in a fresh install', f FROM public.extension_objects() f
 EXCEPT
 SELECT 'only in a fresh install', u FROM jsonb_array_elements_text(:'updated') u)
ORDER BY 1, 2;

\c :home
DROP DATABASE regress_pfg_upgrade;
DROP DATABASE regress_pfg_fresh;
DROP ROLE regress_pfg_upg_ci;
