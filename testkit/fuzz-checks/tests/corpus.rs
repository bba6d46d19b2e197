//! Every committed seed in `fuzz/corpus/<target>/` through the target's
//! checks: the corpus stays a regression suite in the normal test build.

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus files in {}", dir.display());
    files
}

/// Runs `check` on every file; fails naming each file that failed.
fn replay(target: &str, check: fn(&[u8])) {
    let failed: Vec<String> = corpus(target)
        .into_iter()
        .filter(|path| {
            let data = std::fs::read(path).expect("readable corpus file");
            std::panic::catch_unwind(|| check(&data)).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(failed.is_empty(), "{target}: these corpus files fail its checks: {failed:#?}");
}

#[test]
fn filter_corpus() {
    replay("filter", tasktracker_fuzz_checks::filter);
}

#[test]
fn request_validation_corpus() {
    replay("request_validation", tasktracker_fuzz_checks::request_validation);
}
