# The front door: thin targets over CMake presets (CMakePresets.json).
#   make run     bootstrap, release build, start gridgate on its defaults
#   make build   bootstrap, release build, binaries in build/bin/
#   make test    bootstrap, then build and run the whole suite in the release,
#                asan (Address+UB sanitizers) and tsan (ThreadSanitizer) builds
#   make bench   bootstrap, release build, run the micro-benchmarks (filter,
#                decoder, spill)
#   make storm   the brownout-recovery storm benchmark (report, plot: var/storm/)
#   make steady  60 s at 10,000 events/s, the everyday mix (var/steady/)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

TEST_PRESETS ?= release asan tsan
BENCH_FLAGS ?= --benchmark_repetitions=3 --benchmark_report_aggregates_only=true

.PHONY: all bootstrap build run test bench storm steady clean format tidy $(addprefix test-,release debug asan tsan)

all: build

bootstrap:
	@scripts/bootstrap

build: bootstrap
	cmake --preset release
	cmake --build --preset release

# Ingest on 127.0.0.1:8080 (HTTP) and :7070 (TCP), admin API on :8081, the
# file sink and the spill directory under ./var. Ctrl-C stops it cleanly.
run: build
	build/bin/gridgate $(GRIDGATE_FLAGS)

test: bootstrap
	@for preset in $(TEST_PRESETS); do \
	  echo "== $$preset: build and test"; \
	  cmake --preset $$preset >/dev/null; \
	  cmake --build --preset $$preset; \
	  ctest --preset $$preset; \
	done

test-release test-debug test-asan test-tsan: bootstrap
	cmake --preset $(@:test-%=%) >/dev/null
	cmake --build --preset $(@:test-%=%)
	ctest --preset $(@:test-%=%)

bench: build
	build/bin/filter_bench $(BENCH_FLAGS)
	build/bin/decoder_bench $(BENCH_FLAGS)
	build/bin/spill_bench $(SPILL_BENCH_FLAGS)

# gridgate, a webhook sink and the load generator on this machine; exit 1
# when a check of the report fails (see the README, "The storm benchmark").
storm steady: build
	build/bin/gridgate-load storm --scenario $@ --out var/$@ $(STORM_FLAGS)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

tidy: build
	clang-tidy -p build/release $$(git ls-files 'src/*.cc')

clean:
	rm -rf build
