#!/usr/bin/env bash
# Installs the PostgreSQL server from Debian packages when no initdb is on the machine, for the export tests and
# scripts/bench_export.sh, which start throwaway clusters of their own (initdb + pg_ctl in a temp dir). Debian's
# packaged "main" cluster is not created: nothing listens on 5432 because of this script.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install_postgres.sh: PostgreSQL is not installed and this is not root: apt-get install postgresql" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
mkdir -p /etc/postgresql-common
conf=/etc/postgresql-common/createcluster.conf
if ! grep -qs '^create_main_cluster' "$conf"; then
    echo "create_main_cluster = false" >>"$conf"
fi
apt-get update -q
apt-get install -y -q --no-install-recommends postgresql
ls /usr/lib/postgresql/*/bin/initdb
