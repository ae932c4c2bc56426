//! sklearn's classification report as the exact text `sklearn.metrics.classification_report` prints, so a user
//! comparing mlctl with a notebook sees the same table. The values themselves ([`ClassificationReport`]) are
//! computed with the other classification metrics.

use std::fmt::Write;

use super::class_name;
use super::classification::{ClassificationReport, Scores};

/// sklearn sizes the label column to fit this, its longest row heading, at least.
const LONGEST_HEADING: &str = "weighted avg";
const COLUMN_HEADINGS: [&str; 4] = ["precision", "recall", "f1-score", "support"];

impl ClassificationReport {
    /// The report as `classification_report(y_true, y_pred, target_names=class_names, digits=digits)` prints it,
    /// character for character (sklearn's default is `digits=2`). A class without an entry in `class_names` is
    /// shown by its index, as sklearn shows classes when it has no names.
    pub fn render(&self, class_names: &[String], digits: usize) -> String {
        let names: Vec<_> = (0..self.per_class.len()).map(|class| class_name(class_names, class)).collect();
        let width = names
            .iter()
            .map(|name| name.chars().count())
            .chain([LONGEST_HEADING.len(), digits])
            .max()
            .unwrap_or_default();
        let table = Table { width, digits };

        let mut out = table.row("", COLUMN_HEADINGS.map(String::from));
        out.push('\n');
        for (name, scores) in names.iter().zip(&self.per_class) {
            out += &table.scores_row(name, scores);
        }
        out.push('\n');
        // sklearn leaves the precision and recall cells of the accuracy row blank.
        let accuracy = table.number(self.accuracy);
        let samples = self.macro_avg.support.to_string();
        out += &table.row("accuracy", [String::new(), String::new(), accuracy, samples]);
        out += &table.scores_row("macro avg", &self.macro_avg);
        out += &table.scores_row(LONGEST_HEADING, &self.weighted_avg);
        out
    }
}

/// sklearn's layout: a right-aligned heading column `width` wide, then four right-aligned 9-wide cells, all
/// separated by two spaces.
struct Table {
    width: usize,
    digits: usize,
}

impl Table {
    fn row(&self, heading: &str, cells: [String; 4]) -> String {
        let mut line = format!("{heading:>width$} ", width = self.width);
        for cell in cells {
            // Writing to a String cannot fail.
            let _ = write!(line, " {cell:>9}");
        }
        line.push('\n');
        line
    }

    fn scores_row(&self, heading: &str, scores: &Scores) -> String {
        let [precision, recall, f1] = [scores.precision, scores.recall, scores.f1].map(|value| self.number(value));
        self.row(heading, [precision, recall, f1, scores.support.to_string()])
    }

    /// Python's `{:.{digits}f}`: both round the exact binary value half to even, so the digits agree.
    fn number(&self, value: f64) -> String {
        format!("{value:.digits$}", digits = self.digits)
    }
}

#[cfg(test)]
mod tests {
    use crate::metrics::classification::classification_report;
    use crate::metrics::test_support::{assert_all_close, assert_close, classification_cases};
    use crate::metrics::MetricsError;

    #[test]
    fn rendered_text_matches_sklearn() {
        for case in classification_cases() {
            let report = classification_report(&case.y_true, &case.y_pred, case.n_classes).unwrap();
            for digits in [2, 4] {
                assert_eq!(
                    report.render(&case.class_names, digits),
                    with_integer_support(case.expected.report(digits)),
                    "{} digits={digits}",
                    case.name
                );
            }
        }
    }

    /// When no prediction is correct, sklearn counts in floats (a "pathological case" branch of its
    /// `multilabel_confusion_matrix` starts from `np.zeros`) and prints support as "3.0". The report keeps
    /// support an integer, so the test reads sklearn's text with that one difference undone, alignment kept.
    fn with_integer_support(sklearn: &str) -> String {
        sklearn
            .split_inclusive('\n')
            .map(|line| match line.strip_suffix(".0\n") {
                Some(before) => {
                    let (head, count) = before.rsplit_once(' ').expect("support is the last cell");
                    format!("{head}   {count}\n")
                }
                None => line.to_owned(),
            })
            .collect()
    }

    #[test]
    fn values_match_sklearn() {
        for case in classification_cases() {
            let report = classification_report(&case.y_true, &case.y_pred, case.n_classes).unwrap();
            let f1: Vec<f64> = report.per_class.iter().map(|s| s.f1).collect();
            assert_all_close(&f1, &case.expected.per_class("f1"), &case.name);
            assert_close(report.accuracy, case.expected.named("accuracy").unwrap(), &case.name);
            assert_close(report.macro_avg.recall, case.expected.average("macro", "recall"), &case.name);
            assert_close(report.weighted_avg.precision, case.expected.average("weighted", "precision"), &case.name);
            assert_eq!(report.macro_avg.support, case.y_true.len() as u64);
        }
    }

    #[test]
    fn missing_class_names_fall_back_to_indices() {
        let report = classification_report(&[0, 1, 2], &[0, 1, 1], 3).unwrap();
        let named_first_only = report.render(&["first".to_owned()], 2);
        let indexed = ["first", "1", "2"].map(String::from);
        assert_eq!(named_first_only, report.render(&indexed, 2));
    }

    #[test]
    fn invalid_input_is_an_error() {
        assert_eq!(
            classification_report(&[0], &[], 2),
            Err(MetricsError::LengthMismatch { what: "y_pred", expected: 1, found: 0 })
        );
    }
}
