//! Records the git revision for the build-info metric.

use std::process::Command;

fn main() {
    // CI and image builds pass the revision; a checkout can ask git.
    let revision = std::env::var("TASKTRACKER_REVISION").ok().filter(|value| !value.is_empty()).or_else(|| {
        let output = Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    });
    println!("cargo:rustc-env=TASKTRACKER_REVISION={}", revision.unwrap_or_else(|| "unknown".into()));
    println!("cargo:rerun-if-env-changed=TASKTRACKER_REVISION");
    println!("cargo:rerun-if-changed=../.git/HEAD");
}
