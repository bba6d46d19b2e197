//! Identity providers' settings: `TASKTRACKER_OIDC_PROVIDERS` names them
//! (`acme,corp`), and each has `TASKTRACKER_OIDC_<ID>_*` variables. They are
//! read and checked once at start-up; an error names the variable.

use openidconnect::url;
use secrecy::SecretString;

use super::super::Role;
use crate::domain::ProjectId;

/// One identity provider as configured.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// Short id (`acme`): in the API, in metrics, and in the variables' names.
    pub id: String,
    /// What the sign-in button says.
    pub display_name: String,
    /// The issuer URL; discovery is fetched from
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Email domains allowed to sign in (lowercase); empty allows any.
    pub allowed_domains: Vec<String>,
    /// Memberships granted on each sign-in by the ID token's claims.
    pub role_mapping: Vec<RoleGrant>,
}

/// `claim:value=projects/{id}:role`: a user whose ID token's `claim` is
/// `value` (or is a list holding it) becomes a member of `project` with at
/// least `role`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGrant {
    pub claim: String,
    pub value: String,
    pub project: ProjectId,
    pub role: Role,
}

/// The longest provider id (it is stored in 32 characters).
const MAX_ID_CHARS: usize = 32;

/// Every provider `ids` names, read through `lookup` (the environment);
/// an error names the offending variable.
pub fn from_env(ids: &[String], lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Vec<ProviderSettings>> {
    let mut providers: Vec<ProviderSettings> = Vec::new();
    for id in ids.iter().map(|id| id.trim()).filter(|id| !id.is_empty()) {
        let valid = id.len() <= MAX_ID_CHARS
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        anyhow::ensure!(
            valid,
            "TASKTRACKER_OIDC_PROVIDERS: `{id}` is not a provider id (1 to {MAX_ID_CHARS} characters: a lowercase letter, then lowercase letters, digits or `_`)"
        );
        anyhow::ensure!(
            providers.iter().all(|provider| provider.id != id),
            "TASKTRACKER_OIDC_PROVIDERS: `{id}` is named twice"
        );
        let prefix = format!("TASKTRACKER_OIDC_{}_", id.to_ascii_uppercase());
        let var = |suffix: &str| {
            let name = format!("{prefix}{suffix}");
            let value = lookup(&name).map(|value| value.trim().to_owned()).filter(|value| !value.is_empty());
            (name, value)
        };
        let required = |suffix: &str| {
            let (name, value) = var(suffix);
            value
                .ok_or_else(|| anyhow::anyhow!("{name} is required (provider `{id}` is in TASKTRACKER_OIDC_PROVIDERS)"))
        };
        let issuer = required("ISSUER")?;
        check_issuer(&issuer).map_err(|error| anyhow::anyhow!("{prefix}ISSUER: {error}"))?;
        let client_id = required("CLIENT_ID")?;
        let client_secret = SecretString::from(required("CLIENT_SECRET")?);
        let display_name = var("DISPLAY_NAME").1.unwrap_or_else(|| id.to_owned());
        let allowed_domains = match var("ALLOWED_DOMAINS").1 {
            Some(domains) => {
                parse_domains(&domains).map_err(|error| anyhow::anyhow!("{prefix}ALLOWED_DOMAINS: {error}"))?
            }
            None => Vec::new(),
        };
        let role_mapping = match var("ROLE_MAPPING").1 {
            Some(mapping) => {
                parse_role_mapping(&mapping).map_err(|error| anyhow::anyhow!("{prefix}ROLE_MAPPING: {error}"))?
            }
            None => Vec::new(),
        };
        providers.push(ProviderSettings {
            id: id.to_owned(),
            display_name,
            issuer,
            client_id,
            client_secret,
            allowed_domains,
            role_mapping,
        });
    }
    Ok(providers)
}

/// An issuer must be `https://`, but for a loopback address (development
/// and tests).
fn check_issuer(issuer: &str) -> Result<(), String> {
    let url = url::Url::parse(issuer).map_err(|error| format!("`{issuer}` is not a URL: {error}"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => domain == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!("`{issuer}` must be an https:// URL (http:// only for localhost)")),
    }
}

/// `example.com,corp.example.com`, lowercased.
fn parse_domains(domains: &str) -> Result<Vec<String>, String> {
    domains
        .split(',')
        .map(|domain| domain.trim().trim_start_matches('@').to_ascii_lowercase())
        .filter(|domain| !domain.is_empty())
        .map(|domain| {
            let valid = domain.contains('.')
                && domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
                && !domain.starts_with('.')
                && !domain.ends_with('.');
            if valid { Ok(domain) } else { Err(format!("`{domain}` is not a domain name")) }
        })
        .collect()
}

/// `groups:eng=projects/{id}:editor;groups:leads=projects/{id}:owner`.
fn parse_role_mapping(mapping: &str) -> Result<Vec<RoleGrant>, String> {
    const SHAPE: &str =
        "expected `claim:value=projects/{project}:role` (role viewer, editor or owner), `;` between rules";
    mapping
        .split(';')
        .map(str::trim)
        .filter(|rule| !rule.is_empty())
        .map(|rule| {
            let (condition, grant) = rule.rsplit_once('=').ok_or_else(|| format!("`{rule}`: {SHAPE}"))?;
            let (claim, value) = condition.split_once(':').ok_or_else(|| format!("`{rule}`: {SHAPE}"))?;
            let (project, role) = grant.rsplit_once(':').ok_or_else(|| format!("`{rule}`: {SHAPE}"))?;
            let (claim, value) = (claim.trim(), value.trim());
            if claim.is_empty() || value.is_empty() {
                return Err(format!("`{rule}`: {SHAPE}"));
            }
            let project = ProjectId::parse_name("project", project.trim()).map_err(|_| {
                format!("`{rule}`: `{}` is not a project name (`projects/{{project}}`)", project.trim())
            })?;
            let role = match role.trim() {
                "viewer" => Role::Viewer,
                "editor" => Role::Editor,
                "owner" => Role::Owner,
                other => return Err(format!("`{rule}`: unknown role `{other}` (viewer, editor or owner)")),
            };
            Ok(RoleGrant { claim: claim.to_owned(), value: value.to_owned(), project, role })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| map.get(name).cloned()
    }

    const PROJECT: &str = "projects/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

    #[test]
    fn reads_a_provider_and_its_rules() {
        let mapping = format!("groups:eng={PROJECT}:editor; groups:leads={PROJECT}:owner");
        let providers = from_env(
            &["acme".to_owned()],
            env(&[
                ("TASKTRACKER_OIDC_ACME_ISSUER", "https://login.acme.test"),
                ("TASKTRACKER_OIDC_ACME_CLIENT_ID", "tasktracker"),
                ("TASKTRACKER_OIDC_ACME_CLIENT_SECRET", "s3cret"),
                ("TASKTRACKER_OIDC_ACME_DISPLAY_NAME", "Acme SSO"),
                ("TASKTRACKER_OIDC_ACME_ALLOWED_DOMAINS", "Acme.test, @corp.acme.test"),
                ("TASKTRACKER_OIDC_ACME_ROLE_MAPPING", &mapping),
            ]),
        )
        .unwrap();
        let [acme] = providers.as_slice() else { panic!("one provider: {providers:?}") };
        assert_eq!(acme.display_name, "Acme SSO");
        assert_eq!(acme.allowed_domains, ["acme.test", "corp.acme.test"]);
        assert_eq!(acme.role_mapping.len(), 2);
        assert_eq!(acme.role_mapping[1].claim, "groups");
        assert_eq!(acme.role_mapping[1].value, "leads");
        assert_eq!(acme.role_mapping[1].role, Role::Owner);
        assert_eq!(acme.role_mapping[1].project.name(), PROJECT);
        assert!(!format!("{acme:?}").contains("s3cret"), "the secret never prints");
    }

    #[test]
    fn errors_name_the_variable() {
        let base = [
            ("TASKTRACKER_OIDC_ACME_ISSUER", "https://login.acme.test"),
            ("TASKTRACKER_OIDC_ACME_CLIENT_ID", "tasktracker"),
            ("TASKTRACKER_OIDC_ACME_CLIENT_SECRET", "s3cret"),
        ];
        let error = |extra: &[(&str, &str)], ids: &[&str]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            let ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
            from_env(&ids, env(&pairs)).unwrap_err().to_string()
        };
        assert!(error(&[], &["Acme"]).starts_with("TASKTRACKER_OIDC_PROVIDERS"));
        assert!(error(&[], &["acme", "acme"]).contains("named twice"));
        assert!(error(&[], &["corp"]).starts_with("TASKTRACKER_OIDC_CORP_ISSUER is required"));
        let insecure = error(&[("TASKTRACKER_OIDC_ACME_ISSUER", "http://login.acme.test")], &["acme"]);
        assert!(insecure.starts_with("TASKTRACKER_OIDC_ACME_ISSUER:"), "{insecure}");
        let mapping = error(&[("TASKTRACKER_OIDC_ACME_ROLE_MAPPING", "groups:eng=projects/x:admin")], &["acme"]);
        assert!(mapping.starts_with("TASKTRACKER_OIDC_ACME_ROLE_MAPPING:"), "{mapping}");
        let rule = format!("groups:eng={PROJECT}:admin");
        let role = error(&[("TASKTRACKER_OIDC_ACME_ROLE_MAPPING", &rule)], &["acme"]);
        assert!(role.contains("unknown role `admin`"), "{role}");
        let domains = error(&[("TASKTRACKER_OIDC_ACME_ALLOWED_DOMAINS", "not a domain")], &["acme"]);
        assert!(domains.starts_with("TASKTRACKER_OIDC_ACME_ALLOWED_DOMAINS:"), "{domains}");
    }

    #[test]
    fn loopback_issuers_may_be_plain_http() {
        assert!(check_issuer("http://127.0.0.1:4000").is_ok());
        assert!(check_issuer("http://localhost:4000/oidc").is_ok());
        assert!(check_issuer("http://idp.example.com").is_err());
        assert!(check_issuer("ftp://idp.example.com").is_err());
    }
}
