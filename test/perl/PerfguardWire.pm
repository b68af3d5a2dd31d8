# PerfguardWire: a minimal client of the PostgreSQL v3 frontend/backend
# protocol, in pure Perl, for TAP tests that need what libpq and psql do
# not let a test control: several portals open at once, Execute with a row
# limit (as JDBC's fetchSize does), Close of one portal while another is
# suspended, and pipelines of messages without Sync.
#
#   my $c = PerfguardWire->connect($node, user => 'app', dbname => 'postgres',
#       options => { 'perfguard.nplus1_threshold' => 3 });
#   $c->parse('s1', 'SELECT id FROM t WHERE id < $1', 23);   # name, sql, type oids
#   $c->bind('p1', 's1', 50);          # portal, statement, text parameters (undef: NULL)
#   $c->execute('p1', 10);             # portal, max rows (0: all)
#   $c->sync;
#   my $r = $c->read_until_ready;      # everything up to ReadyForQuery
#   $r->{results}[0]{rows}             # [[ '1' ], [ '2' ], ...]
#   $r->{results}[0]{suspended}        # 1: PortalSuspended, more rows to fetch
#
# Each message is sent at once; connect() uses the node's Unix socket
# ($node->host, $node->port) and trust authentication, as TAP nodes do.
# Extra startup parameters (options) are settings of the session, as libpq's
# "options" would make them.
#
# The readers return a hash:
#   results   one per command: { rows => [[col, ...], ...], tag => 'SELECT 10'
#             (CommandComplete), suspended => 1 (PortalSuspended), empty => 1
#             (EmptyQueryResponse), error => {...} (ErrorResponse) }; a
#             result ends at any of those four messages
#   errors, notices   ErrorResponse / NoticeResponse fields: { S => severity,
#             C => SQLSTATE, M => message, D => detail, ... }
#   messages  every message read, [ type, ... ] in order: '1' ParseComplete,
#             '2' BindComplete, '3' CloseComplete, 'C' tag, 'E' error, 'N'
#             notice, 's', 'D', 'T', 'n', 't', 'I', 'Z' status
#   status    the transaction status of ReadyForQuery ('I', 'T' or 'E'), or
#             undef when none was read
#   eof       1 when the server closed the connection (or the read timed out:
#             then timeout => 1 too)
# read_until_ready() reads up to ReadyForQuery; read_results($n) stops after
# $n results (pipeline mode: Execute messages followed by Flush, no Sync).
package PerfguardWire;

use strict;
use warnings;

use IO::Select;
use IO::Socket::UNIX;

# Connect and authenticate; dies unless the server is ready for a query.
sub connect
{
	my ($class, $node, %args) = @_;
	my $path = $node->host . '/.s.PGSQL.' . $node->port;
	my $sock = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path)
	  or die "could not connect to $path: $!";
	my $self = bless { sock => $sock, buf => '', dead => 0 }, $class;

	my %params = (
		user     => $args{user} // $ENV{PGUSER} // scalar(getpwuid($<)),
		database => $args{dbname} // 'postgres',
		%{ $args{options} // {} });
	my $body = pack('N', 196608)    # protocol 3.0
	  . join('', map { "$_\0$params{$_}\0" } sort keys %params) . "\0";
	$self->_send(pack('N', 4 + length($body)) . $body);

	while (1)
	{
		my ($type, $payload) = $self->_read_message;
		die "connection closed during startup" unless defined $type;
		if ($type eq 'R')
		{
			my $code = unpack('N', $payload);
			die "authentication method $code requested; trust is expected"
			  if $code != 0;
		}
		elsif ($type eq 'E')
		{
			die 'connection refused: ' . _fields($payload)->{M};
		}
		elsif ($type eq 'Z')
		{
			last;
		}
		# ParameterStatus, BackendKeyData, NoticeResponse: not needed
	}
	return $self;
}

# One message: type byte, length (itself included), body.
sub _message
{
	my ($self, $type, $body) = @_;
	$self->_send($type . pack('N', 4 + length($body)) . $body);
	return $self;
}

sub _send
{
	my ($self, $data) = @_;
	local $SIG{PIPE} = 'IGNORE';
	while (length($data) > 0 && !$self->{dead})
	{
		my $n = syswrite($self->{sock}, $data);
		if (!defined $n)
		{
			next if $!{EINTR} || $!{EAGAIN};
			$self->{dead} = 1;    # the reader will report eof
			last;
		}
		substr($data, 0, $n) = '';
	}
	return;
}

# Parse(statement name, sql, parameter type oids)
sub parse
{
	my ($self, $name, $sql, @oids) = @_;
	return $self->_message('P',
		"$name\0$sql\0" . pack('n', scalar @oids) . pack('N*', @oids));
}

# Bind(portal, statement, text parameters): text formats, text results
sub bind
{
	my ($self, $portal, $stmt, @params) = @_;
	my $body = "$portal\0$stmt\0" . pack('n', 0) . pack('n', scalar @params);
	$body .= defined $_ ? pack('N', length $_) . $_ : pack('N', 0xFFFFFFFF)
	  for @params;
	return $self->_message('B', $body . pack('n', 0));
}

# Describe('S' | 'P', name); Execute(portal, max rows; 0 or undef: all);
# Close('S' | 'P', name); Flush; Sync; Query (the simple protocol).
sub describe { my ($self, $what, $name) = @_; return $self->_message('D', "$what$name\0") }
sub close    { my ($self, $what, $name) = @_; return $self->_message('C', "$what$name\0") }
sub flush    { return $_[0]->_message('H', '') }
sub sync     { return $_[0]->_message('S', '') }
sub query    { my ($self, $sql) = @_; return $self->_message('Q', "$sql\0") }

sub execute
{
	my ($self, $portal, $max_rows) = @_;
	return $self->_message('E', "$portal\0" . pack('N', $max_rows // 0));
}

# Terminate, and close the socket.
sub terminate
{
	my ($self) = @_;
	$self->_message('X', '');
	CORE::close($self->{sock});
	$self->{dead} = 1;
	return;
}

# Send a simple Query and read its answer: the usual way to run SQL.
sub simple
{
	my ($self, $sql) = @_;
	$self->query($sql);
	return $self->read_until_ready;
}

# The fields of an ErrorResponse or NoticeResponse.
sub _fields
{
	my ($payload) = @_;
	my %f;
	while ($payload =~ /\G([^\0])([^\0]*)\0/gc)
	{
		$f{$1} = $2;
	}
	return \%f;
}

# How long a read waits for the server: the TAP tests' timeout.
sub _timeout
{
	no warnings 'once';
	return $PostgreSQL::Test::Utils::timeout_default // 180;
}

# Read one message: (type, payload), or () at end of file or timeout.
sub _read_message
{
	my ($self) = @_;
	my $sel = IO::Select->new($self->{sock});
	while (1)
	{
		if (length($self->{buf}) >= 5)
		{
			my ($type, $len) = unpack('a N', $self->{buf});
			if (length($self->{buf}) >= 1 + $len)
			{
				my $payload = substr($self->{buf}, 5, $len - 4);
				substr($self->{buf}, 0, 1 + $len) = '';
				return ($type, $payload);
			}
		}
		if (!$sel->can_read(_timeout()))
		{
			$self->{timeout} = 1;
			return ();
		}
		my $n = sysread($self->{sock}, $self->{buf}, 65536, length $self->{buf});
		next if !defined $n && $!{EINTR};
		return () unless $n;    # end of file or error: the server is gone
	}
}

# Read until ReadyForQuery; or until $n results (CommandComplete,
# PortalSuspended, EmptyQueryResponse or ErrorResponse) or ReadyForQuery,
# whichever comes first.
sub read_until_ready { return $_[0]->_read(undef) }
sub read_results     { return $_[0]->_read($_[1]) }

sub _read
{
	my ($self, $want) = @_;
	my %r = (results => [], errors => [], notices => [], messages => [],
		status => undef, eof => 0);
	my $cur = { rows => [] };
	my $end_result = sub {
		push @{ $r{results} }, $cur;
		$cur = { rows => [] };
	};

	while (!defined $want || @{ $r{results} } < $want)
	{
		my ($type, $payload) = $self->_read_message;
		if (!defined $type)
		{
			$r{eof} = 1;
			$r{timeout} = 1 if $self->{timeout};
			last;
		}
		if ($type eq 'D')
		{
			my $ncols = unpack('n', $payload);
			my ($pos, @vals) = (2);
			for (1 .. $ncols)
			{
				my $len = unpack('l>', substr($payload, $pos, 4));
				$pos += 4;
				push @vals, $len < 0 ? undef : substr($payload, $pos, $len);
				$pos += $len if $len > 0;
			}
			push @{ $cur->{rows} }, \@vals;
			push @{ $r{messages} }, ['D'];
		}
		elsif ($type eq 'C')
		{
			(my $tag = $payload) =~ s/\0$//;
			push @{ $r{messages} }, [ 'C', $tag ];
			$cur->{tag} = $tag;
			$end_result->();
		}
		elsif ($type eq 's' || $type eq 'I')
		{
			push @{ $r{messages} }, [$type];
			$cur->{ $type eq 's' ? 'suspended' : 'empty' } = 1;
			$end_result->();
		}
		elsif ($type eq 'E' || $type eq 'N')
		{
			my $f = _fields($payload);
			push @{ $r{messages} }, [ $type, $f ];
			if ($type eq 'N')
			{
				push @{ $r{notices} }, $f;
				next;
			}
			push @{ $r{errors} }, $f;
			$cur->{error} = $f;
			$end_result->();
		}
		elsif ($type eq 'Z')
		{
			$r{status} = $payload;
			push @{ $r{messages} }, [ 'Z', $payload ];
			last;
		}
		else
		{
			# '1' '2' '3' 'T' 'n' 't', and asynchronous 'S' 'A'
			push @{ $r{messages} }, [$type];
		}
	}
	return \%r;
}

# Is the connection alive: does a simple query still get its answer?
sub alive
{
	my ($self) = @_;
	return 0 if $self->{dead};
	my $r = $self->simple('SELECT 1');
	return !$r->{eof} && @{ $r->{results} } == 1
	  && ($r->{results}[0]{rows}[0][0] // '') eq '1';
}

1;
