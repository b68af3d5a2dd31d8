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
