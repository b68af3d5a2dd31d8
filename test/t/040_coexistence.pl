# perfguard alongside pg_stat_statements and auto_explain, loaded in either
# order: each module still does its whole job, and perfguard and
# pg_stat_statements agree on what they both measure.
#
# For each order of shared_preload_libraries, after resetting both modules,
# a workload runs (DDL, bulk and single-row writes, selects by key, a
# PL/pgSQL function and an SQL function with nested queries, a DO block, a
# CTE with a write, a prepared statement, a cursor, and statements that
# fail).  Then:
#  - the two modules track the same statements (userid, dbid, queryid,
#    toplevel);
#  - calls and rows are equal for every one of them; buffer counters and
#    execution times are equal for every statement the executor ran;
#  - pg_stat_statements' WAL counters are complete (whoever allocated the
#    instrumentation);
#  - auto_explain logs the plans, with the actual times of log_analyze.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('coexistence');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
pg_stat_statements.track = all
pg_stat_statements.track_utility = on
perfguard.track = all
perfguard.track_utility = on
auto_explain.log_min_duration = 0
auto_explain.log_analyze = on
auto_explain.log_nested_statements = off
compute_query_id = auto
});

# Statements whose results are the same in every run; some fail on
# purpose, so the script runs with on_error_stop => 0.
my $workload = q{
DROP TABLE IF EXISTS acct CASCADE;
DROP FUNCTION IF EXISTS acct_balance(int);
DROP FUNCTION IF EXISTS acct_total();
SELECT pg_stat_statements_reset(), perfguard.reset();
CREATE TABLE acct (id int PRIMARY KEY, balance int NOT NULL, note text);
INSERT INTO acct SELECT g, g * 10, repeat('n', 40) FROM generate_series(1, 2000) g;
INSERT INTO acct VALUES (2001, 5, 'first');
INSERT INTO acct VALUES (2002, 6, 'second');
SELECT balance FROM acct WHERE id = 1;
SELECT balance FROM acct WHERE id = 2;
SELECT balance FROM acct WHERE id = 3;
SELECT balance FROM acct WHERE id = 99999;
SELECT count(*), sum(balance) FROM acct WHERE balance > 100;
SELECT id, note FROM acct WHERE id BETWEEN 100 AND 140 ORDER BY id;
UPDATE acct SET balance = balance + 1 WHERE id BETWEEN 10 AND 20;
DELETE FROM acct WHERE id = 2002;
CREATE FUNCTION acct_balance(k int) RETURNS int LANGUAGE plpgsql
  AS $$BEGIN RETURN (SELECT balance FROM acct WHERE id = k); END$$;
CREATE FUNCTION acct_total() RETURNS bigint LANGUAGE sql
  AS $$SELECT sum(balance) FROM acct$$;
SELECT acct_balance(5);
SELECT acct_balance(6);
SELECT acct_balance(id) FROM acct WHERE id <= 30;
SELECT acct_total();
DO $$BEGIN PERFORM acct_balance(7); END$$;
WITH moved AS (UPDATE acct SET balance = balance - 1 WHERE id < 50 RETURNING id)
  SELECT count(*) FROM moved;
PREPARE by_id(int) AS SELECT note FROM acct WHERE id = $1;
EXECUTE by_id(1);
EXECUTE by_id(2);
EXECUTE by_id(3);
DEALLOCATE by_id;
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM acct ORDER BY id;
FETCH 10 FROM c;
FETCH 5 FROM c;
CLOSE c;
COMMIT;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM acct;
SELECT balance / 0 FROM acct WHERE id = 1;
INSERT INTO acct VALUES (1, 1, 'duplicate');
SELECT acct_balance(id) / 0 FROM acct WHERE id = 2;
SELECT nosuchcolumn FROM acct;
SELECT balance FROM acct WHERE id = 4;
};

# The statements both modules track, with both modules' counters.
my $compare_sql = q{
SELECT s.toplevel, s.queryid,
       s.calls, p.calls, s.rows, p.rows,
       s.shared_blks_hit + s.shared_blks_read,
       p.shared_blks_hit + p.shared_blks_read,
       s.shared_blks_dirtied, p.shared_blks_dirtied,
       s.local_blks_hit + s.local_blks_read, p.local_blks_hit + p.local_blks_read,
       s.temp_blks_read + s.temp_blks_written, p.temp_blks_read + p.temp_blks_written,
       s.total_exec_time, p.total_exec_time,
       regexp_replace(s.query, '\s+', ' ', 'g')
  FROM pg_stat_statements s
  JOIN perfguard.stats p USING (userid, dbid, queryid, toplevel)
 ORDER BY s.query, s.toplevel};

# Utility commands of the workload, run by the client.  Every other
# statement both modules track went through the executor (the query of a
# prepared statement shows the text of its PREPARE, and the query that
# EXPLAIN ANALYZE runs, nested, the text of the EXPLAIN).
my $utility_re =
  qr/(?:CREATE|DROP|BEGIN|COMMIT|DECLARE|FETCH|CLOSE|DO|EXPLAIN|DEALLOCATE)\b/;

my $first_bulk_wal;

sub run_order
{
	my ($libs) = @_;

	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = '$libs'");
	my $offset = -s $node->logfile;
	$node->restart;
	is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
		$libs, "$libs: loaded");
	$node->safe_psql(
		'postgres', q{
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE EXTENSION IF NOT EXISTS perfguard;
});

	my ($ret, $stdout, $stderr) =
	  $node->psql('postgres', $workload, on_error_stop => 0);
	my $nerrors = () = $stderr =~ /ERROR:/g;
	is($nerrors, 4, "$libs: the workload ran, with its 4 failing statements");

	# The same statements on both sides.  pg_stat_statements hands utility
	# commands on with queryId 0; a perfguard called after it (loaded before
	# it) computes the core's utility queryid again.
	my @only = split /\n/, $node->safe_psql(
		'postgres', q{
SELECT CASE WHEN s.queryid IS NULL THEN 'perfguard' ELSE 'pg_stat_statements' END
       || ' only|' || coalesce(s.toplevel, p.toplevel) || '|'
       || regexp_replace(coalesce(s.query, p.query), '\s+', ' ', 'g')
  FROM pg_stat_statements s
  FULL JOIN (SELECT * FROM perfguard.stats WHERE calls > 0) p
       USING (userid, dbid, queryid, toplevel)
 WHERE s.queryid IS NULL OR p.queryid IS NULL});
	my @only_utility = grep { /^[^|]*\|true\|$utility_re/ } @only;
	# pg_stat_statements tracks DEALLOCATE from PostgreSQL 17 on; perfguard
	# leaves PREPARE, EXECUTE and DEALLOCATE out on every version
	@only_utility = grep { !/^pg_stat_statements only\|true\|DEALLOCATE\b/ } @only_utility
	  if $node->pg_version >= 17;
	my @only_exec    = grep { !/^[^|]*\|true\|$utility_re/ } @only;
	# The query of a cursor: perfguard gives it a queryid (PostgreSQL 15
	# has none for it) and counts it at the level of its DECLARE, so that
	# a cursor fetched in pieces is a statement of the client's; the
	# pg_stat_statements loaded beside it sees that queryid, at its own
	# nesting level.
	my $cursor_re = qr/\|SELECT id FROM acct ORDER BY id$/;
	is(join("\n", sort grep { /$cursor_re/ } @only_exec),
		"perfguard only|true|SELECT id FROM acct ORDER BY id\n"
		  . "pg_stat_statements only|false|SELECT id FROM acct ORDER BY id",
		"$libs: a cursor's query is top-level for perfguard, nested for pg_stat_statements");
	is(join("\n", grep { !/$cursor_re/ } @only_exec), '',
		"$libs: both modules track the same executor statements");
	is(join("\n", @only_utility), '',
		"$libs: both modules track the same utility commands");

	my @rows = split /\n/, $node->safe_psql('postgres', $compare_sql);
	cmp_ok(scalar(@rows), '>=', 18, "$libs: many statements to compare");

	my (@calls_diff, @rows_diff, @buf_diff, @time_diff);
	my ($nexec, $nnested, $ntimed) = (0, 0, 0);
	for my $row (@rows)
	{
		my ($toplevel, $queryid, $sc, $pc, $sr, $pr, $sb, $pb, $sd, $pd,
			$sl, $pl, $st, $pt, $stime, $ptime, $query)
		  = split /\|/, $row, 17;
		push @calls_diff, "$query: $sc vs $pc" if $sc != $pc;
		push @rows_diff,  "$query: $sr vs $pr" if $sr != $pr;
		next if $toplevel eq 't' && $query =~ /^$utility_re/;
		$nexec++;
		$nnested++ if $toplevel eq 'f';
		push @buf_diff, "$query: $sb/$sd/$sl/$st vs $pb/$pd/$pl/$pt"
		  if $sb != $pb || $sd != $pd || $sl != $pl || $st != $pt;
		# perfguard times around the executor, so for a statement whose
		# Run and Finish it both measures (anything that writes) its clock
		# readings bracket the core's and its total can only be the larger
		# one.  A plain SELECT's empty Finish, which the core's
		# instrumentation times and perfguard skips, makes no such order.
		next unless $query =~ /^\s*(?:INSERT|UPDATE|DELETE|WITH)\b/;
		$ntimed++;
		push @time_diff, "$query: $stime vs $ptime"
		  if $ptime < $stime * (1 - 1e-9);
	}
	cmp_ok($nexec,   '>=', 18, "$libs: executor statements compared");
	cmp_ok($nnested, '>=', 4,  "$libs: nested statements compared");
	is(join("\n", @calls_diff), '', "$libs: calls are equal");
	is(join("\n", @rows_diff),  '', "$libs: rows are equal");
	is(join("\n", @buf_diff), '',
		"$libs: buffer counters of executor statements are equal");
	cmp_ok($ntimed, '>=', 4, "$libs: writing statements' times compared");
	is(join("\n", @time_diff), '',
		"$libs: perfguard's time of a writing statement is at least the core's");

	# Spot checks of the values themselves.
	is( $node->safe_psql(
			'postgres',
			q{SELECT calls || '|' || rows FROM perfguard.stats WHERE query = 'SELECT balance FROM acct WHERE id = $1'}
		),
		'5|4',
		"$libs: the select by key: 5 calls, 4 rows");
	is( $node->safe_psql(
			'postgres',
			q{SELECT calls || '|' || rows FROM perfguard.stats WHERE NOT toplevel AND query LIKE '%SELECT balance FROM acct WHERE id = k%'}
		),
		'34|34',
		"$libs: the nested query of acct_balance(): 34 calls, 34 rows");
	is( $node->safe_psql(
			'postgres',
			q{SELECT count(*) FILTER (WHERE calls > 0) || '|' || sum(failed_calls) FROM perfguard.stats WHERE query LIKE '%/ 0%' OR query LIKE '%/ $%' OR query LIKE '%nosuchcolumn%' OR query LIKE '%duplicate%'}
		),
		'0|2',
		"$libs: failed statements are not counted as calls, but as failed (the two divisions; the syntax error never ran)");

	# WAL: the instrumentation whoever allocated it counts WAL too.
	my $wal = $node->safe_psql(
		'postgres', q{
SELECT string_agg(left(query, 30) || ': ' || calls || ' calls, ' || wal_records || ' records, ' || wal_bytes || ' bytes', E'\n' ORDER BY query)
  FROM pg_stat_statements
 WHERE toplevel AND (query LIKE 'INSERT INTO acct%' OR query LIKE 'UPDATE acct%' OR query LIKE 'DELETE FROM acct%')});
	note $wal;
	is( $node->safe_psql(
			'postgres', q{
SELECT count(*) FROM pg_stat_statements
 WHERE toplevel AND calls > 0 AND wal_records >= calls AND wal_bytes > 0
   AND (query LIKE 'INSERT INTO acct%' OR query LIKE 'UPDATE acct%' OR query LIKE 'DELETE FROM acct%')}
		),
		'4',
		"$libs: pg_stat_statements counts WAL for the INSERTs, the UPDATE and the DELETE"
	);
	my $bulk_wal = $node->safe_psql('postgres',
		q{SELECT wal_records FROM pg_stat_statements WHERE query LIKE 'INSERT INTO acct SELECT g%'}
	);
	cmp_ok($bulk_wal, '>=', 2000,
		"$libs: pg_stat_statements counts a WAL record per row of the bulk INSERT"
	);
	# the same workload on a table made afresh writes the same records,
	# whoever allocated the instrumentation
	$first_bulk_wal //= $bulk_wal;
	is($bulk_wal, $first_bulk_wal,
		"$libs: the bulk INSERT's WAL records are the same in every order");

	# auto_explain
	return unless $libs =~ /auto_explain/;
	my $log = slurp_file($node->logfile, $offset);
	for my $q (
		'SELECT balance FROM acct WHERE id = 1',
		'INSERT INTO acct VALUES (2001',
		'UPDATE acct SET balance = balance + 1',
		'SELECT count(*), sum(balance) FROM acct',
		'SELECT acct_balance(5)')
	{
		like(
			$log,
			qr/LOG:  duration: [0-9.]+ ms  plan:\n\s*Query Text: \Q$q\E.*\n(.*\n)*?.*actual time=/,
			"$libs: auto_explain logs the plan of \"$q\", with actual times");
	}
	return;
}

$node->start;
run_order('pg_stat_statements,auto_explain,perfguard');
run_order('perfguard,auto_explain,pg_stat_statements');
run_order('perfguard,pg_stat_statements');

$node->stop;
done_testing();
