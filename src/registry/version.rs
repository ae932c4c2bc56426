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
    pub fn between(previous: &Spec, next: &Spec) -> Bump {
        if previous.task != next.task || previous.target != next.target || previous.features != next.features {
            Bump::Major
        } else if previous.algorithm != next.algorithm || previous.params != next.params {
            Bump::Minor
        } else {
            Bump::Patch
        }
    }

    pub fn apply(self, latest: Option<&Version>) -> Version {
        match (self, latest) {
            (_, None) | (Bump::First, _) => Version::new(1, 0, 0),
            (Bump::Major, Some(v)) => Version::new(v.major + 1, 0, 0),
            (Bump::Minor, Some(v)) => Version::new(v.major, v.minor + 1, 0),
            (Bump::Patch, Some(v)) => Version::new(v.major, v.minor, v.patch + 1),
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
        assert_eq!(Bump::Patch.apply(Some(&v)), Version::new(1, 2, 4));
        assert_eq!(Bump::Minor.apply(Some(&v)), Version::new(1, 3, 0));
        assert_eq!(Bump::Major.apply(Some(&v)), Version::new(2, 0, 0));
        assert_eq!(Bump::Patch.apply(None), Version::new(1, 0, 0));
    }
}
