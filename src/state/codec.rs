//! The container every state file uses: a fixed header, then a postcard
//! payload. The header names the kind of file and its format version and
//! carries the payload's length and checksum, so a foreign, newer, truncated
//! or damaged file is recognised before anything is decoded.

use std::fmt;
use std::ops::RangeInclusive;

use serde::{Serialize, de::DeserializeOwned};
use xxhash_rust::xxh3::xxh3_64;

const HEADER_LEN: usize = 32;

/// Which kind of state file; the 8 magic bytes differ per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    LinkRecord,
    Applied,
}

impl FileKind {
    fn magic(self) -> &'static [u8; 8] {
        match self {
            FileKind::LinkRecord => b"LDPRREC\0",
            FileKind::Applied => b"LDPRAPP\0",
        }
    }

    fn what(self) -> &'static str {
        match self {
            FileKind::LinkRecord => "link record",
            FileKind::Applied => "Run-2 result",
        }
    }
}

/// Why a state file cannot be encoded or decoded; the Display says it for a
/// user (the caller puts the path in front). The kinds differ in what to
/// do: a foreign file or one of another version is recorded again, a
/// damaged one is removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodecError {
    /// serde could not encode the value (never for ldprune's own types).
    Encode(postcard::Error),
    /// Not a state file of this kind (or shorter than a header).
    BadMagic(FileKind),
    /// A file of this kind written in another format version.
    Version {
        kind: FileKind,
        found: u32,
        reads: u32,
    },
    /// The payload is not as long as the header says.
    Length { payload: u64, header: u64 },
    /// The payload's checksum is not the header's.
    Checksum,
    /// The checksum holds but the payload does not decode.
    Decode(postcard::Error),
}

impl CodecError {
    /// The file is damaged (as opposed to foreign or of another version).
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            CodecError::Length { .. } | CodecError::Checksum | CodecError::Decode(_)
        )
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Encode(e) => write!(f, "cannot encode: {e}"),
            CodecError::BadMagic(kind) => write!(f, "not an ldprune {} (bad magic)", kind.what()),
            CodecError::Version { kind, found, reads } => write!(
                f,
                "{} format version {found}, this ldprune reads version {reads}; \
                 record again with a matching ldprune",
                kind.what()
            ),
            CodecError::Length { payload, header } => write!(
                f,
                "damaged: truncated or padded (payload {payload} bytes, header says {header})"
            ),
            CodecError::Checksum => f.write_str("damaged: checksum mismatch"),
            CodecError::Decode(e) => write!(f, "damaged: cannot decode ({e})"),
        }
    }
}

impl std::error::Error for CodecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CodecError::Encode(e) | CodecError::Decode(e) => Some(e),
            _ => None,
        }
    }
}

pub fn encode<T: Serialize>(
    kind: FileKind,
    version: u32,
    value: &T,
) -> Result<Vec<u8>, CodecError> {
    encode_with(kind, version, |out| append(out, value))
}

/// Encodes a payload that `write` appends in parts ([`append`], [`varint`]).
pub fn encode_with(
    kind: FileKind,
    version: u32,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), CodecError>,
) -> Result<Vec<u8>, CodecError> {
    // The payload goes straight after room for the header, which is
    // filled in when the payload's length and checksum are known.
    let mut out = Vec::with_capacity(64 << 10);
    out.resize(HEADER_LEN, 0);
    write(&mut out)?;
    let payload = &out[HEADER_LEN..];
    let (len, sum) = (payload.len() as u64, xxh3_64(payload));
    let header = [
        &kind.magic()[..],
        &version.to_le_bytes(),
        &0u32.to_le_bytes(),
        &len.to_le_bytes(),
        &sum.to_le_bytes(),
    ]
    .concat();
    out[..HEADER_LEN].copy_from_slice(&header);
    Ok(out)
}

/// Appends the postcard encoding of `value` to `out`. A struct's encoding
/// is its fields' encodings one after the other, and a sequence's is its
/// length ([`varint`]) and then its elements': a payload can be written in
/// parts.
pub fn append<T: Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), CodecError> {
    let buf = std::mem::take(out);
    *out = postcard::serialize_with_flavor(value, Output(buf)).map_err(CodecError::Encode)?;
    Ok(())
}

/// postcard's encoding of an unsigned integer (u16 to u128, a length, an
/// enum's variant index): 7 bits a byte, least significant first, the high
/// bit set on all bytes but the last.
#[inline]
pub fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// [`varint`] of a u128.
pub fn varint128(out: &mut Vec<u8>, mut v: u128) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// postcard's output: the Vec that already holds room for the header, so
/// the payload is never copied behind it (postcard's own `to_stdvec` starts
/// a new Vec; a Run-1 record is megabytes).
struct Output(Vec<u8>);

impl postcard::ser_flavors::Flavor for Output {
    type Output = Vec<u8>;

    #[inline]
    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.0.push(byte);
        Ok(())
    }

    #[inline]
    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        // Mostly a varint of a byte or two: a call to memcpy for each
        // cost more than the bytes.
        if bytes.len() <= 4 {
            for &b in bytes {
                self.0.push(b);
            }
        } else {
            self.0.extend_from_slice(bytes);
        }
        Ok(())
    }

    fn finalize(self) -> postcard::Result<Vec<u8>> {
        Ok(self.0)
    }
}

/// Decodes a file of `kind`; the error says what is wrong, for a user.
pub fn decode<T: DeserializeOwned>(
    kind: FileKind,
    version: u32,
    bytes: &[u8],
) -> Result<T, CodecError> {
    decode_any(kind, version..=version, bytes)
}

/// [`decode`] of a file written in any of `versions` (whose encodings
/// must be the same, read alike); an error names the newest.
pub fn decode_any<T: DeserializeOwned>(
    kind: FileKind,
    versions: RangeInclusive<u32>,
    bytes: &[u8],
) -> Result<T, CodecError> {
    if bytes.len() < HEADER_LEN || &bytes[..8] != kind.magic() {
        return Err(CodecError::BadMagic(kind));
    }
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default());
    let found = word(8);
    if !versions.contains(&found) {
        return Err(CodecError::Version {
            kind,
            found,
            reads: *versions.end(),
        });
    }
    let len = u64::from_le_bytes(bytes[16..24].try_into().unwrap_or_default());
    let sum = u64::from_le_bytes(bytes[24..32].try_into().unwrap_or_default());
    let payload = &bytes[HEADER_LEN..];
    if payload.len() as u64 != len {
        return Err(CodecError::Length {
            payload: payload.len() as u64,
            header: len,
        });
    }
    if xxh3_64(payload) != sum {
        return Err(CodecError::Checksum);
    }
    postcard::from_bytes(payload).map_err(CodecError::Decode)
}

/// Decodes the leading fields of a file of `kind` as a `T` (a struct of
/// them) from the file's start, without the payload's length and checksum
/// (the start may be all there is). None if it is not such a file or the
/// fields go beyond `bytes`.
pub fn decode_head<T: DeserializeOwned>(
    kind: FileKind,
    versions: RangeInclusive<u32>,
    bytes: &[u8],
) -> Option<T> {
    if bytes.len() < HEADER_LEN || &bytes[..8] != kind.magic() {
        return None;
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().ok()?);
    if !versions.contains(&version) {
        return None;
    }
    postcard::take_from_bytes(&bytes[HEADER_LEN..])
        .ok()
        .map(|(head, _)| head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_postcards() {
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut mine = Vec::new();
            varint(&mut mine, v);
            assert_eq!(mine, postcard::to_stdvec(&v).unwrap(), "{v}");
        }
        let mut mine = Vec::new();
        varint128(&mut mine, u128::MAX);
        assert_eq!(mine, postcard::to_stdvec(&u128::MAX).unwrap());
    }

    #[test]
    fn round_trip_and_damage() {
        let v = vec![String::from("a"), String::from("bc")];
        let bytes = encode(FileKind::LinkRecord, 3, &v).unwrap();
        let back: Vec<String> = decode(FileKind::LinkRecord, 3, &bytes).unwrap();
        assert_eq!(back, v);
        let err = decode::<Vec<String>>(FileKind::LinkRecord, 4, &bytes).unwrap_err();
        assert_eq!(
            err,
            CodecError::Version {
                kind: FileKind::LinkRecord,
                found: 3,
                reads: 4
            }
        );
        assert!(err.to_string().contains("version 3"), "{err}");
        assert!(!err.is_damage());
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() ^= 1;
        let err = decode::<Vec<String>>(FileKind::LinkRecord, 3, &bad).unwrap_err();
        assert_eq!(err, CodecError::Checksum);
        assert_eq!(err.to_string(), "damaged: checksum mismatch");
        assert!(err.is_damage());
        let err =
            decode::<Vec<String>>(FileKind::LinkRecord, 3, &bytes[..bytes.len() - 1]).unwrap_err();
        assert!(matches!(err, CodecError::Length { .. }), "{err}");
        assert!(err.to_string().contains("truncated"), "{err}");
        let err = decode::<Vec<String>>(FileKind::LinkRecord, 3, b"hello").unwrap_err();
        assert_eq!(err, CodecError::BadMagic(FileKind::LinkRecord));
        assert!(err.to_string().contains("magic"), "{err}");
        // A record is not a Run-2 result.
        assert_eq!(
            decode::<Vec<String>>(FileKind::Applied, 3, &bytes).unwrap_err(),
            CodecError::BadMagic(FileKind::Applied)
        );
    }
}
