--
-- events: the event store's view, its visibility rule, reset, counters and
-- server-log output
--
CREATE ROLE regress_pfg_ev_alice LOGIN;
CREATE ROLE regress_pfg_ev_bob LOGIN;
CREATE ROLE regress_pfg_ev_carol LOGIN IN ROLE pg_read_all_stats;
CREATE TABLE cards AS
    SELECT g AS id, lpad(g::text, 16, '4') AS card FROM generate_series(1, 12000) g;
ANALYZE cards;
GRANT SELECT ON cards TO regress_pfg_ev_alice;

SELECT perfguard.reset_events() >= 0 AS reset_events;
SELECT events, events_dropped, events_memory FROM perfguard.info();

-- alice's statement leaves a captured plan and a flagged scan, both of
-- which show the literal she searched for
SET perfguard.capture_min_duration = 0;
SET perfguard.capture_interval = 0;
SET ROLE regress_pfg_ev_alice;
SELECT id FROM cards WHERE card = '4444444444441234';
RESET ROLE;
RESET perfguard.capture_min_duration;
SELECT events, events_dropped FROM perfguard.info();

-- alice sees everything about her own events
SET ROLE regress_pfg_ev_alice;
SELECT kind, database = current_database() AS this_db, username, toplevel,
       query, plan LIKE '%4444444444441234%' AS plan_shown,
       detail->>'filter' AS filter, detail->>'relation' AS relation
  FROM perfguard.events ORDER BY event_id;
RESET ROLE;

-- bob sees that they happened and their numbers, not the texts, relation
-- names, plans or filter
SET ROLE regress_pfg_ev_bob;
SELECT kind, username, query, plan, plan_format IS NOT NULL AS has_plan,
       detail ? 'filter' AS has_filter, detail->>'relation' AS relation,
       fingerprint = perfguard.fingerprint('SELECT id FROM cards WHERE card = $1') AS same_fingerprint
  FROM perfguard.events ORDER BY event_id;
-- and may not reset them
SELECT perfguard.reset_events();
RESET ROLE;

-- members of pg_read_all_stats see the normalized texts and the relation,
-- not what holds constants: plans and filters
SET ROLE regress_pfg_ev_carol;
SELECT kind, query, plan LIKE '%4444444444441234%' AS plan_shown,
       detail->>'filter' AS filter, detail->>'relation' AS relation
  FROM perfguard.events ORDER BY event_id;
RESET ROLE;

-- a role granted perfguard.read_constants() sees plans and filters too
GRANT EXECUTE ON FUNCTION perfguard.read_constants() TO regress_pfg_ev_bob;
SET ROLE regress_pfg_ev_bob;
SELECT kind, query, plan LIKE '%4444444444441234%' AS plan_shown,
       detail->>'filter' AS filter, detail->>'relation' AS relation
  FROM perfguard.events ORDER BY event_id;
RESET ROLE;
REVOKE EXECUTE ON FUNCTION perfguard.read_constants() FROM regress_pfg_ev_bob;

-- reset one kind, then everything
SELECT perfguard.reset_events('seq_scan') AS removed;
SELECT kind FROM perfguard.events ORDER BY event_id;
SELECT perfguard.reset_events('no_such_kind');
SELECT perfguard.reset_events() AS removed;
SELECT count(*) AS events FROM perfguard.events;
-- event ids keep growing across resets
SET perfguard.capture_min_duration = 0;
SELECT 1 AS one;
RESET perfguard.capture_min_duration;
SELECT event_id > 2 AS newer FROM perfguard.events;
SELECT perfguard.reset_events() >= 0 AS reset_events;

-- log output: each event is also written at log_events_level; at WARNING
-- the client sees it too (the detail, with times, is left out here)
\set VERBOSITY terse
SET perfguard.log_events = on;
SET perfguard.log_events_level = warning;
SET perfguard.capture_min_duration = 0;
SELECT count(*) FROM cards WHERE id < 10;
SET perfguard.log_events_level = debug1;
SELECT count(*) FROM cards WHERE id < 10;
RESET perfguard.capture_min_duration;
RESET perfguard.log_events_level;
RESET perfguard.log_events;
\set VERBOSITY default

-- only superusers may change what perfguard records
SET ROLE regress_pfg_ev_bob;
SET perfguard.capture_min_duration = 0;
SET perfguard.seqscan_min_rows = -1;
RESET ROLE;

SELECT perfguard.reset_events() >= 0 AS reset_events;
DROP TABLE cards;
DROP ROLE regress_pfg_ev_alice, regress_pfg_ev_bob, regress_pfg_ev_carol;
