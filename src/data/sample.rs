//! The built-in sample: HR task-assignment data, the problem the pipeline was designed around. Each row is an
//! employee–task pairing; `success` says whether the assignment worked out. The label is drawn from a
//! non-linear function of the features plus noise (about 65/35), and about 3% of the values in three columns are
//! blanked, so imputation has work to do. Deterministic: the same rows and seed give the same bytes.

use crate::data::schema::ColumnType;
use crate::rng::Rng;

pub const SAMPLE_NAMES: &[&str] = &["skill-assignment"];

pub const COLUMNS: [&str; 12] = [
    "emp_experience_years",
    "emp_workload_ratio",
    "emp_performance_rating",
    "emp_active_tasks",
    "emp_availability",
    "task_priority",
    "task_complexity_score",
    "task_estimated_hours",
    "task_urgency_score",
    "skill_match_score",
    "workload_compatibility",
    "success",
];

/// How mlctl types each column when it reads the file: the export's dataset card states these without reading
/// the file back (the export test compares the card with the shipped one).
pub const COLUMN_TYPES: [ColumnType; 12] = {
    use ColumnType::{Categorical as C, Numeric as N};
    [N, N, N, N, C, C, N, N, N, N, N, N]
};

/// Share of values blanked in the columns that have gaps in real HR exports.
const MISSING_RATE: f64 = 0.03;

/// One generated row, already formatted as CSV fields (empty = missing).
pub type Row = [String; 12];

pub fn skill_assignment(rows: usize, seed: u64) -> impl Iterator<Item = Row> {
    let mut rng = Rng::new(seed);
    (0..rows).map(move |_| one_row(&mut rng))
}

fn clamp01(x: f64) -> f64 {
    x.clamp(0.0, 1.0)
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn one_row(rng: &mut Rng) -> Row {
    // Employee.
    let experience = (-6.0 * (1.0 - rng.next_f64()).ln()).min(20.0);
    let workload = clamp01(0.6 + 0.2 * rng.normal());
    let performance = (3.4 + 0.8 * rng.normal() + 0.04 * experience).clamp(0.0, 5.0);
    let active_tasks = (workload * 10.0 + 1.5 * rng.normal()).round().max(0.0);
    let availability = if workload + 0.15 * rng.normal() > 0.8 {
        "busy"
    } else if rng.chance(0.3) {
        "limited"
    } else {
        "available"
    };

    // Task.
    let priority = match rng.next_f64() {
        p if p < 0.3 => "low",
        p if p < 0.7 => "medium",
        p if p < 0.9 => "high",
        _ => "critical",
    };
    let complexity = 1 + rng.below(5);
    let hours = complexity as f64 * 4.0 * (0.4 * rng.normal()).exp();
    let priority_urgency = match priority {
        "low" => 0.2,
        "medium" => 0.45,
        "high" => 0.7,
        _ => 0.9,
    };
    let urgency = clamp01(priority_urgency + 0.12 * rng.normal());

    // Fit between the two.
    let skill_match = clamp01(0.55 + 0.22 * rng.normal());
    let compatibility = clamp01(1.0 - workload + 0.15 * rng.normal() + 0.1);

    // Success: skill and capacity matter most; complexity hurts most when skills do not fit; seniority helps with
    // diminishing returns; urgent work on a busy person fails.
    let c = complexity as f64;
    let z = 0.25 + 4.0 * (skill_match - 0.55) + 0.45 * (performance - 3.5) + 1.2 * (experience / 20.0).sqrt()
        - 3.0 * (workload - 0.75).max(0.0)
        + 1.5 * (compatibility - 0.5)
        - 0.35 * (c - 3.0) * (1.2 - skill_match)
        + match availability {
            "available" => 0.4,
            "limited" => 0.0,
            _ => -0.5,
        }
        - if availability == "busy" { 1.2 * urgency } else { 0.0 }
        - 0.02 * (hours - 12.0).max(0.0)
        + 0.6 * rng.normal();
    let success = rng.chance(sigmoid(1.4 * z));

    let mut gap = |text: String| if rng.chance(MISSING_RATE) { String::new() } else { text };
    [
        format!("{experience:.1}"),
        format!("{workload:.3}"),
        gap(format!("{performance:.1}")),
        format!("{active_tasks:.0}"),
        gap(availability.to_owned()),
        priority.to_owned(),
        complexity.to_string(),
        gap(format!("{hours:.1}")),
        format!("{urgency:.3}"),
        format!("{skill_match:.3}"),
        format!("{compatibility:.3}"),
        u8::from(success).to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_balanced() {
        let a: Vec<Row> = skill_assignment(2000, 42).collect();
        let b: Vec<Row> = skill_assignment(2000, 42).collect();
        assert_eq!(a, b);
        let positives = a.iter().filter(|r| r[11] == "1").count() as f64 / a.len() as f64;
        assert!((0.58..0.72).contains(&positives), "success share {positives}");
        let missing = a.iter().filter(|r| r[2].is_empty()).count() as f64 / a.len() as f64;
        assert!((0.015..0.045).contains(&missing), "missing share {missing}");
        assert!(a.iter().all(|r| !r[0].is_empty() && !r[11].is_empty()));
    }
}
