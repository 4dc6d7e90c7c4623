#!/usr/bin/env bash
# Makes sure Redis and PostgreSQL are installed and answering on 127.0.0.1, as the tests need, and
# that Debian's chromium is there for the posthog-js test (test/clients.e2e.test.ts, headless) and
# openssl for the throwaway CA of the TLS tests (test/helpers/test-ca.ts).
# Installs what is missing with apt-get (as root, or through sudo) and starts the services when stopped.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -d /usr/lib/postgresql ] || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (apt-get)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# promtool checks deploy/prometheus (test/deploy-files.test.ts); Debian ships it in prometheus.
# Without recommends (node-exporter and friends are not wanted), and a prometheus the package
# started is stopped again: only promtool is used, and a server would hold port 9090.
if ! command -v promtool >/dev/null 2>&1; then
  echo "installing prometheus for promtool (apt-get)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  as_root service prometheus stop >/dev/null 2>&1 || true
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting redis-server on 127.0.0.1:6379"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/sluice-test.log
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$version" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    as_root pg_createcluster "$version" main
  fi
  echo "starting postgresql $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  # The tests connect as postgres over TCP without a password, as on the CI machine.
  hba=/etc/postgresql/$version/main/pg_hba.conf
  if ! as_root grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  fi
fi

for _ in $(seq 1 50); do
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
  sleep 0.2
done
echo "Redis or PostgreSQL did not come up on 127.0.0.1" >&2
exit 1
