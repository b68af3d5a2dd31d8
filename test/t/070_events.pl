# perfguard: the event store.
#
#  - persistence: a clean restart brings every event back unchanged (ids,
#    times, texts, plans, details), numbering goes on after the old ids,
#    info() keeps its counts; events removed with reset_events(kind) stay
#    removed; an immediate stop or a crash keeps nothing; perfguard.save =
#    off writes no file and drops a file found at start;
#  - overflow of a 64 kB store: the oldest events are dropped and counted,
#    the store keeps the newest ones, intact, and never holds more than its
#    size; a plan longer than a quarter of the store is truncated (on a
#    character boundary) and the event says so; a smaller store loads the
#    newest events of a dump;
#  - an events file that cannot be used: a WARNING, an empty store, the
#    file removed, the server up;
#  - perfguard.log_events and perfguard.log_events_level;
#  - statements sent with the extended protocol and as prepared statements
#    (pgbench -M extended / -M prepared), in capture_mode adaptive and
#    always;
#  - a cursor fetched in pieces: one event for the cursor's query, with the
#    rows of all its FETCHes.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use PerfguardDump;

#
# Helpers
#

# The events file's layout (src/events.c): an 88-byte header (magic, format,
# pg_major, rec_fixed: uint32 each; count, next_id, dropped: int64 each;
# dropped per kind: 6 int64),
# then each record (a fixed part of rec_fixed bytes: uint32 size, int16
# kind, int16 plan_format, int64 id, ..., int32 encoding at 56, ..., int32
# query_len, plan_len, detail_len, private_len, constants_len at 64..83;
# then its five NUL-terminated strings, the whole MAXALIGNed), then a CRC-32C of all that
# precedes it.  Little-endian on the machines this runs on.
my $EHDR = 88;

sub eheader
{
	my ($data) = @_;
	my %h;
	@h{qw(magic format pg_major rec_fixed)} = unpack('V4', substr($data, 0, 16));
	@h{qw(count next_id dropped)} = unpack('q<3', substr($data, 16, 24));
	return \%h;
}

# (offset, size, kind, id, query) of each record of an events file
sub erecords
{
	my ($data) = @_;
	my $h = eheader($data);
	my @recs;
	my $pos = $EHDR;
	for (1 .. $h->{count})
	{
		my ($size, $kind) = unpack('V s<', substr($data, $pos, 6));
		my $id = unpack('q<', substr($data, $pos + 8, 8));
		my $qlen = unpack('l<', substr($data, $pos + 64, 4));
		push @recs,
		  {
			offset => $pos,
			size   => $size,
			kind   => $kind,
			id     => $id,
			query  => substr($data, $pos + $h->{rec_fixed}, $qlen)
		  };
		last if $size == 0;
		$pos += $size;
	}
	return ($pos, @recs);
}

# Every column of perfguard.events, oldest first.
my $events_sql = q{
SELECT event_id, event_time, kind, dbid, database, userid, username,
       toplevel, fingerprint, queryid, query, duration_ms, plan_format, plan,
       detail
  FROM perfguard.events
 ORDER BY event_id};

sub info_of
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		'SELECT events || \'|\' || events_dropped FROM perfguard.info()');
}

sub count_events
{
	my ($node, $where) = @_;
	$where //= 'true';
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM perfguard.events WHERE $where");
}

# Settings of a session that records every statement it runs.
my $capture_all = q{
SET perfguard.capture_min_duration = 0;
SET perfguard.capture_interval = 0;
};

my $base_conf = q{
shared_preload_libraries = 'perfguard'
perfguard.capture_min_duration = -1
perfguard.capture_interval = 0
max_parallel_workers_per_gather = 0
jit = off
};

###########################################################################
# Node "store": a 64 kB store.
###########################################################################
my $small = PostgreSQL::Test::Cluster->new('store');
$small->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$small->append_conf('postgresql.conf',
	$base_conf . "perfguard.events_memory = 64\n");
$small->start;
$small->safe_psql(
	'postgres', q{
CREATE EXTENSION perfguard;
CREATE TABLE small (id int, b int, s text);
INSERT INTO small SELECT g, g % 10, 'y' || g FROM generate_series(1, 100) g;
ANALYZE small;
CREATE TABLE big (id int, b int, s text);
INSERT INTO big SELECT g, g % 100, 'x' || g FROM generate_series(1, 20000) g;
ANALYZE big;
});
is($small->safe_psql('postgres', 'SELECT events_memory FROM perfguard.info()'),
	'65536', 'store: perfguard.events_memory = 64 kB');

# The largest record the store takes: a quarter of it; a record's fixed
# part (120 bytes, with the counters of repeated-statement events) plus the
# five NULs of its strings.
my $STORE   = 65536;
my $REC_MAX = $STORE / 4;
my $REC_MIN = 125;    # MAXALIGN(sizeof(PfgEventRec)) + 5 (src/events.c)

#
# 1. Overflow: 300 distinct top-level statements, each with a JSON plan.
#
my @cols = ('id', 'b', 's', 'id + b', 'b * 2', 'length(s)', 'upper(s)');
my $script = $capture_all . q{
SET perfguard.capture_mode = always;
SET perfguard.capture_format = json;
};
my $last_stmt;
for my $i (0 .. 299)
{
	my $list = join(', ', @cols[ 0 .. $i % 7 ]);
	$last_stmt =
	  "SELECT $list FROM small WHERE id = $i AND b < " . ($i % 11) . " + " . int($i / 11);
	$last_stmt .= " ORDER BY id" if $i % 3 == 1;
	$last_stmt .= " LIMIT 5"     if $i % 3 == 2;
	$script    .= "$last_stmt;\n";
}
$small->safe_psql('postgres', 'SELECT perfguard.reset_events()');
is(info_of($small), '0|0', 'store: reset_events() empties the store and zeroes the dropped count');
$small->safe_psql('postgres', $script);

my ($n, $dropped) = split /\|/, info_of($small);
cmp_ok($dropped, '>', 0, 'store: events were dropped to make room');
is($n + $dropped, 300,
	'store: every statement made one event, kept or counted as dropped');
is(count_events($small), $n, 'store: info().events is the number of events shown');
cmp_ok($n, '<', 300 / 2, 'store: the store kept only part of the events');
my ($bytes) = $small->safe_psql(
	'postgres', qq{
SELECT sum($REC_MIN + octet_length(query) + octet_length(plan) + octet_length(detail::text) - 2)
  FROM perfguard.events});
cmp_ok($bytes, '<=', $STORE,
	'store: the events kept fit in the store\'s 64 kB');
cmp_ok($bytes, '>=', $STORE / 2,
	'store: the events kept fill at least half of the store');
is( $small->safe_psql(
		'postgres',
		q{SELECT max(event_id) - min(event_id) + 1 = count(*) FROM perfguard.events}),
	't',
	'store: the ids of the events kept are contiguous');
is( $small->safe_psql(
		'postgres',
		q{SELECT query FROM perfguard.events ORDER BY event_id DESC LIMIT 1}),
	do { my $k = 0; $last_stmt =~ s/\b\d+\b/'$' . ++$k/ger },
	'store: the newest event is that of the last statement');
is( $small->safe_psql(
		'postgres', q{
SELECT count(*) FILTER (WHERE kind = 'slow_plan' AND plan_format = 'json'
                          AND (plan::json -> 'Plan' ->> 'Node Type') IS NOT NULL
                          AND plan::jsonb -> 'Plan' ? 'Actual Rows'
                          AND query ~ '^SELECT .* FROM small WHERE id = \$\d+ AND b < \$\d+ \+ \$\d+'
                          AND detail ->> 'analyzed' = 'true'
                          AND NOT detail ? 'plan_truncated'
                          AND fingerprint IN (SELECT s.fingerprint FROM perfguard.stats s WHERE s.queryid = queryid)),
       count(*)
  FROM perfguard.events}),
	"$n|$n",
	'store: every event kept is intact: its plan parses as JSON, with actual rows, and its text and fingerprint agree'
);

# A clean restart keeps a store that has wrapped around, and its counts.
# Events of one kind removed with reset_events(kind) stay removed.
$small->safe_psql('postgres',
	$capture_all . 'SELECT count(*) FROM big WHERE b = 3; SELECT count(*) FROM big WHERE b = 4;');
is(count_events($small, q{kind = 'seq_scan'}), '2', 'store: two seq_scan events');
is($small->safe_psql('postgres', q{SELECT perfguard.reset_events('seq_scan')}),
	'2', 'store: reset_events(\'seq_scan\') removes them');
my $small_before = $small->safe_psql('postgres', $events_sql);
my $small_info   = info_of($small);
my $drops_sql = q{SELECT string_agg(kind || '=' || dropped, ',' ORDER BY kind) FROM perfguard.event_drops()};
my $small_drops = $small->safe_psql('postgres', $drops_sql);
is($small->safe_psql('postgres',
		q{SELECT (SELECT sum(dropped) FROM perfguard.event_drops()) = events_dropped
		        AND events_dropped > 0 FROM perfguard.info()}),
	't', 'store: event_drops() gives the events dropped per kind, adding up to info()\'s');
$small->stop;
ok(-e $small->data_dir . '/pg_stat/perfguard_events.stat',
	'store: a clean stop writes the events file');
$small->start;
is($small->safe_psql('postgres', $events_sql),
	$small_before, 'store: a wrapped-around store is back whole after a clean restart');
is(info_of($small), $small_info,
	'store: events and events_dropped of info() survive the restart');
is($small->safe_psql('postgres', $drops_sql), $small_drops,
	'store: the drops per kind survive the restart');
is(count_events($small, q{kind = 'seq_scan'}),
	'0', 'store: events removed with reset_events(kind) do not come back');

#
# 2. A plan longer than a quarter of the store is truncated, on a
# character boundary, and the event says so.
#
my $union = join(' UNION ALL ',
	map { "SELECT id, b, s FROM small WHERE b = $_ AND s <> 'u$_'" } 1 .. 40);
$small->safe_psql('postgres', $capture_all . q{
SET perfguard.capture_mode = always;
SET perfguard.capture_format = json;
} . "$union;");

# (pg_input_is_valid does not exist in PostgreSQL 15: test the JSON in a
# block that catches the error.)
$small->safe_psql(
	'postgres', q{
CREATE FUNCTION is_json(t text) RETURNS boolean LANGUAGE plpgsql AS
$$BEGIN PERFORM t::json; RETURN true; EXCEPTION WHEN others THEN RETURN false; END$$;
CREATE FUNCTION is_utf8(t text) RETURNS boolean LANGUAGE plpgsql AS
$$BEGIN PERFORM convert_from(convert_to(t, 'UTF8'), 'UTF8'); RETURN true;
EXCEPTION WHEN others THEN RETURN false; END$$;
});
# What a record of the largest size leaves for the plan, given the
# lengths of the event's text and of its detail as shown (the stored detail
# has no braces and no "plan_truncated" member: 2 + 24 bytes less).
sub plan_room
{
	my ($qlen, $dlen) = @_;
	return $REC_MAX - $REC_MIN - $qlen - ($dlen - 2 - 24);
}

my ($trunc_len, $trunc_qlen, $trunc_dlen, $trunc_flag, $trunc_parses, $trunc_start) =
  split /\|/,
  $small->safe_psql(
	'postgres', q{
SELECT octet_length(plan), octet_length(query), octet_length(detail::text),
       detail ->> 'plan_truncated', is_json(plan), plan ~ '^\{\s+"Plan": \{\s+"Node Type": "Append"'
  FROM perfguard.events
 WHERE query LIKE 'SELECT id, b, s FROM small WHERE b = $1 AND s <> $2 UNION ALL%'
 ORDER BY event_id DESC LIMIT 1});
is($trunc_flag, 'true',
	'truncation: a JSON plan longer than a quarter of the store: "plan_truncated": true');
is($trunc_len, plan_room($trunc_qlen, $trunc_dlen),
	'truncation: the plan is cut to exactly what a quarter of the store holds');
cmp_ok($trunc_qlen, '<=', 1023, 'truncation: the long statement text is cut too');
is($trunc_parses, 'f', 'truncation: the cut JSON plan no longer parses');
is($trunc_start, 't', 'truncation: the cut plan is the beginning of the plan');

# A text plan cut inside a run of two-byte characters: once with and once
# without a one-byte character in front of the run, so that one of the two
# cuts falls in the middle of a character unless it is made on a boundary.
my $e_acute = "\xc3\xa9";    # U+00E9, in UTF-8
my $e_run   = $e_acute x 10000;
for my $variant ('', 'a')
{
	$small->safe_psql('postgres',
		$capture_all
		  . "SET perfguard.capture_mode = always; SELECT id FROM small WHERE s = '$variant$e_run';"
	);
}
my ($cut_ret, $cut_out, $cut_err) = $small->psql(
	'postgres', q{
SELECT detail ->> 'plan_truncated', is_utf8(plan), octet_length(plan),
       octet_length(query), octet_length(detail::text),
       CASE WHEN is_utf8(plan)
            THEN plan ~ ('^Seq Scan on small .*Filter: \(s = ''a?' || chr(233) || '+$')
       END
  FROM perfguard.events
 WHERE query = 'SELECT id FROM small WHERE s = $1'
 ORDER BY event_id DESC LIMIT 2});
is($cut_ret . $cut_err, '0',
	'truncation: the events with cut multibyte plans can be read');
my @cuts = split /\n/, $cut_out;
is(scalar(@cuts), 2, 'truncation: two text plans with a long multibyte constant');
for my $cut (@cuts)
{
	my ($flag, $utf8, $len, $qlen, $dlen, $shape) = split /\|/, $cut;
	is($flag, 'true', "truncation: text plan of $len bytes is marked truncated");
	cmp_ok(plan_room($qlen, $dlen) - $len, '<', 2,
		"truncation: text plan of $len bytes is cut at most one byte short of the room");
	is($utf8, 't', "truncation: text plan of $len bytes is valid UTF-8");
	is($shape, 't', "truncation: text plan of $len bytes is the plan's beginning, ending in whole characters");
}

# A statement text longer than perfguard.query_text_length is cut on a
# character boundary too.
for my $variant ('', 'a')
{
	$small->safe_psql('postgres',
		$capture_all . "SELECT 1 AS \"$variant" . ($e_acute x 700) . '";');
}
is( $small->safe_psql(
		'postgres', q{
SELECT string_agg((is_utf8(query) AND octet_length(query) <= 1023
                   AND octet_length(query) >= 1020)::text, ',')
  FROM (SELECT query FROM perfguard.events
         WHERE query LIKE 'SELECT $1 AS "%' ORDER BY event_id DESC LIMIT 2) q}),
	'true,true',
	'truncation: long statement texts are cut to query_text_length, on a character boundary'
);

# A filter too long for the record (a quarter of the store) leaves the
# seq_scan event whole but for the filter, and the detail says so.
$small->safe_psql('postgres',
	$capture_all . "SELECT count(*) FROM big WHERE s = '" . ('z' x 17000) . "';");
is( $small->safe_psql(
		'postgres', q{
SELECT format('%s|%s|%s|%s|%s', query, detail->>'relation', detail->>'table_rows',
              detail ? 'filter', detail->>'detail_truncated')
  FROM perfguard.events WHERE kind = 'seq_scan' ORDER BY event_id DESC LIMIT 1}),
	'SELECT count(*) FROM big WHERE s = $1|public.big|20000|f|true',
	'truncation: a filter too long for the store is left out, the rest of the event kept');

#
# 3. A smaller store loads the newest events of a dump.
#
my $before_grow = $small->safe_psql('postgres', $events_sql);
$small->append_conf('postgresql.conf', 'perfguard.events_memory = 256');
$small->restart;
is($small->safe_psql('postgres', 'SELECT events_memory FROM perfguard.info()'),
	'262144', 'grow: the store is 256 kB');
is($small->safe_psql('postgres', $events_sql),
	$before_grow, 'grow: a bigger store loads every event of the dump');
$small->safe_psql('postgres', $script);
my ($n_big, $dropped_big) = split /\|/, info_of($small);
cmp_ok(
	$small->safe_psql(
		'postgres',
		"SELECT sum($REC_MIN + octet_length(query) + octet_length(plan)) FROM perfguard.events"
	),
	'>', $STORE,
	'shrink: the 256 kB store holds more than 64 kB of events');
my $digest_sql =
  q{SELECT event_id || ':' || md5(e::text) FROM perfguard.events e ORDER BY event_id};
my %big_rows = map { (split /:/)[0] => $_ } split /\n/,
  $small->safe_psql('postgres', $digest_sql);
my $max_id = $small->safe_psql('postgres', 'SELECT max(event_id) FROM perfguard.events');
$small->append_conf('postgresql.conf', 'perfguard.events_memory = 64');
$small->restart;
my ($n_shrunk, $dropped_shrunk) = split /\|/, info_of($small);
cmp_ok($n_shrunk, '<', $n_big, 'shrink: a 64 kB store takes fewer events');
cmp_ok($n_shrunk, '>', 0, 'shrink: a 64 kB store takes some events');
is( $small->safe_psql(
		'postgres',
		q{SELECT max(event_id) || '|' || (max(event_id) - min(event_id) + 1 = count(*)) FROM perfguard.events}
	),
	"$max_id|true",
	'shrink: the store keeps the newest events, with contiguous ids');
my @shrunk = split /\n/, $small->safe_psql('postgres', $digest_sql);
is(scalar(grep { ($big_rows{ (split /:/)[0] } // '') ne $_ } @shrunk),
	0, 'shrink: every event loaded is identical to the one saved');
is($dropped_shrunk, $dropped_big + $n_big - $n_shrunk,
	'shrink: the events that did not fit are counted as dropped, on top of those dropped before');
$small->stop;

###########################################################################
# Node "events": a store of the default size.
###########################################################################
my $node = PostgreSQL::Test::Cluster->new('events');
$node->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->append_conf('postgresql.conf', $base_conf . "restart_after_crash = on\n");
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION perfguard;
CREATE TABLE big (id int, b int, s text);
INSERT INTO big SELECT g, g % 100, 'x' || g FROM generate_series(1, 20000) g;
ANALYZE big;
});
my $evfile     = $node->data_dir . '/pg_stat/perfguard_events.stat';
my $statfile   = $node->data_dir . '/pg_stat/perfguard.stat';
my $warning_re = qr/WARNING:  perfguard ignored its events file "pg_stat\/perfguard_events\.stat"/;

#
# 4. Persistence.
#
$node->safe_psql(
	'postgres', $capture_all . q{
SELECT count(*) FROM big WHERE b = 7;
SELECT count(*) FROM big WHERE b = 8;
SELECT pg_sleep(0.01);
});
is( $node->safe_psql(
		'postgres', q{
SELECT string_agg(kind || ':' || coalesce(detail ->> 'analyzed', detail ->> 'relation'), ',' ORDER BY event_id)
  FROM perfguard.events}),
	'seq_scan:public.big,slow_plan:false,seq_scan:public.big,slow_plan:true,slow_plan:false',
	'persistence: seq_scan and slow_plan events, estimates then actual rows');
my $before      = $node->safe_psql('postgres', $events_sql);
my $info_before = info_of($node);
my ($n_before, $last_id) = split /\|/, $node->safe_psql('postgres',
	q{SELECT count(*) || '|' || max(event_id) FROM perfguard.events});
is($n_before, '5', 'persistence: five events');
$node->stop;
ok(-e $evfile, 'persistence: a clean stop writes the events file');
$node->start;
ok(!-e $evfile, 'persistence: the events file is removed once loaded');
is($node->safe_psql('postgres', $events_sql),
	$before, 'persistence: every event is back, identical, after a clean restart');
is(info_of($node), $info_before, 'persistence: info() is the same');
$node->safe_psql('postgres', $capture_all . 'SELECT 42;');
is( $node->safe_psql(
		'postgres', q{SELECT event_id || '|' || query FROM perfguard.events ORDER BY event_id DESC LIMIT 1}),
	($last_id + 1) . '|SELECT $1',
	'persistence: a new event takes the id after the old ones');

# An immediate stop: nothing comes back (the file of the last clean stop
# was removed when it was loaded).
$node->stop('immediate');
ok(!-e $evfile, 'immediate stop: no events file is written');
$node->start;
is(info_of($node), '0|0', 'immediate stop: the store starts empty');

# A crash: the postmaster reinitializes shared memory; no events come back.
$node->safe_psql('postgres', $capture_all . 'SELECT 43;');
is(count_events($node), '1', 'crash: an event before the crash');
my $walwriter = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'});
my $offset = -s $node->logfile;
kill 'KILL', $walwriter;
$node->wait_for_log(
	qr/all server processes terminated; reinitializing(.|\n)*database system is ready to accept connections/,
	$offset);
$node->poll_query_until('postgres', 'SELECT 1 FROM perfguard.info()', '1')
  or die 'the server did not come back after the crash';
is(count_events($node), '0', 'crash: the store is empty after the crash');
unlike(slurp_file($node->logfile, $offset), $warning_re, 'crash: no events file was found');
$node->safe_psql('postgres', $capture_all . 'SELECT 44;');
$node->restart;
is($node->safe_psql('postgres', 'SELECT string_agg(query, \',\') FROM perfguard.events'),
	'SELECT $1', 'crash: a clean restart after the crash keeps the events made since');

# perfguard.save = off: no file; a file found at start is dropped.
$node->append_conf('postgresql.conf', 'perfguard.save = off');
$node->reload;
$node->poll_query_until('postgres', 'SHOW perfguard.save', 'off')
  or die 'perfguard.save = off did not take effect';
$node->stop;
ok(!-e $evfile, 'save = off: no events file is written');
$node->start;
is(count_events($node), '0', 'save = off: the store starts empty');
$node->append_conf('postgresql.conf', 'perfguard.save = on');
$node->reload;
$node->poll_query_until('postgres', 'SHOW perfguard.save', 'on')
  or die 'perfguard.save = on did not take effect';
$node->safe_psql('postgres', $capture_all . 'SELECT 45;');
$node->stop;
ok(-e $evfile, 'save = on: a clean stop writes the file');
$node->append_conf('postgresql.conf', 'perfguard.save = off');
$node->start;
is(count_events($node), '0', 'save = off: a file found at start is not loaded');
ok(!-e $evfile, 'save = off: a file found at start is removed');
$node->append_conf('postgresql.conf', 'perfguard.save = on');
$node->restart;

#
# 5. Events files that cannot be used.
#
$node->safe_psql(
	'postgres', $capture_all . q{
SELECT count(*) FROM big WHERE b = 9;
SELECT pg_sleep(0.01);
});
# (id:kind number:query of each event; next id)
my $in_view = $node->safe_psql(
	'postgres', q{
SELECT string_agg(event_id || ':' || CASE kind WHEN 'slow_plan' THEN 1 WHEN 'seq_scan' THEN 2 END
                  || ':' || query, ',' ORDER BY event_id)
       || '|' || (max(event_id) + 1)
  FROM perfguard.events});
my ($view_events, $view_next) = split /\|/, $in_view;
$node->stop;
my $good  = read_binary($evfile);
my $stats = read_binary($statfile);
my $h     = eheader($good);
is($h->{magic}, 0x50464745, 'file: it starts with the magic "PFGE"');
is($h->{count} . '|' . $h->{next_id}, "3|$view_next", 'file: three events, and the next id');
is(unpack('V', substr($good, -4)),
	crc32c(substr($good, 0, length($good) - 4)),
	'file: it ends with a CRC-32C of its contents');
my ($end, @recs) = erecords($good);
is($end, length($good) - 4, 'file: the records fill it up to the CRC');
is(join(',', map { "$_->{id}:$_->{kind}:$_->{query}" } @recs),
	$view_events,
	'file: ids, kinds and texts of the records are where this test reads them');
my $count_text = 'SELECT count(*) FROM big WHERE b = $1';
like(
	$view_events,
	qr/^\d+:2:\Q$count_text\E,\d+:1:\Q$count_text\E,\d+:1:SELECT pg_sleep\(\$1\)$/,
	'file: a seq_scan and two slow_plan events');

# An intact file, written back, is loaded.
write_binary($evfile, $good);
$offset = -s $node->logfile;
$node->start;
unlike(slurp_file($node->logfile, $offset), $warning_re, 'file: an intact file loads without a WARNING');
is(count_events($node), '3', 'file: an intact file is loaded');
$node->stop;

sub start_on_bad_file
{
	my ($name, $data, $detail_re) = @_;
	write_binary($evfile, $data);
	my $offset = -s $node->logfile;
	$node->start;
	my $log = slurp_file($node->logfile, $offset);
	like($log, $warning_re, "$name: WARNING at start");
	like($log, $detail_re, "$name: the DETAIL says why") if $detail_re;
	ok(!-e $evfile, "$name: the file is removed");
	is(info_of($node), '0|0', "$name: the store is empty");
	$node->stop;
	return;
}

my $flipped = $good;
my $mid     = int(length($good) / 2);
substr($flipped, $mid, 1) = chr(ord(substr($flipped, $mid, 1)) ^ 0x01);
start_on_bad_file('a bit flipped', $flipped,
	qr/DETAIL:  The file's checksum does not match its contents/);
start_on_bad_file(
	'truncated to half',
	substr($good, 0, int(length($good) / 2)),
	qr/DETAIL:  The file's checksum does not match its contents/);
start_on_bad_file('truncated inside the header', substr($good, 0, 20),
	qr/DETAIL:  The file is too short/);
start_on_bad_file('an empty file', '', qr/DETAIL:  The file is too short/);
srand(70);
my $random = join('', map { chr(int(rand(256))) } 1 .. 4096);
substr($random, 0, 4) = 'RND!';
start_on_bad_file('random bytes', $random,
	qr/DETAIL:  The file is not a perfguard events file/);
start_on_bad_file("the statistics file instead", $stats,
	qr/DETAIL:  The file is not a perfguard events file/);

my $other = $good;
substr($other, 4, 4) = pack('V', $h->{format} + 1);
start_on_bad_file('another format', resign($other),
	qr/DETAIL:  The file was written by another version/);
$other = $good;
substr($other, 8, 4) = pack('V', 14);
start_on_bad_file('another PostgreSQL major version', resign($other),
	qr/DETAIL:  The file was written by another version/);
$other = $good;
substr($other, 16, 8) = pack('q<', $h->{count} + 1);
start_on_bad_file('one event more in the header', resign($other),
	qr/DETAIL:  The file's events do not match its header/);
$other = $good;
substr($other, 16, 8) = pack('q<', $h->{count} - 1);
start_on_bad_file('one event less in the header', resign($other),
	qr/DETAIL:  The file's events do not match its header/);
$other = $good;
substr($other, $recs[1]{offset} + 4, 2) = pack('s<', 99);
start_on_bad_file('an unknown event kind', resign($other),
	qr/DETAIL:  The file's events do not match its header/);
$other = $good;
substr($other, $recs[0]{offset}, 4) = pack('V', 0x7ffffff8);
start_on_bad_file('a record size past the end', resign($other),
	qr/DETAIL:  The file's events do not match its header/);
$other = $good;
substr($other, $recs[0]{offset}, 4) = pack('V', 0);
start_on_bad_file('a record size of 0', resign($other),
	qr/DETAIL:  The file's events do not match its header/);
$other = $good;
substr($other, $recs[2]{offset} + 64, 4) = pack('l<', -1);
start_on_bad_file('a negative text length', resign($other),
	qr/DETAIL:  The file's events do not match its header/);
$other = $good;
substr($other, $recs[2]{offset} + 64, 4) = pack('l<', $recs[2]{size});
start_on_bad_file('a text longer than its record', resign($other),
	qr/DETAIL:  The file's events do not match its header/);
$other = $good;
substr($other, $recs[0]{offset} + 64, 4) = pack('l<', length($recs[0]{query}) - 1);
start_on_bad_file('a text without its NUL', resign($other),
	qr/DETAIL:  The file's events do not match its header/);
$other = $good;
substr($other, $recs[0]{offset} + 56, 4) = pack('l<', 4242);
start_on_bad_file('an invalid encoding', resign($other),
	qr/DETAIL:  The file's events do not match its header/);
$other = $good;
substr($other, 24, 8) = pack('q<', 0);
start_on_bad_file('a next id of 0', resign($other),
	qr/DETAIL:  The file's events do not match its header/);

# After all that, the store works.
$node->start;
$node->safe_psql('postgres', $capture_all . 'SELECT 46;');
is($node->safe_psql('postgres', 'SELECT count(*) || \'|\' || min(query) FROM perfguard.events'),
	'1|SELECT $1', 'file: after a damaged file, new events are recorded');

#
# 6. perfguard.log_events
#
$offset = -s $node->logfile;
$node->safe_psql(
	'postgres', $capture_all . q{
SET perfguard.log_events = on;
SELECT count(*) FROM big WHERE b = 11;
});
my $log = slurp_file($node->logfile, $offset);
my ($slow_id, $slow_plan) = split /\|/, $node->safe_psql(
	'postgres', q{
SELECT event_id, plan FROM perfguard.events
 WHERE kind = 'slow_plan' AND query = 'SELECT count(*) FROM big WHERE b = $1'
 ORDER BY event_id DESC LIMIT 1}), 2;
my $big_fp = $node->safe_psql('postgres',
	q{SELECT perfguard.fingerprint('SELECT count(*) FROM big WHERE b = 1')});
my ($scan_id) = $node->safe_psql(
	'postgres', q{
SELECT max(event_id) FROM perfguard.events
 WHERE kind = 'seq_scan' AND query = 'SELECT count(*) FROM big WHERE b = $1'});
like(
	$log,
	qr/LOG:  perfguard recorded a slow_plan event\n.*DETAIL:  event_id: $slow_id, /,
	'log_events: the slow_plan event is logged, with its id');
like(
	$log,
	qr/LOG:  perfguard recorded a seq_scan event\n.*DETAIL:  event_id: $scan_id, /,
	'log_events: the seq_scan event is logged, with its id');
like($slow_plan, qr/Seq Scan on big/, 'log_events: the plan of the event');
my $plan_in_log = $slow_plan =~ s/\n/\n\t/gr;
like(
	$log,
	qr/DETAIL:  event_id: $slow_id, fingerprint: $big_fp, duration: [0-9.]+ ms\n\tstatement: SELECT count\(\*\) FROM big WHERE b = \$1\n\tdetail: \{[^\n]*"analyzed": false[^\n]*\}\n\tplan:\n\t\Q$plan_in_log\E\n/,
	'log_events: the DETAIL has the fingerprint, statement, detail and whole plan');
like(
	$log,
	qr/DETAIL:  event_id: $scan_id, [^\n]*\n\tstatement: [^\n]*\n\tdetail: \{[^\n]*"relation": "public.big"[^\n]*"filter": "\(b = 11\)"\}\n/,
	'log_events: the DETAIL of a seq_scan event has its detail, filter included');
my $messages = () = $log =~ /perfguard recorded/g;
is($messages, 2, 'log_events: two events, two messages');

$offset = -s $node->logfile;
$node->safe_psql(
	'postgres', $capture_all . q{
SET log_min_messages = warning;
SET perfguard.log_events = on;
SET perfguard.log_events_level = debug1;
SELECT count(*) FROM big WHERE b = 12;
});
$log = slurp_file($node->logfile, $offset);
like($log, qr/b = 12/, 'log_events_level: the statement ran (log_statement)');
unlike($log, qr/perfguard recorded/,
	'log_events_level = debug1, log_min_messages = warning: nothing is logged');
$offset = -s $node->logfile;
$node->safe_psql(
	'postgres', $capture_all . q{
SET log_min_messages = debug1;
SET perfguard.log_events = on;
SET perfguard.log_events_level = debug1;
SELECT count(*) FROM big WHERE b = 13;
});
like(slurp_file($node->logfile, $offset),
	qr/DEBUG:  perfguard recorded a slow_plan event\n.*DETAIL:  event_id: \d+/,
	'log_events_level = debug1, log_min_messages = debug1: logged at DEBUG1');
$offset = -s $node->logfile;
$node->safe_psql('postgres', $capture_all . 'SELECT count(*) FROM big WHERE b = 14;');
unlike(slurp_file($node->logfile, $offset),
	qr/perfguard recorded/, 'log_events = off: nothing is logged');

#
# 7. The extended protocol and prepared statements (pgbench).
#
$node->safe_psql(
	'postgres', q{
ALTER SYSTEM SET perfguard.capture_min_duration = 0;
ALTER SYSTEM SET perfguard.capture_interval = 0;
SELECT pg_reload_conf();
});
$node->poll_query_until('postgres', 'SHOW perfguard.capture_min_duration', '0')
  or die 'capture_min_duration = 0 did not take effect';
my $bench_fp = $node->safe_psql('postgres',
	q{SELECT perfguard.fingerprint('SELECT count(*), max(id) FROM big WHERE b = 1')});

# "slow_plan events|analyzed ones|seq_scan events|with actual rows in the
# plan|queries" of the pgbench statement, after event id $from
sub bench_events
{
	my ($from) = @_;
	return $node->safe_psql(
		'postgres', qq{
SELECT count(*) FILTER (WHERE kind = 'slow_plan') || '|' ||
       count(*) FILTER (WHERE kind = 'slow_plan' AND detail ->> 'analyzed' = 'true') || '|' ||
       count(*) FILTER (WHERE kind = 'seq_scan' AND detail ->> 'relation' = 'public.big') || '|' ||
       count(*) FILTER (WHERE kind = 'slow_plan' AND plan LIKE '%(actual rows=% loops=1)%') || '|' ||
       string_agg(DISTINCT query || ':' || toplevel, ',')
  FROM perfguard.events
 WHERE fingerprint = $bench_fp AND event_id > $from});
}

sub max_event
{
	return $node->safe_psql('postgres',
		'SELECT coalesce(max(event_id), 0) FROM perfguard.events');
}

my $bench_script = "\\set v random(0, 99)\nSELECT count(*), max(id) FROM big WHERE b = :v;\n";
for my $mode ('extended', 'prepared')
{
	my $from = max_event();
	$node->pgbench(
		"-n -t 4 -M $mode",
		0,
		[qr{processed: 4/4}],
		[qr{^$}],
		"pgbench -M $mode",
		{ "070_adaptive_$mode.sql" => $bench_script });
	is(bench_events($from),
		'4|2|4|2|SELECT count(*), max(id) FROM big WHERE b = $1:true',
		"pgbench -M $mode, adaptive: every run captured, every other one with actual rows; every seq scan flagged");
}

$node->safe_psql(
	'postgres', q{
ALTER SYSTEM SET perfguard.capture_mode = always;
SELECT pg_reload_conf();
});
$node->poll_query_until('postgres', 'SHOW perfguard.capture_mode', 'always')
  or die 'capture_mode = always did not take effect';
for my $mode ('extended', 'prepared')
{
	my $from = max_event();
	$node->pgbench(
		"-n -t 3 -M $mode",
		0,
		[qr{processed: 3/3}],
		[qr{^$}],
		"pgbench -M $mode",
		{ "070_always_$mode.sql" => $bench_script });
	is(bench_events($from),
		'3|3|3|3|SELECT count(*), max(id) FROM big WHERE b = $1:true',
		"pgbench -M $mode, always: every plan has actual rows");
}
is( $node->safe_psql(
		'postgres',
		"SELECT sum(calls) || '|' || sum(plans_captured) || '|' || sum(seq_scans) FROM perfguard.stats WHERE fingerprint = $bench_fp"
	),
	'14|14|14',
	'pgbench: perfguard.stats counts the runs, plans and seq scans');
$node->safe_psql(
	'postgres', q{
ALTER SYSTEM RESET perfguard.capture_min_duration;
ALTER SYSTEM RESET perfguard.capture_interval;
ALTER SYSTEM RESET perfguard.capture_mode;
SELECT pg_reload_conf();
});
$node->poll_query_until('postgres', 'SHOW perfguard.capture_min_duration', '-1')
  or die 'capture_min_duration = -1 did not take effect';

#
# 8. A cursor fetched in pieces.
#
$node->safe_psql('postgres', 'SELECT perfguard.reset(), perfguard.reset_events()');
$node->safe_psql(
	'postgres', $capture_all . q{
SET perfguard.capture_mode = always;
BEGIN;
DECLARE c CURSOR FOR SELECT id, s FROM big WHERE b < 50 ORDER BY id;
FETCH 100 FROM c;
FETCH 100 FROM c;
CLOSE c;
COMMIT;
});
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) || '|' || string_agg(query || '|' || toplevel || '|' || (detail ->> 'rows'), ',')
  FROM perfguard.events WHERE kind = 'slow_plan'}),
	'1|SELECT id, s FROM big WHERE b < $1 ORDER BY id|true|200',
	'cursor: one slow_plan event, for the cursor\'s query, 200 rows');
like(
	$node->safe_psql('postgres', q{SELECT plan FROM perfguard.events WHERE kind = 'slow_plan'}),
	qr/^Sort  \(cost=[^)]*\) \(actual rows=200(?:\.00)? loops=1\)\n(.*\n)*  ->  Seq Scan on big  \(cost=[^)]*\) \(actual rows=10000(?:\.00)? loops=1\)\n/,
	'cursor: the plan\'s top node has actual rows=200');
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM perfguard.events WHERE kind = 'seq_scan' AND detail ->> 'relation' = 'public.big' AND query LIKE 'SELECT id, s FROM big%'}
	),
	'1',
	'cursor: one seq_scan event for the cursor\'s query');
is( $node->safe_psql(
		'postgres',
		q{SELECT calls || '|' || rows || '|' || plans_captured || '|' || seq_scans FROM perfguard.stats WHERE query = 'SELECT id, s FROM big WHERE b < $1 ORDER BY id'}
	),
	'1|200|1|1',
	'cursor: perfguard.stats has the cursor\'s query: 1 call, 200 rows');

# The same cursor in adaptive mode: the first run is captured with the
# planner's estimates and arms the statement, the second with actual rows.
$node->safe_psql('postgres', 'SELECT perfguard.reset_events()');
for (1 .. 2)
{
	$node->safe_psql(
		'postgres', $capture_all . q{
BEGIN;
DECLARE c CURSOR FOR SELECT id, s FROM big WHERE b < 50 ORDER BY id;
FETCH 150 FROM c;
FETCH 50 FROM c;
CLOSE c;
COMMIT;
});
}
my @adaptive = split /\n/, $node->safe_psql(
	'postgres', q{
SELECT (detail ->> 'analyzed') || '|' || (detail ->> 'armed_run') || '|' ||
       (plan ~ '^Sort  \(cost=[^)]*\) \(actual rows=200(\.00)? loops=1\)')
  FROM perfguard.events
 WHERE kind = 'slow_plan' AND query = 'SELECT id, s FROM big WHERE b < $1 ORDER BY id'
 ORDER BY event_id});
is(join(',', @adaptive), 'false|false|false,true|true|true',
	'cursor, adaptive: estimates first, then, armed, actual rows=200');

# psql's FETCH_COUNT: psql declares a cursor for the query and fetches it
# 50 rows at a time.
$node->safe_psql('postgres', 'SELECT perfguard.reset_events()');
my $fetched = $node->safe_psql(
	'postgres', $capture_all . q{
SET perfguard.capture_mode = always;
\set FETCH_COUNT 50
SELECT id FROM big WHERE b BETWEEN 1 AND 2 ORDER BY id;
\unset FETCH_COUNT
});
my @fetched = split /\n/, $fetched;
is(scalar(@fetched), 400, 'FETCH_COUNT: psql got the 400 rows');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) || '|' || min(query) || '|' || min(detail ->> 'rows') || '|' ||
       bool_and(plan ~ '^Sort  \(cost=[^)]*\) \(actual rows=400(\.00)? loops=1\)')
  FROM perfguard.events WHERE kind = 'slow_plan'}),
	'1|SELECT id FROM big WHERE b BETWEEN $1 AND $2 ORDER BY id|400|true',
	'FETCH_COUNT: one slow_plan event for the query, 400 rows, as the plan says');

# perfguard.log_events_level = warning sends the message to the client too.
my ($ret, $out, $err) = $node->psql(
	'postgres', $capture_all . q{
SET perfguard.log_events = on;
SET perfguard.log_events_level = warning;
SELECT 47;
});
like($err, qr/WARNING:  perfguard recorded a slow_plan event\nDETAIL:  event_id: \d+, /,
	'log_events_level = warning: the client gets the message');

$node->stop;
done_testing();
