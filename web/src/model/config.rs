//! The runtime configuration read from `config.json` next to `index.html`,
//! so one bundle serves every environment.

use super::json::{self, Scalar};

/// The app's runtime configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Origin (and optional path prefix) of the gRPC-web API, no trailing slash.
    pub api_base_url: String,
}

/// Why a `config.json` was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// Not JSON of the expected shape.
    Malformed(String),
    /// `api_base_url` is not an http(s) URL.
    BadUrl(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "config.json is not valid: {why}"),
            Self::BadUrl(url) => write!(f, "config.json: api_base_url {url:?} is not an http(s) URL"),
        }
    }
}

impl Config {
    /// Parses `config.json`; `None` (file missing) or an empty `api_base_url`
    /// means the API is on the page's own origin.
    pub fn parse(text: Option<&str>, page_origin: &str) -> Result<Self, ConfigError> {
        // What `config.json` may hold: `api_base_url`, a string or null.
        // Unknown keys are ignored.
        let api_base_url = match text.map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let members = json::parse_object(text).map_err(ConfigError::Malformed)?;
                match members.into_iter().find(|(key, _)| key == "api_base_url").map(|(_, value)| value) {
                    None | Some(Scalar::Null) => None,
                    Some(Scalar::String(url)) => Some(url),
                    Some(_) => return Err(ConfigError::Malformed("api_base_url must be a string".into())),
                }
            }
        };
        let url = api_base_url.as_deref().map(str::trim).unwrap_or_default();
        if url.is_empty() {
            return Ok(Self { api_base_url: page_origin.trim_end_matches('/').to_owned() });
        }
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        let host = url.split_once("://").map(|(_, rest)| rest).unwrap_or_default();
        if !scheme_ok || host.is_empty() || host.starts_with('/') || url.chars().any(char::is_whitespace) {
            return Err(ConfigError::BadUrl(url.to_owned()));
        }
        Ok(Self { api_base_url: url.trim_end_matches('/').to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "http://127.0.0.1:8080";

    #[test]
    fn missing_or_empty_means_same_origin() {
        for text in [None, Some(""), Some("{}"), Some(r#"{"api_base_url": ""}"#), Some(r#"{"api_base_url": null}"#)] {
            assert_eq!(Config::parse(text, ORIGIN).unwrap().api_base_url, ORIGIN, "{text:?}");
        }
    }

    #[test]
    fn a_url_is_used_without_its_trailing_slash() {
        let config = Config::parse(Some(r#"{"api_base_url": "https://api.example.com/"}"#), ORIGIN).unwrap();
        assert_eq!(config.api_base_url, "https://api.example.com");
        let config = Config::parse(Some(r#"{"api_base_url": "http://localhost:8080", "other": 1}"#), ORIGIN).unwrap();
        assert_eq!(config.api_base_url, "http://localhost:8080");
    }

    #[test]
    fn broken_files_and_urls_are_rejected() {
        assert!(matches!(Config::parse(Some("{"), ORIGIN), Err(ConfigError::Malformed(_))));
        assert!(matches!(Config::parse(Some(r#"{"api_base_url": 3}"#), ORIGIN), Err(ConfigError::Malformed(_))));
        for url in ["ftp://x", "javascript:alert(1)", "https://", "http:///x", "https://a b"] {
            let text = format!(r#"{{"api_base_url": {url:?}}}"#);
            assert!(matches!(Config::parse(Some(&text), ORIGIN), Err(ConfigError::BadUrl(_))), "{url}");
        }
    }
}
