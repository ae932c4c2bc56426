#!/usr/bin/env bash
# The end of `make demo`: start `mlctl serve` on a port the OS chooses, wait for it to be ready, ask it for one
# prediction with curl, show /v1/models, and stop it with SIGTERM (it drains and flushes its logs, exit 0).
set -euo pipefail
: "${DEMO:?the demo project folder}" "${MLCTL:?the mlctl binary}"
log=$(mktemp)
"$MLCTL" --project "$DEMO" serve --port 0 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
    base=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$log" | head -1)
    [ -n "$base" ] && break
    sleep 0.1
done
[ -n "$base" ] || { cat "$log"; echo "serve did not start" >&2; exit 1; }
cat "$log"
curl -fsS "$base/health/ready"; echo
curl -fsS -X POST "$base/v1/models/skill_assignment/predict" -H 'Content-Type: application/json' \
    -H 'X-Request-Id: demo-1' \
    -d '{"emp_experience_years":6,"emp_workload_ratio":0.55,"emp_performance_rating":4.1,"emp_active_tasks":4,"emp_availability":"available","task_priority":"high","task_complexity_score":3,"task_estimated_hours":10,"task_urgency_score":0.7,"skill_match_score":0.82,"workload_compatibility":0.6}'
echo
kill -TERM $pid
wait $pid
echo "serve stopped (exit $?)"
