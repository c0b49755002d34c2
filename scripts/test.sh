#!/usr/bin/env bash
# Installs everything the tests need (Debian packages, npm packages), builds, and runs the tests.
# Run as root: the integration tests use the real kernel (namespaces, mounts, cgroups).
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "test.sh: run as root" >&2; exit 1; }

. scripts/lib.sh
install_build_deps
install_runtime_deps
# protoc: the staleness check of src/generated; docker-registry, busybox-static, apache2-utils:
# the registry and images the tests pull; containernetworking-plugins: CNI mode against the real
# plugins; iproute2, util-linux, iputils-ping (ip, nsenter, ping): looking into pods from the tests;
# runc and crun: the RuntimeClass handlers run the same bundles as skiff-init; clang-14 and
# libclang-rt-14-dev: libFuzzer (with ASan and UBSan) for skiff-init's JSON parser
# (test/native/json-fuzz.test.ts; about 70 MB where LLVM 14's libraries are already present).
apt_install file protobuf-compiler docker-registry busybox-static apache2-utils containernetworking-plugins iproute2 util-linux iputils-ping runc crun clang-14 libclang-rt-14-dev
npm ci --no-audit --no-fund
npm test
