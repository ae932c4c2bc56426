#!/usr/bin/env bash
# Measures `mlctl export` of ROWS rows (default 1,000,000) from SQLite and from PostgreSQL: wall time, rows/s and
# peak RSS from /usr/bin/time -v. PostgreSQL is a throwaway cluster on 127.0.0.1 in a temp dir (installed from
# Debian's packages by scripts/install_postgres.sh if absent), stopped on exit.
#
#   scripts/bench_export.sh [ROWS]          MLCTL=path/to/mlctl to pick the binary (default: target/release/mlctl)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-1000000}"
TARGET="${CARGO_TARGET_DIR:-target}"
MLCTL="${MLCTL:-$TARGET/release/mlctl}"
[ -x "$MLCTL" ] || { echo "no mlctl at $MLCTL: cargo build --release (or set MLCTL=)" >&2; exit 1; }
[ -x /usr/bin/time ] || apt-get install -y -q time
bash scripts/install_postgres.sh >/dev/null
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

WORK="$(mktemp -d /tmp/mlctl-bench-XXXXXX)"
PG_DATA="$WORK/pg"
AS_PG=()
[ "$(id -u)" = 0 ] && { chown postgres: "$WORK"; AS_PG=(runuser -u postgres --); }
cleanup() {
    [ -f "$PG_DATA/postmaster.pid" ] && "${AS_PG[@]}" "$BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The same shape in both databases: every mapped type, a NULL in every tenth row of two columns.
SQLITE_SQL="CREATE TABLE t (id INTEGER, name TEXT, score REAL, active BOOLEAN, born DATE, seen TIMESTAMP, note TEXT);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $ROWS)
INSERT INTO t SELECT i, 'employee ' || i, i * 0.37, i % 2, date('2000-01-01', '+' || (i % 9000) || ' days'),
  datetime(1700000000 + i, 'unixepoch'), CASE WHEN i % 10 = 0 THEN NULL ELSE 'note, \"quoted\" ' || i END FROM s;"
PG_SQL="CREATE TABLE t (id int8, name text, score float8, active bool, born date, seen timestamp, note text);
INSERT INTO t SELECT i, 'employee ' || i, i * 0.37, i % 2 = 1, date '2000-01-01' + (i % 9000),
  to_timestamp(1700000000 + i) AT TIME ZONE 'UTC', CASE WHEN i % 10 = 0 THEN NULL ELSE 'note, \"quoted\" ' || i END
  FROM generate_series(1, $ROWS) i;"

measure() { # label, then the mlctl arguments
    local label="$1"; shift
    /usr/bin/time -v -o "$WORK/time.txt" "$MLCTL" --no-progress -q "$@" >/dev/null
    local wall rss rows
    wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.txt")"
    rss="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")"
    rows="$(($(wc -l <"$WORK/out.csv") - 1))"
    python3 - "$label" "$wall" "$rss" "$rows" <<'PY'
import sys
label, wall, rss, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
parts = [float(p) for p in wall.split(":")]
secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
print(f"{label:<10} rows={rows:>9,}  wall={secs:6.2f} s  {rows / secs:>10,.0f} rows/s  peak RSS={rss / 1024:6.1f} MB")
PY
}

echo "mlctl: $MLCTL ($("$MLCTL" --version)); $ROWS rows; $(nproc) cores"
python3 -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()" \
    "$WORK/bench.db" "$SQLITE_SQL"
measure sqlite export --from "sqlite:$WORK/bench.db" --table t -o "$WORK/out.csv"

"${AS_PG[@]}" "$BIN/initdb" -D "$PG_DATA" -U bench --auth=trust -E UTF8 --locale=C --no-sync >/dev/null
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"${AS_PG[@]}" "$BIN/pg_ctl" -D "$PG_DATA" -l "$WORK/pg.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $WORK -c fsync=off" start >/dev/null
"$BIN/psql" -q -h 127.0.0.1 -p "$PORT" -U bench -d postgres -c "$PG_SQL"
measure postgres export --from "postgres://bench@127.0.0.1:$PORT/postgres" --table t -o "$WORK/out.csv"
