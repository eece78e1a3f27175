//! The structural hasher: XXH3-128 over length-prefixed fields, so that
//! adjacent fields cannot run into each other. Fields are collected in a
//! buffer and hashed once: many tiny updates of a streaming hasher cost more.

use serde::{Deserialize, Serialize};
use std::fmt;
use xxhash_rust::xxh3::xxh3_128;

/// A 128-bit hash, printed as 32 hex digits.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Hash128(pub u128);

impl fmt::Display for Hash128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for Hash128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for Hash128 {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        u128::from_str_radix(s, 16).map(Hash128)
    }
}

pub struct StructHasher(Vec<u8>);

impl StructHasher {
    /// `domain` separates hashes of different kinds of things.
    pub fn new(domain: &[u8]) -> Self {
        Self::with_capacity(domain, 4096)
    }

    /// A hasher with room for `bytes` of fields.
    pub fn with_capacity(domain: &[u8], bytes: usize) -> Self {
        let mut h = StructHasher(Vec::with_capacity(bytes.max(64)));
        h.bytes(domain);
        h
    }

    #[inline]
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    #[inline]
    pub fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    #[inline]
    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    pub fn finish(&self) -> Hash128 {
        Hash128(xxh3_128(&self.0))
    }
}
