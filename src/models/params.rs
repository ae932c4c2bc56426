//! Hyperparameters given as `key=value` (from `--set` or mlctl.toml), validated per algorithm before anything is
//! fitted: an unknown key is an error listing the valid keys with their defaults; a bad value names the key and
//! what it accepts.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// One accepted key.
pub struct ParamSpec {
    pub key: &'static str,
    pub default: &'static str,
    pub accepts: &'static str,
}

/// Raw settings, key → text value, in a stable order.
pub type Settings = BTreeMap<String, String>;

/// Refuses keys not in `specs`; `aliases` maps other accepted spellings (scikit-learn's) to ours.
pub fn check_keys(
    algorithm: &str,
    settings: &Settings,
    specs: &[ParamSpec],
    aliases: &[(&str, &str)],
) -> Result<Settings> {
    let mut out = Settings::new();
    for (key, value) in settings {
        let canonical = aliases.iter().find(|(alias, _)| alias == key).map_or(key.as_str(), |(_, k)| k);
        if !specs.iter().any(|s| s.key == canonical) {
            let valid: Vec<String> =
                specs.iter().map(|s| format!("  {} (default {}; {})", s.key, s.default, s.accepts)).collect();
            return Err(Error::Config(format!(
                "unknown hyperparameter \"{key}\" for {algorithm}{}; valid keys:\n{}",
                crate::suggest::hint(key, specs.iter().map(|s| s.key)),
                valid.join("\n")
            )));
        }
        out.insert(canonical.to_owned(), value.clone());
    }
    Ok(out)
}

pub fn parse_value<T: std::str::FromStr>(key: &str, value: &str, accepts: &str) -> Result<T> {
    value.trim().parse().map_err(|_| Error::Config(format!("hyperparameter {key}={value}: expected {accepts}")))
}

/// Parses `key=value` pairs from the command line.
pub fn parse_assignments(pairs: &[String]) -> Result<Settings> {
    let mut out = Settings::new();
    for pair in pairs {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| Error::Config(format!("--set {pair}: expected key=value, e.g. --set max_depth=12")))?;
        out.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(out)
}
