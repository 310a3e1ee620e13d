#!/usr/bin/env bash
# `make test`'s run: every test and each benchmark once against moto, then least privilege
# by running: the end-to-end, chaos and bootstrap flows again on a moto server enforcing
# IAM, each function under exactly its role's policies, and the report of grants no call
# used (target/least-privilege.md). Any failure fails the run. Each phase prints its
# duration, so a slow run says where its time went.
#
# The tests run in two groups at once, each against a moto server of its own: they wait on
# moto and on the browser more than on the CPU, so two share the machine's two cores
# instead of taking turns (the three longest test binaries, api, consumer and the browser's,
# are split between them). A group's output is printed whole when it ends.
#
# Clippy is not part of it: it checks every dependency again in check mode (a second build
# of the SDK, about a third of a clean run on two cores) and finds style, not failures.
# `make lint` runs it; run it before committing.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo="${CARGO:-cargo}"
target="${TARGET_DIR:-target}"
start=$SECONDS
phase() { echo "test: $1 took $((SECONDS - start)) s"; start=$SECONDS; }
# Every test, and the benchmarks run once each; the examples (measurement tools) are
# checked by clippy, not linked here.
"$cargo" test --workspace --tests --benches --no-run || exit 1
phase "the test build"
mkdir -p "$target"
# The group with the API's and the browser's tests, and the rest.
first=(-p stravasync-api -p stravasync-e2e)
rest=(--workspace --exclude stravasync-api --exclude stravasync-e2e)
infra/with-moto.sh "$cargo" test "${first[@]}" --tests --benches >"$target/test-first.log" 2>&1 &
one=$!
infra/with-moto.sh "$cargo" test "${rest[@]}" --tests --benches >"$target/test-rest.log" 2>&1 &
two=$!
status=0
wait "$one" || status=1
wait "$two" || status=1
cat "$target/test-first.log" "$target/test-rest.log"
[ "$status" -eq 0 ] || { echo "test: a test failed (above)" >&2; exit 1; }
phase "the tests"
CARGO="$cargo" infra/with-moto.sh --iam infra/least_privilege.sh || exit 1
phase "least privilege"
