#!/usr/bin/env bash
# Headless Chromium for the dashboard browser tests (tests/nas/test_dashboard_browser.py).
# Sourced by .ci/test: installs Debian's chromium when missing and exports NAS_CHROMIUM.
# Idempotent, and never fails CI: without chromium the browser tests skip and say why.
# (Everything runs inside a function and returns, because `exit` would end the sourcing shell.)

nas_setup_chromium() {
  local found=""
  found=$(command -v chromium || command -v chromium-browser || true)
  if [[ -z "$found" ]] && command -v apt-get >/dev/null 2>&1; then
    local sudo=""
    if [[ $(id -u) -ne 0 ]]; then
      command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && sudo="sudo -n"
    fi
    if [[ $(id -u) -eq 0 || -n "$sudo" ]]; then
      echo "chromium.sh: installing Debian's chromium" >&2
      { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
          $sudo apt-get install -y -qq chromium; } >/dev/null 2>&1 \
        || echo "chromium.sh: apt-get install chromium failed; browser tests will skip" >&2
      found=$(command -v chromium || true)
    else
      echo "chromium.sh: not root and no sudo; browser tests will skip" >&2
    fi
  fi
  if [[ -n "$found" ]]; then
    export NAS_CHROMIUM="$found"
    echo "chromium.sh: NAS_CHROMIUM=$NAS_CHROMIUM" >&2
  else
    echo "chromium.sh: no chromium; browser tests will skip" >&2
  fi
  return 0
}

nas_setup_chromium || true
unset -f nas_setup_chromium
