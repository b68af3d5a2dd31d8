# perfguard and the extended query protocol, spoken message by message
# (test/perl/PerfguardWire.pm), the way drivers speak it:
#
#  - a portal fetched 10 rows at a time (JDBC's fetchSize), closed at COMMIT,
#    by Close, or fetched with Flush inside one implicit transaction: one
#    execution with all its rows, and nothing else counted;
#  - portals of the same and of different statements fetched in turns;
#  - a portal closed while another is suspended, and N+1 repetitions inside
#    the suspended one: the event names the portal's statement;
#  - the crash recipe: a suspended portal whose function repeats a SELECT
#    (N+1), while a portal of the same statement with a 40 MB comment is run
#    and closed: the backend and the server stay up, and the event names
#    the right parent;
#  - a pipeline of Parse/Bind/Execute without Sync;
#  - budgets (perfguard.enforce = error and warn, max_rows) on a portal
#    fetched in pieces: PF003 on an Execute, never on the COMMIT after it;
#  - perfguard.nplus1_action = error: PF001 on the Execute that completed
#    the pattern.
#  - a portal fetched in pieces that fails in a later Execute: a failed
#    execution and a failed event, accounted when the session ends.
# Statistics and events are checked against perfguard.fingerprint() of the
# statements' texts, with exact calls and rows.
#
# The client under test connects as the role "app"; every check reads
# perfguard's views as the bootstrap superuser, so only app's statements
# are counted under app.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use PerfguardWire;

my $node = PostgreSQL::Test::Cluster->new('proto');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'perfguard'
perfguard.track = all
perfguard.track_utility = on
perfguard.capture_interval = 0
# a crash must not take the rest of the test down with it
restart_after_crash = on
# the 40 MB statement would be written to the log at every message
log_statement = none
max_parallel_workers_per_gather = 0
jit = off
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION perfguard;
CREATE ROLE app LOGIN SUPERUSER;
CREATE TABLE items (id int PRIMARY KEY, v int);
INSERT INTO items SELECT g, g * 2 FROM generate_series(1, 100) g;
ANALYZE items;
CREATE TABLE notes (id int);
CREATE FUNCTION f(int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE r int;
BEGIN
	SELECT v INTO r FROM items WHERE id = $1;
	RETURN r;
END $$;
});

#
# Helpers
#

# A connection of the client under test, with session settings.
sub wire
{
	my (%settings) = @_;
	return PerfguardWire->connect($node, user => 'app', options => \%settings);
}

sub reset_all
{
	$node->safe_psql('postgres',
		'SELECT perfguard.reset(), perfguard.reset_events()');
	return;
}

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('postgres', $query);
}

# A text as an SQL literal.
sub lit
{
	my ($text) = @_;
	$text =~ s/'/''/g;
	return "'$text'";
}

# "calls rows" of a statement run by app, at top level or nested.
sub stat_of
{
	my ($text, $toplevel) = @_;
	$toplevel //= 'true';
	return sql(
		"SELECT coalesce(sum(calls), 0) || ' ' || coalesce(sum(rows), 0)
		   FROM perfguard.stats
		  WHERE userid = 'app'::regrole AND toplevel = $toplevel
		    AND fingerprint = perfguard.fingerprint(" . lit($text) . ')');
}

# Every entry of app: "query|calls|rows" lines.
sub app_stats
{
	return sql(
		q{SELECT string_agg(format('%s|%s|%s', query, calls, rows), E'\n' ORDER BY query COLLATE "C")
		    FROM perfguard.stats WHERE userid = 'app'::regrole});
}

# The rows of all the results of a read, and of one result.
sub rows_of
{
	my ($r) = @_;
	return [ map { @{ $_->{rows} } } @{ $r->{results} } ];
}

# SQLSTATEs of the errors (or notices) of a read, "" for none.
sub states
{
	my ($list) = @_;
	return join(' ', map { $_->{C} } @$list);
}

# Message types of a read, e.g. "2 D D C Z".
sub kinds
{
	my ($r) = @_;
	return join(' ', map { $_->[0] } @{ $r->{messages} });
}

# Show what the server said, when a check failed.
sub said
{
	my ($what, $r) = @_;
	diag("$what: $_->{S} $_->{C} $_->{M}") for @{ $r->{errors} }, @{ $r->{notices} };
	diag("$what: connection lost") if $r->{eof};
	return;
}

my $c;
my $r;

###########################################################################
# 1. A portal fetched 10 rows at a time, as JDBC does with a fetchSize:
#    one execution, with the 100 rows of all the Executes.
###########################################################################
my $fetch_q = 'SELECT id, v FROM items ORDER BY id';

foreach my $variant ('closed at COMMIT', 'closed by Close', 'flushed, no BEGIN')
{
	reset_all();
	$c = wire();
	my $in_xact = $variant ne 'flushed, no BEGIN';
	$c->simple('BEGIN') if $in_xact;
	$c->parse('fetch', $fetch_q);
	$c->bind('C_1', 'fetch');
	$c->describe('P', 'C_1');
	my @ids;
	my $executes = 0;
	my $errors   = '';
	while (1)
	{
		$c->execute('C_1', 10);
		$executes++;
		if ($in_xact)
		{
			$c->sync;
			$r = $c->read_until_ready;
		}
		else
		{
			$c->flush;
			$r = $c->read_results(1);
		}
		$errors .= states($r->{errors});
		push @ids, map { $_->[0] } @{ rows_of($r) };
		last unless $r->{results}[-1]{suspended} && $executes < 20;
	}
	is(join(',', @ids), join(',', 1 .. 100), "fetchSize, $variant: 100 rows in order");
	is($executes, 11, "fetchSize, $variant: 10 suspended Executes and a last one");
	if ($variant eq 'closed by Close')
	{
		$c->close('P', 'C_1');
		$c->sync;
		$errors .= states($c->read_until_ready->{errors});
	}
	if ($in_xact)
	{
		$r = $c->simple('COMMIT');
		$errors .= states($r->{errors});
	}
	else
	{
		$c->sync;
		$errors .= states($c->read_until_ready->{errors});
	}
	is($errors, '', "fetchSize, $variant: no error");
	is(stat_of($fetch_q), '1 100', "fetchSize, $variant: one call, 100 rows");
	is(app_stats(),
		$in_xact
		? "BEGIN|1|0\nCOMMIT|1|0\nSELECT id, v FROM items ORDER BY id|1|100"
		: 'SELECT id, v FROM items ORDER BY id|1|100',
		"fetchSize, $variant: nothing else counted");
	$c->terminate;
}

###########################################################################
# 2. Portals of the same and of different statements, fetched in turns.
###########################################################################
reset_all();
$c = wire();
$c->simple('BEGIN');
my $a_q = 'SELECT id FROM items WHERE id <= $1 ORDER BY id';
my $b_q = 'SELECT g FROM generate_series(1, $1) g';
$c->parse('a', $a_q, 23);
$c->parse('b', $b_q, 23);
$c->bind('a1', 'a', 30);
$c->bind('a2', 'a', 50);
$c->bind('b1', 'b', 40);
$c->sync;
is(states($c->read_until_ready->{errors}), '', 'interleaved: statements and portals made');
my %got = (a1 => 0, a2 => 0, b1 => 0);
my %done;
foreach my $step (
	[ 'a1', 10 ], [ 'b1', 10 ], [ 'a2', 10 ], [ 'a1', 7 ], [ 'b1', 10 ],
	[ 'a2', 30 ], [ 'a1', 0 ], [ 'b1', 5 ], [ 'a2', 0 ], [ 'b1', 0 ])
{
	my ($portal, $n) = @$step;
	$c->execute($portal, $n);
	$c->sync;
	$r = $c->read_until_ready;
	$got{$portal} += scalar @{ rows_of($r) };
	$done{$portal} = 1 if defined $r->{results}[-1]{tag};
}
is(join(' ', map { "$_=$got{$_}" } sort keys %got),
	'a1=30 a2=50 b1=40', 'interleaved: each portal got its rows');
is(join(' ', sort keys %done), 'a1 a2 b1', 'interleaved: every portal completed');
$c->close('P', 'a1');
$c->sync;
$c->read_until_ready;
is(states($c->simple('COMMIT')->{errors}), '', 'interleaved: COMMIT');
is(stat_of('SELECT id FROM items WHERE id <= 30 ORDER BY id'), '2 80',
	'interleaved: two portals of one statement: 2 calls, 80 rows');
is(stat_of('SELECT g FROM generate_series(1, 40) g'), '1 40',
	'interleaved: the other statement: 1 call, 40 rows');
$c->terminate;

###########################################################################
# 3. A portal closed while another is suspended; the suspended one's
#    function repeats a SELECT (N+1, threshold 10) after the other closed.
###########################################################################
my $outer_q  = 'SELECT f(i) FROM generate_series(1, 20) i';
my $inner_q  = 'SELECT v FROM items WHERE id = 1';    # f's SELECT
my $outer_fp = sql('SELECT perfguard.fingerprint(' . lit($outer_q) . ')');
my $inner_fp = sql('SELECT perfguard.fingerprint(' . lit($inner_q) . ')');
my $outer_norm = 'SELECT f(i) FROM generate_series($1, $2) i';

reset_all();
$c = wire('perfguard.nplus1_threshold' => 10);
$c->simple('BEGIN');
$c->parse('s1', $outer_q);
$c->bind('p1', 's1');
$c->execute('p1', 5);
$c->sync;
$r = $c->read_until_ready;
ok($r->{results}[0]{suspended} && @{ rows_of($r) } == 5,
	'closed while suspended: p1 suspended after 5 rows');
$c->parse('s2', 'SELECT v FROM items WHERE id <= 7');
$c->bind('p2', 's2');
$c->execute('p2', 0);
$c->close('P', 'p2');
$c->sync;
$r = $c->read_until_ready;
is(kinds($r), '1 2 D D D D D D D C 3 Z', 'closed while suspended: p2 ran and was closed');
$c->execute('p1', 0);
$c->sync;
$r = $c->read_until_ready;
is(scalar @{ rows_of($r) } . ' ' . states($r->{errors}), '15 ',
	'closed while suspended: p1 gives its other 15 rows');
is(states($c->simple('COMMIT')->{errors}), '', 'closed while suspended: COMMIT');
is(stat_of($outer_q), '1 20', 'closed while suspended: p1: 1 call, 20 rows');
is(stat_of('SELECT v FROM items WHERE id <= 7'), '1 7', 'closed while suspended: p2: 1 call, 7 rows');
is(stat_of($inner_q, 'false'), '20 20', "closed while suspended: f's SELECT: 20 nested calls");
is( sql(
		"SELECT format('%s %s %s', detail->>'count', detail->>'parent_fingerprint' = '$outer_fp', detail->>'parent_query')
		   FROM perfguard.events WHERE kind = 'n_plus_one' AND fingerprint = $inner_fp"),
	"20 t $outer_norm",
	"closed while suspended: the N+1 event's parent is p1's statement, which called f");
$c->terminate;

###########################################################################
# 4. The crash recipe.  p1 is suspended after 5 rows (f's SELECT ran 5
#    times); p2, the same statement with a 40 MB comment, runs one row (6)
#    and is closed; p1's second Execute completes the N+1 pattern (10) and
#    goes on to 21.  The statement under way is then p1, whose text is
#    alive; p2's text was freed with its portal.
###########################################################################
# The text of p2: 40 MB of comment after the statement.
my $huge_q = $outer_q . ' /* ' . ('0123456789abcdef' x (40 * 65536)) . ' */';

foreach my $sep ('Sync', 'Flush')
{
	my $t = "crash recipe ($sep)";
	reset_all();
	my $log_offset = -s $node->logfile;
	# a crash of any backend terminates every other session
	my $bystander = PerfguardWire->connect($node);
	$c = wire('perfguard.nplus1_threshold' => 10);
	$c->simple('BEGIN');
	$c->parse('s1', $outer_q);
	$c->bind('p1', 's1');
	$c->execute('p1', 5);
	$sep eq 'Sync' ? $c->sync : $c->flush;
	$r = $sep eq 'Sync' ? $c->read_until_ready : $c->read_results(1);
	ok($r->{results}[0]{suspended} && @{ rows_of($r) } == 5, "$t: p1 suspended after 5 rows");
	$c->parse('s2', $huge_q);
	$c->bind('p2', 's2');
	$c->execute('p2', 1);
	$c->close('P', 'p2');
	$sep eq 'Sync' ? $c->sync : $c->flush;
	$r = $sep eq 'Sync' ? $c->read_until_ready : $c->read_results(1);
	is(kinds($r), $sep eq 'Sync' ? '1 2 D s 3 Z' : '1 2 D s',
		"$t: p2 (40 MB of comment) ran one row" . ($sep eq 'Sync' ? ' and was closed' : ''));
	$c->execute('p1', 0);
	$c->sync;
	$r = $c->read_until_ready;
	is(scalar @{ rows_of($r) } . ' ' . states($r->{errors}) . ($r->{eof} ? 'connection lost' : ''),
		'15 ', "$t: p1's second Execute gives its other 15 rows");
	is(($r->{status} // 'none') . ($sep eq 'Flush' ? ' ' . kinds($r) : ''),
		$sep eq 'Flush' ? 'T 3 ' . join(' ', ('D') x 15) . ' C Z' : 'T',
		"$t: " . ($sep eq 'Flush' ? 'p2 closed, then ' : '') . 'p1 completed, transaction open');
	$r = $c->simple('COMMIT');
	is(($r->{results}[0]{tag} // 'none') . ' ' . states($r->{errors}), 'COMMIT ', "$t: COMMIT");
	ok($c->alive, "$t: the connection is alive");
	ok($bystander->alive, "$t: another session was not terminated");
	$node->poll_query_until('postgres', 'SELECT true')
	  or die 'the server did not come back';
	my $log = slurp_file($node->logfile, $log_offset);
	ok($log !~ /terminated by signal/, "$t: no backend was terminated by a signal");
	diag("server log: $1") if $log =~ /(.*terminated by signal.*\n(?:.*DETAIL.*\n)?)/;
	is( sql(
			"SELECT format('%s %s %s', detail->>'count', detail->>'parent_fingerprint' = '$outer_fp',
			               detail->>'parent_query' = " . lit($outer_norm) . " OR
			               detail->>'parent_query' LIKE " . lit("$outer_norm /* 0123456789abcdef%") . ")
			   FROM perfguard.events WHERE kind = 'n_plus_one' AND fingerprint = $inner_fp"),
		'21 t t',
		"$t: the N+1 event of f's SELECT, 21 times, after the SELECT f(i)");
	is(stat_of($outer_q), '2 21', "$t: SELECT f(i): p1 and p2, 2 calls, 21 rows");
	is(stat_of($inner_q, 'false'), '21 21', "$t: f's SELECT: 21 nested calls");
	is(sql("SELECT sum(n_plus_one) FROM perfguard.stats WHERE fingerprint = $inner_fp"),
		'1', "$t: f's SELECT completed one N+1 pattern");
	$c->terminate if $c->alive;
	$bystander->terminate if $bystander->alive;
}

###########################################################################
# 5. A pipeline: Parse/Bind/Execute of four statements, Flush, then Sync.
###########################################################################
reset_all();
$c = wire();
my @pipeline = (
	[ 'SELECT count(*) FROM items', [], [] ],
	[ 'SELECT id FROM items WHERE id <= 3 ORDER BY id', [], [] ],
	[ 'INSERT INTO notes VALUES (1), (2)', [], [] ],
	[ 'SELECT v FROM items WHERE id = $1', [23], [7] ]);
foreach my $p (@pipeline)
{
	my ($q, $types, $params) = @$p;
	$c->parse('', $q, @$types);
	$c->bind('', '', @$params);
	$c->execute('', 0);
}
$c->flush;
$r = $c->read_results(4);
is(join(', ', map { $_->{tag} // $_->{error}{C} // '?' } @{ $r->{results} }),
	'SELECT 1, SELECT 3, INSERT 0 2, SELECT 1',
	'pipeline: four results before Sync');
is(join(',', map { $_->[0] } @{ rows_of($r) }), '100,1,2,3,14', 'pipeline: their rows');
$c->sync;
$r = $c->read_until_ready;
is(($r->{status} // '?') . ' ' . states($r->{errors}), 'I ', 'pipeline: Sync commits');
is(app_stats(),
	join("\n",
		'INSERT INTO notes VALUES ($1), ($2)|1|2',
		'SELECT count(*) FROM items|1|1',
		'SELECT id FROM items WHERE id <= $1 ORDER BY id|1|3',
		'SELECT v FROM items WHERE id = $1|1|1'),
	'pipeline: each statement counted once, with its rows, and nothing else');
is(stat_of('SELECT v FROM items WHERE id = 7'), '1 1',
	'pipeline: the parameterized statement under its fingerprint');
$c->terminate;

###########################################################################
# 6. Budgets: max_rows 15 on a statement fetched 10 rows at a time.
###########################################################################
my $budget_q = 'SELECT v FROM items ORDER BY v';
my $budget_fp = sql('SELECT perfguard.set_budget(' . lit($budget_q) . ', max_rows => 15)');

# Run BEGIN; INSERT; the portal 10 rows at a time; COMMIT.  Returns the
# first Execute (1, 2, ...) that had a PF003 and its severity, the number of
# PF003 messages the Executes had, the number of Executes, and the COMMIT's
# read.
sub fetch_over_budget
{
	my ($c, $note) = @_;
	my ($at, $severity, $messages, $executes) = (undef, undef, 0, 0);
	$c->simple('BEGIN');
	$c->simple("INSERT INTO notes VALUES ($note)");
	$c->parse('bud', $budget_q);
	$c->bind('B_1', 'bud');
	while ($executes < 20)
	{
		$c->execute('B_1', 10);
		$c->sync;
		my $r = $c->read_until_ready;
		$executes++;
		foreach my $m (@{ $r->{errors} }, @{ $r->{notices} })
		{
			next unless $m->{C} eq 'PF003';
			$messages++;
			$at //= $executes;
			$severity //= $m->{S};
		}
		last if @{ $r->{errors} } || !$r->{results}[-1]{suspended};
	}
	return ($at, $severity, $messages, $executes, $c->simple('COMMIT'));
}

sub pf003_in
{
	my ($r) = @_;
	return join(' ', map { "$_->{S} $_->{C}" } grep { $_->{C} eq 'PF003' } @{ $r->{errors} },
		@{ $r->{notices} });
}

foreach my $mode ('error', 'warn')
{
	reset_all();
	sql('TRUNCATE notes');
	$c = wire('perfguard.enforce' => $mode);
	my $note = $mode eq 'error' ? 15 : 16;
	my ($at, $severity, $messages, $executes, $commit) = fetch_over_budget($c, $note);
	ok(defined $at && ($at == 2 || $at == $executes),
		"enforce = $mode: PF003 on the Execute that crossed max_rows (2) or at completion"
		  . (defined $at ? " (got Execute $at of $executes)" : ' (no Execute had it)'));
	is($severity // 'none', $mode eq 'error' ? 'ERROR' : 'WARNING',
		"enforce = $mode: PF003 is an " . ($mode eq 'error' ? 'ERROR' : 'WARNING'));
	is(pf003_in($commit), '', "enforce = $mode: no PF003 on COMMIT")
	  or said('COMMIT', $commit);
	if ($mode eq 'error')
	{
		is(($commit->{results}[0]{tag} // 'none') . ' ' . states($commit->{errors}),
			'ROLLBACK ', 'enforce = error: COMMIT of the failed transaction rolls back');
		is(sql("SELECT count(*) FROM notes WHERE id = $note"), '0',
			"enforce = error: the transaction's INSERT is rolled back");
	}
	else
	{
		is(($commit->{results}[0]{tag} // 'none') . ' ' . states($commit->{errors}),
			'COMMIT ', 'enforce = warn: COMMIT commits');
		is(sql("SELECT count(*) FROM notes WHERE id = $note"), '1',
			"enforce = warn: the transaction's INSERT is committed");
		is($messages, 1, 'enforce = warn: one WARNING for the portal, not one per Execute');
	}
	# the execution that broke the budget is counted, so that the reports
	# show the breach (docs/configuration.md: "counted in the statistics first")
	is( sql(
			"SELECT coalesce(s.calls, 0) || ' ' || coalesce((s.max_rows > 15)::text, 'none') || ' ' ||
			        EXISTS (SELECT FROM perfguard.violations() v
			                 WHERE v.fingerprint = $budget_fp AND v.limit_name = 'max_rows')
			   FROM (SELECT) one LEFT JOIN perfguard.statements s ON s.fingerprint = $budget_fp"),
		'1 true true',
		"enforce = $mode: the execution is booked to the budget's statement (calls, max_rows over 15, in violations())");
	ok($c->alive, "enforce = $mode: the connection is usable");
	$c->terminate;
}

###########################################################################
# 7. perfguard.nplus1_action = error, threshold 3: a list, then one lookup
#    per row, each Bind/Execute/Sync.  The third lookup's Execute fails.
###########################################################################
reset_all();
$c = wire(
	'perfguard.nplus1_action'    => 'error',
	'perfguard.nplus1_threshold' => 3);
my $list_q   = 'SELECT id FROM items WHERE id <= $1 ORDER BY id';
my $lookup_q = 'SELECT v FROM items WHERE id = $1';
$c->simple('BEGIN');
$c->parse('list',   $list_q,   23);
$c->parse('lookup', $lookup_q, 23);
$c->bind('', 'list', 5);
$c->execute('', 0);
$c->sync;
is(scalar @{ rows_of($c->read_until_ready) }, 5, 'nplus1_action = error: the list has 5 rows');
my (@rounds, @said);
foreach my $id (1 .. 5)
{
	$c->bind('', 'lookup', $id);
	$c->execute('', 0);
	$c->sync;
	$r = $c->read_until_ready;
	push @rounds, kinds($r) . (@{ $r->{errors} } ? ' ' . states($r->{errors}) : '');
	push @said, $r;
}
is($rounds[0], '2 D C Z', 'nplus1_action = error: lookup 1 runs');
is($rounds[1], '2 D C Z', 'nplus1_action = error: lookup 2 runs');
like($rounds[2], qr/^2 (D )*E Z PF001$/,
	'nplus1_action = error: the Execute of lookup 3 fails with PF001');
is($rounds[3], 'E Z 25P02', 'nplus1_action = error: lookup 4 is refused (transaction aborted)')
  or said('lookup 4 (Bind, Execute, Sync)', $said[3]);
$r = $c->simple('COMMIT');
is(($r->{results}[0]{tag} // 'none') . ' ' . states($r->{errors}), 'ROLLBACK ',
	'nplus1_action = error: COMMIT rolls back, without an error of its own');
is(stat_of('SELECT v FROM items WHERE id = 1'), '3 3',
	'nplus1_action = error: three lookups counted, the third included');
is( sql(
		"SELECT format('%s %s %s %s', e.detail->>'count', e.detail->>'parent_rows',
		               e.detail->>'parent_fingerprint' = perfguard.fingerprint(" . lit($list_q) . ")::text,
		               e.queryid IN (SELECT queryid FROM perfguard.stats WHERE fingerprint = e.fingerprint))
		   FROM perfguard.events e
		  WHERE e.kind = 'n_plus_one' AND e.fingerprint = perfguard.fingerprint(" . lit($lookup_q) . ')'),
	'3 5 t t',
	'nplus1_action = error: the event: the lookup, 3 times, after the 5-row list');
ok($c->alive, 'nplus1_action = error: the connection is usable');
$c->terminate;

###########################################################################
# The ORM-shaped nested N+1 (issue 14): posts, the comments of each post,
# the author of each comment, through prepared statements, in autocommit
# (each Sync its own transaction: a burst) and in one transaction.  Both
# loops are reported, each naming the query that drove it.
###########################################################################
sql(q{
CREATE TABLE posts (id int PRIMARY KEY);
CREATE TABLE comments (id int PRIMARY KEY, post_id int, author_id int);
CREATE TABLE authors (id int PRIMARY KEY, name text);
INSERT INTO posts SELECT generate_series(1, 20);
INSERT INTO comments SELECT g, 1 + g % 20, 1 + g % 30 FROM generate_series(1, 97) g;
INSERT INTO authors SELECT g, 'author ' || g FROM generate_series(1, 30) g;
ANALYZE posts, comments, authors;
});
my $posts_q    = 'SELECT id FROM posts ORDER BY id';
my $comments_q = 'SELECT id, author_id FROM comments WHERE post_id = $1 ORDER BY id';
my $author_q   = 'SELECT name FROM authors WHERE id = $1';

# one execution of a prepared statement, its rows
sub run_prepared
{
	my ($conn, $stmt, @params) = @_;
	$conn->bind('', $stmt, @params);
	$conn->execute('', 0);
	$conn->sync;
	my $res = $conn->read_until_ready;
	return rows_of($res);
}

foreach my $mode ('autocommit', 'transaction')
{
	reset_all();
	sleep 2;    # a burst of its own (perfguard.nplus1_window is 1 s)
	$c = wire();
	$c->parse('posts',    $posts_q);
	$c->parse('comments', $comments_q, 23);
	$c->parse('author',   $author_q, 23);
	$c->sync;
	$c->read_until_ready;
	if ($mode eq 'transaction')
	{
		$c->query('BEGIN');
		$c->read_until_ready;
	}
	my $lookups = 0;
	foreach my $post (@{ run_prepared($c, 'posts') })
	{
		foreach my $comment (@{ run_prepared($c, 'comments', $post->[0]) })
		{
			run_prepared($c, 'author', $comment->[1]);
			$lookups++;
		}
	}
	if ($mode eq 'transaction')
	{
		$c->query('COMMIT');
		$c->read_until_ready;
	}
	is($lookups, 97, "nested N+1, $mode: 20 posts, 97 comments, 97 author lookups");
	my $scope = $mode eq 'autocommit' ? 'session' : 'transaction';
	is( sql(
			q{SELECT string_agg(format('%s <- %s (%s)', query, detail->>'parent_query',
			                          detail->>'scope'), E'\n' ORDER BY query COLLATE "C")
			    FROM perfguard.events WHERE kind = 'n_plus_one'}),
		"SELECT id, author_id FROM comments WHERE post_id = \$1 ORDER BY id <- SELECT id FROM posts ORDER BY id ($scope)\n"
		  . "SELECT name FROM authors WHERE id = \$1 <- SELECT id, author_id FROM comments WHERE post_id = \$1 ORDER BY id ($scope)",
		"nested N+1, $mode: both loops reported, each after the query that drove it");
	$c->terminate;
}


# A portal fetched 10 rows at a time whose query fails in its third Execute
# (division by zero at id 25): one failed execution of the statement, not a
# call, and its failed event; the session ends right after, and the failure
# is accounted at its exit.
{
	reset_all();
	my $fail_q = 'SELECT id, 100 / (25 - id) FROM items ORDER BY id';
	# an index scan: each row computed as it is fetched, not all for a sort
	$c = wire(enable_seqscan => 'off', enable_sort => 'off');
	$c->simple('BEGIN');
	$c->parse('fails', $fail_q);
	$c->bind('F_1', 'fails');
	my ($executes, $error) = (0, '');
	while ($executes < 5)
	{
		$c->execute('F_1', 10);
		$c->sync;
		my $r = $c->read_until_ready;
		$executes++;
		if (@{ $r->{errors} })
		{
			$error = $r->{errors}[0]{C};
			last;
		}
	}
	is("$executes $error", '3 22012',
		'a portal fetched in pieces fails in its third Execute');
	$c->simple('ROLLBACK');
	$c->terminate;
	$node->poll_query_until('postgres',
		q{SELECT count(*) > 0 FROM perfguard.stats WHERE failed_calls > 0})
	  or die 'the failure was never accounted';
	is( sql(
			"SELECT calls || ' ' || failed_calls || ' ' || (failed_by_sqlstate->>'other')
			   FROM perfguard.stats
			  WHERE userid = 'app'::regrole
			    AND fingerprint = perfguard.fingerprint(" . lit($fail_q) . ')'),
		'0 1 1',
		'the failed portal: no call, one failed execution (other)');
	is( sql(
			q{SELECT string_agg(detail->>'sqlstate' || ' ' || (detail->>'message'), ',')
			    FROM perfguard.events WHERE kind = 'failed'}),
		'22012 division by zero',
		'its failed event, with the message of the error reported');
}

$node->stop;
done_testing();
