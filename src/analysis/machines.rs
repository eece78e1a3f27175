//! One analysis is one machine. The loader never binds a program to a
//! library of another class, byte order or e_machine, so records of two
//! machines in one state directory are two images; tying their names
//! together would let an ARM program's DT_NEEDED make an x86-64 library
//! look linked (and lose its plugin protection). Rather than split them
//! silently, the merge refuses and names the files of each machine.

use std::fmt;
use std::path::PathBuf;

use crate::elf::output::Abi;
use crate::state::record::LinkRecord;

/// Outputs listed per machine in the error; the rest are counted.
const SHOWN: usize = 3;

/// Records of more than one machine: each with the outputs recorded for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MixedMachines {
    pub machines: Vec<(Abi, Vec<PathBuf>)>,
}

impl fmt::Display for MixedMachines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the records are of {} machines; one merge analyses one image, which is one machine: \
             record each target into its own state directory (LDPRUNE_STATE) and merge each on its own",
            self.machines.len()
        )?;
        for (abi, outputs) in &self.machines {
            let shown: Vec<String> = outputs
                .iter()
                .take(SHOWN)
                .map(|p| p.display().to_string())
                .collect();
            let more = outputs.len().saturating_sub(SHOWN);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            write!(f, "\n  {abi}: {}{more}", shown.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for MixedMachines {}

/// The one machine of the complete records (`None` if none says), or the
/// error naming the outputs of each machine.
pub fn one_machine(records: &[LinkRecord]) -> Result<Option<Abi>, MixedMachines> {
    let mut machines: Vec<(Abi, Vec<PathBuf>)> = Vec::new();
    for r in records.iter().filter(|r| r.is_complete()) {
        // 0: EM_NONE, an output that could not be read.
        if r.abi.machine == 0 {
            continue;
        }
        let path = std::path::Path::new(&r.cwd).join(&r.output);
        match machines.iter_mut().find(|(a, _)| *a == r.abi) {
            Some((_, v)) => v.push(path),
            None => machines.push((r.abi, vec![path])),
        }
    }
    match machines.len() {
        0 => Ok(None),
        1 => Ok(Some(machines[0].0)),
        _ => {
            for (_, v) in &mut machines {
                v.sort();
                v.dedup();
            }
            machines.sort_by_key(|(a, _)| (a.machine, a.class, a.data));
            Err(MixedMachines { machines })
        }
    }
}
