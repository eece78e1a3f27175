//! The container every state file uses: a fixed header, then a postcard
//! payload. The header names the kind of file and its format version and
//! carries the payload's length and checksum, so a foreign, newer, truncated
//! or damaged file is recognised before anything is decoded.

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

pub fn encode<T: Serialize>(kind: FileKind, version: u32, value: &T) -> Result<Vec<u8>, String> {
    encode_with(kind, version, |out| append(out, value))
}

/// Encodes a payload that `write` appends in parts ([`append`], [`varint`]).
pub fn encode_with(
    kind: FileKind,
    version: u32,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), String>,
) -> Result<Vec<u8>, String> {
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
pub fn append<T: Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), String> {
    let buf = std::mem::take(out);
    *out = postcard::serialize_with_flavor(value, Output(buf))
        .map_err(|e| format!("cannot encode: {e}"))?;
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
) -> Result<T, String> {
    if bytes.len() < HEADER_LEN || &bytes[..8] != kind.magic() {
        return Err(format!("not an ldprune {} (bad magic)", kind.what()));
    }
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default());
    let found = word(8);
    if found != version {
        return Err(format!(
            "{} format version {found}, this ldprune reads version {version}; \
             record again with a matching ldprune",
            kind.what()
        ));
    }
    let len = u64::from_le_bytes(bytes[16..24].try_into().unwrap_or_default());
    let sum = u64::from_le_bytes(bytes[24..32].try_into().unwrap_or_default());
    let payload = &bytes[HEADER_LEN..];
    if payload.len() as u64 != len {
        return Err(format!(
            "damaged: truncated or padded (payload {} bytes, header says {len})",
            payload.len()
        ));
    }
    if xxh3_64(payload) != sum {
        return Err("damaged: checksum mismatch".to_string());
    }
    postcard::from_bytes(payload).map_err(|e| format!("damaged: cannot decode ({e})"))
}

/// Decodes the leading fields of a file of `kind` as a `T` (a struct of
/// them) from the file's start, without the payload's length and checksum
/// (the start may be all there is). None if it is not such a file or the
/// fields go beyond `bytes`.
pub fn decode_head<T: DeserializeOwned>(kind: FileKind, version: u32, bytes: &[u8]) -> Option<T> {
    if bytes.len() < HEADER_LEN
        || &bytes[..8] != kind.magic()
        || bytes[8..12] != version.to_le_bytes()
    {
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
        assert!(err.contains("version 3"), "{err}");
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(
            decode::<Vec<String>>(FileKind::LinkRecord, 3, &bad)
                .unwrap_err()
                .contains("checksum")
        );
        assert!(
            decode::<Vec<String>>(FileKind::LinkRecord, 3, &bytes[..bytes.len() - 1])
                .unwrap_err()
                .contains("truncated")
        );
        assert!(
            decode::<Vec<String>>(FileKind::LinkRecord, 3, b"hello")
                .unwrap_err()
                .contains("magic")
        );
    }
}
