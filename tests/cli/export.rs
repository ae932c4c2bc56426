use predicates::str::contains;

use crate::common::TestProject;

#[test]
fn sample_export_is_deterministic_and_has_a_card() {
    let p = TestProject::new();
    p.sample("a", 500, 7);
    p.sample("b", 500, 7);
    let a = std::fs::read(p.path("data/a.csv")).unwrap();
    assert_eq!(a, std::fs::read(p.path("data/b.csv")).unwrap());
    let text = String::from_utf8(a).unwrap();
    assert!(text.starts_with("emp_experience_years,emp_workload_ratio,"), "{text:.80}");
    assert_eq!(text.lines().count(), 501);

    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.path("data/a.csv.card.json")).unwrap()).unwrap();
    assert_eq!(card["rows"], 500);
    assert_eq!(card["columns"].as_array().unwrap().len(), 12);
    assert_eq!(card["exported_at"], "2026-01-02T03:04:05Z");
    let sha = card["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);

    p.sample("c", 500, 8);
    assert_ne!(std::fs::read(p.path("data/a.csv")).unwrap(), std::fs::read(p.path("data/c.csv")).unwrap());
}

#[test]
fn the_shipped_sample_is_what_the_generator_makes() {
    let p = TestProject::new();
    p.sample("skill_assignment", 10_000, 42);
    let shipped = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/data/skill_assignment.csv")).unwrap();
    assert!(
        std::fs::read(p.path("data/skill_assignment.csv")).unwrap() == shipped,
        "data/skill_assignment.csv is stale: run make reference-model"
    );
}

#[test]
fn unknown_sample_is_a_usage_error_with_a_suggestion() {
    let p = TestProject::new();
    p.mlctl()
        .args(["export", "--sample", "skill-asignment", "-o", "x.csv"])
        .assert()
        .code(1)
        .stderr(contains("unknown sample \"skill-asignment\" (did you mean \"skill-assignment\"?)"));
    assert!(!p.path("x.csv").exists());
}

#[test]
fn json_output_is_one_document() {
    let p = TestProject::new();
    let out = p
        .mlctl()
        .args(["--json", "export", "--sample", "skill-assignment", "--rows", "50", "-o", "d.csv"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(v["rows"], 50);
}
