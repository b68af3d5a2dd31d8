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
    OUT query_text_length integer
)
RETURNS record
AS 'MODULE_PATHNAME', 'perfguard_info'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION info() IS
    'perfguard library version, sizing and table usage';
