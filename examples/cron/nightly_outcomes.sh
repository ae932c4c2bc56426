#!/usr/bin/env bash
# Nightly: record the outcomes that became known since yesterday (a task's success is known weeks after it was
# assigned and predicted), so that `mlctl monitor` can join them with the logged predictions by id.
#
# crontab -e (every night at 01:30, from the project folder):
#   30 1 * * *  cd /srv/hr-models && examples/cron/nightly_outcomes.sh >> logs/outcomes-cron.log 2>&1
#
# The predictions must have been logged with the same ids: `mlctl predict MODEL --input F --id-column task_id`
# (or, for `mlctl serve`, an "id" field in each record).
#
# Settings (environment):
#   MODEL      the model the outcomes belong to                  (default skill_assignment)
#   MLCTL      the mlctl binary                                    (default mlctl on PATH)
#   ID_COLUMN  the id column, as given to predict --id-column     (default task_id)
#   EXPORT     how to get yesterday's outcomes, as mlctl export arguments, e.g.
#              EXPORT="--from postgres://hr@db:5432/hr --query \"SELECT task_id, success FROM assignments
#                      WHERE closed_at >= now() - interval '1 day'\""
#              (default: a CSV someone drops at data/outcomes/today.csv)
# Exit: 0 recorded (or nothing to record), 1 an error (a label the model does not know: nothing was recorded).
set -euo pipefail

MODEL="${MODEL:-skill_assignment}"
MLCTL="${MLCTL:-mlctl}"
ID_COLUMN="${ID_COLUMN:-task_id}"
EXPORT="${EXPORT:---from data/outcomes/today.csv}"
DAY="$(date -u +%F)"
FILE="data/outcomes/$DAY.csv"
log() { echo "$(date -u +%FT%TZ) $*"; }

mkdir -p data/outcomes
if [ "$EXPORT" = "--from data/outcomes/today.csv" ] && [ ! -f data/outcomes/today.csv ]; then
  log "no data/outcomes/today.csv: nothing to record"
  exit 0
fi
# shellcheck disable=SC2086 # EXPORT is an argument list
eval "\"$MLCTL\" --no-progress export $EXPORT -o \"$FILE\""
"$MLCTL" --no-progress outcomes "$MODEL" --data "$FILE" --id-column "$ID_COLUMN"
[ ! -f data/outcomes/today.csv ] || mv data/outcomes/today.csv "data/outcomes/recorded-$DAY.csv"
log "done"
