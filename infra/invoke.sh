#!/usr/bin/env bash
# Invokes one function's real bootstrap binary as Lambda would, on a local stack:
#   make invoke FN=consumer EVENT=events/sqs-activity-create.json
# Run under infra/with-moto.sh (make invoke does). It creates a stack from template.yaml
# (`stravasync local up --function FN`: the function's environment as its
# AWS::Lambda::Function holds it, and the endpoints' variables), starts fake-strava for
# Strava, runs `cargo lambda watch` with that environment, sends EVENT with `cargo lambda
# invoke`, prints the answer, and stops everything it started.
set -euo pipefail

fn="${1:?usage: invoke.sh FUNCTION EVENT_FILE (webhook, api, export, consumer, rollup)}"
event="${2:?usage: invoke.sh FUNCTION EVENT_FILE}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
[ -f "$event" ] || { echo "invoke: no event file $event" >&2; exit 2; }
case "$fn" in
    webhook|api|export|consumer|rollup) ;;
    *) echo "invoke: FN must be webhook, api, export, consumer or rollup (got $fn)" >&2; exit 2;;
esac
lambda="$root/.venv/bin/cargo-lambda"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

cargo build --quiet -p stravasync-cli -p fake-strava
bin="${CARGO_TARGET_DIR:-target}/debug"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

strava_port="$(free_port)"
"$bin/fake-strava" --listen "127.0.0.1:$strava_port" --client-secret client-secret-value >/dev/null 2>&1 &
pids+=($!)

# The function's variables from the stack, and the endpoints (Strava's, the site's): every
# name comes from the deployment manifest, through `stravasync local up`.
envfile="$(mktemp)"
"$bin/stravasync" local up --name "invoke-$fn" --function "$fn" \
    --strava "http://127.0.0.1:$strava_port" --site "https://abc123.execute-api.us-east-1.amazonaws.com" \
    | sed 's/^export //' > "$envfile"
for v in AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION; do echo "$v=${!v}"; done >> "$envfile"
echo "invoke: $fn's environment (from the stack made from template.yaml):" >&2
sed 's/^/  /' "$envfile" >&2

port="$(free_port)"
"$lambda" lambda watch --quiet --bin "$fn" --env-file "$envfile" -A 127.0.0.1 -P "$port" --timeout 300 >&2 &
pids+=($!)
for _ in $(seq 1 600); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$port" 2>/dev/null && break
    sleep 0.1
done
"$lambda" lambda invoke "$fn" -A 127.0.0.1 -P "$port" --data-file "$event" --output-format json
echo
rm -f "$envfile"
