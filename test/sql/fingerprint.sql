--
-- fingerprint: a stable identity of a statement's shape
--
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
    ('SELECT * FROM t WHERE id IN (1, -2)',     'SELECT * FROM t WHERE id IN (''a''::text, ''b''::text)'),
    ('SELECT * FROM t WHERE id = ANY(ARRAY[1, 2])', 'SELECT * FROM t WHERE id = ANY(ARRAY[3, 4, 5, 6])'),
    ('SELECT a - 1 FROM t',                     'SELECT a - 99 FROM t'),
    ('INSERT INTO t VALUES (1, ''a'')',         'insert into t values ($1, $2)')
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
    ('SELECT a, b FROM t',                      'SELECT ab FROM t'),
    ('SELECT * FROM t ORDER BY a',              'SELECT * FROM t ORDER BY a DESC')
  ) AS pairs(a, b);

-- The value is fixed: the same on every platform, database and cluster.
SELECT perfguard.fingerprint('SELECT abalance FROM pgbench_accounts WHERE aid = 1') AS fingerprint;
SELECT perfguard.fingerprint('') AS empty;

-- NULL in, NULL out; a text the lexer rejects is a syntax error
SELECT perfguard.fingerprint(NULL) IS NULL AS null_in_null_out;
SELECT perfguard.fingerprint('SELECT ''unterminated');

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
DROP TABLE items;
