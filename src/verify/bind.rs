//! Whether an import binds to an export, with ld.so's version rules.

use std::collections::HashMap;

use crate::elf::output::{DynSymbol, OutputFacts};

use super::closure::Closure;
use super::image::Image;

/// Every export of every known object, by name.
pub struct Exports<'a> {
    by_name: HashMap<&'a str, Vec<(usize, &'a DynSymbol)>>,
    image: &'a Image,
}

impl<'a> Exports<'a> {
    pub fn new(image: &'a Image) -> Exports<'a> {
        let mut by_name: HashMap<&str, Vec<(usize, &DynSymbol)>> = HashMap::new();
        for (id, o) in image.objects.iter().enumerate() {
            for e in &o.facts.exports {
                by_name.entry(e.name.as_str()).or_default().push((id, e));
            }
        }
        Exports { by_name, image }
    }

    /// Objects whose export `import` binds to, among those `within` accepts.
    fn definers(&self, import: &DynSymbol, within: impl Fn(usize) -> bool) -> bool {
        self.by_name.get(import.name.as_str()).is_some_and(|defs| {
            defs.iter()
                .any(|&(id, def)| within(id) && binds(import, def, &self.image.get(id).facts))
        })
    }

    /// `import` is defined in the scope of `closure` by another object than
    /// `except` (for a copy relocation: the program that holds the copy,
    /// which ld.so never searches for the original).
    pub fn resolves_in(
        &self,
        import: &DynSymbol,
        closure: &Closure,
        except: Option<usize>,
    ) -> bool {
        self.definers(import, |id| Some(id) != except && closure.contains(id))
    }

    /// `import` is defined by any known object but `except`.
    pub fn resolves_anywhere(&self, import: &DynSymbol, except: Option<usize>) -> bool {
        self.definers(import, |id| Some(id) != except)
    }
}

/// ld.so's rule: a versioned reference takes a definition of that version
/// (default `@@` or hidden `@`), or an unversioned one from a library that
/// defines no versions at all; an unversioned reference takes any
/// definition but a hidden-version one. The file the version requirement
/// names is not a condition: it is checked as a whole (verneed), and the
/// stub libraries of glibc 2.34 (libpthread.so.0 and others) rely on it.
pub fn binds(import: &DynSymbol, def: &DynSymbol, definer: &OutputFacts) -> bool {
    match (&import.version, &def.version) {
        (Some(want), Some(have)) => want == have,
        (Some(_), None) => definer.version_defs.is_empty(),
        (None, _) => !def.hidden_version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::types::{Binding, SymbolType};

    fn sym(version: Option<&str>, hidden: bool) -> DynSymbol {
        DynSymbol {
            name: "f".into(),
            version: version.map(str::to_string),
            hidden_version: hidden,
            version_file: None,
            kind: SymbolType::Func,
            binding: Binding::Global,
        }
    }

    #[test]
    fn version_rules() {
        let versioned = OutputFacts {
            version_defs: vec!["V1".into(), "V2".into()],
            ..OutputFacts::default()
        };
        let plain = OutputFacts::default();
        let v1 = sym(Some("V1"), false);
        let none = sym(None, false);
        assert!(binds(&v1, &sym(Some("V1"), false), &versioned));
        assert!(binds(&v1, &sym(Some("V1"), true), &versioned));
        assert!(!binds(&v1, &sym(Some("V2"), false), &versioned));
        assert!(!binds(&v1, &none, &versioned));
        assert!(binds(&v1, &none, &plain));
        assert!(binds(&none, &none, &plain));
        assert!(binds(&none, &sym(Some("V2"), false), &versioned));
        assert!(!binds(&none, &sym(Some("V1"), true), &versioned));
    }
}
