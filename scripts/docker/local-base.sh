#!/usr/bin/env bash
# Builds a stand-in for the Dockerfile's base image (node:20-bookworm-slim) when no registry can
# be pulled from: Debian bookworm from Debian's own mirror (debootstrap, minbase) plus this
# machine's Node.js and npm, a `node` user with uid 1000 as in the official image, and this
# machine's CA bundle so that npm inside the build trusts the same registry proxy the host does.
# The Dockerfile itself is not changed: the stand-in is tagged with the official name.
set -euo pipefail
tag=${1:-node:20-bookworm-slim}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
rootfs=$(mktemp -d /tmp/sluice-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq debootstrap >/dev/null
node_major=$(node -p 'process.versions.node.split(".")[0]')
[[ "$tag" == node:"$node_major"-* ]] || { echo "local-base: this machine has Node.js $node_major, not the one $tag names" >&2; exit 1; }

debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
node_bin=$(command -v node)
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/local/lib/node_modules" "$rootfs/etc/ssl/certs"
cp "$node_bin" "$rootfs/usr/local/bin/node"
cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
chroot "$rootfs" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
tar -C "$rootfs" -c . | docker import -c 'CMD ["node"]' \
  -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' - "$tag" >/dev/null
echo "local-base: built $tag from Debian bookworm and Node.js $(node -v)"
