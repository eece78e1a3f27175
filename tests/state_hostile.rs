//! A hostile state directory: symbolic links, FIFOs and devices where
//! ldprune keeps its files, and merge locks left behind. Nothing is written
//! through a link, nothing hangs, nothing is read without bound, and a
//! link with the plugin still links, byte-identical, with a warning.

mod common;

use std::os::unix::fs::symlink;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Fixture, Linker, ldprune};

/// What a bounded command did: None if it ran out of time (and was killed).
struct Ran {
    code: Option<i32>,
    out: String,
}

/// Runs `cmd` with at most 2 GB of address space (a reader of /dev/zero
/// fails instead of taking the machine's memory) for at most `secs`.
fn bounded(f: &Fixture, cmd: &mut Command, secs: u64) -> Option<Ran> {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg("ulimit -v 2000000; exec \"$@\" 2>&1")
        .arg("sh")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .current_dir(f.dir.path());
    let log = f.path(&format!("bounded-{}.out", std::process::id()));
    let file = std::fs::File::create(&log).unwrap();
    // A group of its own: on time out, the linker under gcc goes too.
    let mut child = sh
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = std::fs::read_to_string(&log).unwrap_or_default();
            let _ = std::fs::remove_file(&log);
            return Some(Ran {
                code: status.code(),
                out,
            });
        }
        if Instant::now() > deadline {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(format!("-{}", child.id()))
                .status();
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn mkfifo(p: &Path) {
    assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
}

/// One recorded library, so the state directory exists and holds a record.
fn recorded(linker: Linker) -> Fixture {
    let f = Fixture::new(linker);
    f.write("a.c", "int a(void) { return 1; }\n");
    f.compile("a.c", &[]);
    f.link(&["-shared", "-o", "liba.so", "a.o"]);
    f
}

fn said(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Run-2 arguments for this fixture's linker.
fn run2_args(f: &Fixture) -> Vec<String> {
    f.plugin_args()
        .into_iter()
        .map(|a| a.replace("run=1", "run=2"))
        .collect()
}

/// A Run-2 link with no decisions logs to apply.log; a linked apply.log is
/// not appended to, and the link says so.
fn apply_log_link(linker: Linker) {
    let f = recorded(linker);
    f.write("victim", "keep\n");
    symlink(f.path("victim"), f.state().join("apply.log")).unwrap();
    let out = f.run(
        Command::new("gcc")
            .args(run2_args(&f))
            .args(["-shared", "-o", "liba.so", "a.o"]),
    );
    assert_eq!(std::fs::read_to_string(f.path("victim")).unwrap(), "keep\n");
    let said = said(&out);
    assert!(
        said.contains("apply.log: is a symbolic link"),
        "the refusal is said: {said}"
    );
}
both_linkers!(linked_apply_log_is_not_appended_to, apply_log_link);

/// links/ or tmp/ a link to another directory: nothing is written there,
/// the link goes on byte-identical with one warning naming the entry.
fn linked_subdir(linker: Linker, sub: &str) {
    let f = recorded(linker);
    let elsewhere = f.path("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let dir = f.state().join(sub);
    std::fs::rename(&dir, f.path("moved")).unwrap();
    symlink(&elsewhere, &dir).unwrap();
    f.write("b.c", "int b(void) { return 2; }\n");
    f.compile("b.c", &[]);
    let out = f.link_identical(&["-shared", "-o", "libb.so", "b.o"]);
    let said = said(&out);
    assert!(
        said.contains(&format!("{}: is a symbolic link", dir.display())),
        "{said}"
    );
    assert_eq!(
        std::fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing written through {sub}/"
    );
}

fn linked_links(linker: Linker) {
    linked_subdir(linker, "links");
}
both_linkers!(linked_links_dir_is_not_written_through, linked_links);

fn linked_tmp(linker: Linker) {
    linked_subdir(linker, "tmp");
}
both_linkers!(linked_tmp_dir_is_not_written_through, linked_tmp);

/// A marker linked to another file: its content never reaches the build
/// log or status, and the link goes on unchanged.
fn linked_marker(linker: Linker) {
    let f = recorded(linker);
    f.write("secret", "SECRET-CONTENT-1234\n");
    let marker = f.state().join("ldprune-state");
    std::fs::remove_file(&marker).unwrap();
    symlink(f.path("secret"), &marker).unwrap();
    f.write("b.c", "int b(void) { return 2; }\n");
    f.compile("b.c", &[]);
    let out = f.link_identical(&["-shared", "-o", "libb.so", "b.o"]);
    let said = said(&out);
    assert!(!said.contains("SECRET"), "{said}");
    assert!(
        said.contains("ldprune-state") && said.contains("symbolic link"),
        "{said}"
    );
    let st = bounded(&f, ldprune().args(["status", "--state", "state"]), 30).unwrap();
    assert!(!st.out.contains("SECRET"), "{}", st.out);
    assert_eq!(st.code, Some(2), "{}", st.out);
}
both_linkers!(linked_marker_is_not_printed, linked_marker);

/// A FIFO in links/ neither hangs status nor merge; both name it.
#[test]
fn fifo_in_links_does_not_hang_status_or_merge() {
    let f = recorded(Linker::Bfd);
    let fifo = f.state().join("links/0000-fifo.rec");
    mkfifo(&fifo);
    let st = bounded(&f, ldprune().args(["status", "--state", "state"]), 30)
        .expect("status does not hang on a FIFO");
    assert_eq!(st.code, Some(1), "{}", st.out);
    assert!(
        st.out
            .contains("state/links/0000-fifo.rec: is a FIFO, not a regular file"),
        "{}",
        st.out
    );
    let m = bounded(&f, ldprune().args(["merge", "--state", "state"]), 30)
        .expect("merge does not hang on a FIFO");
    assert!(m.out.contains("is a FIFO"), "{}", m.out);
    let m = bounded(
        &f,
        ldprune().args(["merge", "--state", "state", "--skip-bad"]),
        30,
    )
    .expect("merge --skip-bad does not hang on a FIFO");
    assert_eq!(m.code, Some(0), "{}", m.out);
}

/// A record that is a link to /dev/zero is refused at once, not read.
#[test]
fn link_to_dev_zero_is_refused_quickly() {
    let f = recorded(Linker::Bfd);
    let zero = f.state().join("links/0000-zero.rec");
    symlink("/dev/zero", &zero).unwrap();
    let t = Instant::now();
    let st = bounded(&f, ldprune().args(["status", "--state", "state"]), 30)
        .expect("status does not read /dev/zero forever");
    assert!(t.elapsed() < Duration::from_secs(20));
    assert_eq!(st.code, Some(1), "{}", st.out);
    assert!(
        st.out
            .contains("state/links/0000-zero.rec: is a symbolic link"),
        "{}",
        st.out
    );
}

/// A Run-2 link whose decisions file is a FIFO does not hang: it links
/// unchanged and says why.
fn fifo_decisions(linker: Linker) {
    let f = recorded(linker);
    mkfifo(&f.state().join("decisions.ldpd"));
    let mut cmd = Command::new("gcc");
    cmd.args(run2_args(&f))
        .args(["-shared", "-o", "liba.so", "a.o"]);
    let ran = bounded(&f, &mut cmd, 60).expect("a Run-2 link does not hang on a FIFO");
    assert_eq!(ran.code, Some(0), "{}", ran.out);
    let log = std::fs::read_to_string(f.state().join("apply.log")).unwrap();
    assert!(log.contains("decisions.ldpd: is a FIFO"), "{log}");
}
both_linkers!(fifo_decisions_do_not_hang_run2, fifo_decisions);

/// A lock left by a merge that died (its pid in the file, nobody holding
/// it) is taken over with a message; the merge writes its decisions.
#[test]
fn stale_merge_lock_is_taken_over() {
    let f = recorded(Linker::Bfd);
    let lock = f.state().join("decisions.lock");
    std::fs::write(&lock, "4194303\n").unwrap();
    let m = bounded(&f, ldprune().args(["merge", "--state", "state"]), 60).unwrap();
    assert_eq!(m.code, Some(0), "{}", m.out);
    assert!(
        m.out.contains("taking over the lock") && m.out.contains("4194303"),
        "{}",
        m.out
    );
    assert!(f.state().join("decisions.ldpd").exists());
    // Released cleanly: the next merge finds no stale lock.
    let m = bounded(&f, ldprune().args(["merge", "--state", "state"]), 60).unwrap();
    assert_eq!(m.code, Some(0), "{}", m.out);
    assert!(!m.out.contains("taking over"), "{}", m.out);
}

/// A lock held by a running process is respected, and the holder named.
#[test]
fn live_merge_lock_is_respected() {
    let f = recorded(Linker::Bfd);
    let lock = f.state().join("decisions.lock");
    std::fs::write(&lock, "").unwrap();
    // flock(1) holds the lock while its child sleeps; the pid in the file
    // is what a merge writes.
    let mut holder = Command::new("flock")
        .arg("-n")
        .arg(&lock)
        .args(["sh", "-c", "echo $$ > \"$0\"; exec sleep 30"])
        .arg(&lock)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(&lock)
        .unwrap_or_default()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "flock(1) did not take the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = std::fs::read_to_string(&lock).unwrap().trim().to_string();
    let m = bounded(&f, ldprune().args(["merge", "--state", "state"]), 60).unwrap();
    // The library says which merge holds it, as a kind a caller can wait on.
    use ldprune::state::decisions::{self, DecisionsError};
    let dir = ldprune::state::StateDir::open(&f.state()).unwrap();
    let e = decisions::write(&dir, Vec::new()).unwrap_err();
    assert!(
        matches!(&e.problem, ldprune::state::Problem::Decisions(DecisionsError::Locked { holder: Some(p) })
            if *p == pid),
        "{e}"
    );
    let _ = holder.kill();
    let _ = holder.wait();
    assert_ne!(m.code, Some(0), "{}", m.out);
    assert!(
        m.out.contains(&format!(
            "another merge (pid {pid}) is writing the decisions"
        )),
        "{}",
        m.out
    );
    assert!(!f.state().join("decisions.ldpd").exists());
}

/// status names every entry that is in the wrong place.
#[test]
fn status_reports_misplaced_entries() {
    let f = recorded(Linker::Bfd);
    f.write("victim", "keep\n");
    symlink(f.path("victim"), f.state().join("wrapper.log")).unwrap();
    mkfifo(&f.state().join("apply.log"));
    let st = bounded(&f, ldprune().args(["status", "--state", "state"]), 30).unwrap();
    assert_eq!(st.code, Some(1), "{}", st.out);
    assert!(
        st.out.contains("wrapper.log: is a symbolic link"),
        "{}",
        st.out
    );
    assert!(
        st.out.contains("apply.log: is a FIFO, not a regular file"),
        "{}",
        st.out
    );
}

/// status tells files of tmp/ that a running link may still be writing
/// (its process alive, or written within the hour: a link of another PID
/// namespace) from those of links that are gone, and calls only the
/// latter safe to delete. Unfinished files are no error: exit 0.
#[test]
fn status_tells_running_links_files_from_abandoned_ones() {
    let f = recorded(Linker::Bfd);
    let tmp = f.state().join("tmp");
    // This test's own pid: a live writer. Above pid_max: a gone one.
    let live = tmp.join(format!("x.rec.{}.1.0.tmp", std::process::id()));
    let gone = tmp.join("y.rec.999999999.1.0.tmp");
    let fresh_gone = tmp.join("z.rec.999999998.1.0.tmp");
    let old = std::time::SystemTime::now() - Duration::from_secs(2 * 3600);
    for p in [&live, &gone, &fresh_gone] {
        let file = std::fs::File::create(p).unwrap();
        if p != &fresh_gone {
            file.set_modified(old).unwrap();
        }
    }
    let st = bounded(&f, ldprune().args(["status", "--state", "state"]), 30).unwrap();
    assert_eq!(st.code, Some(0), "{}", st.out);
    assert!(
        st.out.contains("1 unfinished file(s)") && st.out.contains("safe to delete"),
        "{}",
        st.out
    );
    assert!(
        st.out.contains("2 file(s) in ") && st.out.contains("may belong to links still running"),
        "{}",
        st.out
    );
}
