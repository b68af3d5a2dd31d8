# perfguard: what it reads back without having written it in this run
# (issue 12, items 9, 11a and 6a).
#
#  1. The SQL functions check the row type they are declared with against
#     what the C code builds: a function declared with fewer or more
#     columns, or a column of another type, gets a clean ERROR naming the
#     function and both column counts (or the column and both types).
#  2. perfguard.events allocates only the part of the event store in use.
#  3. Texts not valid in the reading database's encoding (a statement run
#     in a SQL_ASCII database with bytes that are not UTF-8, read from a
#     UTF-8 database; a UTF-8 character that LATIN1 lacks, read from a
#     LATIN1 database) are shown escaped (\xNN), in perfguard.stats,
#     perfguard.statements, perfguard.events, baselines and their export;
#     no read fails.
#  4. Dump files with a valid checksum whose contents could break the
#     views later are refused at start: a text not valid in its encoding,
#     an event detail that is not JSON as perfguard writes it (invalid,
#     \u0000, nested too deeply), a time out of range, ids out of order.
#  5. A dump file larger than the settings of the server can use (4 GB,
#     sparse) is refused before it is read: the server starts, logs why,
#     and the postmaster never grew by the file's size; just at the limit
#     the file is read; within the margin, a file from a larger table is
#     loaded in part.
#  6. No temporary file is left when the rename of a dump file fails, and
#     one left by a write that did not finish is removed at start.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use PerfguardDump;

my $node = PostgreSQL::Test::Cluster->new('hardening');
$node->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'perfguard'
perfguard.track = all
perfguard.track_utility = off
perfguard.capture_min_duration = -1
perfguard.capture_interval = 0
perfguard.events_memory = 262144
max_parallel_workers_per_gather = 0
jit = off
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION perfguard');

my $statfile = $node->data_dir . '/pg_stat/perfguard.stat';
my $evfile   = $node->data_dir . '/pg_stat/perfguard_events.stat';
my $stat_warning =
  qr/WARNING:  perfguard ignored its statistics file "pg_stat\/perfguard\.stat"/;
my $ev_warning =
  qr/WARNING:  perfguard ignored its events file "pg_stat\/perfguard_events\.stat"/;
my $hint = qr/HINT:  Run ALTER EXTENSION perfguard UPDATE/;

# Run sql in dbname with a client encoding; return (exit code, stdout,
# stderr).
sub run_sql
{
	my ($dbname, $sql, $client_encoding) = @_;
	local $ENV{PGCLIENTENCODING} = $client_encoding // 'UTF8';
	my ($ret, $out, $err) = $node->psql($dbname, $sql);
	return ($ret, $out, $err);
}

# The output of sql in dbname, with a client encoding; a query that fails
# is a failed test (and gives '').
sub query
{
	my ($dbname, $sql, $client_encoding) = @_;
	my ($ret, $out, $err) = run_sql($dbname, $sql, $client_encoding);
	return $out if $ret == 0;
	fail("query in $dbname: $sql");
	diag($err);
	return '';
}

###########################################################################
# 1. Row types of the SQL functions.
###########################################################################
$node->safe_psql(
	'postgres', q{
CREATE SCHEMA s;
SELECT 1;
SET perfguard.capture_min_duration = 0;
SELECT 2;
});

# A function declared with another row type, pointing at a C function of
# perfguard, must fail cleanly.
sub bad_definition
{
	my ($name, $create, $call, $error_re) = @_;
	$node->safe_psql('postgres', $create);
	my ($ret, $out, $err) = run_sql('postgres', $call);
	isnt($ret, 0, "row type, $name: the call fails");
	like($err, $error_re, "row type, $name: the ERROR names the function and the columns");
	like($err, $hint, "row type, $name: the HINT says to update the extension");
	return;
}

my $stats_cols = q{userid oid, dbid oid, toplevel boolean, queryid bigint,
  fingerprint bigint, query text, calls bigint, total_exec_time float8,
  min_exec_time float8, max_exec_time float8, mean_exec_time float8,
  stddev_exec_time float8, p50_exec_time float8, p95_exec_time float8,
  p99_exec_time float8, rows bigint, shared_blks_hit bigint,
  shared_blks_read bigint, shared_blks_dirtied bigint,
  shared_blks_written bigint, local_blks_hit bigint, local_blks_read bigint,
  local_blks_dirtied bigint, local_blks_written bigint,
  temp_blks_read bigint, temp_blks_written bigint, slow_calls bigint,
  plans_captured bigint, seq_scans bigint, n_plus_one bigint,
  row_by_row_dml bigint, max_rows bigint, max_blocks bigint, xacts bigint,
  max_calls_per_xact bigint, plan_shape bigint, first_exec_at timestamptz,
  last_exec_at timestamptz};
(my $stats_wrong_type = $stats_cols) =~ s/query text/query bigint/;

bad_definition(
	'stats, fewer columns',
	q{CREATE FUNCTION s.stats_fewer(boolean)
	    RETURNS TABLE(userid oid, dbid oid)
	    AS '$libdir/perfguard', 'perfguard_stats' LANGUAGE C STRICT},
	'SELECT * FROM s.stats_fewer(true)',
	qr/ERROR:  function s\.stats_fewer\(boolean\) is declared with 2 result columns, but the perfguard library returns 38/
);
bad_definition(
	'stats, one column more',
	qq{CREATE FUNCTION s.stats_more(boolean)
	    RETURNS TABLE($stats_cols, extra bigint)
	    AS '\$libdir/perfguard', 'perfguard_stats' LANGUAGE C STRICT},
	'SELECT * FROM s.stats_more(true)',
	qr/ERROR:  function s\.stats_more\(boolean\) is declared with 39 result columns, but the perfguard library returns 38/
);
bad_definition(
	'stats, a column of another type',
	qq{CREATE FUNCTION s.stats_type(boolean)
	    RETURNS TABLE($stats_wrong_type)
	    AS '\$libdir/perfguard', 'perfguard_stats' LANGUAGE C STRICT},
	'SELECT * FROM s.stats_type(true)',
	qr/ERROR:  column 6 of function s\.stats_type\(boolean\) is declared as type bigint, but the perfguard library returns type text/
);
bad_definition(
	'stats, a column definition list',
	q{CREATE FUNCTION s.stats_record(boolean) RETURNS SETOF record
	    AS '$libdir/perfguard', 'perfguard_stats' LANGUAGE C STRICT},
	'SELECT * FROM s.stats_record(true) AS t(userid oid)',
	qr/ERROR:  function s\.stats_record\(boolean\) is declared with 1 result columns, but the perfguard library returns 38/
);
bad_definition(
	'statements, fewer columns',
	q{CREATE FUNCTION s.statements_fewer(boolean)
	    RETURNS TABLE(fingerprint bigint, query text, calls bigint)
	    AS '$libdir/perfguard', 'perfguard_statements' LANGUAGE C STRICT},
	'SELECT * FROM s.statements_fewer(true)',
	qr/ERROR:  function s\.statements_fewer\(boolean\) is declared with 3 result columns, but the perfguard library returns 27/
);
bad_definition(
	'events, fewer columns',
	q{CREATE FUNCTION s.events_fewer()
	    RETURNS TABLE(event_id bigint, event_time timestamptz)
	    AS '$libdir/perfguard', 'perfguard_events' LANGUAGE C STRICT},
	'SELECT * FROM s.events_fewer()',
	qr/ERROR:  function s\.events_fewer\(\) is declared with 2 result columns, but the perfguard library returns 13/
);
bad_definition(
	'info, fewer columns',
	q{CREATE FUNCTION s.info_fewer(OUT version text, OUT max_queries integer)
	    RETURNS record
	    AS '$libdir/perfguard', 'perfguard_info' LANGUAGE C STRICT},
	'SELECT * FROM s.info_fewer()',
	qr/ERROR:  function s\.info_fewer\(\) is declared with 2 result columns, but the perfguard library returns 9/
);
bad_definition(
	'info, a column of another type',
	q{CREATE FUNCTION s.info_type(OUT version text, OUT max_queries bigint,
	    OUT statements bigint, OUT evictions bigint, OUT stats_reset timestamptz,
	    OUT query_text_length integer, OUT events bigint,
	    OUT events_dropped bigint, OUT events_memory bigint)
	    RETURNS record
	    AS '$libdir/perfguard', 'perfguard_info' LANGUAGE C STRICT},
	'SELECT * FROM s.info_type()',
	qr/ERROR:  column 2 of function s\.info_type\(\) is declared as type bigint, but the perfguard library returns type integer/
);

# The extension's own definitions pass the check.
is( $node->safe_psql(
		'postgres', q{
SELECT (SELECT count(*) > 0 FROM perfguard.stats)
    || '|' || (SELECT count(*) > 0 FROM perfguard.statements)
    || '|' || (SELECT count(*) > 0 FROM perfguard.events)
    || '|' || (SELECT version FROM perfguard.info())
    || '|' || (perfguard.info()).max_queries}),
	'true|true|true|1.1.0|5000',
	'row type: the extension\'s own functions work');

###########################################################################
# 2. perfguard.events allocates only what is in use.
###########################################################################
SKIP:
{
	skip 'no /proc/self/status here', 2 unless -r '/proc/self/status';

	# A 256 MB store holds a few events.  In one session: the peak of the
	# backend's address space before and after reading the view.
	my $peak = q{substring(pg_read_file('/proc/self/status') from 'VmPeak:\s+(\d+)')::bigint};
	my ($grown, $count) = split /\|/, $node->safe_psql(
		'postgres', qq{
SELECT $peak AS before \\gset
SELECT count(*) AS n FROM perfguard.events \\gset
SELECT ($peak - :before) || '|' || :n;
});
	cmp_ok($count, '>', 0, 'events memory: the store holds events');
	cmp_ok($grown, '<', 64 * 1024,
		'events memory: reading perfguard.events does not allocate the whole 256 MB store (growth in kB)'
	);
}

###########################################################################
# 3. Texts not valid in the reading database's encoding.
###########################################################################
$node->safe_psql(
	'postgres', q{
CREATE DATABASE sqlascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
CREATE DATABASE latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
});

# In the SQL_ASCII database, with bytes that are not UTF-8: a statement,
# and a table whose sequential scan gives a slow_plan and a seq_scan event
# (its name in the text, the plan and the detail; a constant in the
# filter, in the private detail).
query(
	'sqlascii', qq{
CREATE EXTENSION perfguard;
CREATE TABLE "t\xff" (id int, b int, s text);
INSERT INTO "t\xff" SELECT g, g % 100, 'x' || g FROM generate_series(1, 20000) g;
ANALYZE "t\xff";
SELECT 1 AS "\xff\xfe", 2, 3;
SET perfguard.capture_min_duration = 0;
SELECT count(*) FROM "t\xff" WHERE b = 7 AND s <> 'caf\xe9';
}, 'SQL_ASCII');

# In the UTF-8 database: a character LATIN1 has (e acute) and one it lacks
# (the euro sign).  (Each statement has a shape of its own: aliases are
# not part of a statement's identity.)
query(
	'postgres', qq{
SELECT 1 AS "caf\xc3\xa9", 2, 3, 4;
SELECT 1 AS "\xe2\x82\xacuro", 2, 3, 4, 5;
});

my $ascii_oid = query('postgres',
	q{SELECT oid FROM pg_database WHERE datname = 'sqlascii'});

# Read from the UTF-8 database.
my ($ret, $out, $err) = run_sql('postgres',
	"SELECT query FROM perfguard.stats WHERE dbid = $ascii_oid AND query LIKE 'SELECT \$1 AS %'"
);
is($ret, 0, 'encodings, from UTF8: perfguard.stats can be read');
is($out, 'SELECT $1 AS "\\xff\\xfe", $2, $3',
	'encodings, from UTF8: the bytes that are not UTF-8 are shown escaped');
($ret, $out, $err) = run_sql('postgres', 'SELECT * FROM perfguard.stats');
is($ret, 0, 'encodings, from UTF8: every row of perfguard.stats can be read');
($ret, $out, $err) = run_sql('postgres', 'SELECT * FROM perfguard.events');
is($ret, 0, 'encodings, from UTF8: every row of perfguard.events can be read');
is( query(
		'postgres', qq{
SELECT kind || '|' || (strpos(query, 't\\xff') > 0)
       || '|' || coalesce((strpos(plan, 't\\xff') > 0)::text, '-')
       || '|' || coalesce(detail ->> 'relation', '-')
       || '|' || coalesce((strpos(detail ->> 'filter', 'caf\\xe9') > 0)::text, '-')
  FROM perfguard.events WHERE dbid = $ascii_oid ORDER BY event_id}),
	qq{seq_scan|true|-|public."t\\xff"|true\nslow_plan|true|true|-|-},
	'encodings, from UTF8: the query, plan and details of the events are shown escaped');

# Read from the LATIN1 database.
query('latin1', 'CREATE EXTENSION perfguard');
($ret, $out, $err) = run_sql('latin1',
	q{SELECT query FROM perfguard.stats WHERE query LIKE 'SELECT $1 AS %' ORDER BY query});
is($ret, 0, 'encodings, from LATIN1: perfguard.stats can be read');
is( $out,
	join("\n",
		'SELECT $1 AS "\\xe2\\x82\\xacuro", $2, $3, $4, $5',
		"SELECT \$1 AS \"caf\xc3\xa9\", \$2, \$3, \$4",
		"SELECT \$1 AS \"\xc3\xbf\xc3\xbe\", \$2, \$3"),
	'encodings, from LATIN1: a character LATIN1 lacks is escaped, the others are converted'
);
($ret, $out, $err) = run_sql('latin1', 'SELECT * FROM perfguard.events');
is($ret, 0, 'encodings, from LATIN1: perfguard.events can be read');

# Read in the SQL_ASCII database itself: shown as they are.
is( query(
		'sqlascii',
		q{SELECT query FROM perfguard.stats WHERE query LIKE 'SELECT $1 AS %' ORDER BY query},
		'SQL_ASCII'),
	join("\n",
		'SELECT $1 AS "' . "caf\xc3\xa9" . '", $2, $3, $4',
		'SELECT $1 AS "' . "\xe2\x82\xac" . 'uro", $2, $3, $4, $5',
		'SELECT $1 AS "' . "\xff\xfe" . '", $2, $3'),
	'encodings, in SQL_ASCII: perfguard.stats shows every text as it is');
is( query(
		'sqlascii',
		q{SELECT query FROM perfguard.statements WHERE query LIKE 'SELECT $1 AS %'},
		'SQL_ASCII'),
	'SELECT $1 AS "' . "\xff\xfe" . '", $2, $3',
	'encodings, in SQL_ASCII: perfguard.statements shows the text as it is');
is( query(
		'sqlascii', q{
SELECT perfguard.baseline_capture('b1') > 0;
SELECT jsonb_typeof(perfguard.baseline_export('b1'));}, 'SQL_ASCII'),
	"t\nobject",
	'encodings, in SQL_ASCII: a baseline is captured and exported');

# A text kept as SQL_ASCII in a UTF-8 database, with bytes that are not
# UTF-8: what a statistics file can legitimately hold (it is valid in its
# encoding).  perfguard.statements and baselines of that database read it.
$node->safe_psql('postgres', 'SELECT 1 AS "xzzy", 2, 3, 4, 5, 6, 7');
$node->stop;
{
	my $data = read_binary($statfile);
	my @entries = stats_entries($data);
	my @mine = grep { $_->{text} =~ /"xzzy"/ } @entries;
	is(scalar @mine, 1, 'encodings: the statement is in the statistics file');
	$mine[0]{text} =~ s/"xzzy"/"x\xff\xfez"/;
	$mine[0]{encoding} = 0;    # SQL_ASCII
	write_binary($statfile, stats_build($data, @entries));
}
$node->start;
($ret, $out, $err) = run_sql('postgres',
	q{SELECT query FROM perfguard.statements WHERE query LIKE 'SELECT $1 AS "x%'});
is($ret, 0, 'encodings, a SQL_ASCII text in UTF8: perfguard.statements can be read');
is($out, 'SELECT $1 AS "x\\xff\\xfez", $2, $3, $4, $5, $6, $7',
	'encodings, a SQL_ASCII text in UTF8: perfguard.statements shows it escaped');
is( query(
		'postgres', q{
SELECT perfguard.baseline_capture('b2') > 0;
SELECT strpos(perfguard.baseline_export('b2')::text, 'x\\\\xff\\\\xfez') > 0;
SELECT count(*) FROM perfguard.regressions('b2');}),
	"t\nt\n0",
	'encodings, a SQL_ASCII text in UTF8: a baseline is captured, exported and compared'
);
$node->stop;

###########################################################################
# 4. Dump files whose contents could break the views.
###########################################################################

# Start on a file (statistics or events): WARNING with a DETAIL matching
# detail_re, the file removed, the views readable, nothing loaded.
sub start_on_bad_file
{
	my ($which, $name, $data, $detail_re) = @_;
	my ($path, $warning, $view) =
	  $which eq 'stats'
	  ? ($statfile, $stat_warning, 'perfguard.stats')
	  : ($evfile, $ev_warning, 'perfguard.events');
	write_binary($path, $data);
	my $offset = -s $node->logfile;
	$node->start;
	my $log = slurp_file($node->logfile, $offset);
	like($log, $warning,   "$name: WARNING at start");
	like($log, $detail_re, "$name: the DETAIL says why");
	ok(!-e $path, "$name: the file is removed");
	my ($ret, $out, $err) = run_sql('postgres',
		"SELECT count(*) FROM (SELECT * FROM $view) v WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'postgres') AND query LIKE '%xzzy%'"
	);
	is($ret, 0, "$name: $view can be read");
	is($out, '0', "$name: nothing of the file was loaded");
	$node->stop;
	return;
}

# Fresh dumps of both files, with one statement and its events; and the
# statement's first execution time, in microseconds since 2000-01-01, as
# the file keeps it.
sub fresh_dumps
{
	$node->start;
	$node->safe_psql(
		'postgres', q{
CREATE TABLE IF NOT EXISTS big (id int, b int, s text);
TRUNCATE big;
INSERT INTO big SELECT g, g % 100, 'x' || g FROM generate_series(1, 20000) g;
ANALYZE big;
SET perfguard.capture_min_duration = 0;
SELECT count(*) AS "xzzy" FROM big WHERE b = 7 AND s <> 'y';
});
	my $first = query(
		'postgres', q{
SELECT (extract(epoch FROM first_exec_at) * 1000000)::bigint - 946684800000000
  FROM perfguard.stats WHERE query LIKE '%"xzzy"%'});
	$node->stop;
	return (read_binary($statfile), read_binary($evfile), $first);
}

my ($stats, $events, $first) = fresh_dumps();
my @entries = stats_entries($stats);
my ($xzzy)  = grep { $_->{text} =~ /"xzzy"/ } @entries;
ok($xzzy, 'files: the statement is in the statistics file');
my @recs = events_records($events);
my ($seq) = grep { $_->{kind} == 2 && $_->{query} =~ /"xzzy"/ } @recs;
my ($slow) = grep { $_->{kind} == 1 && $_->{query} =~ /"xzzy"/ } @recs;
ok($seq && $slow, 'files: its seq_scan and slow_plan events are in the events file');
like($seq->{detail}, qr/"table_rows": /,
	'files: the detail is where this test reads it');
like($seq->{private}, qr/"relation": "public\.big"/,
	'files: the private detail is where this test reads it');
like($seq->{constants}, qr/"filter": /,
	'files: the constants detail is where this test reads it');

# The files, rebuilt as they are, are loaded (this test's reading of them
# is right).
write_binary($statfile, stats_build($stats, @entries));
write_binary($evfile, events_build($events, @recs));
{
	my $offset = -s $node->logfile;
	$node->start;
	my $log = slurp_file($node->logfile, $offset);
	unlike($log, qr/perfguard ignored/, 'files: rebuilt as they were, both are loaded');
	is( query(
			'postgres', q{
SELECT (SELECT count(*) FROM perfguard.stats WHERE query LIKE '%xzzy%')
    || '|' || (SELECT count(*) FROM perfguard.events WHERE query LIKE '%xzzy%')}),
		'1|2',
		'files: the statement and its two events are back');
	$node->stop;
}

# Statistics.
my $ENC_UTF8   = 6;
my $ENC_LATIN1 = 8;
sub with_entry
{
	my ($change) = @_;
	my @copy = map { {%$_} } @entries;
	my ($e) = grep { $_->{text} =~ /"xzzy"/ } @copy;
	$change->($e);
	return stats_build($stats, @copy);
}
start_on_bad_file('stats', 'a text not valid UTF-8',
	with_entry(sub { $_[0]{text} =~ s/"xzzy"/"x\xff\xfez"/ }),
	qr/DETAIL:  The text of saved statement \d+ is not valid in encoding UTF8\./);
start_on_bad_file('stats', 'a text with a NUL',
	with_entry(sub { $_[0]{text} =~ s/"xzzy"/"x\0zy"/ }),
	qr/DETAIL:  The text of saved statement \d+ is not valid in encoding UTF8\./);
start_on_bad_file('stats', 'a text cut inside a character',
	with_entry(sub { $_[0]{text} .= "\xc3" }),
	qr/DETAIL:  The text of saved statement \d+ is not valid in encoding UTF8\./);
start_on_bad_file(
	'stats',
	'a client-only encoding (SJIS)',
	with_entry(sub { $_[0]{encoding} = 35 }),
	qr/DETAIL:  The file's entries do not match its header\./);
{
	# The first-execution time: found by its value.
	my ($e) = grep { $_->{text} =~ /"xzzy"/ } @entries;
	my $at = index($e->{fixed}, pack('q<', $first));
	cmp_ok($at, '>', 0, 'stats file: the first execution time is found');
	start_on_bad_file(
		'stats',
		'a time out of range',
		with_entry(sub { substr($_[0]{fixed}, $at, 8) = pack('q<', 9223372036854775000) }),
		qr/DETAIL:  Saved statement \d+ has a time out of range\./);
	my $bad_reset = $stats;
	substr($bad_reset, 40, 8) = pack('q<', -9223372036854775000);
	start_on_bad_file('stats', 'a reset time out of range', resign($bad_reset),
		qr/DETAIL:  The file's reset time is out of range\./);
}
{
	# A bool that is not one: toplevel = 7
	my $data = with_entry(sub { substr($_[0]{fixed}, 16, 1) = chr(7) });
	start_on_bad_file('stats', 'a bool of 7', $data,
		qr/DETAIL:  The file's entries do not match its header\./);
}

# A text valid in its own encoding (LATIN1) is loaded, and shown converted.
write_binary(
	$statfile,
	with_entry(
		sub { $_[0]{text} =~ s/"xzzy"/"xzzy caf\xe9"/; $_[0]{encoding} = $ENC_LATIN1 }));
$node->start;
is(query('postgres', q{SELECT query FROM perfguard.stats WHERE query LIKE '%xzzy%'}),
	qq{SELECT count(*) AS "xzzy caf\xc3\xa9" FROM big WHERE b = \$1 AND s <> \$2},
	'stats file: a text valid in its own encoding is loaded and converted');
$node->stop;

# Events.
sub with_record
{
	my ($which, $change) = @_;
	my @copy = map { {%$_} } @recs;
	my ($r) = grep { $_->{id} == $which->{id} } @copy;
	$change->($r);
	return events_build($events, @copy);
}
@recs = events_records($events);
($seq)  = grep { $_->{kind} == 2 && $_->{query} =~ /"xzzy"/ } @recs;
($slow) = grep { $_->{kind} == 1 && $_->{query} =~ /"xzzy"/ } @recs;

start_on_bad_file('events', 'a query not valid UTF-8',
	with_record($seq, sub { $_[0]{query} =~ s/"xzzy"/"x\xffzy"/ }),
	qr/DETAIL:  The text of saved event \d+ is not valid in encoding UTF8\./);
start_on_bad_file('events', 'a plan not valid UTF-8',
	with_record($slow, sub { $_[0]{plan} .= "\xfe" }),
	qr/DETAIL:  The plan of saved event \d+ is not valid in encoding UTF8\./);
start_on_bad_file('events', 'a detail not valid UTF-8',
	with_record($seq, sub { $_[0]{private} =~ s/public\.big/public.b\xffg/ }),
	qr/DETAIL:  The private detail of saved event \d+ is not valid in encoding UTF8\./);
start_on_bad_file('events', 'a detail that is not JSON',
	with_record($seq, sub { $_[0]{detail} =~ s/"table_rows": /"table_rows" / }),
	qr/DETAIL:  The detail of saved event \d+ is not what perfguard writes: it is not valid JSON\./);
start_on_bad_file('events', 'a private detail that is not JSON',
	with_record($seq, sub { $_[0]{private} .= ', "x"' }),
	qr/DETAIL:  The private detail of saved event \d+ is not what perfguard writes: it is not valid JSON\./);
start_on_bad_file('events', 'a constants detail that is not JSON',
	with_record($seq, sub { $_[0]{constants} .= ', "x"' }),
	qr/DETAIL:  The constants detail of saved event \d+ is not what perfguard writes: it is not valid JSON\./);
start_on_bad_file('events', 'a detail with \u0000',
	with_record($seq, sub { $_[0]{private} =~ s/public\.big/public\\u0000big/ }),
	qr/DETAIL:  The private detail of saved event \d+ is not what perfguard writes: it has a \\u escape of a character that is NUL or not ASCII\./);
start_on_bad_file('events', 'a detail with \u20ac',
	with_record($seq, sub { $_[0]{private} =~ s/public\.big/public\\u20acbig/ }),
	qr/DETAIL:  The private detail of saved event \d+ is not what perfguard writes: it has a \\u escape/);
start_on_bad_file('events', 'a detail nested 100000 deep',
	with_record($seq, sub { $_[0]{detail} .= ', "deep": ' . ('[' x 100000) . (']' x 100000) }),
	qr/DETAIL:  The detail of saved event \d+ is not what perfguard writes: it is nested too deeply\./);
start_on_bad_file('events', 'an event time out of range',
	with_record($seq, sub { $_[0]{time} = 9223372036854775000 }),
	qr/DETAIL:  Saved event \d+ has a time out of range\./);
start_on_bad_file('events', 'ids out of order',
	with_record($seq, sub { $_[0]{id} = $slow->{id} }),
	qr/DETAIL:  The file's event ids are not in order\./);

# What perfguard writes, and a little nesting, loads.
write_binary(
	$evfile,
	with_record(
		$seq,
		sub {
			$_[0]{detail} .= ', "tab": "a\\tb\\u001fc\\"d\\\\", "deep": [[{"x": [1, 2.5e3, null, true]}]]';
		}));
$node->start;
is( query(
		'postgres',
		q{SELECT detail ->> 'tab' = E'a\tb\x1fc"d\\\\' AND detail -> 'deep' = '[[{"x": [1, 2.5e3, null, true]}]]' FROM perfguard.events WHERE kind = 'seq_scan' AND query LIKE '%xzzy%'}
	),
	't',
	'events file: escapes perfguard writes and a little nesting are loaded');
$node->stop;

###########################################################################
# 5. Files larger than the server's settings can use.
###########################################################################

# The postmaster's peak address space, in kB (Linux), or undef.
sub postmaster_peak_kb
{
	my $pidfile = $node->data_dir . '/postmaster.pid';
	open(my $fh, '<', $pidfile) or return undef;
	my $pid = <$fh>;
	close $fh;
	chomp $pid;
	open(my $st, '<', "/proc/$pid/status") or return undef;
	my ($kb) = map { /^VmPeak:\s+(\d+)/ ? $1 : () } <$st>;
	close $st;
	return $kb;
}

sub sparse_file
{
	my ($path, $size) = @_;
	open(my $fh, '>', $path) or die "could not create $path: $!";
	truncate($fh, $size) or die "could not truncate $path: $!";
	close $fh;
	return;
}

my %limit;
for my $case (
	[ 'stats',  $statfile, $stat_warning, 'statistics' ],
	[ 'events', $evfile,   $ev_warning,   'events' ])
{
	my ($which, $path, $warning, $what) = @$case;
	sparse_file($path, 4 * 1024 * 1024 * 1024);
	my $offset = -s $node->logfile;
	$node->start;
	my $log = slurp_file($node->logfile, $offset);
	like($log, $warning, "4 GB $what file: WARNING at start");
	like(
		$log,
		qr/DETAIL:  The file has 4294967296 bytes, more than the (\d+) bytes that perfguard reads as its $what file with this server's perfguard\./,
		"4 GB $what file: the DETAIL says it is too large");
	($limit{$which}) = $log =~ /more than the (\d+) bytes/;
	ok(!-e $path, "4 GB $what file: the file is removed");
	is($node->safe_psql('postgres', 'SELECT 1 FROM perfguard.info()'),
		'1', "4 GB $what file: the server is up");
  SKIP:
	{
		my $peak = postmaster_peak_kb();
		skip 'no /proc/<pid>/status here', 1 unless defined $peak;
		cmp_ok($peak, '<', 2 * 1024 * 1024,
			"4 GB $what file: the postmaster never allocated it (peak in kB)");
	}
	$node->stop;
}

# The limits are twice what a full table (store) writes, at least 64 MB.
my $fixed = stats_header($stats)->{fixed};
my $full_stats = 48 + 4 + 5000 * ($fixed + 1024);
my $full_events = 88 + 4 + 262144 * 1024;
my $MIN = 64 * 1024 * 1024;
is($limit{stats}, $full_stats * 2 > $MIN ? $full_stats * 2 : $MIN,
	'limits: the statistics file may be twice what a full table writes, at least 64 MB');
is($limit{events}, $full_events * 2,
	'limits: the events file may be twice what a full store writes');

# One byte over the limit: refused unread; at the limit: read (and found
# not to be a perfguard file).
sparse_file($statfile, $limit{stats} + 1);
{
	my $offset = -s $node->logfile;
	$node->start;
	like(slurp_file($node->logfile, $offset),
		qr/DETAIL:  The file has \d+ bytes, more than/,
		'limits: a file one byte over the limit is refused unread');
	$node->stop;
}
sparse_file($statfile, $limit{stats});
{
	my $offset = -s $node->logfile;
	$node->start;
	like(slurp_file($node->logfile, $offset),
		qr/DETAIL:  The file is not a perfguard statistics file\./,
		'limits: a file at the limit is read');
	$node->stop;
}

# Within the margin: a file from a table of 150 entries, loaded by a
# server with perfguard.max_queries = 100, loads 100 of them.
{
	($stats, $events) = fresh_dumps();
	@entries = stats_entries($stats);
	my @many;
	for my $i (1 .. 150)
	{
		my %e = %{ $entries[ $i % scalar @entries ] };
		$e{queryid} = 1000000 + $i;
		push @many, \%e;
	}
	write_binary($statfile, stats_build($stats, @many));
	$node->append_conf('postgresql.conf', "perfguard.max_queries = 100\n");
	my $offset = -s $node->logfile;
	$node->start;
	my $log = slurp_file($node->logfile, $offset);
	unlike($log, $stat_warning, 'margin: a file from a larger table is not refused');
	like($log, qr/LOG:  perfguard loaded 100 of 150 saved statements/,
		'margin: as many of its statements as fit are loaded');
	is(query('postgres', 'SELECT count(*) FROM perfguard.stats WHERE queryid > 1000000 AND queryid <= 1000150'),
		'100', 'margin: they are in perfguard.stats');
	$node->stop;
	$node->append_conf('postgresql.conf', "perfguard.max_queries = 5000\n");
}

###########################################################################
# 6. Temporary files.
###########################################################################

# The rename fails: a directory stands where the files go.
$node->start;
$node->safe_psql('postgres', 'SELECT 1 AS "tmpcheck", 2, 3, 4, 5, 6, 7, 8');
mkdir $statfile or die "could not create $statfile: $!";
mkdir $evfile   or die "could not create $evfile: $!";
{
	my $offset = -s $node->logfile;
	$node->stop;
	my $log = slurp_file($node->logfile, $offset);
	like($log, qr/LOG:  could not (rename|open) file ".*perfguard\.stat(\.tmp)?"/,
		'tmp: the failed rename of the statistics file is logged');
	like($log, qr/LOG:  could not (rename|open) file ".*perfguard_events\.stat(\.tmp)?"/,
		'tmp: the failed rename of the events file is logged');
	ok(!-e "$statfile.tmp", 'tmp: no temporary statistics file is left');
	ok(!-e "$evfile.tmp",   'tmp: no temporary events file is left');
}
{
	# ... and at start, the directories are no dump files.
	my $offset = -s $node->logfile;
	$node->start;
	my $log = slurp_file($node->logfile, $offset);
	like($log, qr/DETAIL:  The file is not a regular file\./,
		'tmp: a directory in place of a dump file is reported');
	is($node->safe_psql('postgres', 'SELECT 1 FROM perfguard.info()'),
		'1', 'tmp: the server is up');
	$node->stop;
	rmdir $statfile or die "could not remove $statfile: $!";
	rmdir $evfile   or die "could not remove $evfile: $!";
}

# A temporary file left by a write that did not finish is removed at
# start; the real files are loaded.
$node->start;
$node->safe_psql('postgres', 'SELECT 1 AS "tmpcheck", 2, 3, 4, 5, 6, 7, 8');
$node->stop;
write_binary("$statfile.tmp", 'half a file');
write_binary("$evfile.tmp",   'half a file');
{
	my $offset = -s $node->logfile;
	$node->start;
	my $log = slurp_file($node->logfile, $offset);
	ok(!-e "$statfile.tmp", 'tmp: a stale temporary statistics file is removed at start');
	ok(!-e "$evfile.tmp",   'tmp: a stale temporary events file is removed at start');
	like($log, qr/LOG:  perfguard removed ".*perfguard\.stat\.tmp", left by a write that did not finish/,
		'tmp: the removal is logged');
	unlike($log, qr/perfguard ignored/, 'tmp: the dump files themselves are loaded');
	is(query('postgres', q{SELECT count(*) FROM perfguard.stats WHERE query LIKE '%"tmpcheck"%'}),
		'1', 'tmp: the statistics are back');
}

$node->stop;
done_testing();
