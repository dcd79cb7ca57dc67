# pgxs.mk: bgworker's PGXS. A PostgreSQL module's own, unmodified Makefile
#
#   PG_CONFIG = pg_config
#   PGXS := $(shell $(PG_CONFIG) --pgxs)
#   include $(PGXS)
#
# builds, installs and tests the module against this server when run as
# `make PG_CONFIG=<bgworker's pg_config> [install|installcheck|clean]`.
# Written for what PGXS Makefiles use (PostgreSQL's "Extension Building
# Infrastructure"): MODULES, MODULE_big + OBJS, EXTENSION, MODULEDIR, DATA,
# DATA_built, DOCS, HEADERS, SCRIPTS, REGRESS, REGRESS_OPTS, NO_INSTALL,
# NO_INSTALLCHECK, EXTRA_CLEAN, PG_CPPFLAGS, PG_CFLAGS, PG_CXXFLAGS,
# PG_LDFLAGS, PG_LIBS, SHLIB_LINK, SHLIB_LINK_INTERNAL. PROGRAM, ISOLATION
# and TAP_TESTS are not supported and say so.

ifndef PG_CONFIG
PG_CONFIG := pg_config
endif

# Where this file is; pg_regress lives beside it in a source tree and in
# ../test/regress where PostgreSQL keeps it in an installation.
pgxs_dir := $(dir $(lastword $(MAKEFILE_LIST)))
pg_regress := $(firstword $(wildcard $(pgxs_dir)pg_regress $(pgxs_dir)../test/regress/pg_regress))

# What pg_config says, asked once.
bindir := $(shell $(PG_CONFIG) --bindir)
libdir := $(shell $(PG_CONFIG) --libdir)
pkglibdir := $(shell $(PG_CONFIG) --pkglibdir)
datadir := $(shell $(PG_CONFIG) --sharedir)
docdir := $(shell $(PG_CONFIG) --docdir)
includedir := $(shell $(PG_CONFIG) --includedir)
includedir_server := $(shell $(PG_CONFIG) --includedir-server)
VERSION := $(word 2,$(shell $(PG_CONFIG) --version))
MAJORVERSION := $(firstword $(subst ., ,$(VERSION)))
PORTNAME := linux
DLSUFFIX := .so
top_builddir := $(abspath $(pgxs_dir)../..)
top_srcdir := $(top_builddir)
srcdir ?= .
subdir ?= .

# libpq for modules that are clients too: PG_CPPFLAGS = -I$(libpq_srcdir),
# SHLIB_LINK_INTERNAL = $(libpq).
libpq_srcdir := $(or $(shell pkg-config --variable=includedir libpq 2>/dev/null),/usr/include/postgresql)
libpq := -lpq
libpq_pgport := -lpq
libpq_pgport_shlib := -lpq

ifdef PROGRAM
$(error PROGRAM is not supported by bgworker's PGXS: only loadable modules are built)
endif
ifdef ISOLATION
$(warning ISOLATION tests are not supported by bgworker's PGXS; they are skipped)
endif
ifdef TAP_TESTS
$(warning TAP_TESTS are not supported by bgworker's PGXS; they are skipped)
endif

CC ?= gcc
CXX ?= g++
ifeq ($(origin CC),default)
CC := gcc
endif
ifeq ($(origin CXX),default)
CXX := g++
endif

# PostgreSQL's compiler flags on Linux with gcc (its configure's choice),
# without -Werror: a module's warnings are its author's to decide.
PG_WARNINGS := -Wall -Wmissing-prototypes -Wpointer-arith -Wdeclaration-after-statement \
	-Werror=vla -Wendif-labels -Wmissing-format-attribute -Wimplicit-fallthrough=3 \
	-Wcast-function-type -Wformat-security -Wno-format-truncation -Wno-stringop-truncation
override CPPFLAGS := -I. -I$(srcdir) $(PG_CPPFLAGS) -I$(includedir_server) \
	-I$(abspath $(includedir_server)/..) -D_GNU_SOURCE $(CPPFLAGS)
override CFLAGS := $(PG_WARNINGS) -fno-strict-aliasing -fwrapv -fexcess-precision=standard \
	-g -O2 -fPIC $(CFLAGS) $(PG_CFLAGS)
# The C++ face of the API (bgworker/*.h) needs C++20.
override CXXFLAGS := -Wall -Wpointer-arith -Wendif-labels -Wformat-security \
	-fno-strict-aliasing -fwrapv -g -O2 -fPIC -std=c++20 $(CXXFLAGS) $(PG_CXXFLAGS)
override LDFLAGS := $(PG_LDFLAGS) $(LDFLAGS)
LDFLAGS_SL := -shared

# Undefined symbols are left for the server, which provides the module API
# when it loads the module.
ifdef MODULE_big
shlib := $(MODULE_big)$(DLSUFFIX)
# C++ sources link with the C++ driver (its runtime library).
ifneq ($(strip $(wildcard $(OBJS:.o=.cpp) $(OBJS:.o=.cc))),)
shlib_linker := $(CXX)
else
shlib_linker := $(CC)
endif
endif

ifdef EXTENSION
datamoduledir := $(or $(MODULEDIR),extension)
else
datamoduledir := $(or $(MODULEDIR),contrib)
endif

all: $(shlib) $(addsuffix $(DLSUFFIX),$(MODULES)) $(DATA_built) $(SCRIPTS_built)

%.o: %.c
	$(CC) $(CFLAGS) $(CPPFLAGS) -c -o $@ $<
%.o: %.cpp
	$(CXX) $(CXXFLAGS) $(CPPFLAGS) -c -o $@ $<
%.o: %.cc
	$(CXX) $(CXXFLAGS) $(CPPFLAGS) -c -o $@ $<

ifdef MODULE_big
$(shlib): $(OBJS)
	$(shlib_linker) $(CFLAGS) $(LDFLAGS_SL) -o $@ $(OBJS) $(LDFLAGS) $(SHLIB_LINK_INTERNAL) \
		$(SHLIB_LINK) $(PG_LIBS)
endif

# MODULES: one source file, one library each.
%$(DLSUFFIX): %.o
	$(CC) $(CFLAGS) $(LDFLAGS_SL) -o $@ $< $(LDFLAGS) $(SHLIB_LINK_INTERNAL) $(SHLIB_LINK) \
		$(PG_LIBS)

.PHONY: all install installdirs uninstall clean distclean installcheck check

ifndef NO_INSTALL
install: all installdirs
ifneq (,$(EXTENSION))
	install -m 644 $(addprefix $(srcdir)/, $(addsuffix .control, $(EXTENSION))) \
		'$(DESTDIR)$(datadir)/$(datamoduledir)/'
endif
ifneq (,$(DATA)$(DATA_built))
	install -m 644 $(addprefix $(srcdir)/, $(DATA)) $(DATA_built) \
		'$(DESTDIR)$(datadir)/$(datamoduledir)/'
endif
ifneq (,$(DOCS))
	install -m 644 $(addprefix $(srcdir)/, $(DOCS)) '$(DESTDIR)$(docdir)/$(datamoduledir)/'
endif
ifneq (,$(MODULES)$(MODULE_big))
	install -m 755 $(shlib) $(addsuffix $(DLSUFFIX),$(MODULES)) '$(DESTDIR)$(pkglibdir)/'
endif
ifneq (,$(SCRIPTS)$(SCRIPTS_built))
	install -m 755 $(addprefix $(srcdir)/, $(SCRIPTS)) $(SCRIPTS_built) '$(DESTDIR)$(bindir)/'
endif
ifneq (,$(HEADERS)$(HEADERS_built))
	install -m 644 $(addprefix $(srcdir)/, $(HEADERS)) $(HEADERS_built) \
		'$(DESTDIR)$(includedir_server)/extension/$(or $(MODULE_big),$(firstword $(MODULES)))/'
endif

installdirs:
	install -d '$(DESTDIR)$(pkglibdir)' '$(DESTDIR)$(datadir)/$(datamoduledir)'
ifneq (,$(DOCS))
	install -d '$(DESTDIR)$(docdir)/$(datamoduledir)'
endif
ifneq (,$(HEADERS)$(HEADERS_built))
	install -d '$(DESTDIR)$(includedir_server)/extension/$(or $(MODULE_big),$(firstword $(MODULES)))'
endif

uninstall:
	rm -f $(addprefix '$(DESTDIR)$(pkglibdir)'/, $(shlib) $(addsuffix $(DLSUFFIX),$(MODULES)))
	rm -f $(addprefix '$(DESTDIR)$(datadir)/$(datamoduledir)'/, \
		$(addsuffix .control, $(EXTENSION)) $(notdir $(DATA) $(DATA_built)))
else
install installdirs uninstall:
	@echo "$(or $(MODULE_big),$(MODULES)): NO_INSTALL is set, nothing to install"
endif

clean:
	rm -f $(shlib) $(addsuffix $(DLSUFFIX),$(MODULES)) $(OBJS) $(addsuffix .o,$(MODULES)) \
		$(DATA_built) $(SCRIPTS_built) $(EXTRA_CLEAN)
	rm -rf results/ regression.diffs regression.out log/

distclean maintainer-clean: clean

# installcheck: REGRESS against the running server (PGHOST, PGPORT, PGUSER
# as for psql), as PostgreSQL's pg_regress does: sql/NAME.sql through psql,
# results/NAME.out diffed against expected/NAME.out.
REGRESS_OPTS ?=
ifdef REGRESS
ifndef NO_INSTALLCHECK
installcheck: all
	'$(pg_regress)' --inputdir=$(srcdir) --bindir='$(bindir)' --dbname=contrib_regression \
		$(REGRESS_OPTS) $(EXTRA_REGRESS_OPTS) $(REGRESS)
else
installcheck:
	@echo "NO_INSTALLCHECK is set: no installcheck for this module"
endif
else
installcheck:
	@echo "no REGRESS tests"
endif

check:
	@echo "make check needs a temporary server, which bgworker's PGXS does not start;" \
		"run 'make installcheck' against a running server" >&2; exit 1
