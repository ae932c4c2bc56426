//! The `model.bin` container: our own format, plain data only, so loading a model never executes code (unlike a
//! pickle). Layout, all integers little-endian:
//!
//! ```text
//! magic          8 bytes  "MLCTLBIN"
//! format         u16      FORMAT_VERSION; a newer one is refused with a clear message
//! reserved       u16      0
//! payload_len    u64      bytes that follow the checksum
//! sha256        32 bytes  SHA-256 of the payload, checked on every load
//! payload                 postcard encoding of the serde value
//! ```
//! Format 2 differs from 1 only in how a tree's arrays are encoded ([`crate::wire`]); format 3 adds a forest's
//! split ranks; format 4 adds the pipeline's reading rules and infrequent slots. All four are read.
//! Decoding is bounded: the file must be exactly header + payload_len long (and at most MAX_ARTIFACT_BYTES), and
//! postcard preallocates at most what the remaining input could hold, so a hostile length prefix cannot make us
//! allocate without bound.

use std::path::Path;

use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};

pub const MAGIC: &[u8; 8] = b"MLCTLBIN";
pub const FORMAT_VERSION: u16 = crate::wire::CURRENT_FORMAT;
const HEADER_LEN: usize = 8 + 2 + 2 + 8 + 32;
/// No model we write comes near this; anything larger is refused before it is read.
pub const MAX_ARTIFACT_BYTES: u64 = 4 << 30;

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let payload = postcard::to_stdvec(value).map_err(|e| Error::Model(format!("cannot serialize the model: {e}")))?;
    Ok(wrap(&payload))
}

/// The file bytes for an encoded payload: header (magic, format version, length, SHA-256) + payload.
pub fn wrap(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(payload));
    out.extend_from_slice(payload);
    out
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8], path: &Path) -> Result<T> {
    let (format, payload) = payload(bytes, path)?;
    if Sha256::digest(payload).as_slice() != &bytes[20..52] {
        return Err(corrupt(path, "SHA-256 checksum mismatch (the file was modified or damaged)"));
    }
    decode_payload(format, payload, path)
}

/// [`decode`] without the payload checksum, for a file whose SHA-256 as a whole is checked against the
/// registry's record of it: a match means these are the bytes `encode` wrote, checksum included, so hashing
/// the payload again (tens of milliseconds for a large forest) would only repeat that check. The caller must
/// not use the value unless its check passes.
pub fn decode_registered<T: DeserializeOwned>(bytes: &[u8], path: &Path) -> Result<T> {
    let (format, payload) = payload(bytes, path)?;
    decode_payload(format, payload, path)
}

fn corrupt(path: &Path, what: &str) -> Error {
    Error::artifact(path, format!("the model file is corrupt: {what}"))
}

/// The format and payload of a file with a valid header and length.
fn payload<'a>(bytes: &'a [u8], path: &Path) -> Result<(u16, &'a [u8])> {
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return Err(Error::artifact(path, "not an mlctl model file (bad magic bytes)"));
    }
    let format = u16::from_le_bytes([bytes[8], bytes[9]]);
    if format == 0 {
        return Err(corrupt(path, "artifact format 0 does not exist"));
    }
    if format > FORMAT_VERSION {
        return Err(Error::artifact(
            path,
            format!(
                "written by a newer mlctl (artifact format {format}); this mlctl {} reads format {FORMAT_VERSION} and \
                 older: upgrade mlctl",
                env!("CARGO_PKG_VERSION")
            ),
        ));
    }
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(&bytes[12..20]);
    let payload_len = u64::from_le_bytes(len_bytes);
    let payload = &bytes[HEADER_LEN..];
    if payload.len() as u64 != payload_len {
        return Err(corrupt(
            path,
            &format!("expected {payload_len} payload bytes, found {} (truncated?)", payload.len()),
        ));
    }
    Ok((format, payload))
}

fn decode_payload<T: DeserializeOwned>(format: u16, payload: &[u8], path: &Path) -> Result<T> {
    crate::wire::decoding(format, || postcard::from_bytes(payload))
        .map_err(|e| corrupt(path, &format!("cannot decode the payload: {e}")))
}

/// Reads and decodes `path`, refusing oversized files before reading them.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let len = std::fs::metadata(path).at(path)?.len();
    if len > MAX_ARTIFACT_BYTES {
        return Err(Error::artifact(path, format!("{len} bytes is larger than any mlctl model; refusing to load it")));
    }
    let bytes = std::fs::read(path).at(path)?;
    decode(&bytes, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Payload {
        name: String,
        values: Vec<f64>,
    }

    /// The same forest as written by mlctl 0.1 in artifact format 1 (tree arrays as postcard sequences) and in
    /// format 2 (arrays as byte strings, no split ranks). Models in registries must keep loading after the
    /// format changes, and load to the same values, compiled forest included (format 3 stores what formats 1
    /// and 2 recompute).
    #[test]
    fn format_1_and_2_forests_load_to_the_same_model_as_their_current_rewrite() {
        let fixture = |name: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/artifact").join(name);
        let mut decoded = Vec::new();
        for (format, name) in [(1u16, "format1_forest.bin"), (2, "format2_forest.bin")] {
            let path = fixture(name);
            let old_bytes = std::fs::read(&path).unwrap();
            assert_eq!(u16::from_le_bytes([old_bytes[8], old_bytes[9]]), format, "the fixture must stay as written");
            let old: crate::models::Bundle = decode(&old_bytes, &path).unwrap();
            use crate::models::TrainedModel::{RandomForestClassifier, RandomForestRegressor};
            assert!(
                matches!(old.model, RandomForestClassifier(_) | RandomForestRegressor(_)),
                "the fixture holds a forest"
            );
            let new_bytes = encode(&old).unwrap();
            assert_eq!(u16::from_le_bytes([new_bytes[8], new_bytes[9]]), FORMAT_VERSION);
            assert!(new_bytes.len() > old_bytes.len(), "format 3 adds the split ranks");
            let new: crate::models::Bundle = decode(&new_bytes, &path).unwrap();
            assert_eq!(new, old);
            decoded.push(old);
        }
        assert_eq!(decoded[0], decoded[1], "the fixtures hold the same forest");
    }

    fn sample() -> Vec<u8> {
        encode(&Payload { name: "x".into(), values: vec![1.0, 2.5] }).unwrap()
    }

    #[test]
    fn round_trips() {
        let back: Payload = decode(&sample(), Path::new("m.bin")).unwrap();
        assert_eq!(back, Payload { name: "x".into(), values: vec![1.0, 2.5] });
    }

    #[test]
    fn refuses_truncated_flipped_zeroed_foreign_and_future_files() {
        let good = sample();
        let p = Path::new("m.bin");
        let msg = |bytes: &[u8]| decode::<Payload>(bytes, p).unwrap_err().to_string();

        assert!(msg(&good[..good.len() - 1]).contains("truncated"));
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(msg(&flipped).contains("checksum"));
        assert!(msg(&vec![0; good.len()]).contains("not an mlctl model"));
        assert!(msg(b"hello").contains("not an mlctl model"));
        let mut future = good.clone();
        future[8] = 99;
        assert!(msg(&future).contains("newer mlctl"));
    }

    #[test]
    fn a_registered_file_skips_only_the_payload_checksum() {
        let mut flipped = sample();
        let p = Path::new("m.bin");
        // A flipped checksum byte: the payload still decodes, and only `decode` sees the mismatch.
        flipped[20] ^= 1;
        assert!(decode::<Payload>(&flipped, p).unwrap_err().to_string().contains("checksum"));
        let back: Payload = decode_registered(&flipped, p).unwrap();
        assert_eq!(back.values, vec![1.0, 2.5]);
        let good = sample();
        let msg = |bytes: &[u8]| decode_registered::<Payload>(bytes, p).unwrap_err().to_string();
        assert!(msg(&good[..good.len() - 1]).contains("truncated"));
        assert!(msg(b"hello").contains("not an mlctl model"));
    }

    #[test]
    fn a_huge_length_prefix_does_not_allocate() {
        // A valid header around a payload that claims a vector of 2^60 elements.
        let mut payload = vec![1u8, b'x'];
        payload.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&0u16.to_le_bytes());
        bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&Sha256::digest(&payload));
        bytes.extend_from_slice(&payload);
        assert!(decode::<Payload>(&bytes, Path::new("m.bin")).is_err());
    }
}
