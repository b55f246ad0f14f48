# Wharf: the two commands are `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
APT_PACKAGES := libuv1-dev libsqlite3-dev sqlite3 libzstd-dev libbrotli-dev zlib1g-dev pkg-config brotli zstd gzip curl bubblewrap util-linux passwd git
# RFC 9842 dictionaries: the headless-browser test (EndToEndTests/DictionaryBrowserTests).
APT_PACKAGES += chromium chromium-driver
SWIFT ?= swift
STORE ?= .wharf
LISTEN ?= 127.0.0.1:8080
FUZZ_SECONDS ?= 60
# TLS: OpenSSL 3 headers and CLI; certutil and Chromium for the browser test over HTTPS.
APT_PACKAGES += libssl-dev openssl libnss3-tools chromium
# HTTP/2: libnghttp2 for the HTTP2 module; nghttp and h2load (nghttp2-client) for tests and benchmarks.
APT_PACKAGES += libnghttp2-dev nghttp2-client
# Zip archive uploads: archives made by Info-ZIP's zip in EndToEndTests/ZipArchiveUploadTests.
APT_PACKAGES += zip
# The scheduler queue on PostgreSQL: libpq for the Postgres module (CLibPQ); the server, which the
# tests and `wharf-bench scheduler --postgres` start privately (initdb into a temporary directory).
APT_PACKAGES += libpq-dev postgresql

SWIFT_FORMAT_PATHS := Package.swift Sources Tests Fuzz scripts/leakcheck

.PHONY: lint format deps build release test run fuzz fuzz-ci bench bench-edge clean loadtest crash pg-soak

## deps: install the Debian packages the project needs, only if missing.
deps:
	@scripts/install-deps.sh $(APT_PACKAGES)
	@scripts/install-build-users.sh wharf-build 10
	@python3 -c 'import prometheus_client' 2>/dev/null || python3 -m pip install -q prometheus_client
	@python3 -c 'import selenium' 2>/dev/null || python3 -m pip install -q selenium
	@python3 -c 'import h2' 2>/dev/null || python3 -m pip install -q h2

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product wharf

## test: install, build, run every test; non-zero on any failure.
## Three test processes: the edge and end-to-end suites block threads of the concurrency pool
## (subprocesses, sockets, browsers) for seconds at a time, which on 2 cores starves the
## time-bounded async tests of the other targets when all run in one process.
test: deps lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip '^(EdgeTests|EndToEndTests)\.'
	$(SWIFT) test --skip-build --filter '^EdgeTests\.'
	$(SWIFT) test --skip-build --filter '^EndToEndTests\.'

## lint: the house format (.swift-format: 4-space indents, 150 columns, ordered imports); any finding
## fails, so make test fails on unformatted code. `make format` rewrites the files in place.
lint:
	$(SWIFT) format lint --strict --recursive --parallel $(SWIFT_FORMAT_PATHS)

format:
	$(SWIFT) format format --in-place --recursive --parallel $(SWIFT_FORMAT_PATHS)

## run: install, build release, publish the bundled demo app, serve it.
run: release
	@scripts/run-demo.sh "$(STORE)" "$(LISTEN)"

## fuzz: run each libFuzzer target (request parser, field parsers, admin JSON bodies) for FUZZ_SECONDS;
## FUZZ_TARGETS="headers" picks targets.
fuzz: deps
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

## fuzz-ci: every fuzz target for a short fixed budget (20 s each), as CI runs it.
fuzz-ci: deps
	@scripts/fuzz.sh 20

## loadtest: release build + load-test suite (loadtests/README.md). QUICK=1: < 2 min, Wharf only;
## COMPARE=1: side by side with nginx and h2o; SCENARIOS="hot-small large" picks scenarios.
loadtest: deps
	python3 loadtests/run $(if $(QUICK),--quick) $(if $(COMPARE),--compare) $(SCENARIOS)

## crash: the SIGKILL suites at full length: publish and gc killed 100 times each at random
## moments (make test runs 50 and 20), and the scheduler killed mid-build.
crash: deps
	$(SWIFT) build --build-tests
	WHARF_CRASH_ROUNDS=$(or $(CRASH_ROUNDS),100) $(SWIFT) test --skip-build --filter '^EndToEndTests\.(PublishCrashTests|GCCrashTests|UploadCrashTests|SchedulerCrashTests)'

## pg-soak: the PostgreSQL queue's proof alone: 3 `wharf scheduler` processes on one private PostgreSQL
## run PG_SOAK_BUILDS (default 1,000, as in make test) short builds while one is SIGKILLed and restarted twice.
pg-soak: deps
	$(SWIFT) build --build-tests
	WHARF_PG_SOAK_BUILDS=$(or $(PG_SOAK_BUILDS),1000) $(SWIFT) test --skip-build --filter '^EndToEndTests\.PostgresSchedulerTests'

bench: deps
	$(SWIFT) run -c release wharf-bench parser

## bench-edge: the edge's cost side by side with nginx and h2o, one worker each, on a quiet machine:
## server (and client) CPU µs per response over wrk (scripts/bench-anchors.sh, CLIENT_COST=1), then
## open-loop latency at a fixed rate with CPU/request ratios (loadtests/run --compare). About 15 min.
## EDGE_SCENARIOS picks the load-test scenarios (default: hot-small large cold-cache).
bench-edge: deps
	CLIENT_COST=1 scripts/bench-anchors.sh
	python3 loadtests/run --compare $(or $(EDGE_SCENARIOS),hot-small large cold-cache)

clean:
	rm -rf .build
