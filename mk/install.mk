# SPDX-License-Identifier: GPL-2.0-only
#
# Installation of ntsync-nspa; included by the top-level Makefile.
#
#   make install   [DESTDIR=/staging] [PREFIX=/usr/local] [KRELEASES="rel..."]
#                  [KDIR=<kernel build tree>: for that kernel only]
#   make uninstall [DESTDIR=/staging] [PREFIX=/usr/local]
#   make libntsync        the libraries only ($(BUILD)/lib, see lib/Makefile)
#   make tools            $(BUILD)/tools/ntsync-stat
#   make install-list     print what "make install" would install, one
#                         absolute path per line (no DESTDIR), and stop
#   make dkms-source      $(BUILD)/dkms/ntsync-nspa-<version>/: the tree to
#                         copy to /usr/src for DKMS (see docs/packaging.md)
#
# What is installed (docs/packaging.md has the reasons):
#   /lib/modules/<release>/updates/ntsync.ko   one per release in KRELEASES
#                                               (default: the installed
#                                               Debian 6.12 rt and generic
#                                               kernels), debug info stripped
#   /usr/lib/modules-load.d/ntsync.conf         load the module at boot
#   $(PREFIX)/include/linux/ntsync.h            the UAPI header
#   $(PREFIX)/include/ntsync.h                  the libntsync header
#   $(PREFIX)/lib/libntsync.a, libntsync.so.<version>, the soname link
#     libntsync.so.<soversion> and the link libntsync.so
#   $(PREFIX)/lib/pkgconfig/libntsync.pc
#   $(PREFIX)/bin/ntsync-stat
#   $(PREFIX)/share/man/man3/*.3, man4/*.4 (the ioctls), man8/ntsync-stat.8
#   $(PREFIX)/share/ntsync-nspa/install-manifest   what uninstall removes
#
# Everything is first staged in $(BUILD)/install/stage, checked against
# DESTDIR (every directory that must be written is checked before anything
# is written), then copied in with rollback on failure, by
# mk/install-tree.sh, which also keeps the manifest.  depmod and ldconfig
# run only for a real install (empty DESTDIR).

NTSYNC_TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DATADIR ?= $(PREFIX)/share/ntsync-nspa
# Outside PREFIX on purpose: the kernel and systemd look only here.
MODULEDIR ?= /lib/modules
MODULESLOADDIR ?= /usr/lib/modules-load.d
MANIFEST := $(DATADIR)/install-manifest

# Kernel releases to build and install the module for.
KRELEASES ?= $(strip $(KREL_RT) $(KREL_GENERIC))

NTSYNC_VERSION := $(shell sed -n 's/^MODULE_VERSION("\(.*\)");.*/\1/p' \
	$(NTSYNC_TOP)/driver/ntsync_main.c)
LIB_VERSION = $(shell $(MAKE) -s --no-print-directory -C $(NTSYNC_TOP)/lib print-version)

STAGE := $(BUILD)/install/stage
STAT_BIN := $(BUILD)/tools/ntsync-stat
TOOL_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2

# Man pages: the sources, and the names that are only links to one of
# them (alias:page).  Every libntsync function has a page or a link.
MAN3_PAGES := $(sort $(notdir $(wildcard $(NTSYNC_TOP)/man/man3/*.3)))
MAN4_PAGES := $(sort $(notdir $(wildcard $(NTSYNC_TOP)/man/man4/*.4)))
MAN8_PAGES := $(sort $(notdir $(wildcard $(NTSYNC_TOP)/man/man8/*.8)))
MAN3_LINKS := \
	ntsync_close:ntsync_open \
	ntsync_sem_create:ntsync_open ntsync_sem_release:ntsync_open \
	ntsync_sem_read:ntsync_open ntsync_mutex_create:ntsync_open \
	ntsync_mutex_unlock:ntsync_open ntsync_mutex_kill:ntsync_open \
	ntsync_mutex_read:ntsync_open ntsync_event_create:ntsync_open \
	ntsync_event_set:ntsync_open ntsync_event_reset:ntsync_open \
	ntsync_event_pulse:ntsync_open ntsync_event_read:ntsync_open \
	ntsync_wait_all:ntsync_wait_any ntsync_wait_any_uring:ntsync_wait_any \
	ntsync_wait_all_uring:ntsync_wait_any ntsync_now_ns:ntsync_wait_any \
	ntsync_deadline_ns:ntsync_wait_any \
	ntsync_channel_send:ntsync_channel_create \
	ntsync_channel_recv:ntsync_channel_create \
	ntsync_channel_recv2:ntsync_channel_create \
	ntsync_channel_try_recv2:ntsync_channel_create \
	ntsync_channel_reply:ntsync_channel_create \
	ntsync_channel_register_thread:ntsync_channel_create \
	ntsync_channel_deregister_thread:ntsync_channel_create

.PHONY: install uninstall install-stage install-list libntsync tools \
	dkms-source

libntsync:
	$(MAKE) -C $(NTSYNC_TOP)/lib BUILD=$(BUILD)

tools: $(STAT_BIN)

$(STAT_BIN): $(NTSYNC_TOP)/tools/ntsync-stat.c
	@mkdir -p $(@D)
	$(CC) $(TOOL_CFLAGS) -o $@ $<

# The complete tree "make install" puts down, under $(STAGE).  Always
# rebuilt from nothing, so that no file from an earlier PREFIX stays.
install-stage: libntsync tools
	@if [ -z "$(KRELEASES)" ]; then \
		echo "install: no kernel to build the module for: install a" \
		     "Debian 6.12 kernel with its headers" \
		     "(scripts/install-deps.sh) or the running kernel's" \
		     "headers, or name a tree with KDIR=..." >&2; \
		exit 1; \
	fi
	@[ -n "$(NTSYNC_VERSION)" ] || \
		{ echo "install: no MODULE_VERSION in driver/ntsync_main.c" >&2; exit 1; }
	rm -rf $(STAGE)
	@set -e; for rel in $(KRELEASES); do \
		ko=$$(NTSYNC_BUILD_DIR=$(BUILD) $(if $(KDIR),NTSYNC_KDIR=$(KDIR)) \
			$(NTSYNC_TOP)/scripts/build-module.sh "$$rel"); \
		ko=$$(printf '%s\n' "$$ko" | tail -n 1); \
		[ -f "$$ko" ] || { echo "install: no module built for $$rel" >&2; exit 1; }; \
		echo "  module for $$rel" >&2; \
		install -D -m 644 "$$ko" $(STAGE)$(MODULEDIR)/$$rel/updates/ntsync.ko; \
		strip --strip-debug $(STAGE)$(MODULEDIR)/$$rel/updates/ntsync.ko; \
	done
	install -D -m 644 $(NTSYNC_TOP)/packaging/modules-load.d/ntsync.conf \
		$(STAGE)$(MODULESLOADDIR)/ntsync.conf
	install -D -m 644 $(NTSYNC_TOP)/include/uapi/linux/ntsync.h \
		$(STAGE)$(INCLUDEDIR)/linux/ntsync.h
	install -D -m 644 $(NTSYNC_TOP)/lib/ntsync.h $(STAGE)$(INCLUDEDIR)/ntsync.h
	install -D -m 644 $(BUILD)/lib/libntsync.a $(STAGE)$(LIBDIR)/libntsync.a
	install -D -m 755 $(BUILD)/lib/libntsync.so.$(LIB_VERSION) \
		$(STAGE)$(LIBDIR)/libntsync.so.$(LIB_VERSION)
	ln -s libntsync.so.$(LIB_VERSION) \
		$(STAGE)$(LIBDIR)/libntsync.so.$(firstword $(subst ., ,$(LIB_VERSION)))
	ln -s libntsync.so.$(firstword $(subst ., ,$(LIB_VERSION))) \
		$(STAGE)$(LIBDIR)/libntsync.so
	mkdir -p $(STAGE)$(PKGCONFIGDIR)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(NTSYNC_VERSION)|g' \
	    $(NTSYNC_TOP)/lib/libntsync.pc.in >$(STAGE)$(PKGCONFIGDIR)/libntsync.pc
	chmod 644 $(STAGE)$(PKGCONFIGDIR)/libntsync.pc
	install -D -m 755 $(STAT_BIN) $(STAGE)$(BINDIR)/ntsync-stat
	install -d -m 755 $(STAGE)$(MANDIR)/man3 $(STAGE)$(MANDIR)/man4 \
		$(STAGE)$(MANDIR)/man8
	install -m 644 $(addprefix $(NTSYNC_TOP)/man/man3/,$(MAN3_PAGES)) \
		$(STAGE)$(MANDIR)/man3/
	install -m 644 $(addprefix $(NTSYNC_TOP)/man/man4/,$(MAN4_PAGES)) \
		$(STAGE)$(MANDIR)/man4/
	install -m 644 $(addprefix $(NTSYNC_TOP)/man/man8/,$(MAN8_PAGES)) \
		$(STAGE)$(MANDIR)/man8/
	@set -e; for pair in $(MAN3_LINKS); do \
		alias=$${pair%%:*}; page=$${pair#*:}; \
		[ -f $(NTSYNC_TOP)/man/man3/$$page.3 ] || \
			{ echo "install: man3/$$page.3 missing (link $$alias)" >&2; exit 1; }; \
		echo ".so man3/$$page.3" >$(STAGE)$(MANDIR)/man3/$$alias.3; \
		chmod 644 $(STAGE)$(MANDIR)/man3/$$alias.3; \
	done
	install -d -m 755 $(STAGE)$(DATADIR)

install: install-stage
	$(NTSYNC_TOP)/mk/install-tree.sh install $(STAGE) "$(DESTDIR)" $(MANIFEST)

uninstall:
	$(NTSYNC_TOP)/mk/install-tree.sh uninstall "$(DESTDIR)" $(MANIFEST)

install-list:
	@$(MAKE) -s --no-print-directory install-stage >&2
	@cd $(STAGE) && find . ! -type d | sed 's|^\.||' | LC_ALL=C sort
	@echo $(MANIFEST)

# The DKMS source tree: dkms.conf, driver/ and the UAPI header, laid out as
# in the repository (the driver includes ../include/uapi/linux/ntsync.h).
DKMS_SRC := $(BUILD)/dkms/ntsync-nspa-$(NTSYNC_VERSION)

dkms-source:
	rm -rf $(DKMS_SRC)
	install -d -m 755 $(DKMS_SRC)/driver $(DKMS_SRC)/include/uapi/linux
	install -m 644 $(NTSYNC_TOP)/dkms.conf $(DKMS_SRC)/
	install -m 644 $(NTSYNC_TOP)/driver/Kbuild $(NTSYNC_TOP)/driver/Makefile \
		$(wildcard $(NTSYNC_TOP)/driver/*.[ch]) $(DKMS_SRC)/driver/
	install -m 644 $(NTSYNC_TOP)/include/uapi/linux/ntsync.h \
		$(DKMS_SRC)/include/uapi/linux/
	@echo "$(DKMS_SRC)"
