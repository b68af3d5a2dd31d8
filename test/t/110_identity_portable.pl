# perfguard 1.1: a statement's fingerprint is computed from its analyzed
# form, with names in place of OIDs, so that
#  (1) every text with the same core queryid in a database gets the same
#      fingerprint, whatever order the texts arrive in (`*` or the column
#      list, `public.t` or `t`, table and column aliases, comments, case,
#      white space);
#  (2) the same statement gets the same fingerprint in every database and
#      cluster with the same schema, although the OIDs (and with them the
#      core queryids) differ;
#  (3) constants, $n parameter numbers and IN-list lengths do not count.
#
# Cluster A has databases db1 and db2, cluster B (its own initdb) has shop.
# All three get the same schema (public.orders, app.customers, an index, an
# enum type, the SQL function app.order_count(int), a view), made in another
# order and after other objects in db2 and in shop, so that no object has
# the same OID in two of them.  Eleven statement shapes are run in db1 in
# one spelling order, in db2 and shop in other orders and other spellings.
# For each shape, the test finds perfguard.stats' rows by the queryids the
# core gives its texts (EXPLAIN VERBOSE shows them) and checks: every
# execution is recorded; one fingerprint per database; the same one in the
# three databases; perfguard.fingerprint() of every spelling gives it.
#
# Then, through baselines: a document exported from db1 (version 2) is
# imported into db2 and shop, where every workload statement is found by
# perfguard.regressions() and none is listed by perfguard.new_statements();
# a version 1 document is refused and nothing is stored.  The premises are
# checked (no OID shared, the same attribute numbers), and where attribute
# numbers do differ (a dropped column, columns made in another order) the
# fingerprint follows the columns' names.  Last, a table aliased
# "perfguard" does not make a statement perfguard's own.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my %conf = (
	shared_preload_libraries => "'perfguard'",
	'perfguard.track' => 'top',
	'perfguard.track_utility' => 'off');

# The schema, in pieces, so that db2 and shop can make them in other orders.
# The column order of every table is the same everywhere: a fingerprint,
# like the core's queryid, hashes a column by its attribute number.
my %ddl = (
	app => 'CREATE SCHEMA app',
	orders =>
	  'CREATE TABLE public.orders (id int PRIMARY KEY, customer_id int, total numeric, note text)',
	customers => 'CREATE TABLE app.customers (id int PRIMARY KEY, name text)',
	index => 'CREATE INDEX orders_customer_id_idx ON public.orders (customer_id)',
	state => q{CREATE TYPE app.order_state AS ENUM ('open', 'closed')},
	function => q{CREATE FUNCTION app.order_count(int) RETURNS bigint
LANGUAGE sql STABLE AS 'SELECT count(*) FROM public.orders WHERE customer_id = $1'},
	view => q{CREATE VIEW public.order_totals AS
SELECT c.id AS customer_id, c.name, sum(o.total) AS total
  FROM app.customers c JOIN public.orders o ON o.customer_id = c.id
 GROUP BY c.id, c.name},
	extension => 'CREATE EXTENSION perfguard',);

# The same rows everywhere, loaded with the same statements.
my $data = q{
INSERT INTO app.customers SELECT i, 'c' || i FROM generate_series(1, 6) i;
INSERT INTO public.orders SELECT i, i % 6 + 1, i * 1.5, 'n' || i FROM generate_series(1, 30) i;
};

# Make the objects of a database in an order, then load the rows.
sub make_schema
{
	my ($node, $db, @order) = @_;
	$node->safe_psql($db, join(";\n", map { $ddl{$_} } @order) . ";\n$data");
}

my $node_a = PostgreSQL::Test::Cluster->new('ident_a');
$node_a->init;
$node_a->append_conf('postgresql.conf', "$_ = $conf{$_}") for sort keys %conf;
$node_a->start;
$node_a->safe_psql('postgres', 'CREATE DATABASE db1');
$node_a->safe_psql('postgres', 'CREATE DATABASE db2');

# db1: the schema first thing
make_schema($node_a, 'db1',
	qw(extension app orders customers index state function view));

# db2: other objects first (tables, a function, types, a schema, some of
# them dropped again), then the schema in another order
$node_a->safe_psql(
	'db2', q{
CREATE TABLE dummy1 (a int, b text);
CREATE TABLE dummy2 (x numeric PRIMARY KEY);
CREATE FUNCTION dummy_f(int) RETURNS int LANGUAGE sql AS 'SELECT $1 + 1';
CREATE TYPE dummy_t AS (a int, b text);
CREATE TYPE dummy_e AS ENUM ('x', 'y');
CREATE SCHEMA dummy_s;
CREATE TABLE dummy_s.t (a int);
DROP TABLE dummy1;
});
# the OID counter is the cluster's: move it on, so that no OID of db2's
# schema is one of db1's plus a fixed offset either
$node_a->safe_psql('postgres',
	'SELECT count(lo_unlink(lo_create(0))) FROM generate_series(1, 1000)');
make_schema($node_a, 'db2',
	qw(app customers state orders view extension function index));

# Two tables whose columns have other attribute numbers in db2 (section 4):
# side has a column dropped before "a", swapped has its columns in the
# other order.  Nothing else of the schema differs.
$node_a->safe_psql('db1', 'CREATE TABLE side (a int, b text); CREATE TABLE swapped (a int, b text)');
$node_a->safe_psql('db2',
	'CREATE TABLE side (gone int, a int, b text); ALTER TABLE side DROP COLUMN gone; CREATE TABLE swapped (b text, a int)');

# Cluster B: its own initdb, other objects first, its OID counter moved far
# ahead of cluster A's
my $node_b = PostgreSQL::Test::Cluster->new('ident_b');
$node_b->init;
$node_b->append_conf('postgresql.conf', "$_ = $conf{$_}") for sort keys %conf;
$node_b->start;
$node_b->safe_psql('postgres',
	'SELECT count(lo_unlink(lo_create(0))) FROM generate_series(1, 5000)');
$node_b->safe_psql('postgres', 'CREATE DATABASE shop');
$node_b->safe_psql(
	'shop', q{
CREATE SEQUENCE dummy_seq;
CREATE DOMAIN dummy_d AS int CHECK (VALUE > 0);
CREATE TABLE dummy3 (a dummy_d);
CREATE VIEW dummy_v AS SELECT a FROM dummy3;
CREATE FUNCTION dummy_g() RETURNS text LANGUAGE sql AS $$SELECT 'g'$$;
});
make_schema($node_b, 'shop',
	qw(app state customers orders index function extension view));
$node_b->safe_psql('shop',
	'CREATE TABLE side (gone int, a int, b text); ALTER TABLE side DROP COLUMN gone');

my @dbs = ([ 'db1', $node_a ], [ 'db2', $node_a ], [ 'shop', $node_b ]);
my %node_of = map { $_->[0] => $_->[1] } @dbs;

is( join(',',
		map { $node_of{$_}->safe_psql($_, q{SELECT extversion FROM pg_extension WHERE extname = 'perfguard'}) }
		  qw(db1 db2 shop)),
	'1.1,1.1,1.1',
	'CREATE EXTENSION perfguard makes version 1.1 in db1, db2 and shop');

###########################################################################
# The workload: eleven shapes, each in several spellings.  {id} is replaced
# by a new order number at each execution, so the INSERTs never collide.
# In db2 and shop the search_path is "public, app", so that app's objects
# can be named without their schema.
###########################################################################
my @shapes = (
	{
		name => 'cross-schema join',
		db1 => [
			'SELECT o.id, o.total, c.name FROM public.orders o JOIN app.customers c ON c.id = o.customer_id WHERE o.id = 3',
			'select o.id, o.total, c.name from orders o join app.customers c on c.id = o.customer_id where o.id = 7'
		],
		db2 => [
			'SELECT orders.id AS order_id, orders.total, customers.name AS customer FROM orders INNER JOIN customers ON customers.id = orders.customer_id WHERE orders.id = 11',
			"/* report */ SELECT x.id, x.total, y.name\n  FROM public.orders AS x\n  JOIN app.customers AS y ON y.id = x.customer_id\n WHERE x.id = 2 -- by key",
			'SeLeCt O.ID, O.TOTAL, C.NAME FROM PUBLIC.ORDERS O JOIN APP.CUSTOMERS C ON C.ID = O.CUSTOMER_ID WHERE O.ID = -1'
		],
	},
	{
		name => 'aggregate',
		db1 => [
			'SELECT customer_id, count(*), sum(total) FROM orders WHERE total > 2 GROUP BY customer_id ORDER BY 2 DESC, 1',
			'SELECT customer_id, count(*), sum(total) FROM orders WHERE total > 5.5 GROUP BY customer_id ORDER BY 2 DESC, 1'
		],
		db2 => [
			'select customer_id as cust, count(*) as n, sum(total) as s from public.orders where total > 0 group by 1 order by n desc, cust',
			'SELECT o.customer_id, COUNT(*), SUM(o.total) FROM orders AS o WHERE o.total > 12.25 GROUP BY o.customer_id ORDER BY count(*) DESC, o.customer_id'
		],
	},
	{
		name => 'IN list',
		db1 => [
			'SELECT id, note FROM orders WHERE customer_id IN (1, 2, 3) ORDER BY id',
			'SELECT id, note FROM orders WHERE customer_id IN (4, 5) ORDER BY id'
		],
		db2 => [
			'select id, note from orders where customer_id in (1,2,3,4,5,6,7,8,9) order by id',
			'SELECT id, note FROM public.orders WHERE customer_id IN (2) ORDER BY id',
			'SELECT id, note FROM orders WHERE customer_id = ANY (ARRAY[3, 1]) ORDER BY id'
		],
	},
	{
		name => 'INSERT RETURNING',
		db1 => [
			q{INSERT INTO orders (id, customer_id, total, note) VALUES ({id}, 1, 9.5, 'first') RETURNING id, customer_id, total, note},
			q{INSERT INTO orders (id, customer_id, total, note) VALUES ({id}, 2, 19.5, 'second') RETURNING id, customer_id, total, note}
		],
		db2 => [
			q{insert into public.orders as o (id, customer_id, total, note) values ({id}, 3, 7.25, 'it''s') returning *},
			q{INSERT INTO orders VALUES ({id}, 4, 11.5, $$dollar$$) RETURNING orders.*},
			q{INSERT INTO orders (id, customer_id, total, note) VALUES ({id}, 5, 10, 'an integer total') RETURNING id, customer_id, total, note}
		],
	},
	{
		name => 'UPDATE',
		db1 => [
			q{UPDATE orders SET note = 'paid', total = total + 1.5 WHERE id = 2},
			q{UPDATE orders SET note = 'refunded', total = total + 0.5 WHERE id = 3}
		],
		db2 => [
			q{update public.orders o set note = 'x', total = o.total + 2 where o.id = 4},
			q{UPDATE orders AS upd SET note = $$y$$, total = upd.total + 1.0 /* bump */ WHERE upd.id = 5}
		],
	},
	{
		name => 'CTE',
		db1 => [
			'WITH recent AS (SELECT id, customer_id FROM orders WHERE id > 10) SELECT c.name, count(*) FROM recent r JOIN app.customers c ON c.id = r.customer_id GROUP BY c.name ORDER BY c.name'
		],
		db2 => [
			'with recent as (select o.id, o.customer_id from public.orders o where o.id > 15) select cu.name, count(*) from recent join customers cu on cu.id = recent.customer_id group by cu.name order by cu.name',
			'WITH recent AS (SELECT id, customer_id FROM orders WHERE id > 0) SELECT c.name, COUNT(*) AS orders FROM recent AS r JOIN app.customers AS c ON c.id = r.customer_id GROUP BY 1 ORDER BY 1'
		],
	},
	{
		name => 'function call',
		db1 => [ 'SELECT app.order_count(3)', 'SELECT app.order_count(1) AS n' ],
		db2 => [ 'select order_count(2)', "SELECT APP.ORDER_COUNT( 5 ) -- how many" ],
	},
	{
		name => 'view',
		db1 => [
			'SELECT customer_id, name, total FROM order_totals WHERE total > 20 ORDER BY customer_id'
		],
		db2 => [
			'SELECT * FROM public.order_totals v WHERE v.total > 1.5 ORDER BY v.customer_id',
			'select t.customer_id, t.name, t.total from order_totals t where t.total > 100 order by 1'
		],
	},
	{
		name => 'EXISTS',
		db1 => [
			'SELECT c.id, c.name FROM app.customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.total > 20) ORDER BY c.id'
		],
		db2 => [
			'select customers.id, customers.name from customers where exists (select 42 from public.orders where orders.customer_id = customers.id and orders.total > 3.5) order by customers.id',
			'SELECT c.* FROM app.customers AS c WHERE EXISTS (SELECT 1 FROM orders AS o WHERE o.customer_id = c.id AND o.total > 0) ORDER BY c.id'
		],
	},
	{
		name => 'LIMIT OFFSET',
		db1 => [
			'PREPARE page(int, int) AS SELECT id, total FROM orders ORDER BY id LIMIT $1 OFFSET $2',
			'EXECUTE page(5, 0)',
			'EXECUTE page(5, 5)',
			'SELECT id, total FROM orders ORDER BY id LIMIT 3 OFFSET 1'
		],
		db2 => [
			'select o.id, o.total from public.orders o order by o.id limit 10 offset 10',
			'prepare page2 (bigint, bigint) as select id, total from orders order by id limit $2 offset $1',
			'EXECUTE page2(0, 4)',
			'EXECUTE page2(4, 4)'
		],
	},
	{
		name => 'enum constant',
		db1 => [ q{SELECT id, 'open'::app.order_state AS state FROM orders WHERE id = 1} ],
		db2 => [
			q{select id, 'closed'::order_state from public.orders where id = 9},
			q{SELECT ID, CAST('open' AS app.order_state) FROM ORDERS WHERE ID = 4}
		],
	},);
my @names = map { $_->{name} } @shapes;

my $is_prepare = qr/^\s*prepare\s/i;
my $is_execute = qr/^\s*execute\s/i;
my $next_id    = 1000;

# The texts of a shape as run in a database: db1 its own, db2 its own,
# shop db2's then db1's.
sub texts_of
{
	my ($shape, $db) = @_;
	return @{ $shape->{db1} } if $db eq 'db1';
	return @{ $shape->{db2} } if $db eq 'db2';
	return (@{ $shape->{db2} }, @{ $shape->{db1} });
}

# The statements of a database's workload in the order they are sent.
#  db1:  shape by shape, in the order above, each shape's texts in order;
#  db2:  round-robin over the shapes in the reverse order: first the first
#        text of every shape, then the second, ...;
#  shop: shape by shape, starting from the middle of the list.
sub workload
{
	my ($db) = @_;
	my @order =
	    $db eq 'db1' ? @shapes
	  : $db eq 'db2' ? reverse @shapes
	  : (@shapes[ 5 .. $#shapes ], @shapes[ 0 .. 4 ]);
	return map { texts_of($_, $db) } @order unless $db eq 'db2';
	my @out;
	for (my $round = 0;; $round++)
	{
		my @this = grep { defined } map { (texts_of($_, $db))[$round] } @order;
		last unless @this;
		push @out, @this;
	}
	return @out;
}

# Executions (not PREPAREs) of a shape's texts in one pass of a database's
# workload.
sub executions
{
	my ($shape, $db) = @_;
	return scalar grep { $_ !~ $is_prepare } texts_of($shape, $db);
}

# One statement as psql input: a newline before the semicolon, for texts
# that end in a -- comment; {id} replaced.
sub stmt
{
	my ($text, $id) = @_;
	$text =~ s/\{id\}/$id/g;
	return "$text\n;\n";
}

my $path = "SET search_path = public, app;\n";

# db1: once, every statement in a transaction of its own.  db2 and shop:
# twice over, in one transaction (the PREPAREs the first time only), so
# that every statement runs at least twice per transaction there and once
# per transaction in db1: perfguard.regressions() reports calls_per_xact
# for each statement it finds in both (section 3).
sub run_workload
{
	my ($db) = @_;
	my @stmts = workload($db);
	my $sql   = "\\o /dev/null\n";
	if ($db eq 'db1')
	{
		$sql .= join('', map { stmt($_, $next_id++) } @stmts);
	}
	else
	{
		$sql .= $path . "BEGIN;\n";
		$sql .= join('', map { stmt($_, $next_id++) } @stmts);
		$sql .= join('', map { stmt($_, $next_id++) } grep { $_ !~ $is_prepare } @stmts);
		$sql .= "COMMIT;\n";
	}
	$node_of{$db}->safe_psql($db, $sql);
}

# The rows of a database in perfguard.stats: queryid => [fingerprint, calls]
sub stats_of
{
	my ($db) = @_;
	my %rows;
	for my $line (
		split /\n/,
		$node_of{$db}->safe_psql(
			$db, q{
SELECT queryid, fingerprint, calls FROM perfguard.stats
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND toplevel})
	  )
	{
		my ($qid, $fp, $calls) = split /\|/, $line;
		$rows{$qid} = [ $fp, $calls ];
	}
	return \%rows;
}

# The queryids the core gives a shape's texts in a database (shown by
# EXPLAIN VERBOSE; the PREPAREs are run so that their EXECUTEs can be
# explained), in the order of the texts that execute.
sub queryids_of
{
	my ($db, @texts) = @_;
	my $sql = $path;
	for my $i (0 .. $#texts)
	{
		if ($texts[$i] =~ $is_prepare)
		{
			$sql .= stmt($texts[$i], 0);
			next;
		}
		$sql .= "\\echo text $i\nEXPLAIN (VERBOSE, COSTS OFF) " . stmt($texts[$i], 999999);
	}
	my (%qid, $cur);
	for (split /\n/, $node_of{$db}->safe_psql($db, $sql))
	{
		$cur = $1 if /^text (\d+)$/;
		$qid{$cur} = $1 if /Query Identifier: (-?\d+)/;
	}
	return map { $qid{$_} } grep { $texts[$_] !~ $is_prepare } 0 .. $#texts;
}

# perfguard.fingerprint() of texts in a database, in its own session.
sub fingerprints_of
{
	my ($db, @texts) = @_;
	return () unless @texts;
	my $values = join(
		",\n",
		map {
			my $t = $texts[$_];
			$t =~ s/\{id\}/999999/g;
			die "text contains the quoting tag" if $t =~ /\$pfg\$/;
			"($_, \$pfg\$$t\$pfg\$)"
		} 0 .. $#texts);
	return split /,/,
	  $node_of{$db}->safe_psql($db,
		$path . "SELECT string_agg(perfguard.fingerprint(t)::text, ',' ORDER BY n) FROM (VALUES $values) v(n, t)"
	  );
}

# The texts that name a shape's statement: every text but the EXECUTEs and
# PREPAREs, and the statement inside each PREPARE.
sub statement_texts
{
	my (@texts) = @_;
	return map {
		    $_ =~ $is_execute ? ()
		  : $_ =~ /^\s*prepare\s+\w+\s*\([^)]*\)\s*as\s+(.*)$/is ? $1
		  : $_
	} @texts;
}

# The values in their first order, each once.
sub distinct
{
	my %seen;
	return grep { !$seen{$_}++ } @_;
}

# A JSON document as an SQL literal.
sub jsonb_literal
{
	my ($doc) = @_;
	die "document contains the quoting tag" if $doc =~ /\$pfgdoc\$/;
	return "\$pfgdoc\$$doc\$pfgdoc\$::jsonb";
}

# Run SQL with verbose errors: the SQLSTATE it failed with, or 'ok', and
# stderr.
sub state_of
{
	my ($db, $sql) = @_;
	my ($ret, $out, $err) =
	  $node_of{$db}->psql($db, "\\set VERBOSITY verbose\n$sql");
	return ($1, $err) if $err =~ /ERROR:  ([0-9A-Z]{5}): /;
	return ($ret == 0 ? 'ok' : "failed without SQLSTATE", $err);
}

###########################################################################
# 1. db1 runs the workload; its statistics are exported as a document and
#    imported into db2 and shop before they run theirs.
###########################################################################
run_workload('db1');

my $doc = $node_a->safe_psql('db1', 'SELECT perfguard.baseline_export()');
is( $node_a->safe_psql('db1',
		'SELECT (d ->> \'format\') || \' \' || (d -> \'version\')::text FROM (SELECT '
		  . jsonb_literal($doc) . ' AS d) x'),
	'perfguard-baseline 2',
	'db1: baseline_export() writes a version 2 document');
my $doc_count = $node_a->safe_psql('db1',
	'SELECT jsonb_array_length(' . jsonb_literal($doc) . q{ -> 'statements')});

for my $db ('db2', 'shop')
{
	is( $node_of{$db}->safe_psql(
			$db,
			'SELECT perfguard.baseline_import(' . jsonb_literal($doc) . q{, 'from-db1');
SELECT statements || ' ' || coalesce(fingerprint_version::text, 'null')
  FROM perfguard.baselines WHERE name = 'from-db1'}),
		"from-db1\n$doc_count 2",
		"$db: the document is imported as \"from-db1\" with all its $doc_count statements, fingerprints of version 2"
	);
}

# A version 1 document (the same, "version" set to 1) is refused, by every
# function that reads documents, and nothing is stored.
my $v1 = 'jsonb_set(' . jsonb_literal($doc) . q{, '{version}', '1')};
my ($state, $err) = state_of('db2', "SELECT perfguard.baseline_import($v1, 'v1-doc')");
is($state, '22023', 'db2: a version 1 document is refused by baseline_import (SQLSTATE 22023)');
like($err, qr/ERROR:  22023: .*version 1/, 'db2: the error says the document is of version 1');
is( $node_a->safe_psql('db2', q{
SELECT (SELECT count(*) FROM perfguard.baselines WHERE name = 'v1-doc') || ' ' ||
       (SELECT count(*) FROM perfguard.baseline_statements WHERE baseline = 'v1-doc') || ' ' ||
       (SELECT string_agg(name, ',') FROM perfguard.baselines)}),
	'0 0 from-db1',
	'db2: the refused document stored nothing');
is( join(' ',
		(state_of('db2', "SELECT count(*) FROM perfguard.new_statements($v1)"))[0],
		(state_of('db2', "SELECT count(*) FROM perfguard.regressions($v1)"))[0]),
	'22023 22023',
	'db2: new_statements() and regressions() refuse a version 1 document too');

###########################################################################
# 2. db2 and shop run the workload; the fingerprints of every shape.
###########################################################################
run_workload('db2');
run_workload('shop');

my %stats = map { $_ => stats_of($_) } qw(db1 db2 shop);
my (%fp_of, %qids, %fps_in);
for my $shape (@shapes)
{
	my $name = $shape->{name};
	my (@calls, @expected, @nfps, @all_fps);
	for my $db (qw(db1 db2 shop))
	{
		my @texts = texts_of($shape, $db);
		my @qids  = distinct(queryids_of($db, @texts));
		$qids{$db}{$name} = [@qids];
		my @rows = map { $stats{$db}{$_} // [ 'none', 0 ] } @qids;
		my $calls = 0;
		$calls += $_->[1] for @rows;
		push @calls,    $calls;
		push @expected, executions($shape, $db) * ($db eq 'db1' ? 1 : 2);
		my @fps = distinct(map { $_->[0] } @rows);
		push @nfps,    scalar(@fps);
		push @all_fps, @fps;
		push @{ $fps_in{$db} }, @fps;
		note "$name: $db: queryids @qids; fingerprints @fps";
	}
	is_deeply(\@calls, \@expected,
		"$name: every execution is recorded under its queryids in db1, db2 and shop");
	is_deeply(\@nfps, [ 1, 1, 1 ],
		"$name: one fingerprint for all its spellings in each of db1, db2 and shop");
	my @one = distinct(@all_fps);
	is(scalar(@one), 1,
		"$name: the same fingerprint in db1, db2 and shop (@one)");
	my $fp = $fp_of{$name} = $all_fps[0];

	# every spelling used anywhere, given to perfguard.fingerprint() in
	# each database
	my @texts = distinct(statement_texts(texts_of($shape, 'shop')));
	my @got = map { fingerprints_of($_, @texts) } qw(db1 db2 shop);
	is_deeply(\@got, [ ($fp) x (3 * @texts) ],
		"$name: perfguard.fingerprint() of each of its " . scalar(@texts)
		  . " spellings gives it in db1, db2 and shop");
}

is(scalar(distinct(values %fp_of)), scalar(@shapes),
	'the eleven shapes have eleven different fingerprints');

# The spellings really are different statements to the core in places:
# other queryids for IN lists of other lengths, integer and numeric
# constants, int and bigint parameters, $1 and $2 swapped.
# (PostgreSQL 15's queryid; from 18 on, the core hashes the names of
# relations and their aliases instead of their OIDs, and a list of
# constants as one: other spellings get other queryids there, and the same
# in every database.)
my @several = grep { @{ $qids{db2}{$_} } > 1 } @names;
note "db2: shapes with several queryids: @several";
SKIP:
{
	skip 'the queryids of PostgreSQL 15 are checked, not those of ' . $node_a->pg_version, 4
	  if $node_a->pg_version >= 18;

	is_deeply(\@several,
		[ 'aggregate', 'IN list', 'INSERT RETURNING', 'UPDATE', 'view', 'EXISTS', 'LIMIT OFFSET' ],
		'db2: the shapes whose spellings have several queryids (constants, IN lists, parameters) are those expected');

	# ... and the core's queryids differ between the databases (OIDs).
	for my $pair ([ 'db1', 'db2' ], [ 'db1', 'shop' ], [ 'db2', 'shop' ])
	{
		my ($x, $y) = @$pair;
		my @shared = grep {
			my %in = map { $_ => 1 } @{ $qids{$x}{$_} };
			grep { $in{$_} } @{ $qids{$y}{$_} }
		} @names;
		is_deeply(\@shared, [], "no shape has a queryid in both $x and $y");
	}
}

# What PREPARE, DECLARE CURSOR and EXPLAIN run is their statement: given
# to perfguard.fingerprint(), they give its fingerprint, the one
# perfguard.stats shows (under the PREPARE text) for the EXECUTEs.
{
	my ($page) = grep { $_->{name} eq 'LIMIT OFFSET' } @shapes;
	my @wrapped = (
		(grep { $_ =~ $is_prepare } texts_of($page, 'shop')),
		'DECLARE cur CURSOR FOR SELECT id, total FROM orders ORDER BY id LIMIT 3 OFFSET 1',
		'EXPLAIN (COSTS OFF) select o.id, o.total from public.orders o order by o.id limit 10 offset 10');
	my @got = map { fingerprints_of($_, @wrapped) } qw(db1 db2 shop);
	is_deeply(\@got, [ ($fp_of{'LIMIT OFFSET'}) x (3 * @wrapped) ],
		'LIMIT OFFSET: perfguard.fingerprint() of its PREPARE, DECLARE CURSOR and EXPLAIN gives it in db1, db2 and shop');
}

###########################################################################
# 3. The baseline of db1 against db2 and shop.
###########################################################################
my @workload_fps = sort map { $fp_of{$_} } @names;
my %in_doc = map { $_ => 1 }
  split /\n/,
  $node_a->safe_psql('db1',
	'SELECT e ->> \'fingerprint\' FROM jsonb_array_elements(' . jsonb_literal($doc) . q{ -> 'statements') e});
is_deeply([ grep { !$in_doc{$_} } @workload_fps ], [],
	'the document of db1 has every workload statement');

for my $db ('db2', 'shop')
{
	# The exact kinds only: min_effect so large that no latency counts.
	# Each statement ran once per transaction in db1 and at least twice per
	# transaction here, so each one found in the baseline is reported, with
	# its calls there and here.
	my %got = map { my ($fp, $bc, $cc) = split /\|/; ($fp => "$bc/$cc") }
	  split /\n/,
	  $node_of{$db}->safe_psql(
		$db, q{
SELECT fingerprint, baseline_calls, current_calls
  FROM perfguard.regressions('from-db1', min_calls => 2, min_effect => 1e6)
 WHERE kind = 'calls_per_xact'});
	my %expected = map {
		my $shape = $_;
		($fp_of{ $shape->{name} } =>
			  executions($shape, 'db1') . '/' . 2 * executions($shape, $db))
	} @shapes;
	is_deeply({ map { $_ => $got{$_} } grep { exists $got{$_} } @workload_fps },
		\%expected,
		"$db: regressions('from-db1') finds every workload statement (calls_per_xact, with the calls of db1 and of $db)"
	);

	my @new = split /\n/,
	  $node_of{$db}->safe_psql($db,
		q{SELECT fingerprint || ' ' || left(query, 60) FROM perfguard.new_statements('from-db1')});
	# the fingerprints of this database's own workload rows
	my %workload = map { $_ => 1 } @{ $fps_in{$db} };
	is_deeply([ grep { $workload{ (split / /)[0] } } @new ], [],
		"$db: new_statements('from-db1') lists none of the statements ${db}'s workload ran");
	is_deeply(\@new, [],
		"$db: new_statements('from-db1') lists nothing: $db ran nothing db1 did not");
}

###########################################################################
# 4. The premises: OIDs differ, attribute numbers do not; and where they
#    do, the fingerprint differs.
###########################################################################
my $objects = q{
SELECT string_agg(o::text, ',' ORDER BY o) FROM (VALUES
  ('app'::regnamespace::oid), ('public.orders'::regclass), ('app.customers'::regclass),
  ('public.order_totals'::regclass), ('public.orders_customer_id_idx'::regclass),
  ('public.orders_pkey'::regclass), ('app.customers_pkey'::regclass),
  ('app.order_count(int)'::regprocedure), ('app.order_state'::regtype),
  ('public.orders'::regtype), ('app.customers'::regtype)) v(o)};
my %oids = map { $_ => [ split /,/, $node_of{$_}->safe_psql($_, $objects) ] } qw(db1 db2 shop);
for my $pair ([ 'db1', 'db2' ], [ 'db1', 'shop' ], [ 'db2', 'shop' ])
{
	my ($x, $y) = @$pair;
	my %in = map { $_ => 1 } @{ $oids{$x} };
	is_deeply([ grep { $in{$_} } @{ $oids{$y} } ], [],
		"no object of the schema has the same OID in $x and $y");
}

my $attnums = q{
SELECT string_agg(attrelid::regclass || '.' || attname || '=' || attnum, ',' ORDER BY attrelid::regclass::text, attnum)
  FROM pg_attribute
 WHERE attrelid IN ('public.orders'::regclass, 'app.customers'::regclass, 'public.order_totals'::regclass)
   AND attnum > 0};
is_deeply([ map { $node_of{$_}->safe_psql($_, $attnums) } qw(db2 shop) ],
	[ ($node_a->safe_psql('db1', $attnums)) x 2 ],
	'every column of the schema has the same attribute number in db1, db2 and shop');

# The core's queryid hashes a column by its attribute number (a Var's
# varattno, a TargetEntry's resno); the fingerprint hashes a column of a
# table by its name (src/fingerprint.c, fp_column), so the history of a
# table's columns does not count: "side" has a dropped column before "a" in
# db2 and shop, and every statement on it, reading or writing, with or
# without a column list, has the fingerprint of db1.  (In one database one
# queryid still gives one fingerprint: the same attribute number of the
# same table is the same name.)
my @side = (
	q{SELECT a FROM side WHERE b = 'x'},
	'SELECT * FROM side',
	q{INSERT INTO side VALUES (1, 'x')},
	q{INSERT INTO side (b, a) VALUES ('x', 1)},
	q{UPDATE side SET b = 'y' WHERE a = 1 RETURNING *});
my $side_attnum = q{SELECT attnum FROM pg_attribute WHERE attrelid = 'side'::regclass AND attname = 'a'};
is_deeply([ map { $node_of{$_}->safe_psql($_, $side_attnum) } qw(db1 db2 shop) ],
	[ 1, 2, 2 ],
	'side.a is column 1 in db1, column 2 in db2 and shop (a column dropped before it)');
my %side_fps = map { $_ => [ fingerprints_of($_, @side) ] } qw(db1 db2 shop);
is_deeply([ @{ $side_fps{db2} }, @{ $side_fps{shop} } ],
	[ @{ $side_fps{db1} }, @{ $side_fps{db1} } ],
	'statements on a table with another column history (a dropped column) get the fingerprints of db1 in db2 and shop'
);
is(scalar(distinct(@{ $side_fps{db1} })), scalar(@side),
	'... and those ' . scalar(@side) . ' statements are ' . scalar(@side) . ' different fingerprints');

# "swapped" has its two columns in the other order in db2: naming them
# gives the same fingerprint; `*` does not, because then the result's
# columns come in another order (what the statement returns differs).
my ($sw_named1, $sw_star1) = fingerprints_of('db1', q{SELECT a, b FROM swapped WHERE b = 'x'}, 'SELECT * FROM swapped');
my ($sw_named2, $sw_star2) = fingerprints_of('db2', q{SELECT a, b FROM swapped WHERE b = 'x'}, 'SELECT * FROM swapped');
is($sw_named2, $sw_named1,
	'columns made in another order (db1: a, b; db2: b, a), named in the statement: the same fingerprint');
isnt($sw_star2, $sw_star1,
	'columns made in another order, read with *: another fingerprint (the result has its columns in another order)');

###########################################################################
# 5. A table aliased "perfguard" does not make a statement perfguard's own.
###########################################################################
my $alias = 'SELECT perfguard.* FROM orders perfguard WHERE perfguard.id = 1';
is($node_a->safe_psql('db2', $alias), '1|2|1.5|n1',
	'db2: the statement with the alias "perfguard" runs and returns its row');
is( $node_a->safe_psql('db2', qq{
SELECT string_agg(own::text, ',') FROM perfguard.statements
 WHERE fingerprint = perfguard.fingerprint(\$pfg\$$alias\$pfg\$)}),
	'false',
	'db2: perfguard.statements has it, and not as perfguard\'s own');

$node_a->safe_psql('db2', 'SELECT perfguard.set_default_budget(max_rows => 0)');
is( $node_a->safe_psql('db2', qq{
SELECT limit_name || ' ' || budget || ' ' || measured FROM perfguard.violations()
 WHERE fingerprint = perfguard.fingerprint(\$pfg\$$alias\$pfg\$)}),
	'max_rows default 1',
	'db2: violations() reports it against the default budget max_rows => 0');
($state, $err) = state_of('db2', 'SELECT perfguard.assert_no_violations()');
ok($state eq 'PF004' && $err =~ /max_rows/ && $err =~ /perfguard\.\* FROM orders perfguard/,
	'db2: assert_no_violations() fails (PF004) and lists it');

($state, $err) = state_of('db2', "SET perfguard.enforce = 'error';\n$alias");
is($state, 'PF003', 'db2: with perfguard.enforce = error, the statement itself fails (PF003)');
my ($ret, $out, $perr) = $node_a->psql('db2',
	"SET perfguard.enforce = 'error';\nSELECT count(*) > 0 FROM (SELECT * FROM perfguard.stats) s;\nSELECT * FROM perfguard.stats;"
);
ok($ret == 0 && $out =~ /^t\n/ && $perr eq '',
	'db2: with perfguard.enforce = error, SELECT * FROM perfguard.stats succeeds (perfguard\'s own)');

$node_a->stop;
$node_b->stop;
done_testing();
