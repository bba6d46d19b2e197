//! Hashes this crate's sources (FNV-1a, 64 bits, over every file's path and
//! contents under `src/`, and `Cargo.toml`) into `MIGRATIONS_HASH`, exported
//! as `tasktracker_migrations::SOURCE_HASH`: the test kit names its template databases after it, so
//! a changed migration gets a new template.
//!
//! The hash lives here, not in the test kit, so that the watched paths are
//! inside the package: cargo keeps them relative, and a second checkout
//! sharing the target directory reruns this script on its own files instead
//! of reusing a hash of the first checkout's.

use std::{fs, path::Path};

fn visit(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            visit(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn main() {
    // Read when the script runs, not when it is compiled: a build script
    // compiled for another checkout sharing the target directory is reused
    // as is, and must hash this checkout's files.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let migrations = Path::new(&manifest_dir);
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    let mut files = vec![migrations.join("Cargo.toml")];
    visit(&migrations.join("src"), &mut files);
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for file in &files {
        let relative = file.strip_prefix(migrations).unwrap_or(file);
        feed(relative.to_string_lossy().as_bytes());
        feed(&[0]);
        feed(&fs::read(file).unwrap_or_default());
        feed(&[0]);
    }
    println!("cargo:rustc-env=MIGRATIONS_HASH={hash:016x}");
}
