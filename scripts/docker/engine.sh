#!/usr/bin/env bash
# Makes sure a Docker engine answers: installs Debian's docker.io when dockerd is missing (as
# root) and starts dockerd when it is not running. Started here it has no bridge network or
# iptables rules (a container inside a sandbox may not manage them): containers run with
# --network host. Exits 2, saying why, when no engine can run.
set -euo pipefail
docker info >/dev/null 2>&1 && exit 0
if ! command -v dockerd >/dev/null; then
  [[ $(id -u) == 0 ]] || { echo "docker engine: dockerd is not installed (sudo apt-get install -y docker.io)" >&2; exit 2; }
  # (package lists may be missing or stale on a fresh machine: updated once, then tried again;
  # NEEDRESTART_SUSPEND keeps Ubuntu/Debian's needrestart hook from printing noise)
  install() { DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq docker.io >/dev/null 2>&1; }
  install || { apt-get update -qq && install; } || { echo "docker engine: apt-get could not install docker.io" >&2; exit 2; }
fi
log=${TMPDIR:-/tmp}/sluice-dockerd.log
(
  # dockerd outlives this script, so it must not keep the files its caller has open (a lock, the
  # pipe a CI reads its log from: that reader would never see the end). Closed here but 0-2.
  for fd in /proc/self/fd/*; do
    fd=${fd##*/}
    if (( fd > 2 && fd != 255 )); then eval "exec $fd>&-"; fi
  done 2>/dev/null
  exec setsid dockerd --iptables=false --ip6tables=false --bridge=none </dev/null >"$log" 2>&1
) &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 0.5
done
echo "docker engine: dockerd did not start (see $log)" >&2
tail -5 "$log" >&2 || true
exit 2
