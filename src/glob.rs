//! `*` and `?` globs for keep lists, `--exclude`, `explain` and ld.so.conf
//! `include` lines; any other byte matches itself.
//!
//! Matched without recursion: on a mismatch only the most recent `*`
//! takes one more byte, so the cost is at most pattern × name steps (a
//! recursive matcher made 10.7M calls for `*a*a*a*a*a*b` against a
//! 40-byte name).

/// Whether `name` matches `pattern` as a whole.
pub fn glob(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    // The last `*` seen, and where in the name it started matching.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                // Let the `*` swallow one more byte and retry after it.
                Some((sp, sn)) => {
                    star = Some((sp, sn + 1));
                    pi = sp + 1;
                    ni = sn + 1;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("foo_*", "foo_bar"));
        assert!(glob("*", ""));
        assert!(glob("", ""));
        assert!(!glob("", "a"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(!glob("foo", "foobar"));
        assert!(glob("*bar", "foobar"));
        assert!(glob("f*o*r", "foobar"));
        assert!(!glob("f*o*z", "foobar"));
        assert!(glob("**a", "ba"));
        assert!(glob("*?", "x"));
        assert!(!glob("*?", ""));
        assert!(glob("a*b*c", "aXbYbZc"));
        assert!(!glob("a*b*c", "aXbYbZ"));
    }

    /// The case that made the recursive matcher exponential: the answer
    /// is still right (and comes after pattern × name steps at most).
    #[test]
    fn many_stars_against_a_long_name() {
        let name = "a".repeat(40);
        assert!(!glob("*a*a*a*a*a*b", &name));
        assert!(glob("*a*a*a*a*a*", &name));
        assert!(glob(&format!("{name}*"), &name));
    }
}
