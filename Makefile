# Build and install ldprune: the plugin, the ldprune command, the static
# wrappers, the rpm macros and the manuals, in FHS places.
#
#   make                                  build (release)
#   make install PREFIX=/usr [DESTDIR=]   install (builds first)
#   make uninstall PREFIX=/usr            remove exactly what install put
#
# NO_BUILD=1 installs what is already built (BUILD_DIR, default
# target/release, and target/wrappers/ldprune-wrap).

PREFIX ?= /usr/local
DESTDIR ?=
BUILD_DIR ?= target/release
BINDIR = $(PREFIX)/bin
LIBDIR = $(PREFIX)/lib/ldprune
WRAPDIR = $(LIBDIR)/wrappers
RPMDIR = $(PREFIX)/lib/rpm/macros.d
DOCDIR = $(PREFIX)/share/doc/ldprune
MANDIR = $(PREFIX)/share/man
MAN1 = man/ldprune.1 man/ldprune-wrappers.1
MAN7 = man/ldprune-plugin.7
TOOLS = gcc g++ cc c++ clang clang++ ld ld.bfd ld.gold ld.lld ld.mold mold
# Target-prefixed names the wrappers also stand in for (Debian's cross
# toolchains: aarch64-linux-gnu-gcc).
CROSS_TARGETS ?= aarch64-linux-gnu arm-linux-gnueabihf
CROSS_TOOLS = gcc g++ ld ld.bfd ld.gold
DOCS = README.md LICENSE-MIT LICENSE-APACHE

all: build

build:
	cargo build --locked --release
	scripts/build-wrappers >/dev/null

install: $(if $(NO_BUILD),,build)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(WRAPDIR) $(DESTDIR)$(RPMDIR) $(DESTDIR)$(DOCDIR)
	install -m 755 $(BUILD_DIR)/ldprune $(DESTDIR)$(BINDIR)/ldprune
	install -m 644 $(BUILD_DIR)/libldprune.so $(DESTDIR)$(LIBDIR)/libldprune.so
	install -m 755 target/wrappers/ldprune-wrap $(DESTDIR)$(LIBDIR)/ldprune-wrap
	for t in $(TOOLS); do ln -sfn ../ldprune-wrap $(DESTDIR)$(WRAPDIR)/$$t; done
	for c in $(CROSS_TARGETS); do for t in $(CROSS_TOOLS); do ln -sfn ../ldprune-wrap $(DESTDIR)$(WRAPDIR)/$$c-$$t; done; done
	install -m 644 rpm/macros.ldprune $(DESTDIR)$(RPMDIR)/macros.ldprune
	install -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	install -m 644 wrappers/README.md $(DESTDIR)$(DOCDIR)/README.wrappers.md
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/
	@echo "installed; wrappers in $(WRAPDIR) (put it first in PATH), see 'ldprune flags --help'"

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(WRAPDIR)/$$t; done
	for c in $(CROSS_TARGETS); do for t in $(CROSS_TOOLS); do rm -f $(DESTDIR)$(WRAPDIR)/$$c-$$t; done; done
	rm -f $(DESTDIR)$(BINDIR)/ldprune $(DESTDIR)$(LIBDIR)/libldprune.so \
	      $(DESTDIR)$(LIBDIR)/ldprune-wrap $(DESTDIR)$(RPMDIR)/macros.ldprune
	for d in $(DOCS) README.wrappers.md; do rm -f $(DESTDIR)$(DOCDIR)/$$d; done
	for m in $(MAN1); do rm -f $(DESTDIR)$(MANDIR)/man1/$${m#man/}; done
	for m in $(MAN7); do rm -f $(DESTDIR)$(MANDIR)/man7/$${m#man/}; done
	-rmdir $(DESTDIR)$(WRAPDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(DOCDIR) 2>/dev/null

.PHONY: all build install uninstall
