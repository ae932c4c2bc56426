#!/usr/bin/env bash
# Weekly drift check: compare the last 7 days of the production model's logged predictions with its training
# data, keep the markdown report, and retrain when drift is found.
#
# crontab -e (Mondays at 06:00, from the project folder):
#   0 6 * * 1  cd /srv/hr-models && examples/cron/weekly_drift_check.sh >> logs/drift-cron.log 2>&1
#
# The one-line form works too, because `mlctl drift` exits 3 on drift and 0 without:
#   mlctl drift skill_assignment@production --logs --since 7d || make retrain
# but `||` also retrains after an error (exit 1: no logs, a corrupt artifact), which usually needs a person,
# not a new model. This script tells the two apart.
#
# Settings (environment): MODEL (default skill_assignment), REF (default MODEL@production), SINCE (default 7d),
# MLCTL (default mlctl on PATH), REPORT_DIR (default reports/drift/<UTC date>).
set -euo pipefail

MODEL="${MODEL:-skill_assignment}"
REF="${REF:-$MODEL@production}"
SINCE="${SINCE:-7d}"
MLCTL="${MLCTL:-mlctl}"
REPORT_DIR="${REPORT_DIR:-reports/drift/$(date -u +%Y-%m-%d)}"

mkdir -p "$REPORT_DIR"
status=0
"$MLCTL" --no-progress drift "$REF" --logs --since "$SINCE" --report "$REPORT_DIR/drift.md" || status=$?

case "$status" in
  0)
    echo "$(date -u +%FT%TZ) $REF: no drift since $SINCE (report: $REPORT_DIR/drift.md)"
    ;;
  3)
    echo "$(date -u +%FT%TZ) $REF: drift detected since $SINCE (report: $REPORT_DIR/drift.md); retraining"
    make retrain MODEL="$MODEL"
    ;;
  *)
    echo "$(date -u +%FT%TZ) $REF: the drift check failed (exit $status); not retraining" >&2
    exit "$status"
    ;;
esac
