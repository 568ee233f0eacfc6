#!/usr/bin/env bash
# Before `make test`: the Prometheus tests run Debian's promtool (check config and rules, the
# rules' unit tests) and prometheus itself (`make observe`'s local path). Install the package
# where this machine can; otherwise say plainly what is missing and fail, since a skipped
# rules test proves nothing.
set -euo pipefail

say() { echo "promtool: $*"; }

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
  say "using $(command -v promtool) ($(promtool --version 2>&1 | head -n 1))"
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  say "promtool or prometheus not found; installing Debian's prometheus"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Only the binaries are needed, not the recommended node exporter. Where systemd runs, the
  # package also starts a system Prometheus on :9090; the tests pick free ports of their own.
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  say "installed $(promtool --version 2>&1 | head -n 1)"
  exit 0
fi
say "no promtool/prometheus on PATH and no way to install them here."
say "Install them (Debian/Ubuntu: sudo apt-get install prometheus; macOS: brew install prometheus)."
exit 1
