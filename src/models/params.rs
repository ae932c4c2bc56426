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
            let message = format!(
                "unknown hyperparameter \"{key}\" for {algorithm}{}; valid keys:\n{}",
                crate::suggest::hint(key, specs.iter().map(|s| s.key)),
                valid.join("\n")
            );
            return Err(Error::Hyperparameter { key: key.clone(), message });
        }
        out.insert(canonical.to_owned(), value.clone());
    }
    Ok(out)
}

/// Parses `key=value` pairs from the command line.
pub fn parse_assignments(pairs: &[String]) -> Result<Settings> {
    let mut out = Settings::new();
    for pair in pairs {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("--set {pair}: expected key=value, e.g. --set max_depth=12")))?;
        out.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(out)
}

/// Reads validated values out of checked settings, taking each default from its [`ParamSpec`], so the defaults
/// listed in error messages are the ones applied.
pub struct Reader<'a> {
    settings: Settings,
    specs: &'a [ParamSpec],
}

impl<'a> Reader<'a> {
    /// Checks the keys (see [`check_keys`]) and keeps the settings for reading.
    pub fn new(algorithm: &str, settings: &Settings, specs: &'a [ParamSpec], aliases: &[(&str, &str)]) -> Result<Self> {
        Ok(Reader { settings: check_keys(algorithm, settings, specs, aliases)?, specs })
    }

    fn spec(&self, key: &str) -> &'a ParamSpec {
        // Keys asked for are constants of the adapter, listed in its specs; a miss is a programming error that
        // the adapters' unit tests catch.
        self.specs.iter().find(|s| s.key == key).unwrap_or(&UNKNOWN_SPEC)
    }

    /// The given text, or the spec's default.
    pub fn text(&self, key: &str) -> &str {
        self.settings.get(key).map_or(self.spec(key).default, String::as_str)
    }

    /// The error for a value of `key` out of its range.
    pub fn invalid(&self, key: &str) -> Error {
        Error::Hyperparameter {
            key: key.to_owned(),
            message: format!("hyperparameter {key}={}: expected {}", self.text(key), self.spec(key).accepts),
        }
    }

    /// A whole number of at least `min`.
    pub fn whole(&self, key: &str, min: usize) -> Result<usize> {
        match self.text(key).trim().parse::<usize>() {
            Ok(v) if v >= min => Ok(v),
            _ => Err(self.invalid(key)),
        }
    }

    /// A whole number of at least `min`, or `none`.
    pub fn optional_whole(&self, key: &str, min: usize) -> Result<Option<usize>> {
        if self.text(key).trim().eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        self.whole(key, min).map(Some)
    }

    /// A number that `ok` accepts (write `ok` so that NaN fails it).
    pub fn number(&self, key: &str, ok: fn(f64) -> bool) -> Result<f64> {
        match self.text(key).trim().parse::<f64>() {
            Ok(v) if ok(v) => Ok(v),
            _ => Err(self.invalid(key)),
        }
    }

    /// One of `choices`, returned as written there.
    pub fn choice(&self, key: &str, choices: &[&'static str]) -> Result<&'static str> {
        let text = self.text(key).trim();
        choices.iter().find(|c| c.eq_ignore_ascii_case(text)).copied().ok_or_else(|| self.invalid(key))
    }

    /// `true` or `false`.
    pub fn flag(&self, key: &str) -> Result<bool> {
        Ok(self.choice(key, &["true", "false"])? == "true")
    }
}

const UNKNOWN_SPEC: ParamSpec = ParamSpec { key: "?", default: "", accepts: "a valid value" };

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[ParamSpec] = &[
        ParamSpec { key: "k", default: "5", accepts: "a whole number ≥ 1" },
        ParamSpec { key: "depth", default: "none", accepts: "a whole number ≥ 1, or none" },
        ParamSpec { key: "alpha", default: "1.0", accepts: "a number ≥ 0" },
        ParamSpec { key: "weights", default: "uniform", accepts: "uniform or distance" },
    ];

    #[test]
    fn defaults_come_from_the_specs_and_values_are_checked() {
        let r = Reader::new("test", &Settings::new(), SPECS, &[]).unwrap();
        assert_eq!(r.whole("k", 1).unwrap(), 5);
        assert_eq!(r.optional_whole("depth", 1).unwrap(), None);
        assert_eq!(r.number("alpha", |a| a >= 0.0).unwrap(), 1.0);
        assert_eq!(r.choice("weights", &["uniform", "distance"]).unwrap(), "uniform");
        let mut s = Settings::new();
        s.insert("k".into(), "0".into());
        s.insert("alpha".into(), "nan".into());
        let r = Reader::new("test", &s, SPECS, &[]).unwrap();
        assert!(r.whole("k", 1).unwrap_err().to_string().contains("k=0: expected a whole number ≥ 1"));
        assert!(r.number("alpha", |a| a >= 0.0).is_err());
        s.insert("kk".into(), "1".into());
        let err = Reader::new("test", &s, SPECS, &[]).err().unwrap().to_string();
        assert!(err.contains("did you mean \"k\"") && err.contains("weights (default uniform"), "{err}");
    }
}
