# N+1 detector with real clients: the standard pgbench workloads produce no
# N+1 or row-by-row event; an ORM-style loop over the extended protocol and
# with prepared statements is reported, in transactions and in autocommit;
# the error action fails the offending statement for such a client.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('nplus1');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'perfguard'
# every occurrence makes an event, so that a false positive cannot hide
perfguard.capture_interval = 0
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION perfguard');
$node->command_ok(
	[ 'pgbench', '-i', '-s', '1', '-q', '-p', $node->port, '-h', $node->host, 'postgres' ],
	'pgbench data');

sub repeat_events
{
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM perfguard.events WHERE kind IN ('n_plus_one', 'row_by_row_dml')");
}

sub reset_all
{
	$node->safe_psql('postgres', 'SELECT perfguard.reset(), perfguard.reset_events()');
}

# The built-in workloads, in both protocols: every statement of TPC-B and
# simple-update runs once per transaction, and select-only repeats one
# lookup with no parent.  None of this is N+1.
foreach my $workload ([ 'tpcb-like', '' ], [ 'simple-update', '-N' ], [ 'select-only', '-S' ])
{
	my ($name, $flag) = @$workload;
	foreach my $mode ('simple', 'prepared')
	{
		reset_all();
		$node->pgbench("-n -c 2 -j 2 -T 5 $flag -M $mode", 0,
			[qr{processed: [1-9]}], [qr{^$}], "pgbench $name -M $mode runs");
		is(repeat_events(), '0', "pgbench $name -M $mode: no N+1 or row-by-row event");
		is($node->safe_psql('postgres',
				'SELECT coalesce(sum(n_plus_one + row_by_row_dml), 0) FROM perfguard.stats'),
			'0', "pgbench $name -M $mode: no pattern counted");
	}
}

# An ORM loop: one query for 12 accounts, then one query per account.
my $lookups = join('',
	map { "SELECT abalance FROM pgbench_accounts WHERE aid = $_;\n" } 1 .. 12);
my $parent = "SELECT aid FROM pgbench_accounts ORDER BY aid LIMIT 12;\n";

foreach my $mode ('extended', 'prepared')
{
	reset_all();
	$node->pgbench("-n -c 1 -t 3 -M $mode", 0,
		[qr{processed: 3/3}], [qr{^$}], "ORM loop in transactions, -M $mode",
		{ "orm_xact_$mode" => "BEGIN;\n$parent$lookups" . "END;\n" });
	is($node->safe_psql('postgres',
			"SELECT string_agg(format('%s %s %s %s %s', kind, detail->>'scope', detail->>'count', detail->>'parent_rows', detail->>'parent_query'), E'\\n')
			   FROM perfguard.events WHERE kind = 'n_plus_one'"),
		join("\n",
			('n_plus_one transaction 12 12 SELECT aid FROM pgbench_accounts ORDER BY aid LIMIT $1') x 3),
		"-M $mode: each transaction's loop is reported once, with the final count and the parent");
	is($node->safe_psql('postgres',
			"SELECT n_plus_one FROM perfguard.stats WHERE query = 'SELECT abalance FROM pgbench_accounts WHERE aid = \$1'"),
		'3', "-M $mode: three occurrences in perfguard.stats");

	reset_all();
	$node->pgbench("-n -c 1 -t 1 -M $mode", 0,
		[qr{processed: 1/1}], [qr{^$}], "ORM loop in autocommit, -M $mode",
		{ "orm_auto_$mode" => "$parent$lookups" });
	is($node->safe_psql('postgres',
			"SELECT string_agg(format('%s %s %s', kind, detail->>'scope', detail->>'parent_rows'), E'\\n')
			   FROM perfguard.events WHERE kind = 'n_plus_one'"),
		'n_plus_one session 12',
		"-M $mode: the autocommit loop is reported in its burst");
}

# Row-by-row writing over the extended protocol.
reset_all();
my $inserts = join('',
	map { "INSERT INTO pgbench_history (tid, bid, aid, delta) VALUES (1, 1, $_, 0);\n" } 1 .. 55);
$node->pgbench('-n -c 1 -t 1 -M extended', 0,
	[qr{processed: 1/1}], [qr{^$}], 'row-by-row inserts',
	{ 'row_by_row' => "BEGIN;\n$inserts" . "END;\n" });
is($node->safe_psql('postgres',
		"SELECT format('%s %s', kind, detail->>'count') FROM perfguard.events"),
	'row_by_row_dml 55', 'single-row INSERTs in one transaction: row_by_row_dml, 55');

# The error action, set for the client's role: the twelve-lookup transaction
# fails at its tenth lookup with SQLSTATE PF001.
reset_all();
$node->safe_psql('postgres', "ALTER ROLE CURRENT_USER SET perfguard.nplus1_action = 'error'");
$node->pgbench('-n -c 1 -t 1 -M extended', 2,
	[qr{processed: 0/1}],
	[qr{perfguard detected an N\+1 query pattern: the same query ran 10 times in this transaction}],
	'nplus1_action = error fails the client at the tenth lookup',
	{ 'orm_error' => "BEGIN;\n$parent$lookups" . "END;\n" });
is($node->safe_psql('postgres',
		"SELECT calls FROM perfguard.stats WHERE query = 'SELECT abalance FROM pgbench_accounts WHERE aid = \$1'"),
	'10', 'the lookups after the failing one did not run');
my ($ret, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY sqlstate\nBEGIN;\n$parent$lookups" . "END;\n");
like($err, qr/ERROR:  PF001/, 'the SQLSTATE is PF001');
$node->safe_psql('postgres', 'ALTER ROLE CURRENT_USER RESET perfguard.nplus1_action');

$node->stop;
done_testing();
