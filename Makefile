# Everything sets itself up: a fresh machine needs only `make test` (or `make bench`).
# Python tools (moto, cargo-lambda, SAM CLI, cfn-lint) live in .venv, pinned in
# infra/requirements.txt; moto runs only for the duration of a test command.

SHELL := /bin/bash
VENV := .venv
STAMP := $(VENV)/.installed
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never
# Clean builds (CI) gain nothing from incremental state, and it is most of target/.
export CARGO_INCREMENTAL ?= 0
export SAM_CLI_TELEMETRY := 0
# Where cargo builds (CARGO_TARGET_DIR when set): the template check runs the binary there.
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)

.PHONY: demo demo-serve invoke test least-privilege check fmt-check clippy lint lint-static check-template bench build venv system-deps clean-venv

# The whole pipeline on this machine: moto (AWS), fake-strava, the real handler code.
demo: venv
	@echo "demo: building stravasync-dev (the first build takes a few minutes; cargo shows its progress)"
	$(CARGO) build -p stravasync-devtools
	infra/with-moto.sh $(TARGET_DIR)/debug/stravasync-dev demo

# The same, then kept running for a person: the dashboard URL is printed; Ctrl-C stops it.
demo-serve: venv
	@echo "demo-serve: building stravasync-dev (the first build takes a few minutes; cargo shows its progress)"
	$(CARGO) build -p stravasync-devtools
	infra/with-moto.sh $(TARGET_DIR)/debug/stravasync-dev demo --serve

# One function's real bootstrap under cargo-lambda's emulator, on a stack made from
# template.yaml, with one event: make invoke FN=consumer EVENT=events/sqs-activity-create.json
invoke: venv
	@[ -n "$(FN)" ] && [ -n "$(EVENT)" ] || { echo "usage: make invoke FN=<webhook|api|export|consumer|rollup> EVENT=<file>" >&2; exit 2; }
	infra/with-moto.sh infra/invoke.sh $(FN) $(EVENT)

test: fmt-check lint-static system-deps
	@# Every test and least privilege by running (infra/test.sh says how). Clippy is
	@# `make lint`'s, the benchmarks `make bench`'s.
	CARGO="$(CARGO)" TARGET_DIR="$(TARGET_DIR)" infra/test.sh
	@# The template against the binary the tests just built (no second build of the CLI).
	$(MAKE) --no-print-directory check-template

# The least-privilege run alone (part of `make test`).
least-privilege: venv
	CARGO="$(CARGO)" infra/with-moto.sh --iam infra/least_privilege.sh

# The workspace's shape (no crate or module cycle, dev-dependencies included; core
# without AWS or HTTP crates), the SAM template (cfn-lint and SAM's own validation, both
# offline), and the template's resources checked against the local bootstrap's definitions.
lint: lint-static clippy
	$(CARGO) build --quiet -p stravasync-cli
	$(MAKE) --no-print-directory check-template

lint-static: venv
	$(VENV)/bin/python infra/check_graph.py
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/sam validate --lint --region us-east-1 -t template.yaml

# The template against the code: its resources (resources.rs) and every function's
# environment against the deployment manifest (crates/core/src/config/manifest.rs), after
# the check's own self-test on broken copies of both.
check-template: venv
	mkdir -p target
	$(TARGET_DIR)/debug/stravasync resources > target/resources.json
	$(VENV)/bin/python infra/check_template.py template.yaml target/resources.json

# Release arm64 Lambda binaries with cargo-lambda (zig from .venv), and their sizes.
build: venv
	rustup target add aarch64-unknown-linux-gnu
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(CARGO) lambda build --release --arm64 --bin webhook --bin consumer --bin rollup --bin api --bin export
	@$(VENV)/bin/python infra/zip_sizes.py target/lambda

# The same checks without the moto-backed tests.
check: fmt-check clippy
	$(CARGO) test --workspace --lib

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: venv
	$(CARGO) bench -p stravasync-core
	$(CARGO) bench -p stravasync-cli --bench metrics
	$(CARGO) bench -p stravasync-strava --bench client
	$(CARGO) bench -p stravasync-webhook --bench handler
	$(CARGO) bench -p stravasync-consumer --bench consumer
	$(CARGO) bench -p stravasync-rollup --bench rollup
	$(CARGO) bench -p stravasync-api --bench routes
	$(CARGO) bench -p stravasync-files --bench files
	@# The whole local import of a generated 2,000-activity archive, on moto.
	$(CARGO) build --release -p stravasync-cli
	infra/with-moto.sh $(CARGO) run --release -p stravasync-cli --example import_archive -- $(TARGET_DIR)/release/stravasync --activities 2000

venv: $(STAMP)

$(STAMP): infra/requirements.txt | system-deps
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	touch $(STAMP)

# Debian packages the build and the tests need, installed only when missing: with sudo
# when not root, after saying what and why; without root or sudo, it stops and names them.
system-deps:
	@missing=""; \
	python3 -c 'import venv, ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	command -v cc >/dev/null || missing="$$missing build-essential"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
		echo "make: installing Debian packages:$$missing"; \
		for p in $$missing; do case $$p in \
			python3-venv) echo "  $$p: the pinned Python tools (moto, SAM CLI, cfn-lint, cargo-lambda) live in .venv";; \
			build-essential) echo "  $$p: a C compiler for the C parts of ring and zstd";; \
			*) echo "  $$p: the dashboard's browser test drives headless Chromium";; \
		esac; done; \
		if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
		elif command -v sudo >/dev/null; then sudo="sudo"; echo "  (not root: using sudo)"; \
		else echo "make: not root and no sudo; install them, then run make again: apt-get install$$missing" >&2; exit 1; fi; \
		$$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

clean-venv:
	rm -rf $(VENV)
