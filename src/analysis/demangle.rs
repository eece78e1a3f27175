//! C++ names as people write them: `explain 'Acc<long>::add'` finds
//! `_ZN3AccIlE3addEl`. A query matches a mangled name when it equals its
//! demangled form with or without the parameter list (blanks ignored, so
//! `Acc<long>::add( long )` and `std::map<int, int>` spacing do not
//! matter, nor do ABI tags). cpp_demangle parses the Itanium ABI's grammar, which a
//! hand-written demangler would have to repeat in full.

use cpp_demangle::{DemangleOptions, Symbol};

/// The demangled forms of `symbol`, with and without parameters; None if
/// it is not a mangled C++ name.
pub fn demangle(symbol: &str) -> Option<(String, String)> {
    if !symbol.starts_with("_Z") {
        return None;
    }
    let parsed = Symbol::new(symbol).ok()?;
    let full = parsed.demangle().ok()?;
    let bare = parsed
        .demangle_with_options(&DemangleOptions::new().no_params().no_return_type())
        .ok()?;
    Some((full, bare))
}

/// Without blanks and without ABI tags (`name[abi:cxx11]()`), which
/// nobody writes.
fn squeeze(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    while let Some(i) = out.find("[abi:") {
        match out[i..].find(']') {
            Some(j) => out.replace_range(i..i + j + 1, ""),
            None => break,
        }
    }
    out
}

/// A query, ready to compare with many symbols.
pub struct Query(String);

impl Query {
    pub fn new(text: &str) -> Query {
        Query(squeeze(text))
    }

    /// Whether the mangled `symbol` is what the query names.
    pub fn matches(&self, symbol: &str) -> bool {
        demangle(symbol)
            .is_some_and(|(full, bare)| squeeze(&full) == self.0 || squeeze(&bare) == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_and_without_parameters() {
        // Acc<long>::add(long), as g++ mangles it.
        let add = "_ZN3AccIlE3addEl";
        for q in [
            "Acc<long>::add",
            "Acc<long>::add(long)",
            "Acc< long >::add ( long )",
        ] {
            assert!(Query::new(q).matches(add), "{q}");
        }
        for q in [
            "Acc<int>::add",
            "Acc<long>::add(int)",
            "add",
            "_ZN3AccIlE3addEl",
        ] {
            assert!(!Query::new(q).matches(add), "{q}");
        }
        assert!(!Query::new("calc_used").matches("calc_used"));
        // std::string Acc<double>::name() const, with its ABI tag.
        let name = "_ZNK3AccIdE4nameB5cxx11Ev";
        for q in ["Acc<double>::name", "Acc<double>::name() const"] {
            assert!(Query::new(q).matches(name), "{q}");
        }
    }
}
