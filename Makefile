# flagpost build.
#
#   make            build the three programs into $(BUILD)/bin
#   make test       unit + integration tests, then again under ASan+UBSan
#   make demo       bring a partnership up on 127.0.0.1 and play a day
#   make bench      throughput and latency against raw limits (bench/results.json)
#   make fuzz       run the libFuzzer targets for longer
#   make valgrind   unit and integration tests with every process under memcheck
#   make install    install programs, man pages and units (PREFIX, DESTDIR)
#   make clean
#
# Build variants live in their own trees so they never mix objects:
#   make BUILD=build/asan SAN=1 CC=clang

CC      ?= cc
BUILD   ?= build
SAN     ?=
PREFIX  ?= /usr/local
DESTDIR ?=

PKGS := libzmq libsodium libprotobuf-c lmdb jansson yaml-0.1 libseccomp

# The optional libraries below are looked for when a recipe runs, not when
# make reads this file: on a fresh machine the first `make` is what installs
# them (check-deps), and a test made at read time would build that first
# broker without them.  have(PKG) is "yes" when pkg-config knows PKG.
have = $(shell pkg-config --exists $(1) 2>/dev/null && echo yes)

# Optional: with OpenSSL's libcrypto installed, the audit Merkle tree hashes
# with its SHA-256 (SHA-NI/AVX2 code, about 4x libsodium's portable C), which
# `flagpost audit verify` needs for a million entries a second on two cores.
# Without it, libsodium's SHA-256 is used; the hashes are identical.
OPT_PKGS  = $(if $(call have,libcrypto),libcrypto)
SHA_FLAGS = $(if $(call have,libcrypto),-DFLAGPOST_SHA256_OPENSSL)

# Optional: the broker links jemalloc when it is installed (install-deps
# installs it).  The broker's loop allocates what ZeroMQ's I/O thread frees,
# and the other way round; glibc's malloc serialises those frees on one arena
# lock (perf: half of the broker's futex calls under load), jemalloc's
# per-thread caches do not.  Not in the sanitizer build, whose allocator must
# own malloc.  docs/performance.md has the numbers.
ifeq ($(SAN),)
BROKER_MALLOC = $(if $(call have,jemalloc),$(shell pkg-config --libs jemalloc))
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wvla -Wpointer-arith -Wcast-qual -Wno-unused-parameter
OPT  := -O2 -g -fno-omit-frame-pointer
# protobuf-c's *__INIT macros cast away const; gcc forgives that in macros
# from system headers, clang does not, so the clang build skips that one
# warning (the gcc build still enforces it everywhere else).
ifneq ($(findstring clang,$(CC)),)
WARN += -Wno-cast-qual
endif
ifeq ($(SAN),1)
OPT  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
endif

# Evaluated lazily (=), after check-deps has had a chance to install them.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(OPT_PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) $(OPT_PKGS) 2>/dev/null) -lpthread -lm

GEN     := $(BUILD)/gen
INCLUDE := -Ilib -Icerts -Ipolicy -Ibroker -Iagents -Icli -isystem $(GEN)
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(WARN) $(OPT) $(INCLUDE) $(PKG_CFLAGS) $(SHA_FLAGS) $(CFLAGS)
LDFLAGS_ALL = $(OPT) $(LDFLAGS)

PROTO_C := $(GEN)/flagpost.pb-c.c
PROTO_H := $(GEN)/flagpost.pb-c.h

# Library code shared by every program: everything in lib/, certs/, policy/.
LIB_SRC    := $(wildcard lib/*.c certs/*.c policy/*.c)
BROKER_SRC := $(filter-out broker/broker_main.c,$(wildcard broker/*.c))
AGENT_SRC  := $(filter-out agents/agent_main.c,$(wildcard agents/*.c))
CLI_SRC    := $(filter-out cli/cli_main.c,$(wildcard cli/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_OBJ    := $(call obj,$(LIB_SRC)) $(BUILD)/obj/gen/flagpost.pb-c.o
BROKER_OBJ := $(call obj,$(BROKER_SRC))
AGENT_OBJ  := $(call obj,$(AGENT_SRC))
CLI_OBJ    := $(call obj,$(CLI_SRC))

BIN := $(BUILD)/bin
PROGRAMS := $(BIN)/flagpost $(BIN)/flagpost-broker $(BIN)/flagpost-agent

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_SRC   := $(wildcard tests/tools/*.c)
TOOL_BINS  := $(patsubst tests/tools/%.c,$(BUILD)/tests/%,$(TOOL_SRC))
BENCH_SRC  := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all test test-fast demo bench fuzz valgrind install clean deps
all: $(PROGRAMS) $(UNIT_BINS) $(TOOL_BINS) $(BENCH_BINS)

deps: $(BUILD)/.deps-ok
$(BUILD)/.deps-ok: scripts/check-deps
	@scripts/check-deps
	@mkdir -p $(BUILD) && touch $@

$(PROTO_C) $(PROTO_H): proto/flagpost.proto | $(BUILD)/.deps-ok
	@mkdir -p $(GEN)
	protoc-c --proto_path=proto --c_out=$(GEN) proto/flagpost.proto

$(BUILD)/obj/gen/flagpost.pb-c.o: $(PROTO_C)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(OPT) $(PKG_CFLAGS) -I$(GEN) -c $< -o $@

$(BUILD)/obj/%.o: %.c $(PROTO_H) | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# An archive needs at least one member, so each also carries the (tiny)
# generated-code object; duplicates in later archives are never linked twice.
$(BUILD)/libflagpost.a: $(LIB_OBJ)
$(BUILD)/libbroker.a: $(BROKER_OBJ) $(BUILD)/obj/gen/flagpost.pb-c.o
$(BUILD)/libagent.a: $(AGENT_OBJ) $(BUILD)/obj/gen/flagpost.pb-c.o
$(BUILD)/libcli.a: $(CLI_OBJ) $(BUILD)/obj/gen/flagpost.pb-c.o
$(BUILD)/lib%.a:
	@mkdir -p $(dir $@)
	@rm -f $@
	@ar rcs $@ $^

LIBS_ALL = $(BUILD)/libcli.a $(BUILD)/libbroker.a $(BUILD)/libagent.a $(BUILD)/libflagpost.a

$(BIN)/flagpost-broker: $(BUILD)/obj/broker/broker_main.o $(LIBS_ALL)
	@mkdir -p $(BIN)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS_ALL) $^ $(BROKER_MALLOC) $(PKG_LIBS) -o $@
$(BIN)/flagpost-agent: $(BUILD)/obj/agents/agent_main.o $(LIBS_ALL)
	@mkdir -p $(BIN)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS_ALL) $^ $(PKG_LIBS) -o $@
$(BIN)/flagpost: $(BUILD)/obj/cli/cli_main.o $(LIBS_ALL)
	@mkdir -p $(BIN)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS_ALL) $^ $(PKG_LIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBS_ALL)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS_ALL) $^ $(PKG_LIBS) -o $@
$(BUILD)/tests/%: $(BUILD)/obj/tests/tools/%.o $(LIBS_ALL)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS_ALL) $^ $(PKG_LIBS) -o $@
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIBS_ALL)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS_ALL) $^ $(PKG_LIBS) -o $@

# The whole suite, twice: a normal build, then clang with ASan+UBSan.
# tests/run prints the single closing "N passed, N failed" line.
test: $(BUILD)/.deps-ok
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory all BUILD=build/asan SAN=1 CC=clang
	@tests/run build build/asan

# One build only, for quick iteration.
test-fast: all
	@tests/run $(BUILD)

demo: all
	@scripts/demo $(BUILD)/bin

bench: all $(BENCH_BINS)
	@bench/run $(BUILD)

fuzz: $(BUILD)/.deps-ok
	@scripts/fuzz $(or $(FUZZ_SECONDS),300)

# Slow (every program under memcheck); see tests/run and docs/threat-model.md.
valgrind: all
	@FLAGPOST_VALGRIND=1 tests/run $(BUILD)

install: all
	scripts/install-flagpost "$(DESTDIR)" "$(PREFIX)" "$(BIN)"

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
