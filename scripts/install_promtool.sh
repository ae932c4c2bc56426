#!/usr/bin/env bash
# Installs promtool (Debian's `prometheus` package) when it is not on the machine: the `mlctl serve` tests check
# the /metrics output with `promtool check metrics`. The package's own Prometheus server is not left running.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install_promtool.sh: promtool is not installed and this is not root: apt-get install prometheus" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Do not let the package start its server (policy-rc.d exit 101: "action forbidden").
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
fi
apt-get update -q
apt-get install -y -q --no-install-recommends prometheus
if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi
pkill -x prometheus 2>/dev/null || true
command -v promtool
