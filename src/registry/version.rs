//! Semantic versions chosen from what changed (CLI.md): a change of feature schema, target or task bumps the
//! major version; of algorithm or hyperparameters the minor; the same spec retrained (new data) the patch.

use semver::Version;
use serde::{Deserialize, Serialize};

/// What a version is compared on: everything that decides the bump.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub task: String,
    pub target: Option<String>,
    /// Feature names with their type ("numeric" / "categorical"), in order.
    pub features: Vec<(String, String)>,
    pub algorithm: String,
    pub params: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    First,
    Major,
    Minor,
    Patch,
}

impl Bump {
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::First => "first",
            Bump::Major => "major",
            Bump::Minor => "minor",
            Bump::Patch => "patch",
        }
    }

    pub fn between(previous: &Spec, next: &Spec) -> Bump {
        if previous.task != next.task || previous.target != next.target || previous.features != next.features {
            Bump::Major
        } else if previous.algorithm != next.algorithm || previous.params != next.params {
            Bump::Minor
        } else {
            Bump::Patch
        }
    }

    /// The version after `latest`, or None when the bumped number would overflow (an explicit `--version`
    /// can set any number up to u64::MAX; wrapping would hand out an existing version again).
    pub fn apply(self, latest: Option<&Version>) -> Option<Version> {
        match (self, latest) {
            (_, None) | (Bump::First, _) => Some(Version::new(1, 0, 0)),
            (Bump::Major, Some(v)) => Some(Version::new(v.major.checked_add(1)?, 0, 0)),
            (Bump::Minor, Some(v)) => Some(Version::new(v.major, v.minor.checked_add(1)?, 0)),
            (Bump::Patch, Some(v)) => Some(Version::new(v.major, v.minor, v.patch.checked_add(1)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec {
            task: "classification".into(),
            target: Some("y".into()),
            features: vec![("a".into(), "numeric".into())],
            algorithm: "random-forest".into(),
            params: serde_json::json!({"n_trees": 100}),
        }
    }

    #[test]
    fn bumps_follow_what_changed() {
        let base = spec();
        assert_eq!(Bump::between(&base, &base), Bump::Patch);
        let mut params = spec();
        params.params = serde_json::json!({"n_trees": 200});
        assert_eq!(Bump::between(&base, &params), Bump::Minor);
        let mut algo = spec();
        algo.algorithm = "gradient-boosting".into();
        assert_eq!(Bump::between(&base, &algo), Bump::Minor);
        let mut schema = spec();
        schema.features.push(("b".into(), "categorical".into()));
        assert_eq!(Bump::between(&base, &schema), Bump::Major);
        let mut target = spec();
        target.target = Some("z".into());
        assert_eq!(Bump::between(&base, &target), Bump::Major);
    }

    #[test]
    fn bumps_apply_to_the_latest_version() {
        let v = Version::new(1, 2, 3);
        assert_eq!(Bump::Patch.apply(Some(&v)), Some(Version::new(1, 2, 4)));
        assert_eq!(Bump::Minor.apply(Some(&v)), Some(Version::new(1, 3, 0)));
        assert_eq!(Bump::Major.apply(Some(&v)), Some(Version::new(2, 0, 0)));
        assert_eq!(Bump::Patch.apply(None), Some(Version::new(1, 0, 0)));
    }

    #[test]
    fn a_bump_past_the_largest_number_is_refused_not_wrapped() {
        let max = u64::MAX;
        assert_eq!(Bump::Patch.apply(Some(&Version::new(1, 0, max))), None);
        assert_eq!(Bump::Minor.apply(Some(&Version::new(1, max, 0))), None);
        assert_eq!(Bump::Major.apply(Some(&Version::new(max, 0, 0))), None);
    }
}
