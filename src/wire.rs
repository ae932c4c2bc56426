//! How large numeric arrays are written in a `model.bin` payload, and which artifact format the payload being
//! decoded on this thread has.
//!
//! Format 1 wrote a tree's arrays as postcard sequences: one varint or float at a time, decoded element by
//! element through serde. Format 2 writes them as byte strings of little-endian values, which decode as one
//! length check and a copy, which made loading a large forest markedly faster (figures: bench/NOTES.md).
//! Human-readable encodings (JSON, which tests use to corrupt models by hand)
//! keep plain arrays. Format 3 adds to a forest the rank of each split's threshold (see
//! `models::forest::stored_ranks`), which loading used to recompute. Format 4 adds to the pipeline how its data
//! was read (extra missing tokens, lenient numeric columns) and each feature's infrequent one-hot slot.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};
use serde::{Serialize, Serializer};

/// The artifact format written now.
pub const CURRENT_FORMAT: u16 = 4;

/// The last format whose arrays are postcard sequences.
pub const SEQUENCE_ARRAYS_FORMAT: u16 = 1;

/// The first format whose forests store their split ranks.
pub const SPLIT_RANKS_FORMAT: u16 = 3;

/// The first format whose pipelines store their reading rules and infrequent slots.
pub const PIPELINE_OPTIONS_FORMAT: u16 = 4;

thread_local! {
    static DECODING_FORMAT: Cell<u16> = const { Cell::new(CURRENT_FORMAT) };
}

/// Runs `decode` with `format` as the format of what it decodes on this thread, restoring the previous one
/// after (so nested and later decodings are unaffected).
pub fn decoding<R>(format: u16, decode: impl FnOnce() -> R) -> R {
    struct Restore(u16);
    impl Drop for Restore {
        fn drop(&mut self) {
            DECODING_FORMAT.with(|f| f.set(self.0));
        }
    }
    let _restore = Restore(DECODING_FORMAT.with(|f| f.replace(format)));
    decode()
}

/// Whether arrays being decoded on this thread are postcard sequences (format 1) rather than byte strings.
pub fn sequence_arrays() -> bool {
    DECODING_FORMAT.with(Cell::get) <= SEQUENCE_ARRAYS_FORMAT
}

/// Whether a forest being decoded on this thread has its split ranks (format 3 on).
pub fn split_ranks() -> bool {
    DECODING_FORMAT.with(Cell::get) >= SPLIT_RANKS_FORMAT
}

/// Whether a pipeline being decoded on this thread has its reading rules and infrequent slots (format 4 on).
pub fn pipeline_options() -> bool {
    DECODING_FORMAT.with(Cell::get) >= PIPELINE_OPTIONS_FORMAT
}

/// A number stored as its little-endian bytes.
pub trait LeNumber: Copy {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    /// From exactly `SIZE` bytes.
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! le_number {
    ($($t:ty),*) => {$(
        impl LeNumber for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                let mut le = [0; std::mem::size_of::<$t>()];
                le.copy_from_slice(bytes);
                <$t>::from_le_bytes(le)
            }
        }
    )*};
}

le_number!(u8, u32, f32, f64);

/// A `Vec<T>` read from a byte string of little-endian numbers, as [`LeSlice`] writes it.
pub struct LeVec<T>(pub Vec<T>);

impl<'de, T: LeNumber> de::Deserialize<'de> for LeVec<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LeVisitor<T>(PhantomData<T>);
        impl<T: LeNumber> Visitor<'_> for LeVisitor<T> {
            type Value = LeVec<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a byte string of {}-byte little-endian numbers", T::SIZE)
            }
            fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<LeVec<T>, E> {
                if !bytes.len().is_multiple_of(T::SIZE) {
                    return Err(E::invalid_length(bytes.len(), &self));
                }
                Ok(LeVec(bytes.chunks_exact(T::SIZE).map(T::get).collect()))
            }
        }
        deserializer.deserialize_bytes(LeVisitor(PhantomData))
    }
}

/// A borrowed array that serialises as one byte string of little-endian numbers.
pub struct LeSlice<'a, T>(pub &'a [T]);

impl<T: LeNumber> Serialize for LeSlice<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(self.0.len() * T::SIZE);
        for &v in self.0 {
            v.put(&mut bytes);
        }
        serializer.serialize_bytes(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_round_trip_through_postcard_as_bytes() {
        let values = [0.0, -0.0, 1.5, f64::MAX, f64::MIN_POSITIVE];
        let bytes = postcard::to_allocvec(&LeSlice(&values)).unwrap();
        assert_eq!(bytes.len(), 1 + 8 * values.len(), "a length and the raw numbers");
        let back: LeVec<f64> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.0.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), values.map(f64::to_bits));
        let ragged = postcard::to_allocvec(&serde_bytes_of(&[1, 2, 3])).unwrap();
        assert!(postcard::from_bytes::<LeVec<u32>>(&ragged).is_err(), "3 bytes are not whole u32s");
    }

    fn serde_bytes_of(bytes: &[u8]) -> impl Serialize + '_ {
        struct Raw<'a>(&'a [u8]);
        impl Serialize for Raw<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        Raw(bytes)
    }

    #[test]
    fn the_decoding_format_is_scoped() {
        assert!(!sequence_arrays());
        let inner = decoding(1, || (sequence_arrays(), decoding(2, sequence_arrays), sequence_arrays()));
        assert_eq!(inner, (true, false, true));
        assert!(!sequence_arrays());
    }
}
