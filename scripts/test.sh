#!/usr/bin/env bash
# Installs everything the tests need (Debian packages, npm packages), builds, and runs the tests.
# Run as root: the integration tests use the real kernel (namespaces, mounts, cgroups).
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "test.sh: run as root" >&2; exit 1; }

. scripts/lib.sh
install_build_deps
# protoc: the staleness check of src/generated; the rest: the registry and images the tests use.
apt_install file protobuf-compiler docker-registry busybox-static apache2-utils
npm ci --no-audit --no-fund
npm test
