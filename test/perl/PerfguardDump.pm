# PerfguardDump: what the TAP tests need to read, damage and re-sign
# perfguard's dump files (pg_stat/perfguard.stat, perfguard_events.stat):
# whole-file binary I/O and the CRC-32C that closes every dump file
# (src/dumpfile.c).
package PerfguardDump;

use strict;
use warnings;

use Exporter 'import';
our @EXPORT = qw(read_binary write_binary crc32c resign);

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

1;
