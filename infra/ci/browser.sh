#!/usr/bin/env bash
# Before `make test`: the browser tests drive a real headless Chromium, Debian's package
# (nothing is downloaded at test time). Install it where this machine can; otherwise say
# plainly what is missing and fail, since a skipped browser test proves nothing.
set -euo pipefail

browser="${LIVECART_CHROMIUM:-/usr/bin/chromium}"
say() { echo "browser: $*"; }

if [ -x "$browser" ]; then
  say "using $browser ($("$browser" --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  say "$browser not found; installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  say "installed $("$browser" --version 2>/dev/null)"
  exit 0
fi
say "no Chromium at $browser and no way to install it here."
say "Install it (Debian/Ubuntu: sudo apt-get install chromium) or set LIVECART_CHROMIUM."
exit 1
