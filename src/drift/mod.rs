//! Data drift: the reference profile stored at training time (`profile`), one file per statistical test (each
//! checked against scipy in tests/fixtures/drift), the comparison that picks a test per feature and decides
//! (`compare`), and the markdown report with SVG histograms (`report`, `svg`).

pub mod chi_square;
pub mod compare;
pub mod jensen_shannon;
pub mod ks;
pub mod profile;
pub mod psi;
pub mod report;
pub mod svg;
pub mod wasserstein;

pub use compare::{compare, CurrentData, DriftReport, FailOn, FeatureDrift, Layer, Override, StatTest};
