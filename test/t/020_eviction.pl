# perfguard: a full statistics table evicts its least-used statements.
#
# perfguard.max_queries = 100 (the minimum).  After a reset, 250 statements
# of distinct shapes run, one a table, interleaved with a "hot" statement;
# after each of them the number of entries is recorded.  Then:
#  - the table never held more than max_queries entries;
#  - evictions + entries = statements seen since the reset, exactly;
#  - the hot statement was never evicted: it has all its calls;
#  - the oldest cold statement is gone, the newest is there.
# Finally, a dump of more statements than a smaller max_queries allows is
# loaded partially, with a LOG, and eviction works on the loaded table.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $ncold = 250;

my $node = PostgreSQL::Test::Cluster->new('eviction');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'perfguard'
perfguard.max_queries = 100
perfguard.track = top
perfguard.track_utility = off
});
$node->start;

# The tables are made by one DO block: with track = top, what it runs is not
# tracked, and with track_utility = off neither is the block.
$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION perfguard;
CREATE TABLE hot (id int PRIMARY KEY, v int);
INSERT INTO hot SELECT g, g FROM generate_series(1, 100) g;
DO \$\$
BEGIN
  FOR i IN 1 .. $ncold LOOP
    EXECUTE format('CREATE TABLE cold_%s (id int)', i);
  END LOOP;
END
\$\$;
});

is($node->safe_psql('postgres', 'SELECT max_queries FROM perfguard.info()'),
	'100', 'perfguard.max_queries is 100');

# One session: reset, then each cold statement followed by the hot one and
# a record of the table's size (seen from inside a statement, which is not
# counted yet, so the recorded size is the size between statements).
my $script = q{
CREATE TABLE sizes (n bigint, visible bigint);
SELECT perfguard.reset();
};
for my $i (1 .. $ncold)
{
	$script .= "SELECT count(*) FROM cold_$i;\n";
	$script .= "SELECT v FROM hot WHERE id = " . ($i % 100 + 1) . ";\n";
	$script .=
	  "INSERT INTO sizes SELECT (SELECT statements FROM perfguard.info()), (SELECT count(*) FROM perfguard.stats);\n";
}
$node->safe_psql('postgres', $script);


my ($max_n, $max_visible, $samples) = split /\|/,
  $node->safe_psql('postgres',
	'SELECT max(n), max(visible), count(*) FROM sizes');
is($samples, $ncold, 'the size of the table was recorded after each statement');
cmp_ok($max_n, '<=', 100,
	'perfguard.info().statements never exceeded max_queries');
cmp_ok($max_visible, '<=', 100,
	'perfguard.stats never had more than max_queries rows');

# statements seen since the reset: the reset itself, the cold ones, the hot
# one, the INSERT INTO sizes, and the query on sizes just above
my $seen = 1 + $ncold + 1 + 1 + 1;
my ($statements, $evictions) = split /\|/,
  $node->safe_psql('postgres',
	'SELECT statements, evictions FROM perfguard.info()');
cmp_ok($statements, '<=', 100, 'the table holds at most max_queries entries');
cmp_ok($evictions, '>', 0, 'perfguard.info() counted evictions');
cmp_ok($evictions, '>=', $seen - 100,
	'at least the statements that did not fit were evicted');
is($statements + $evictions,
	$seen, 'evictions + entries = statements seen since the reset');

is( $node->safe_psql(
		'postgres',
		q{SELECT calls || '|' || rows FROM perfguard.stats WHERE query LIKE 'SELECT v FROM hot WHERE id = %'}
	),
	"$ncold|$ncold",
	'the hot statement survived eviction with all its calls and rows');
is( $node->safe_psql(
		'postgres',
		q{SELECT calls FROM perfguard.stats WHERE query LIKE 'INSERT INTO sizes %'}),
	$ncold,
	'the other hot statement survived too');
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM perfguard.stats WHERE query = 'SELECT count(*) FROM cold_1'}
	),
	'0',
	'the oldest cold statement was evicted');
is( $node->safe_psql(
		'postgres',
		qq{SELECT calls FROM perfguard.stats WHERE query = 'SELECT count(*) FROM cold_$ncold'}
	),
	'1',
	'the newest cold statement is there');
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM perfguard.stats WHERE calls < 1 OR query IS NULL}),
	'0',
	'every entry shown has been executed and has a text');

# The same statement evicted and seen again starts over at one call.
$node->safe_psql('postgres', 'SELECT count(*) FROM cold_1');
is( $node->safe_psql(
		'postgres',
		q{SELECT calls FROM perfguard.stats WHERE query = 'SELECT count(*) FROM cold_1'}
	),
	'1',
	'an evicted statement seen again is tracked from scratch');

#
# A dump of 150 statements loaded with max_queries = 100.
#
$node->stop;
$node->append_conf('postgresql.conf', 'perfguard.max_queries = 200');
$node->start;
my $batch = "SELECT perfguard.reset();\n";
$batch .= "SELECT count(*) FROM cold_$_;\n" for 1 .. 150;
$node->safe_psql('postgres', $batch);
is( $node->safe_psql(
		'postgres', 'SELECT statements, evictions FROM perfguard.info()'),
	'151|0',
	'max_queries = 200: 151 statements, no eviction');

$node->stop;
$node->append_conf('postgresql.conf', 'perfguard.max_queries = 100');
my $offset = -s $node->logfile;
$node->start;
like(
	slurp_file($node->logfile, $offset),
	qr/LOG:  perfguard loaded 100 of 152 saved statements/,
	'loading more statements than max_queries is logged');
is( $node->safe_psql(
		'postgres', 'SELECT statements, evictions FROM perfguard.info()'),
	'100|0',
	'max_queries = 100: 100 of the saved statements are loaded');

$batch = '';
$batch .= "SELECT count(*) FROM cold_$_;\n" for 151 .. 200;
$node->safe_psql('postgres', $batch);
($statements, $evictions) = split /\|/,
  $node->safe_psql('postgres',
	'SELECT statements, evictions FROM perfguard.info()');
cmp_ok($statements, '<=', 100, 'the loaded table stays within max_queries');
cmp_ok($evictions, '>', 0, 'new statements evict loaded ones');
is( $node->safe_psql(
		'postgres',
		q{SELECT calls FROM perfguard.stats WHERE query = 'SELECT count(*) FROM cold_200'}
	),
	'1',
	'the newest statement is tracked');

$node->stop;
done_testing();
