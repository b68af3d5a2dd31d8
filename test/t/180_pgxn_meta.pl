# META.json, the PGXN distribution metadata, against the PGXN Meta Spec
# 1.0.0 (https://pgxn.org/spec/): its required keys and their types, the
# forms of name, version, license, prereqs, resources and tags, and that
# what it says agrees with the tree:
#
#  - version (and provides.perfguard.version) is perfguard.control's
#    default_version as a semantic version ('1.1' is 1.1.0), and the
#    library's PERFGUARD_VERSION (src/perfguard.h);
#  - provides.perfguard.file and docfile exist; prereqs require
#    PostgreSQL 15.
#
# Needs no cluster.  Runs from the top of the tree (PGXS's prove_installcheck
# changes to it).
use strict;
use warnings;

use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;

my $meta_file = $ENV{PERFGUARD_META} // 'META.json';
ok(-f $meta_file, "$meta_file exists");
my $meta = eval { JSON::PP->new->utf8->decode(slurp_file($meta_file)) };
is($@, '', "$meta_file is JSON");
is(ref $meta, 'HASH', "$meta_file is an object");
$meta //= {};

# semantic versions as the spec has them (2.0.0-style, with an optional
# pre-release)
my $semver = qr/^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+)?$/;

# the required keys of the spec and their types
my %required = (
	name => '',
	abstract => '',
	version => '',
	maintainer => 'string or ARRAY',
	license => 'string, ARRAY or HASH',
	provides => 'HASH',
	'meta-spec' => 'HASH');
for my $key (sort keys %required)
{
	ok(exists $meta->{$key}, "required key \"$key\" is present");
}
for my $key (qw(name abstract version))
{
	ok(defined $meta->{$key} && !ref $meta->{$key} && length $meta->{$key},
		"$key is a non-empty string");
}

# name: starts with a letter, at least two characters, no slashes,
# backslashes, controls or spaces
like($meta->{name} // '', qr{^[A-Za-z][^/\\\s[:cntrl:]]+$}, 'name has the form of the spec');
is($meta->{name}, 'perfguard', 'name is perfguard');

like($meta->{version} // '', $semver, 'version is a semantic version');

# maintainer: a string or a non-empty array of strings
my $m = $meta->{maintainer};
ok((defined $m && !ref $m && length $m)
	  || (ref $m eq 'ARRAY' && @$m && !grep { ref $_ || !length $_ } @$m),
	'maintainer is a string or an array of strings');

# license: one of the spec's names (or a hash of name => URL)
my %licenses = map { $_ => 1 } qw(agpl_3 apache_1_1 apache_2_0 artistic_1
  artistic_2 bsd freebsd gfdl_1_2 gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0
  mit mozilla_1_0 mozilla_1_1 openssl perl_5 postgresql qpl_1_0 ssleay sun
  zlib open_source restricted unrestricted unknown);
my $l = $meta->{license};
ok((defined $l && !ref $l && $licenses{$l})
	  || (ref $l eq 'ARRAY' && @$l && !grep { !$licenses{$_} } @$l)
	  || (ref $l eq 'HASH' && %$l),
	'license is one the spec knows');
is($l, 'postgresql', 'license is the PostgreSQL License (docs/LICENSE)');

# meta-spec
is(ref $meta->{'meta-spec'}, 'HASH', 'meta-spec is an object');
is($meta->{'meta-spec'}{version}, '1.0.0', 'meta-spec version is 1.0.0');

# provides: extension name => {file, version, [abstract, docfile]}
is(ref $meta->{provides}, 'HASH', 'provides is an object');
my $ext = ref $meta->{provides} eq 'HASH' ? $meta->{provides}{perfguard} : undef;
is(ref $ext, 'HASH', 'provides names the extension perfguard');
$ext //= {};
for my $key (qw(file version))
{
	ok(defined $ext->{$key} && !ref $ext->{$key}, "provides.perfguard.$key is a string");
}
like($ext->{version} // '', $semver, 'provides.perfguard.version is a semantic version');
ok(defined $ext->{file} && -f $ext->{file}, 'provides.perfguard.file exists in the tree');
ok(!defined $ext->{docfile} || -f $ext->{docfile}, 'provides.perfguard.docfile exists in the tree');

# the version agrees with the control file and the library
my $control = slurp_file('perfguard.control');
my ($default_version) = $control =~ /^\s*default_version\s*=\s*'([^']*)'/m;
ok(defined $default_version, 'perfguard.control has a default_version');
$default_version //= '';
# '1.1' as a semantic version is 1.1.0
my $control_semver = $default_version =~ /^\d+\.\d+$/ ? "$default_version.0" : $default_version;
is($meta->{version}, $control_semver,
	"version is perfguard.control's default_version ('$default_version')");
is($ext->{version}, $control_semver,
	"provides.perfguard.version is perfguard.control's default_version");
my ($lib_version) = slurp_file('src/perfguard.h') =~ /#define\s+PERFGUARD_VERSION\s+"([^"]*)"/;
is($meta->{version}, $lib_version, 'version is the library\'s PERFGUARD_VERSION');

# prereqs: phase => relation => {prereq => version}; PostgreSQL 15
my $prereqs = $meta->{prereqs};
is(ref $prereqs, 'HASH', 'prereqs is an object');
$prereqs = {} unless ref $prereqs eq 'HASH';
my $bad_prereqs = 0;
for my $phase (keys %$prereqs)
{
	$bad_prereqs++ unless $phase =~ /^(configure|build|test|runtime|develop)$/
	  && ref $prereqs->{$phase} eq 'HASH';
	for my $rel (keys %{ $prereqs->{$phase} // {} })
	{
		$bad_prereqs++ unless $rel =~ /^(requires|recommends|suggests|conflicts)$/
		  && ref $prereqs->{$phase}{$rel} eq 'HASH';
	}
}
is($bad_prereqs, 0, 'prereqs has only the phases and relations of the spec');
like($prereqs->{runtime}{requires}{PostgreSQL} // '', qr/^15\.0\.0$/,
	'prereqs: runtime requires PostgreSQL 15.0.0');

# resources: only the keys of the spec, with URLs
my $res = $meta->{resources};
is(ref $res, 'HASH', 'resources is an object');
$res = {} unless ref $res eq 'HASH';
is_deeply([ grep { !/^(homepage|bugtracker|repository|x_.*)$/ } sort keys %$res ],
	[], 'resources has only the keys of the spec');
like($res->{homepage} // '', qr{^https?://}, 'resources.homepage is a URL');
like($res->{repository}{url} // '', qr{^(https?|git)://}, 'resources.repository.url is a URL');
is($res->{repository}{type} // '', 'git', 'resources.repository.type is git');

# tags: a list of strings of 1 to 255 characters
my $tags = $meta->{tags};
ok(ref $tags eq 'ARRAY' && @$tags
	  && !grep { ref $_ || !length $_ || length $_ > 255 } @$tags,
	'tags is a list of strings of 1 to 255 characters');

# release_status, when given, is one of the spec's
ok(!defined $meta->{release_status}
	  || $meta->{release_status} =~ /^(stable|testing|unstable)$/,
	'release_status is stable, testing or unstable');

# no key outside the spec (custom keys start with x_ or X_)
my %known = map { $_ => 1 } qw(name abstract description version maintainer
  license provides prereqs resources tags no_index release_status
  generated_by meta-spec);
is_deeply([ grep { !$known{$_} && !/^[xX]_/ } sort keys %$meta ], [],
	'no key outside the spec');

done_testing();
