# PerfguardDump: what the TAP tests need to read, damage and re-sign
# perfguard's dump files (pg_stat/perfguard.stat, perfguard_events.stat):
# whole-file binary I/O, the CRC-32C that closes every dump file
# (src/dumpfile.c), and the layout of the two files, so that a test can
# take them apart into entries or records, change any of their fields or
# texts (lengths included) and put them back together, signed.
package PerfguardDump;

use strict;
use warnings;

use Exporter 'import';
our @EXPORT = qw(read_binary write_binary crc32c resign
  stats_header stats_entries stats_build
  events_header events_records events_build);

sub read_binary
{
	my ($path) = @_;
	open(my $fh, '<', $path) or die "could not open $path: $!";
	binmode $fh;
	local $/;
	my $data = <$fh>;
	close $fh;
	return $data;
}

sub write_binary
{
	my ($path, $data) = @_;
	open(my $fh, '>', $path) or die "could not open $path: $!";
	binmode $fh;
	print $fh $data;
	close $fh or die "could not write $path: $!";
	return;
}

# CRC-32C (Castagnoli, reflected), as PostgreSQL's pg_crc32c computes it.
my @crc_table;
for my $i (0 .. 255)
{
	my $c = $i;
	$c = ($c & 1) ? (($c >> 1) ^ 0x82F63B78) : ($c >> 1) for 1 .. 8;
	$crc_table[$i] = $c;
}

sub crc32c
{
	my ($data) = @_;
	my $crc = 0xFFFFFFFF;
	$crc = $crc_table[ ($crc ^ $_) & 0xFF ] ^ ($crc >> 8)
	  for unpack('C*', $data);
	return $crc ^ 0xFFFFFFFF;
}

# Replace the trailing CRC by the right one for the (modified) contents.
sub resign
{
	my ($data) = @_;
	my $body = substr($data, 0, length($data) - 4);
	return $body . pack('V', crc32c($body));
}

# The statistics file (src/stats.c): a 48-byte header (magic, format,
# pg_major, entry_fixed_size, hist_buckets, padding: uint32 each;
# nentries, evictions, stats_reset: int64 each), then each entry's fixed
# part (a PfgEntry up to its text: the key first, with userid and dbid as
# uint32, queryid as int64, toplevel as one byte; it ends with int32
# text_len and int32 encoding) and its text (no NUL), then the CRC.
# Little-endian on the machines this runs on.
my $STATS_HEADER = 48;

sub stats_header
{
	my ($data) = @_;
	my %h;
	@h{qw(magic format pg_major fixed hist_buckets padding)} =
	  unpack('V6', substr($data, 0, 24));
	@h{qw(nentries evictions stats_reset)} =
	  unpack('q<3', substr($data, 24, 24));
	return \%h;
}

# The entries of a statistics file, as hashes: offset, fixed (the bytes of
# the fixed part), userid, dbid, queryid, toplevel, encoding, text.
sub stats_entries
{
	my ($data) = @_;
	my $h     = stats_header($data);
	my $fixed = $h->{fixed};
	my $pos   = $STATS_HEADER;
	my @entries;
	for (1 .. $h->{nentries})
	{
		my %e = (offset => $pos, fixed => substr($data, $pos, $fixed));
		@e{qw(userid dbid queryid)} = unpack('V V q<', $e{fixed});
		$e{toplevel} = unpack('C', substr($e{fixed}, 16, 1));
		my ($len, $enc) = unpack('l< l<', substr($e{fixed}, $fixed - 8, 8));
		$e{encoding} = $enc;
		$e{text} = substr($data, $pos + $fixed, $len);
		$pos += $fixed + $len;
		push @entries, \%e;
	}
	return @entries;
}

# A signed statistics file with the header of $data (nentries set to the
# number of entries given) and these entries: their fixed parts as they
# are but for queryid, encoding and text_len, which are taken from the
# hashes' fields.
sub stats_build
{
	my ($data, @entries) = @_;
	my $h   = stats_header($data);
	my $out = substr($data, 0, $STATS_HEADER);
	substr($out, 24, 8) = pack('q<', scalar @entries);
	for my $e (@entries)
	{
		my $fixed = $e->{fixed};
		substr($fixed, 8, 8) = pack('q<', $e->{queryid});
		substr($fixed, $h->{fixed} - 8, 8) =
		  pack('l< l<', length($e->{text}), $e->{encoding});
		$out .= $fixed . $e->{text};
	}
	return $out . pack('V', crc32c($out));
}

# The events file (src/events.c): an 88-byte header (magic, format,
# pg_major, rec_fixed: uint32 each; count, next_id, dropped: int64 each),
# then each record: a fixed part of rec_fixed bytes (uint32 size at 0,
# int16 kind at 4, int64 id at 8, int64 time at 16, uint32 dbid at 24,
# int32 encoding at 56, int32 query_len, plan_len, detail_len,
# private_len and constants_len at 64..83), its five strings, each
# followed by a NUL, and
# zeros up to a multiple of 8 bytes; then the CRC.
my $EVENTS_HEADER = 88;

sub events_header
{
	my ($data) = @_;
	my %h;
	@h{qw(magic format pg_major rec_fixed)} =
	  unpack('V4', substr($data, 0, 16));
	@h{qw(count next_id dropped)} = unpack('q<3', substr($data, 16, 24));
	return \%h;
}

# The records of an events file, as hashes: offset, size, fixed (the bytes
# of the fixed part), kind, id, time, dbid, encoding, query, plan, detail,
# private, constants.
sub events_records
{
	my ($data) = @_;
	my $h     = events_header($data);
	my $fixed = $h->{rec_fixed};
	my $pos   = $EVENTS_HEADER;
	my @recs;
	for (1 .. $h->{count})
	{
		my %r = (offset => $pos, fixed => substr($data, $pos, $fixed));
		($r{size}, $r{kind}) = unpack('V s<', $r{fixed});
		($r{id}, $r{time}, $r{dbid}) = unpack('q< q< V', substr($r{fixed}, 8, 20));
		$r{encoding} = unpack('l<', substr($r{fixed}, 56, 4));
		my @lens = unpack('l<5', substr($r{fixed}, 64, 20));
		my $s = $pos + $fixed;
		for my $name (qw(query plan detail private constants))
		{
			my $len = shift @lens;
			$r{$name} = substr($data, $s, $len);
			$s += $len + 1;
		}
		push @recs, \%r;
		last if $r{size} == 0;
		$pos += $r{size};
	}
	return @recs;
}

# A signed events file with the header of $data (count set to the number
# of records given) and these records: their fixed parts as they are but
# for id, time, encoding, the string lengths and size, which are taken
# from the hashes' fields and strings.
sub events_build
{
	my ($data, @recs) = @_;
	my $out = substr($data, 0, $EVENTS_HEADER);
	substr($out, 16, 8) = pack('q<', scalar @recs);
	for my $r (@recs)
	{
		my $fixed   = $r->{fixed};
		my $strings = join('', map { $r->{$_} . "\0" } qw(query plan detail private constants));
		my $size    = length($fixed) + length($strings);
		$size += 8 - $size % 8 if $size % 8;
		substr($fixed, 0, 4)  = pack('V', $size);
		substr($fixed, 8, 16) = pack('q< q<', $r->{id}, $r->{time});
		substr($fixed, 56, 4) = pack('l<', $r->{encoding});
		substr($fixed, 64, 20) =
		  pack('l<5', map { length($r->{$_}) } qw(query plan detail private constants));
		my $rec = $fixed . $strings;
		$out .= $rec . ("\0" x ($size - length($rec)));
	}
	return $out . pack('V', crc32c($out));
}

1;
