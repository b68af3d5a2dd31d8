# perfguard budgets and baselines where pg_regress cannot reach:
#
#  - pg_dump and restore (plain format through psql, custom format through
#    pg_restore) keep perfguard.budgets, perfguard.baselines and
#    perfguard.baseline_statements row for row; the restored baselines
#    export to the same documents and compare with the restored database's
#    statistics; the restored budgets are enforced;
#  - on a hot standby every report works read-only (violations,
#    regressions against a stored baseline and a document, new statements,
#    export of the current statistics and of a stored baseline,
#    assert_no_violations), capturing a baseline fails as read-only, and
#    one long-lived session with perfguard.enforce = error picks up budget
#    changes replayed from the primary within the one second the cache is
#    kept (and fails again, passes again, with no reconnect); a role
#    without pg_read_all_stats sees numbers but no other role's texts;
#  - on the primary, a budget change committed in one session applies from
#    the very next statement of another, whatever wrote it (UPDATE, DELETE,
#    INSERT, TRUNCATE, subtransactions, two-phase commit), and a change
#    rolled back (whole transaction or savepoint) never applies.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

# The statements budgets are put on.  A fingerprint ignores constants, so
# "WHERE id <= 1" and "WHERE id <= 5" are the same statement.
my $one_row = 'SELECT id FROM t WHERE id = 1';       # exactly one row
my $range   = 'SELECT * FROM t WHERE id <= 1';       # as many rows as the constant
my $range5  = 'SELECT * FROM t WHERE id <= 5';
my $pair    = 'SELECT id, val FROM t WHERE id < 2';  # baseline: 1 row; the reader: 5
my $pair6   = 'SELECT id, val FROM t WHERE id < 6';
my $fresh   = 'SELECT val FROM t WHERE id = 7';      # not in any baseline
my $guarded = 'SELECT id + 1 FROM t WHERE id = 2';   # the two-session checks

# The texts perfguard keeps: constants replaced by parameters.
my $range_text = 'SELECT * FROM t WHERE id <= $1';
my $pair_text  = 'SELECT id, val FROM t WHERE id < $1';
my $fresh_text = 'SELECT val FROM t WHERE id = $1';

my $tmp = PostgreSQL::Test::Utils::tempdir;

# A table without an index, so every plan is the same sequential scan of
# one page: the regression reports can differ only in what the tests make
# them differ in.
my $table_sql = q{
CREATE TABLE t (id integer, val text);
INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 10) i;
};

# Run SQL in a new session with verbose errors ("ERROR:  PF003: ...");
# returns (exit code, stdout, stderr).
sub run_sql
{
	my ($node, $db, $sql, @opts) = @_;
	return $node->psql($db, "\\set VERBOSITY verbose\n$sql", @opts);
}

# The SQLSTATE a session's SQL failed with, or 'ok'.
sub state_of
{
	my ($ret, $err) = @_;
	return $1 if $err =~ /ERROR:  ([0-9A-Z]{5}): /;
	return $ret == 0 ? 'ok' : "failed without SQLSTATE: $err";
}

# Check that SQL in a new session fails with a SQLSTATE and a message.
sub fails_with
{
	my ($node, $db, $sql, $sqlstate, $message_re, $name, @opts) = @_;
	my ($ret, $out, $err) = run_sql($node, $db, $sql, @opts);
	is(state_of($ret, $err), $sqlstate, "$name: fails with SQLSTATE $sqlstate");
	like($err, $message_re, "$name: the message says why") if defined $message_re;
	return $err;
}

# A long-lived session that survives errors and reports SQLSTATEs.
sub session
{
	my ($node, $db) = @_;
	return $node->background_psql($db, on_error_stop => 0,
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
}

# Run SQL in such a session: the SQLSTATE it failed with, or 'ok'.  (The
# session's stderr is cleared first: BackgroundPsql keeps it otherwise.)
sub in_session
{
	my ($s, $sql) = @_;
	$s->{stderr} = '';
	$s->query($sql);
	my $err = $s->{stderr};
	return $1 if $err =~ /ERROR:  ([0-9A-Z]{5}): /;
	return $err eq '' ? 'ok' : "failed without SQLSTATE: $err";
}

# Full row dumps of the three tables pg_dump must keep, in one order.
sub table_rows
{
	my ($node, $db, $table) = @_;
	return $node->safe_psql($db,
		"SELECT string_agg(r::text, E'\\n' ORDER BY r::text) FROM perfguard.$table r");
}

# A JSON document as an SQL literal.
sub jsonb_literal
{
	my ($doc) = @_;
	die "document contains the quoting tag" if $doc =~ /\$pfgdoc\$/;
	return "\$pfgdoc\$$doc\$pfgdoc\$::jsonb";
}

my $node = PostgreSQL::Test::Cluster->new('primary');
$node->init(allows_streaming => 1);
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'perfguard'
max_prepared_transactions = 2
});
$node->start;

###########################################################################
# 1. pg_dump and restore keep budgets and baselines.
###########################################################################

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', "CREATE EXTENSION perfguard; $table_sql");
# the workload of the first baseline: 1 row per call of $range
$node->safe_psql('src', join('', map { "$one_row; $range;\n" } 1 .. 3));
$node->safe_psql('src', qq{
SELECT perfguard.set_budget('$one_row', max_rows => 0);
SELECT perfguard.set_default_budget(max_rows => 5, max_ms => 600000);
SELECT perfguard.baseline_capture('before');
});
# a second baseline, imported from a document of the current statistics
$node->safe_psql('src', "SELECT * FROM t WHERE id <= 3; SELECT * FROM t WHERE id <= 3;");
is($node->safe_psql('src',
		"SELECT perfguard.baseline_import(perfguard.baseline_export(), 'after')"),
	'after', 'source: a second baseline imported from an export of the current statistics');

is($node->safe_psql('src',
		'SELECT string_agg(coalesce(query, \'(default)\') || \' max_rows=\' || max_rows, \'; \' ORDER BY query NULLS FIRST) FROM perfguard.budgets'),
	"(default) max_rows=5; $one_row max_rows=0",
	'source: the statement budget and the default budget are stored');
is($node->safe_psql('src', qq{
SELECT string_agg(b.name || ':' || (s.rows_per_call)::text, ' ' ORDER BY b.name)
  FROM perfguard.baselines b
  JOIN perfguard.baseline_statements s ON s.baseline = b.name
 WHERE s.fingerprint = perfguard.fingerprint('$range')}),
	'after:1.8 before:1',
	'source: both baselines hold the workload statement (1 row per call, then 9 rows in 5 calls)');

my %src_rows = map { $_ => table_rows($node, 'src', $_) }
  qw(budgets baselines baseline_statements);
my %src_docs = map {
	$_ => $node->safe_psql('src', "SELECT perfguard.baseline_export('$_')")
} qw(before after);

my $plain  = "$tmp/src.sql";
my $custom = "$tmp/src.dump";
$node->command_ok([ 'pg_dump', '-d', $node->connstr('src'), '-f', $plain ],
	'pg_dump, plain format');
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', $custom ],
	'pg_dump, custom format');

$node->safe_psql('postgres', 'CREATE DATABASE restored_plain');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('restored_plain'), '-f', $plain ],
	'plain dump restored with psql');
$node->safe_psql('postgres', 'CREATE DATABASE restored_custom');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored_custom'), $custom ],
	'custom dump restored with pg_restore');

foreach my $db ('restored_plain', 'restored_custom')
{
	foreach my $table (qw(budgets baselines baseline_statements))
	{
		is(table_rows($node, $db, $table), $src_rows{$table},
			"$db: perfguard.$table has the same rows as the source");
	}
	foreach my $name (qw(before after))
	{
		is($node->safe_psql($db,
				"SELECT perfguard.baseline_export('$name') = " . jsonb_literal($src_docs{$name})),
			't', "$db: baseline_export('$name') is the source's document");
	}

	# the baseline against this database's own statistics: 5 rows per
	# call where the baseline had 1
	$node->safe_psql($db, "$range5; $range5;");
	is($node->safe_psql($db, qq{
SELECT kind || ' ' || baseline_value || ' -> ' || current_value
  FROM perfguard.regressions('before')
 WHERE fingerprint = perfguard.fingerprint('$range') AND kind = 'rows_per_call'}),
		'rows_per_call 1 -> 5',
		"$db: regressions('before') compares the restored baseline with this database");

	# the restored budgets are enforced, the statement's own and the default
	fails_with($node, $db, "SET perfguard.enforce = error;\n$one_row;",
		'PF003', qr/processed 1 rows, max_rows is 0.*\n.*The limit is the statement's own budget/,
		"$db: the restored statement budget (max_rows 0)");
	fails_with($node, $db, "SET perfguard.enforce = error;\nSELECT * FROM t WHERE id <= 7;",
		'PF003', qr/processed 7 rows, max_rows is 5.*\n.*The limit is the default budget's/,
		"$db: the restored default budget (max_rows 5)");
	my ($ret, $out, $err) = run_sql($node, $db,
		"SET perfguard.enforce = error;\nSELECT count(*) FROM t WHERE id <= 4;");
	is(state_of($ret, $err), 'ok', "$db: a statement within the restored budgets runs");
}

###########################################################################
# 2. A hot standby.
###########################################################################

# A standby streaming from the primary, both with perfguard preloaded;
# what the tests use on it (extension, table, role, baseline, budgets)
# reaches it by replay.
$node->backup('standby_backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'standby_backup', has_streaming => 1);
$standby->append_conf('postgresql.conf', "shared_preload_libraries = 'perfguard'");
$standby->start;

# On the primary: a table, a role without privileges on perfguard's texts,
# a workload, its baseline, budgets.
$node->safe_psql('postgres', qq{
CREATE EXTENSION perfguard;
$table_sql
CREATE ROLE reader LOGIN;
GRANT SELECT ON t TO reader;
});
$node->safe_psql('postgres', "$range; $range; $pair; $pair; $one_row;");
$node->safe_psql('postgres', qq{
SELECT perfguard.baseline_capture('base');
SELECT perfguard.set_budget('$range', max_rows => 3);
SELECT perfguard.set_default_budget(max_rows => 1000);
});
my $base_doc = $node->safe_psql('postgres', "SELECT perfguard.baseline_export('base')");
$node->wait_for_catchup($standby);

my %fp = map {
	$_ => $node->safe_psql('postgres', "SELECT perfguard.fingerprint('$_')")
} ($one_row, $range, $pair, $fresh, $guarded);

# nothing has run on the standby: clean
my ($ret, $out, $err) = run_sql($standby, 'postgres', 'SELECT perfguard.assert_no_violations();');
is(state_of($ret, $err), 'ok', 'standby: assert_no_violations() returns when nothing broke a budget');

# the workload on the standby: $range5 breaks its budget (5 rows, max 3)
# and regresses (5 rows per call, baseline 1); $fresh is new
$standby->safe_psql('postgres', "$range5; $range5; $fresh;");

is($standby->safe_psql('postgres', qq{
SELECT string_agg(format('%s %s %s %s %s', limit_name, limit_value, measured, calls, budget), '; ')
  FROM perfguard.violations() WHERE fingerprint = $fp{$range}}),
	'max_rows 3 5 2 statement',
	'standby: violations() reports the replicated budget broken on the standby');
# every column of every regression against a baseline (name or document)
sub regressions_sql
{
	my ($baseline) = @_;
	return q{SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', fingerprint, query, kind,
	                      baseline_value, current_value, baseline_calls, current_calls,
	                      test, confidence, message), E'\n' ORDER BY fingerprint, kind)
  FROM perfguard.regressions(} . $baseline . ')';
}
my $by_name = $standby->safe_psql('postgres', regressions_sql("'base'"));
like($by_name, qr/^$fp{$range}\|\Q$range_text\E\|rows_per_call\|1\|5\|2\|2\|exact\|/m,
	"standby: regressions('base') finds 5 rows per call where the baseline had 1");
is($standby->safe_psql('postgres', regressions_sql(jsonb_literal($base_doc))),
	$by_name, 'standby: regressions(document) gives the same rows as regressions(name)');
is($standby->safe_psql('postgres',
		"SELECT string_agg(format('%s %s %s', fingerprint, query, calls), '; ') FROM perfguard.new_statements('base')"),
	"$fp{$fresh} $fresh_text 1",
	"standby: new_statements('base') lists the statement the baseline lacks");
is($standby->safe_psql('postgres',
		'SELECT string_agg(format(\'%s %s\', fingerprint, calls), \'; \') FROM perfguard.new_statements('
		  . jsonb_literal($base_doc) . ')'),
	"$fp{$fresh} 1",
	'standby: new_statements(document) lists it too');
is($standby->safe_psql('postgres', qq{
SELECT d->>'format', d->'name', s->>'calls', s->>'rows_per_call', s->>'query'
  FROM (SELECT perfguard.baseline_export() d) x,
       jsonb_array_elements(d->'statements') s
 WHERE s->>'fingerprint' = '$fp{$range}'}),
	"perfguard-baseline|null|2|5|$range_text",
	'standby: baseline_export() exports the standby\'s current statistics');
is($standby->safe_psql('postgres',
		"SELECT perfguard.baseline_export('base') = " . jsonb_literal($base_doc)),
	't', "standby: baseline_export('base') is the primary's document");

fails_with($standby, 'postgres', 'SELECT perfguard.assert_no_violations();',
	'PF004', qr/perfguard found 1 budget violation and 0 regressions:\n  budget max_rows: statement $fp{$range}: its largest call processed 5 rows; max_rows is 3/,
	'standby: assert_no_violations() with a broken budget');
fails_with($standby, 'postgres', "SELECT perfguard.assert_no_violations('base');",
	'PF004', qr/  regression rows_per_call: statement $fp{$range}: it processes 5\.0 rows per call; the baseline processed 1\.0/,
	"standby: assert_no_violations('base') with a regression");
fails_with($standby, 'postgres', "SELECT perfguard.baseline_capture('on_standby');",
	'25006', qr/read-only transaction/,
	'standby: baseline_capture()');
fails_with($standby, 'postgres', "SELECT perfguard.set_budget('$fresh', max_rows => 0);",
	'25006', qr/read-only transaction/,
	'standby: set_budget()');

# A statement about perfguard itself, run by the superuser, over the
# default budget (1001 rows, max_rows 1000): the reports leave it out.
$standby->safe_psql('postgres',
	"SELECT perfguard.fingerprint('SELECT ' || i) FROM generate_series(1, 1001) i");

# A role without pg_read_all_stats, created on the primary: the reports
# work, other roles' texts stay hidden, its own are shown.
my @as_reader = (extra_params => [ '-U', 'reader' ]);
$standby->safe_psql('postgres', "$pair6; $pair6;", @as_reader);
is($standby->safe_psql('postgres', qq{
SELECT string_agg(format('%s %s %s', limit_name, measured, query IS NULL), '; ')
  FROM perfguard.violations() WHERE fingerprint = $fp{$range}}, @as_reader),
	'max_rows 5 t',
	'standby, reader: violations() works and hides the text of a statement the role did not run');
is($standby->safe_psql('postgres', qq{
SELECT string_agg(format('%s %s %s %s', fingerprint, kind, current_value, coalesce(query, '(null)')), E'\\n' ORDER BY fingerprint)
  FROM perfguard.regressions('base') WHERE fingerprint IN ($fp{$range}, $fp{$pair})}, @as_reader),
	join("\n", sort { (split / /, $a)[0] <=> (split / /, $b)[0] }
		("$fp{$range} rows_per_call 5 (null)", "$fp{$pair} rows_per_call 5 $pair_text")),
	'standby, reader: regressions() shows its own statement\'s text, NULL for the others');
fails_with($standby, 'postgres', 'SELECT query FROM perfguard.baseline_statements;',
	'42501', qr/permission denied for table baseline_statements/,
	'standby, reader: reading baseline_statements.query', @as_reader);
is($standby->safe_psql('postgres',
		"SELECT calls FROM perfguard.baseline_statements WHERE baseline = 'base' AND fingerprint = $fp{$range}",
		@as_reader),
	'2', 'standby, reader: the numbers of baseline_statements are readable');
# perfguard's own statements are left out of the reports, also when the
# role cannot see their texts (those run above by the superuser)
my $violations_sql = 'SELECT string_agg(fingerprint || \' \' || limit_name, \'; \' ORDER BY fingerprint, limit_name) FROM perfguard.violations()';
is($standby->safe_psql('postgres', $violations_sql, @as_reader),
	$standby->safe_psql('postgres', $violations_sql),
	'standby, reader: violations() lists the same broken limits as for a superuser (perfguard\'s own left out)');
my $new_sql = 'SELECT string_agg(fingerprint::text, \' \' ORDER BY fingerprint) FROM perfguard.new_statements(\'base\')';
my $new_reader = $standby->safe_psql('postgres', $new_sql, @as_reader);
is($new_reader, $standby->safe_psql('postgres', $new_sql),
	'standby, reader: new_statements() lists the same statements as for a superuser (perfguard\'s own left out)');

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'standby: in recovery');

# The budget cache of one long-lived standby session: a budget set on the
# primary applies within about a second of its replay, and so does its
# removal, without reconnecting.
my $s = session($standby, 'postgres');
is(in_session($s, 'SET perfguard.enforce = error'), 'ok', 'standby session: enforce = error');
is(in_session($s, $one_row), 'ok', 'standby session: the statement passes without a budget of its own');

# Retry $sql in $session every 0.2 s for up to 10 s until it ends in $want;
# returns what it ended in and the seconds it took.
sub retry_until
{
	my ($session, $sql, $want) = @_;
	my $t0 = time;
	my ($got, $took);
	while (1)
	{
		$got  = in_session($session, $sql);
		$took = time - $t0;
		last if $got eq $want || $took > 10;
		usleep(200_000);
	}
	note sprintf('"%s" ended in %s after %.2f s', $sql, $got, $took);
	return ($got, $took);
}

$node->safe_psql('postgres', "SELECT perfguard.set_budget('$one_row', max_rows => 0)");
$node->wait_for_catchup($standby);
my ($got, $took) = retry_until($s, $one_row, 'PF003');
is($got, 'PF003', 'standby session: a budget set on the primary fails the statement (PF003) within 10 s of its replay');
cmp_ok($took, '<=', 3, 'standby session: ... within 3 s (design: at most one second)');

$node->safe_psql('postgres', "SELECT perfguard.drop_budget('$one_row')");
$node->wait_for_catchup($standby);
($got, $took) = retry_until($s, $one_row, 'ok');
is($got, 'ok', 'standby session: the budget dropped on the primary lets the statement pass again within 10 s');
cmp_ok($took, '<=', 3, 'standby session: ... within 3 s (design: at most one second)');
$s->quit;

###########################################################################
# 3. Two sessions on the primary: every way of changing perfguard.budgets
#    is announced at commit, none at rollback.
###########################################################################

my $session_a = session($node, 'postgres');
my $session_b = session($node, 'postgres');
my $where = "WHERE fingerprint = $fp{$guarded}";
is(in_session($session_a, 'SET perfguard.enforce = error'), 'ok', 'session A: enforce = error');
$node->safe_psql('postgres', "SELECT perfguard.set_budget('$guarded', max_rows => 100)");
is(in_session($session_a, $guarded), 'ok', 'session A: the statement passes its budget (max_rows 100)');

# [what session B runs (committed), what A's next statement must end in]
foreach my $step (
	[ "UPDATE perfguard.budgets SET max_rows = 0 $where", 'PF003', 'UPDATE to max_rows 0' ],
	[ "DELETE FROM perfguard.budgets $where", 'ok', 'DELETE of the budget' ],
	[ "INSERT INTO perfguard.budgets (fingerprint, max_rows) VALUES ($fp{$guarded}, 0)", 'PF003', 'INSERT with max_rows 0' ],
	[ 'TRUNCATE perfguard.budgets', 'ok', 'TRUNCATE' ],
	[ "COPY perfguard.budgets (fingerprint, max_rows) FROM PROGRAM 'echo $fp{$guarded},0' (FORMAT csv)", 'PF003', 'COPY with max_rows 0' ],
	[ "BEGIN; SAVEPOINT s; UPDATE perfguard.budgets SET max_rows = 100 $where; RELEASE s; COMMIT", 'ok', 'UPDATE in a released savepoint' ],
	[ "BEGIN; SAVEPOINT s; UPDATE perfguard.budgets SET max_rows = 0 $where; ROLLBACK TO s; COMMIT", 'ok', 'UPDATE in a savepoint rolled back' ],
	[ "BEGIN; UPDATE perfguard.budgets SET max_rows = 0 $where; ROLLBACK", 'ok', 'UPDATE rolled back' ])
{
	my ($sql, $want, $what) = @$step;
	is(in_session($session_b, $sql), 'ok', "session B: $what");
	is(in_session($session_a, $guarded), $want,
		"session A: the next statement after B's $what " . ($want eq 'ok' ? 'passes' : "fails with $want"));
}

# An uncommitted change is not seen by A, but is by B itself, from B's
# next statement in the same transaction.  Whatever B's copy of the
# budgets was before, the one-second refresh would show B its change
# anyway, so that check counts only when B ran the UPDATE and the next
# statement within that second.
is(in_session($session_b, 'SET perfguard.enforce = error'), 'ok', 'session B: enforce = error');
my $t0 = time;
is(in_session($session_b, "BEGIN; UPDATE perfguard.budgets SET max_rows = 0 $where"), 'ok',
	'session B: UPDATE to max_rows 0 in an open transaction');
my $own = in_session($session_b, $guarded);
my $gap = time - $t0;
note sprintf('B ran its UPDATE and the next statement %.2f s apart', $gap);
SKIP:
{
	skip 'B\'s two statements were more than 0.9 s apart: the check would not tell', 1
	  if $gap > 0.9;
	is($own, 'PF003',
		'session B: its own uncommitted UPDATE applies from its next statement in the transaction');
}
is(in_session($session_a, $guarded), 'ok', 'session A: B\'s uncommitted change does not apply');
is(in_session($session_b, 'ROLLBACK'), 'ok', 'session B: ROLLBACK');
is(in_session($session_b, $guarded), 'ok', 'session B: after the rollback, its own statement passes');
is(in_session($session_a, $guarded), 'ok', 'session A: after B\'s rollback, the statement still passes');

# Within a transaction that goes on: a change rolled back to a savepoint
# no longer applies to B's next statement.  The change is made in a DO
# block (its UPDATE is nested, so B's copy is not read again before the
# change is visible): B reads its copy again at the statement after it,
# and sees the change.  The one-second refresh would hide a copy kept
# from before the rollback, so the check counts only when B ran the two
# statements within that second.
is(in_session($session_b,
		"BEGIN; SAVEPOINT s; DO \$\$BEGIN UPDATE perfguard.budgets SET max_rows = 0 $where; END\$\$"),
	'ok', 'session B: UPDATE to max_rows 0 in a savepoint');
$t0 = time;
is(in_session($session_b, $guarded), 'PF003', 'session B: the change applies inside the savepoint');
is(in_session($session_b, 'ROLLBACK TO s'), 'ok', 'session B: ROLLBACK TO the savepoint');
my $after_sub = in_session($session_b, $guarded);
$gap = time - $t0;
note sprintf('B ran its statements %.2f s apart around ROLLBACK TO SAVEPOINT', $gap);
SKIP:
{
	skip 'B\'s two statements were more than 0.9 s apart: the check would not tell', 1
	  if $gap > 0.9;
	is($after_sub, 'ok',
		'session B: right after ROLLBACK TO SAVEPOINT, the rolled-back change no longer applies');
}
in_session($session_b, 'ROLLBACK');
is(in_session($session_b, 'RESET perfguard.enforce'), 'ok', 'session B: enforce back to off');
is(in_session($session_a, $guarded), 'ok', 'session A: the savepoint rolled back in B never applied');

# Two-phase commit: prepared by B, committed by a third session.  A reads
# its copy again at a statement right after a (no-op) committed change;
# the check counts only when its next statement came within the second
# the copy is kept, so that the one-second refresh cannot hide a missing
# announcement.
is(in_session($session_b, "UPDATE perfguard.budgets SET max_rows = max_rows WHERE false"), 'ok',
	'session B: a committed statement on budgets that changes nothing');
$t0 = time;
is(in_session($session_a, $guarded), 'ok', 'session A: the statement passes before the prepared change');
is(in_session($session_b,
		"BEGIN; UPDATE perfguard.budgets SET max_rows = 0 $where; PREPARE TRANSACTION 'budget_2pc'"),
	'ok', 'session B: budget change prepared');
$node->safe_psql('postgres', "COMMIT PREPARED 'budget_2pc'");
my $after_2pc = in_session($session_a, $guarded);
$gap = time - $t0;
note sprintf('A ran its statements %.2f s apart around the COMMIT PREPARED', $gap);
SKIP:
{
	skip 'A\'s two statements were more than 0.9 s apart: the check would not tell', 1
	  if $gap > 0.9;
	is($after_2pc, 'PF003',
		'session A: the next statement after a COMMIT PREPARED in another session fails with PF003');
}
# whichever way it is announced, it applies within the second
my ($got2, $took2) = retry_until($session_a, $guarded, 'PF003');
is($got2, 'PF003', 'session A: the change committed with COMMIT PREPARED applies within 10 s');

$session_a->quit;
$session_b->quit;

$standby->stop;
$node->stop;
done_testing();
