#!/usr/bin/env bash
# `make bench`: builds mlctl in release, sets up a pinned scikit-learn in bench/.venv and runs bench/bench.py,
# which prints the results and writes them to bench/RESULTS.md. Extra arguments go to bench.py
# (e.g. bench/run.sh --sizes 10000 --runs 1 for a quick look).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
cargo build --locked --release --bin mlctl
# The split helper only lists row indices, so its speed does not matter; it is built in the dev profile
# because an example pulls in the dev-dependencies, whose features would make cargo rebuild polars in
# release a second time.
cargo build --locked --example bench_split

venv=bench/.venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet -r bench/requirements.txt

# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be set on this machine; scikit-learn runs with its own defaults.
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$venv/bin/python" bench/bench.py \
    --mlctl "$target/release/mlctl" --split "$target/debug/examples/bench_split" "$@"
