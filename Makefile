GO ?= go
BIN := bin/berth

.PHONY: build test testhosts lint bench bench-floor bench-backup bench-stream bench-push fuzz clean

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/berth

# Every test: unit and integration. Integration tests skip without sshd or
# Docker unless BERTH_E2E=1, which makes them fail instead.
test: lint
	$(GO) test -count=1 -timeout 40m ./...

# The image of the e2e tests' hosts (internal/hosttest): debootstrap once,
# cached under /var/tmp and by its recipe's hash; tests build it if missing.
testhosts:
	$(GO) test -count=1 -timeout 20m -run '^TestBuildImage$$' ./internal/hosttest

lint:
	@big=$$(git ls-files -z 2>/dev/null | xargs -0 -r stat -c '%s %n' 2>/dev/null | awk '$$1 > 1048576 {print $$2}'); \
	if [ -n "$$big" ]; then echo "tracked files over 1 MiB (build outputs belong in .gitignore):"; echo "$$big"; exit 1; fi
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Side-by-side benchmarks against Ansible and docker-compose (installs what is missing, starts
# its own sshd servers; about 25 minutes on 2 cores with the defaults). Knobs: bench/run.
bench: build
	bench/run

# A cold deploy of the test stack (no health checks: health waits excluded)
# vs its floor: the docker commands berth issues, run by one `ssh host sh -s`
# session as a script; alternating runs, ratio paired (bench/run, floor case
# only; needs no Ansible or docker-compose; a few minutes).
bench-floor:
	BENCH_CASES=floor BENCH_PROFILE=0 BENCH_RUNS=$${BENCH_RUNS:-7} bench/run

# berth backup of a large volume vs ssh tar | cat, and a consistent backup's
# downtime. Knob: BENCH_BACKUP_MB (default 1024).
bench-backup:
	bench/backup

# berth run streaming a large output vs ssh host head -c N | cat, on one sshd:
# wall time ratio and berth's peak RSS. Knob: STREAM_BYTES (default 500000000).
bench-stream:
	bench/stream

# berth deploy --push of a large local image to one harness host vs docker save |
# ssh host docker load: ratio, bytes of a one-layer change, peak RSS.
# Knob: BENCH_PUSH_MB (default 500).
bench-push:
	bench/push

# Every fuzz target for FUZZTIME each, one worker (the seeds and the committed
# corpus in each package's testdata/fuzz also run in `make test`). A failing
# input is written to testdata/fuzz: commit it with the fix.
FUZZTIME ?= 15s
FUZZ = $(GO) test -run '^$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 2s -parallel 1
fuzz:
	$(FUZZ) -fuzz '^FuzzQuote$$' ./remote
	$(FUZZ) -fuzz '^FuzzParse$$' ./playbooks
	$(FUZZ) -fuzz '^FuzzParseObserved$$' ./internal/docker
	$(FUZZ) -fuzz '^FuzzParseHost$$' ./internal/inventory

clean:
	rm -rf bin
