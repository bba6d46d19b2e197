//! Hashes the migrations' sources (FNV-1a, 64 bits, over every file's path
//! and contents under ../migrations) into `MIGRATIONS_HASH`: the template
//! databases are named after it, so a changed migration gets a new template.

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
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    println!("cargo:rerun-if-changed={}", migrations.join("src").display());
    println!("cargo:rerun-if-changed={}", migrations.join("Cargo.toml").display());
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
        let relative = file.strip_prefix(&migrations).unwrap_or(file);
        feed(relative.to_string_lossy().as_bytes());
        feed(&[0]);
        feed(&fs::read(file).unwrap_or_default());
        feed(&[0]);
    }
    println!("cargo:rustc-env=MIGRATIONS_HASH={hash:016x}");
}
