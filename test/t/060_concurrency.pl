# Concurrency: two clients updating the same entries lose no call, and
# resets racing with the traffic leave the table consistent.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('concurrency');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'perfguard'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION perfguard');
$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', '-p', $node->port, '-h', $node->host, 'postgres' ],
	'pgbench data');

# calls of the top-level entries whose text starts with $prefix
sub calls_of
{
	my ($prefix) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(sum(calls), 0) FROM perfguard.stats WHERE toplevel AND query LIKE '$prefix%'");
}

# Select-only, 2 clients x 2000 transactions, in both protocols: every
# execution is counted exactly once.
foreach my $mode ('simple', 'prepared')
{
	$node->safe_psql('postgres', 'SELECT perfguard.reset()');
	$node->pgbench("-n -c 2 -j 2 -t 2000 -S -M $mode", 0,
		[qr{processed: 4000/4000}], [qr{^$}], "pgbench -S -M $mode");
	is(calls_of('SELECT abalance FROM pgbench_accounts WHERE aid = $1'), '4000',
		"select-only ($mode): 4000 calls from 2 clients");
}

# TPC-B-like without branch updates: each statement of the script once per
# transaction, including the row-locking UPDATE that clients wait on.
$node->safe_psql('postgres', 'SELECT perfguard.reset()');
$node->pgbench('-n -c 2 -j 2 -t 500 -N -M prepared', 0,
	[qr{processed: 1000/1000}], [qr{^$}], 'pgbench -N');
is(calls_of('UPDATE pgbench_accounts SET abalance'), '1000', 'simple-update: 1000 UPDATE calls');
is(calls_of('INSERT INTO pgbench_history'), '1000', 'simple-update: 1000 INSERT calls');
is($node->safe_psql('postgres',
		"SELECT sum(rows) FROM perfguard.stats WHERE query LIKE 'UPDATE pgbench_accounts SET abalance%'"),
	'1000', 'simple-update: 1000 rows updated');

# Resets (of all, and of one fingerprint) racing with two clients: nothing
# breaks, counts never exceed what ran, and the server stays up.
$node->safe_psql('postgres', 'SELECT perfguard.reset()');
my $resetter = $node->background_psql('postgres');
my $pgbench_out;
my $h = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-j', '2', '-t', '3000', '-S', '-M', 'prepared',
	  '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$pgbench_out, '2>', \$pgbench_out);
for my $i (1 .. 50)
{
	$resetter->query_safe($i % 2
		? 'SELECT perfguard.reset()'
		: "SELECT perfguard.reset(perfguard.fingerprint('SELECT abalance FROM pgbench_accounts WHERE aid = 1'))");
}
$resetter->quit;
ok($h->finish, 'pgbench ran to the end while perfguard was being reset');
like($pgbench_out, qr{processed: 6000/6000}, 'every transaction was processed');
cmp_ok(calls_of('SELECT abalance FROM pgbench_accounts WHERE aid = $1'), '<=', 6000,
	'calls never exceed the executions');
is($node->safe_psql('postgres',
		'SELECT count(*) FROM perfguard.stats WHERE calls < 1 OR min_exec_time > max_exec_time OR p50_exec_time > p99_exec_time'),
	'0', 'every entry is internally consistent after the race');

$node->stop;
done_testing();
