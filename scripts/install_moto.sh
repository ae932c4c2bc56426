#!/usr/bin/env bash
# Installs moto's standalone S3 server into a virtualenv for the S3 registry tests (tests/cli/s3.rs) and
# bench/s3.sh, which start throwaway servers of their own through scripts/s3_server.py on 127.0.0.1. The venv
# lives outside the clone (MLCTL_MOTO_VENV, default ~/.cache/mlctl/moto-venv) so repeat runs reuse it; quiet and
# instant when it is already there. Under CI=true the S3 tests fail rather than skip without it.
set -euo pipefail
MOTO_VERSION=5.2.6
venv="${MLCTL_MOTO_VENV:-$HOME/.cache/mlctl/moto-venv}"
if "$venv/bin/python" -c "import moto, werkzeug; assert moto.__version__ == '$MOTO_VERSION'" >/dev/null 2>&1; then
    exit 0
fi
if ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "install_moto.sh: python3 with the venv module is needed and this is not root: apt-get install python3-venv" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends python3-venv
fi
echo "install_moto.sh: installing moto[server]==$MOTO_VERSION into $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
"$venv/bin/python" -c "import moto; print('install_moto.sh: moto', moto.__version__, 'ready')" >&2
