//! Where a registry lives, parsed once from `--registry`, `MLCTL_REGISTRY` or mlctl.toml's `registry`: a folder
//! (a path or `file://PATH`) or a bucket and prefix on S3-compatible storage (`s3://BUCKET/PREFIX`). Credentials
//! never appear in the URL: they come from the environment, so printing a location can never leak one.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Folder(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl Location {
    /// Parses `url`; a relative path is taken from `base` (the project root for mlctl.toml, the current folder
    /// for the flag and the variable).
    pub fn parse(url: &str, base: &Path) -> Result<Location> {
        if let Some(rest) = url.strip_prefix("s3://") {
            return parse_s3(url, rest);
        }
        if let Some((scheme, _)) = url.split_once("://") {
            if scheme != "file" {
                return Err(Error::Usage(format!(
                    "registry \"{url}\": unsupported scheme \"{scheme}://\"; use a folder path, file://PATH or \
                     s3://BUCKET/PREFIX"
                )));
            }
        }
        let path = url.strip_prefix("file://").unwrap_or(url);
        if path.is_empty() {
            return Err(Error::Usage("registry: the location is empty; give a folder or s3://BUCKET/PREFIX".into()));
        }
        let path = Path::new(path);
        Ok(Location::Folder(if path.is_absolute() { path.to_path_buf() } else { base.join(path) }))
    }

    pub fn is_remote(&self) -> bool {
        matches!(self, Location::S3 { .. })
    }
}

fn parse_s3(url: &str, rest: &str) -> Result<Location> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'));
    if !valid_bucket {
        return Err(Error::Usage(format!(
            "registry \"{url}\": \"{bucket}\" is not a bucket name (3-63 lowercase letters, digits, '-' or '.')"
        )));
    }
    let prefix = prefix.trim_matches('/');
    if prefix.split('/').any(|part| part == "." || part == "..") || prefix.contains("//") {
        return Err(Error::Usage(format!("registry \"{url}\": the prefix may not contain empty, . or .. parts")));
    }
    Ok(Location::S3 { bucket: bucket.to_owned(), prefix: prefix.to_owned() })
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Folder(path) => write!(f, "{}", path.display()),
            Location::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Location::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        let base = Path::new("/proj");
        assert_eq!(Location::parse("ml_models", base).unwrap(), Location::Folder("/proj/ml_models".into()));
        assert_eq!(Location::parse("file:///srv/reg", base).unwrap(), Location::Folder("/srv/reg".into()));
        assert_eq!(
            Location::parse("s3://team-models/mlctl/", base).unwrap(),
            Location::S3 { bucket: "team-models".into(), prefix: "mlctl".into() }
        );
        assert_eq!(Location::parse("s3://team-models/a/b", base).unwrap().to_string(), "s3://team-models/a/b");
        assert_eq!(Location::parse("s3://bkt", base).unwrap().to_string(), "s3://bkt");
        for bad in ["s3://", "s3://UPPER/x", "s3://b/../x", "gs://b/x", "", "s3://ok-bucket/a//b"] {
            assert!(Location::parse(bad, base).is_err(), "{bad:?} should be refused");
        }
    }
}
