//! The model registry: versioned artifacts in `ml_models/` or a bucket (`s3://`), the registry.json index with its audit trail, the
//! lock and atomic writes that keep it whole, and the MODEL_REGISTRY.md view.

pub mod artifact;
/// Kept for callers not yet moved to [`crate::fs`].
pub use crate::fs as atomic;
pub mod backend;
pub mod cache;
pub mod catalog;
pub mod index;
pub mod layout;
pub mod loaded;
pub mod location;
pub mod lock;
pub mod markdown;
pub mod metadata;
pub mod version;

pub use index::{DatasetRef, Event, ModelRef, Registry, Selector, Stage, Store, VersionRecord};
pub use layout::{Layout, ModelName};
pub use location::Location;
