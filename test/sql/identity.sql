--
-- identity: one fingerprint per statement, whatever text arrives first, and
-- computing it never changes what the client sees
--
CREATE TABLE id_t (id int PRIMARY KEY, k int, v text);
INSERT INTO id_t SELECT g, g % 10, 'v' || g FROM generate_series(1, 100) g;
ANALYZE id_t;

-- 1. A budget set on one text applies to every text of the statement, also
--    when a variant (alias, column list, schema, other constant) ran first.
SELECT perfguard.reset() >= 0 AS reset;
SELECT x.id, x.k, x.v FROM public.id_t AS x WHERE x.k = 7 ORDER BY x.id LIMIT 3;
SELECT perfguard.set_budget('SELECT * FROM id_t WHERE k = 1 ORDER BY id LIMIT 3', max_rows => 2)
     = perfguard.fingerprint('select id_t.id, k, v from ID_T where id_t.k = $1 order by 1 limit $2') AS same_fingerprint;
SELECT query, limit_name, limit_value, measured FROM perfguard.violations();
-- the texts in either order: one fingerprint, the budget's (one entry on
-- PostgreSQL 15; 18's queryid tells the aliases apart: two entries there)
SELECT * FROM id_t WHERE k = 2 ORDER BY id LIMIT 3;
SELECT count(DISTINCT fingerprint) AS fingerprints,
       min(fingerprint) = (SELECT fingerprint FROM perfguard.budgets WHERE fingerprint IS NOT NULL) AS budget_applies
  FROM perfguard.stats WHERE query LIKE '%id_t%LIMIT%';
-- enforcement catches the variant too
SET perfguard.enforce = error;
SELECT x.* FROM public.id_t x WHERE x.k = 3 ORDER BY 1 LIMIT 3;
SELECT t.id, t.k, t.v FROM id_t t WHERE t.k = 3 ORDER BY t.id LIMIT 3;
RESET perfguard.enforce;
SELECT perfguard.drop_budget('SELECT * FROM id_t WHERE k = 1 ORDER BY id LIMIT 3') AS dropped;

-- a budget's text is analyzed in the caller's search_path
CREATE SCHEMA id_s;
CREATE TABLE id_s.id_t (id int, k int, v text);
SET search_path = id_s, public;
SELECT perfguard.fingerprint('SELECT * FROM id_t') = perfguard.fingerprint('SELECT * FROM id_s.id_t') AS follows_search_path;
RESET search_path;
SELECT perfguard.fingerprint('SELECT * FROM id_t') = perfguard.fingerprint('SELECT * FROM public.id_t') AS follows_search_path;
DROP SCHEMA id_s CASCADE;

-- 2. What a user writes cannot make a statement perfguard's own: an alias,
--    a comment, a column named perfguard.
SELECT perfguard.reset() >= 0 AS reset;
SELECT perfguard.* FROM id_t perfguard WHERE perfguard.k = 10;
SELECT /* perfguard.stats */ count(*) FROM id_t WHERE k = 11;
SELECT perfguard.set_default_budget(max_rows => 0) IS NULL AS set;
SELECT perfguard.id FROM id_t perfguard WHERE perfguard.k = 1 LIMIT 1;
SELECT query, own FROM perfguard.statements WHERE query LIKE '%id_t%' ORDER BY query COLLATE "C";
SELECT query, limit_name FROM perfguard.violations() ORDER BY query COLLATE "C";

-- 5. ... and perfguard's own views are not judged: with a default budget of
--    at most 0 rows and enforce = error, they still work.
SET perfguard.enforce = error;
SELECT count(*) > 0 AS stats_work FROM perfguard.stats;
SELECT count(*) > 0 AS statements_work FROM perfguard.statements;
SELECT count(*) > 0 AS violations_work FROM perfguard.violations();
SELECT count(*) >= 0 AS events_work FROM perfguard.events;
SELECT count(*) >= 0 AS info_works FROM perfguard.info() i
  JOIN pg_catalog.pg_database d ON d.datname = current_database();
-- a user's table joined to them is judged
SELECT count(*) FROM perfguard.stats s JOIN id_t ON id_t.id = s.calls;
RESET perfguard.enforce;
SELECT query, own FROM perfguard.statements
 WHERE query LIKE '%perfguard.stats%' OR query LIKE '%perfguard.info%' ORDER BY query COLLATE "C";
SELECT perfguard.drop_default_budget() AS dropped;

-- 3. Valid SQL runs as on a plain server, whatever the string settings.  One
--    message (\;) holds the SET and the statement, so the server lexed the
--    statement before the setting changed.
SELECT perfguard.reset() >= 0 AS reset;
SET standard_conforming_strings = off \; SELECT 'a\' AS x;
RESET standard_conforming_strings;
SET standard_conforming_strings = off \; SELECT 'a\' AS x;
RESET standard_conforming_strings;
SET backslash_quote = off \; SET standard_conforming_strings = on \; SELECT E'it\'s' AS y;
RESET backslash_quote;
RESET standard_conforming_strings;
SET escape_string_warning = on \; SET standard_conforming_strings = off \; SELECT 'b\\c' AS z;
RESET standard_conforming_strings;
RESET escape_string_warning;
SELECT query, calls FROM perfguard.stats
 WHERE query LIKE 'SELECT $1 AS _' ORDER BY query COLLATE "C";

-- 4. An identifier longer than NAMEDATALEN: the core's NOTICE, exactly once,
--    the first time the statement is seen.
SELECT 1 AS yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy;
SELECT count(*) AS entries FROM perfguard.stats WHERE query LIKE '%yyyyyyyy%';

-- A cursor's query has the fingerprint of the same query run directly.
BEGIN;
DECLARE id_c CURSOR FOR SELECT v FROM id_t WHERE id = 5;
FETCH ALL FROM id_c;
CLOSE id_c;
COMMIT;
SELECT count(DISTINCT fingerprint) AS fingerprints,
       min(fingerprint) = perfguard.fingerprint('SELECT v FROM id_t WHERE id = 1') AS matches
  FROM perfguard.stats WHERE query LIKE 'SELECT v FROM id_t%';

DROP TABLE id_t;
