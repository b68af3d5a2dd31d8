--
-- roles: what a role with no privileges, a member of pg_read_all_stats, a
-- CI role with EXECUTE grants and a role granted perfguard.read_constants()
-- can read and write, on every surface
--
CREATE ROLE regress_pfg_nopriv LOGIN;
CREATE ROLE regress_pfg_stats LOGIN IN ROLE pg_read_all_stats;
CREATE ROLE regress_pfg_ci LOGIN;
CREATE ROLE regress_pfg_auditor LOGIN;
CREATE ROLE regress_pfg_owner LOGIN;
CREATE TABLE rl_pay (id int PRIMARY KEY, ssn text, amount int);
INSERT INTO rl_pay SELECT g, 'ssn-' || g, g FROM generate_series(1, 20000) g;
ANALYZE rl_pay;
GRANT SELECT ON rl_pay TO regress_pfg_owner, regress_pfg_nopriv, regress_pfg_stats,
                          regress_pfg_ci, regress_pfg_auditor;

-- The grant recipe for a CI role (docs/functions.md, Privileges): EXECUTE on
-- the write functions it needs, nothing on the tables.
GRANT EXECUTE ON FUNCTION
    perfguard.set_budget(text, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint),
    perfguard.set_budget(bigint, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint),
    perfguard.set_default_budget(double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint),
    perfguard.drop_budget(text), perfguard.drop_budget(bigint), perfguard.drop_default_budget(),
    perfguard.baseline_capture(text, boolean), perfguard.baseline_import(jsonb, text, boolean),
    perfguard.baseline_drop(text, boolean), perfguard.reset(bigint), perfguard.reset_events(text)
  TO regress_pfg_ci;
-- ... and for an auditor who may read constants (plans, filters, budget texts)
GRANT EXECUTE ON FUNCTION perfguard.read_constants() TO regress_pfg_auditor;

SELECT perfguard.reset() >= 0 AS reset, perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.seqscan_min_rows = 1000;
SET perfguard.capture_min_duration = 0;
SET perfguard.capture_mode = always;

-- the owner runs a statement with a constant, read sequentially
SET ROLE regress_pfg_owner;
SELECT amount FROM rl_pay WHERE ssn = 'ssn-4242';
RESET ROLE;

-- 1. The CI role: every granted write function works, with no table grant.
SET ROLE regress_pfg_ci;
SELECT perfguard.set_budget('SELECT amount FROM rl_pay WHERE ssn = ''ssn-1''', max_rows => 100) IS NOT NULL AS set_budget;
SELECT perfguard.set_default_budget(max_ms => 100000) IS NULL AS set_default;
SELECT perfguard.baseline_capture('rl-ci') >= 1 AS captured;
SELECT perfguard.baseline_import(perfguard.baseline_export('rl-ci'), 'rl-ci-copy') AS imported;
SELECT perfguard.baseline_drop('rl-ci-copy') AS dropped;
SELECT perfguard.drop_default_budget() AS dropped_default;
-- it cannot read the tables behind them
SELECT count(*) FROM perfguard.budgets;
SELECT count(*) >= 1 AS numbers FROM perfguard.baseline_statements;
SELECT query FROM perfguard.baseline_statements;
-- nor write them directly
INSERT INTO perfguard.budgets (fingerprint, max_rows) VALUES (1, 1);
RESET ROLE;

-- 2. A role with no privileges: every write function is refused, nothing
--    changes.
SET ROLE regress_pfg_nopriv;
\set VERBOSITY sqlstate
SELECT perfguard.set_budget('SELECT 1', max_rows => 1);
SELECT perfguard.set_budget(1::bigint, max_rows => 1);
SELECT perfguard.set_default_budget(max_rows => 1);
SELECT perfguard.drop_budget('SELECT amount FROM rl_pay WHERE ssn = ''ssn-1''');
SELECT perfguard.drop_default_budget();
SELECT perfguard.baseline_capture('rl-nopriv');
SELECT perfguard.baseline_drop('rl-ci');
SELECT perfguard.reset();
SELECT perfguard.reset_events();
SELECT perfguard.read_constants();
SELECT count(*) FROM perfguard.budgets;
\set VERBOSITY default
RESET ROLE;
SELECT count(*) AS budgets, (SELECT count(*) FROM perfguard.baselines) AS baselines FROM perfguard.budgets;

-- 3. Budget texts: the limits are public, a budget's own text is not.
SET ROLE regress_pfg_nopriv;
SELECT query, max_rows FROM perfguard.budget_list;
SELECT fingerprint IS NOT NULL AS fp, max_rows FROM perfguard.budget_limits;
RESET ROLE;
SET ROLE regress_pfg_stats;
SELECT query, max_rows FROM perfguard.budget_list;
RESET ROLE;
SET ROLE regress_pfg_auditor;
SELECT query, max_rows FROM perfguard.budget_list;
RESET ROLE;

-- 4. violations() and the reports work for everyone (limits, not texts)
SET ROLE regress_pfg_nopriv;
SELECT count(*) >= 0 AS violations_work FROM perfguard.violations();
SELECT count(*) >= 0 AS regressions_work FROM perfguard.regressions('rl-ci', min_calls => 2);
RESET ROLE;

-- 5. search_path tricks change nothing in what the functions do: a schema
--    of the caller's, first on the path, with a function and an operator
--    named as perfguard's and the catalog's.
CREATE SCHEMA rl_evil AUTHORIZATION regress_pfg_ci;
SET ROLE regress_pfg_ci;
CREATE FUNCTION rl_evil.fingerprint(text) RETURNS bigint LANGUAGE sql RETURN 42;
CREATE FUNCTION rl_evil.store_budget(bigint, text, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint)
  RETURNS void LANGUAGE sql RETURN NULL;
CREATE FUNCTION rl_evil.texteq(text, text) RETURNS boolean LANGUAGE sql RETURN true;
CREATE OPERATOR rl_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = rl_evil.texteq);
SET search_path = rl_evil, public;
SELECT perfguard.set_budget('SELECT id FROM rl_pay WHERE amount = 7', max_rows => 77)
     = perfguard.fingerprint('SELECT id FROM rl_pay WHERE amount = $1') AS real_fingerprint;
RESET search_path;
RESET ROLE;
SELECT query, max_rows FROM perfguard.budgets ORDER BY max_rows;
SET ROLE regress_pfg_ci;
SET search_path = rl_evil, public;
SELECT perfguard.drop_budget('SELECT id FROM rl_pay WHERE amount = 7') AS dropped;
SELECT perfguard.baseline_drop('rl-ci') AS dropped_baseline;
RESET search_path;
RESET ROLE;
SELECT count(*) AS budgets_left FROM perfguard.budgets;

-- 6. perfguard.enforce is the session's, the floor the DBA's (test floors)

DROP SCHEMA rl_evil CASCADE;
SELECT perfguard.drop_budget('SELECT amount FROM rl_pay WHERE ssn = ''ssn-1''') AS dropped;
RESET perfguard.seqscan_min_rows;
RESET perfguard.capture_min_duration;
RESET perfguard.capture_mode;
REVOKE ALL ON rl_pay FROM regress_pfg_owner, regress_pfg_nopriv, regress_pfg_stats,
                          regress_pfg_ci, regress_pfg_auditor;
REVOKE ALL ON FUNCTION
    perfguard.set_budget(text, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint),
    perfguard.set_budget(bigint, double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint),
    perfguard.set_default_budget(double precision, double precision, double precision, bigint, bigint, bigint, boolean, boolean, bigint),
    perfguard.drop_budget(text), perfguard.drop_budget(bigint), perfguard.drop_default_budget(),
    perfguard.baseline_capture(text, boolean), perfguard.baseline_import(jsonb, text, boolean),
    perfguard.baseline_drop(text, boolean), perfguard.reset(bigint), perfguard.reset_events(text),
    perfguard.read_constants()
  FROM regress_pfg_ci, regress_pfg_auditor;
DROP TABLE rl_pay;
DROP ROLE regress_pfg_nopriv, regress_pfg_stats, regress_pfg_ci, regress_pfg_auditor, regress_pfg_owner;
