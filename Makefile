# perfguard: PGXS build.
#
#   make                  build (needs pg_config of PostgreSQL 15 or 18 --
#                         16 and 17 untested -- on PATH, or
#                         PG_CONFIG=/path/to/pg_config; make clean between
#                         versions)
#   make install          install into that PostgreSQL
#   make demo             fresh Debian 12 as root: install what is missing,
#                         build, and run the demo on a throwaway cluster
#   make test             fresh Debian 12 as root: install what is missing,
#                         build, and run the whole test suite against
#                         PostgreSQL 15, then against a PostgreSQL 18
#                         built once from Debian's source package
#                         (test/pg18.sh); PERFGUARD_PG18=0 skips 18
#   make pgregress        fresh Debian 12 as root: run PostgreSQL's own
#                         regression suite with and without perfguard
#                         preloaded, and compare what the client saw
#                         (test/pgregress.sh)
#   make dist             perfguard-<version>.zip for PGXN, from `git archive`
#                         of HEAD (committed files only), the version from
#                         META.json

EXTENSION    = perfguard
MODULE_big   = perfguard
OBJS         = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
DATA         = $(wildcard sql/perfguard--*.sql)
PGFILEDESC   = "perfguard - query performance gate"

REGRESS      = setup guc stats fingerprint identity hardening floors nesting privileges roles capture seqscan events nplusone budgets baselines latency arguments documents failures metrics upgrade
REGRESS_OPTS = --inputdir=test --temp-config=$(srcdir)/test/perfguard.conf \
               --temp-instance=./tmp_check_regress
ISOLATION    = concurrent_update reset_while_tracking budget_cache failures_locks
ISOLATION_OPTS = --inputdir=test --temp-config=$(srcdir)/test/perfguard.conf \
               --temp-instance=./tmp_check_iso
TAP_TESTS    = 1
PROVE_TESTS  = test/t/*.pl

PG_CPPFLAGS  = -I$(srcdir)/src
SHLIB_LINK   = -lm
EXTRA_CLEAN  = test/unit/test_histogram tmp_check_regress tmp_check_iso output_iso

PG_CONFIG   ?= pg_config
PGXS        := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)

.DEFAULT_GOAL := all
.PHONY: demo test pgregress unittest dist

# The entry points work before PostgreSQL is installed.
demo:
	bash test/demo.sh

test:
	bash test/run.sh

pgregress:
	bash test/pgregress.sh

# PGXN wants one zip whose files are under perfguard-<version>/.  Its
# version is META.json's (test/t/180_pgxn_meta.pl checks that it is
# perfguard.control's default_version).
PFG_DIST_VERSION = $(shell perl -MJSON::PP -e 'local $$/; open my $$f, "<", "META.json" or die; print decode_json(<$$f>)->{version}')
PFG_DIST = perfguard-$(PFG_DIST_VERSION)

dist:
	@test -n "$(PFG_DIST_VERSION)" || { echo "perfguard: no version in META.json" >&2; exit 2; }
	git archive --format=zip --prefix=$(PFG_DIST)/ -o $(PFG_DIST).zip HEAD
	@echo "perfguard: $(PFG_DIST).zip"

ifneq ($(PGXS),)
include $(PGXS)
include $(srcdir)/src/cli/cli.mk

# Rebuild every object when a header changes (PGXS tracks no header
# dependencies unless PostgreSQL was configured with --enable-depend).
$(OBJS): $(wildcard src/*.h)

# Unit test of the latency histogram, linked against the module's object.
test/unit/test_histogram: test/unit/test_histogram.c src/histogram.o src/histogram.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -I$(srcdir)/src -o $@ $< src/histogram.o -L$(pkglibdir) -L$(libdir) -lpgcommon -lpgport -lm

unittest: test/unit/test_histogram
	test/unit/test_histogram
else
all install installcheck:
	@echo "perfguard: pg_config not found; install postgresql-server-dev-15 (or another supported version's) or set PG_CONFIG" >&2
	@exit 2
endif
