//! The link record: everything Run-1 learns about one link.
//!
//! Names (symbols, sections, groups, C strings) are stored once per record
//! in `strings` and referred to by index, so a record of a large link stays
//! small and the merge can intern each distinct name once.

use serde::{Deserialize, Serialize};

use crate::elf::hash::Hash128;
use std::hash::Hasher;

use crate::elf::object::Target;
use crate::elf::output::{Abi, DynSymbol, Layout, OutputSizes, VersionNeed, sort_symbols};
use crate::elf::types::{Binding, SectionKind, SymbolPlace, SymbolType, Visibility};
use crate::fasthash::FxHasher;
use crate::identity::OutputKind;
use crate::state::codec::{CodecError, append, varint, varint128};

/// Index into [`LinkRecord::strings`].
pub type Str = u32;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkStatus {
    /// The link succeeded and its output was read.
    Complete,
    /// The link failed (or its output vanished): not a consumer, not a module.
    Failed { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    pub identity: Hash128,
    pub status: LinkStatus,
    /// Why the recorded graph may miss code (LTO IR, unreadable inputs).
    /// Empty when the graph is complete.
    pub incomplete: Vec<String>,
    /// Which linker ran the plugin, e.g. "GNU ld 2.40" or "gold 1.16".
    pub linker: String,
    /// When the link finished (ns since the Unix epoch): of several records
    /// of one output file, the newest describes the file.
    pub recorded_at: u64,
    pub kind: OutputKind,
    /// `-o` as given, relative to `cwd`.
    pub output: String,
    pub cwd: String,
    /// The linker's command line: argv[0], then the arguments after `@file`
    /// expansion.
    pub argv: Vec<String>,
    pub entry: Option<String>,
    /// ELF class, byte order and machine of the output (rpm marks the
    /// capabilities of 64-bit libraries `(64bit)`).
    pub abi: Abi,
    pub soname: Option<String>,
    pub needed: Vec<String>,
    /// Version nodes the output defines (verdef, without the base entry):
    /// rpm provides each as `SONAME(NODE)`.
    pub version_defs: Vec<String>,
    /// Version nodes the output requires of its libraries (verneed): what
    /// rpm's `SONAME(NODE)` requirements come from.
    pub version_needs: Vec<VersionNeed>,
    /// The output's GNU build-id: finds the link of an installed file.
    pub build_id: Option<Vec<u8>>,
    /// The linker that wrote the output the sizes and the build-id were
    /// read from: the build's own. With lld or mold that is not the linker
    /// that ran the plugin (the wrapper records through ld.bfd into a
    /// scratch file and links the real output with the build's linker).
    pub output_linker: Linker,
    /// Size of the output file in bytes (0 if it could not be read).
    pub output_size: u64,
    /// The output's allocated bytes by kind: Run-2's result is compared
    /// with these.
    pub output_sizes: OutputSizes,
    /// Where those bytes lie in the file, and the output's PLT and GOT
    /// slots of its own exports: what the prediction counts besides sections.
    pub layout: Layout,
    /// Dynamic symbols the output defines and makes visible.
    pub exports: Vec<DynSymbol>,
    /// Undefined dynamic symbols of the output.
    pub imports: Vec<DynSymbol>,
    pub objects: Vec<ObjectRecord>,
    /// Shared libraries the linker read, by path as it opened them.
    pub shared_inputs: Vec<String>,
    /// Linker scripts the linker read as inputs (e.g. libc.so).
    pub scripts: Vec<String>,
    /// C strings of the read-only data of all objects that could name a
    /// symbol or a shared library. Sorted, unique.
    pub cstrings: Vec<Str>,
    pub strings: StringPool,
}

/// The first fields of a [`LinkRecord`], in its order: what a merge needs
/// to order the records and pick each output's newest before it loads any
/// record whole (`state::load_head`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct RecordHead {
    pub identity: Hash128,
    pub status: LinkStatus,
    pub incomplete: Vec<String>,
    pub linker: String,
    pub recorded_at: u64,
    pub kind: OutputKind,
    pub output: String,
    pub cwd: String,
}

impl RecordHead {
    pub fn of(r: &LinkRecord) -> RecordHead {
        RecordHead {
            identity: r.identity,
            status: r.status.clone(),
            incomplete: r.incomplete.clone(),
            linker: r.linker.clone(),
            recorded_at: r.recorded_at,
            kind: r.kind,
            output: r.output.clone(),
            cwd: r.cwd.clone(),
        }
    }

    pub fn is_complete(&self) -> bool {
        self.status == LinkStatus::Complete
    }
}

/// A linker, as far as output sizes are concerned: ld.bfd, gold, lld and
/// mold lay out the same inputs differently (lld's output of a small
/// library is often half of bfd's), so `report` compares sizes only
/// between outputs of one linker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Linker {
    Bfd,
    Gold,
    Lld,
    Mold,
    Unknown,
}

impl Linker {
    /// The linker running the plugin, by the name the plugin gives it
    /// ("GNU ld 2.40", "gold 1.16").
    pub fn of_plugin_host(name: &str) -> Linker {
        if name.starts_with("gold") {
            Linker::Gold
        } else if name.starts_with("GNU ld") {
            Linker::Bfd
        } else {
            Linker::Unknown
        }
    }

    /// A linker by its program or `-fuse-ld=` name, also as a path or with
    /// a version suffix: `ld.lld`, `lld`, `/usr/bin/ld.mold`, `mold`,
    /// `ld.bfd`, `bfd`, `ld`, `ld.gold`, `gold`, `ld.lld-14`.
    pub fn of_name(name: &str) -> Option<Linker> {
        let base = name.rsplit('/').next().unwrap_or(name);
        let base = base.strip_prefix("ld.").unwrap_or(base);
        // A target prefix (x86_64-linux-gnu-ld.bfd) or a version (lld-14).
        let parts: Vec<&str> = base.split(['-', '.']).collect();
        let has = |n: &str| parts.contains(&n);
        Some(if has("mold") {
            Linker::Mold
        } else if has("lld") {
            Linker::Lld
        } else if has("gold") {
            Linker::Gold
        } else if has("bfd") || has("ld") {
            Linker::Bfd
        } else {
            return None;
        })
    }
}

impl std::fmt::Display for Linker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Linker::Bfd => "ld.bfd",
            Linker::Gold => "gold",
            Linker::Lld => "lld",
            Linker::Mold => "mold",
            Linker::Unknown => "an unknown linker",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRecord {
    /// The file the linker named: the object itself, or the archive.
    pub path: String,
    /// Member name (from the ar header) when the object came from an archive.
    pub member: Option<String>,
    /// Offset of the member's data in the archive; 0 for a plain object.
    pub offset: u64,
    pub hash: Hash128,
    pub sections: Vec<SectionRecord>,
    pub symbols: Vec<SymbolRecord>,
    /// Relocation edges from a section (index into `sections`).
    pub edges: Vec<(u32, Target)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionRecord {
    pub name: Str,
    pub kind: SectionKind,
    pub flags: u64,
    pub size: u64,
    /// sh_addralign (0 or 1: none).
    pub align: u64,
    /// .eh_frame FDEs describing this section, and their bytes.
    pub fdes: u32,
    pub fde_bytes: u32,
    /// Whole-pointer relocations: dynamic relocations in a PIC output.
    pub pointers: u32,
    /// Named local symbols it defines and the bytes of their names (with
    /// terminators): the output's .symtab and .strtab lose them with it.
    pub locals: u32,
    pub local_name_bytes: u32,
    /// COMDAT group signature.
    pub group: Option<Str>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolRecord {
    /// As spelled in the object's symbol table (`foo`, `foo@V1`, `foo@@V2`).
    pub name: Str,
    pub binding: Binding,
    pub visibility: Visibility,
    pub kind: SymbolType,
    pub size: u64,
    pub place: SymbolPlace,
}

impl LinkRecord {
    /// Puts the output's symbol and PLT/GOT lists in name order: Run-1
    /// records them in `.dynsym` order (a sort costs the link more than
    /// it costs a reader); older records hold them sorted, which is only
    /// checked.
    pub fn sort_lists(&mut self) {
        sort_symbols(&mut self.exports);
        sort_symbols(&mut self.imports);
        self.layout.sort();
    }

    /// The string at `id`; "?" for an index a damaged record could hold.
    pub fn str(&self, id: Str) -> &str {
        self.strings.get(id).unwrap_or("?")
    }

    pub fn is_complete(&self) -> bool {
        self.status == LinkStatus::Complete
    }

    /// The output's file name without directories.
    pub fn output_file_name(&self) -> &str {
        crate::identity::output_file_name(&self.output)
    }

    /// The directory the link wrote into ([`crate::identity::link_directory`]).
    pub fn directory(&self) -> String {
        crate::identity::link_directory(&self.cwd, &self.output)
    }

    /// Drops the objects and the strings only they named: the pool keeps
    /// the C strings and the strings of `keep` (ids in it), renumbered.
    /// Returns each old id's new one (`Str::MAX`: dropped). The merge keeps
    /// of a record's objects only its graph, which names few of them.
    pub fn drop_objects(&mut self, keep: impl IntoIterator<Item = Str>) -> Vec<Str> {
        self.objects = Vec::new();
        let old = std::mem::take(&mut self.strings);
        let mut new_id = vec![Str::MAX; old.len()];
        let mut take = |id: Str| match new_id.get_mut(id as usize) {
            Some(slot) => {
                if *slot == Str::MAX {
                    *slot = self.strings.push(old.get(id).unwrap_or("?"));
                }
                *slot
            }
            None => Str::MAX,
        };
        // The C strings first: their ids stay in the same order.
        let cstrings: Vec<Str> = self.cstrings.iter().map(|&c| take(c)).collect();
        for id in keep {
            take(id);
        }
        self.cstrings = cstrings;
        self.strings.shrink_to_fit();
        new_id
    }

    /// Checks that every index points inside its table, so that later code
    /// can index without checking. A record that fails this is damaged.
    pub fn validate(&self) -> Result<(), RecordError> {
        if !self.strings.check() {
            return Err(RecordError::StringTable);
        }
        let n = self.strings.len() as u32;
        let bad_str = |s: Str| s >= n;
        if self.cstrings.iter().any(|&s| bad_str(s)) {
            return Err(RecordError::CString);
        }
        for (object, o) in self.objects.iter().enumerate() {
            let ns = o.sections.len() as u32;
            let ny = o.symbols.len() as u32;
            if o.sections
                .iter()
                .any(|s| bad_str(s.name) || s.group.is_some_and(bad_str))
            {
                return Err(RecordError::SectionName { object });
            }
            for s in &o.symbols {
                if bad_str(s.name) || matches!(s.place, SymbolPlace::Section(x) if x >= ns) {
                    return Err(RecordError::Symbol { object });
                }
            }
            for &(from, to) in &o.edges {
                let ok = from < ns
                    && match to {
                        Target::Symbol(s) => s < ny,
                        Target::Section(s) => s < ns,
                    };
                if !ok {
                    return Err(RecordError::Edge { object });
                }
            }
        }
        Ok(())
    }
}

/// What [`LinkRecord::validate`] found pointing outside its table: the
/// record decoded, but is damaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The string pool's ends are out of order, past its text or inside
    /// a character.
    StringTable,
    /// A C string's id is not a string.
    CString,
    /// A section's name or group of object number `object`.
    SectionName { object: usize },
    /// A symbol's name or section of object number `object`.
    Symbol { object: usize },
    /// A relocation edge's section or target of object number `object`.
    Edge { object: usize },
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::StringTable => f.write_str("string table damaged"),
            RecordError::CString => f.write_str("C string index out of range"),
            RecordError::SectionName { object } => {
                write!(f, "object {object}: section name index out of range")
            }
            RecordError::Symbol { object } => write!(f, "object {object}: symbol out of range"),
            RecordError::Edge { object } => write!(f, "object {object}: edge out of range"),
        }
    }
}

impl std::error::Error for RecordError {}

/// Objects encoded one by one as Run-1 reads them, in the record's own
/// encoding ([`ObjectRecord`]'s postcard bytes), so that a link's objects
/// are never held as `Vec`s of records and encoded again at its end: for
/// 600 objects that was 10M instructions of building and 15M of encoding
/// through serde.
#[derive(Debug, Default)]
pub struct EncodedObjects {
    count: usize,
    bytes: Vec<u8>,
}

impl EncodedObjects {
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends one object, encoded as `ObjectRecord { path, member, offset,
    /// hash, sections, symbols, edges }` would be (tested against serde).
    pub fn push(
        &mut self,
        head: (&str, Option<&str>, u64, Hash128),
        sections: impl ExactSizeIterator<Item = SectionRecord>,
        symbols: impl ExactSizeIterator<Item = SymbolRecord>,
        edges: &[(u32, Target)],
    ) {
        let (path, member, offset, hash) = head;
        let out = &mut self.bytes;
        // Room for the object at once (a field is mostly a byte or two).
        out.reserve(32 + path.len() + sections.len() * 24 + symbols.len() * 12 + edges.len() * 6);
        let int = varint;
        let text = |out: &mut Vec<u8>, s: &str| {
            int(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        };
        text(out, path);
        match member {
            None => out.push(0),
            Some(m) => {
                out.push(1);
                text(out, m);
            }
        }
        int(out, offset);
        varint128(out, hash.0);
        int(out, sections.len() as u64);
        for s in sections {
            int(out, u64::from(s.name));
            int(out, s.kind as u64);
            int(out, s.flags);
            int(out, s.size);
            int(out, s.align);
            for v in [
                s.fdes,
                s.fde_bytes,
                s.pointers,
                s.locals,
                s.local_name_bytes,
            ] {
                int(out, u64::from(v));
            }
            match s.group {
                None => out.push(0),
                Some(g) => {
                    out.push(1);
                    int(out, u64::from(g));
                }
            }
        }
        int(out, symbols.len() as u64);
        for y in symbols {
            int(out, u64::from(y.name));
            int(out, y.binding as u64);
            int(out, y.visibility as u64);
            int(out, y.kind as u64);
            int(out, y.size);
            match y.place {
                SymbolPlace::Undefined => out.push(0),
                SymbolPlace::Common => out.push(1),
                SymbolPlace::Absolute => out.push(2),
                SymbolPlace::Section(i) => {
                    out.push(3);
                    int(out, u64::from(i));
                }
                SymbolPlace::Unrecorded => out.push(4),
            }
        }
        int(out, edges.len() as u64);
        for &(from, to) in edges {
            int(out, u64::from(from));
            let (variant, i) = match to {
                Target::Symbol(i) => (0, i),
                Target::Section(i) => (1, i),
            };
            out.push(variant);
            int(out, u64::from(i));
        }
        self.count += 1;
    }
}

/// The fields of [`LinkRecord`] before `objects`, and after: with the
/// objects between them, the record's encoding (postcard writes a struct as
/// its fields one after the other).
#[derive(Serialize)]
struct Head<'a> {
    identity: &'a Hash128,
    status: &'a LinkStatus,
    incomplete: &'a [String],
    linker: &'a str,
    recorded_at: u64,
    kind: OutputKind,
    output: &'a str,
    cwd: &'a str,
    argv: &'a [String],
    entry: &'a Option<String>,
    abi: &'a Abi,
    soname: &'a Option<String>,
    needed: &'a [String],
    version_defs: &'a [String],
    version_needs: &'a [VersionNeed],
    build_id: &'a Option<Vec<u8>>,
    output_linker: Linker,
    output_size: u64,
    output_sizes: &'a OutputSizes,
    layout: &'a Layout,
    exports: &'a [DynSymbol],
    imports: &'a [DynSymbol],
}

#[derive(Serialize)]
struct Tail<'a> {
    shared_inputs: &'a [String],
    scripts: &'a [String],
    cstrings: &'a [Str],
    strings: &'a StringPool,
}

/// Appends the encoding of `record` with `more` objects after its own.
pub(super) fn encode_record(
    out: &mut Vec<u8>,
    record: &LinkRecord,
    more: &EncodedObjects,
) -> Result<(), CodecError> {
    let r = record;
    append(
        out,
        &Head {
            identity: &r.identity,
            status: &r.status,
            incomplete: &r.incomplete,
            linker: &r.linker,
            recorded_at: r.recorded_at,
            kind: r.kind,
            output: &r.output,
            cwd: &r.cwd,
            argv: &r.argv,
            entry: &r.entry,
            abi: &r.abi,
            soname: &r.soname,
            needed: &r.needed,
            version_defs: &r.version_defs,
            version_needs: &r.version_needs,
            build_id: &r.build_id,
            output_linker: r.output_linker,
            output_size: r.output_size,
            output_sizes: &r.output_sizes,
            layout: &r.layout,
            exports: &r.exports,
            imports: &r.imports,
        },
    )?;
    varint(out, (r.objects.len() + more.count) as u64);
    for o in &r.objects {
        append(out, o)?;
    }
    out.extend_from_slice(&more.bytes);
    append(
        out,
        &Tail {
            shared_inputs: &r.shared_inputs,
            scripts: &r.scripts,
            cstrings: &r.cstrings,
            strings: &r.strings,
        },
    )
}

/// A record's strings: one text buffer and where each string ends. One
/// allocation instead of one per name, in memory and when loading.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StringPool {
    text: String,
    ends: Vec<u32>,
}

impl StringPool {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, id: Str) -> Option<&str> {
        let i = id as usize;
        let end = *self.ends.get(i)? as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text.get(start..end)
    }

    /// The bytes of `id`, as lookups compare them (no character
    /// boundary checks on the hot path of interning).
    fn bytes(&self, id: Str) -> Option<&[u8]> {
        let i = id as usize;
        let end = *self.ends.get(i)? as usize;
        let start = match i.checked_sub(1) {
            Some(p) => *self.ends.get(p)? as usize,
            None => 0,
        };
        self.text.as_bytes().get(start..end)
    }

    fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    fn push(&mut self, s: &str) -> Str {
        self.text.push_str(s);
        self.ends.push(self.text.len() as u32);
        (self.ends.len() - 1) as Str
    }

    /// Checks that the ends are ordered and on character boundaries.
    fn check(&self) -> bool {
        let mut prev = 0usize;
        self.ends.iter().all(|&e| {
            let e = e as usize;
            let ok = e >= prev && e <= self.text.len() && self.text.is_char_boundary(e);
            prev = e;
            ok
        })
    }
}

/// Builds a record's string pool: each distinct string once. An open
/// addressed table of ids with each id's hash beside it: one probe
/// sequence finds a name or the free slot for it, bytes are compared only
/// where the hashes match, and growing moves ids without hashing a name
/// again. (A map from hash to a chain of ids probed twice for each new
/// name and checked its UTF-8 before knowing it was new: 215
/// instructions a name in a C++ link of long names.)
#[derive(Default)]
pub struct StringTable {
    pool: StringPool,
    /// Id + 1 per slot (0: free); a power of two long, at most half full.
    slots: Vec<u32>,
    /// 64 - log2(slots.len()): a hash's top bits pick its first slot.
    shift: u32,
    /// The hash of each id.
    hashes: Vec<u64>,
}

impl StringTable {
    fn hash(s: &str) -> u64 {
        Self::hash_bytes(s.as_bytes())
    }

    fn hash_bytes(b: &[u8]) -> u64 {
        let mut h = FxHasher::default();
        h.write(b);
        h.finish()
    }

    /// The id of `b` (hash `h`), or the free slot where it would go.
    fn probe(&self, h: u64, b: &[u8]) -> Result<Str, usize> {
        let mask = self.slots.len().wrapping_sub(1);
        // An empty table (shift 64 would overflow) has no slot at all.
        let mut i = h.checked_shr(self.shift).unwrap_or(0) as usize & mask;
        loop {
            match self.slots.get(i).copied() {
                None | Some(0) => return Err(i),
                Some(s) => {
                    let id = s - 1;
                    if self.hashes.get(id as usize) == Some(&h) && self.pool.bytes(id) == Some(b) {
                        return Ok(id);
                    }
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Room for one more name: the table stays at most half full, so every
    /// probe ends at a free slot.
    fn reserve_one(&mut self) {
        if (self.pool.len() + 1) * 2 <= self.slots.len() {
            return;
        }
        let len = (self.slots.len() * 2).max(64);
        self.rebuild(len);
    }

    fn rebuild(&mut self, len: usize) {
        let len = len.next_power_of_two();
        self.slots = vec![0; len];
        self.shift = 64 - len.trailing_zeros();
        let mask = len - 1;
        for (id, &h) in self.hashes.iter().enumerate() {
            let mut i = (h >> self.shift) as usize & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = id as u32 + 1;
        }
    }

    /// A table with room for `names` names without growing (Run-1 interns
    /// tens of thousands: each doubling moves them all).
    pub fn with_capacity(names: usize) -> StringTable {
        let mut t = StringTable {
            pool: StringPool {
                text: String::with_capacity(names * 16),
                ends: Vec::with_capacity(names),
            },
            slots: Vec::new(),
            shift: 64,
            hashes: Vec::with_capacity(names),
        };
        t.rebuild(names.saturating_mul(2).max(64));
        t
    }

    pub fn intern(&mut self, s: &str) -> Str {
        self.intern_hashed(Self::hash(s), s)
    }

    fn intern_hashed(&mut self, h: u64, s: &str) -> Str {
        self.reserve_one();
        match self.probe(h, s.as_bytes()) {
            Ok(id) => id,
            Err(slot) => self.insert_at(slot, h, s),
        }
    }

    fn insert_at(&mut self, slot: usize, h: u64, s: &str) -> Str {
        let id = self.pool.push(s);
        self.hashes.push(h);
        if let Some(free) = self.slots.get_mut(slot) {
            *free = id + 1;
        }
        id
    }

    /// [`Self::intern`] of a name as the object spells it: its UTF-8 is
    /// checked once, when it is new (a name that is not UTF-8 is interned
    /// lossily).
    pub fn intern_bytes(&mut self, b: &[u8]) -> Str {
        let h = Self::hash_bytes(b);
        self.reserve_one();
        match self.probe(h, b) {
            Ok(id) => id,
            Err(slot) => match std::str::from_utf8(b) {
                Ok(s) => self.insert_at(slot, h, s),
                Err(_) => self.intern(&String::from_utf8_lossy(b)),
            },
        }
    }

    /// How many distinct strings it holds (ids are 0..len).
    pub fn len(&self) -> usize {
        self.pool.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pool.is_empty()
    }

    pub fn contains(&self, s: &str) -> bool {
        self.lookup(s).is_some()
    }

    /// The id of `s`, if interned.
    pub fn lookup(&self, s: &str) -> Option<Str> {
        self.probe(Self::hash(s), s.as_bytes()).ok()
    }

    /// The string of `id` ("?" for an id it never gave out).
    pub fn str(&self, id: Str) -> &str {
        self.pool.get(id).unwrap_or("?")
    }

    pub fn into_pool(self) -> StringPool {
        self.pool
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids in first-seen order whatever the table's size, through several
    /// doublings; every name found again; a name that is not UTF-8 once,
    /// lossily.
    #[test]
    fn string_table_ids_survive_growth() {
        assert_eq!(StringTable::default().lookup("x"), None);
        for mut t in [StringTable::default(), StringTable::with_capacity(0)] {
            let names: Vec<String> = (0..5000).map(|i| format!("_ZN{i}name{}", i % 7)).collect();
            for (i, n) in names.iter().enumerate() {
                assert_eq!(t.intern_bytes(n.as_bytes()), i as Str);
                assert_eq!(t.intern(&names[i / 2]), (i / 2) as Str);
            }
            assert_eq!(t.len(), names.len());
            assert!(
                names
                    .iter()
                    .enumerate()
                    .all(|(i, n)| t.lookup(n) == Some(i as Str))
            );
            assert_eq!(t.lookup("absent"), None);
            let bad = t.intern_bytes(b"a\xffb");
            assert_eq!(t.intern_bytes(b"a\xffb"), bad);
            assert_eq!(t.str(bad), "a\u{fffd}b");
            assert_eq!(t.intern(""), t.intern_bytes(b""));
            assert_eq!(t.into_pool().len(), names.len() + 2);
        }
    }

    /// Names whose FxHash is the same (16 bytes: the second word undoes
    /// what the first did to the hasher's state) each get their own id,
    /// through growth, and are found again: a table that trusted its
    /// hashes would give them one id.
    #[test]
    fn string_table_names_with_one_hash() {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let state = |w0: u64, w1: u64| w0.wrapping_mul(K).rotate_left(5) ^ w1;
        let base = *b"_ZN3fooE_ZN3barE";
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap());
        let target = state(word(&base[..8]), word(&base[8..]));
        let mut names = vec![String::from_utf8(base.to_vec()).unwrap()];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        while names.len() < 300 {
            // xorshift: candidate first words of printable ASCII.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let w0 = seed & 0x3f3f_3f3f_3f3f_3f3f | 0x4040_4040_4040_4040;
            let w1 = target ^ w0.wrapping_mul(K).rotate_left(5);
            let mut b = w0.to_le_bytes().to_vec();
            b.extend(w1.to_le_bytes());
            if b.iter().all(u8::is_ascii_graphic) {
                names.push(String::from_utf8(b).unwrap());
            }
        }
        names.sort();
        names.dedup();
        let hash = StringTable::hash(&names[0]);
        assert!(names.iter().all(|n| StringTable::hash(n) == hash));
        let mut t = StringTable::default();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(t.intern(n), i as Str, "{n}");
            assert_eq!(t.intern_bytes(names[i / 2].as_bytes()), (i / 2) as Str);
        }
        assert_eq!(t.len(), names.len());
        for (i, n) in names.iter().enumerate() {
            assert_eq!(t.lookup(n), Some(i as Str));
            assert_eq!(t.str(i as Str), n);
        }
        assert_eq!(t.lookup("_ZN3fooE_ZN3bazE"), None);
    }

    fn object(n: u32) -> ObjectRecord {
        ObjectRecord {
            path: format!("dir/o{n}.o"),
            member: (n % 2 == 1).then(|| format!("m{n}.o")),
            offset: u64::from(n) << 40,
            hash: Hash128(u128::MAX / 3 + u128::from(n)),
            sections: vec![
                SectionRecord {
                    name: 0,
                    kind: SectionKind::ArmExidx,
                    flags: u64::MAX,
                    size: 300,
                    align: 16,
                    fdes: 1,
                    fde_bytes: 200,
                    pointers: u32::MAX,
                    locals: 3,
                    local_name_bytes: 129,
                    group: Some(n),
                },
                SectionRecord {
                    name: 1,
                    kind: SectionKind::Text,
                    flags: 6,
                    size: 0,
                    align: 1,
                    fdes: 0,
                    fde_bytes: 0,
                    pointers: 0,
                    locals: 0,
                    local_name_bytes: 0,
                    group: None,
                },
            ],
            symbols: [
                SymbolPlace::Undefined,
                SymbolPlace::Common,
                SymbolPlace::Absolute,
                SymbolPlace::Section(1),
                SymbolPlace::Unrecorded,
            ]
            .into_iter()
            .enumerate()
            .map(|(i, place)| SymbolRecord {
                name: 1000 * i as u32,
                binding: [
                    Binding::Local,
                    Binding::Global,
                    Binding::Weak,
                    Binding::Unique,
                ][i % 4],
                visibility: [Visibility::Default, Visibility::Hidden][i % 2],
                kind: [SymbolType::Func, SymbolType::Other, SymbolType::Tls][i % 3],
                size: 1 << (i * 12),
                place,
            })
            .collect(),
            edges: vec![
                (0, Target::Symbol(4)),
                (1, Target::Section(0)),
                (1, Target::Symbol(200)),
            ],
        }
    }

    /// The objects encoded as Run-1 reads them, the record's own objects
    /// and serde's encoding of the whole record give the same bytes.
    #[test]
    fn objects_encoded_by_hand_are_serdes() {
        let seed = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz/seeds/record/link1.rec"
        ))
        .unwrap();
        let mut record: LinkRecord = crate::state::codec::decode_any(
            crate::state::codec::FileKind::LinkRecord,
            crate::state::RECORD_FORMAT_OLDEST..=crate::state::RECORD_FORMAT,
            &seed,
        )
        .unwrap();
        record.objects.extend((0..3).map(object));
        let whole = crate::state::codec::encode(
            crate::state::codec::FileKind::LinkRecord,
            crate::state::RECORD_FORMAT,
            &record,
        )
        .unwrap();
        for split in 0..=record.objects.len() {
            let mut r = record.clone();
            let mut more = EncodedObjects::default();
            for o in r.objects.split_off(split) {
                more.push(
                    (&o.path, o.member.as_deref(), o.offset, o.hash),
                    o.sections.iter().cloned(),
                    o.symbols.iter().cloned(),
                    &o.edges,
                );
            }
            let parts = crate::state::codec::encode_with(
                crate::state::codec::FileKind::LinkRecord,
                crate::state::RECORD_FORMAT,
                |out| encode_record(out, &r, &more),
            )
            .unwrap();
            assert!(parts == whole, "objects from {split} on encoded by hand");
        }
    }

    /// Each index that leaves its table is its own kind of damage, and
    /// says which object.
    #[test]
    fn validate_names_the_index_out_of_range() {
        let seed = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz/seeds/record/link1.rec"
        ))
        .unwrap();
        let good: LinkRecord = crate::state::codec::decode_any(
            crate::state::codec::FileKind::LinkRecord,
            crate::state::RECORD_FORMAT_OLDEST..=crate::state::RECORD_FORMAT,
            &seed,
        )
        .unwrap();
        assert_eq!(good.validate(), Ok(()));
        let far = good.strings.len() as Str;
        let mut r = good.clone();
        r.cstrings.push(far);
        assert_eq!(r.validate(), Err(RecordError::CString));
        let mut r = good.clone();
        let i = r
            .objects
            .iter()
            .rposition(|o| !o.sections.is_empty() && !o.symbols.is_empty())
            .expect("the seed has an object with sections and symbols");
        let sections = r.objects[i].sections.len() as u32;
        r.objects[i].edges.push((0, Target::Section(sections)));
        assert_eq!(r.validate(), Err(RecordError::Edge { object: i }));
        assert_eq!(
            r.validate().unwrap_err().to_string(),
            format!("object {i}: edge out of range")
        );
        r.objects[i].symbols[0].name = far;
        assert_eq!(r.validate(), Err(RecordError::Symbol { object: i }));
    }

    #[test]
    fn linkers_by_name() {
        for (name, linker) in [
            ("ld.lld", Linker::Lld),
            ("lld", Linker::Lld),
            ("/usr/bin/ld.lld-14", Linker::Lld),
            ("ld.mold", Linker::Mold),
            ("/usr/libexec/mold/ld", Linker::Bfd),
            ("mold", Linker::Mold),
            ("ld", Linker::Bfd),
            ("bfd", Linker::Bfd),
            ("x86_64-linux-gnu-ld.bfd", Linker::Bfd),
            ("x86_64-linux-gnu-ld.gold", Linker::Gold),
            ("gold", Linker::Gold),
        ] {
            assert_eq!(Linker::of_name(name), Some(linker), "{name}");
        }
        assert_eq!(Linker::of_name("cc"), None);
        assert_eq!(Linker::of_plugin_host("GNU ld 2.40"), Linker::Bfd);
        assert_eq!(Linker::of_plugin_host("gold 1.16"), Linker::Gold);
    }
}
