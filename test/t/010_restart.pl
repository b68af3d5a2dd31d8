# perfguard: statistics across restarts, and what happens to a statistics
# file that cannot be used.
#
#  - a clean restart brings every counter, text, fingerprint, percentile and
#    timestamp back, and perfguard.info() with them;
#  - a dump written with one perfguard.query_text_length loads with another;
#  - perfguard.save = off: nothing is written, and a file found is dropped;
#  - a damaged, truncated, empty, foreign or other-version file is reported
#    with a WARNING, removed, and the server starts with empty statistics;
#  - after an immediate stop or a crash, nothing comes back.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use PerfguardDump;

my $node = PostgreSQL::Test::Cluster->new('restart');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'perfguard'
perfguard.track = all
perfguard.track_utility = off
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION perfguard');

my $dumpfile = $node->data_dir . '/pg_stat/perfguard.stat';
my $warning_re =
  qr/WARNING:  perfguard ignored its statistics file "pg_stat\/perfguard\.stat"/;

# Every column that must survive a restart, for the statements of the
# workload (the queries that read perfguard itself change as they run, so
# they are left out).
my $snapshot_sql = q{
SELECT userid, dbid, toplevel, queryid, fingerprint, query, calls, rows,
       total_exec_time, min_exec_time, max_exec_time, mean_exec_time,
       stddev_exec_time, p50_exec_time, p95_exec_time, p99_exec_time,
       shared_blks_hit, shared_blks_read, shared_blks_dirtied,
       shared_blks_written, local_blks_hit, local_blks_read,
       temp_blks_read, temp_blks_written, first_exec_at, last_exec_at,
       failed_calls, failed_exec_time, failed_by_sqlstate
  FROM perfguard.stats
 WHERE query NOT LIKE '%perfguard.%'
 ORDER BY queryid, toplevel, userid, dbid};

my $info_sql =
  'SELECT statements, evictions, stats_reset, max_queries FROM perfguard.info()';

# calls|rows|p95|fingerprint|query of the one workload statement whose text
# matches a LIKE pattern
sub stat_of
{
	my ($pattern) = @_;
	return $node->safe_psql(
		'postgres', qq{
SELECT calls || '|' || rows || '|' || p95_exec_time || '|' || fingerprint || '|' || query
  FROM perfguard.stats
 WHERE query LIKE '$pattern' AND query NOT LIKE '%perfguard.%'});
}

sub workload_count
{
	return $node->safe_psql('postgres',
		q{SELECT count(*) FROM perfguard.stats WHERE query NOT LIKE '%perfguard.%'}
	);
}

# The dump file's layout (see src/stats.c): a 48-byte header (magic, format,
# pg_major, entry_fixed_size, hist_buckets, padding: uint32 each; nentries,
# evictions, stats_reset: int64 each), then each entry's fixed part (ending
# with int32 text_len and int32 encoding) and text, then a CRC-32C of all
# that precedes it.  Little-endian on the machines this runs on.
my $HDR = 48;

sub header
{
	my ($data) = @_;
	my %h;
	@h{qw(magic format pg_major fixed hist_buckets padding)} =
	  unpack('V6', substr($data, 0, 24));
	@h{qw(nentries evictions)} = unpack('q<2', substr($data, 24, 16));
	return \%h;
}

# The offset of the first entry's text_len field.
sub first_text_len_offset
{
	my ($data) = @_;
	return $HDR + header($data)->{fixed} - 8;
}

#
# 1. A clean restart keeps everything.
#
$node->safe_psql(
	'postgres', q{
CREATE TABLE items (id int PRIMARY KEY, name text, qty int);
INSERT INTO items SELECT g, 'item ' || g, g % 7 FROM generate_series(1, 500) g;
SELECT name FROM items WHERE id = 1;
SELECT name FROM items WHERE id = 2;
SELECT name FROM items WHERE id = 3;
SELECT count(*) FROM items WHERE qty > 3;
UPDATE items SET qty = qty + 1 WHERE id < 10;
CREATE FUNCTION item_qty(k int) RETURNS int LANGUAGE plpgsql
  AS $$BEGIN RETURN (SELECT qty FROM items WHERE id = k); END$$;
SELECT item_qty(3);
SELECT item_qty(4);
SELECT pg_sleep(0.02);
SELECT pg_sleep(0.02);
SELECT pg_sleep(0.02);
SELECT id, name, qty, id + qty AS total_one, id * qty AS total_two, id - qty AS total_three, upper(name) AS big_name, lower(name) AS small_name, length(name) AS name_length FROM items WHERE id BETWEEN 5 AND 8 ORDER BY id;
});

# a statement that fails, in a session that ends right after it: the
# failure is accounted when the session exits
$node->psql('postgres', 'SELECT 1 / (qty - qty) FROM items WHERE id = 1');
is( $node->safe_psql(
		'postgres',
		q{SELECT calls || '|' || failed_calls || '|' || (failed_by_sqlstate->>'other') FROM perfguard.stats WHERE query LIKE 'SELECT $1 / (qty - qty)%'}
	),
	'0|1|1',
	'a failure is accounted when its session ends right after it');

my $select_before = stat_of('SELECT name FROM items WHERE id = %');
my $sleep_before = stat_of('SELECT pg_sleep(%');
like($select_before, qr/^3\|3\|/,
	'the select by key was counted 3 times, 3 rows');
my (undef, undef, $sleep_p95) = split /\|/, $sleep_before;
cmp_ok($sleep_p95, '>=', 19,
	'p95 of pg_sleep(0.02) is at least the time slept');
like(stat_of('(SELECT qty FROM items WHERE id = k)'),
	qr/^2\|2\|/, 'the nested query of item_qty() was counted');
cmp_ok(workload_count(), '>=', 8, 'the workload is tracked');

# Last, so that no new statement appears between these and the stop.
my $before = $node->safe_psql('postgres', $snapshot_sql);
$node->safe_psql('postgres', $info_sql);
my $info_before = $node->safe_psql('postgres', $info_sql);
my ($n_before) = split /\|/, $info_before;

$node->restart;

ok(!-e $dumpfile, 'the statistics file is removed once loaded');
is($node->safe_psql('postgres', $info_sql),
	$info_before, 'perfguard.info() is the same after a clean restart');
is($node->safe_psql('postgres', $snapshot_sql),
	$before, 'every statistic is the same after a clean restart');
is(stat_of('SELECT name FROM items WHERE id = %'),
	$select_before, 'calls, rows, p95, fingerprint and text of a select are back');
is(stat_of('SELECT pg_sleep(%'),
	$sleep_before, 'calls, rows, p95, fingerprint and text of pg_sleep are back');
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM perfguard.stats
		   WHERE fingerprint = perfguard.fingerprint('SELECT name FROM items WHERE id = 42')}
	),
	'1',
	'the restored fingerprint is the one perfguard.fingerprint() computes');

# Counting goes on from the restored values.
$node->safe_psql('postgres', 'SELECT name FROM items WHERE id = 77');
like(stat_of('SELECT name FROM items WHERE id = %'),
	qr/^4\|4\|/, 'a restored statement keeps counting');

#
# 2. A dump written with a longer perfguard.query_text_length loads with a
# shorter one: the texts are cut, nothing else changes.
#
my $long_pattern = 'SELECT id, name, qty, id + qty AS total_one%';
my (undef, undef, undef, $long_fp, $long_text) = split /\|/,
  stat_of($long_pattern);
cmp_ok(length($long_text), '>', 150, 'the long statement text is kept whole');
$node->stop;
ok(-e $dumpfile, 'a clean stop writes the statistics file');
$node->append_conf('postgresql.conf', 'perfguard.query_text_length = 64');
$node->start;
my ($short_text, $short_fp) = split /\|/,
  $node->safe_psql('postgres',
	"SELECT query || '|' || fingerprint FROM perfguard.stats WHERE query LIKE 'SELECT id, name, qty,%'"
  );
cmp_ok(length($short_text), '<', 64,
	'loaded with a shorter query_text_length, the text is cut');
is($short_text, substr($long_text, 0, length($short_text)),
	'the cut text is the beginning of the saved one');
is($short_fp, $long_fp, 'the fingerprint is unchanged');
my ($n_short) = split /\|/, $node->safe_psql('postgres', $info_sql);
cmp_ok($n_short, '>=', $n_before, 'no statement was lost');
$node->append_conf('postgresql.conf', 'perfguard.query_text_length = 1024');

#
# 3. perfguard.save = off.
#
$node->append_conf('postgresql.conf', 'perfguard.save = off');
$node->reload;
$node->poll_query_until('postgres', 'SHOW perfguard.save', 'off')
  or die 'perfguard.save = off did not take effect';
$node->stop;
ok(!-e $dumpfile, 'perfguard.save = off: no statistics file is written');
$node->start;
is(workload_count(), '0', 'perfguard.save = off: a restart starts empty');

# A file left from a run with save = on is dropped, not loaded.
$node->append_conf('postgresql.conf', 'perfguard.save = on');
$node->reload;
$node->poll_query_until('postgres', 'SHOW perfguard.save', 'on')
  or die 'perfguard.save = on did not take effect';
$node->safe_psql('postgres', 'SELECT name FROM items WHERE id = 5');
$node->stop;
ok(-e $dumpfile, 'perfguard.save = on: a clean stop writes the file');
$node->append_conf('postgresql.conf', 'perfguard.save = off');
$node->start;
is(workload_count(), '0',
	'perfguard.save = off: a file found at start is not loaded');
ok(!-e $dumpfile, 'perfguard.save = off: a file found at start is removed');
$node->append_conf('postgresql.conf', 'perfguard.save = on');
$node->restart;

#
# 4. Statistics files that cannot be used.
#

# Track a few statements, stop cleanly and return the file written.
sub fresh_dump
{
	$node->safe_psql(
		'postgres', q{
SELECT name FROM items WHERE id = 11;
SELECT count(*) FROM items WHERE qty > 2;
SELECT item_qty(6);
});
	$node->stop;
	die "no statistics file after a clean stop" unless -e $dumpfile;
	return read_binary($dumpfile);
}

# Start on a statistics file $data: the server must start, log the WARNING
# with a DETAIL matching $detail_re, remove the file, start empty and track
# new statements.
sub start_on_bad_file
{
	my ($name, $data, $detail_re) = @_;
	write_binary($dumpfile, $data);
	my $offset = -s $node->logfile;
	$node->start;
	my $log = slurp_file($node->logfile, $offset);
	ok(!-e $dumpfile, "$name: the file is removed");
	like($log, $warning_re, "$name: the server starts with a WARNING");
	like($log, $detail_re, "$name: the DETAIL says why");
	is(workload_count(), '0', "$name: statistics are empty");
	$node->safe_psql('postgres', 'SELECT name FROM items WHERE id = 12');
	like(stat_of('SELECT name FROM items WHERE id = %'),
		qr/^1\|1\|/, "$name: perfguard tracks new statements");
	return;
}

# First, check this test's reading of the format on an intact file, and
# that such a file, written back as it was, is loaded.
my $good = fresh_dump();
my $h = header($good);
is($h->{magic}, 0x50464731, 'the file starts with the perfguard magic');
cmp_ok($h->{nentries}, '>=', 3, 'the file holds the tracked statements');
is(unpack('V', substr($good, -4)),
	crc32c(substr($good, 0, length($good) - 4)),
	'the file ends with a CRC-32C of its contents');
{
	my $pos = $HDR;
	for (1 .. $h->{nentries})
	{
		$pos += $h->{fixed} +
		  unpack('l<', substr($good, $pos + $h->{fixed} - 8, 4));
	}
	is($pos, length($good) - 4, 'the entries fill the file up to the CRC');
}
write_binary($dumpfile, resign($good));
{
	my $offset = -s $node->logfile;
	$node->start;
	unlike(slurp_file($node->logfile, $offset),
		$warning_re, 'an intact file is loaded without a WARNING');
	like(stat_of('SELECT item_qty(%'),
		qr/^\d+\|/, 'an intact file is loaded');
	$node->safe_psql('postgres', 'SELECT perfguard.reset()');
	$node->stop;
}

my $mid = int(length($good) / 2);
my $flipped = $good;
substr($flipped, $mid, 1) = chr(ord(substr($flipped, $mid, 1)) ^ 0xFF);
start_on_bad_file('a byte flipped', $flipped,
	qr/DETAIL:  The file's checksum does not match its contents/);

$good = fresh_dump();
start_on_bad_file(
	'truncated to half',
	substr($good, 0, int(length($good) / 2)),
	qr/DETAIL:  The file's checksum does not match its contents/);

$good = fresh_dump();
start_on_bad_file('truncated inside the header', substr($good, 0, 20),
	qr/DETAIL:  The file is too short/);

fresh_dump();
start_on_bad_file('an empty file', '', qr/DETAIL:  The file is too short/);

fresh_dump();
srand(20240101);
my $random = join('', map { chr(int(rand(256))) } 1 .. 8192);
substr($random, 0, 4) = 'RND!';    # whatever rand() gives, not the magic
start_on_bad_file('random bytes', $random,
	qr/DETAIL:  The file is not a perfguard statistics file/);

fresh_dump();
start_on_bad_file(
	'a text file',
	"# this is not a statistics file\n" x 40,
	qr/DETAIL:  The file is not a perfguard statistics file/);

$good = fresh_dump();
my $other = $good;
substr($other, 4, 4) = pack('V', header($good)->{format} + 1);
start_on_bad_file(
	'another format version',
	resign($other),
	qr/DETAIL:  The file was written by another version of perfguard or of PostgreSQL/
);

$good = fresh_dump();
$other = $good;
substr($other, 8, 4) = pack('V', 14);
start_on_bad_file(
	'another PostgreSQL major version',
	resign($other),
	qr/DETAIL:  The file was written by another version of perfguard or of PostgreSQL/
);

# Well-signed files whose contents do not add up.
$good = fresh_dump();
$other = $good;
substr($other, 24, 8) = pack('q<', header($good)->{nentries} + 1);
start_on_bad_file(
	'one entry more in the header than in the file',
	resign($other),
	qr/DETAIL:  The file's entries do not match its header/);

$good = fresh_dump();
$other = $good;
substr($other, 24, 8) = pack('q<', header($good)->{nentries} - 1);
start_on_bad_file('one entry less in the header than in the file',
	resign($other), qr/DETAIL:  The file's entries do not match its header/);

$good = fresh_dump();
$other = $good;
substr($other, first_text_len_offset($good), 4) = pack('l<', 0x7fffffff);
start_on_bad_file('a text length past the end of the file',
	resign($other), qr/DETAIL:  The file's entries do not match its header/);

$good = fresh_dump();
$other = $good;
substr($other, first_text_len_offset($good), 4) = pack('l<', -5);
start_on_bad_file('a negative text length',
	resign($other), qr/DETAIL:  The file's entries do not match its header/);

$good = fresh_dump();
$other = $good;
substr($other, first_text_len_offset($good) + 4, 4) = pack('l<', 4242);
start_on_bad_file('an invalid encoding',
	resign($other), qr/DETAIL:  The file's entries do not match its header/);

#
# 5. After an immediate stop or a crash, no statistics come back: the file
# of the last clean shutdown was removed when it was loaded, and nothing is
# saved from shared memory that a crash may have left half-updated.
#
$node->safe_psql('postgres', 'SELECT name FROM items WHERE id = 13');
$node->restart;
ok(!-e $dumpfile, 'the file of the last clean stop is removed once loaded');
cmp_ok(workload_count(), '>', 0, 'a clean restart restored statistics');
$node->safe_psql('postgres',
	'SELECT count(*) FROM items WHERE name LIKE $$item 1%$$');

$node->stop('immediate');
my $written_at_immediate = -e $dumpfile;
$node->start;
# (queries that name perfguard are not counted by workload_count())
is($node->safe_psql('postgres', 'SELECT 1 FROM perfguard.info()'),
	'1', 'the server starts after an immediate stop');
ok(!$written_at_immediate, 'an immediate stop writes no statistics file');
is(workload_count(), '0', 'after an immediate stop, statistics are empty');
ok(!-e $dumpfile, 'no statistics file is left after the start');

# A crash of a server process: the postmaster reinitializes shared memory.
$node->safe_psql('postgres', 'SELECT name FROM items WHERE id = 14');
cmp_ok(workload_count(), '>', 0, 'statements tracked before the crash');
my $walwriter = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'});
like($walwriter, qr/^\d+$/, 'found the walwriter');
my $offset = -s $node->logfile;
kill 'KILL', $walwriter;
$node->wait_for_log(
	qr/all server processes terminated; reinitializing(.|\n)*database system is ready to accept connections/,
	$offset);
$node->poll_query_until('postgres', 'SELECT 1 FROM perfguard.info()', '1')
  or die 'the server did not come back after the crash';
is(workload_count(), '0', 'after a crash, statistics are empty');
unlike(slurp_file($node->logfile, $offset),
	$warning_re, 'no statistics file was found after the crash');
$node->safe_psql('postgres', 'SELECT name FROM items WHERE id = 15');
like(stat_of('SELECT name FROM items WHERE id = %'),
	qr/^1\|1\|/, 'perfguard tracks statements after the crash');

# ... and the next clean restart brings those back.
$node->restart;
like(stat_of('SELECT name FROM items WHERE id = %'),
	qr/^1\|1\|/, 'a clean restart after the crash keeps statistics');

$node->stop;
done_testing();
