# perfguard: a statement has the same fingerprint on PostgreSQL 15 and on a
# later major version, so that a baseline made on a 15 server is checked on
# the other without "new statement" noise.
#
# Runs when the suite runs against a later version (test/run.sh with
# PERFGUARD_PG18=1) and PERFGUARD_PG15_BINDIR names the bin directory of a
# PostgreSQL 15 with perfguard installed; skipped otherwise.
#
# The same schema is made on a 15 node and on a node of the version under
# test, and the same workload runs on both, each statement three times:
# joins (USING, FULL JOIN, LATERAL), IN lists, subqueries (correlated, in
# the select list, EXISTS), CTEs (recursive, MATERIALIZED), GROUP BY
# (expressions, ROLLUP, HAVING, a grouped column in a subquery), window
# functions, DML with RETURNING, ON CONFLICT, MERGE, row comparisons, SQL
# value functions, set operations, locking clauses and prepared statements.
# Then:
#  - perfguard.fingerprint() of each statement is the same on both nodes,
#    and so it is for more statements that are only analyzed (TABLESAMPLE,
#    CUBE and GROUPING SETS, ordered-set aggregates, NATURAL JOIN,
#    data-modifying CTEs, multi-column UPDATE, SQL syntax functions, ...);
#  - both nodes recorded the same set of fingerprints;
#  - a baseline exported from the 15 node (baseline_export) and imported on
#    the other (baseline_import) finds no new statement there
#    (new_statements), every one of its statements there, and no regression
#    (regressions);
#  - different statements of the workload have different fingerprints.
use strict;
use warnings;

use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $bindir15 = $ENV{PERFGUARD_PG15_BINDIR};
plan skip_all => 'PERFGUARD_PG15_BINDIR (a PostgreSQL 15 to compare with) is not set'
  unless defined $bindir15 && $bindir15 ne '';
plan skip_all => "$bindir15/pg_config is not a PostgreSQL 15's"
  unless (`$bindir15/pg_config --version` // '') =~ /^PostgreSQL 15\./;

my %conf = (
	shared_preload_libraries => "'perfguard'",
	'perfguard.track' => 'top',
	'perfguard.track_utility' => 'off');

sub make_node
{
	my ($name, @install) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name, @install);
	$node->init(force_initdb => 1);
	$node->append_conf('postgresql.conf', "$_ = $conf{$_}") for sort keys %conf;
	$node->start;
	return $node;
}

my $old = make_node('v15', install_path => dirname($bindir15));
my $new = make_node('vnew');
is($old->pg_version->major, 15, 'the old node runs PostgreSQL 15');
cmp_ok($new->pg_version->major, '>', 15, 'the new node runs a later major version');
note 'comparing PostgreSQL ' . $old->pg_version . ' with ' . $new->pg_version;

my $schema = q{
CREATE TABLE customers (customer_id int PRIMARY KEY, name text NOT NULL,
                        region text, created date);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers,
                     amount numeric(10,2), status text, placed timestamptz);
CREATE TABLE items (order_id int, sku text, qty int, PRIMARY KEY (order_id, sku));
INSERT INTO customers
SELECT g, 'c' || g, (ARRAY['north', 'south', 'east'])[g % 3 + 1],
       date '2026-01-01' + g
  FROM generate_series(1, 30) g;
INSERT INTO orders
SELECT g, g % 30 + 1, (g * 7 % 200)::numeric, (ARRAY['open', 'paid', 'void'])[g % 3 + 1],
       timestamptz '2026-01-01 00:00:00+00' + g * interval '1 day'
  FROM generate_series(1, 200) g;
INSERT INTO items SELECT g % 200 + 1, 'sku' || g, g % 5 + 1 FROM generate_series(1, 300) g;
ANALYZE;
CREATE EXTENSION perfguard;
};
$_->safe_psql('postgres', $schema) for $old, $new;

# name => statements run in one session (the first is the one whose
# fingerprint is compared; a PREPARE stands for its EXECUTEs)
my @cases = (
	[ 'join', q{SELECT c.name, o.amount FROM customers c JOIN orders o ON o.customer_id = c.customer_id WHERE o.status = 'open' ORDER BY o.amount DESC, o.id LIMIT 5} ],
	[ 'left join', q{SELECT c.name, count(o.id) FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id AND o.amount > 100 GROUP BY c.name ORDER BY 1} ],
	[ 'join USING, GROUP BY the join column', q{SELECT customer_id, sum(amount) FROM customers JOIN orders USING (customer_id) GROUP BY customer_id HAVING sum(amount) > 10 ORDER BY customer_id} ],
	[ 'FULL JOIN USING, GROUP BY', q{SELECT customer_id, count(*) FROM customers FULL JOIN orders USING (customer_id) GROUP BY customer_id ORDER BY 1} ],
	[ 'join alias', q{SELECT j.region, max(j.amount) FROM (customers JOIN orders USING (customer_id)) AS j GROUP BY j.region ORDER BY 1} ],
	[ 'IN list', q{SELECT id FROM orders WHERE status IN ('open', 'paid', 'void') AND customer_id IN (1, 2, 3, 4) ORDER BY id} ],
	[ 'IN subquery', q{SELECT name FROM customers WHERE customer_id IN (SELECT customer_id FROM orders WHERE amount > 150) ORDER BY name} ],
	[ 'EXISTS', q{SELECT name FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id AND o.status = 'void') ORDER BY 1} ],
	[ 'scalar subquery', q{SELECT c.name, (SELECT max(amount) FROM orders o WHERE o.customer_id = c.customer_id) FROM customers c ORDER BY 1 LIMIT 10} ],
	[ 'grouped column in a subquery', q{SELECT region, (SELECT count(*) FROM customers c2 WHERE c2.region = c.region) AS n FROM customers c GROUP BY region ORDER BY 1} ],
	[ 'GROUP BY an expression', q{SELECT date_trunc('month', placed), count(*), sum(amount) FROM orders GROUP BY 1 ORDER BY 1} ],
	[ 'ROLLUP', q{SELECT region, status, count(*) FROM customers JOIN orders USING (customer_id) GROUP BY ROLLUP (region, status) ORDER BY 1, 2} ],
	[ 'aggregate FILTER, ORDER BY', q{SELECT string_agg(name, ',' ORDER BY name) FILTER (WHERE region = 'north'), count(DISTINCT region) FROM customers} ],
	[ 'CTE', q{WITH big AS (SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id) SELECT c.name, b.total FROM big b JOIN customers c USING (customer_id) WHERE b.total > 50 ORDER BY 2 DESC, 1} ],
	[ 'MATERIALIZED CTE', q{WITH o AS MATERIALIZED (SELECT * FROM orders WHERE status = 'paid') SELECT count(*) FROM o WHERE amount > 10} ],
	[ 'recursive CTE', q{WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT sum(i) FROM n} ],
	[ 'window functions', q{SELECT customer_id, amount, rank() OVER (PARTITION BY customer_id ORDER BY amount DESC), sum(amount) OVER w FROM orders WINDOW w AS (ORDER BY placed ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) ORDER BY placed LIMIT 20} ],
	[ 'window over GROUP BY', q{SELECT region, count(*), rank() OVER (ORDER BY count(*) DESC) FROM customers GROUP BY region ORDER BY 1} ],
	[ 'INSERT RETURNING', q{INSERT INTO items (order_id, sku, qty) VALUES (1, 'extra', 2) ON CONFLICT (order_id, sku) DO UPDATE SET qty = items.qty + EXCLUDED.qty RETURNING order_id, qty} ],
	[ 'UPDATE RETURNING', q{UPDATE orders SET status = 'paid', amount = amount + 1 WHERE id = 3 RETURNING id, status, amount} ],
	[ 'UPDATE FROM', q{UPDATE items i SET qty = i.qty + 1 FROM orders o WHERE o.id = i.order_id AND o.status = 'void' AND o.id < 10} ],
	[ 'DELETE RETURNING', q{DELETE FROM items WHERE sku = 'none' RETURNING *} ],
	[ 'MERGE', q{MERGE INTO items i USING orders o ON i.order_id = o.id AND i.sku = 'm' WHEN MATCHED AND o.id < 5 THEN UPDATE SET qty = i.qty + 1 WHEN NOT MATCHED AND o.id < 5 THEN INSERT (order_id, sku, qty) VALUES (o.id, 'm', 1)} ],
	[ 'row comparison', q{SELECT id FROM orders WHERE (customer_id, id) > (3, 50) ORDER BY customer_id, id LIMIT 3} ],
	[ 'SQL value functions', q{SELECT current_user, session_user, current_schema, current_date - created > 0 FROM customers WHERE customer_id = 1} ],
	[ 'LATERAL function', q{SELECT c.name, g FROM customers c, LATERAL generate_series(1, c.customer_id) g WHERE c.customer_id < 3 ORDER BY 1, 2} ],
	[ 'VALUES', q{SELECT v.x, c.name FROM (VALUES (1, 'a'), (2, 'b')) v(x, y) JOIN customers c ON c.customer_id = v.x ORDER BY 1} ],
	[ 'UNION, EXCEPT', q{SELECT customer_id FROM customers WHERE region = 'north' UNION SELECT customer_id FROM orders WHERE amount > 190 EXCEPT SELECT 7 ORDER BY 1} ],
	[ 'DISTINCT ON, WITH TIES', q{SELECT DISTINCT ON (customer_id) customer_id, amount FROM orders ORDER BY customer_id, amount DESC FETCH FIRST 3 ROWS WITH TIES} ],
	[ 'CASE, COALESCE, casts', q{SELECT CASE WHEN amount > 100 THEN 'big' ELSE 'small' END, coalesce(status, 'none'), amount::int, placed::date FROM orders WHERE id = 5} ],
	[ 'FOR UPDATE', q{SELECT id FROM orders WHERE id = 1 FOR UPDATE} ],
	[
		'prepared statement',
		q{PREPARE by_customer(int) AS SELECT id, amount FROM orders WHERE customer_id = $1 ORDER BY id},
		'EXECUTE by_customer(1)', 'EXECUTE by_customer(2)', 'EXECUTE by_customer(3)'
	],
	[
		'prepared GROUP BY',
		q{PREPARE by_region(text) AS SELECT region, count(*) FROM customers WHERE region <> $1 GROUP BY region ORDER BY 1},
		q{EXECUTE by_region('north')}, q{EXECUTE by_region('east')}, q{EXECUTE by_region('south')}
	],);

# More statements, fingerprinted (analyzed, not run) on both nodes.
my @more = (
	q{SELECT * FROM customers TABLESAMPLE SYSTEM (10) REPEATABLE (1)},
	q{SELECT name FROM customers WHERE name LIKE 'c1%' AND created BETWEEN date '2026-01-01' AND date '2026-02-01'},
	q{SELECT id FROM orders WHERE status IS DISTINCT FROM 'void' AND nullif(status, 'open') IS NULL},
	q{SELECT (ARRAY[1, 2, 3])[2], greatest(amount, 1), least(amount, 2) FROM orders WHERE id = 1},
	q{SELECT extract(year FROM placed), substring(status FROM 1 FOR 2), position('a' IN status), trim(both ' ' FROM status) FROM orders WHERE id = 2},
	q{SELECT placed AT TIME ZONE 'UTC', placed + interval '1 day' FROM orders WHERE id = 3},
	q{SELECT name COLLATE "C" FROM customers ORDER BY 1 LIMIT 3},
	q{SELECT region, status, count(*) FROM customers JOIN orders USING (customer_id) GROUP BY CUBE (region, status)},
	q{SELECT region, count(*), GROUPING(region) FROM customers GROUP BY GROUPING SETS ((region), ())},
	q{SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY amount), count(DISTINCT status) FROM orders},
	q{SELECT c.name, x.total FROM customers c, LATERAL (SELECT sum(amount) AS total FROM orders o WHERE o.customer_id = c.customer_id) x},
	q{SELECT name FROM customers WHERE customer_id NOT IN (SELECT customer_id FROM orders WHERE status = 'void') AND customer_id > ALL (SELECT 0)},
	q{SELECT ARRAY(SELECT id FROM orders WHERE customer_id = c.customer_id ORDER BY id) FROM customers c WHERE customer_id < 3},
	q{SELECT id, row_number() OVER (), lag(amount) OVER (ORDER BY id) FROM orders ORDER BY amount NULLS FIRST LIMIT ALL OFFSET 5},
	q{SELECT id FROM orders WHERE status = 'open' FOR SHARE SKIP LOCKED},
	q{WITH moved AS (DELETE FROM items WHERE qty > 100 RETURNING *) INSERT INTO items SELECT order_id, sku || 'x', qty FROM moved RETURNING order_id},
	q{UPDATE orders SET (status, amount) = (SELECT 'paid', 1.5) WHERE id = 9},
	q{DELETE FROM items i USING orders o WHERE o.id = i.order_id AND o.status = 'void' AND i.qty = 99},
	q{INSERT INTO items VALUES (1, 'a', 1), (2, 'b', DEFAULT) ON CONFLICT DO NOTHING},
	q{SELECT id FROM orders WHERE customer_id = ANY ($1::int[])},
	q{SELECT count(*) FROM orders GROUP BY customer_id HAVING count(*) > 1 ORDER BY count(*) DESC},
	q{SELECT json_build_object('id', id), to_jsonb(o) FROM orders o WHERE id = 1},
	q{SELECT o.* FROM orders o JOIN customers c USING (customer_id) WHERE c.region = 'east'},
	q{SELECT * FROM customers NATURAL JOIN orders},
	q{SELECT customer_id, count(*) FROM customers NATURAL JOIN orders GROUP BY customer_id ORDER BY customer_id},
	q{SELECT c.region, (SELECT max(o.amount) FROM orders o WHERE o.customer_id = min(c.customer_id)) FROM customers c GROUP BY c.region},
	q{SELECT sum(amount) FILTER (WHERE status = 'paid') OVER (PARTITION BY customer_id) FROM orders},
	q{SELECT CASE status WHEN 'open' THEN 1 WHEN 'paid' THEN 2 END FROM orders WHERE id < 3},
	q{SELECT EXISTS (SELECT 1 FROM orders WHERE amount > $1)},
	q{SELECT region FROM customers GROUP BY region HAVING region IN (SELECT region FROM customers WHERE customer_id < 5)},
	q{SELECT upper(region), count(*) FROM customers GROUP BY upper(region) ORDER BY upper(region)},
	q{SELECT a.region FROM (SELECT region, count(*) AS n FROM customers GROUP BY region) a WHERE a.n > 3},
	q{SELECT current_timestamp, localtimestamp(2), current_role, user, current_catalog},);

# The workload: every case three times (a prepared statement's EXECUTEs)
my $workload = join(
	"\n",
	map {
		my ($name, @stmts) = @$_;
		@stmts > 1 ? (map { "$_;" } @stmts) : (("$stmts[0];") x 3)
	} @cases);

# the fingerprints of texts on a node, in order
sub fingerprints
{
	my ($node, @texts) = @_;
	my $values = join(', ',
		map { "($_, \$pfgtext\$$texts[$_]\$pfgtext\$)" } 0 .. $#texts);
	return split /\n/,
	  $node->safe_psql('postgres',
		"SELECT perfguard.fingerprint(t) FROM (VALUES $values) v(n, t) ORDER BY n");
}

my $major = $new->pg_version->major;
my @fp_old = fingerprints($old, map { $_->[1] } @cases);
my @fp_new = fingerprints($new, map { $_->[1] } @cases);
for my $i (0 .. $#cases)
{
	is($fp_new[$i], $fp_old[$i],
		"$cases[$i][0]: the same fingerprint on PostgreSQL 15 and $major");
}
my @more_old = fingerprints($old, @more);
my @more_new = fingerprints($new, @more);
for my $i (0 .. $#more)
{
	is($more_new[$i], $more_old[$i],
		"the same fingerprint on PostgreSQL 15 and $major: $more[$i]");
}
my %distinct = map { $_ => 1 } @fp_old, @more_old;
is(scalar(keys %distinct), @cases + @more,
	'the statements have different fingerprints');

# Run the workload on both nodes from empty statistics.
for my $node ($old, $new)
{
	$node->safe_psql('postgres', 'SELECT perfguard.reset()');
	$node->safe_psql('postgres', $workload);
}

my $recorded_sql = q{
SELECT string_agg(fingerprint::text, ',' ORDER BY fingerprint)
  FROM perfguard.statements WHERE NOT own};
my $rec_old = $old->safe_psql('postgres', $recorded_sql);
my $rec_new = $new->safe_psql('postgres', $recorded_sql);
is($rec_new, $rec_old, 'both nodes recorded the same fingerprints');
my %recorded = map { $_ => 1 } split /,/, $rec_old;
is(scalar(grep { $recorded{$_} } @fp_old), scalar(@cases),
	'every statement of the workload was recorded under its fingerprint');

# The baseline of the 15 node, checked on the other.
my $doc = $old->safe_psql('postgres', 'SELECT perfguard.baseline_export()');
like($doc, qr/"server_version_num": 15\d{4}\b/,
	'the document comes from PostgreSQL 15');
is( $new->safe_psql(
		'postgres',
		"SELECT perfguard.baseline_import(\$doc\$$doc\$doc\$::jsonb, 'from15')"),
	'from15',
	'the 15 baseline is imported');
is( $new->safe_psql(
		'postgres',
		q{SELECT string_agg(fingerprint || ' ' || query, E'\n' ORDER BY query)
		    FROM perfguard.new_statements('from15'::text)}),
	'',
	'no statement is new against the 15 baseline');
is( $new->safe_psql(
		'postgres',
		q{SELECT count(*) FROM perfguard.baseline_statements b
		   WHERE b.baseline = 'from15'
		     AND b.fingerprint NOT IN (SELECT fingerprint FROM perfguard.statements)}),
	'0',
	'every statement of the 15 baseline ran on the new node');
is( $new->safe_psql(
		'postgres',
		q{SELECT string_agg(kind || ': ' || message, E'\n' ORDER BY query, kind)
		    FROM perfguard.regressions('from15'::text, min_calls => 2)
		   WHERE kind NOT LIKE 'latency%'}),
	'',
	'no regression of a deterministic kind against the 15 baseline (timings are not compared)');

# and the other way: no noise either
my $doc_new = $new->safe_psql('postgres', 'SELECT perfguard.baseline_export()');
is( $old->safe_psql(
		'postgres',
		"SELECT count(*) FROM perfguard.new_statements(\$doc\$$doc_new\$doc\$::jsonb)"),
	'0',
	'no statement is new on the 15 node against the new node\'s document');

$old->stop;
$new->stop;
done_testing();
