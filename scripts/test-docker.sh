#!/usr/bin/env bash
# Builds the Dockerfile and runs the image as an operator would: `docker run … sluice start`
# against this machine's Redis, installs the hello-world app through the admin API, sends an
# event, reads it back processed by the app from the embedded store, scrapes /metrics, and stops
# the container with SIGTERM (it must exit 0). Where no base image can be pulled, the base is
# built locally first (scripts/docker/local-base.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/docker/engine.sh
base=$(sed -n 's/^FROM \([^ ]*\).*/\1/p' Dockerfile | head -1)
if ! docker image inspect "$base" >/dev/null 2>&1 && ! docker pull -q "$base" >/dev/null 2>&1; then
  echo "test-docker: $base cannot be pulled here; building a local stand-in"
  bash scripts/docker/local-base.sh "$base"
fi

image=sluice:test
started=$(date +%s)
build_log=$(mktemp)
# The legacy builder is what Debian's docker.io has (no buildx); --network host because an engine
# started by engine.sh has no bridge.
DOCKER_BUILDKIT=0 docker build --network host -t "$image" . >"$build_log" 2>&1 || { tail -30 "$build_log" >&2; exit 1; }
rm -f "$build_log"
echo "test-docker: built $image in $(( $(date +%s) - started )) s ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port=$(free_port); metrics_port=$(free_port)
# The metrics port is set only so the container (host network) never takes 9100 from the host;
# `start` serves /metrics on its main port too, which is what the test scrapes.
prefix="sluice-docker-$$-$RANDOM"
admin="admin-$RANDOM$RANDOM"
token="phc_docker_$RANDOM$RANDOM"
name="sluice-docker-test-$$"
cleanup() {
  docker rm -f -v "$name" >/dev/null 2>&1 || true
  redis-cli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli del >/dev/null || true
}
trap cleanup EXIT
fail() { echo "test-docker: FAILED: $*" >&2; docker logs --tail 30 "$name" >&2 || true; exit 1; }

docker run -d --name "$name" --network host \
  -e SLUICE_HOST=127.0.0.1 -e SLUICE_PORT="$port" -e SLUICE_METRICS_PORT="$metrics_port" \
  -e REDIS_URL=redis://127.0.0.1:6379 -e SLUICE_REDIS_PREFIX="$prefix" \
  -e SLUICE_ADMIN_TOKEN="$admin" -e SLUICE_PROJECT_TOKEN="$token" -e SLUICE_LOG_FORMAT=json \
  "$image" start >/dev/null
url="http://127.0.0.1:$port"
# Runs the command every 0.5 s until it succeeds; past the seconds given, fails saying what did not happen.
wait_until() {
  local seconds=$1 what=$2
  shift 2
  for ((tries = seconds * 2; tries > 0; tries--)); do "$@" && return 0; sleep 0.5; done
  fail "$what within $seconds s"
}
ready() {
  [[ $(docker inspect -f '{{.State.Running}}' "$name") == true ]] || fail "the container exited before it was ready"
  curl -sf "$url/readyz" >/dev/null
}
wait_until 60 "/readyz did not answer 200" ready
echo "test-docker: sluice start is ready in the container"

auth=(-H "Authorization: Bearer $admin" -H 'Content-Type: application/json')
install_body=$(node -e 'const fs=require("fs"), d="examples/hello-world";
  console.log(JSON.stringify({source:{"plugin.json":fs.readFileSync(d+"/plugin.json","utf8"),"index.js":fs.readFileSync(d+"/index.js","utf8")},config:{name:"Docker"},order:1}))')
curl -sf "${auth[@]}" -XPOST "$url/api/projects/default/apps" -d "$install_body" >/dev/null || fail "installing hello-world"
uuid=$(node -e 'console.log(require("crypto").randomUUID())')
answer=$(curl -sf -XPOST "$url/capture" -d '{"api_key":"'"$token"'","event":"docker test","distinct_id":"d1","uuid":"'"$uuid"'","properties":{}}' || true)
grep -q '"status":1' <<<"$answer" || fail "capture was not acknowledged: $answer"
stored_holds_event() {
  stored=$(curl -sf "${auth[@]}" "$url/api/projects/default/events?limit=5&event=docker%20test" || true)
  grep -q "$uuid" <<<"$stored"
}
wait_until 60 "the event was not stored" stored_holds_event
grep -q '"hello":"Hello Docker"' <<<"$stored" || fail "the event was stored without hello-world's property: $stored"
echo "test-docker: the event went through hello-world in the sandbox and was stored"
metrics=$(curl -sf "$url/metrics" || true)
grep -q '^sluice_process_cpu_seconds_total' <<<"$metrics" || fail "/metrics lacks sluice_process_cpu_seconds_total"
echo "test-docker: /metrics answers"
docker stop -t 30 "$name" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$name")
[[ $code == 0 ]] || fail "after SIGTERM the container exited with $code"
echo "test-docker: passed (SIGTERM: exit 0)"
