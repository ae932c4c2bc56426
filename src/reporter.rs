//! How a long-running workflow tells the user what it is doing, without knowing whether a terminal, a cron log
//! or nothing at all is listening. The command layer implements it (spinners on a terminal, timestamped lines
//! otherwise); tests use [`Silent`].

pub trait Reporter: Sync {
    /// A named phase starts ("fitting random forest: 100 trees").
    fn phase(&self, message: &str);
    /// Something the user should know that does not stop the run.
    fn warn(&self, message: &str);
    /// A running count within the current phase ("exporting: 120,000 rows"). Called every few thousand items,
    /// so an implementation may draw it; the default ignores it (a log file wants the phase and the result, not
    /// a line per batch).
    fn count(&self, _label: &str, _done: u64) {}
}

pub struct Silent;

impl Reporter for Silent {
    fn phase(&self, _: &str) {}
    fn warn(&self, _: &str) {}
}
