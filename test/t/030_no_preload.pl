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

# Which functions need shared memory, and which do not: exactly the lists of
# docs/functions.md ("Without shared_preload_libraries").  Budgets and
# baselines are tables: writing them and comparing stored baselines works
# without preloading; anything that reads the statistics or the events
# raises 55000.
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION perfguard;
CREATE TABLE t (id int PRIMARY KEY, v text);
});
my $stored_doc =
  q{'{"format": "perfguard-baseline", "version": 2, "name": "doc", "server_version_num": 150000, "statements": [{"fingerprint": "11", "calls": 40, "rows_per_call": 1}, {"fingerprint": "12", "calls": 3}]}'};
my @work = (
	q{SELECT perfguard.fingerprint('SELECT v FROM t WHERE id = 1') <> 0},
	q{SELECT perfguard.set_budget('SELECT v FROM t WHERE id = 1', max_rows => 1) <> 0},
	q{SELECT perfguard.set_budget(12345, max_ms => 10) = 12345},
	q{SELECT perfguard.set_default_budget(max_calls_per_xact => 20) IS NULL},
	q{SELECT count(*) = 3 FROM perfguard.budgets},
	q{SELECT perfguard.drop_budget('SELECT v FROM t WHERE id = 2')},
	q{SELECT perfguard.drop_budget(12345)},
	q{SELECT perfguard.drop_default_budget()},
	"SELECT perfguard.baseline_import($stored_doc) = 'doc'",
	"SELECT perfguard.baseline_import($stored_doc, 'doc2') = 'doc2'",
	q{SELECT perfguard.baseline_export('doc') ->> 'name' = 'doc'},
	q{SELECT count(*) = 0 FROM perfguard.regressions('doc', compare_to => 'doc2')},
	"SELECT count(*) = 0 FROM perfguard.regressions(${stored_doc}::jsonb, compare_to => 'doc2')",
	q{SELECT count(*) = 0 FROM perfguard.new_statements('doc', compare_to => 'doc2')},
	"SELECT count(*) = 0 FROM perfguard.new_statements(${stored_doc}::jsonb, compare_to => 'doc2')",
	q{SELECT statements = 0 FROM perfguard.run_speed('doc', compare_to => 'doc2')},
	"SELECT factor = 1 FROM perfguard.run_speed(${stored_doc}::jsonb, compare_to => 'doc2')",
	q{SELECT perfguard.baseline_drop('doc2')},
	q{SELECT p_value < 0.01 FROM perfguard.shift_test('{79,30}', '{90,30}', 0.5, 1.2)},
	q{SELECT perfguard.welch_test(30, 10, 1, 30, 20, 1) < 0.01},
	q{SELECT perfguard.exceedance_test('{1,10}', '{1,10}') > 0.5},
	q{SELECT count(*) = 2 FROM perfguard.baseline_statements});
for my $sql (@work)
{
	($ret, $stdout, $stderr) = $node->psql('postgres', $sql);
	is("$stdout|$stderr", 't|', "without preloading, works: $sql");
}
my @need = (
	q{SELECT count(*) FROM perfguard.stats},
	q{SELECT count(*) FROM perfguard.statements},
	q{SELECT count(*) FROM perfguard.events},
	# (with no budget at all, the view has no row to find calls for)
	q{SELECT perfguard.set_default_budget(max_ms => 1); SELECT count(*) FROM perfguard.budget_list},
	q{SELECT perfguard.info()},
	q{SELECT perfguard.reset()},
	q{SELECT perfguard.reset_events()},
	q{SELECT count(*) FROM perfguard.event_drops()},
	q{SELECT count(*) FROM perfguard.violations()},
	q{SELECT count(*) FROM perfguard.metrics_statements()},
	q{SELECT count(*) FROM perfguard.metrics_events()},
	q{SELECT count(*) FROM perfguard.metrics_violations()},
	q{SELECT perfguard.assert_no_violations()},
	q{SELECT perfguard.assert_no_violations('doc')},
	"SELECT perfguard.assert_no_violations(${stored_doc}::jsonb)",
	q{SELECT perfguard.baseline_capture('now')},
	q{SELECT perfguard.baseline_export()},
	q{SELECT count(*) FROM perfguard.regressions('doc')},
	q{SELECT count(*) FROM perfguard.run_speed('doc')},
	"SELECT count(*) FROM perfguard.regressions(${stored_doc}::jsonb)",
	q{SELECT count(*) FROM perfguard.new_statements('doc')},
	"SELECT count(*) FROM perfguard.new_statements(${stored_doc}::jsonb)");
for my $sql (@need)
{
	($ret, $stdout, $stderr) = $node->psql('postgres',
		"\\set VERBOSITY verbose\n$sql", on_error_stop => 0);
	like($stderr, $error_re, "without preloading, 55000: $sql");
}
is($node->safe_psql('postgres', q{SELECT string_agg(name, ',') FROM perfguard.baselines}),
	'doc', 'without preloading, nothing was captured');
$node->safe_psql('postgres', 'DROP EXTENSION perfguard; DROP TABLE t');
$node->stop;

done_testing();
