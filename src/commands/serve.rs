//! `mlctl serve`: validate the flags, then run the server until SIGTERM/SIGINT (exit 0).

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use mlctl::serve::{serve, ServeOptions, ServeSpec, Token};

use super::usage::UsageExt;
use super::{Ctx, ExitStatus};
use crate::cli::ServeArgs;
use crate::output::printer::Printer;

pub fn run(args: ServeArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    let specs = args.models.iter().map(|m| ServeSpec::parse(m)).collect::<Result<Vec<_>, _>>().usage()?;
    let ip: IpAddr = match args.host.as_str() {
        "localhost" => IpAddr::from([127, 0, 0, 1]),
        host => {
            host.parse().with_context(|| format!("--host {host}: expected an IP address such as 127.0.0.1")).usage()?
        }
    };
    let token = token(&args, ctx)?;
    let opts = ServeOptions {
        specs,
        addr: SocketAddr::new(ip, args.port),
        log_dir: (!args.no_log).then(|| ctx.project.prediction_logs_dir()),
        max_body: parse_size(&args.max_body).usage()?,
        token,
        verbose: printer.verbose(),
        poll: Duration::from_millis(args.poll_ms.max(10)),
    };
    // Plain timestamped lines on stderr: the server is a long-running process (systemd, a terminal, a test).
    let log: mlctl::serve::LogSink = Arc::new(|line: &str| {
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let _ = writeln!(std::io::stderr().lock(), "{now} {line}");
    });
    serve(opts, ctx.store()?, log)?;
    Ok(ExitStatus::Success)
}

/// The bearer token from --token-file, else MLCTL_SERVE_TOKEN; never printed.
fn token(args: &ServeArgs, ctx: &Ctx) -> Result<Option<Token>> {
    if let Some(file) = &args.token_file {
        let path = ctx.user_path(file);
        let text = std::fs::read_to_string(&path).with_context(|| format!("--token-file {}", path.display()))?;
        return match Token::new(&text) {
            Some(token) => Ok(Some(token)),
            None => bail!("--token-file {}: the file is empty; put the token in it", path.display()),
        };
    }
    Ok(std::env::var("MLCTL_SERVE_TOKEN").ok().and_then(|t| Token::new(&t)))
}

/// `16MiB`, `512KiB`, `1MB`, `2048` → bytes.
fn parse_size(text: &str) -> Result<usize> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit_bytes: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => bail!("--max-body {text}: expected a size such as 16MiB, 512KiB or 1000000"),
    };
    let n: usize = number.parse().with_context(|| format!("--max-body {text}: expected a size such as 16MiB"))?;
    match n.checked_mul(unit_bytes) {
        Some(0) | None => bail!("--max-body {text}: expected a size between 1 byte and a few GiB"),
        Some(bytes) => Ok(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("16MiB").unwrap(), 16 << 20);
        assert_eq!(parse_size("512KiB").unwrap(), 512 << 10);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
    }
}
