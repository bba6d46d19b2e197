//! The saved configuration: `$XDG_CONFIG_HOME/tasktracker/config.toml`
//! (`~/.config/tasktracker/config.toml` by default), mode 0600 since it
//! holds credentials.

use std::{fmt, io::Write, path::PathBuf};

use anyhow::Context;
use etcetera::BaseStrategy;
use serde::{Deserialize, Serialize};

/// The server used when neither `--server`, `TASKTRACKER_SERVER` nor the
/// configuration names one: a local `bash scripts/run.sh`.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// What `login` saves.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Config {
    /// The server URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,
}

/// How the client signs in.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Credentials {
    /// An API token, sent as it is.
    ApiToken { token: String },
    /// A signed-in session: a short-lived access token, renewed with the
    /// refresh token when it is about to lapse.
    Session {
        access_token: String,
        /// Seconds since the Unix epoch.
        access_token_expires: i64,
        refresh_token: String,
    },
}

impl fmt::Debug for Credentials {
    // Never print a secret, even in a debug message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ApiToken { .. } => f.write_str("ApiToken { .. }"),
            Self::Session { access_token_expires, .. } => {
                f.debug_struct("Session").field("access_token_expires", access_token_expires).finish_non_exhaustive()
            }
        }
    }
}

impl Config {
    /// Where the configuration lives.
    pub fn path() -> anyhow::Result<PathBuf> {
        let base = etcetera::choose_base_strategy().context("cannot find the home directory")?;
        Ok(base.config_dir().join("tasktracker").join("config.toml"))
    }

    /// The saved configuration; empty if there is none yet.
    pub fn load() -> anyhow::Result<Self> {
        let path = Self::path()?;
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).with_context(|| format!("{} is not valid", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Writes the configuration: to a new file readable by its owner only,
    /// then renamed over the old one, so it is never seen half written.
    pub fn save(&self) -> anyhow::Result<PathBuf> {
        let path = Self::path()?;
        let directory = path.parent().context("the configuration path has no directory")?;
        std::fs::create_dir_all(directory).with_context(|| format!("cannot create {}", directory.display()))?;
        let text = toml::to_string(self).context("cannot encode the configuration")?;
        let scratch = directory.join(format!(".config.toml.{}", std::process::id()));
        let written = (|| {
            let mut file = private_file(&scratch)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&scratch, &path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&scratch);
        }
        written.with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }
}

#[cfg(unix)]
fn private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_round_trip_through_toml() {
        let config = Config {
            server: Some("https://tasks.example.com".into()),
            credentials: Some(Credentials::Session {
                access_token: "a".into(),
                access_token_expires: 1_800_000_000,
                refresh_token: "r".into(),
            }),
        };
        let text = toml::to_string(&config).unwrap();
        assert!(text.contains("kind = \"session\""), "{text}");
        let back: Config = toml::from_str(&text).unwrap();
        assert!(matches!(back.credentials, Some(Credentials::Session { access_token_expires: 1_800_000_000, .. })));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let token = Credentials::ApiToken { token: "secret-value".into() };
        assert!(!format!("{token:?}").contains("secret-value"));
    }
}
