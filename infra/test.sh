#!/usr/bin/env bash
# `make test`'s run: every test and each benchmark once against a moto server, then least
# privilege by running: the end-to-end, chaos and bootstrap flows again on a moto server
# enforcing IAM, each function under exactly its role's policies, and the report of grants
# no call used (target/least-privilege.md). Any failure fails the run. Each phase prints
# its duration, so a slow run says where its time went.
#
# Clippy is not part of it: it checks every dependency again in check mode (a second build
# of the SDK, about a third of a clean run on two cores) and finds style, not failures.
# `make lint` runs it; run it before committing.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo="${CARGO:-cargo}"
start=$SECONDS
phase() { echo "test: $1 took $((SECONDS - start)) s"; start=$SECONDS; }
# Every test, and the benchmarks run once each; the examples (measurement tools) are
# checked by clippy, not linked here.
"$cargo" test --workspace --tests --benches --no-run || exit 1
phase "the test build"
infra/with-moto.sh "$cargo" test --workspace --tests --benches || exit 1
phase "the tests"
CARGO="$cargo" infra/with-moto.sh --iam infra/least_privilege.sh || exit 1
phase "least privilege"
