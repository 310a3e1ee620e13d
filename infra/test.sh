#!/usr/bin/env bash
# `make test`'s run. The tests build first; then clippy checks every target, on a target
# dir of its own, while the tests run (they wait on moto more than on the CPU, so the two
# share the machine's cores instead of taking turns), and its verdict is read at the end.
# Then least privilege by running: the end-to-end, chaos and bootstrap flows again on a
# moto server enforcing IAM, each function under exactly its role's policies, and the
# report of grants no call used (target/least-privilege.md). Any failure fails the run.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo="${CARGO:-cargo}"
target="${TARGET_DIR:-target}"
# Every test, and the benchmarks run once each; the examples (measurement tools) are
# checked by clippy, not linked again here.
"$cargo" test --workspace --tests --benches --no-run || exit 1
mkdir -p "$target"
(
    CARGO_TARGET_DIR="$target/lint" "$cargo" clippy --workspace --all-targets -- -D warnings >"$target/clippy.log" 2>&1
    echo $? >"$target/clippy.status"
) &
lint=$!
status=0
infra/with-moto.sh "$cargo" test --workspace --tests --benches || status=1
if [ "$status" -eq 0 ]; then
    CARGO="$cargo" infra/with-moto.sh --iam infra/least_privilege.sh || status=1
fi
wait "$lint"
if [ "$(cat "$target/clippy.status" 2>/dev/null)" != 0 ]; then
    cat "$target/clippy.log"
    echo "test: clippy found problems (above)" >&2
    status=1
else
    echo "test: clippy clean"
fi
exit "$status"
