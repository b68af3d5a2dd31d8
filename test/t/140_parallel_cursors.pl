# perfguard in parallel query, and with cursors that are never closed.
#
#  - force_parallel_mode = on with every detector on (sequential scans,
#    plan capture at 0 ms in mode always, N+1) and a default budget, under
#    perfguard.enforce = warn and then error: ordinary statements work, are
#    counted once, and make one event each (workers record nothing); a
#    statement over the default budget gets its WARNING or ERROR;
#  - a real Parallel Seq Scan (200,000 rows, two workers planned) whose
#    rows go through a PARALLEL SAFE plpgsql function running a SELECT,
#    with perfguard.track = all and perfguard.enforce = warn: the query
#    succeeds, with workers and with the leader alone (no worker launched),
#    also when the nested SELECT breaks its budget;
#  - cursors declared in a transaction and never closed (the server closes
#    them at COMMIT), for each detector: a flagged sequential scan, a
#    captured plan, N+1 inside the cursor's query, and a budget broken by
#    the cursor's query under enforce = error and warn: PF003 comes from the
#    FETCH, never from the COMMIT, and the transaction's INSERT shares the
#    fate of the statement that failed;
#  - a cursor fetched in pieces: one execution with all its rows.
#
# The client under test connects as the role "app" (test/perl/PerfguardWire.pm,
# one simple Query per statement, so that every message is tied to its
# statement); checks read perfguard's views as the bootstrap superuser.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use PerfguardWire;

my $node = PostgreSQL::Test::Cluster->new('parallel');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'perfguard'
perfguard.track = all
perfguard.track_utility = on
perfguard.capture_interval = 0
max_worker_processes = 8
max_parallel_workers = 4
restart_after_crash = on
jit = off
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION perfguard;
CREATE ROLE app LOGIN SUPERUSER;
CREATE TABLE big (id int, b int);
INSERT INTO big SELECT g, g % 1000 FROM generate_series(1, 200000) g;
VACUUM ANALYZE big;
CREATE TABLE small (id int PRIMARY KEY, v int);
INSERT INTO small SELECT g, g * 2 FROM generate_series(1, 100) g;
ANALYZE small;
CREATE TABLE t2 (x int);
-- one SELECT (of one row) for every 1000th row: 200 over big
CREATE FUNCTION f(int) RETURNS int LANGUAGE plpgsql PARALLEL SAFE AS $$
DECLARE
	k int := $1 / 1000 % 100 + 1;
	r int;
BEGIN
	IF $1 % 1000 = 0 THEN
		SELECT v INTO r FROM small WHERE id = k;
	END IF;
	RETURN coalesce(r, 0);
END $$;
-- one SELECT per row
CREATE FUNCTION g(int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE r int;
BEGIN
	SELECT v INTO r FROM small WHERE id = $1 AND v > 0;
	RETURN r;
END $$;
});

#
# Helpers (as in 130_extended_protocol.pl)
#

sub wire
{
	my (%settings) = @_;
	return PerfguardWire->connect($node, user => 'app', options => \%settings);
}

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('postgres', $query);
}

sub reset_all
{
	sql('SELECT perfguard.reset(), perfguard.reset_events()');
	return;
}

sub lit
{
	my ($text) = @_;
	$text =~ s/'/''/g;
	return "'$text'";
}

sub fp
{
	my ($text) = @_;
	return 'perfguard.fingerprint(' . lit($text) . ')';
}

# "calls rows" of a statement run by app, at top level or nested.
sub stat_of
{
	my ($text, $toplevel) = @_;
	$toplevel //= 'true';
	return sql(
		"SELECT coalesce(sum(calls), 0) || ' ' || coalesce(sum(rows), 0)
		   FROM perfguard.stats
		  WHERE userid = 'app'::regrole AND toplevel = $toplevel AND fingerprint = "
		  . fp($text));
}

# Events of app of a kind, for a statement: how many.
sub events_of
{
	my ($kind, $text, $where) = @_;
	$where //= 'true';
	return sql(
		"SELECT count(*) FROM perfguard.events
		  WHERE username = 'app' AND kind = '$kind' AND fingerprint = " . fp($text) . " AND $where");
}

sub states
{
	my ($list) = @_;
	return join(' ', map { $_->{C} } @$list);
}

# "SEVERITY SQLSTATE" of the errors and notices of a read with this SQLSTATE.
sub with_state
{
	my ($r, $state) = @_;
	return join(' ', map { "$_->{S} $_->{C}" } grep { $_->{C} eq $state }
		  @{ $r->{errors} }, @{ $r->{notices} });
}

sub said
{
	my ($what, $r) = @_;
	diag("$what: $_->{S} $_->{C} $_->{M}") for @{ $r->{errors} }, @{ $r->{notices} };
	diag("$what: connection lost") if $r->{eof};
	return;
}

# Run statements one Query each; returns the reads, by statement.
sub run_each
{
	my ($c, @statements) = @_;
	return map { $c->simple($_) } @statements;
}

sub first_value
{
	my ($r) = @_;
	return $r->{results}[0]{rows}[0][0] // 'none';
}

my $c;
my @r;

###########################################################################
# 1. force_parallel_mode = on, every detector, a default budget.
###########################################################################
# (force_parallel_mode is called debug_parallel_query from PostgreSQL 16 on)
my $force_parallel =
  $node->pg_version >= 16 ? 'debug_parallel_query' : 'force_parallel_mode';
my %detectors = (
	$force_parallel                  => 'on',
	'perfguard.seqscan_min_rows'     => 1000,
	'perfguard.capture_mode'         => 'always',
	'perfguard.capture_min_duration' => 0,
	'perfguard.nplus1_threshold'     => 3);
sql('SELECT perfguard.set_default_budget(max_rows => 500)');

my $scan_q   = 'SELECT count(*) FROM big WHERE b = 7';
my $small_q  = 'SELECT id, v FROM small WHERE v = 84';
my $page_q   = 'SELECT id, v FROM small ORDER BY id LIMIT 20';
my $lookup_q = 'SELECT id FROM small WHERE id = 1';
my $over_q   = 'SELECT id FROM big WHERE id <= 600';

is( sql("SET $force_parallel = on; EXPLAIN (COSTS OFF, VERBOSE) $scan_q")
	  =~ /Gather.*Single Copy: true/s ? 'gather' : 'no gather',
	'gather', 'force_parallel_mode: a statement runs under a single-copy Gather');

foreach my $mode ('warn', 'error')
{
	my $t = "force_parallel_mode, enforce = $mode";
	reset_all();
	$c = wire(%detectors, 'perfguard.enforce' => $mode);
	@r = run_each($c, $scan_q, $small_q, $page_q, 'BEGIN',
		'SELECT id FROM small WHERE id = 1',
		'SELECT id FROM small WHERE id = 2',
		'SELECT id FROM small WHERE id = 3', 'COMMIT', 'INSERT INTO t2 VALUES (7)');
	is(join('', map { states($_->{errors}) } @r), '', "$t: every ordinary statement works")
	  or do { said($t, $_) for @r };
	is(join('', map { states($_->{notices}) } @r), '', "$t: no warning");
	is(join(' ', map { scalar @{ $_->{results}[0]{rows} } } @r), '1 1 20 0 1 1 1 0 0',
		"$t: the rows of each statement");
	is( sql(
			"SELECT string_agg(format('%s|%s|%s|%s', query, calls, rows, n_plus_one), E'\\n' ORDER BY query COLLATE \"C\")
			   FROM perfguard.stats WHERE userid = 'app'::regrole"),
		join("\n",
			'BEGIN|1|0|0',
			'COMMIT|1|0|0',
			'INSERT INTO t2 VALUES ($1)|1|1|0',
			'SELECT count(*) FROM big WHERE b = $1|1|1|0',
			'SELECT id FROM small WHERE id = $1|3|3|1',
			'SELECT id, v FROM small ORDER BY id LIMIT $1|1|20|0',
			'SELECT id, v FROM small WHERE v = $1|1|1|0'),
		"$t: each statement counted once (the lookup three times), with its rows");
	is( sql(
			"SELECT string_agg(format('%s %s', query, seq_scans), ', ' ORDER BY query COLLATE \"C\")
			   FROM perfguard.stats WHERE userid = 'app'::regrole AND (seq_scans > 0 OR fingerprint = "
			  . fp($scan_q) . ')'),
		'SELECT count(*) FROM big WHERE b = $1 1',
		"$t: the scan of big (200,000 rows, run by the worker) is flagged in perfguard.stats, nothing else");
	is(events_of('seq_scan', $scan_q, "detail->>'relation' = 'public.big'"), '1',
		"$t: one seq_scan event for the scan of big");
	is( sql(
			"SELECT count(*) FROM perfguard.events
			  WHERE username = 'app' AND kind = 'seq_scan' AND fingerprint <> " . fp($scan_q)),
		'0', "$t: no seq_scan event for another statement");
	is( sql(
			"SELECT string_agg(n::text, ' ' ORDER BY q COLLATE \"C\") FROM
			   (SELECT (SELECT count(*) FROM perfguard.events e
			             WHERE e.username = 'app' AND e.kind = 'slow_plan' AND e.fingerprint = perfguard.fingerprint(q)) AS n, q
			      FROM unnest(ARRAY[" . join(', ', map { lit($_) } $scan_q, $small_q, $page_q, $lookup_q,
				'INSERT INTO t2 VALUES (7)') . "]) q) s"),
		'1 1 3 1 1',
		"$t: one slow_plan event per execution");
	is(events_of('n_plus_one', $lookup_q, "detail->>'count' = '3'"), '1',
		"$t: one n_plus_one event for the lookups, 3 times");

	# over the default budget's max_rows (500)
	my ($over) = run_each($c, $over_q);
	if ($mode eq 'warn')
	{
		is(scalar(@{ $over->{results}[0]{rows} }) . ' ' . with_state($over, 'PF003'),
			'600 WARNING PF003', "$t: over the default budget: the rows and a WARNING")
		  or said($over_q, $over);
	}
	else
	{
		is(states($over->{errors}), 'PF003', "$t: over the default budget: ERROR PF003")
		  or said($over_q, $over);
	}
	is(stat_of($over_q), '1 600', "$t: the statement over budget counted once");
	ok($c->alive, "$t: the connection is usable");
	$c->terminate;
}
sql('SELECT perfguard.drop_default_budget()');

###########################################################################
# 2. A real Parallel Seq Scan whose rows go through f (PARALLEL SAFE, one
#    SELECT every 1000 rows), track = all, enforce = warn.  Each run is
#    the first statement of its session, so that the budgets are read
#    while it runs.
###########################################################################
my %parallel = (
	parallel_setup_cost             => 0,
	parallel_tuple_cost             => 0,
	min_parallel_table_scan_size    => 0,
	max_parallel_workers_per_gather => 2,
	'perfguard.enforce'             => 'warn');
my $count_q = 'SELECT count(f(id)) FROM big';
my $inner_q = 'SELECT v FROM small WHERE id = 1';    # f's SELECT

$c = wire(%parallel);
my $plan = join("\n",
	map { $_->[0] } @{ $c->simple("EXPLAIN (COSTS OFF) $count_q")->{results}[0]{rows} });
$c->terminate;
like($plan, qr/Workers Planned: 2.*Partial Aggregate.*Parallel Seq Scan on big/s,
	'parallel: two workers planned, f evaluated below the Gather')
  or diag($plan);

# The Parallel Seq Scan itself (no function): flagged once, as parallel.
my $pscan_q = 'SELECT count(*) FROM big WHERE b = 5';
reset_all();
$c = wire(%parallel, 'perfguard.seqscan_min_rows' => 1000);
$plan = join("\n",
	map { $_->[0] } @{ $c->simple("EXPLAIN (COSTS OFF) $pscan_q")->{results}[0]{rows} });
like($plan, qr/Workers Planned: 2.*Parallel Seq Scan on big/s, 'parallel scan: two workers planned')
  or diag($plan);
my $pr = $c->simple($pscan_q);
is(first_value($pr) . ' ' . states($pr->{errors}), '200 ', 'parallel scan: the query succeeds')
  or said('parallel scan', $pr);
is(stat_of($pscan_q), '1 1', 'parallel scan: counted once');
is(events_of('seq_scan', $pscan_q, "detail->>'parallel' = 'true' AND detail->>'relation' = 'public.big'"),
	'1', 'parallel scan: one seq_scan event, parallel');
$c->terminate;

foreach my $case (
	[ 'workers',     {} ],
	[ 'leader only', { max_parallel_workers => 0 } ],
	[ 'workers, nested statement over budget',     {}, 1 ],
	[ 'leader only, nested statement over budget', { max_parallel_workers => 0 }, 1 ])
{
	my ($name, $extra, $budget) = @$case;
	my $t = "parallel, $name";
	reset_all();
	sql('SELECT perfguard.set_budget(' . lit($inner_q) . ', max_rows => 0)') if $budget;
	$c = wire(%parallel, %$extra);
	my $r = $c->simple($count_q);
	is(first_value($r) . ' ' . states($r->{errors}), '200000 ', "$t: the query succeeds")
	  or said($t, $r);
	is(stat_of($count_q), '1 1', "$t: counted once");
	if ($name =~ /leader only/)
	{
		is(stat_of($inner_q, 'false'), '200 200',
			"$t: the leader ran f's 200 SELECTs, each counted");
	}
	if ($name eq 'leader only, nested statement over budget')
	{
		is(scalar(grep { $_->{C} eq 'PF003' && $_->{S} eq 'WARNING' } @{ $r->{notices} }),
			200, "$t: a WARNING for each of the 200 nested executions");
	}
	ok($c->alive, "$t: the connection is usable");
	$c->terminate;
	sql('SELECT perfguard.drop_budget(' . lit($inner_q) . ')') if $budget;
}

###########################################################################
# 3. Cursors never closed: BEGIN; DECLARE; FETCH; COMMIT.
###########################################################################

# Runs the transaction; returns the reads of its statements by name.
sub cursor_xact
{
	my ($c, $query, $fetch, @before) = @_;
	my @statements = ('BEGIN', @before, "DECLARE c CURSOR FOR $query", $fetch, 'COMMIT');
	my @names = ('BEGIN', (map { 'before' } @before), 'DECLARE', 'FETCH', 'COMMIT');
	my %r;
	@r{@names} = run_each($c, @statements);
	return \%r;
}

sub no_errors
{
	my ($x) = @_;
	return join(' ', map { "$_:" . states($x->{$_}{errors}) } qw(BEGIN DECLARE FETCH COMMIT));
}

# 3a. A flagged sequential scan.
my $cscan_q = 'SELECT id FROM big WHERE b = 3';
reset_all();
$c = wire('perfguard.seqscan_min_rows' => 1000);
my $x = cursor_xact($c, $cscan_q, 'FETCH 10 FROM c');
is(no_errors($x), 'BEGIN: DECLARE: FETCH: COMMIT:', 'cursor, seq scan: no error');
is(stat_of($cscan_q), '1 10', 'cursor, seq scan: the query counted once, 10 rows');
is(sql("SELECT seq_scans FROM perfguard.stats WHERE userid = 'app'::regrole AND fingerprint = " . fp($cscan_q)),
	'1', 'cursor, seq scan: the flagged scan in perfguard.stats');
is(events_of('seq_scan', $cscan_q, "detail->>'relation' = 'public.big'"), '1',
	'cursor, seq scan: a seq_scan event for the cursor\'s query');
$c->terminate;

# 3b. A captured plan.
my $cplan_q = 'SELECT id, v FROM small ORDER BY v DESC';
reset_all();
$c = wire('perfguard.capture_mode' => 'always', 'perfguard.capture_min_duration' => 0);
$x = cursor_xact($c, $cplan_q, 'FETCH 10 FROM c');
is(no_errors($x), 'BEGIN: DECLARE: FETCH: COMMIT:', 'cursor, slow plan: no error');
is(stat_of($cplan_q), '1 10', 'cursor, slow plan: the query counted once, 10 rows');
is( events_of(
		'slow_plan', $cplan_q,
		"detail->>'rows' = '10' AND detail->>'analyzed' = 'true' AND plan LIKE '%Sort%'"),
	'1', 'cursor, slow plan: a slow_plan event with its plan, 10 rows');
$c->terminate;

# 3c. N+1 inside the cursor's query: g runs a SELECT per row (threshold 5).
my $cnp_q   = 'SELECT g(id) FROM small ORDER BY id';
my $g_inner = 'SELECT v FROM small WHERE id = 1 AND v > 0';
reset_all();
$c = wire('perfguard.nplus1_threshold' => 5, 'perfguard.nplus1_action' => 'warn');
$x = cursor_xact($c, $cnp_q, 'FETCH 10 FROM c');
is(no_errors($x), 'BEGIN: DECLARE: FETCH: COMMIT:', 'cursor, N+1: no error');
is(with_state($x->{FETCH}, 'PF001'), 'WARNING PF001', 'cursor, N+1: the FETCH gets the WARNING');
is(with_state($x->{COMMIT}, 'PF001'), '', 'cursor, N+1: the COMMIT gets none');
is(stat_of($cnp_q), '1 10', 'cursor, N+1: the cursor\'s query counted once, 10 rows');
is(stat_of($g_inner, 'false'), '10 10', "cursor, N+1: g's SELECT, 10 nested calls");
is( sql(
		"SELECT format('%s %s', e.detail->>'count',
		               ROW(e.detail->>'parent_fingerprint', e.detail->>'parent_query') IN
		                 (ROW((" . fp('FETCH 10 FROM c') . ")::text, 'FETCH \$1 FROM c'),
		                  ROW((" . fp($cnp_q) . ")::text, " . lit($cnp_q) . ")))
		   FROM perfguard.events e
		  WHERE e.username = 'app' AND e.kind = 'n_plus_one' AND e.fingerprint = " . fp($g_inner)),
	'10 t',
	"cursor, N+1: one event, 10 times, after the FETCH or the cursor's query");
$c->terminate;

# 3d. A budget broken by the cursor's query: max_rows 50, FETCH 100; and
#     FETCH 30 twice (in one Query), where the second crosses the limit.
my $cbud_q = 'SELECT id, v FROM small ORDER BY id';
my $cbud_fp = sql('SELECT perfguard.set_budget(' . lit($cbud_q) . ', max_rows => 50)');
foreach my $case ([ 'error', 'FETCH 100 FROM c', 1 ], [ 'warn', 'FETCH 100 FROM c', 2 ],
	[ 'error', 'FETCH 30 FROM c; FETCH 30 FROM c', 3 ])
{
	my ($mode, $fetch, $note) = @$case;
	my $t = "cursor, budget, enforce = $mode" . ($note == 3 ? ', two FETCHes' : '');
	reset_all();
	$c = wire('perfguard.enforce' => $mode);
	$x = cursor_xact($c, $cbud_q, $fetch, "INSERT INTO t2 VALUES ($note)");
	my $severity = $mode eq 'error' ? 'ERROR' : 'WARNING';
	if ($note == 3)
	{
		my $first = $x->{FETCH}{results}[0];
		is(($first->{tag} // 'none') . ' ' . scalar(@{ $first->{rows} }), 'FETCH 30 30',
			"$t: the first FETCH (30 rows, within max_rows) succeeds");
	}
	is(with_state($x->{FETCH}, 'PF003'), "$severity PF003", "$t: the FETCH gets $severity PF003")
	  or said('FETCH', $x->{FETCH});
	is(with_state($x->{COMMIT}, 'PF003'), '', "$t: the COMMIT gets no PF003")
	  or said('COMMIT', $x->{COMMIT});
	my $fetch_failed = @{ $x->{FETCH}{errors} } > 0;
	my $commit = $x->{COMMIT}{results}[0]{tag} // ('ERROR ' . states($x->{COMMIT}{errors}));
	my $kept = sql("SELECT count(*) FROM t2 WHERE x = $note");
	note("$t: FETCH " . ($fetch_failed ? 'failed' : 'succeeded') . ", COMMIT: $commit, INSERT kept: $kept");
	is("$commit $kept", $fetch_failed ? 'ROLLBACK 0' : 'COMMIT 1',
		"$t: COMMIT and the INSERT follow the FETCH's outcome ("
		  . ($fetch_failed ? 'failed' : 'succeeded') . ')');
	is( sql(
			"SELECT coalesce(s.calls, 0) || ' ' || coalesce((s.max_rows > 50)::text, 'none') || ' ' ||
			        EXISTS (SELECT FROM perfguard.violations() v
			                 WHERE v.fingerprint = $cbud_fp AND v.limit_name = 'max_rows')
			   FROM (SELECT) one LEFT JOIN perfguard.statements s ON s.fingerprint = $cbud_fp"),
		'1 true true',
		"$t: the execution is booked to the cursor's query (calls, max_rows over 50, in violations())");
	ok($c->alive, "$t: the connection is usable");
	$c->terminate;
}
sql('SELECT perfguard.drop_budget(' . lit($cbud_q) . ')');

###########################################################################
# 4. A cursor fetched in pieces: one execution, all its rows; closed at
#    COMMIT or by CLOSE.
###########################################################################
my $pieces_q = 'SELECT id FROM small ORDER BY id';
foreach my $close ('', 'CLOSE c')
{
	my $t = 'cursor in pieces, ' . ($close ? 'CLOSE' : 'closed at COMMIT');
	reset_all();
	$c = wire();
	my @reads = run_each($c, 'BEGIN', "DECLARE c CURSOR FOR $pieces_q", 'FETCH 10 FROM c',
		'FETCH 25 FROM c', 'FETCH ALL FROM c', ($close ? ($close) : ()), 'COMMIT');
	is(join(' ', map { scalar @{ $_->{rows} } } map { $_->{results}[0] } @reads[ 2 .. 4 ]),
		'10 25 65', "$t: the FETCHes got 10, 25 and 65 rows");
	is(join('', map { states($_->{errors}) } @reads), '', "$t: no error");
	is(stat_of($pieces_q), '1 100', "$t: one execution, 100 rows");
	is( sql(
			"SELECT sum(calls) || ' ' || sum(rows) FROM perfguard.stats
			  WHERE userid = 'app'::regrole AND query LIKE 'FETCH %'"),
		'3 100', "$t: the three FETCH commands, with their rows");
	$c->terminate;
}

$node->stop;
done_testing();
