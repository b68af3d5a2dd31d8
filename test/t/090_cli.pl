# The perfguard command-line client, run as installed (pg_config --bindir
# of the pg_config on PATH) against a live node:
#
#  - --help, --version, usage errors (unknown command or option, an option
#    of another command, bad values): exit 2 with a hint to --help;
#  - connection: -h/-p, -d with a connection string and a URI, the PG*
#    environment variables; a server that does not answer, a database that
#    does not exist, one without the extension, one with an older version
#    of it: exit 2 and "perfguard: error: ..." on stderr;
#  - report in text, json, junit and markdown, --top, --sort, the flags of
#    sequential scans and N+1 patterns;
#  - baseline save, list, export (-o, stdout, --current), import (a file,
#    stdin, --name), drop (--if-exists), and their errors;
#  - check: clean (exit 0), a broken budget (exit 1), a regression against
#    a baseline file and a stored baseline (exit 1), new statements, in
#    every format: JSON that parses, JUnit XML that is well-formed with as
#    many testcases and failures as it says, markdown;
#  - unknown baselines and malformed baseline files: exit 2;
#  - events with --kind, --since, --verbose, --format json;
#  - reset (and --events), and a user who may not reset;
#  - standard output that cannot be written (/dev/full), for every command
#    and format: exit 2 and the error, nothing else; -o FILE that cannot be
#    written (/dev/full, a file size limit): exit 2, an existing file left
#    as it was, no temporary file left behind;
#  - messages of any length (a server error of more than 8 kB, a long
#    usage error) printed whole;
#  - check --baseline-file sends the document once (counted in the server
#    log, log_statement = all for the client's session);
#  - -W: a password of 2000 characters, read from a terminal (a pty).
#
# Only deterministic facts are checked: counts, texts, flags and exit
# codes, never a timing.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Encode qw(decode);
use IPC::Run;
use JSON::PP;

# The client as installed, next to the server binaries of the pg_config on
# PATH.
my $bindir = `pg_config --bindir`;
chomp $bindir;
my $cli = "$bindir/perfguard";
ok(-x $cli, "perfguard is installed in pg_config --bindir ($bindir)");

my $node = PostgreSQL::Test::Cluster->new('cli');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'perfguard'
# a plan for every statement, every time: failures can show one
perfguard.capture_min_duration = 0
perfguard.capture_interval = 0
perfguard.seqscan_min_rows = 1000
});
# one role that must give its password (first line: the first match wins)
my $hba = $node->data_dir . '/pg_hba.conf';
my $hba_text = slurp_file($hba);
open(my $hba_fh, '>', $hba) or die "could not write $hba: $!";
print $hba_fh "local all cli_pw scram-sha-256\n", $hba_text;
close $hba_fh;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION perfguard');
$node->safe_psql('postgres', 'CREATE DATABASE plain');
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('old', 'CREATE EXTENSION perfguard');
# a version older than the client knows (no such release exists)
$node->safe_psql('old',
	"UPDATE pg_extension SET extversion = '0.9' WHERE extname = 'perfguard'");

my $tmp = PostgreSQL::Test::Utils::tempdir();

#
# Helpers
#

# cli(\@args, [stdin => text, env => {..}, conn => 0, stdout => FILE,
# wrap => [command...]]): run the client, connected to the node unless
# conn => 0, its standard output into FILE if given, through the wrap
# command (which execs its arguments) if given; returns (exit code,
# stdout, stderr)
sub cli
{
	my ($args, %opt) = @_;
	my ($out, $err) = ('', '');
	my @cmd = (@{ $opt{wrap} // [] }, $cli);
	push @cmd, '-h', $node->host, '-p', $node->port, '-d', 'postgres'
	  unless defined $opt{conn} && !$opt{conn};
	push @cmd, @$args;
	local %ENV = (%ENV, %{ $opt{env} // {} });
	my $in = $opt{stdin} // '';
	print('# Running: ' . join(' ', @cmd) . "\n");
	IPC::Run::run(\@cmd, '<', \$in, '>', $opt{stdout} // \$out, '2>', \$err);
	die "perfguard died of signal " . ($? & 127) if $? & 127;
	return ($? >> 8, $out, $err);
}

# cli_ok(\@args, $name, %opt): the command succeeds (exit 0, stderr
# empty); returns its stdout
sub cli_ok
{
	my ($args, $name, %opt) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my ($rc, $out, $err) = cli($args, %opt);
	is($rc, 0, "$name: exit 0");
	is($err, '', "$name: nothing on stderr");
	return $out;
}

# cli_fails(\@args, $code, $stderr_re, $name, %opt): exit $code, stderr
# matches, and every stderr line is the program's; returns stdout
sub cli_fails
{
	my ($args, $code, $re, $name, %opt) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my ($rc, $out, $err) = cli($args, %opt);
	is($rc, $code, "$name: exit $code");
	like($err, $re, "$name: message");
	like($err, qr/\Aperfguard: error: /, "$name: stderr starts with \"perfguard: error: \"");
	return $out;
}

sub json_ok
{
	my ($text, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $doc = eval { JSON::PP->new->utf8->decode($text) };
	ok(defined $doc, "$name: valid JSON") or diag("$@\n$text");
	return $doc;
}

# xml_problem($xml): '' when the document is well-formed as far as JUnit
# reports go (a declaration; elements nested and closed; quoted attributes;
# no raw "<" or stray "&" in text or values), else what is wrong
sub xml_problem
{
	my ($xml) = @_;
	my @stack;
	my $entity = qr/&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;
	return 'no XML declaration'
	  unless $xml =~ s/\A<\?xml version="1\.0" encoding="UTF-8"\?>\n//;
	my $seen_root = 0;
	while ($xml =~ /\G([^<]*)<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w.:-]+="[^"<]*")*)\s*(\/?)>/gc)
	{
		my ($text, $close, $name, $attrs, $empty) = ($1, $2, $3, $4, $5);
		(my $t = $text) =~ s/$entity//g;
		return "stray & in text before <$close$name>" if $t =~ /&/;
		return "text outside the root element" if !@stack && $text =~ /\S/;
		(my $a = $attrs) =~ s/$entity//g;
		return "stray & or > in the attributes of <$name>" if $a =~ /[&>]/;
		if ($close)
		{
			my $open = pop @stack;
			return "</$name> closes <" . ($open // '') . ">"
			  unless defined $open && $open eq $name;
		}
		else
		{
			return "a second root element <$name>" if !@stack && $seen_root++;
			push @stack, $name unless $empty;
		}
	}
	return 'unparsed text: ' . substr($xml, pos($xml) // 0, 60)
	  unless $xml =~ /\G\s*\z/gc;
	return 'unclosed: ' . join(' ', @stack) if @stack;
	return '';
}

# junit_ok($xml, $name): well-formed, and the counts on <testsuite> are
# those of its testcases; returns (tests, failures)
sub junit_ok
{
	my ($xml, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	is(xml_problem($xml), '', "$name: well-formed XML");
	like($xml, qr/<testsuites[^>]*>\s*<testsuite name="perfguard[^"]*"/,
		"$name: <testsuites><testsuite name=\"perfguard...\">");
	my ($tests, $failures) =
	  $xml =~ /<testsuite name="[^"]*" tests="(\d+)" failures="(\d+)"/;
	my $ncases = () = $xml =~ /<testcase /g;
	my $nfail = () = $xml =~ /<failure /g;
	is($ncases, $tests, "$name: tests=\"$tests\" is the number of testcases");
	is($nfail, $failures, "$name: failures=\"$failures\" is the number of failures");
	return ($tests, $failures);
}

# sql($sql, [$db]): the test's own queries, kept out of the statistics
# (with the statement the client itself uses for that)
sub sql
{
	my ($sql, $db) = @_;
	return $node->safe_psql($db // 'postgres', "SET perfguard.track = none;\n$sql");
}

# run each statement as a top-level statement of its own
# statements of the workload: those of perfguard.statements that are not
# perfguard's own (which budgets and baselines leave out)
sub workload_statements
{
	return sql('SELECT count(*) FROM perfguard.statements WHERE NOT own');
}

sub run_statements
{
	my (@statements) = @_;
	$node->safe_psql('postgres', join(";\n", @statements) . ";\n");
	return;
}

my $duration = qr/[0-9]+(?:\.[0-9]+)? (?:\xC2\xB5s|ms|s)/;

#
# Help, version, usage errors (no server needed)
#
program_help_ok($cli);
program_version_ok($cli);
program_options_handling_ok($cli);
my ($rc, $out, $err) = cli(['--version'], conn => 0);
is($out, "perfguard (perfguard) 1.1\n", '--version says "perfguard (perfguard) 1.1"');
($rc, $out, $err) = cli(['--help'], conn => 0);
like($out, qr/^Usage:\n  perfguard \[OPTION\]\.\.\. COMMAND/m, '--help shows the usage');
like($out, qr/baseline export NAME/, '--help lists the baseline commands');

my $try_help = qr/\nperfguard: hint: Try "perfguard --help" for more information\.\n\z/;
foreach my $case (
	[ [], qr/no command given/, 'no command' ],
	[ ['frob'], qr/unknown command "frob"/, 'unknown command' ],
	[ [ 'baseline', 'frob' ], qr/unknown baseline subcommand "frob"/, 'unknown baseline subcommand' ],
	[ [ 'report', '--frob' ], qr/unrecognized option "--frob"/, 'unknown option' ],
	[ [ 'check', '--top', '3' ], qr/option --top cannot be used with check/, 'an option of another command' ],
	[ [ 'report', '--format', 'xml' ], qr/invalid value "xml" for option --format/, 'unknown format' ],
	[ [ 'events', '--format', 'junit' ], qr/events has no junit format/, 'a format a command has not' ],
	[ [ 'report', '--top', '0' ], qr/invalid value "0" for option --top/, '--top 0' ],
	[ [ 'report', '--sort', 'name' ], qr/invalid value "name" for option --sort/, 'unknown sort key' ],
	[ [ 'report', '--top' ], qr/option --top requires an argument/, 'missing option value' ],
	[ [ 'report', 'extra' ], qr/too many arguments for report \(first extra is "extra"\)/, 'extra argument' ],
	[ [ 'baseline', 'save' ], qr/baseline save needs an argument: baseline save NAME/, 'missing argument' ],
	[ [ 'baseline', 'export' ], qr/baseline export needs either a NAME or --current/, 'export without a name' ],
	[ [ 'baseline', 'export', 'x', '--current' ], qr/baseline export needs either a NAME or --current/, 'export with both' ],
	[ [ 'check', '--baseline', 'a', '--baseline-file', 'b' ], qr/options --baseline and --baseline-file cannot be used together/, 'two baselines' ])
{
	my ($args, $re, $name) = @$case;
	($rc, $out, $err) = cli($args, conn => 0);
	is($rc, 2, "usage: $name: exit 2");
	like($err, qr/\Aperfguard: error: $re[^\n]*\n/, "usage: $name: message");
	like($err, $try_help, "usage: $name: hint to --help");
	is($out, '', "usage: $name: nothing on stdout");
}

#
# Connection
#
my $free_port = PostgreSQL::Test::Cluster::get_free_port();
cli_fails([ 'report', '-h', '127.0.0.1', '-p', $free_port ], 2,
	qr/^perfguard: error: connection to server at "127\.0\.0\.1", port $free_port failed/m,
	'a server that does not answer', conn => 0);
cli_fails([ 'report', '-d', 'nosuchdb', '-h', $node->host, '-p', $node->port ], 2,
	qr/database "nosuchdb" does not exist/, 'a database that does not exist', conn => 0);
cli_fails([ 'report', '-w', '-d', 'plain', '-h', $node->host, '-p', $node->port ], 2,
	qr/\Aperfguard: error: the perfguard extension is not installed in database "plain"\nperfguard: hint: Run CREATE EXTENSION perfguard; in that database/,
	'a database without the extension', conn => 0);
cli_fails([ 'report', '-d', 'old', '-h', $node->host, '-p', $node->port ], 2,
	qr/\Aperfguard: error: the perfguard extension in database "old" is version 0\.9, older than 1\.1, which this client needs\nperfguard: hint: Run ALTER EXTENSION perfguard UPDATE/,
	'an extension older than the client', conn => 0);

# the same database, reached in every way libpq knows
my ($host, $port) = ($node->host, $node->port);
foreach my $case (
	[ [ '-d', "host=$host port=$port dbname=postgres", 'report', '--top', '1' ], {},
		'a connection string in -d' ],
	[ [ '-d', "postgresql:///postgres?host=$host&port=$port", 'report', '--top', '1' ], {},
		'a URI in -d' ],
	[ [ '--host', $host, '--port', $port, '--dbname', 'postgres', 'report', '--top', '1' ], {},
		'long options' ],
	[ [ 'report', '--top', '1' ], { PGHOST => $host, PGPORT => $port, PGDATABASE => 'postgres' },
		'PGHOST, PGPORT, PGDATABASE' ],
	[ [ 'report', '--top', '1', '-d', 'postgres' ], { PGHOST => $host, PGPORT => $port },
		'-d after the command' ])
{
	my ($args, $env, $name) = @$case;
	($rc, $out, $err) = cli($args, conn => 0, env => $env);
	is($rc, 0, "connection by $name: exit 0");
	like($out, qr/statements in database "postgres"/, "connection by $name: database postgres");
}
# PGDATABASE names a database without the extension: the error names it
cli_fails([ 'report' ], 2, qr/not installed in database "plain"/, 'PGDATABASE is used',
	conn => 0, env => { PGHOST => $host, PGPORT => $port, PGDATABASE => 'plain' });

#
# A workload: 40 lookups through an index (20 rows each), a sequential scan
# of a 2000-row table, an N+1 loop of 12 lookups in a transaction.
#
sql(q{CREATE TABLE cli_items (id int PRIMARY KEY, grp int NOT NULL, note text);
	INSERT INTO cli_items SELECT g, g % 100, 'note ' || g FROM generate_series(1, 2000) g;
	CREATE INDEX cli_items_grp ON cli_items (grp);
	ANALYZE cli_items});

my $out_reset = cli_ok(['reset'], 'reset');
like($out_reset, qr/\AStatistics reset: [0-9]+ entries removed\.\n\z/, 'reset says how many entries it removed');
cli_ok([ 'reset', '--events' ], 'reset --events');

my $grp_query = 'SELECT * FROM cli_items WHERE grp = $1';
my $note_query = 'SELECT count(*) FROM cli_items WHERE note = $1';
my $nplus1_query = 'SELECT note FROM cli_items WHERE id = $1';
my $new_query = 'SELECT $1 AS brand_new';
sub grp_lookups { run_statements(map { "SELECT * FROM cli_items WHERE grp = $_" } 1 .. 40); }
sub note_scan { run_statements("SELECT count(*) FROM cli_items WHERE note = 'nothing'"); }
sub nplus1_loop
{
	run_statements('BEGIN', 'SELECT id FROM cli_items ORDER BY id LIMIT 12',
		(map { "SELECT note FROM cli_items WHERE id = $_" } 1 .. 12), 'COMMIT');
}
grp_lookups();
note_scan();
nplus1_loop();
my $grp_fp = sql("SELECT perfguard.fingerprint('$grp_query')");

#
# report
#
$out = cli_ok([ 'report', '--top', '50' ], 'report');
like($out, qr/\ATop [0-9]+ of [0-9]+ statements in database "postgres", by total time:\n\n/,
	'report: the heading');
like($out, qr/^fingerprint +calls +total +mean +p95 +p99 +rows\/call +blks\/call +flags +query\n-+ /m,
	'report: the column headings and a rule');
like($out, qr/^\Q$grp_fp\E +40 +$duration +$duration +$duration +$duration +20 +[0-9.]+ +\Q$grp_query\E$/m,
	'report: the lookups with 40 calls, four durations with units, 20 rows per call');
like($out, qr/ seqscan +\Q$note_query\E$/m,
	'report: the sequential scan is flagged');
like($out, qr/ N\+1 +\Q$nplus1_query\E$/m,
	'report: the N+1 lookup is flagged');
my @lines = grep { /\S/ } split /\n/, decode('UTF-8', $out);
my ($header) = grep { /^fingerprint/ } @lines;
my $qpos = index($header, 'query');
is(scalar(grep { length($_) >= $qpos && substr($_, $qpos - 2, 2) eq '  ' } @lines[ 2 .. $#lines ]),
	scalar(@lines) - 2, 'report: the query column is aligned on every row');

$out = cli_ok([ 'report', '--sort', 'calls', '--top', '1' ], 'report --sort calls --top 1');
like($out, qr/\ATop 1 of [0-9]+ statements in database "postgres", by calls:/, 'report --top 1: one statement');
like($out, qr/^\Q$grp_fp\E +40 /m, 'report --sort calls: the 40 lookups come first');

$out = cli_ok([ 'report', '--format', 'json', '--top', '50' ], 'report --format json');
my $doc = json_ok($out, 'report --format json');
my ($grp) = grep { $_->{fingerprint} eq $grp_fp } @{ $doc->{statements} };
ok($grp, 'report json: the lookups, fingerprint as a string');
is($grp->{calls}, 40, 'report json: calls');
is($grp->{rows_per_call}, 20, 'report json: rows_per_call');
is($grp->{query}, $grp_query, 'report json: query');
is($doc->{database}, 'postgres', 'report json: database');
is($doc->{sort}, 'total', 'report json: sort');
is(workload_statements(), scalar(@{ $doc->{statements} }),
	'report json: every statement of the workload (fewer than --top)');

$out = cli_ok([ 'report', '--format', 'markdown', '--top', '50' ], 'report --format markdown');
like($out, qr/\A\*\*perfguard report:\*\* top [0-9]+ of [0-9]+ statements in database `postgres`, by total time\n\n\| fingerprint \| calls \|/,
	'report markdown: summary line and table head');
like($out, qr/^\| \Q$grp_fp\E \| 40 \| .* \| `\Q$grp_query\E` \|$/m, 'report markdown: the lookups, query in code');

$out = cli_ok([ 'report', '--format', 'junit', '--top', '50' ], 'report --format junit');
my ($tests) = junit_ok($out, 'report junit');
is($tests, scalar(@{ $doc->{statements} }), 'report junit: one testcase per statement');

#
# baseline save, list, export, import, drop
#
$out = cli_ok([ 'baseline', 'save', 'ci' ], 'baseline save');
like($out, qr/\ABaseline "ci" saved: [0-9]+ statements\.\n\z/, 'baseline save: says how many statements');
cli_fails([ 'baseline', 'save', 'ci' ], 2,
	qr/\Aperfguard: error: .*already exists.*\n(?:perfguard: detail: .*\n)?perfguard: hint: Add --replace to replace it\.\n\z/,
	'baseline save of an existing name');
cli_ok([ 'baseline', 'save', 'ci', '--replace' ], 'baseline save --replace');

$out = cli_ok([ 'baseline', 'list' ], 'baseline list');
like($out, qr/^name +statements +captured +database +server +perfguard +imported\n/, 'baseline list: headings');
like($out, qr/^ci +[0-9]+ +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\S* +postgres +\d+ +1\.1\S* +-$/m, 'baseline list: ci, captured here');
$doc = json_ok(cli_ok([ 'baseline', 'list', '--format', 'json' ], 'baseline list --format json'), 'baseline list json');
is_deeply([ map { $_->{name} } @$doc ], ['ci'], 'baseline list json: ci');

my $file = "$tmp/perf-baseline.json";
$out = cli_ok([ 'baseline', 'export', 'ci', '-o', $file ], 'baseline export -o');
like($out, qr/\ABaseline "ci" exported to "\Q$file\E"\.\n\z/, 'baseline export -o: says where');
ok(-s $file > 1024, 'the exported file is larger than 1 kB (the limit of a test below)');
my $bdoc = json_ok(slurp_file($file), 'the exported file');
is($bdoc->{format}, 'perfguard-baseline', 'exported file: format');
my ($bgrp) = grep { $_->{fingerprint} eq $grp_fp } @{ $bdoc->{statements} };
ok($bgrp, 'exported file: the lookups, fingerprint as a string of digits');
$out = cli_ok([ 'baseline', 'export', 'ci' ], 'baseline export to stdout');
is_deeply(json_ok($out, 'export to stdout'), $bdoc, 'export to stdout: the same document');
$doc = json_ok(cli_ok([ 'baseline', 'export', '--current' ], 'baseline export --current'), 'export --current');
is($doc->{format}, 'perfguard-baseline', 'export --current: a baseline document');
is(sql('SELECT count(*) FROM perfguard.baselines'), '1', 'export --current stores nothing');

$out = cli_ok([ 'baseline', 'import', $file, '--name', 'copy' ], 'baseline import --name');
like($out, qr/\ABaseline "copy" imported: [0-9]+ statements\.\n\z/, 'baseline import: says the name and size');
$out = cli_ok([ 'baseline', 'import', '-', '--name', 'piped' ], 'baseline import from stdin',
	stdin => slurp_file($file));
like($out, qr/\ABaseline "piped" imported/, 'baseline import -: read from stdin');
$out = cli_ok([ 'baseline', 'list' ], 'baseline list of three');
like($out, qr/^copy +[0-9]+ .* \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\S*$/m, 'baseline list: copy, with its import time');
cli_fails([ 'baseline', 'import', $file, '--name', 'copy' ], 2,
	qr/already exists.*\n(?:perfguard: detail: .*\n)?perfguard: hint: Add --replace/s, 'baseline import over an existing name');

$out = cli_ok([ 'baseline', 'drop', 'copy' ], 'baseline drop');
is($out, "Baseline \"copy\" dropped.\n", 'baseline drop: says so');
cli_fails([ 'baseline', 'drop', 'copy' ], 2,
	qr/\Aperfguard: error: .*copy.*\n(?:perfguard: detail: .*\n)?perfguard: hint: perfguard baseline list shows the stored baselines\.\n\z/,
	'baseline drop of an unknown name');
$out = cli_ok([ 'baseline', 'drop', 'copy', '--if-exists' ], 'baseline drop --if-exists');
like($out, qr/does not exist, skipping/, 'baseline drop --if-exists: says so');
cli_ok([ 'baseline', 'drop', 'piped' ], 'baseline drop piped');

# unknown baselines and bad files
cli_fails([ 'check', '--baseline', 'nosuch' ], 2, qr/nosuch/, 'check against an unknown baseline');
cli_fails([ 'baseline', 'export', 'nosuch' ], 2, qr/nosuch/, 'export of an unknown baseline');
my $bad = "$tmp/bad.json";
open(my $fh, '>', $bad) or die;
print $fh "{\"format\": \"perfguard-baseline\", \"statements\": [\n";
close $fh;
cli_fails([ 'check', '--baseline-file', $bad ], 2,
	qr/\Aperfguard: error: invalid input syntax for type json\n.*perfguard: hint: The file is not JSON/s,
	'check against a truncated baseline file');
cli_fails([ 'baseline', 'import', $bad ], 2, qr/invalid input syntax for type json/, 'import of a truncated file');
my $foreign = "$tmp/foreign.json";
open($fh, '>', $foreign) or die;
print $fh qq({"format": "something-else", "version": 1, "statements": []}\n);
close $fh;
cli_fails([ 'check', '--baseline-file', $foreign ], 2, qr/perfguard: error: /, 'check against a foreign document');
cli_fails([ 'baseline', 'import', $foreign ], 2, qr/perfguard: error: /, 'import of a foreign document');
is(sql('SELECT count(*) FROM perfguard.baselines'), '1', 'the failed imports stored nothing');
cli_fails([ 'check', '--baseline-file', "$tmp/missing.json" ], 2,
	qr/\Aperfguard: error: could not open file "\Q$tmp\E\/missing\.json" for reading: /, 'a missing baseline file');

#
# check: clean
#
($rc, $out, $err) = cli(['check']);
is($rc, 0, 'check without budgets: exit 0');
like($out, qr/^Budget violations: none$/m, 'check text: no violations');
like($out, qr/\nOK: no budget violations \([0-9]+ statements checked\)\n\z/, 'check text: OK summary');

($rc, $out, $err) = cli([ 'check', '--format', 'json' ]);
is($rc, 0, 'check json clean: exit 0');
$doc = json_ok($out, 'check json clean');
is_deeply([ $doc->{violations}, $doc->{regressions}, $doc->{new_statements} ], [ [], [], [] ],
	'check json clean: empty lists');
ok($doc->{ok} && JSON::PP::is_bool($doc->{ok}), 'check json clean: "ok": true');

($rc, $out, $err) = cli([ 'check', '--format', 'junit' ]);
is($rc, 0, 'check junit clean: exit 0');
my ($t, $f) = junit_ok($out, 'check junit clean');
is($f, 0, 'check junit clean: no failures');
is($t, workload_statements(), 'check junit clean: one testcase per statement of the workload');
like($out, qr/<testcase classname="perfguard\.budgets" name="fingerprint \Q$grp_fp\E: \Q$grp_query\E" time="[0-9.]+"\/>/,
	'check junit clean: the lookups pass');

($rc, $out, $err) = cli([ 'check', '--format', 'markdown' ]);
is($rc, 0, 'check markdown clean: exit 0');
like($out, qr/\A### perfguard: :white_check_mark: no budget violations\n\n\*\*Passed:\*\* /,
	'check markdown clean: summary line');

#
# check: a broken budget (20 rows per call, 5 allowed)
#
sql("SELECT perfguard.set_budget('$grp_query', max_rows => 5)");
($rc, $out, $err) = cli(['check']);
is($rc, 1, 'check with a broken budget: exit 1');
is($err, '', 'check with a broken budget: nothing on stderr');
like($out, qr/^Budget violations: 1\n  fingerprint +limit +measured +allowed +calls +budget +query\n  -+/m,
	'check text: the violations table');
like($out, qr/^  \Q$grp_fp\E +max_rows +20 +5 +40 +statement +\Q$grp_query\E$/m,
	'check text: the lookups break max_rows: 20 measured, 5 allowed');
like($out, qr/\nFAILED: 1 budget violation \([0-9]+ statements checked\)\n\z/, 'check text: FAILED summary');

($rc, $out, $err) = cli([ 'check', '--verbose' ]);
like($out, qr/^Plan of \Q$grp_fp\E \(slow_plan event [0-9]+\):\n.*cli_items/m, 'check --verbose: the plan');

($rc, $out, $err) = cli([ 'check', '--format', 'json' ]);
is($rc, 1, 'check json with a broken budget: exit 1');
$doc = json_ok($out, 'check json with a broken budget');
is(scalar(@{ $doc->{violations} }), 1, 'check json: one violation');
my $v = $doc->{violations}[0];
is_deeply([ @$v{qw(fingerprint query limit_name limit_value measured calls budget)} ],
	[ $grp_fp, $grp_query, 'max_rows', 5, 20, 40, 'statement' ], 'check json: the violation');
like($v->{plan} // '', qr/cli_items/, 'check json: with its captured plan');
ok(!$doc->{ok} && JSON::PP::is_bool($doc->{ok}), 'check json: "ok": false');

($rc, $out, $err) = cli([ 'check', '--format', 'junit' ]);
is($rc, 1, 'check junit with a broken budget: exit 1');
($t, $f) = junit_ok($out, 'check junit with a broken budget');
is($f, 1, 'check junit: one failure');
is($t, workload_statements(), 'check junit: passing statements are testcases too');
like($out, qr/<testcase classname="perfguard\.budgets" name="fingerprint \Q$grp_fp\E: [^"]*" time="[0-9.]+">\n      <failure message="[^"]+" type="max_rows">\Q$grp_query\E\nfingerprint \Q$grp_fp\E\n/,
	'check junit: the failing testcase, its type and its text');
like($out, qr/<failure [^>]*>[^<]*plan \(slow_plan event [0-9]+\):\n[^<]*cli_items[^<]*<\/failure>/,
	'check junit: the failure carries the captured plan');

($rc, $out, $err) = cli([ 'check', '--format', 'markdown' ]);
is($rc, 1, 'check markdown with a broken budget: exit 1');
like($out, qr/\A### perfguard: :x: 1 budget violation\n\n\*\*Failed:\*\* /, 'check markdown: summary line');
like($out, qr/^\| \Q$grp_fp\E \| max\\_rows \| 20 \| 5 \| 40 \| statement \| `\Q$grp_query\E` \|$/m,
	'check markdown: the violation row');
like($out, qr/<details><summary>Plan of \Q$grp_fp\E \(slow_plan event [0-9]+\)<\/summary>\n\n```+\n/,
	'check markdown: the plan, folded');
sql("SELECT perfguard.drop_budget('$grp_query')");
($rc, $out, $err) = cli(['check']);
is($rc, 0, 'check after drop_budget: exit 0');

#
# check against a baseline: the index is gone, the lookups read the table
#
my $before = "$tmp/before.json";
cli_ok([ 'baseline', 'export', '--current', '-o', $before ], 'export the statistics with the index');
cli_ok([ 'baseline', 'import', $before, '--name', 'before' ], 'import them as "before"');
sql('DROP INDEX cli_items_grp');
cli_ok(['reset'], 'reset before the run without the index');
grp_lookups();
run_statements("SELECT 'cli new statement' AS brand_new");
my $new_fp = sql(q{SELECT perfguard.fingerprint('SELECT ''x'' AS brand_new')});

foreach my $against ([ '--baseline-file', $before ], [ '--baseline', 'before' ])
{
	my $what = $against->[0] eq '--baseline' ? 'baseline "before"' : 'baseline file';
	($rc, $out, $err) = cli([ 'check', @$against ]);
	is($rc, 1, "check against the $what: exit 1");
	is($err, '', "check against the $what: nothing on stderr");
	like($out, qr/^Regressions against baseline (?:file )?"[^"]*": [1-9][0-9]*\n  fingerprint +kind +baseline +current +change +calls +query\n/m,
		"check text against the $what: the regressions table");
	like($out, qr/^  \Q$grp_fp\E +\w+ .* 40 \/ 40 +\Q$grp_query\E$/m,
		"check text against the $what: the lookups regressed");
	like($out, qr/^New statements, not in the baseline: [1-9][0-9]*\n(?:.*\n)*  \Q$new_fp\E +1 +$duration +\Q$new_query\E$/m,
		"check text against the $what: the new statement");
	like($out, qr/\nFAILED: no budget violations, [1-9][0-9]* regressions? against baseline (?:file )?"[^"]*" \([0-9]+ statements checked, [0-9]+ compared, [1-9][0-9]* new\)\n\z/,
		"check text against the $what: summary");

	($rc, $out, $err) = cli([ 'check', @$against, '--format', 'json' ]);
	is($rc, 1, "check json against the $what: exit 1");
	$doc = json_ok($out, "check json against the $what");
	my @kinds = map { $_->{kind} } grep { $_->{fingerprint} eq $grp_fp } @{ $doc->{regressions} };
	ok(scalar(@kinds), "check json against the $what: the lookups regressed (" . join(', ', @kinds) . ')');
	ok((grep { $_ eq 'seq_scan' || $_ eq 'plan_shape' } @kinds),
		"check json against the $what: by their plan or a sequential scan");
	ok((grep { $_->{fingerprint} eq $new_fp } @{ $doc->{new_statements} }),
		"check json against the $what: the new statement is listed");
	ok(!$doc->{ok}, "check json against the $what: not ok");

	($rc, $out, $err) = cli([ 'check', @$against, '--format', 'junit' ]);
	is($rc, 1, "check junit against the $what: exit 1");
	($t, $f) = junit_ok($out, "check junit against the $what");
	my $nregr = () = $out =~ /<testcase classname="perfguard\.regressions"/g;
	ok($nregr >= 1, "check junit against the $what: regression testcases ($nregr)");
	like($out, qr/<testcase classname="perfguard\.regressions" name="fingerprint \Q$grp_fp\E: [^"]*" time="[0-9.]+">\n      <failure message="[^"]+" type="[\w,]+">/,
		"check junit against the $what: the lookups fail");
	my %regressed = map { $_->{fingerprint} => 1 } @{ $doc->{regressions} };
	is($f, scalar(keys %regressed),
		"check junit against the $what: one failure per regressed fingerprint");

	($rc, $out, $err) = cli([ 'check', @$against, '--format', 'markdown' ]);
	is($rc, 1, "check markdown against the $what: exit 1");
	like($out, qr/\A### perfguard: :x: [1-9][0-9]* regressions?\n/, "check markdown against the $what: summary line");
	like($out, qr/^\| \Q$grp_fp\E \| /m, "check markdown against the $what: the lookups");
	like($out, qr/<details><summary>New statements, not in the baseline \([1-9][0-9]*\)<\/summary>/,
		"check markdown against the $what: new statements folded");
}

#
# check --baseline-file sends the document once: with log_statement = all
# for the client's session, the server logs every statement it runs with
# its parameters, and the document's name is in no other text
#
my $marked = "$tmp/marked.json";
my $mdoc = JSON::PP->new->utf8->decode(slurp_file($before));
$mdoc->{name} = 'cli-document-sent-once';
open($fh, '>', $marked) or die;
print $fh JSON::PP->new->utf8->canonical->pretty->encode($mdoc);
close $fh;
my $log_offset = -s $node->logfile;
($rc, $out, $err) = cli([ 'check', '--baseline-file', $marked, '--format', 'json' ],
	env => { PGOPTIONS => '-c log_statement=all' });
is($rc, 1, 'check --baseline-file with log_statement = all: exit 1 (the regressions)');
json_ok($out, 'check --baseline-file with log_statement = all');
my $sent = () = slurp_file($node->logfile, $log_offset) =~ /cli-document-sent-once/g;
is($sent, 1, 'check --baseline-file: the document is sent to the server once');

#
# Standard output that cannot be written (a full disk): exit 2 with the
# error, and nothing else on stderr, whatever the command, the format and
# the check's verdict (the checks against $before find regressions: 1)
#
my $enospc = "perfguard: error: could not write to standard output: No space left on device\n";
foreach my $case (
	[ ['--help'], 0 ],
	[ ['--version'], 0 ],
	(map { [ [ 'check', '--format', $_ ], 1 ] } qw(text json junit markdown)),
	(map { [ [ 'check', '--baseline-file', $before, '--verbose', '--format', $_ ], 1 ] }
	  qw(text json junit markdown)),
	(map { [ [ 'report', '--format', $_ ], 1 ] } qw(text json junit markdown)),
	(map { [ [ 'events', '--format', $_ ], 1 ] } qw(text json markdown)),
	(map { [ [ 'baseline', 'list', '--format', $_ ], 1 ] } qw(text json markdown)),
	[ [ 'baseline', 'export', 'ci' ], 1 ],
	[ [ 'baseline', 'export', '--current', '-o', '-' ], 1 ],
	[ [ 'baseline', 'export', 'ci', '-o', "$tmp/written.json" ], 1 ])
{
	my ($args, $conn) = @$case;
	my $name = join(' ', @$args) . ' > /dev/full';
	($rc, $out, $err) = cli($args, conn => $conn, stdout => '/dev/full');
	is($rc, 2, "$name: exit 2");
	is($err, $enospc, "$name: the error, and nothing else");
}

#
# -o FILE: written whole or not at all
#
cli_fails([ 'baseline', 'export', 'ci', '-o', '/dev/full' ], 2,
	qr/\Aperfguard: error: could not write file "\/dev\/full": No space left on device\n\z/,
	'baseline export -o /dev/full');
ok(-c '/dev/full', 'baseline export -o /dev/full: /dev/full is still there');

# a file size limit of 1 kB or less (ulimit -f: blocks of 512 or 1024
# bytes), SIGXFSZ ignored: writes past it fail with EFBIG
my @fsize_limit = ('sh', '-c', 'ulimit -f 1 && trap "" XFSZ && exec "$@"', 'sh');
my $kept = "$tmp/kept.json";
open($fh, '>', $kept) or die;
print $fh "the previous baseline\n";
close $fh;
($rc, $out, $err) = cli([ 'baseline', 'export', 'ci', '-o', $kept ], wrap => \@fsize_limit);
is($rc, 2, 'baseline export -o FILE past the file size limit: exit 2');
like($err, qr/\Aperfguard: error: could not write file "\Q$kept\E": File too large\n\z/,
	'baseline export -o FILE past the file size limit: message');
is(-e $kept ? slurp_file($kept) : undef, "the previous baseline\n",
	'baseline export -o FILE that failed: FILE is as it was');
is_deeply([ glob("$tmp/kept.json?*") ], [], 'baseline export -o FILE that failed: no temporary file left');
($rc, $out, $err) = cli([ 'baseline', 'export', 'ci', '-o', "$tmp/new.json" ], wrap => \@fsize_limit);
is($rc, 2, 'baseline export -o NEWFILE past the file size limit: exit 2');
ok(!-e "$tmp/new.json", 'baseline export -o NEWFILE that failed: no file');
is_deeply([ glob("$tmp/new.json*") ], [], 'baseline export -o NEWFILE that failed: no temporary file left');

# a file that may not be written is not replaced (though its directory
# may be written; root may write any file)
SKIP:
{
	skip 'root may write any file', 3 if $> == 0;
	my $readonly = "$tmp/readonly.json";
	open($fh, '>', $readonly) or die;
	print $fh "read-only\n";
	close $fh;
	chmod(0444, $readonly) or die;
	cli_fails([ 'baseline', 'export', 'ci', '-o', $readonly ], 2,
		qr/\Aperfguard: error: could not open file "\Q$readonly\E" for writing: Permission denied\n\z/,
		'baseline export -o READONLY');
	is(slurp_file($readonly), "read-only\n", 'baseline export -o READONLY: the file is as it was');
}

# a file that is replaced keeps its mode, and a symbolic link stays one
open($fh, '>>', $kept) or die;
close $fh;
chmod(0640, $kept) or die;
symlink($kept, "$tmp/link.json") or die;
cli_ok([ 'baseline', 'export', 'ci', '-o', "$tmp/link.json" ], 'baseline export -o LINK');
ok(-l "$tmp/link.json", 'baseline export -o LINK: the link is still a link');
is_deeply(json_ok(slurp_file($kept), 'the file LINK points to'), $bdoc,
	'baseline export -o LINK: the file it points to has the document');
is((stat($kept))[2] & 07777, 0640, 'baseline export -o FILE: FILE keeps its mode');
is_deeply([ glob("$tmp/kept.json?*") ], [], 'baseline export -o FILE: no temporary file left');

#
# Messages of any length are printed whole
#
my $long_name = 'n' x 9000;
cli_fails([ 'check', '--baseline', $long_name ], 2,
	qr/\Aperfguard: error: perfguard baseline "\Q$long_name\E" does not exist\nperfguard: hint: /,
	'a server message longer than 8 kB');
my $long_value = 'v' x 2000;
($rc, $out, $err) = cli([ 'report', '--sort', $long_value ], conn => 0);
like($err, qr/\Aperfguard: error: invalid value "\Q$long_value\E" for option --sort: total, mean, p95 or calls\n/,
	'a usage error longer than 1 kB');

#
# -W: a password of 2000 characters, typed on the terminal (a pty, which
# becomes the client's controlling terminal) once the prompt is there
#
my $password = join('', map { chr(ord('a') + $_ % 26) } 1 .. 2000);
sql("CREATE ROLE cli_pw LOGIN PASSWORD '$password'");
{
	my ($in, $tty, $perr) = ('', '', '');
	my @cmd = ($cli, '-h', $host, '-p', $port, '-d', 'postgres', '-U', 'cli_pw', '-W',
		'report', '--top', '1');
	print('# Running: ' . join(' ', @cmd) . " (with a pty)\n");
	my $h = IPC::Run::start(\@cmd, '<pty<', \$in, '>pty>', \$tty, '2>', \$perr,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	$h->pump while $tty !~ /Password: / && $h->pumpable;
	$in .= "$password\n";
	$h->finish;
	is($h->result(0), 0, '-W with a password of 2000 characters: exit 0');
	is($perr, '', '-W with a password of 2000 characters: nothing on stderr');
	like($tty, qr/\APassword: .*statements in database "postgres"/s,
		'-W: the prompt, then the report');
	unlike($tty, qr/\Q@{[ substr($password, 0, 26) ]}\E/, '-W: the password is not echoed');
}

#
# events
#
# a statement whose plan has several lines, to be the latest slow_plan
run_statements('SELECT count(*) FROM cli_items WHERE grp = 3');
$out = cli_ok([ 'events', '--kind', 'seq_scan' ], 'events --kind seq_scan');
my @heads = $out =~ /^(event [0-9]+ .*)$/mg;
ok(scalar(@heads) >= 40, 'events --kind seq_scan: the sequential scans of the lookups (' . scalar(@heads) . ')');
is(scalar(grep { !/  seq_scan  database postgres  user \S+  $duration$/ } @heads), 0,
	'events --kind seq_scan: only seq_scan events, with database, user and duration');
like($out, qr/relation=public\.cli_items/, 'events: the detail as key=value');

$out = cli_ok([ 'events', '--kind', 'slow_plan', '--limit', '1' ], 'events --kind slow_plan --limit 1');
is(scalar(() = $out =~ /^event /mg), 1, 'events --limit 1: one event');
like($out, qr/^  plan: \S.*\(\d+ more lines?; --verbose shows them\)$/m, 'events: the first line of the plan');
$out = cli_ok([ 'events', '--kind', 'slow_plan', '--limit', '1', '--verbose' ], 'events --verbose');
like($out, qr/^  plan \(text\):\n(?:    .*\n){2,}/m, 'events --verbose: the whole plan');

$out = cli_ok([ 'events', '--since', '1 hour', '--kind', 'n_plus_one' ], 'events --since "1 hour"');
like($out, qr/^event [0-9]+ .* n_plus_one /m, 'events --since "1 hour": the N+1 event');
$out = cli_ok([ 'events', '--since', 'tomorrow' ], 'events --since tomorrow');
is($out, "No events.\n", 'events --since tomorrow: none');
cli_fails([ 'events', '--since', 'not a time' ], 2,
	qr/invalid value "not a time" for option --since/, 'events --since with a bad value');

$doc = json_ok(cli_ok([ 'events', '--format', 'json', '--kind', 'seq_scan', '--limit', '3' ], 'events json'),
	'events json');
is(scalar(@$doc), 3, 'events json: --limit 3');
ok($doc->[0]{event_id} < $doc->[2]{event_id}, 'events json: oldest first');
is($doc->[0]{detail}{relation}, 'public.cli_items', 'events json: detail is an object');

#
# reset, and a user who may not
#
$out = cli_ok([ 'reset', '--events' ], 'reset --events');
like($out, qr/\AStatistics reset: [1-9][0-9]* entries removed\.\nEvents reset: [1-9][0-9]* events removed\.\n\z/,
	'reset --events: both counts');
sql('CREATE ROLE cli_user LOGIN');
cli_fails([ '-U', 'cli_user', 'reset' ], 2, qr/\Aperfguard: error: permission denied for function reset\n/,
	'reset by a user who may not');
cli_ok([ '-U', 'cli_user', 'report' ], 'report by an ordinary user');

#
# privileges through the client: a user with no privileges, a CI user with
# only EXECUTE grants (the recipe of docs/functions.md, Privileges)
#
run_statements(q{SELECT count(*) FROM cli_items WHERE grp = 3});
$out = cli_ok([ '-U', 'cli_user', 'report', '--top', '50' ], 'report: an ordinary user');
like($out, qr/<insufficient privilege>/, 'report: other users\' texts hidden');
unlike($out, qr/cli_items/, 'report: no text of another user\'s statement shows');
$out = cli_ok([ '-U', 'cli_user', 'events', '--verbose' ], 'events: an ordinary user');
my @others = grep { !/  user cli_user  / } split /^(?=event [0-9]+ )/m, $out;
ok(scalar(@others) > 0, 'events: an ordinary user sees other users\' events (' . scalar(@others) . ')');
my @shown = grep { /relation=|filter=|^  plan|cli_items/m } @others;
is(scalar(@shown), 0, 'events: no text, relation, filter or plan of another user\'s statement')
  or diag(join('', @shown));
cli_fails([ '-U', 'cli_user', 'baseline', 'save', 'by-user' ], 2,
	qr/permission denied for function baseline_capture/, 'baseline save by a user who may not');
($rc) = cli([ '-U', 'cli_user', 'check' ]);
ok($rc == 0 || $rc == 1, "check by an ordinary user runs (exit $rc)");
sql(q{CREATE ROLE cli_ci LOGIN;
GRANT EXECUTE ON FUNCTION perfguard.baseline_capture(text, boolean),
    perfguard.baseline_import(jsonb, text, boolean), perfguard.baseline_drop(text, boolean),
    perfguard.reset(bigint), perfguard.reset_events(text) TO cli_ci});
cli_ok([ '-U', 'cli_ci', 'baseline', 'save', 'by-ci' ], 'baseline save by a CI user with EXECUTE grants');
is(sql(q{SELECT count(*) FROM perfguard.baselines WHERE name = 'by-ci'}), '1', 'baseline save by the CI user: stored');
cli_ok([ '-U', 'cli_ci', 'baseline', 'drop', 'by-ci' ], 'baseline drop by the CI user');
is(sql(q{SELECT has_table_privilege('cli_ci', 'perfguard.baselines', 'INSERT')}), 'f',
	'the CI user has no table privilege');
cli_ok([ '-U', 'cli_ci', 'reset', '--events' ], 'reset by the CI user');

$node->stop;
done_testing();
