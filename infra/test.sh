#!/usr/bin/env bash
# `make test`'s run: every test against moto, then least privilege by running: the
# end-to-end, chaos and bootstrap flows again on a moto server enforcing IAM, each function
# under exactly its role's policies, and the report of grants no call used
# (target/least-privilege.md). Any failure fails the run. Each phase prints its duration,
# so a slow run says where its time went.
#
# Not part of it, for time (both run on every `make lint` / `make bench`):
# - clippy checks every dependency again in check mode (a second build of the SDK, about a
#   third of a clean run on two cores) and finds style, not failures: `make lint`;
# - the criterion benchmarks: `make bench` runs them, and clippy (`--all-targets`) keeps
#   them compiling. Linking their seven binaries was a minute of a clean run.
# The test binaries run one after the other: run two at once and they are slower (moto and
# the browser keep both cores busy; measured: 552 s against 358 s).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo="${CARGO:-cargo}"
start=$SECONDS
phase() { echo "test: $1 took $((SECONDS - start)) s"; start=$SECONDS; }
"$cargo" test --workspace --tests --no-run || exit 1
phase "the test build"
infra/with-moto.sh "$cargo" test --workspace --tests || exit 1
phase "the tests"
CARGO="$cargo" infra/with-moto.sh --iam infra/least_privilege.sh || exit 1
phase "least privilege"
