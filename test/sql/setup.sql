--
-- setup: the extension installs into its own schema
--
CREATE EXTENSION perfguard;

SELECT e.extname, e.extversion, n.nspname, e.extrelocatable
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'perfguard';

-- every object lives in schema perfguard
SELECT pg_describe_object(classid, objid, 0) AS object
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'perfguard')
   AND deptype = 'e'
 ORDER BY 1;

SELECT version, max_queries, query_text_length FROM perfguard.info();
