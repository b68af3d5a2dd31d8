--
-- fingerprint: a stable identity of a statement's shape
--
-- perfguard.fingerprint() analyzes its text in the current database, so the
-- tables the statements use must exist.
CREATE TABLE t (id int PRIMARY KEY, a int, b int, s text, x numeric, key int);
CREATE TABLE u (id int);
CREATE TABLE "T" (id int);
CREATE TABLE kv (k int, v text);
CREATE SCHEMA s;
CREATE TABLE s.t (id int);
CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84));

-- Each row compares two texts that must have the same fingerprint.
SELECT a, b, perfguard.fingerprint(a) = perfguard.fingerprint(b) AS equal
  FROM (VALUES
    ('SELECT * FROM t WHERE id = 1',            'SELECT * FROM t WHERE id = 42'),
    ('SELECT * FROM t WHERE id = 1',            'SELECT * FROM t WHERE id = $1'),
    ('SELECT * FROM t WHERE a = $1 AND b = $2', 'SELECT * FROM t WHERE a = $2 AND b = $1'),
    ('SELECT * FROM t WHERE id = 1',            e'select *\n  from T   where ID=1'),
    ('SELECT * FROM t WHERE id = 1',            'SELECT /* hint */ * FROM t -- trailing
     WHERE id = 1'),
    ('SELECT * FROM t WHERE id = 1',            'SELECT * FROM "t" WHERE "id" = 1'),
    ('SELECT * FROM t WHERE id = 1',            'SELECT * FROM t WHERE id = 1;'),
    ('SELECT * FROM t WHERE id = -1',           'SELECT * FROM t WHERE id = 7'),
    ('SELECT * FROM t WHERE s = ''x''',         'SELECT * FROM t WHERE s = $$it''s$$'),
    ('SELECT * FROM t WHERE s = ''x''',         'SELECT * FROM t WHERE s = E''\\n'''),
    ('SELECT * FROM t WHERE x = 1.5',           'SELECT * FROM t WHERE x = 1e10'),
    ('SELECT * FROM t WHERE id IN (1)',         'SELECT * FROM t WHERE id IN (1, 2, 3, 4, 5, 6, 7, 8)'),
    ('SELECT * FROM t WHERE id IN (1, 2)',      'SELECT * FROM t WHERE id IN ($1, $2, $3)'),
    ('SELECT * FROM t WHERE id IN (1, -2)',     'SELECT * FROM t WHERE id IN (''3''::int, 4)'),
    ('SELECT * FROM t WHERE id = ANY(ARRAY[1, 2])', 'SELECT * FROM t WHERE id = ANY(ARRAY[3, 4, 5, 6])'),
    ('SELECT a - 1 FROM t',                     'SELECT a - 99 FROM t'),
    ('INSERT INTO kv VALUES (1, ''a'')',        'insert into kv values ($1, $2)'),
    -- what the core's queryid ignores, the fingerprint ignores too
    ('SELECT * FROM t WHERE id = 1',            'SELECT x.id, x.a, x.b, x.s, x.x, x.key FROM public.t AS x WHERE x.id = 7'),
    ('SELECT id FROM t',                        'SELECT t.id AS ident FROM public.t'),
    ('SELECT * FROM t WHERE id = 1',            'SELECT * FROM t WHERE id = 1::int'),
    ('SELECT * FROM t WHERE s = ''x''',         'SELECT * FROM t WHERE s = $1::varchar')
  ) AS pairs(a, b);

-- Each row compares two texts that must have different fingerprints.
SELECT a, b, perfguard.fingerprint(a) <> perfguard.fingerprint(b) AS differ
  FROM (VALUES
    ('SELECT * FROM t WHERE id = 1',            'SELECT * FROM u WHERE id = 1'),
    ('SELECT * FROM t WHERE id = 1',            'SELECT * FROM t WHERE key = 1'),
    ('SELECT * FROM t WHERE id = 1',            'SELECT * FROM t WHERE id > 1'),
    ('SELECT * FROM t WHERE id = 1',            'SELECT * FROM "T" WHERE id = 1'),
    ('SELECT * FROM t WHERE id = 1',            'SELECT * FROM s.t WHERE id = 1'),
    ('SELECT * FROM t WHERE id IN (1, 2)',      'SELECT * FROM t WHERE id = ANY($1)'),
    ('SELECT * FROM t WHERE id IN (1, 2)',      'SELECT * FROM t WHERE id IN (1, x)'),
    ('SELECT a - 1 FROM t',                     'SELECT a + 1 FROM t'),
    ('SELECT a, b FROM t',                      'SELECT b, a FROM t'),
    ('SELECT * FROM t ORDER BY a',              'SELECT * FROM t ORDER BY a DESC')
  ) AS pairs(a, b);

-- The value is fixed: the same on every platform, database and cluster.
SELECT perfguard.fingerprint('SELECT abalance FROM pgbench_accounts WHERE aid = 1') AS fingerprint;

-- one statement, valid here: anything else is an error
SELECT perfguard.fingerprint(NULL) IS NULL AS null_in_null_out;
SELECT perfguard.fingerprint('');
SELECT perfguard.fingerprint('  -- only a comment');
SELECT perfguard.fingerprint('SELECT 1; DROP TABLE t');
SELECT perfguard.fingerprint('this is not sql');
SELECT perfguard.fingerprint('SELECT ''unterminated');
SELECT perfguard.fingerprint('SELECT * FROM no_such_table');
-- utility commands are fingerprinted by their text
SELECT perfguard.fingerprint('VACUUM t') = perfguard.fingerprint('vacuum  /* c */ T;') AS utility_equal;

-- The fingerprint in perfguard.stats is the one perfguard.fingerprint() gives,
-- and the same statement in another database, with its table created in
-- another way (so other OIDs and another queryid), has the same fingerprint.
SELECT perfguard.reset() >= 0 AS reset;
CREATE TABLE items (id int PRIMARY KEY, name text);
INSERT INTO items VALUES (1, 'one'), (2, 'two');
SELECT name FROM items WHERE id IN (1, 2) ORDER BY id;

CREATE DATABASE regress_pfg_other;
\c regress_pfg_other
CREATE EXTENSION perfguard;
CREATE TABLE filler (x int);
CREATE TABLE items (name text, id int);
ALTER TABLE items ADD PRIMARY KEY (id);
INSERT INTO items (id, name) VALUES (3, 'three');
SELECT   name  FROM items
 WHERE id IN (3, 4, 5)   /* three values */ ORDER BY id;
\c contrib_regression

SELECT count(DISTINCT dbid) AS databases,
       count(DISTINCT queryid) AS queryids,
       count(DISTINCT fingerprint) AS fingerprints,
       min(fingerprint) = perfguard.fingerprint('SELECT name FROM items WHERE id IN ($1) ORDER BY id') AS matches_function
  FROM perfguard.stats WHERE query ILIKE 'SELECT%name%FROM items%';

-- the normalized text keeps the statement as written, constants numbered
-- after the highest parameter in use
PREPARE q(int) AS SELECT name FROM items WHERE id = $1 AND name <> 'zero' LIMIT 5;
EXECUTE q(1);
DEALLOCATE q;
SELECT query FROM perfguard.stats WHERE query LIKE 'PREPARE q%' OR query ILIKE 'SELECT%FROM items%' ORDER BY query COLLATE "C";

DROP DATABASE regress_pfg_other;
DROP TABLE items, t, u, "T", kv, s.t, pgbench_accounts;
DROP SCHEMA s;
