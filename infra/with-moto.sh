#!/usr/bin/env bash
# Runs a command against a fresh moto server on a free 127.0.0.1 port:
#   infra/with-moto.sh cargo test --workspace
# Exports AWS_ENDPOINT_URL and dummy credentials to that command only, and always stops
# the server afterwards (also on failure or Ctrl-C), leaving no process behind.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
moto="$root/.venv/bin/moto_server"
[ -x "$moto" ] || { echo "with-moto: $moto missing; run 'make venv' first" >&2; exit 1; }

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
log="${MOTO_LOG:-$root/target/moto-$port.log}"
mkdir -p "$(dirname "$log")"

"$moto" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
cleanup() {
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

answers() {
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
        "http://127.0.0.1:$port/moto-api/" 2>/dev/null
}
for _ in $(seq 1 150); do
    answers && break
    kill -0 "$moto_pid" 2>/dev/null || { echo "with-moto: moto_server exited; see $log" >&2; exit 1; }
    sleep 0.1
done
answers || { echo "with-moto: moto_server did not answer; see $log" >&2; exit 1; }

export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
echo "with-moto: moto server at $AWS_ENDPOINT_URL (log $log)" >&2
set +e
"$@"
status=$?
set -e
exit "$status"
