# perfguard: the fingerprint of a statement is the same in every cluster and
# database, while the core queryid is not.
#
# Two clusters get the same schema made differently (node A: other objects
# made and dropped first, t1 before t2, database "alpha"; node B: t2 before
# t1, database "beta"), so that the tables' OIDs, and with them the
# queryids, differ.  Each statement is then run on both nodes written
# differently (constants, white space, comments, keyword and identifier
# case, IN-list and ARRAY lengths, trailing semicolons).  For each one:
#  - on each node, every spelling lands on one fingerprint;
#  - that fingerprint is the same on both nodes;
#  - perfguard.fingerprint(text) gives it, on either node, for every
#    spelling;
# and the queryids of at least one statement differ between the nodes.
# Statements that really differ must get different fingerprints.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my %conf = (
	shared_preload_libraries => "'perfguard'",
	'perfguard.track' => 'top',
	'perfguard.track_utility' => 'off');

my $node_a = PostgreSQL::Test::Cluster->new('fp_a');
$node_a->init;
$node_a->append_conf('postgresql.conf', "$_ = $conf{$_}") for sort keys %conf;
$node_a->start;
$node_a->safe_psql('postgres', 'CREATE DATABASE alpha');
$node_a->safe_psql(
	'alpha', q{
CREATE TABLE filler (x int);
-- move node A's OID counter far ahead of node B's, so that no table can
-- get the same OID on both however many objects the extension creates
SELECT count(lo_unlink(lo_create(0))) FROM generate_series(1, 5000);
CREATE TABLE t1 (z int);
DROP TABLE t1;
CREATE SEQUENCE some_seq;
CREATE VIEW some_view AS SELECT 1 AS one;
CREATE TABLE t1 (a int PRIMARY KEY, b text, c numeric);
CREATE TABLE t2 (x int, y text, a int);
CREATE EXTENSION perfguard;
});

my $node_b = PostgreSQL::Test::Cluster->new('fp_b');
$node_b->init;
$node_b->append_conf('postgresql.conf', "$_ = $conf{$_}") for sort keys %conf;
$node_b->start;
$node_b->safe_psql('postgres', 'CREATE DATABASE beta');
$node_b->safe_psql(
	'beta', q{
CREATE EXTENSION perfguard;
CREATE TABLE t2 (x int, y text, a int);
CREATE TABLE t1 (a int PRIMARY KEY, b text, c numeric);
INSERT INTO t1 VALUES (1, 'one', 1.0);
});

for my $t ('t1', 't2')
{
	isnt(
		$node_a->safe_psql('alpha', "SELECT '$t'::regclass::oid"),
		$node_b->safe_psql('beta', "SELECT '$t'::regclass::oid"),
		"table $t has another OID on each node");
}

# name => [statements run on A], [statements run on B], and optionally
# [texts to fingerprint] when not the statements themselves.
my @cases = (
	[
		'select by key',
		[ 'SELECT a, b FROM t1 WHERE a = 1', 'select a, b from t1 where a = 2;' ],
		[
			"SELECT   a,b\n  FROM t1 -- trailing comment\n WHERE a = 42",
			'/* leading */ Select A, B From T1 Where A = -7;;'
		]
	],
	[
		'IN list',
		[
			'SELECT count(*) FROM t2 WHERE x IN (1, 2, 3)',
			'SELECT count(*) FROM t2 WHERE x IN (4)'
		],
		[
			'select count(*) from t2 where x in (5,6,7,8,9,10,11)',
			"SELECT count(*)\tFROM t2 WHERE x IN ( -12 , 13 )"
		]
	],
	[
		'ARRAY list',
		[ 'SELECT b FROM t1 WHERE a = ANY (ARRAY[1, 2, 3])' ],
		[ 'SELECT b FROM t1 WHERE a = any(array[9])',
		  'SELECT b FROM t1 WHERE a = ANY (ARRAY[10, 11])' ]
	],
	[
		'insert',
		[ q{INSERT INTO t2 (x, y, a) VALUES (1, 'one', 10)} ],
		[
			q{insert into t2(x,y,a) values(2,'it''s',  20)},
			q{INSERT INTO t2 (x, y, a) VALUES (-3, $$three$$, 30)}
		]
	],
	[
		'update',
		[ q{UPDATE t1 SET b = 'x', c = 1.5 WHERE a = 3} ],
		[ q{update T1 set B = 'yy' , C = 2.75e0 where A = 4 /* done */} ]
	],
	[
		'join',
		[
			'SELECT t1.a, t2.y FROM t1 JOIN t2 ON t1.a = t2.a WHERE t2.x > 5 ORDER BY t1.a LIMIT 10'
		],
		[
			'SELECT t1.a,t2.y FROM t1 JOIN t2 ON t1.a=t2.a WHERE t2.x>100 ORDER BY t1.a LIMIT 3',
			"SELECT t1.a , t2.y\nFROM t1\nJOIN t2 ON t1.a = t2.a\nWHERE t2.x > 0\nORDER BY t1.a\nLIMIT 1"
		]
	],
	[
		'casts and signs',
		[ q{SELECT a FROM t1 WHERE c > -1.5::numeric AND b <> 'z'} ],
		[ q{SELECT a FROM t1 WHERE c > 2::numeric AND b <> 'q'} ]
	],
	[
		'no table',
		[ q{SELECT 1 + 2, 'abc' || 'def'} ],
		[ q{select 40 + 2 , 'x' || 'y'} ]
	],
	[
		# (not "SELECT b ... WHERE a = $1": a list of constants counts as one
		# constant, so that is the statement of the ANY (ARRAY[...]) case)
		'prepared statement',
		[
			'PREPARE p(int) AS SELECT c FROM t1 WHERE a = $1',
			'EXECUTE p(1)', 'EXECUTE p(2)'
		],
		[ 'prepare p (int) as select c from t1 where a = $1', 'EXECUTE p(3)' ],
		[
			'PREPARE p(int) AS SELECT c FROM t1 WHERE a = $1',
			'prepare p (int) as select c from t1 where a = $1'
		]
	],);

# Run the statements on a node after a reset; return the fingerprints, the
# queryids and the total calls of what perfguard recorded for them.
sub run_case
{
	my ($node, $db, $stmts) = @_;
	my $out = $node->safe_psql(
		$db,
		join("\n", 'SELECT perfguard.reset();', map { "$_;" } @$stmts) . q{
SELECT string_agg(DISTINCT fingerprint::text, ',') || '|' ||
       string_agg(DISTINCT queryid::text, ',') || '|' || sum(calls)
  FROM perfguard.stats
 WHERE query NOT LIKE '%perfguard.%';});
	my ($fps, $qids, $calls) = split /\|/, (split /\n/, $out)[-1];
	return ([ split /,/, $fps ], [ split /,/, $qids ], $calls);
}

# perfguard.fingerprint() of each text, on a node
sub fingerprints_of
{
	my ($node, $db, $texts) = @_;
	my $values = join(
		', ',
		map {
			my $i = $_;
			"($i, \$pfgtext\$$texts->[$i]\$pfgtext\$)"
		} 0 .. $#$texts);
	return split /,/,
	  $node->safe_psql($db,
		"SELECT string_agg(perfguard.fingerprint(t)::text, ',' ORDER BY n) FROM (VALUES $values) v(n, t)"
	  );
}

my %fp_of;
my $qid_differ = 0;
for my $case (@cases)
{
	my ($name, $on_a, $on_b, $texts) = @$case;
	my $execs = sub { scalar grep { !/^PREPARE/i } @{ $_[0] } };

	my ($fps_a, $qids_a, $calls_a) = run_case($node_a, 'alpha', $on_a);
	my ($fps_b, $qids_b, $calls_b) = run_case($node_b, 'beta', $on_b);

	is($calls_a, $execs->($on_a), "$name: node A recorded every execution");
	is($calls_b, $execs->($on_b), "$name: node B recorded every execution");
	is(scalar(@$fps_a), 1,
		"$name: node A: one fingerprint for every spelling (@$fps_a)");
	is(scalar(@$fps_b), 1,
		"$name: node B: one fingerprint for every spelling (@$fps_b)");
	is($fps_a->[0], $fps_b->[0],
		"$name: the fingerprint is the same on both nodes");

	my @all_texts = $texts ? @$texts : (@$on_a, @$on_b);
	my @from_a = fingerprints_of($node_a, 'alpha', \@all_texts);
	my @from_b = fingerprints_of($node_b, 'beta',  \@all_texts);
	is_deeply(\@from_a, [ ($fps_a->[0]) x @all_texts ],
		"$name: perfguard.fingerprint() on node A gives it for every spelling");
	is_deeply(\@from_b, [ ($fps_a->[0]) x @all_texts ],
		"$name: perfguard.fingerprint() on node B gives it for every spelling");

	my %in_b = map { $_ => 1 } @$qids_b;
	my $shared = grep { $in_b{$_} } @$qids_a;
	$qid_differ++ if $shared == 0;
	note "$name: queryids on A: @$qids_a; on B: @$qids_b";
	# (from PostgreSQL 18 on, the core's queryid hashes relation names,
	# not OIDs: the same on both nodes there)
	is($shared, 0, "$name: the queryids differ between the nodes (OIDs)")
	  unless $name eq 'no table' || $node_a->pg_version >= 18;

	$fp_of{$name} = $fps_a->[0];
}

cmp_ok($qid_differ, '>=', 1,
	'the queryids of at least one statement differ between the nodes')
  if $node_a->pg_version < 18;
my %seen;
$seen{$_}++ for values %fp_of;
is(scalar(keys %seen), scalar(@cases),
	'different statements have different fingerprints');

# Statements that differ in what they mean must not share a fingerprint.
my @differ = (
	[ 'SELECT a FROM t1',                 'SELECT a FROM t2' ],
	[ 'SELECT a FROM t1 WHERE a = 1',     q{SELECT a FROM t1 WHERE a = 1 AND b = 'x'} ],
	[ 'SELECT a FROM t1 WHERE a IN (1, 2)', 'SELECT a FROM t1 WHERE a IN (c, 2)' ],
	[ 'SELECT a, b FROM t1',              'SELECT b, a FROM t1' ],
	[ 'SELECT a FROM t1',                 'SELECT c FROM t1' ],
	[ 'SELECT a FROM t1 WHERE a > 1',     'SELECT a FROM t1 WHERE a >= 1' ],
	[ 'SELECT a - 1 FROM t1',             'SELECT a + 1 FROM t1' ],
	[ 'SELECT a FROM t1 ORDER BY a',      'SELECT a FROM t1 ORDER BY a DESC' ],);
for my $pair (@differ)
{
	my @fp = fingerprints_of($node_a, 'alpha', $pair);
	isnt($fp[0], $fp[1], "\"$pair->[0]\" and \"$pair->[1]\" differ");
}

# ... and spellings of one statement share it on both nodes.
my @same = (
	[ 'SELECT a FROM t1', 'SELECT "a" FROM "t1"', 'SELECT a FROM t1;' ],
	[ 'SELECT a - 1 FROM t1', 'SELECT a -1 FROM t1', 'SELECT a-1 FROM t1' ],
	[ 'SELECT a FROM t1 WHERE b = $1', q{SELECT a FROM t1 WHERE b = 'v'} ],
	[ q{SELECT a FROM t1 WHERE b = 'v'}, q{SELECT a FROM t1 WHERE b = E'v\\n'} ],);
for my $set (@same)
{
	my @fp_a = fingerprints_of($node_a, 'alpha', $set);
	my @fp_b = fingerprints_of($node_b, 'beta',  $set);
	is_deeply([ @fp_a, @fp_b ], [ ($fp_a[0]) x (2 * @$set) ],
		"spellings of \"$set->[0]\" share a fingerprint on both nodes");
}

$node_a->stop;
$node_b->stop;
done_testing();
