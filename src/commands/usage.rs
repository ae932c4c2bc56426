//! Usage errors: what makes an error a mistake on the command line (exit 2) rather than a failure with the data,
//! the files or the registry (exit 1). The library marks what only a flag can give (`Error::Usage`); values that
//! may also come from mlctl.toml are marked here, by the command that knows where each value came from.

use mlctl::registry::{ModelName, ModelRef, Selector};

/// An error the user made on the command line; its message is the wrapped error's.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Usage(anyhow::Error);

/// Build a usage error from a message.
pub fn usage(message: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(Usage(anyhow::anyhow!("{message}")))
}

/// Marks an error as a usage error, keeping its message.
pub fn mark(error: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(Usage(error))
}

/// `.usage()` marks an error from parsing a command-line value as a usage error.
pub trait UsageExt<T> {
    fn usage(self) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> UsageExt<T> for Result<T, E> {
    fn usage(self) -> anyhow::Result<T> {
        self.map_err(|e| mark(e.into()))
    }
}

/// What kind of failure an error is; decides the exit code and the `kind` of the `--json` error document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input, a missing file, a corrupt artifact, an I/O failure: exit 1.
    Error,
    /// A flag's value or a combination of flags that cannot be used: exit 2, as clap's own.
    Usage,
}

impl ErrorKind {
    pub fn of(error: &anyhow::Error) -> ErrorKind {
        let is_usage = error.chain().any(|cause| {
            cause.is::<Usage>()
                || matches!(cause.downcast_ref::<mlctl::error::Error>(), Some(mlctl::error::Error::Usage(_)))
        });
        if is_usage {
            ErrorKind::Usage
        } else {
            ErrorKind::Error
        }
    }

    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Error => 1,
            ErrorKind::Usage => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Error => "error",
            ErrorKind::Usage => "usage",
        }
    }
}

/// A model reference from the command line (`NAME`, `NAME@X.Y.Z`, `NAME@stage`); a malformed one is a usage error.
pub fn model_ref(text: &str) -> anyhow::Result<ModelRef> {
    ModelRef::parse(text).usage()
}

/// The model named by a command that works on a whole model (`prune`, `list`, `monitor`, `outcomes`,
/// `promote --rollback`). Any model reference is accepted, so `NAME@1.0.0` is not called an invalid name; one
/// that picks a version is refused with what the command does instead (`why`), as a usage error.
pub fn whole_model(command: &str, text: &str, why: &str) -> anyhow::Result<ModelName> {
    let reference = model_ref(text)?;
    match reference.selector {
        Selector::Latest => Ok(reference.name),
        Selector::Version(_) | Selector::Stage(_) => {
            Err(usage(format!("{command} {text}: {why}; give the model's name alone: {command} {}", reference.name)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_is_found_anywhere_in_the_chain() {
        let plain = anyhow::Error::new(mlctl::error::Error::Config("x".into()));
        assert_eq!(ErrorKind::of(&plain), ErrorKind::Error);
        let library = anyhow::Error::new(mlctl::error::Error::Usage("--keep 0".into())).context("pruning");
        assert_eq!(ErrorKind::of(&library), ErrorKind::Usage);
        let marked: anyhow::Result<()> = Err(mlctl::error::Error::Config("unknown algorithm".into())).usage();
        let marked = marked.unwrap_err();
        assert_eq!(marked.to_string(), "unknown algorithm", "the marker does not change the message");
        assert_eq!(ErrorKind::of(&marked.context("--algorithm")), ErrorKind::Usage);
    }

    #[test]
    fn a_whole_model_command_names_the_model() {
        assert_eq!(whole_model("mlctl prune", "m", "").unwrap().as_str(), "m");
        assert_eq!(whole_model("mlctl prune", "m@latest", "").unwrap().as_str(), "m");
        let err = whole_model("mlctl prune", "m@1.0.0", "prune works on every version of a model").unwrap_err();
        assert_eq!(ErrorKind::of(&err), ErrorKind::Usage);
        assert!(err.to_string().contains("give the model's name alone: mlctl prune m"), "{err}");
        assert_eq!(ErrorKind::of(&whole_model("mlctl list", "../m", "").unwrap_err()), ErrorKind::Usage);
    }
}
