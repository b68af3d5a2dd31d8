--
-- floors: enforcement a superuser sets, which a session can make stricter
-- but never switch off
--
CREATE TABLE fl_t (id int PRIMARY KEY, v text);
INSERT INTO fl_t SELECT g, 'v' || g FROM generate_series(1, 10) g;
CREATE ROLE regress_pfg_floor LOGIN;
GRANT SELECT ON fl_t TO regress_pfg_floor;
SELECT perfguard.set_budget('SELECT v FROM fl_t WHERE id > 0', max_rows => 5) IS NOT NULL AS budget;

SELECT name, setting, context FROM pg_settings
 WHERE name IN ('perfguard.enforce_floor', 'perfguard.nplus1_action_floor') ORDER BY name;

-- only superusers set a floor, also through ALTER ROLE ... SET
SELECT current_user AS admin \gset
ALTER ROLE regress_pfg_floor SET perfguard.enforce_floor = error;
\c - regress_pfg_floor
SHOW perfguard.enforce;
SHOW perfguard.enforce_floor;
\set VERBOSITY sqlstate
-- the session turns enforce off: the floor still fails the statement
SET perfguard.enforce = off;
SELECT v FROM fl_t WHERE id > 0;
-- ... and cannot lower the floor
SET perfguard.enforce_floor = off;
SET perfguard.enforce_floor = warn;
SET perfguard.nplus1_action_floor = log;
SHOW perfguard.enforce_floor;
-- stricter is allowed: the session's own setting
SET perfguard.enforce = error;
SELECT v FROM fl_t WHERE id > 0;
\set VERBOSITY default
\c - :admin
ALTER ROLE regress_pfg_floor RESET perfguard.enforce_floor;

-- a floor of warn under a session's error: error applies
SET perfguard.enforce_floor = warn;
SET perfguard.enforce = error;
\set VERBOSITY sqlstate
SELECT v FROM fl_t WHERE id > 0;
-- a session's off under a floor of warn: a WARNING
SET perfguard.enforce = off;
SELECT v FROM fl_t WHERE id > 0;
\set VERBOSITY default
RESET perfguard.enforce;
RESET perfguard.enforce_floor;

-- the N+1 floor: the tenth repetition in a transaction fails, though the
-- session's own action is log
SET perfguard.nplus1_action_floor = error;
SET perfguard.nplus1_action = log;
\set VERBOSITY sqlstate
BEGIN;
SELECT count(*) FROM fl_t \g /dev/null
SELECT v FROM fl_t WHERE id = 1 \g /dev/null
SELECT v FROM fl_t WHERE id = 2 \g /dev/null
SELECT v FROM fl_t WHERE id = 3 \g /dev/null
SELECT v FROM fl_t WHERE id = 4 \g /dev/null
SELECT v FROM fl_t WHERE id = 5 \g /dev/null
SELECT v FROM fl_t WHERE id = 6 \g /dev/null
SELECT v FROM fl_t WHERE id = 7 \g /dev/null
SELECT v FROM fl_t WHERE id = 8 \g /dev/null
SELECT v FROM fl_t WHERE id = 9 \g /dev/null
SELECT v FROM fl_t WHERE id = 10 \g /dev/null
ROLLBACK;
\set VERBOSITY default
RESET perfguard.nplus1_action_floor;
RESET perfguard.nplus1_action;

SELECT perfguard.drop_budget('SELECT v FROM fl_t WHERE id > 0') AS dropped;
REVOKE ALL ON fl_t FROM regress_pfg_floor;
DROP ROLE regress_pfg_floor;
DROP TABLE fl_t;
