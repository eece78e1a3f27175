//! Loading state directories straight into the merge's graph.
//!
//! First the heads of all records (their first fields, from each file's
//! first few KB) plan the merge: its order of records and which of them
//! describe modules. Then the records are loaded whole in that order on
//! every core; the loading threads build each module's part of the graph
//! and drop the record's objects, and this thread adds the parts in order.
//! A distribution's objects are so never all in memory at once (they were
//! two thirds of the merge's peak), and the graph is built on every core.

use super::{Built, Head, plan, prepare};
use crate::state::record::RecordHead;
use crate::state::{StateDir, StateError, load_head, load_in_order, load_record};

/// The records of some state directories in the graph, and the files that
/// could not be used.
pub struct Loaded {
    pub built: Built,
    /// In the order of the directories and of the files in each.
    pub bad: Vec<StateError>,
}

/// Loads the records of `states` (`keep_objects`: the records keep their
/// objects, for `--vis`), telling `progress(step, done, total)` after each
/// file. A file that cannot be used is left out and listed in `bad`, never
/// half-used: the result is the one [`super::analyse`] builds from the
/// good records.
pub fn load(
    states: &[StateDir],
    keep_objects: bool,
    mut progress: impl FnMut(&'static str, usize, usize),
) -> Result<Loaded, StateError> {
    let mut paths = Vec::new();
    for s in states {
        paths.extend(s.record_paths()?);
    }
    let total = paths.len();
    let mut bad: Vec<(usize, StateError)> = Vec::new();
    let mut heads: Vec<Option<RecordHead>> = Vec::with_capacity(total);
    // A failed link's record is not read further, but a damaged one is
    // bad all the same.
    let head = |path: &std::path::Path| {
        let h = load_head(path)?;
        if !h.is_complete() {
            load_record(path)?;
        }
        Ok(h)
    };
    load_in_order(
        &paths,
        |_, path| head(path),
        |i, head| {
            match head {
                Ok(h) => heads.push(Some(h)),
                Err(e) => {
                    heads.push(None);
                    bad.push((i, e));
                }
            }
            progress("reading record heads", i + 1, total);
        },
    );
    loop {
        let present: Vec<usize> = (0..total).filter(|&i| heads[i].is_some()).collect();
        let plan = {
            let h: Vec<Head> = heads.iter().flatten().map(Head::of_head).collect();
            plan(&h)
        };
        let files: Vec<usize> = plan.order.iter().map(|&k| present[k]).collect();
        let ordered: Vec<_> = files.iter().map(|&i| paths[i].clone()).collect();
        let mut built = Built::default();
        let mut failed: Vec<(usize, StateError)> = Vec::new();
        let planned = ordered.len();
        load_in_order(
            &ordered,
            |k, path| load_record(path).map(|r| prepare(r, plan.module[k], keep_objects)),
            |k, r| {
                match r {
                    Ok(p) if failed.is_empty() => built.push(p),
                    Ok(_) => {}
                    Err(e) => failed.push((files[k], e)),
                }
                progress("loading records", k + 1, planned);
            },
        );
        if failed.is_empty() {
            bad.sort_by_key(|b| b.0);
            let bad = bad.into_iter().map(|(_, e)| e).collect();
            return Ok(Loaded { built, bad });
        }
        // A file whose head was good but not the rest (damaged, or
        // replaced since): planned again without it, from the start.
        for (i, e) in failed {
            heads[i] = None;
            bad.push((i, e));
        }
    }
}
