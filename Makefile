# Everything sets itself up: a fresh machine needs only `make test` (or `make bench`).
# Python tools (moto, cargo-lambda, SAM CLI, cfn-lint) live in .venv, pinned in
# infra/requirements.txt; moto runs only for the duration of a test command.

SHELL := /bin/bash
VENV := .venv
STAMP := $(VENV)/.installed
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: test check fmt-check clippy unit bench venv system-deps clean-venv

test: fmt-check clippy venv
	infra/with-moto.sh $(CARGO) test --workspace --all-targets

# The same checks without the moto-backed tests.
check: fmt-check clippy
	$(CARGO) test --workspace --lib --bins

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: venv
	$(CARGO) bench -p stravasync-core
	$(CARGO) bench -p stravasync-cli --bench metrics

venv: $(STAMP)

$(STAMP): infra/requirements.txt | system-deps
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	touch $(STAMP)

# Debian packages the build needs, installed only when missing.
system-deps:
	@missing=""; \
	python3 -c 'import venv, ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	command -v cc >/dev/null || missing="$$missing build-essential"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

clean-venv:
	rm -rf $(VENV)
