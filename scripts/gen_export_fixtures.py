#!/usr/bin/env python3
"""Writes tests/fixtures/export/people.parquet, the Parquet fixture of `mlctl export --from FILE.parquet`.

Every type mlctl maps, a null in each column but the id, text that needs quoting in a CSV, and row groups of two
rows so a read crosses row groups. The committed file is what the tests read; run this only to change it:

    python3 -m venv .venv && .venv/bin/pip install pyarrow==26.0.1
    .venv/bin/python scripts/gen_export_fixtures.py
"""

import datetime as dt
import pathlib

import pyarrow as pa
import pyarrow.parquet as pq

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "export" / "people.parquet"

utc = dt.timezone.utc
table = pa.table(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "name": pa.array(["Ann", 'Smith, "Bob"', None, "Zoë ✓"], pa.string()),
        "score": pa.array([0.1, -2.5e-7, None, 3.0], pa.float64()),
        "ratio": pa.array([0.1, None, 1e-6, 2.5], pa.float32()),
        "count": pa.array([7, None, 255, 0], pa.uint32()),
        "active": pa.array([True, False, None, True], pa.bool_()),
        "born": pa.array([dt.date(1990, 2, 28), dt.date(2000, 1, 1), None, dt.date(2024, 2, 29)], pa.date32()),
        "seen_at": pa.array(
            [
                dt.datetime(2024, 1, 2, 3, 4, 5),
                dt.datetime(2024, 1, 2, 3, 4, 5, 250000),
                None,
                dt.datetime(1970, 1, 1),
            ],
            pa.timestamp("ms"),
        ),
        "seen_utc": pa.array(
            [dt.datetime(2024, 1, 2, 1, 4, 5, tzinfo=utc), None, None, dt.datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=utc)],
            pa.timestamp("us", tz="UTC"),
        ),
        "odd, name": pa.array(["a", "line1\nline2", None, "cr\rlf"], pa.string()),
    }
)

OUT.parent.mkdir(parents=True, exist_ok=True)
pq.write_table(table, OUT, row_group_size=2, compression="snappy")
print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
