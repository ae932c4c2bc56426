//! The built-in sample: HR task-assignment data, the problem the pipeline was designed around. Each row is an
//! employee–task pairing; `success` says whether the assignment worked out. The label is drawn from a
//! non-linear function of the features plus noise (about 65/35), and about 3% of the values in three columns are
//! blanked, so imputation has work to do. Deterministic: the same rows, seed and shift give the same bytes.
//!
//! A [`Shift`] moves the generator away from that population, so drift detection and performance estimation can
//! be tested on data whose truth is known: a covariate shift moves feature distributions (the outcome still
//! depends on the features as before), a concept shift changes how the outcome depends on them (the features
//! stay as they were). Neither draws extra random numbers, and no shift gives the same bytes as before.

use crate::data::schema::ColumnType;
use crate::error::{Error, Result};
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

/// The feature columns: all but the outcome.
pub const FEATURES: usize = 11;

/// Standard deviation of each numeric feature in the unshifted generator (measured on data/skill_assignment.csv,
/// rounded): the unit of a covariate shift. Categorical columns (0 here) are tilted instead.
const COLUMN_SD: [f64; FEATURES] = [5.3, 0.196, 0.784, 2.47, 0.0, 0.0, 1.42, 8.67, 0.248, 0.212, 0.238];

/// How far a generated sample is moved from the default population.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Shift {
    /// Covariate shift per feature column (in [`COLUMNS`] order), in standard deviations: a numeric column's
    /// value moves by that many of its standard deviations where it is drawn (so columns derived from it, and
    /// the outcome, follow as they would in the population), then is clamped to its range; a categorical
    /// column's shares tilt: `task_priority` towards critical, `emp_availability` towards busy (for X > 0).
    pub by: [f64; FEATURES],
    /// Concept shift in [0, 1]: how far the effects of skill match and performance on the outcome are turned
    /// round (0.5 removes them, 1 reverses them). The features are drawn exactly as without it.
    pub concept: f64,
}

impl Shift {
    /// `specs`: `X` (every feature) or `COLUMN=X` (one; a later one wins), X in standard deviations; `concept`
    /// in [0, 1].
    pub fn parse(specs: &[String], concept: f64) -> Result<Shift> {
        let mut shift = Shift::default();
        for spec in specs {
            let (column, value) = match spec.split_once('=') {
                Some((c, v)) => (Some(c.trim()), v),
                None => (None, spec.as_str()),
            };
            let x = value.trim().parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| {
                Error::Config(format!(
                    "--shift {spec}: expected a number of standard deviations (X) or COLUMN=X, e.g. 0.5 or \
                     skill_match_score=0.5"
                ))
            })?;
            match column {
                None => shift.by = [x; FEATURES],
                Some(name) => {
                    let features = &COLUMNS[..FEATURES];
                    let k = features.iter().position(|c| *c == name).ok_or_else(|| {
                        Error::Config(format!(
                            "--shift {spec}: \"{name}\" is not a feature of the sample{}; features: {}",
                            crate::suggest::hint(name, features.iter().copied()),
                            features.join(", ")
                        ))
                    })?;
                    shift.by[k] = x;
                }
            }
        }
        if !(0.0..=1.0).contains(&concept) {
            return Err(Error::Config(format!("--concept-shift {concept}: expected a number from 0 to 1")));
        }
        shift.concept = concept;
        Ok(shift)
    }

    pub fn is_none(&self) -> bool {
        *self == Shift::default()
    }

    /// The shift as the dataset card records it, e.g. ` shift=skill_match_score:0.5 concept_shift=0.3` (empty
    /// for no shift, so unshifted cards stay as they were).
    pub fn describe(&self) -> String {
        let moved: Vec<String> =
            COLUMNS.iter().zip(self.by).filter(|(_, x)| *x != 0.0).map(|(c, x)| format!("{c}:{x}")).collect();
        let mut out = String::new();
        if !moved.is_empty() {
            out.push_str(&format!(" shift={}", moved.join(",")));
        }
        if self.concept != 0.0 {
            out.push_str(&format!(" concept_shift={}", self.concept));
        }
        out
    }

    /// `x` of feature `column` moved by its shift; exactly `x` when there is none (no rounding change).
    fn moved(&self, column: usize, x: f64) -> f64 {
        let by = self.by[column];
        if by == 0.0 {
            x
        } else {
            x + by * COLUMN_SD[column]
        }
    }
}

/// One generated row, already formatted as CSV fields (empty = missing).
pub type Row = [String; 12];

pub fn skill_assignment(rows: usize, seed: u64) -> impl Iterator<Item = Row> {
    skill_assignment_shifted(rows, seed, Shift::default())
}

/// The sample moved by `shift` (the same draws: a seed gives the same employees and tasks, moved).
pub fn skill_assignment_shifted(rows: usize, seed: u64, shift: Shift) -> impl Iterator<Item = Row> {
    let mut rng = Rng::new(seed);
    (0..rows).map(move |_| one_row(&mut rng, &shift))
}

fn clamp01(x: f64) -> f64 {
    x.clamp(0.0, 1.0)
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

struct Employee {
    experience: f64,
    workload: f64,
    performance: f64,
    active_tasks: f64,
    availability: &'static str,
}

struct Task {
    priority: &'static str,
    complexity: f64,
    hours: f64,
    urgency: f64,
}

fn employee(rng: &mut Rng, shift: &Shift) -> Employee {
    let experience = shift.moved(0, -6.0 * (1.0 - rng.next_f64()).ln()).clamp(0.0, 20.0);
    let workload = clamp01(shift.moved(1, 0.6 + 0.2 * rng.normal()));
    let performance = shift.moved(2, 3.4 + 0.8 * rng.normal() + 0.04 * experience).clamp(0.0, 5.0);
    let active_tasks = shift.moved(3, workload * 10.0 + 1.5 * rng.normal()).round().max(0.0);
    // A positive tilt lowers the bar for "busy" (0.15 of workload per standard deviation).
    let busy_above = if shift.by[4] == 0.0 { 0.8 } else { 0.8 - 0.15 * shift.by[4] };
    let availability = if workload + 0.15 * rng.normal() > busy_above {
        "busy"
    } else if rng.chance(0.3) {
        "limited"
    } else {
        "available"
    };
    Employee { experience, workload, performance, active_tasks, availability }
}

fn task(rng: &mut Rng, shift: &Shift) -> Task {
    // A positive tilt raises the uniform draw to a power below 1: shares move from low towards critical.
    let draw = rng.next_f64();
    let draw = if shift.by[5] == 0.0 { draw } else { draw.powf((-shift.by[5]).exp()) };
    let priority = match draw {
        p if p < 0.3 => "low",
        p if p < 0.7 => "medium",
        p if p < 0.9 => "high",
        _ => "critical",
    };
    let complexity = shift.moved(6, (1 + rng.below(5)) as f64).round().clamp(1.0, 5.0);
    let hours = complexity * 4.0 * (0.4 * rng.normal()).exp();
    // Moved down, hours stop at half an hour (unmoved, they never get near it).
    let hours = if shift.by[7] == 0.0 { hours } else { shift.moved(7, hours).max(0.5) };
    let priority_urgency = match priority {
        "low" => 0.2,
        "medium" => 0.45,
        "high" => 0.7,
        _ => 0.9,
    };
    let urgency = clamp01(shift.moved(8, priority_urgency + 0.12 * rng.normal()));
    Task { priority, complexity, hours, urgency }
}

fn one_row(rng: &mut Rng, shift: &Shift) -> Row {
    let e = employee(rng, shift);
    let t = task(rng, shift);
    // Fit between the two.
    let skill_match = clamp01(shift.moved(9, 0.55 + 0.22 * rng.normal()));
    let compatibility = clamp01(shift.moved(10, 1.0 - e.workload + 0.15 * rng.normal() + 0.1));

    // Success: skill and capacity matter most; complexity hurts most when skills do not fit; seniority helps with
    // diminishing returns; urgent work on a busy person fails.
    let c = t.complexity;
    let mut z = 0.25 + 4.0 * (skill_match - 0.55) + 0.45 * (e.performance - 3.5) + 1.2 * (e.experience / 20.0).sqrt()
        - 3.0 * (e.workload - 0.75).max(0.0)
        + 1.5 * (compatibility - 0.5)
        - 0.35 * (c - 3.0) * (1.2 - skill_match)
        + match e.availability {
            "available" => 0.4,
            "limited" => 0.0,
            _ => -0.5,
        }
        - if e.availability == "busy" { 1.2 * t.urgency } else { 0.0 }
        - 0.02 * (t.hours - 12.0).max(0.0)
        + 0.6 * rng.normal();
    if shift.concept != 0.0 {
        // Turn the skill and performance effects round: the same people and tasks, another outcome.
        z -= 2.0 * shift.concept * (4.0 * (skill_match - 0.55) + 0.45 * (e.performance - 3.5));
    }
    let success = rng.chance(sigmoid(1.4 * z));

    let mut gap = |text: String| if rng.chance(MISSING_RATE) { String::new() } else { text };
    [
        format!("{:.1}", e.experience),
        format!("{:.3}", e.workload),
        gap(format!("{:.1}", e.performance)),
        format!("{:.0}", e.active_tasks),
        gap(e.availability.to_owned()),
        t.priority.to_owned(),
        format!("{:.0}", t.complexity),
        gap(format!("{:.1}", t.hours)),
        format!("{:.3}", t.urgency),
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

    #[test]
    fn shift_parses_every_feature_then_one_and_describes_itself() {
        let specs = ["0.5".to_owned(), "task_priority=-1".to_owned()];
        let shift = Shift::parse(&specs, 0.25).unwrap();
        assert_eq!(shift.by[5], -1.0);
        assert!(shift.by.iter().enumerate().all(|(k, &x)| k == 5 || x == 0.5));
        assert!(shift.describe().starts_with(" shift=emp_experience_years:0.5,"));
        assert!(shift.describe().contains(",task_priority:-1,task_complexity_score:0.5,"));
        assert!(shift.describe().ends_with(",workload_compatibility:0.5 concept_shift=0.25"));
        assert!(Shift::parse(&[], 0.0).unwrap().is_none());
        assert_eq!(Shift::parse(&[], 0.0).unwrap().describe(), "");
        assert!(Shift::parse(&["inf".to_owned()], 0.0).is_err());
        assert!(Shift::parse(&[], -0.1).is_err());
    }
}
