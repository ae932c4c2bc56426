//! The artifact decoder against hostile input: thousands of deterministic mutations of a real model.bin, each
//! re-wrapped with a valid header and checksum so the payload decoder itself sees the damage. Decoding must
//! return an error or a value — never panic, never allocate without bound (the test would abort).

use mlctl::models::Bundle;
use mlctl::registry::artifact;

use crate::common::TestProject;

const HEADER_LEN: usize = 52;

#[test]
fn mutated_payloads_never_panic() {
    let p = TestProject::new();
    let data = p.sample("d", 300, 5);
    p.mlctl()
        .args(["-q", "train", &data, "--target", "success", "--name", "m", "--set", "n_trees=4"])
        .assert()
        .success();
    let good = std::fs::read(p.path("ml_models/m/1.0.0/model.bin")).unwrap();
    let path = std::path::Path::new("model.bin");
    assert!(artifact::decode::<Bundle>(&good, path).is_ok());
    let payload = &good[HEADER_LEN..];

    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut decoded_anyway = 0;
    for round in 0..3000 {
        let mut bytes = payload.to_vec();
        match round % 4 {
            0 => bytes.truncate((next() as usize) % payload.len()),
            1 => {
                for _ in 0..1 + next() % 4 {
                    let i = (next() as usize) % bytes.len();
                    bytes[i] ^= 1 << (next() % 8);
                }
            }
            2 => {
                // A huge varint where a length probably was.
                let i = (next() as usize) % bytes.len();
                let end = (i + 10).min(bytes.len());
                bytes[i..end].iter_mut().for_each(|b| *b = 0xff);
            }
            _ => {
                let i = (next() as usize) % bytes.len();
                bytes[i] = (next() & 0xff) as u8;
            }
        }
        if let Ok(bundle) = artifact::decode::<Bundle>(&artifact::wrap(&bytes), path) {
            decoded_anyway += 1;
            // What loading does next: a consistent bundle must also predict without panicking.
            if bundle.validate().is_ok() {
                let width = bundle.pipeline.n_outputs();
                let x = mlctl::data::matrix::Matrix::from_row_major(3, width, vec![0.5; 3 * width]);
                assert_eq!(bundle.predict(&x).len(), 3);
            }
        }
    }
    // Some mutations land in float bits and still decode: that is what the outer checksum is for.
    assert!(decoded_anyway < 3000);
}
