# ntsync-nspa top-level build.
#
#   make            build the module for every installed Debian 6.12 kernel
#                   flavour (rt, generic), the library, tests and demo
#   make demo       install what is missing, build, boot the RT kernel in
#                   QEMU, load the module and run the demo
#   make check      install what is missing, build, run the whole test suite
#                   (scripts/run-tests.sh; CHECK_ARGS="--only rt" for one
#                   part)
#   make bench      install what is missing, build, run the benchmark suite
#                   in QEMU on the RT kernel, then its inversion scenario on
#                   the generic kernel, then the latency tracer on the debug
#                   kernel (scripts/run-bench.sh; BENCH_ARGS=--quick for a
#                   short run, --no-generic-inversion, --no-latency-trace)
#                   and plot it into $(BUILD)/bench
#   make lint       checkpatch, sparse and W=1 on the driver
#
# Build products go to $(BUILD) (default ./build), never into the sources.

BUILD ?= $(CURDIR)/build
export NTSYNC_BUILD_DIR := $(BUILD)

KREL_RT = $(shell scripts/kernel-release.sh rt 2>/dev/null)
KREL_GENERIC = $(shell scripts/kernel-release.sh generic 2>/dev/null)

.PHONY: all deps module userspace demo check bench lint clean

all: module userspace

deps:
	scripts/install-deps.sh

# One out-of-tree build per kernel release, in a copy of the sources.
module:
	scripts/build-module.sh $(KREL_RT)
	scripts/build-module.sh $(KREL_GENERIC)

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
