# The README's two commands: `make run` and `make test`. CI runs `make test` (see .ci/run).
SWIFT ?= swift
RELEASE_SCRATCH ?= .build-release

.PHONY: run test deps bench bench-quick

# System libraries the package links; installed only when missing (Debian).
deps:
	@dpkg -s libsqlite3-dev >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq libsqlite3-dev pkg-config; }

# Builds Tarn and starts it on its embedded default: SQLite + local storage under ./tarn-data.
run: deps
	$(SWIFT) build --product tarn
	$$($(SWIFT) build --show-bin-path)/tarn serve --quickstart

# Every test: unit, property-based, concurrency and crash tests. One build, then the run.
test: deps
	$(SWIFT) test

# Benchmarks run in release builds kept apart from the debug build.
bench: deps
	$(SWIFT) run -c release --scratch-path $(RELEASE_SCRATCH) tarn-bench engine

bench-quick: deps
	$(SWIFT) run -c release --scratch-path $(RELEASE_SCRATCH) tarn-bench engine --quick
