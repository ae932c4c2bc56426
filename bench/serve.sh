#!/usr/bin/env bash
# The serving benchmark: `mlctl serve` against the seeds' Flask + gunicorn app and a FastAPI + uvicorn app,
# with the same load (wrk, bench/serve/openloop.py). Builds mlctl in release unless MLCTL names a binary,
# installs wrk (Debian) if it is missing, sets up bench/.venv with bench/requirements.txt and
# bench/serve/requirements.txt (every package pinned), then runs bench/serve/run.py, which writes
# bench/serve/RESULTS.md and RESULTS.json. Extra arguments go to run.py:
#
#   bench/serve.sh                                  # full run: 3 runs of 10 s cells, about 10 minutes
#   bench/serve.sh --quick                          # a quick look: 1 run of 3 s cells, about 2 minutes
#   MLCTL=target/release/mlctl bench/serve.sh       # an mlctl already built
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=""
if [ -n "${MLCTL:-}" ]; then
    prefix="MLCTL=$MLCTL "
else
    cargo build --locked --release --bin mlctl
    MLCTL="${CARGO_TARGET_DIR:-target}/release/mlctl"
fi

if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y wrk >/dev/null || { apt-get update -qq && apt-get install -y wrk >/dev/null; }
    else
        sudo apt-get install -y wrk >/dev/null || { sudo apt-get update -qq && sudo apt-get install -y wrk >/dev/null; }
    fi
fi

venv=bench/.venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet -r bench/requirements.txt -r bench/serve/requirements.txt

# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be set on this machine; scikit-learn runs with its own defaults.
export SERVE_BENCH_COMMAND="${prefix}bench/serve.sh${*:+ $*}"
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$venv/bin/python" bench/serve/run.py --mlctl "$MLCTL" "$@"
