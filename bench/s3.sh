#!/usr/bin/env bash
# What the S3 registry costs against the local folder, on loopback (moto's S3 server through
# scripts/s3_server.py, the one the tests use, on 127.0.0.1), written to bench/S3_RESULTS.md:
#  1. the wall time of a `train` + `predict` round trip (sample data, ROWS rows, default 10,000), median of RUNS
#     (default 5), against the folder and against s3:// (a fresh MLCTL_CACHE_DIR each run, so predict downloads);
#  2. peak memory (/usr/bin/time -v, max RSS) of `mlctl registry copy` of a large forest (trained on BIG rows,
#     default 200,000) from a folder to s3:// and from s3:// back to a folder, with the artifact's size.
#
#   bench/s3.sh             MLCTL=path/to/mlctl to pick the binary (default: $CARGO_TARGET_DIR/release/mlctl)
#   ROWS=10000 RUNS=5 BIG=200000 bench/s3.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${ROWS:-10000}"
RUNS="${RUNS:-5}"
BIG="${BIG:-200000}"
TARGET="${CARGO_TARGET_DIR:-target}"
MLCTL="$(realpath "${MLCTL:-$TARGET/release/mlctl}")"
[ -x "$MLCTL" ] || { echo "no mlctl at $MLCTL: cargo build --release (or set MLCTL=)" >&2; exit 1; }
[ -x /usr/bin/time ] || apt-get install -y -q time
bash scripts/install_moto.sh
PY="${MLCTL_MOTO_VENV:-$HOME/.cache/mlctl/moto-venv}/bin/python"
OUT="$PWD/bench/S3_RESULTS.md"
SERVER="$PWD/scripts/s3_server.py"

WORK="$(mktemp -d /tmp/mlctl-s3-bench-XXXXXX)"
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$PY" "$SERVER" --port "$PORT" --bucket mlctl-bench >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 300); do grep -q ready "$WORK/server.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$WORK/server.out" || { echo "the S3 server did not start: $(cat "$WORK/server.log")" >&2; exit 1; }
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ALLOW_HTTP=true
unset MLCTL_REGISTRY

cd "$WORK"
m() { "$MLCTL" --no-progress -q "$@"; }
m export --sample skill-assignment --rows "$ROWS" --seed 42 -o data/d.csv >/dev/null

# One train + predict round trip against registry $1 (cache $2); prints its wall seconds.
round_trip() {
    local start end
    start="$(date +%s.%N)"
    MLCTL_CACHE_DIR="$2" m --registry "$1" train data/d.csv --target success --name m >/dev/null
    MLCTL_CACHE_DIR="$2" m --registry "$1" predict m --input data/d.csv -o "$WORK/preds.csv" --no-log >/dev/null
    end="$(date +%s.%N)"
    echo "$end - $start" | bc
}
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

: >"$WORK/local.txt"; : >"$WORK/s3.txt"
for i in $(seq "$RUNS"); do
    round_trip "$WORK/local-$i" "$WORK/cache-local-$i" >>"$WORK/local.txt"
    round_trip "s3://mlctl-bench/rt-$i" "$WORK/cache-s3-$i" >>"$WORK/s3.txt"
done
LOCAL="$(median <"$WORK/local.txt")"
S3="$(median <"$WORK/s3.txt")"
ADDED="$(echo "$S3 - $LOCAL" | bc)"
echo "train + predict, $ROWS rows: folder $LOCAL s, s3 $S3 s (median of $RUNS): +$ADDED s"

# A large forest in a folder registry, copied to the bucket and back under /usr/bin/time -v.
m export --sample skill-assignment --rows "$BIG" --seed 7 -o data/big.csv >/dev/null
m --registry "$WORK/big" train data/big.csv --target success --name big >/dev/null
SIZE="$(stat -c %s "$WORK"/big/big/1.0.0/model.bin)"
rss() { # label, then the mlctl arguments; prints "wall_s max_rss_kb"
    /usr/bin/time -v -o "$WORK/time.txt" "$MLCTL" --no-progress -q "$@" >/dev/null
    awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]}
                /Maximum resident set size/ {r = $2} END {print s, r}' "$WORK/time.txt"
}
read -r UP_S UP_KB < <(rss registry copy "$WORK/big" s3://mlctl-bench/big)
read -r DOWN_S DOWN_KB < <(rss registry copy s3://mlctl-bench/big "$WORK/big-back")
cmp "$WORK/big/big/1.0.0/model.bin" "$WORK/big-back/big/1.0.0/model.bin"
mb() { echo "scale=1; $1 / 1048576" | bc; }
echo "registry copy of a $(mb "$SIZE") MB forest: to s3 ${UP_S} s, max RSS $(mb $((UP_KB * 1024))) MB; back ${DOWN_S} s, max RSS $(mb $((DOWN_KB * 1024))) MB"

cat >"$OUT" <<MD
# The S3 registry on loopback against the local folder

\`bench/s3.sh\` (ROWS=$ROWS RUNS=$RUNS BIG=$BIG), $(date -u +%Y-%m-%d), $(nproc) cores, $("$MLCTL" --version)
(\`$(basename "$(dirname "$(dirname "$MLCTL")")")/$(basename "$(dirname "$MLCTL")")\` build). The S3 server is moto
(scripts/s3_server.py, one request at a time) on 127.0.0.1: Python, so its share of the times is an upper bound
of what a real S3-compatible store on the same network adds.

## train + predict round trip
\`mlctl --registry R train data/d.csv --target success --name m\` then
\`mlctl --registry R predict m --input data/d.csv -o preds.csv --no-log\` on $ROWS sample rows
(\`mlctl export --sample skill-assignment --rows $ROWS --seed 42\`), default forest, a fresh registry and
MLCTL_CACHE_DIR each run.

| registry | runs (s) | median (s) |
|---|---|---|
| folder | $(paste -sd' ' "$WORK/local.txt") | $LOCAL |
| s3:// (moto, loopback) | $(paste -sd' ' "$WORK/s3.txt") | $S3 |

S3 adds **$ADDED s** to the round trip (median of $RUNS).

## registry copy of a large forest
A default forest trained on $BIG sample rows (\`--seed 7\`): model.bin is $SIZE bytes ($(mb "$SIZE") MB).

| command | wall (s) | max RSS (MB) |
|---|---|---|
| \`mlctl registry copy FOLDER s3://mlctl-bench/big\` | $UP_S | $(mb $((UP_KB * 1024))) |
| \`mlctl registry copy s3://mlctl-bench/big FOLDER2\` | $DOWN_S | $(mb $((DOWN_KB * 1024))) |

The copied-back model.bin is byte-identical (\`cmp\`). Max RSS is /usr/bin/time -v's "Maximum resident set size"
of the mlctl process (the server's memory is not counted).
MD
echo "wrote $OUT"
