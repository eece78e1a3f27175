//! Interleaved runs, shared by the link benchmarks.

/// Runs `measure(with_plugin)` both ways `rounds` + 1 times, alternating
/// which goes first so drift hits both alike (round 0 only warms the page
/// cache); returns the samples (plain, plugin).
pub fn interleaved<T>(rounds: usize, mut measure: impl FnMut(bool) -> T) -> (Vec<T>, Vec<T>) {
    let (mut plain, mut with) = (Vec::new(), Vec::new());
    for round in 0..rounds + 1 {
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for use_plugin in order {
            let s = measure(use_plugin);
            if round > 0 {
                if use_plugin {
                    with.push(s)
                } else {
                    plain.push(s)
                }
            }
        }
    }
    (plain, with)
}
