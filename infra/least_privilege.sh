#!/usr/bin/env bash
# Least privilege, proven by running (make test's second run):
#   infra/with-moto.sh --iam infra/least_privilege.sh
# On a moto server enforcing IAM, the flows below run with every function under an IAM user
# holding exactly its role's policies in the translated template.yaml (a denied call fails
# the flow's test), then infra/iam_report.py lists what was granted and never used.
#
#   - the demo scenario end to end, on both token stores, and the browser test: the webhook
#     (connect, refused consent, events), the API and the export function, the consumer
#     (backfill, pushes, deletes) and the rollup, in process, each with its own clients;
#   - the chaos run: two consumer containers, faults, expiries, mixed batches, a backfill,
#     a deauthorization, on both token stores;
#   - every function's bootstrap binary behind cargo-lambda's emulator, with its
#     credentials in its environment as Lambda gives them;
#   - a call outside a role, refused (the consumer's work under the rollup's role).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ "${STRAVASYNC_IAM:-}" = enforced ] || { echo "least_privilege: run under infra/with-moto.sh --iam" >&2; exit 2; }
cd "$root"
"${CARGO:-cargo}" test --workspace --tests -- --include-ignored \
    the_demo_scenario an_athlete_connects two_containers_lose_nothing bootstrap:: least_privilege
"$root/.venv/bin/python" "$root/infra/iam_report.py" "$STRAVASYNC_IAM_RECORDING"
