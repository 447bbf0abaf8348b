# ntsync-nspa top-level build.
#
#   make            build the module for every installed Debian 6.12 kernel
#                   flavour (rt, generic), the library, tests and demo;
#                   with KDIR=<kernel build tree> for that kernel only, and
#                   with no Debian 6.12 kernel for the running kernel
#                   (/lib/modules/$(uname -r)/build)
#   make demo       install what is missing, build, boot the RT kernel in
#                   QEMU, load the module and run the demo
#   make check      install what is missing, build, run the whole test suite
#                   (scripts/run-tests.sh; CHECK_ARGS="--only rt" for one
#                   part)
#   make bench      install what is missing, build, run the benchmark suite
#                   in QEMU on the RT kernel, then its inversion scenario on
#                   the generic kernel, then the latency tracer on the debug
#                   kernel, then upstream's ntsync.ko against ours on the
#                   7.x RT kernel (scripts/run-bench.sh; BENCH_ARGS=--quick
#                   for a short run, --no-generic-inversion,
#                   --no-latency-trace, --no-peer) and plot it into
#                   $(BUILD)/bench
#   make lint       checkpatch, sparse and W=1 on the driver
#
# Build products go to $(BUILD) (default ./build), never into the sources.

BUILD ?= $(CURDIR)/build
export NTSYNC_BUILD_DIR := $(BUILD)

KREL_RT = $(shell scripts/kernel-release.sh rt 2>/dev/null)
KREL_GENERIC = $(shell scripts/kernel-release.sh generic 2>/dev/null)

# KDIR=<kernel build tree> builds (and installs) the module for that kernel
# only.  Without it, the Debian 6.12 kernels; if there is none, the running
# kernel's tree, when its headers are installed.
ifeq ($(origin KDIR),undefined)
ifeq ($(strip $(KREL_RT) $(KREL_GENERIC)),)
ifneq ($(wildcard /lib/modules/$(shell uname -r)/build/Makefile),)
KDIR := /lib/modules/$(shell uname -r)/build
endif
endif
endif
ifneq ($(KDIR),)
KREL_KDIR := $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
KRELEASES ?= $(KREL_KDIR)
endif
MODULE_RELEASES = $(if $(KDIR),$(KREL_KDIR),$(KREL_RT) $(KREL_GENERIC))

.PHONY: all deps module userspace demo check bench lint clean

all: module userspace

deps:
	scripts/install-deps.sh

# One out-of-tree build per kernel release, in a copy of the sources.
module:
	@if [ -n "$(KDIR)" ] && [ -z "$(KREL_KDIR)" ]; then \
		echo "make: $(KDIR) is not a configured kernel build tree" \
		     "(no include/config/kernel.release)" >&2; exit 1; fi
	@if [ -z "$(strip $(MODULE_RELEASES))" ]; then \
		echo "make: no kernel to build the module for: no Debian 6.12" \
		     "kernel with headers (make deps installs them), no" \
		     "/lib/modules/$$(uname -r)/build (install the headers of" \
		     "the running kernel), and no KDIR=<kernel build tree>" >&2; \
		exit 1; fi
	@set -e; for rel in $(MODULE_RELEASES); do \
		$(if $(KDIR),NTSYNC_KDIR=$(KDIR)) scripts/build-module.sh "$$rel"; \
	done

userspace:
	$(MAKE) -C tests BUILD=$(BUILD)

demo: deps
	$(MAKE) all
	scripts/run-demo.sh

check: deps
	$(MAKE) all
	scripts/run-tests.sh $(CHECK_ARGS)

# Not part of "all": the benchmark is built and run only here.
bench: deps
	$(MAKE) all
	$(MAKE) -C bench BUILD=$(BUILD)
	scripts/run-bench.sh $(BENCH_ARGS)

lint:
	scripts/lint-driver.sh

clean:
	rm -rf $(BUILD)

include mk/install.mk
