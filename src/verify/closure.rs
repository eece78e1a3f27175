//! The libraries a file loads: the breadth-first closure of DT_NEEDED, as
//! ld.so builds a program's search scope.

use std::collections::{HashMap, HashSet};

use super::image::Image;
use super::search::Search;

pub struct Closure {
    /// The file itself, then its libraries in load order.
    pub scope: Vec<usize>,
    /// The same, sorted: membership tests.
    pub members: Vec<usize>,
    /// Each needed name (and SONAME) of the scope -> the object it loaded.
    pub by_name: HashMap<String, usize>,
    /// (needer, name) of each DT_NEEDED entry that was not found.
    pub missing: Vec<(usize, String)>,
}

impl Closure {
    pub fn contains(&self, id: usize) -> bool {
        self.members.binary_search(&id).is_ok()
    }
}

pub fn closure(image: &mut Image, search: &mut Search, top: usize) -> Closure {
    let abi = image.get(top).facts.abi;
    let mut scope = vec![top];
    // Which scope entry loaded each one: its DT_RPATH applies as well.
    let mut loaded_by: Vec<Option<usize>> = vec![None];
    let mut loaded = HashSet::from([top]);
    let mut by_name = HashMap::new();
    if let Some(s) = &image.get(top).facts.soname {
        by_name.insert(s.clone(), top);
    }
    let mut missing = Vec::new();
    let mut next = 0;
    while next < scope.len() {
        let needer = scope[next];
        let mut chain = vec![needer];
        let mut at = loaded_by[next];
        while let Some(p) = at {
            chain.push(scope[p]);
            at = loaded_by[p];
        }
        for name in image.get(needer).facts.needed.clone() {
            // Like ld.so, a name already loaded is not searched again.
            if by_name.contains_key(&name) {
                continue;
            }
            let Some(id) = search.find(image, &chain, &name, abi) else {
                missing.push((needer, name));
                continue;
            };
            by_name.insert(name, id);
            if let Some(s) = &image.get(id).facts.soname {
                by_name.entry(s.clone()).or_insert(id);
            }
            if loaded.insert(id) {
                scope.push(id);
                loaded_by.push(Some(next));
            }
        }
        next += 1;
    }
    let mut members = scope.clone();
    members.sort_unstable();
    Closure {
        scope,
        members,
        by_name,
        missing,
    }
}
