# svcplane: the one build entry. See README.md and ../shared/design/STYLE.md.
#   make                 build build/$(MODE)/svcplane (MODE=debug|release|asan|fuzz)
#   make run             install deps, build, start `svcplane server` on an embedded SQLite store
#   make test            install deps, build, run every test; last line "N passed, N failed, N skipped"
#   make test-stress     make test 3 times from a fresh clone under stress-ng --cpu 2 (long)
#   make test-unit       unit tests only (also under ASan+UBSan via MODE=asan)
#   make test-unit-etcd  the store's unit tests on a throwaway etcd
#   make fuzz            run each libFuzzer target for FUZZ_SECONDS
#   make bench           run the benchmarks in bench/
MODE ?= debug
CC ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif
BUILD := build/$(MODE)
PKGS := sqlite3 jansson yaml-0.1 openssl libcurl libmnl libnftables libnftnl libnetfilter_conntrack zlib

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
        -Wno-missing-field-initializers
ifneq ($(CI),)
WARN += -Werror
endif
ifneq ($(WERROR),)
WARN += -Werror
endif

CFLAGS_MODE_debug   := -O1 -g
CFLAGS_MODE_release := -O2 -g -DNDEBUG
CFLAGS_MODE_asan    := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
CFLAGS_MODE_fuzz    := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
LDFLAGS_MODE_asan   := -fsanitize=address,undefined
LDFLAGS_MODE_fuzz   := -fsanitize=address,undefined

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

ALL_CFLAGS := -std=gnu17 -D_GNU_SOURCE -pthread $(WARN) $(CFLAGS_MODE_$(MODE)) -Isrc -Itests $(CFLAGS)
ALL_LDFLAGS := -pthread $(LDFLAGS_MODE_$(MODE)) $(LDFLAGS)

LIB_SRCS := $(sort $(filter-out src/cmd/%,$(wildcard src/*/*.c src/*/*/*.c)))
CMD_SRCS := $(wildcard src/cmd/*.c)
UNIT_SRCS := $(sort $(wildcard tests/unit/*/*.c)) tests/harness/t.c
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CMD_OBJS := $(CMD_SRCS:%.c=$(BUILD)/%.o)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/%.o)

.PHONY: all deps deps-test run test test-stress test-unit test-unit-etcd test-integ test-fuzz fuzz bench fmt lint clean
all: deps $(BUILD)/svcplane

deps:
	@scripts/deps.sh
deps-test:
	@scripts/deps.sh test

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libsvcplane.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/svcplane: $(CMD_OBJS) $(BUILD)/libsvcplane.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(CMD_OBJS) $(BUILD)/libsvcplane.a $(PKG_LIBS)
	@ln -sf $(MODE)/svcplane build/svcplane

$(BUILD)/test-unit: $(UNIT_OBJS) $(BUILD)/libsvcplane.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(UNIT_OBJS) $(BUILD)/libsvcplane.a $(PKG_LIBS)

# Corpus replay: each fuzz target linked with a plain main() that feeds it every file of its corpus.
$(BUILD)/fuzz-replay-%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(BUILD)/libsvcplane.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# libFuzzer binaries (MODE=fuzz, clang).
$(BUILD)/fuzz-%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/libsvcplane.a
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

# Services and pods take addresses from the benchmarking range 198.18.0.0/15, so `make run`
# never collides with a real network; the binary's own defaults are Kubernetes'.
RUN_RANGES ?= --service-cluster-ip-range 198.19.0.0/16 --cluster-cidr 198.18.128.0/17
run: all
	$(BUILD)/svcplane server $(RUN_RANGES) $(RUN_ARGS)

# The whole suite: unit (plain and ASan+UBSan), fuzz corpus replay, integration with real kubectl.
test: deps-test
	@tests/run.sh

test-unit: deps $(BUILD)/test-unit
	$(BUILD)/test-unit $(FILTER)

# The store's unit tests on a throwaway etcd (backend parity; also a stage of `make test`).
test-unit-etcd: deps-test $(BUILD)/test-unit
	tests/etcd_run.sh $(BUILD)/test-unit store_

test-fuzz: deps $(FUZZ_NAMES:%=$(BUILD)/fuzz-replay-%)
	@for n in $(FUZZ_NAMES); do $(BUILD)/fuzz-replay-$$n tests/fuzz/corpus/$$n || exit 1; done

test-integ: deps-test
	@tests/run.sh integ

# `make test` 3 times in a row from a fresh clone of HEAD while stress-ng --cpu 2 runs
# (tests/stress.sh; STRESS_RUNS, STRESS_CPUS, STRESS_CLONE=0 to test this tree). Long:
# not part of `make test`.
test-stress: deps-test
	@tests/stress.sh

FUZZ_SECONDS ?= 60
fuzz: deps
	$(MAKE) MODE=fuzz CC=clang $(FUZZ_NAMES:%=build/fuzz/fuzz-%)
	@for n in $(FUZZ_NAMES); do mkdir -p build/fuzz/corpus-$$n; \
	  build/fuzz/fuzz-$$n -max_total_time=$(FUZZ_SECONDS) build/fuzz/corpus-$$n tests/fuzz/corpus/$$n || exit 1; done

bench: all
	@for b in bench/*.sh; do echo "== $$b"; $$b || exit 1; done

fmt:
	clang-format -i $$(git ls-files '*.c' '*.h')
lint:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
