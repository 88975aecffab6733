# SPDX-License-Identifier: MIT
#
# cellgate build. `make` builds the controller (build/cellgate) with its BPF
# programs embedded as libbpf skeletons; `make test` runs every test level.
# Run `make help` for the list of targets.

ARCH ?= x86
BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=
# The version, defined here only: `make VERSION=...` (a package) overrides
# it; build/gen/version.h carries it to the code.
VERSION ?= 0.1.0

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool

# Every target installs the packages it needs first (scripts/deps.sh,
# silent and ~25 ms when nothing is missing), before the pkg-config calls
# below are expanded: a fresh Debian 12 builds with a plain `make`. Once
# per top-level make (recursive makes inherit CELLGATE_DEPS_DONE).
DEPS_NONE := clean help demo-down deps
DEPS_BUILD := all install vmlinux format format-check
DEPS_BENCH := bench bench-quick bench-wg bench-kernels
DEPS_FRESH := test-fresh test
DEPS_DEB := deb test-deb test
GOALS := $(or $(MAKECMDGOALS),all)
DEPS_GROUPS := $(strip \
	$(if $(filter-out $(DEPS_NONE),$(GOALS)),build) \
	$(if $(filter-out $(DEPS_NONE) $(DEPS_BUILD),$(GOALS)),test) \
	$(if $(filter $(DEPS_BENCH),$(GOALS)),bench) \
	$(if $(filter $(DEPS_FRESH),$(GOALS)),fresh) \
	$(if $(filter $(DEPS_DEB),$(GOALS)),deb))
ifneq ($(DEPS_GROUPS),)
ifndef CELLGATE_DEPS_DONE
ifneq ($(shell scripts/deps.sh $(DEPS_GROUPS) >&2; echo $$?),0)
$(error scripts/deps.sh $(DEPS_GROUPS) failed: see above)
endif
export CELLGATE_DEPS_DONE := $(DEPS_GROUPS)
endif
endif

PKGS := libbpf libxdp json-c libmicrohttpd libcurl libnl-3.0 libnl-genl-3.0 \
	libnl-route-3.0 libcrypto libqrencode zlib
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS ?= -O2 -g
# ctl/ is split by concern (ctl/README.md); each folder is on the include
# path so a file names a header by its own name, wherever it lives.
CTL_DIRS := $(sort $(dir $(wildcard ctl/*/*.c ctl/*/*.h)))
CTL_CFLAGS := -std=gnu11 -Wall -Wextra -Werror \
	-I$(BUILD)/bpf -I$(BUILD)/gen -Ictl $(patsubst %/,-I%,$(CTL_DIRS)) \
	-Iapi -Ibpf/lib $(PKG_CFLAGS)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all

BPF_CFLAGS := -target bpf -g -O2 -Wall -Wextra -Werror \
	-I vmlinux/$(ARCH) -I bpf/lib -D__TARGET_ARCH_$(ARCH) $(LAYOUT_CFLAGS)
# LAYOUT_CFLAGS=-DCG_LAYOUT_PROBE builds another map layout (a member added
# to the conntrack entry), for tests/e2e/test_upgrade.sh.
LAYOUT_CFLAGS ?=
CTL_CFLAGS += $(LAYOUT_CFLAGS)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRCS))
BPF_HDRS := $(wildcard bpf/lib/*.h)

# Controller sources, minus main.c (tests link the rest).
CTL_LIB_SRCS := $(wildcard ctl/*/*.c) $(wildcard api/*.c)
VERSION_H := $(BUILD)/gen/version.h
CTL_HDRS := $(wildcard ctl/*/*.h api/*.h) $(BPF_HDRS) $(VERSION_H)
CTL_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(CTL_LIB_SRCS))
SAN_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(CTL_LIB_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

# libFuzzer targets (clang), linked with only the sources they exercise:
# no BPF skeletons, libbpf or libmicrohttpd needed.
FUZZ_LIB_SRCS := $(wildcard ctl/state/state*.c) ctl/state/config.c \
	ctl/common/jsonx.c ctl/common/util.c ctl/common/key.c \
	ctl/common/hashidx.c ctl/common/log.c \
	$(wildcard ctl/state/policy*.c) ctl/state/cell.c \
	ctl/common/crypto.c \
	ctl/state/join_token.c
FUZZ_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(FUZZ_LIB_SRCS))
FUZZ_BINS := $(BUILD)/fuzz/fuzz_request $(BUILD)/fuzz/fuzz_config \
	$(BUILD)/fuzz/fuzz_join_token
FUZZ_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
FUZZ_LIBS = $(shell pkg-config --libs json-c libcrypto)
FUZZ_SECONDS ?= 300
FUZZ_QUICK_SECONDS ?= 25

.PHONY: FORCE all deps vmlinux test test-unit test-bpf test-e2e demo demo-down \
	install clean format format-check help fuzz fuzz-quick bench bench-quick \
	bench-wg bench-kernels soak
.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS) $(BPF_SKELS) $(SAN_OBJS) $(CTL_OBJS)

all: $(BUILD)/cellgate

help:
	@echo "make             build build/cellgate"
	@echo "make test        install deps, build, run unit, BPF and e2e tests"
	@echo "                 (every target installs the packages it needs first)"
	@echo "make test-unit   unit tests (check, ASan/UBSan)"
	@echo "make test-bpf    BPF_PROG_TEST_RUN tests"
	@echo "make test-e2e    end-to-end tests in network namespaces"
	@echo "make soak        the soak test for SOAK_SECONDS ($(SOAK_SECONDS)) s (60 s in make test)"
	@echo "make test-kernels Debian 12's 6.1 kernel and kernel WireGuard under qemu"
	@echo "make test-deb    build the .deb, lintian, install and purge it in a throwaway root"
	@echo "make test-fresh  plain make in a fresh Debian 12 chroot"
	@echo "make fuzz        libFuzzer targets, FUZZ_SECONDS ($(FUZZ_SECONDS)) s each"
	@echo "make fuzz-quick  the same for $(FUZZ_QUICK_SECONDS) s each (in make test)"
	@echo "make demo        two-cell demo in namespaces (make demo-down)"
	@echo "make bench       benchmarks vs iptables -> docs/BENCHMARKS.md (long)"
	@echo "make bench-quick headline ratios in under 3 minutes"
	@echo "make bench-wg    UDP over wireguard-go, set-ups side by side (~5 min)"
	@echo "make bench-kernels 10 and 100k peers on kernel WireGuard under qemu -> docs/bench/kernel-scale.md"
	@echo "make install     install to \$$DESTDIR\$$PREFIX"
	@echo "make deb         Debian 12 package in $(BUILD)/deb (make test-deb tests it)"
	@echo "make vmlinux     regenerate vmlinux/$(ARCH)/vmlinux.h"
	@echo "make format      clang-format every C file"

# Everything, every group (the targets install only their own groups).
deps:
	@scripts/deps.sh

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

# ---- BPF ---------------------------------------------------------------

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(BUILD)/bpf
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# ---- controller ----------------------------------------------------------

# Rewritten only when VERSION changes, so that only then is it rebuilt.
$(VERSION_H): FORCE
	@mkdir -p $(dir $@)
	@echo '#define CG_VERSION "$(VERSION)"' > $@.tmp
	@if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi

FORCE:

$(BUILD)/obj/%.o: %.c $(CTL_HDRS) $(BPF_SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CTL_CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c $(CTL_HDRS) $(BPF_SKELS)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(SAN_FLAGS) $(CTL_CFLAGS) -c $< -o $@

$(BUILD)/cellgate: $(BUILD)/obj/ctl/main.o $(CTL_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread

$(BUILD)/bpf $(BUILD)/tests:
	@mkdir -p $@

# ---- tests ---------------------------------------------------------------

$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/*.h $(SAN_OBJS) | $(BUILD)/tests
	$(CC) -O1 -g $(SAN_FLAGS) $(CTL_CFLAGS) $(shell pkg-config --cflags check) \
		-o $@ $< $(SAN_OBJS) $(PKG_LIBS) $(shell pkg-config --libs check) -lpthread

$(BUILD)/tests/bpf_test: tests/bpf/bpf_test.c tests/bpf/*.h $(CTL_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) $(CTL_CFLAGS) -Itests/bpf -o $@ $< $(CTL_OBJS) $(PKG_LIBS) -lpthread

test:
	@$(MAKE) --no-print-directory all $(UNIT_BINS) $(BUILD)/tests/bpf_test \
		$(BUILD)/tests/foreign_pass.bpf.o $(BUILD)/tests/conn_storm \
		$(BUILD)/tests/bpf_insns
	@$(MAKE) --no-print-directory format-check test-unit fuzz-quick \
		test-bpf test-e2e test-kernels test-deb test-fresh

test-unit: $(UNIT_BINS) $(BUILD)/cellgate
	@tests/run-unit.sh $(UNIT_BINS)
	@tests/check-openapi.sh
	@tests/check-layers.sh
	@tests/check-sizes.sh
	@tests/check-cli.sh $(BUILD)/cellgate $(VERSION)

test-bpf: $(BUILD)/tests/bpf_test
	@$(BUILD)/tests/bpf_test

$(BUILD)/tests/conn_storm: tests/tools/conn_storm.c | $(BUILD)/tests
	$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -o $@ $<

# The controller built with another map layout (tests/e2e/test_upgrade.sh).
$(BUILD)/layout-probe/cellgate: FORCE
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/layout-probe \
		LAYOUT_CFLAGS=-DCG_LAYOUT_PROBE $@

$(BUILD)/tests/foreign_pass.bpf.o: tests/e2e/foreign_pass.bpf.c | $(BUILD)/tests
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

test-e2e: $(BUILD)/cellgate $(BUILD)/tests/foreign_pass.bpf.o \
		$(BUILD)/tests/conn_storm $(BUILD)/layout-probe/cellgate
	@tests/e2e/run.sh

# tests/e2e/test_soak.sh alone, longer: peers churned, policy flipped,
# traffic, two controller restarts (test-e2e runs it for 60 s).
SOAK_SECONDS ?= 600
soak: $(BUILD)/cellgate
	@SOAK_SECONDS=$(SOAK_SECONDS) bash tests/e2e/test_soak.sh

# Debian 12's stock kernel (6.1) with kernel WireGuard, booted under qemu
# (tests/kernels/run.sh): every object verified, the BPF suite, an e2e
# scenario over generic netlink. Exit 77 (no qemu, not root, no Debian
# archive) is a skip, reported by the script, not a failure.
.PHONY: test-kernels
$(BUILD)/tests/bpf_insns: tests/kernels/bpf_insns.c tests/bpf/private_bpffs.h \
		| $(BUILD)/tests
	$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -Itests/bpf \
		$(shell pkg-config --cflags libbpf) -o $@ $< \
		$(shell pkg-config --libs libbpf)

test-kernels:
	@$(MAKE) --no-print-directory $(BUILD)/cellgate $(BUILD)/tests/bpf_test \
		$(BUILD)/tests/bpf_insns
	@BUILD=$(BUILD) tests/kernels/run.sh || [ $$? = 77 ]

# A plain `make` on a fresh Debian 12 (a debootstrap chroot with only
# `make` added) installs what it needs and builds: one to two minutes with the
# base system cached in build/fresh/. Exit 77 (not root, no archive) is a
# skip.
.PHONY: test-fresh
test-fresh:
	@BUILD=$(BUILD) tests/fresh/run.sh || [ $$? = 77 ]

# ---- fuzzing ---------------------------------------------------------------

$(BUILD)/fuzz/obj/%.o: %.c $(CTL_HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(CTL_CFLAGS) -c $< -o $@

$(FUZZ_BINS): $(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS) $(CTL_HDRS)
	$(CLANG) $(FUZZ_FLAGS) -fsanitize=fuzzer $(CTL_CFLAGS) -o $@ $< \
		$(FUZZ_OBJS) $(FUZZ_LIBS)

# Each target on a copy of its seed corpus, tests/fuzz/corpus/NAME.
fuzz: $(FUZZ_BINS)
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

fuzz-quick: $(FUZZ_BINS)
	@tests/fuzz/run.sh $(FUZZ_QUICK_SECONDS) $(FUZZ_BINS)

# ---- benchmarks (not in `make test`) -----------------------------------------

# tests/bench/run.sh measures cellgate against PIC-style iptables and
# ipset, writes build/bench/results/*.tsv, docs/BENCHMARKS.md and
# docs/bench/*.png. BENCH_N and BENCH_RUNS override the peer counts and
# runs (e.g. BENCH_N="10 1000" BENCH_RUNS=2 for a trial).
BENCH_BINS := $(BUILD)/bench/prog_bench $(BUILD)/bench/baseline.bpf.o \
	$(BUILD)/tests/conn_storm $(BUILD)/bench/state_bench

$(BUILD)/bench/baseline.bpf.o: tests/bench/baseline.bpf.c $(BPF_HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/prog_bench: tests/bench/prog_bench.c tests/bench/bench_rules.h \
		tests/bench/prog_bench6.h tests/bpf/pktgen.h tests/bpf/private_bpffs.h \
		$(CTL_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CTL_CFLAGS) -Itests/bpf -o $@ $< $(CTL_OBJS) \
		$(PKG_LIBS) -lpthread

# The state's cost of one change at N peers, 100k included (no
# WireGuard): tests/bench/state_bench.c.
$(BUILD)/bench/state_bench: tests/bench/state_bench.c $(CTL_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CTL_CFLAGS) -o $@ $< $(CTL_OBJS) $(PKG_LIBS) -lpthread

bench:
	@$(MAKE) --no-print-directory all $(BENCH_BINS)
	@tests/bench/run.sh full

bench-quick:
	@$(MAKE) --no-print-directory all $(BENCH_BINS)
	@tests/bench/run.sh quick

# The control plane at 100k peers (wireguard-go stops at 65,536): the 6.1
# VM of test-kernels, kernel WireGuard, its "scale" step alone; the page
# is written only from a complete run.
BENCH_KERNELS_N ?= 10 100000
bench-kernels:
	@$(MAKE) --no-print-directory $(BUILD)/cellgate $(BUILD)/tests/bpf_test \
		$(BUILD)/tests/bpf_insns
	@CGK_STEPS=kernel,scale CGK_SCALE_N="$(BENCH_KERNELS_N)" CGK_MEM=6144 \
		CGK_TIMEOUT=3600 BUILD=$(BUILD) tests/kernels/run.sh
	@mkdir -p docs/bench
	@tests/kernels/scale_report.sh $(BUILD)/kernels/run/scale.tsv \
		>docs/bench/kernel-scale.md
	@echo "docs/bench/kernel-scale.md written"

# UDP over wireguard-go with every set-up's topology kept and short tests
# alternated (tests/bench/wg_pair.sh; WG_PAIR_N, WG_PAIR_ROUNDS,
# WG_PAIR_VARIANTS): the ratios of make bench without the load's drift.
bench-wg:
	@$(MAKE) --no-print-directory all $(BENCH_BINS)
	@tests/bench/wg_pair.sh

# ---- demo ------------------------------------------------------------------

demo:
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh up

demo-down:
	@scripts/demo.sh down

# ---- install ---------------------------------------------------------------

install: $(BUILD)/cellgate
	install -D -m 0755 $(BUILD)/cellgate $(DESTDIR)$(PREFIX)/sbin/cellgate
	install -d $(DESTDIR)/lib/systemd/system
	sed 's|@PREFIX@|$(PREFIX)|g' scripts/cellgate.service \
		>$(DESTDIR)/lib/systemd/system/cellgate.service
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/cellgate/README.md
	install -D -m 0644 scripts/cellgate.example.json \
		$(DESTDIR)$(PREFIX)/share/cellgate/cellgate.example.json

# ---- Debian package ----------------------------------------------------------

# `make deb`: build/deb/cellgate_*.deb for Debian 12 from debian/, built in
# a copy of the tree and checked by lintian (scripts/build-deb.sh).
# `make test-deb` also installs and purges it in a throwaway root.
.PHONY: deb test-deb
deb:
	@scripts/build-deb.sh $(BUILD)/deb

test-deb: deb
	@tests/deb/test_deb.sh $(BUILD)/deb || [ $$? = 77 ]

# ---- housekeeping ----------------------------------------------------------

C_FILES = $(shell git ls-files '*.c' '*.h' | grep -v '^vmlinux/')

format:
	clang-format -i $(C_FILES)

format-check:
	@clang-format --dry-run -Werror $(C_FILES) && echo "format: clang-format clean"


clean:
	rm -rf $(BUILD)
