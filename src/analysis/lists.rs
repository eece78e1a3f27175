//! The files a user hands the merge: keep lists, the original tool's force
//! ("deps") files and its dlsym-signs files. Errors name the file and the
//! line, counted from 1 over every line of the file (blank ones too).

use std::fmt;
use std::path::{Path, PathBuf};

/// A list file that cannot be used: which file, which line, and why.
#[derive(Debug)]
pub struct ListError {
    pub path: PathBuf,
    /// 1-based; None for the file as a whole (unreadable, wrong count).
    pub line: Option<usize>,
    pub kind: ListErrorKind,
}

/// What is wrong with a list file or one of its lines.
#[derive(Debug)]
pub enum ListErrorKind {
    /// The file cannot be read (or is not UTF-8).
    Io(std::io::Error),
    /// A keep list line with more than one word.
    KeepLine { found: String },
    /// A force file whose first line is not a deps file's.
    NotDeps,
    /// A dlsym-signs file that does not start with its count.
    NoCount,
    /// A dlsym-signs line that is not `function argpos`.
    SignLine { found: String },
    /// A dlsym-signs file whose count is not its number of entries.
    Count { says: usize, has: usize },
}

impl fmt::Display for ListErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListErrorKind::Io(e) => e.fmt(f),
            ListErrorKind::KeepLine { found } => write!(
                f,
                "expected one name, glob or module:name per line, found {found:?}"
            ),
            ListErrorKind::NotDeps => {
                f.write_str("not a deps file (expected `<R|D|E|P> <nobj> <name> ...`)")
            }
            ListErrorKind::NoCount => f.write_str("expected the number of entries"),
            ListErrorKind::SignLine { found } => {
                write!(f, "expected `function argpos`, found {found:?}")
            }
            ListErrorKind::Count { says, has } => {
                write!(f, "the first line says {says} entries, the file has {has}")
            }
        }
    }
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(n) => write!(f, "{}:{n}: {}", self.path.display(), self.kind),
            None => write!(f, "{}: {}", self.path.display(), self.kind),
        }
    }
}

impl std::error::Error for ListError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ListErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

fn read(path: &Path) -> Result<String, ListError> {
    std::fs::read_to_string(path).map_err(|e| ListError {
        path: path.to_path_buf(),
        line: None,
        kind: ListErrorKind::Io(e),
    })
}

fn at(path: &Path, line: usize, kind: ListErrorKind) -> ListError {
    ListError {
        path: path.to_path_buf(),
        line: Some(line),
        kind,
    }
}

/// A keep entry: (module file name or SONAME, if scoped; name or glob).
pub type KeepEntry = (Option<String>, String);

/// Reads keep lists: one name or glob per line, optionally `module:name`;
/// `#` starts a comment.
pub fn read_keep_lists(files: &[PathBuf]) -> Result<Vec<KeepEntry>, ListError> {
    let mut keep = Vec::new();
    for f in files {
        let text = read(f)?;
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            if line.split_whitespace().count() > 1 {
                return Err(at(
                    f,
                    n + 1,
                    ListErrorKind::KeepLine {
                        found: line.to_string(),
                    },
                ));
            }
            match line.split_once(':') {
                Some((m, name)) if !m.is_empty() && !name.is_empty() => {
                    keep.push((Some(m.to_string()), name.to_string()))
                }
                _ => keep.push((None, line.to_string())),
            }
        }
    }
    Ok(keep)
}

/// The symbol names of a "deps" file of the original tool (its force files
/// use that format): lines `<weak><vis><tls> <section uid> <symbol>` after
/// the module description.
pub fn read_force_file(path: &Path) -> Result<Vec<String>, ListError> {
    let text = read(path)?;
    let (first_line, first) = text
        .lines()
        .enumerate()
        .find(|(_, l)| !l.trim().is_empty())
        .unwrap_or((0, ""));
    if !matches!(first.split_whitespace().next(), Some("R" | "D" | "E" | "P")) {
        return Err(at(path, first_line + 1, ListErrorKind::NotDeps));
    }
    let mut names = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [flags, uid, name] = f[..] {
            let b = flags.as_bytes();
            if b.len() == 3
                && b"DCWU".contains(&b[0])
                && b"dph".contains(&b[1])
                && b"T_".contains(&b[2])
                && uid.parse::<i64>().is_ok()
            {
                names.push(name.to_string());
            }
        }
    }
    Ok(names)
}

/// Reads the original tool's "dlsym-signs" format: the number of entries,
/// then one `function argpos` per line (a function may appear once per
/// argument). Blank lines are allowed anywhere.
pub fn read_dlsym_signs(path: &Path) -> Result<Vec<String>, ListError> {
    let text = read(path)?;
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let (count_line, count) = lines.next().unwrap_or((1, ""));
    let count: usize = count
        .trim()
        .parse()
        .map_err(|_| at(path, count_line, ListErrorKind::NoCount))?;
    let mut names = Vec::new();
    for (n, line) in lines {
        let mut f = line.split_whitespace();
        match (f.next(), f.next().map(str::parse::<u32>), f.next()) {
            (Some(name), Some(Ok(_)), None) => names.push(name.to_string()),
            _ => {
                return Err(at(
                    path,
                    n,
                    ListErrorKind::SignLine {
                        found: line.to_string(),
                    },
                ));
            }
        }
    }
    if names.len() != count {
        return Err(ListError {
            path: path.to_path_buf(),
            line: None,
            kind: ListErrorKind::Count {
                says: count,
                has: names.len(),
            },
        });
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dlsym_signs_number_every_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("signs");
        std::fs::write(
            &p,
            "4\ndlvsym 1\nmux_dlsym 0\nmux_dlsym 1\nsqlite3_load_extension 2\n",
        )
        .unwrap();
        assert_eq!(
            read_dlsym_signs(&p).unwrap(),
            vec!["dlvsym", "mux_dlsym", "mux_dlsym", "sqlite3_load_extension"]
        );
        // Blank lines count: the bad entry is on line 5.
        std::fs::write(&p, "\n2\n\ndlsym 1\ndlsym one\n").unwrap();
        let e = read_dlsym_signs(&p).unwrap_err();
        assert_eq!(e.line, Some(5), "{e}");
        assert!(
            e.to_string().contains(":5: expected `function argpos`"),
            "{e}"
        );
        std::fs::write(&p, "\n\nmany\n").unwrap();
        assert_eq!(read_dlsym_signs(&p).unwrap_err().line, Some(3));
        std::fs::write(&p, "5\ndlsym 1\n").unwrap();
        let e = read_dlsym_signs(&p).unwrap_err();
        assert!(
            matches!(e.kind, ListErrorKind::Count { says: 5, has: 1 }),
            "{e}"
        );
        assert!(e.to_string().contains("says 5 entries"), "{e}");
    }

    #[test]
    fn keep_lists_and_force_files() {
        let dir = tempfile::tempdir().unwrap();
        let k = dir.path().join("keep");
        std::fs::write(&k, "# comment\nfoo\nbar_*  # trailing\nlibx.so:baz\n").unwrap();
        assert_eq!(
            read_keep_lists(std::slice::from_ref(&k)).unwrap(),
            vec![
                (None, "foo".to_string()),
                (None, "bar_*".to_string()),
                (Some("libx.so".to_string()), "baz".to_string())
            ]
        );
        std::fs::write(&k, "\n# c\ntwo names\n").unwrap();
        let e = read_keep_lists(&[k]).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(
            matches!(&e.kind, ListErrorKind::KeepLine { found } if found == "two names"),
            "{e}"
        );

        // A deps file as the original tool writes it (its force files too).
        let d = dir.path().join("deps-force");
        std::fs::write(
            &d,
            "E 1 3 conftest _start 6bc56b8dff655fbf45091d3876f668af\n\
             3 0 /tmp/ccfzRuin.o 6bc56b8dff655fbf45091d3876f668ae\n\
             0 4 .text 0\n1 0\n0 4 .data 1\n1 0\n0 0 .bss 2\n0\n2\n\
             Dd_ 0 _start\n0\nWhT 1 tls_thing\n0\n",
        )
        .unwrap();
        assert_eq!(read_force_file(&d).unwrap(), vec!["_start", "tls_thing"]);
        std::fs::write(&d, "\nhello\n").unwrap();
        let e = read_force_file(&d).unwrap_err();
        assert!(matches!(e.kind, ListErrorKind::NotDeps), "{e}");
        assert!(e.to_string().contains(":2: not a deps file"), "{e}");
        let missing = dir.path().join("missing");
        let e = read_force_file(&missing).unwrap_err();
        assert!(
            matches!((&e.line, &e.kind), (None, ListErrorKind::Io(io))
                if io.kind() == std::io::ErrorKind::NotFound),
            "{e}"
        );
    }
}
