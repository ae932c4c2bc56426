#!/usr/bin/env bash
# The monitoring benchmark: a month of logs, 1,000,000 logged predictions and their 1,000,000 outcomes, joined and
# scored by `mlctl monitor` (4 weekly windows of 250,000 predictions, realised and CBPE-estimated metrics).
# Builds mlctl in release unless MLCTL names a binary; writes bench/monitor/RESULTS.md. Target: under 5 s, with
# memory bounded by the outcomes and labelled pairs, not by the log size.
#
#   bench/monitor.sh                              # release build, 1M rows, 5 runs
#   MLCTL=target/release/mlctl ROWS=200000 bench/monitor.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${ROWS:-1000000}"
RUNS="${RUNS:-5}"
if [ -z "${MLCTL:-}" ]; then
    cargo build --locked --release --bin mlctl
    MLCTL="${CARGO_TARGET_DIR:-target}/release/mlctl"
fi
MLCTL="$(realpath "$MLCTL")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
m() { "$MLCTL" -q --no-progress "$@"; }

m export --sample skill-assignment --rows 10000 --seed 1 -o train.csv
m train train.csv --target success --name sa --set n_trees=50
m export --sample skill-assignment --rows "$ROWS" --seed 2 -o month.csv
awk -F, 'NR==1{print "task_id,"$0; next} {print "t" NR-1 "," $0}' month.csv > tasks.csv
# Four weeks of predictions, a quarter each, logged at the clock of their week.
quarter=$(( ROWS / 4 ))
for week in 0 1 2 3; do
    { head -1 tasks.csv; tail -n +2 tasks.csv | sed -n "$(( week * quarter + 1 )),$(( (week + 1) * quarter ))p"; } > week.csv
    MLCTL_TEST_NOW="2026-11-$(printf %02d $(( 3 + week * 7 )))T12:00:00Z" m predict sa --input week.csv --id-column task_id -o /dev/null
done
awk -F, '{print $1 "," $NF}' tasks.csv > outcomes.csv
m outcomes sa --data outcomes.csv --id-column task_id
logs=$(du -sh logs | cut -f1)

times=()
for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o time.txt env MLCTL_TEST_NOW=2026-11-30T00:00:00Z \
        "$MLCTL" -q --json monitor sa --since 2026-11-02 --window 7d > report.json || [ $? = 3 ]
    times+=("$(cat time.txt)")
done
cd - >/dev/null
python3 - "$ROWS" "$logs" "$MLCTL" "$work/report.json" "${times[@]}" <<'PY'
import json, os, platform, statistics, subprocess, sys
rows, logs, mlctl, report = int(sys.argv[1]), sys.argv[2], sys.argv[3], json.load(open(sys.argv[4]))
runs = [tuple(map(float, t.split())) for t in sys.argv[5:]]
secs = [r[0] for r in runs]
rss = [r[1] / 1024 for r in runs]
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
lines = [
    "# mlctl monitor: a month of logs joined and scored",
    "",
    f"Command: `bench/monitor.sh` (ROWS={rows}, {len(runs)} runs) at {commit}, binary `{os.path.basename(mlctl)}`"
    f" ({mlctl}), {os.cpu_count()} cores, {cpu}, load average {os.getloadavg()[0]:.1f} at the end.",
    "",
    f"{rows:,} logged predictions in 4 weekly files ({logs} of logs) and {rows:,} outcomes; `mlctl monitor --since"
    " 2026-11-02 --window 7d`: join by id, realised metrics per window, CBPE estimates over every prediction.",
    "",
    "| | median | min | max |",
    "|---|---:|---:|---:|",
    f"| wall time (s) | {statistics.median(secs):.2f} | {min(secs):.2f} | {max(secs):.2f} |",
    f"| peak RSS (MiB) | {statistics.median(rss):.0f} | {min(rss):.0f} | {max(rss):.0f} |",
    "",
    f"Joined: {report['join']['predictions_with_outcome']:,} of {report['join']['predictions']:,} predictions;"
    f" verdict {report['verdict']}.",
]
path = os.path.join("bench", "monitor", "RESULTS.md")
open(path, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
