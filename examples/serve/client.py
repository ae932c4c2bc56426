#!/usr/bin/env python3
"""A client for `mlctl serve` using only Python's standard library.

    python3 examples/serve/client.py --url http://127.0.0.1:8080 --model skill_assignment [--token T]

Sends one record and prints the prediction, then a batch of three with request ids.
"""
import argparse
import json
import urllib.error
import urllib.request


def predict(url, model, records, token=None, request_id=None, timeout=5.0):
    body = json.dumps(records).encode()
    req = urllib.request.Request(f"{url}/v1/models/{model}/predict", data=body, method="POST")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if request_id:
        req.add_header("X-Request-Id", request_id)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        # Every error is a JSON body {"error": "...", ...}: 400 malformed, 401 token, 404 model, 413 size,
        # 422 schema (with "row" and "column"), 503 model unavailable.
        raise SystemExit(f"HTTP {e.code}: {json.load(e).get('error')}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--model", default="skill_assignment")
    ap.add_argument("--token")
    args = ap.parse_args()
    record = {
        "emp_experience_years": 6, "emp_workload_ratio": 0.55, "emp_performance_rating": 4.1,
        "emp_active_tasks": 4, "emp_availability": "available", "task_priority": "high",
        "task_complexity_score": 3, "task_estimated_hours": 10, "task_urgency_score": 0.7,
        "skill_match_score": 0.82, "workload_compatibility": 0.6,
    }
    answer = predict(args.url, args.model, record, args.token, request_id="example-1")
    row = answer["predictions"][0]
    print(f"{answer['model']}@{answer['version']}: {row['prediction']} (p={row['probability']:.3f}, id={row['id']})")
    batch = predict(args.url, args.model, [record] * 3, args.token, request_id="batch-7")
    print([(r["id"], r["prediction"]) for r in batch["predictions"]])


if __name__ == "__main__":
    main()
