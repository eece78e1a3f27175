//! The system-wide name table of the merge's graph: each distinct plain
//! name once in one text buffer, numbered from 0 in the order first met
//! (the order `state::record::StringTable` gives, so ids match it).
//!
//! Sized for a distribution (25M names): the index is one array of 8-byte
//! slots (the upper half of the name's hash and its id), linearly probed
//! and at most 4/5 full: 10 to 20 bytes a name, where a hash map from
//! hashes to ids plus a collision chain took 23 to 43. Slots of one probe
//! sequence share cache lines, and the hash halves spare most string
//! comparisons.

use std::hash::Hasher;

use crate::fasthash::FxHasher;

use super::graph::Name;

#[derive(Default)]
pub struct Names {
    text: String,
    /// Where each name ends in `text`.
    ends: Vec<u32>,
    /// `hash << 32 | id + 1`; 0: free. A power of two long (or empty).
    slots: Vec<u64>,
}

impl Names {
    fn hash(s: &str) -> u32 {
        let mut h = FxHasher::default();
        h.write(s.as_bytes());
        (h.finish() >> 32) as u32
    }

    /// The slot that holds `s`, or the free one where it would go.
    fn find(&self, h: u32, s: &str) -> (usize, Option<Name>) {
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                return (i, None);
            }
            let id = (slot as u32).wrapping_sub(1);
            if (slot >> 32) as u32 == h && self.str(id) == s {
                return (i, Some(id));
            }
            i = (i + 1) & mask;
        }
    }

    /// Doubles the index (from the stored hashes: no name is hashed again).
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(1024);
        let old = std::mem::replace(&mut self.slots, vec![0; size]);
        let mask = size - 1;
        for slot in old.into_iter().filter(|&s| s != 0) {
            let mut i = (slot >> 32) as usize & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }

    pub fn intern(&mut self, s: &str) -> Name {
        if (self.ends.len() + 1) * 5 > self.slots.len() * 4 {
            self.grow();
        }
        let h = Self::hash(s);
        let (i, found) = self.find(h, s);
        if let Some(id) = found {
            return id;
        }
        self.text.push_str(s);
        self.ends.push(self.text.len() as u32);
        let id = (self.ends.len() - 1) as Name;
        self.slots[i] = u64::from(h) << 32 | u64::from(id + 1);
        id
    }

    /// The id of `s`, if interned.
    pub fn lookup(&self, s: &str) -> Option<Name> {
        if self.slots.is_empty() {
            return None;
        }
        self.find(Self::hash(s), s).1
    }

    pub fn contains(&self, s: &str) -> bool {
        self.lookup(s).is_some()
    }

    /// The name of `id` ("?" for an id it never gave out).
    pub fn str(&self, id: Name) -> &str {
        let i = id as usize;
        let Some(&end) = self.ends.get(i) else {
            return "?";
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text.get(start..end as usize).unwrap_or("?")
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::record::StringTable;

    #[test]
    fn ids_as_the_record_table_gives_them() {
        let mut names = Names::default();
        let mut table = StringTable::default();
        // Enough to grow the index several times, with repeats.
        for i in 0..20_000u32 {
            let s = format!("name{}", (i * 7919) % 5003);
            assert_eq!(names.intern(&s), table.intern(&s), "{s}");
        }
        assert_eq!(names.len(), table.len());
        for id in 0..names.len() as Name {
            assert_eq!(names.str(id), table.str(id));
            assert_eq!(names.lookup(table.str(id)), Some(id));
        }
        assert_eq!(names.lookup("absent"), None);
        assert_eq!(names.str(names.len() as Name), "?");
        assert_eq!(Names::default().lookup(""), None);
        assert_eq!(names.intern(""), names.len() as Name - 1);
        assert_eq!(names.lookup(""), Some(names.len() as Name - 1));
    }
}
