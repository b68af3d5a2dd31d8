# The HTML format of perfguard report and perfguard check (-o FILE), opened
# in a real headless browser (Debian's chromium; test/install-deps.sh
# installs it):
#
#  - the file is self-contained: no script, no stylesheet, font or image
#    fetched, and the texts are escaped (a statement whose comment holds
#    "<script>" shows it as text);
#  - report: the DOM (chromium --dump-dom) has one <svg> per statement,
#    each with p50, p95 and p99 marked, and every number of the table
#    equals the text report's; captured plans are in <details>; the N+1
#    and sequential-scan events are there with their advice;
#  - check against a baseline: the verdict, the regressions as the JSON
#    format has them, each statement compared plotted over the baseline;
#  - a screenshot, on a phone-sized window, is not blank (the PNG is
#    decoded: it has many colours).
#
# Skipped, saying so, only when no browser is installed.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Encode qw(decode);
use IPC::Run;
use JSON::PP;
use Compress::Zlib;

my $browser;
for my $candidate ($ENV{CHROMIUM}, '/usr/bin/chromium', '/usr/bin/chromium-browser',
	'/usr/bin/google-chrome')
{
	if (defined $candidate && -x $candidate)
	{
		$browser = $candidate;
		last;
	}
}

my $bindir = `pg_config --bindir`;
chomp $bindir;
my $cli = "$bindir/perfguard";

my $node = PostgreSQL::Test::Cluster->new('html');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'perfguard'
perfguard.capture_min_duration = 0
perfguard.capture_interval = 0
perfguard.seqscan_min_rows = 1000
perfguard.nplus1_threshold = 5
perfguard.nplus1_window = 0
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION perfguard;
CREATE TABLE big (id int PRIMARY KEY, v int, note text);
INSERT INTO big SELECT g, g % 10, 'n' || g FROM generate_series(1, 5000) g;
ANALYZE big;
});

# run_workload(): 40 lookups, sequential scans, an N+1 loop, and a
# statement whose comment holds markup
sub run_workload
{
	my $sql = '';
	$sql .= "SELECT note FROM big WHERE id = $_;\n" for 1 .. 40;
	$sql .= "SELECT count(*) FROM big WHERE v = $_;\n" for 1 .. 5;
	$sql .= qq{SELECT /* <script>alert("x")</script> & 'q' */ max(id) FROM big WHERE v = $_;\n} for 1 .. 3;
	for my $t (1 .. 2)
	{
		$sql .= "BEGIN;\nSELECT id FROM big ORDER BY id LIMIT 6;\n";
		$sql .= "SELECT v FROM big WHERE id = $_;\n" for 1 .. 6;
		$sql .= "COMMIT;\n";
	}
	$node->safe_psql('postgres', $sql);
}

run_workload();

my $tmp = PostgreSQL::Test::Utils::tempdir();

# cli(@args): (exit code, stdout, stderr) of the client against the node;
# untracked from the connection on (as a superuser, the client's own SET
# would be counted, and the two reports compared would differ by it)
sub cli
{
	my @cmd = ($cli, '-h', $node->host, '-p', $node->port, '-d', 'postgres', @_);
	my ($out, $err) = ('', '');
	local $ENV{PGOPTIONS} = '-c perfguard.track=none';
	print('# Running: ' . join(' ', @cmd) . "\n");
	IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, decode('UTF-8', $out), decode('UTF-8', $err));
}

# The report, as text and as HTML into a file
my ($rc, $out, $err) = cli('report', '--top', '10', '-o', "$tmp/report.html", '--format', 'html');
is($rc, 0, 'report --format html -o FILE: exit 0');
is($err, '', 'report --format html: nothing on stderr');
is($out, '', 'report -o FILE: nothing on standard output');
my $html = decode('UTF-8', slurp_file("$tmp/report.html"));
(my $text_rc, my $text) = cli('report', '--top', '10');
is($text_rc, 0, 'report (text): exit 0');

# self-contained and escaped
like($html, qr/^<!DOCTYPE html>/, 'the file is an HTML document');
unlike($html, qr/<script/i, 'no script element (and the statement\'s "<script>" is escaped)');
like($html, qr/&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; /,
	'the comment with markup shows as text');
unlike($html, qr/<link|<img|<iframe|\@import|url\(|src=/i, 'nothing is fetched: no link, img, import or url()');
my @urls = $html =~ m{(https?://[^"'\s<]+)}g;
is_deeply([ grep { $_ ne 'http://www.w3.org/2000/svg' } @urls ], [],
	'no URL but the SVG namespace');
like($html, qr/<meta name="viewport" content="width=device-width/, 'a viewport for phones');
like($html, qr/\@media \(max-width:600px\)/, 'CSS for narrow screens');
like($html, qr/\@media print/, 'CSS for printing');

# the text report's rows: columns from the rule line under the header
my @lines = split /\n/, $text;
my ($hdr) = grep { $lines[$_] =~ /^fingerprint\s+calls/ } 0 .. $#lines;
my @spans;
while ($lines[ $hdr + 1 ] =~ /(-+)/g)
{
	push @spans, [ $-[1], $+[1] - $-[1] ];
}
my @names = qw(fingerprint calls total mean p95 p99 rows blocks flags query);
my %text_rows;
my @text_order;
for my $line (@lines[ $hdr + 2 .. $#lines ])
{
	last if $line !~ /\S/;
	my %row;
	for my $i (0 .. $#names)
	{
		my ($start, $len) = @{ $spans[$i] };
		my $v = length($line) > $start ? substr($line, $start, $i == $#names ? undef : $len) : '';
		$v =~ s/^\s+|\s+$//g;
		$row{ $names[$i] } = $v;
	}
	push @text_order, $row{fingerprint};
	$text_rows{ $row{fingerprint} } = \%row;
}
cmp_ok(scalar @text_order, '>=', 5, 'the text report has statements (' . scalar(@text_order) . ')');

SKIP:
{
	if (!defined $browser)
	{
		my $why = 'no headless browser is installed (apt-get install chromium, or test/install-deps.sh as root)';
		diag("SKIPPED: the rendering checks: $why");
		skip $why, 1;
	}
	note("browser: $browser");

	# browser(@args): run it headless on a file, with a profile of its own
	my $profile = 0;
	my $browser_run = sub {
		my @cmd = (
			$browser, '--headless', '--no-sandbox', '--disable-gpu',
			'--no-first-run', '--disable-extensions', '--disable-dev-shm-usage',
			'--user-data-dir=' . "$tmp/profile" . $profile++, @_);
		my ($o, $e) = ('', '');
		print('# Running: ' . join(' ', @cmd) . "\n");
		local $ENV{HOME} = $tmp;
		IPC::Run::run(\@cmd, '<', \undef, '>', \$o, '2>', \$e, IPC::Run::timeout(120));
		return ($? >> 8, $o, $e);
	};

	my ($brc, $dom, $berr) = $browser_run->('--dump-dom', "file://$tmp/report.html");
	is($brc, 0, 'chromium --dump-dom of the report: exit 0') or diag($berr);
	$dom = decode('UTF-8', $dom);
	like($dom, qr/<table class="stats">/, 'the DOM has the statements table');

	# one <svg> per statement
	my @svgs = $dom =~ /<svg\b/g;
	my @articles = $dom =~ /<article class="stmt"/g;
	my @trs = $dom =~ /<tr data-fingerprint="[^"]*"><td class="fp"><a /g;
	is(scalar @trs, scalar @text_order, 'as many table rows as the text report has statements');
	is(scalar @articles, scalar @text_order, 'one section per statement');
	is(scalar @svgs, scalar @text_order, 'one <svg> per statement');

	# each plot marks p50, p95 and p99
	my $marked = 0;
	for my $a (split /<article class="stmt"/, $dom)
	{
		$marked++ if $a =~ /<svg/ && $a =~ /class="mark p50"/ && $a =~ /class="mark p95"/
		  && $a =~ /class="mark p99"/ && $a =~ /<rect /;
	}
	is($marked, scalar @text_order, 'every plot has bars and p50, p95, p99 marked');

	# the numbers: as the text report's
	my %cls = (calls => 'calls', total => 'total', mean => 'mean', p95 => 'p95', p99 => 'p99',
		rows => 'rows', blocks => 'blocks');
	my $differ = 0;
	my @dom_order;
	while ($dom =~ m{<tr data-fingerprint="([^"]*)">(.*?)</tr>}gs)
	{
		my ($fp, $cells) = ($1, $2);
		next unless $cells =~ /<td class="fp"><a /;
		push @dom_order, $fp;
		my $t = $text_rows{$fp};
		for my $k (sort keys %cls)
		{
			my ($v) = $cells =~ m{<td class="num $cls{$k}">([^<]*)</td>};
			next if defined $t && defined $v && $v eq $t->{$k};
			$differ++;
			diag("statement $fp, $k: html " . ($v // 'missing') . ', text ' . ($t ? $t->{$k} : 'missing'));
		}
		my ($flags) = $cells =~ m{<td class="flags">(?:<span class="flag">)?([^<]*)};
		$differ++ unless defined $t && ($flags // '') eq $t->{flags};
	}
	is($differ, 0, 'every number and flag of the table equals the text report\'s');
	is_deeply(\@dom_order, \@text_order, 'in the same order');

	like($dom, qr/<details class="plan"><summary>Captured plan \(slow_plan event \d+\)<\/summary><pre>/,
		'captured plans are folded in <details>');
	like($dom, qr/<tr data-kind="seq_scan">.*?<code>CREATE INDEX ON public\.big \(v\)<\/code>/s,
		'a sequential scan with its index advice');
	like($dom, qr/<tr data-kind="n_plus_one">.*?ran \d+ times in one transaction.*?Fetch the rows in one query/s,
		'an N+1 pattern with its advice');

	# not blank: a phone-sized screenshot has many colours
	my ($src, undef, $serr) = $browser_run->('--window-size=412,1400', '--hide-scrollbars',
		"--screenshot=$tmp/report.png", "file://$tmp/report.html");
	is($src, 0, 'chromium --screenshot: exit 0') or diag($serr);
	my ($w, $h, $colours) = png_colours("$tmp/report.png");
	is("${w}x$h", '412x1400', 'the screenshot is of the window');
	cmp_ok($colours, '>', 50, "the screenshot is not blank ($colours colours)");

	# check against a baseline: the lookups lose their index
	$node->safe_psql('postgres', q{SELECT perfguard.baseline_capture('before')});
	$node->safe_psql('postgres',
		q{SELECT perfguard.reset(); ALTER TABLE big DROP CONSTRAINT big_pkey;});
	run_workload();
	($rc, $out, $err) = cli('check', '--baseline', 'before', '--format', 'html', '-o', "$tmp/check.html");
	is($rc, 1, 'check --format html with a regression: exit 1');
	is($err, '', 'check --format html: nothing on stderr');
	my ($jrc, $json) = cli('check', '--baseline', 'before', '--format', 'json');
	my $j = decode_json(Encode::encode('UTF-8', $json));
	cmp_ok(scalar @{ $j->{regressions} }, '>', 0, 'the JSON format has regressions');

	($brc, $dom, $berr) = $browser_run->('--dump-dom', "file://$tmp/check.html");
	is($brc, 0, 'chromium --dump-dom of the check: exit 0') or diag($berr);
	$dom = decode('UTF-8', $dom);
	like($dom, qr/<p class="verdict failed">FAILED: /, 'the verdict: FAILED');
	my @reg_rows = $dom =~ /(<table class="regressions">.*?<\/table>)/s;
	my $nreg = () = ($reg_rows[0] // '') =~ /<tr data-fingerprint=/g;
	is($nreg, scalar @{ $j->{regressions} }, 'as many regressions as the JSON format has');
	my %kinds = map { ("$_->{fingerprint}/$_->{kind}" => 1) } @{ $j->{regressions} };
	my $found = 0;
	while (($reg_rows[0] // '') =~ m{<tr data-fingerprint="([^"]*)"><td class="fp">[^<]*</td><td>([^<]*)</td>}g)
	{
		$found++ if $kinds{"$1/$2"};
	}
	is($found, scalar @{ $j->{regressions} }, 'the same statements and kinds');
	my $lookup = $node->safe_psql('postgres', q{SELECT perfguard.fingerprint('SELECT note FROM big WHERE id = 1')});
	my ($art) = $dom =~ /(<article class="stmt" id="s\Q$lookup\E".*?<\/article>)/s;
	ok(defined $art, 'the lookup has its section');
	$art //= '';
	like($art, qr/<g class="base">/, 'its plot shows the baseline');
	like($art, qr/<g class="cur">/, 'and now');
	like($art, qr/class="mark base-p95"/, 'with the baseline\'s p95 marked');
	like($art, qr/<span class="bad">Regressed:<\/span> [^<]*\((exact|welch_t|exceedance_z) test, confidence/,
		'the verdict and its test');
	my $compared = () = $dom =~ /<g class="base">/g;
	cmp_ok($compared, '>=', 3, "every statement compared is overlaid ($compared)");
	my $svgs = () = $dom =~ /<svg\b/g;
	my $arts = () = $dom =~ /<article class="stmt"/g;
	is($svgs, $arts, 'one <svg> per statement checked');

	($src, undef, $serr) = $browser_run->('--window-size=1280,1600', '--hide-scrollbars',
		"--screenshot=$tmp/check.png", "file://$tmp/check.html");
	($w, $h, $colours) = png_colours("$tmp/check.png");
	cmp_ok($colours, '>', 50, "the check's screenshot is not blank ($colours colours)");
}

$node->stop;
done_testing();

# png_colours(FILE): width, height and number of distinct colours of an
# 8-bit RGB or RGBA PNG (what chromium writes): the chunks, the zlib
# stream, the scanline filters undone.
sub png_colours
{
	my ($file) = @_;
	my $data = slurp_file($file);
	return (0, 0, 0) unless substr($data, 0, 8) eq "\x89PNG\r\n\x1a\n";
	my $pos = 8;
	my ($w, $h, $depth, $type, $idat) = (0, 0, 0, 0, '');
	while ($pos + 8 <= length $data)
	{
		my ($len, $tag) = unpack('N a4', substr($data, $pos, 8));
		my $body = substr($data, $pos + 8, $len);
		($w, $h, $depth, $type) = unpack('N N C C', $body) if $tag eq 'IHDR';
		$idat .= $body if $tag eq 'IDAT';
		last if $tag eq 'IEND';
		$pos += 12 + $len;
	}
	return ($w, $h, 0) unless $depth == 8 && ($type == 2 || $type == 6);
	my $bpp = $type == 6 ? 4 : 3;
	my $raw = uncompress($idat) // return ($w, $h, 0);
	my $stride = $w * $bpp;
	my @prev = (0) x $stride;
	my %seen;
	for my $y (0 .. $h - 1)
	{
		my $f = ord(substr($raw, $y * ($stride + 1), 1));
		my @cur = unpack('C*', substr($raw, $y * ($stride + 1) + 1, $stride));
		for my $x (0 .. $stride - 1)
		{
			my $a = $x >= $bpp ? $cur[ $x - $bpp ] : 0;
			my $b = $prev[$x];
			my $c = $x >= $bpp ? $prev[ $x - $bpp ] : 0;
			if ($f == 1) { $cur[$x] = ($cur[$x] + $a) & 255; }
			elsif ($f == 2) { $cur[$x] = ($cur[$x] + $b) & 255; }
			elsif ($f == 3) { $cur[$x] = ($cur[$x] + (($a + $b) >> 1)) & 255; }
			elsif ($f == 4)
			{
				my $p = $a + $b - $c;
				my ($pa, $pb, $pc) = (abs($p - $a), abs($p - $b), abs($p - $c));
				my $pr = ($pa <= $pb && $pa <= $pc) ? $a : ($pb <= $pc ? $b : $c);
				$cur[$x] = ($cur[$x] + $pr) & 255;
			}
		}
		# every 4th row is enough to count colours
		if ($y % 4 == 0)
		{
			for (my $x = 0; $x < $stride; $x += $bpp)
			{
				$seen{ join(',', @cur[ $x .. $x + 2 ]) } = 1;
			}
		}
		@prev = @cur;
	}
	return ($w, $h, scalar keys %seen);
}
