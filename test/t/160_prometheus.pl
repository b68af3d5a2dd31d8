# perfguard's metrics as Prometheus scrapes them: postgres_exporter (Debian's
# prometheus-postgres-exporter; test/install-deps.sh installs it) is started
# against a node with the project's integrations/postgres_exporter.yaml, on a
# private loopback port, as a pg_monitor role whose own queries perfguard
# does not track; /metrics is scraped and checked:
#
#  - every family the file declares is there, of the type it declares;
#  - the statements are the top 20 by total time, no more, though the node
#    has more: the same set, and the same calls, times, percentiles, rows,
#    blocks, sequential scans and N+1 counts, as perfguard.stats summed per
#    database, user and fingerprint;
#  - their labels: database, username, fingerprint; query empty, and with
#    the file's opt-in (metrics_statements(20, true)) the statement's text;
#  - events per kind as perfguard.events counts them, budget violations as
#    perfguard.violations() has them, and perfguard.info()'s numbers.
#
# Skipped, saying so, when the exporter is not installed.  Needs nothing
# beyond Debian's perl (HTTP::Tiny).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use HTTP::Tiny;
use JSON::PP;
use IPC::Run;
use Time::HiRes qw(usleep);
use Cwd qw(abs_path);

my $exporter;
for my $candidate ($ENV{POSTGRES_EXPORTER}, '/usr/bin/prometheus-postgres-exporter',
	'/usr/bin/postgres_exporter')
{
	if (defined $candidate && -x $candidate)
	{
		$exporter = $candidate;
		last;
	}
}

my $yaml_file = 'integrations/postgres_exporter.yaml';
my $yaml = slurp_file($yaml_file);

# The families the file declares: namespace_column => usage (COUNTER,
# GAUGE, LABEL), from its plain layout (a namespace at column 0, "- name:"
# under metrics, its usage on the next line).
my (%usage, $ns, $col);
for my $line (split /\n/, $yaml)
{
	if ($line =~ /^([a-z_]+):\s*$/) { $ns = $1; next; }
	if ($line =~ /^\s+-\s+([a-z_0-9]+):\s*$/) { $col = $1; next; }
	if ($line =~ /^\s+usage:\s*"(\w+)"/ && $ns && $col)
	{
		$usage{"${ns}_$col"} = $1;
		undef $col;
	}
}
my @families = sort grep { $usage{$_} ne 'LABEL' } keys %usage;
my %labels_of;    # namespace => [label columns]
for my $k (sort keys %usage)
{
	next unless $usage{$k} eq 'LABEL';
	my ($n, $c) = $k =~ /^(perfguard_[a-z]+)_(.*)$/;
	push @{ $labels_of{$n} }, $c;
}
ok(@families >= 20, "the file declares the perfguard families (" . scalar(@families) . ")");

# The Grafana dashboard: JSON Grafana imports (a data source input, panels
# with queries), and every perfguard metric it queries is one the file
# exports.
my $dash = eval { JSON::PP->new->decode(slurp_file('integrations/grafana-dashboard.json')) };
is($@, '', 'integrations/grafana-dashboard.json is JSON');
$dash //= {};
is($dash->{__inputs}[0]{pluginId} // '', 'prometheus', 'the dashboard asks for a Prometheus data source on import');
ok(defined $dash->{uid} && defined $dash->{title} && $dash->{schemaVersion}, 'the dashboard has a uid, a title and a schema version');
my @exprs = map { map { $_->{expr} } @{ $_->{targets} // [] } } @{ $dash->{panels} // [] };
ok(@exprs >= 8, 'the dashboard\'s panels have queries (' . scalar(@exprs) . ')');
my %used = map { $_ => 1 } map { /\b(perfguard_[a-z0-9_]+)/g } @exprs;
is_deeply([ grep { !exists $usage{$_} || $usage{$_} eq 'LABEL' } sort keys %used ], [],
	'every metric the dashboard queries is exported by the file');
ok($used{perfguard_statement_p95_exec_seconds} && $used{perfguard_statement_n_plus_one_total}
	  && $used{perfguard_statement_seq_scans_total} && $used{perfguard_budget_statements}
	  && $used{perfguard_statement_exec_seconds_total},
	'the dashboard shows time, p95, N+1, sequential scans and violations');

if (!defined $exporter)
{
	my $why = 'postgres_exporter is not installed (apt-get install prometheus-postgres-exporter, or test/install-deps.sh as root)';
	diag("SKIPPED: the scrape of /metrics: $why");
  SKIP: { skip $why, 1; }
	done_testing();
	exit 0;
}
note("exporter: $exporter");

my $node = PostgreSQL::Test::Cluster->new('prometheus');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'perfguard'
perfguard.capture_interval = 0
perfguard.seqscan_min_rows = 1000
perfguard.nplus1_threshold = 5
perfguard.nplus1_window = 0
});
$node->start;

# this test's own queries are not tracked (set at connection, so that not
# even a SET is counted)
$ENV{PGOPTIONS} = '-c perfguard.track=none';
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION perfguard;
CREATE ROLE exporter LOGIN IN ROLE pg_monitor;
ALTER ROLE exporter SET perfguard.track = none;
CREATE TABLE big (id int PRIMARY KEY, v int);
INSERT INTO big SELECT g, g % 10 FROM generate_series(1, 5000) g;
ANALYZE big;
});
for my $k (1 .. 25)
{
	$node->safe_psql('postgres', "CREATE TABLE s$k (a int); INSERT INTO s$k VALUES ($k)");
}

# The workload, tracked: 25 statements of one call each and three of many,
# with sequential scans, an N+1 loop and a budget broken.
{
	local $ENV{PGOPTIONS} = '';
	my $sql = '';
	$sql .= "SELECT * FROM s$_;\n" for 1 .. 25;
	$sql .= "SELECT count(*) FROM big WHERE v = $_;\n" for 1 .. 6;
	for my $t (1 .. 3)
	{
		$sql .= "BEGIN;\nSELECT id FROM big ORDER BY id LIMIT 8;\n";
		$sql .= "SELECT v FROM big WHERE id = $_;\n" for 1 .. 8;
		$sql .= "COMMIT;\n";
	}
	$sql .= "SELECT * FROM big WHERE v < 2;\n" for 1 .. 3;
	$node->safe_psql('postgres', $sql);
}
$node->safe_psql('postgres',
	q{SELECT perfguard.set_default_budget(max_rows => 100) IS NULL});
is($node->safe_psql('postgres',
		q{SELECT count(*) > 20 FROM (SELECT DISTINCT fingerprint FROM perfguard.stats) s}),
	't', 'the node has more than 20 statements');

# What the metrics must say, from perfguard.stats summed per database, user
# and fingerprint; the top 20 by total time.
my %expect;
my @top;
for my $row (split /\n/, $node->safe_psql('postgres', q{
	SELECT d.datname, r.rolname, s.fingerprint, sum(s.calls), sum(s.total_exec_time) / 1000,
	       max(s.p50_exec_time) / 1000, max(s.p95_exec_time) / 1000, max(s.p99_exec_time) / 1000,
	       sum(s.rows), sum(s.shared_blks_hit), sum(s.shared_blks_read),
	       sum(s.seq_scans), sum(s.n_plus_one), sum(s.row_by_row_dml),
	       left(regexp_replace(max(s.query), '\s+', ' ', 'g'), 60),
	       sum(s.failed_calls), sum(s.failed_exec_time) / 1000
	  FROM perfguard.stats s
	  JOIN pg_database d ON d.oid = s.dbid JOIN pg_roles r ON r.oid = s.userid
	 GROUP BY 1, 2, 3 ORDER BY sum(s.total_exec_time) DESC LIMIT 20}))
{
	my @f = split /\|/, $row, -1;
	push @top, $f[2];
	$expect{ $f[2] } = {
		database => $f[0],
		username => $f[1],
		calls_total => $f[3],
		exec_seconds_total => $f[4],
		p50_exec_seconds => $f[5],
		p95_exec_seconds => $f[6],
		p99_exec_seconds => $f[7],
		rows_total => $f[8],
		shared_blks_hit_total => $f[9],
		shared_blks_read_total => $f[10],
		seq_scans_total => $f[11],
		n_plus_one_total => $f[12],
		row_by_row_dml_total => $f[13],
		query => $f[14],
		failed_calls_total => $f[15],
		failed_exec_seconds_total => $f[16],
		mean_exec_seconds => $f[3] > 0 ? $f[4] / $f[3] : undef,
	};
}
is(scalar @top, 20, 'perfguard.stats has a top 20');

my $fp_seqscan = $node->safe_psql('postgres',
	q{SELECT perfguard.fingerprint('SELECT count(*) FROM big WHERE v = 1')});
my $fp_nplus1 = $node->safe_psql('postgres',
	q{SELECT perfguard.fingerprint('SELECT v FROM big WHERE id = 1')});
ok(exists $expect{$fp_seqscan}, 'the sequential scan is in the top 20');
ok(exists $expect{$fp_nplus1}, 'the N+1 lookup is in the top 20');
cmp_ok($expect{$fp_seqscan}{seq_scans_total} // 0, '>', 0, 'its scans were flagged');
cmp_ok($expect{$fp_nplus1}{n_plus_one_total} // 0, '>', 0, 'the N+1 pattern was counted');

my $tmp = PostgreSQL::Test::Utils::tempdir();

# start_exporter($queries_file): the exporter on a free loopback port, as
# the role exporter; returns (handle, port) once /metrics answers
sub start_exporter
{
	my ($file) = @_;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $dsn = sprintf('host=%s port=%s user=exporter dbname=postgres sslmode=disable',
		$node->host, $node->port);
	my $log = "$tmp/exporter-$port.log";
	local $ENV{DATA_SOURCE_NAME} = $dsn;
	# (the role may not set perfguard.track: no PGOPTIONS of this test's)
	local $ENV{PGOPTIONS} = '';
	# its output into a file: a pipe nobody reads would block it
	my $h = IPC::Run::start(
		[
			$exporter, "--web.listen-address=127.0.0.1:$port",
			"--extend.query-path=$file", '--disable-default-metrics',
			'--disable-settings-metrics', '--log.level=warn'
		],
		'<', \undef, '>', $log, '2>&1');
	my $http = HTTP::Tiny->new(timeout => 10);
	for (1 .. 300)
	{
		my $r = $http->get("http://127.0.0.1:$port/metrics");
		if ($r->{success} && $r->{content} =~ /perfguard_info/)
		{
			note('exporter log: ' . slurp_file($log));
			return ($h, $port, $r->{content});
		}
		usleep(100_000);
	}
	$h->kill_kill;
	die "postgres_exporter did not answer on 127.0.0.1:$port: " . slurp_file($log);
}

# parse($text): {family => {type, help, samples => [[{labels}, value]]}}
sub parse
{
	my ($text) = @_;
	my %fam;
	for my $line (split /\n/, $text)
	{
		if ($line =~ /^# TYPE (\S+) (\S+)/) { $fam{$1}{type} = $2; next; }
		if ($line =~ /^# HELP (\S+) (.*)/) { $fam{$1}{help} = $2; next; }
		next if $line =~ /^#/ || $line !~ /\S/;
		my ($name, $labels, $value) = $line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/
		  or next;
		my %l;
		while (defined $labels && $labels =~ /\G([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gc)
		{
			my ($k, $v) = ($1, $2);
			$v =~ s/\\n/\n/g;
			$v =~ s/\\(["\\])/$1/g;
			$l{$k} = $v;
		}
		push @{ $fam{$name}{samples} }, [ \%l, $value ];
	}
	return \%fam;
}

# close(a, b): equal as numbers, but for the exporter's float formatting
sub close_to
{
	my ($a, $b) = @_;
	return 0 unless defined $a && defined $b;
	return 1 if $a == $b;
	return abs($a - $b) <= 1e-9 * (abs($a) + abs($b)) + 1e-12;
}

my ($h, $port, $text) = start_exporter(abs_path($yaml_file));
note("exporter on 127.0.0.1:$port");
my $m = parse($text);
$h->kill_kill;

# the families and their types
for my $f (@families)
{
	is($m->{$f}{type} // 'missing', lc $usage{$f}, "family $f is there, a " . lc $usage{$f});
}

# the statements: the top 20, with their labels and numbers
my $calls = $m->{perfguard_statement_calls_total}{samples} // [];
is(scalar @$calls, 20, 'perfguard_statement_calls_total: 20 series (top 20), not one per statement');
is_deeply([ sort map { $_->[0]{fingerprint} } @$calls ], [ sort @top ],
	'the statements are the top 20 by total time of perfguard.stats');
for my $s (@$calls)
{
	my $l = $s->[0];
	is_deeply([ sort grep { $_ ne 'server' } keys %$l ],
		[ sort @{ $labels_of{perfguard_statement} } ],
		"statement $l->{fingerprint}: labels database, username, fingerprint, query")
	  if $s == $calls->[0];
	my $e = $expect{ $l->{fingerprint} } or next;
	is($l->{database}, $e->{database}, "statement $l->{fingerprint}: database label");
	is($l->{username}, $e->{username}, "statement $l->{fingerprint}: username label");
	is($l->{query}, '', "statement $l->{fingerprint}: query label empty unless asked for");
}
my $mismatch = 0;
for my $f (grep { /^perfguard_statement_/ } @families)
{
	(my $col = $f) =~ s/^perfguard_statement_//;
	my $samples = $m->{$f}{samples} // [];
	is(scalar @$samples, 20, "$f: 20 series");
	for my $s (@$samples)
	{
		my $e = $expect{ $s->[0]{fingerprint} };
		next if close_to($s->[1], $e ? $e->{$col} : undef);
		$mismatch++;
		diag("$f\{fingerprint=$s->[0]{fingerprint}\} is $s->[1], perfguard.stats says "
			  . ($e->{$col} // 'nothing'));
	}
}
is($mismatch, 0, 'every statement metric equals perfguard.stats summed per database, user and fingerprint');

my ($seq) = grep { $_->[0]{fingerprint} eq $fp_seqscan } @{ $m->{perfguard_statement_seq_scans_total}{samples} };
cmp_ok($seq->[1], '>', 0, 'the sequential scans are counted');
my ($np) = grep { $_->[0]{fingerprint} eq $fp_nplus1 } @{ $m->{perfguard_statement_n_plus_one_total}{samples} };
cmp_ok($np->[1], '>', 0, 'the N+1 pattern is counted');

# events per kind
my %events = map { split /\|/ } split /\n/, $node->safe_psql('postgres',
	q{SELECT k, count(e.kind) FROM unnest(ARRAY['slow_plan', 'seq_scan', 'n_plus_one', 'row_by_row_dml', 'failed']) k
	    LEFT JOIN perfguard.events e ON e.kind = k GROUP BY k});
my %scraped_events = map { $_->[0]{kind} => $_->[1] } @{ $m->{perfguard_events_stored}{samples} };
is_deeply(\%scraped_events, \%events, 'perfguard_events_stored: every kind, as perfguard.events counts them');
cmp_ok($scraped_events{seq_scan} // 0, '>', 0, 'seq_scan events are there');
cmp_ok($scraped_events{n_plus_one} // 0, '>', 0, 'n_plus_one events are there');

# budget violations
my %violations = map { my @f = split /\|/; ("$f[0]/$f[1]" => $f[2]) } split /\n/,
  $node->safe_psql('postgres',
	q{SELECT CASE WHEN budget = 'default' THEN 'default' ELSE fingerprint::text END, limit_name, count(*)
	    FROM perfguard.violations() GROUP BY 1, 2});
my %scraped_violations = map { ("$_->[0]{budget}/$_->[0]{limit_name}" => $_->[1]) }
  @{ $m->{perfguard_budget_statements}{samples} };
is_deeply(\%scraped_violations, \%violations, 'perfguard_budget_statements: as perfguard.violations() has them');
cmp_ok($scraped_violations{'default/max_rows'} // 0, '>', 0, 'the broken default max_rows is there');

# the table
my ($statements, $max_queries, $evictions, $version) = split /\|/,
  $node->safe_psql('postgres', 'SELECT statements, max_queries, evictions, version FROM perfguard.info()');
is($m->{perfguard_info_statements}{samples}[0][1], $statements, 'perfguard_info_statements');
is($m->{perfguard_info_max_queries}{samples}[0][1], $max_queries, 'perfguard_info_max_queries');
is($m->{perfguard_info_evictions_total}{samples}[0][1], $evictions, 'perfguard_info_evictions_total');
ok(close_to($m->{perfguard_info_fill_ratio}{samples}[0][1], $statements / $max_queries),
	'perfguard_info_fill_ratio is statements / max_queries');
is($m->{perfguard_info_statements}{samples}[0][0]{version}, $version, 'the version label');

# The opt-in: the same file with the texts asked for.  The exporter's role
# is a member of pg_read_all_stats (through pg_monitor): it gets them.
(my $with_query = $yaml) =~ s/metrics_statements\(20\)/metrics_statements(20, true)/;
isnt($with_query, $yaml, 'the file has the call to opt in');
open(my $fh, '>', "$tmp/with_query.yaml") or die;
print $fh $with_query;
close $fh;
($h, $port, $text) = start_exporter("$tmp/with_query.yaml");
$m = parse($text);
$h->kill_kill;
my $texts_ok = 0;
for my $s (@{ $m->{perfguard_statement_calls_total}{samples} // [] })
{
	my $e = $expect{ $s->[0]{fingerprint} } or next;
	$texts_ok++ if $s->[0]{query} eq $e->{query} && length $e->{query};
}
is($texts_ok, 20, 'with the opt-in, the query label is the normalized text (cut to 60) of every statement');

$node->stop;
done_testing();
