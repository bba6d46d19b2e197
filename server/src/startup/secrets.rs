//! What the server needs before it can start: the database URL (or the
//! embedded default) and the token signing secret.

use std::path::Path;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use crate::config::Settings;

/// The database URL to use, and whether it is the embedded local default.
pub(super) fn database_url(settings: &Settings) -> anyhow::Result<(SecretString, bool)> {
    if let Some(url) = &settings.database_url {
        return Ok((url.clone(), false));
    }
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create data directory {}", settings.data_dir.display()))?;
    let file = settings.data_dir.join("tasktracker.sqlite3");
    Ok((SecretString::from(format!("sqlite://{}?mode=rwc", file.display())), true))
}

/// The token signing secret: from the environment, or for the local default
/// only, generated once and kept in the data directory.
pub(super) fn token_secret(settings: &Settings, local: bool) -> anyhow::Result<SecretString> {
    if let Some(secret) = &settings.token_secret {
        anyhow::ensure!(secret.expose_secret().len() >= 32, "TASKTRACKER_TOKEN_SECRET must be at least 32 bytes");
        return Ok(secret.clone());
    }
    anyhow::ensure!(local, "TASKTRACKER_TOKEN_SECRET is required when DATABASE_URL is set");
    let path = settings.data_dir.join("token-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(SecretString::from(existing.trim().to_owned()));
    }
    let secret = crate::auth::tokens::random_secret();
    write_private(&path, &secret)?;
    tracing::info!(path = %path.display(), "generated a token signing secret for local use");
    Ok(SecretString::from(secret))
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}
