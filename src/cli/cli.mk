# perfguard: make rules of the command-line client (src/cli), a libpq
# program built and installed beside the extension.  Included by the
# top-level Makefile after PGXS, which builds only one of MODULE_big and
# PROGRAM: hence explicit rules.  The sources stay in src/cli/, out of the
# module's OBJS (src/*.c).
#
#   make            also builds src/cli/perfguard
#   make install    also installs it as $(bindir)/perfguard, the bindir of
#                   pg_config (Debian: /usr/lib/postgresql/15/bin)

PFG_CLI      = src/cli/perfguard
PFG_CLI_OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/cli/*.c)))

# only libpq: its header from pg_config --includedir, the library from
# pg_config --libdir
$(PFG_CLI_OBJS): src/cli/%.o: src/cli/%.c $(wildcard src/cli/*.h)
	$(CC) $(CFLAGS) $(CPPFLAGS) -I$(includedir) -c -o $@ $<

$(PFG_CLI): $(PFG_CLI_OBJS)
	$(CC) $(CFLAGS) $(PFG_CLI_OBJS) $(LDFLAGS) -L$(libdir) -lpq -lm -o $@

all: $(PFG_CLI)

install: install-cli
uninstall: uninstall-cli

install-cli: $(PFG_CLI)
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) $(PFG_CLI) '$(DESTDIR)$(bindir)/perfguard'

uninstall-cli:
	rm -f '$(DESTDIR)$(bindir)/perfguard'

EXTRA_CLEAN += $(PFG_CLI) $(PFG_CLI_OBJS)

.PHONY: install-cli uninstall-cli
