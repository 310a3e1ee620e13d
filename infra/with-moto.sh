#!/usr/bin/env bash
# Runs a command against a fresh moto server on a free 127.0.0.1 port:
#   infra/with-moto.sh cargo test --workspace
# Exports AWS_ENDPOINT_URL and dummy credentials to that command only, and always stops
# the server afterwards (also on failure or Ctrl-C), leaving no process behind.
#
#   infra/with-moto.sh --iam COMMAND   (the least-privilege run: infra/least_privilege.sh)
# The server enforces IAM: every call must be signed by an IAM user's key and be allowed by
# its policies (moto's INITIAL_NO_AUTH_ACTION_COUNT, set to 0 through /moto-api/reset-auth
# once the first user exists). The command gets the key of `operator` (allowed everything);
# stacks made from the template then give each function a user of its own
# (infra/local_stack.py --function-users, asked for by STRAVASYNC_IAM=enforced). AWS's
# managed policies are loaded (Lambda's execution roles), and every request is recorded to
# $STRAVASYNC_IAM_RECORDING for the report of permissions granted and never used
# (infra/iam_report.py).
set -euo pipefail

iam=false
if [ "${1:-}" = "--iam" ]; then
    iam=true
    shift
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
moto="$root/.venv/bin/moto_server"
[ -x "$moto" ] || { echo "with-moto: $moto missing; run 'make venv' first" >&2; exit 1; }

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
log="${MOTO_LOG:-$root/target/moto-$port.log}"
mkdir -p "$(dirname "$log")"

server=("$moto")
if $iam; then
    # One run's record at a time (about 13 MB): the previous runs' go.
    rm -f "$root"/target/iam-recording-*.jsonl
    recording="$root/target/iam-recording-$port.jsonl"
    : >"$recording"
    # moto_server whose recorder writes each request whole (infra/moto_recording_server.py).
    server=(env MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_ENABLE_RECORDING=true MOTO_RECORDER_FILEPATH="$recording"
        "$root/.venv/bin/python" "$root/infra/moto_recording_server.py")
fi
"${server[@]}" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
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
if $iam; then
    read -r key secret < <("$root/.venv/bin/python" "$root/infra/local_stack.py" operator)
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b"0", headers={"Content-Type": "text/plain"}), timeout=5)' \
        "$AWS_ENDPOINT_URL/moto-api/reset-auth"
    export AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret" STRAVASYNC_IAM=enforced STRAVASYNC_IAM_RECORDING="$recording"
    echo "with-moto: IAM enforced; the command runs as the operator user; requests recorded to $recording" >&2
fi
echo "with-moto: moto server at $AWS_ENDPOINT_URL (log $log)" >&2
set +e
"$@"
status=$?
set -e
exit "$status"
