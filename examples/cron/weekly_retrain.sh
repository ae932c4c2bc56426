#!/usr/bin/env bash
# Weekly retraining, the whole loop: export fresh data → ask `mlctl monitor` whether the model serving now is
# still good (its realised and estimated performance against real outcomes, and its age: the reason to retrain,
# logged) → train a new version → evaluate it on a holdout with CI gates → promote it through
# staging to production if it beats the current one. Plain log lines and exit codes, no TTY needed.
#
# crontab -e (Sundays at 02:00, from the project folder):
#   0 2 * * 0  cd /srv/hr-models && examples/cron/weekly_retrain.sh >> logs/retrain-cron.log 2>&1
#
# Exit: 0 done (promoted, or production kept because the new version did not beat it); 3 a gate said no
# (the new version failed its absolute gates: it stays in development, a person should look); 1 an error.
#
# Settings (environment):
#   MODEL      the [models.NAME] spec in mlctl.toml            (default skill_assignment)
#   MLCTL      the mlctl binary                                 (default mlctl on PATH)
#   EXPORT     how to get this week's data, as mlctl export arguments. The default generates the sample data
#              with a week-numbered seed; point it at your database instead, e.g.
#              EXPORT="--from sqlite:data/hr.db --table assignments"
#   DATA       where the spec in mlctl.toml reads its training data (default data/$MODEL.csv)
#   HOLDOUT    labelled data for the gates and the champion/challenger comparison (default data/holdout.csv)
#   GATES      absolute gates for evaluate                      (default "--min f1=0.75 --min roc_auc=0.75")
#   MONITOR    the monitor rules                                (default "--since 30d --max-age 30d")
set -euo pipefail

MODEL="${MODEL:-skill_assignment}"
MLCTL="${MLCTL:-mlctl}"
DATA="${DATA:-data/$MODEL.csv}"
HOLDOUT="${HOLDOUT:-data/holdout.csv}"
WEEK="$(date -u +%G%V)"
EXPORT="${EXPORT:---sample skill-assignment --rows 10000 --seed $WEEK}"
GATES="${GATES:---min f1=0.75 --min roc_auc=0.75}"
MONITOR="${MONITOR:---since 30d --max-age 30d}"
log() { echo "$(date -u +%FT%TZ) $*"; }
run() { "$MLCTL" --no-progress "$@"; }

log "exporting this week's data to $DATA"
# shellcheck disable=SC2086 # EXPORT and GATES are argument lists
run export $EXPORT -o "$DATA"
if [ ! -f "$HOLDOUT" ]; then
  log "no $HOLDOUT: generating one (replace it with real labelled data)"
  run export --sample skill-assignment --rows 2000 --seed 7 -o "$HOLDOUT"
fi

if run -q list "$MODEL" 2>/dev/null | grep -q production; then
  status=0
  # shellcheck disable=SC2086 # MONITOR is an argument list
  run monitor "$MODEL" $MONITOR --report "reports/monitor/$(date -u +%F)/monitor.md" || status=$?
  case "$status" in
    0) log "monitor: $MODEL's production version still performs as tested" ;;
    3) log "monitor: RETRAIN DUE for $MODEL (reasons above): the retrain below is due" ;;
    *) exit "$status" ;;
  esac
fi

log "training $MODEL from mlctl.toml"
version="$(run --json -q train --model "$MODEL" | sed -n 's/^  "version": "\(.*\)",$/\1/p' | head -n 1)"
[ -n "$version" ] || { log "could not read the new version from mlctl train --json"; exit 1; }
log "trained $MODEL@$version"

status=0
# shellcheck disable=SC2086
run evaluate "$MODEL@$version" --data "$HOLDOUT" $GATES || status=$?
if [ "$status" = 3 ]; then
  log "$MODEL@$version failed its gates; it stays in development"
  exit 3
elif [ "$status" != 0 ]; then
  exit "$status"
fi

run promote "$MODEL@$version" --to staging --reason "weekly retrain $WEEK"
status=0
run promote "$MODEL@staging" --to production --data "$HOLDOUT" --reason "weekly retrain $WEEK" || status=$?
case "$status" in
  0) log "$MODEL@$version is in production" ;;
  3) log "$MODEL@$version did not beat production on $HOLDOUT; production unchanged, $version stays in staging" ;;
  *) exit "$status" ;;
esac

log "done"
