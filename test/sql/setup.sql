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
   -- PostgreSQL 18 lists the row types of the tables and views (and their
   -- array types) as members too
   AND NOT (classid = 'pg_type'::regclass AND EXISTS (
            SELECT FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem
             WHERE t.oid = objid AND (t.typrelid <> 0 OR e.typrelid <> 0)))
 ORDER BY 1;

SELECT version, max_queries, query_text_length FROM perfguard.info();
