//! `--from postgres://user@host:port/db`: a PostgreSQL server, through the synchronous `postgres` client (no TLS).
//!
//! The query runs in a read-only transaction through a portal fetched [`BATCH`] rows at a time, so memory is
//! bounded by the batch, not the table. Values arrive in PostgreSQL's binary format and are spelt as
//! [`ValueType`] says (numeric exactly, from its base-10000 digits; timestamptz in UTC). A column of a type mlctl
//! does not read (interval, arrays, …) is refused before any row is written, with the cast that fixes it.
//!
//! The password comes from the URL, else `PGPASSWORD`, else the password file (`PGPASSFILE` or `~/.pgpass`, as
//! libpq reads it); it is never displayed: [`redact`] is what cards and messages show.

use std::error::Error as _;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, NaiveDate};
use postgres::config::Host;
use postgres::types::{FromSql, Type};
use postgres::{Config, NoTls};

use super::{check_names, push_real, push_real32, Row, RowSink, ValueType};
use crate::error::{Error, Result};
use crate::reporter::Reporter;

/// Rows fetched from the portal per round trip.
pub const BATCH: i32 = 4096;

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// The URL without its password (`user:pw@` → `user@`, `password=` parameters dropped).
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (authority_end, _) = rest.char_indices().find(|(_, c)| *c == '/' || *c == '?').unwrap_or((rest.len(), '/'));
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{user}@{hosts}")
        }
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> =
                query.split('&').filter(|kv| !kv.to_ascii_lowercase().starts_with("password=")).collect();
            if kept.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Streams the rows of `query` into `sink`; returns the columns' types. `label` is the redacted URL.
pub fn export(
    url: &str,
    label: &str,
    query: &str,
    sink: &mut dyn RowSink,
    reporter: &dyn Reporter,
) -> Result<Vec<ValueType>> {
    let pg_error = |e: postgres::Error| Error::source(label, message(&e));
    let config = config(url, label, reporter)?;
    let mut client = config.connect(NoTls).map_err(pg_error)?;
    let mut tx = client.build_transaction().read_only(true).start().map_err(pg_error)?;
    let stmt = tx.prepare(query).map_err(pg_error)?;
    let names: Vec<String> = stmt.columns().iter().map(|c| c.name().to_owned()).collect();
    check_names(label, &names)?;
    let mut types = Vec::with_capacity(names.len());
    for column in stmt.columns() {
        types.push(value_type(column.type_()).ok_or_else(|| {
            Error::source(
                label,
                format!(
                    "column \"{}\" has type {}, which mlctl cannot export: cast it in --query, e.g. {}::text",
                    column.name(),
                    column.type_().name(),
                    column.name()
                ),
            )
        })?);
    }
    sink.header(&names)?;

    let portal = tx.bind(&stmt, &[]).map_err(pg_error)?;
    let mut row = Row::new(names.len());
    loop {
        let batch = tx.query_portal(&portal, BATCH).map_err(pg_error)?;
        if batch.is_empty() {
            break;
        }
        for r in &batch {
            for i in 0..names.len() {
                let Cell(text) = r.try_get(i).map_err(pg_error)?;
                match text {
                    Some(t) => row.set(i, &t),
                    None => row.set_null(i),
                }
            }
            sink.row(&row)?;
        }
    }
    tx.commit().map_err(pg_error)?;
    Ok(types)
}

/// The server's own words for a database error ("ERROR: relation \"x\" does not exist"), else the client's
/// message with its causes ("error connecting to server: Connection refused (os error 111)").
fn message(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.to_string();
    }
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

fn config(url: &str, label: &str, reporter: &dyn Reporter) -> Result<Config> {
    // The parser's message never echoes the URL, so it cannot leak the password.
    let mut config: Config = url
        .parse()
        .map_err(|e: postgres::Error| Error::source(label, format!("not a PostgreSQL URL: {}", message(&e))))?;
    if config.get_user().is_none() {
        let user = env("PGUSER").or_else(|| env("USER")).ok_or_else(|| {
            Error::source(label, "no user: put one in the URL (postgres://USER@host/db) or set PGUSER")
        })?;
        config.user(&user);
    }
    if config.get_hosts().is_empty() {
        config.host(&env("PGHOST").unwrap_or_else(|| "localhost".into()));
    }
    if config.get_ports().is_empty() {
        if let Some(port) = env("PGPORT").and_then(|p| p.parse().ok()) {
            config.port(port);
        }
    }
    if config.get_dbname().is_none() {
        if let Some(db) = env("PGDATABASE") {
            config.dbname(&db);
        }
    }
    if config.get_password().is_none() {
        let password = match env("PGPASSWORD") {
            Some(pw) => Some(pw),
            None => pgpass_lookup(&config, reporter),
        };
        if let Some(pw) = password {
            config.password(pw);
        }
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    config.application_name("mlctl export");
    Ok(config)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The password for this connection from the password file, matched as libpq does: the first line whose
/// host:port:database:user fields equal this connection's or are `*`.
fn pgpass_lookup(config: &Config, reporter: &dyn Reporter) -> Option<String> {
    let path =
        env("PGPASSFILE").map(PathBuf::from).or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    let text = std::fs::read_to_string(&path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            reporter.warn(&format!(
                "{}: ignored because others can read it; make it private with chmod 0600",
                path.display()
            ));
            return None;
        }
    }
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        _ => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
    let user = config.get_user()?.to_owned();
    let db = config.get_dbname().map_or_else(|| user.clone(), str::to_owned);
    let wanted = [host.as_str(), port.as_str(), db.as_str(), user.as_str()];
    text.lines().filter(|l| !l.trim_start().starts_with('#')).find_map(|line| {
        let fields = pgpass_fields(line);
        (fields.len() == 5 && fields[..4].iter().zip(wanted).all(|(f, w)| f == "*" || f == w))
            .then(|| fields[4].clone())
    })
}

/// Splits a password-file line on unescaped colons; `\:` and `\\` stand for themselves.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.trim_end_matches('\r').chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(field)) = (chars.next(), fields.last_mut()) {
                    field.push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => {
                if let Some(field) = fields.last_mut() {
                    field.push(c);
                }
            }
        }
    }
    fields
}

/// How a PostgreSQL type is exported; None for the types mlctl cannot spell yet.
fn value_type(ty: &Type) -> Option<ValueType> {
    Some(match *ty {
        Type::BOOL => ValueType::Boolean,
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => ValueType::Integer,
        Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC => ValueType::Real,
        Type::DATE => ValueType::Date,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => ValueType::Timestamp,
        Type::JSON | Type::JSONB | Type::UUID => ValueType::Text,
        _ if <&str as FromSql>::accepts(ty) => ValueType::Text,
        _ => return None,
    })
}

/// One value as exported text; None for NULL.
struct Cell(Option<String>);

type DecodeError = Box<dyn std::error::Error + Sync + Send>;

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> std::result::Result<Self, DecodeError> {
        let text = match *ty {
            Type::BOOL => (if bool::from_sql(ty, raw)? { "true" } else { "false" }).to_owned(),
            Type::INT2 => i16::from_sql(ty, raw)?.to_string(),
            Type::INT4 => i32::from_sql(ty, raw)?.to_string(),
            Type::INT8 => i64::from_sql(ty, raw)?.to_string(),
            Type::OID => u32::from_sql(ty, raw)?.to_string(),
            Type::FLOAT4 => {
                let mut s = String::new();
                push_real32(&mut s, f32::from_sql(ty, raw)?);
                s
            }
            Type::FLOAT8 => {
                let mut s = String::new();
                push_real(&mut s, f64::from_sql(ty, raw)?);
                s
            }
            Type::NUMERIC => numeric_text(raw)?,
            Type::DATE => date_text(i32::from_sql(&Type::INT4, raw)?)?,
            Type::TIMESTAMP => timestamp_text(i64::from_sql(&Type::INT8, raw)?)?,
            Type::TIMESTAMPTZ => {
                let mut s = timestamp_text(i64::from_sql(&Type::INT8, raw)?)?;
                if !s.ends_with("infinity") {
                    s.push_str("+00");
                }
                s
            }
            Type::JSON => std::str::from_utf8(raw)?.to_owned(),
            // jsonb's binary form is a version byte (1) and the JSON text.
            Type::JSONB => match raw.split_first() {
                Some((1, json)) => std::str::from_utf8(json)?.to_owned(),
                _ => return Err("unsupported jsonb version".into()),
            },
            Type::UUID => {
                let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
                if hex.len() != 32 {
                    return Err("a uuid is 16 bytes".into());
                }
                format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
            }
            _ => <&str as FromSql>::from_sql(ty, raw)?.to_owned(),
        };
        Ok(Cell(Some(text)))
    }

    fn from_sql_null(_: &Type) -> std::result::Result<Self, DecodeError> {
        Ok(Cell(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn date_text(days: i32) -> std::result::Result<String, DecodeError> {
    match days {
        i32::MAX => Ok("infinity".into()),
        i32::MIN => Ok("-infinity".into()),
        d => {
            let epoch = NaiveDate::from_ymd_opt(2000, 1, 1).ok_or("bad epoch")?;
            let date = epoch.checked_add_signed(chrono::Duration::days(i64::from(d))).ok_or("date out of range")?;
            Ok(date.format("%Y-%m-%d").to_string())
        }
    }
}

fn timestamp_text(micros: i64) -> std::result::Result<String, DecodeError> {
    match micros {
        i64::MAX => Ok("infinity".into()),
        i64::MIN => Ok("-infinity".into()),
        m => {
            let t = m
                .checked_add(PG_EPOCH_MICROS)
                .and_then(DateTime::from_timestamp_micros)
                .ok_or("timestamp out of range")?;
            Ok(t.naive_utc().format("%Y-%m-%d %H:%M:%S%.f").to_string())
        }
    }
}

/// NUMERIC's binary form, exactly: ndigits, weight, sign, dscale, then base-10000 digits, the first weighing
/// 10000^weight.
fn numeric_text(raw: &[u8]) -> std::result::Result<String, DecodeError> {
    let word = |i: usize| -> std::result::Result<i32, DecodeError> {
        let b = raw.get(i * 2..i * 2 + 2).ok_or("truncated numeric")?;
        Ok(i32::from(i16::from_be_bytes([b[0], b[1]])))
    };
    let ndigits = usize::try_from(word(0)?)?;
    let weight = word(1)?;
    let sign = word(2)? as u16;
    let dscale = usize::from(word(3)? as u16);
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    let digit = |i: i32| -> std::result::Result<i32, DecodeError> {
        if i < 0 || i as usize >= ndigits {
            Ok(0)
        } else {
            word(4 + i as usize)
        }
    };
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for i in 0..=weight {
            let d = digit(i)?;
            if i == 0 {
                out.push_str(&d.to_string());
            } else {
                out.push_str(&format!("{d:04}"));
            }
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut fraction = String::new();
        let mut i = weight + 1;
        while fraction.len() < dscale {
            fraction.push_str(&format!("{:04}", digit(i)?));
            i += 1;
        }
        fraction.truncate(dscale);
        out.push_str(&fraction);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_passwords() {
        assert_eq!(redact("postgres://ann:s3cret@db:5432/hr"), "postgres://ann@db:5432/hr");
        assert_eq!(redact("postgresql://ann@db/hr"), "postgresql://ann@db/hr");
        assert_eq!(
            redact("postgres://ann:p%40ss@db/hr?password=x&sslmode=disable"),
            "postgres://ann@db/hr?sslmode=disable"
        );
        assert_eq!(redact("postgres://db/hr?password=x"), "postgres://db/hr");
    }

    #[test]
    fn pgpass_lines_split_on_unescaped_colons() {
        assert_eq!(pgpass_fields("h:5432:*:u:pa\\:ss\\\\w"), ["h", "5432", "*", "u", "pa:ss\\w"]);
    }

    fn numeric(ndigits: i16, weight: i16, sign: u16, dscale: u16, digits: &[i16]) -> String {
        let mut raw = Vec::new();
        for w in [ndigits as u16, weight as u16, sign, dscale] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        for d in digits {
            raw.extend_from_slice(&d.to_be_bytes());
        }
        numeric_text(&raw).unwrap()
    }

    #[test]
    fn numeric_is_spelt_exactly() {
        assert_eq!(numeric(2, 0, 0, 3, &[12, 3400]), "12.340"); // 12.340
        assert_eq!(numeric(2, 1, 0x4000, 0, &[1, 2]), "-10002");
        assert_eq!(numeric(1, -2, 0, 8, &[1234]), "0.00001234");
        assert_eq!(numeric(0, 0, 0, 2, &[]), "0.00");
        assert_eq!(numeric(0, 0, 0xC000, 0, &[]), "NaN");
    }

    #[test]
    fn dates_and_timestamps_count_from_2000() {
        assert_eq!(date_text(0).unwrap(), "2000-01-01");
        assert_eq!(date_text(-1).unwrap(), "1999-12-31");
        assert_eq!(timestamp_text(1_500_000).unwrap(), "2000-01-01 00:00:01.500");
        assert_eq!(timestamp_text(i64::MAX).unwrap(), "infinity");
    }
}
