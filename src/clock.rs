//! "Now", in one place. Tests set `MLCTL_TEST_NOW` (RFC 3339) so timestamps in snapshots are stable.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn now() -> DateTime<Utc> {
    std::env::var("MLCTL_TEST_NOW")
        .ok()
        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc))
}

/// Now as RFC 3339 with second precision, e.g. `2026-11-22T21:47:29Z`.
pub fn now_rfc3339() -> String {
    now().to_rfc3339_opts(SecondsFormat::Secs, true)
}
