# perfguard without shared_preload_libraries: the extension can be created,
# every SQL function raises a clear ERROR (SQLSTATE 55000), and the server
# keeps working.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('no_preload');
$node->init;
$node->start;

is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'', 'perfguard is not preloaded');

my ($ret, $stdout, $stderr) =
  $node->psql('postgres', 'CREATE EXTENSION perfguard');
is($ret, 0, 'CREATE EXTENSION perfguard works without preloading');
is($stderr, '', 'CREATE EXTENSION perfguard says nothing');

my $error_re =
  qr/ERROR:  55000: perfguard must be loaded via shared_preload_libraries/;
my $hint_re = qr/HINT:  Add perfguard to shared_preload_libraries/;

my @calls = (
	'SELECT * FROM perfguard.stats',
	'SELECT count(*) FROM perfguard.stats_internal(false)',
	'SELECT perfguard.reset()',
	'SELECT perfguard.reset(NULL)',
	'SELECT perfguard.reset(12345)',
	'SELECT * FROM perfguard.info()',
	'SELECT perfguard.info()');

for my $sql (@calls)
{
	($ret, $stdout, $stderr) = $node->psql(
		'postgres', "\\set VERBOSITY verbose\n$sql",
		on_error_stop => 0);
	like($stderr, $error_re, "$sql: fails with 55000 and the message");
	like($stderr, $hint_re, "$sql: with the hint");
	is($stdout, '', "$sql: returns nothing");
}

# All of them in one session, after an explicit LOAD, each in its own
# statement: the session survives every ERROR and is still usable.
($ret, $stdout, $stderr) = $node->psql(
	'postgres',
	"\\set VERBOSITY verbose\nLOAD 'perfguard';\n"
	  . join('', map { "$_;\n" } @calls)
	  . "SELECT 'still here';\n",
	on_error_stop => 0);
my $nerrors = () = $stderr =~ /$error_re/g;
is($nerrors, scalar(@calls), 'after LOAD, every function still fails');
is($stdout, 'still here', 'the session survives the errors');

# Inside a transaction, the ERROR aborts the transaction as usual.
($ret, $stdout, $stderr) = $node->psql(
	'postgres', q{
BEGIN;
SAVEPOINT s;
SELECT perfguard.reset();
ROLLBACK TO s;
SELECT 'recovered';
COMMIT;
}, on_error_stop => 0);
is($stdout, 'recovered', 'a savepoint recovers from the ERROR');

# perfguard.fingerprint() needs no shared memory: it works, and gives the
# value a preloaded server gives (050_fingerprint_portable checks that).
($ret, $stdout, $stderr) = $node->psql('postgres',
	q{SELECT perfguard.fingerprint('select 1') = perfguard.fingerprint('SELECT 2')});
is($stdout, 't', 'perfguard.fingerprint() works without preloading');
is($stderr, '', 'perfguard.fingerprint() says nothing without preloading');

# perfguard's parameters do not exist without preloading.
($ret, $stdout, $stderr) =
  $node->psql('postgres', 'SHOW perfguard.max_queries', on_error_stop => 0);
like($stderr, qr/unrecognized configuration parameter "perfguard.max_queries"/,
	'perfguard.max_queries is not defined');

# The server did not crash: it answers, and no process was lost.
is($node->safe_psql('postgres', 'SELECT 1 + 1'), '2', 'the server answers');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|server process .* exited|PANIC/,
	'no server process crashed');

# DROP EXTENSION works too.
($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP EXTENSION perfguard');
is($ret, 0, 'DROP EXTENSION perfguard works without preloading');

$node->stop;

# Preloaded, but with compute_query_id = off: perfguard can identify no
# statement, and says so at start-up instead of staying silent.
my $off = PostgreSQL::Test::Cluster->new('queryid_off');
$off->init;
$off->append_conf('postgresql.conf',
	"shared_preload_libraries = 'perfguard'\ncompute_query_id = off");
$off->start;
like(slurp_file($off->logfile),
	qr/WARNING:  perfguard records no statements while compute_query_id is off(.|\n)*HINT:  Set compute_query_id to "auto" \(the default\) or "on"\./,
	'compute_query_id = off: a WARNING with a HINT at start-up');
$off->safe_psql('postgres', 'CREATE EXTENSION perfguard; SELECT 1');
is($off->safe_psql('postgres', 'SELECT count(*) FROM perfguard.stats'),
	'0', 'compute_query_id = off: nothing is recorded');
$off->stop;

done_testing();
