# Shared by install.sh and test.sh. Sourced, not run.

apt_install() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

need_node() {
  if ! command -v node >/dev/null 2>&1; then apt_install nodejs npm; fi
  local v
  v=$(node -p 'process.versions.node')
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' || {
    echo "Skiff needs Node.js >= 20.19 (found $v); install a newer nodejs package and run again" >&2
    exit 1
  }
}

install_build_deps() {
  apt_install gcc make libc6-dev
  need_node
}

# What skiffd runs: iptables-restore for pod masquerade and hostPorts.
install_runtime_deps() {
  apt_install iptables
}

stop_running_skiffd() {
  local state=$1 pid
  pid=$(cat "$state/skiffd.lock" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q skiffd "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    echo "skiffd (pid $pid) did not stop" >&2
    exit 1
  fi
}

wait_for_socket() {
  local sock=$1 secs=$2
  for _ in $(seq 1 $((secs * 10))); do [ -S "$sock" ] && return 0; sleep 0.1; done
  echo "skiffd did not create $sock within ${secs}s; see its log" >&2
  exit 1
}
