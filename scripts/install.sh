#!/usr/bin/env bash
# Installs what Skiff needs on Debian, builds it, and starts skiffd on its built-in defaults:
# under systemd when systemd runs this machine, otherwise in the background with a log file.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }

. scripts/lib.sh
install_build_deps
install_runtime_deps
npm ci --no-audit --no-fund
npm run build

mkdir -p /etc/skiff
[ -e /etc/skiff/config.yaml.example ] || cp deploy/config.yaml /etc/skiff/config.yaml.example

if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
  sed "s|@SKIFF_DIR@|$top|g" deploy/skiffd.service > /etc/systemd/system/skiffd.service
  systemctl daemon-reload
  systemctl enable skiffd >/dev/null
  systemctl restart skiffd
  echo "skiffd runs under systemd: systemctl status skiffd"
else
  stop_running_skiffd /run/skiff
  nohup "$top/bin/skiffd" >>/var/log/skiffd.log 2>&1 </dev/null &
  echo "skiffd started in the background (pid $!), logging to /var/log/skiffd.log"
fi
wait_for_socket /run/skiff/skiff.sock 30
echo "skiffd is serving /run/skiff/skiff.sock; try: crictl --config $top/crictl-config.yaml version"
