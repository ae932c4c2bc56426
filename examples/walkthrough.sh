#!/usr/bin/env bash
# A terminal session, step by step: what a data scientist types on day one. Run it from an empty folder
# (MLCTL=path/to/mlctl if mlctl is not on PATH); each step pauses so you can read the output (STEP=0 to not pause;
# ROWS=N for a smaller training set, as the tests run it).
set -euo pipefail
MLCTL="${MLCTL:-mlctl}"
ROWS="${ROWS:-10000}"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; [ "${STEP:-1}" = 0 ] || read -r -p "(enter)" _ < /dev/tty; }

step "$MLCTL" init .                                                        # mlctl.toml, data/, ml_models/, Makefile
step "$MLCTL" export --sample skill-assignment --rows "$ROWS" --seed 42 -o data/skill_assignment.csv
step "$MLCTL" split data/skill_assignment.csv --stratify success -o data/train.csv --holdout data/holdout.csv
step "$MLCTL" train data/train.csv --target success --name skill_assignment --cv 5
step "$MLCTL" train data/train.csv --target success --name skill_assignment --set max_depth=10
step "$MLCTL" evaluate skill_assignment@1.0.0 --data data/holdout.csv --min f1=0.75
step "$MLCTL" promote skill_assignment@1.0.0 --to production
step "$MLCTL" evaluate skill_assignment@1.1.0 --data data/holdout.csv         # side by side with production
step "$MLCTL" diff skill_assignment@1.0.0 skill_assignment@1.1.0
step "$MLCTL" promote skill_assignment@1.1.0 --to production --data data/holdout.csv || true   # the gate decides
step "$MLCTL" predict skill_assignment@production --input data/holdout.csv -o predictions.csv
step "$MLCTL" drift skill_assignment@production --logs --since 1d --report reports/drift.md || true
step "$MLCTL" list
step "$MLCTL" show skill_assignment@production
