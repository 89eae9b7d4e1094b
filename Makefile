# filefleet — see README.md. `make run` starts everything locally; `make test` runs the tests.
SHELL := /bin/bash
CACHE ?= $(HOME)/.cache/filefleet
BIN := bin/filefleet
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
SECRET_FILE := $(CACHE)/secret.key
ADMIN_TOKEN_FILE := $(CACHE)/admin.token
ENV = $(shell scripts/services.sh env)

.PHONY: build run test chaos bench bench-dedupe bench-organize bench-archive bench-scale services vet clean

build:
	go build -ldflags "-X main.Version=$(VERSION)" -o $(BIN) ./cmd/filefleet

services:
	@scripts/services.sh all

$(SECRET_FILE):
	@mkdir -p $(CACHE) && umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > $@

$(ADMIN_TOKEN_FILE):
	@mkdir -p $(CACHE) && umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > $@

# run: API + worker + scheduler in one process on local defaults (Ctrl-C stops it).
run: services build $(SECRET_FILE) $(ADMIN_TOKEN_FILE)
	@echo "log in as admin with the password in $(ADMIN_TOKEN_FILE): POST /api/v1/auth/login, then POST /api/v1/keys for an API key"
	@echo "monitoring: http://127.0.0.1:8080/monitoring/ (any user name; the same password)"
	@$(ENV); export FILEFLEET_SECRET_KEY=$$(cat $(SECRET_FILE)) FILEFLEET_ADMIN_TOKEN=$$(cat $(ADMIN_TOKEN_FILE)) \
		FILEFLEET_ADMIN_PASSWORD=$$(cat $(ADMIN_TOKEN_FILE)); exec $(BIN) all

vet:
	go vet ./...

# test: every package against real Redis, PostgreSQL, MinIO and Samba on loopback, then each
# fuzz target for a number of executions (name:package:count). Counts, not durations: a
# -fuzztime duration races Go's fuzz coordinator at its deadline and fails with a bare
# "context deadline exceeded" on a loaded machine (golang/go#75804, fixed in Go 1.27).
# FUZZTIME=30s (or 10000x) overrides every count. Test artifacts (the web UI's screenshot) stay
# in $(CACHE)/test-output.
FUZZTIME ?=
FUZZ_TARGETS := FuzzRequests:./e2e:4000x FuzzCleanPath:./storage:500000x FuzzDestination:./organize:200000x \
	FuzzTakenAt:./organize:200000x
test: services
	@mkdir -p $(CACHE)/test-output; $(ENV); go test -count=1 -timeout 25m -p 2 -artifacts -outputdir $(CACHE)/test-output ./...
	@go vet -tags chaos ./e2e
	@$(ENV); for t in $(FUZZ_TARGETS); do name=$${t%%:*} rest=$${t#*:}; pkg=$${rest%%:*} n=$${rest#*:}; \
		go test -run '^$$' -fuzz "^$$name$$" -fuzztime "$(if $(FUZZTIME),$(FUZZTIME),$$n)" "$$pkg" || exit 1; done

# chaos: the chaos drill (e2e/chaos_test.go), CHAOS_RUNS times in a row (default 3): a large
# dedupe and three organize plans on MinIO and Samba with 3 worker processes, a SIGKILL every
# few seconds and one Redis crash; it fails unless every run's trees match. Reports go to
# $(CACHE)/chaos/. About 6 minutes a run.
CHAOS_RUNS ?= 3
chaos: services
	@mkdir -p $(CACHE)/chaos; $(ENV); FILEFLEET_CHAOS_REPORT_DIR=$(CACHE)/chaos \
		go test -tags chaos -count=$(CHAOS_RUNS) -failfast -run '^TestChaosDrill$$' -timeout 90m -v ./e2e \
		| grep -v 'rate limiter unavailable\|pool.go'; exit $${PIPESTATUS[0]}

# bench: scan and job-throughput benchmarks beside their peers (see docs/BENCHMARKS.md).
bench: services build
	@$(ENV); scripts/bench.sh

# bench-dedupe: dedupe scan and hashing beside jdupes, rdfind, rclone and b3sum.
bench-dedupe: services build
	@$(ENV); scripts/bench-dedupe.sh

# bench-organize: organize execute within MinIO and local roots beside rclone move and mv.
bench-organize: services build
	@$(ENV); scripts/bench-organize.sh

# bench-archive: archive jobs of a 2 GiB tree (local, MinIO) beside tar czf and rclone cat,
# with the worker's peak RSS.
bench-archive: services build
	@$(ENV); scripts/bench-archive.sh

# bench-scale: the same hash jobs (MinIO, Samba) with 1, 2 and 4 worker processes.
bench-scale: services build
	@$(ENV); scripts/bench-scale.sh

clean:
	rm -rf bin
