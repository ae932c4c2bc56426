#!/usr/bin/env bash
# curl against a running `mlctl serve` (make serve): every endpoint once. BASE and TOKEN from the environment.
set -euo pipefail
BASE="${BASE:-http://127.0.0.1:8080}"
auth=()
if [ -n "${TOKEN:-}" ]; then auth=(-H "Authorization: Bearer $TOKEN"); fi
record='{"emp_experience_years":6,"emp_workload_ratio":0.55,"emp_performance_rating":4.1,"emp_active_tasks":4,"emp_availability":"available","task_priority":"high","task_complexity_score":3,"task_estimated_hours":10,"task_urgency_score":0.7,"skill_match_score":0.82,"workload_compatibility":0.6}'

curl -fsS "$BASE/health/live"; echo
curl -fsS "$BASE/health/ready"; echo
curl -fsS "${auth[@]}" "$BASE/v1/models"; echo
# One record; the id comes back in the answer and goes to the prediction log.
curl -fsS "${auth[@]}" -H 'Content-Type: application/json' -H 'X-Request-Id: order-1234' \
    -d "$record" "$BASE/v1/models/skill_assignment/predict"; echo
# A batch, with the key factors and a stricter threshold.
curl -fsS "${auth[@]}" -H 'Content-Type: application/json' -d "{\"instances\": [$record, $record]}" \
    "$BASE/v1/models/skill_assignment/predict?threshold=0.6&explain=true"; echo
# A CSV file (the answer read whole, then cut: `| head` would close the pipe early and fail curl under pipefail).
answer=$(curl -fsS "${auth[@]}" -H 'Content-Type: text/csv' --data-binary @data/skill_assignment.csv \
    "$BASE/v1/models/skill_assignment/predict")
printf '%s\n' "${answer:0:300}"
# MLflow's scoring protocol (one served model).
curl -fsS "${auth[@]}" -H 'Content-Type: application/json' -d "{\"dataframe_records\": [$record]}" "$BASE/invocations"; echo
curl -fsS "${auth[@]}" "$BASE/metrics" | sed -n '1,20p'
