//! OpenID Connect sign-in against a real provider on 127.0.0.1
//! (oidc-provider, `server/tests/oidc_provider.mjs`, one per test): the good
//! path (an account created just in time, then found by subject), linking
//! by verified email, and the attacks the server must refuse: an ID token
//! for another audience, signed with a key not in the provider's JWKS,
//! expired, or unsigned; a replayed state; an unverified email; redirect
//! URIs outside the public URL.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use openidconnect::url::Url;
use tasktracker_proto::v1::{self, account_service_client::AccountServiceClient};
use tasktracker_server::auth::oidc::settings::{self, ProviderSettings};
use tonic::{Code, transport::Channel};

use crate::{
    helpers::{
        Backend, PASSWORD, ServerProcess, TestApp, TestDatabase, TestUser, assert_invalid_field, connect, sample,
        scrape, spawn_app, spawn_app_with, task, with_token,
    },
    on_both_backends,
};

on_both_backends!(
    a_first_sign_in_creates_the_account_and_later_ones_find_it_by_subject,
    a_verified_email_links_the_existing_account,
    an_unverified_email_is_refused_and_never_linked,
    a_state_completes_one_sign_in,
    an_id_token_for_another_audience_is_refused,
    an_id_token_signed_with_a_key_not_in_the_jwks_is_refused,
    an_expired_id_token_is_refused,
    an_unsigned_id_token_is_refused,
    redirect_uris_must_be_under_the_public_url,
    an_unreachable_provider_leaves_password_sign_in_working,
    a_user_with_two_factor_authentication_gets_a_challenge,
    the_role_mapping_grants_memberships_at_sign_in,
    only_the_allowed_email_domains_sign_in,
);

const PUBLIC_URL: &str = "http://localhost";
const REDIRECT_URI: &str = "http://localhost/oidc/callback";
const CLIENT_ID: &str = "tasktracker";
const CLIENT_SECRET: &str = "tasktracker-test-client-secret";

/// An oidc-provider process; `tamper` rewrites its ID tokens (see the script).
struct OidcProvider {
    child: Child,
    issuer: String,
}

impl OidcProvider {
    fn start(tamper: Option<&str>) -> Self {
        let modules = std::env::var("TASKTRACKER_TEST_NODE_MODULES").unwrap_or_else(|_| {
            panic!(
                "TASKTRACKER_TEST_NODE_MODULES is not set: the OpenID Connect tests need oidc-provider. \
                 scripts/test.sh installs it; by hand: `source scripts/lib/tools.sh && ensure_oidc_provider` and \
                 export that variable"
            )
        });
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc_provider.mjs");
        let mut command = Command::new("node");
        command.arg(script).arg("--redirect-uri").arg(REDIRECT_URI);
        if let Some(mode) = tamper {
            command.arg("--tamper").arg(mode);
        }
        let mut child = command
            .env("TASKTRACKER_TEST_NODE_MODULES", modules)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start node (oidc-provider): {error}"));
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = receiver.recv_timeout(Duration::from_secs(30)).expect("oidc-provider starts");
        let issuer = line.trim().strip_prefix("ISSUER ").unwrap_or_else(|| panic!("oidc-provider said {line:?}"));
        Self { issuer: issuer.to_owned(), child }
    }

    /// The server's settings for this provider, as `acme`.
    fn settings(&self) -> Vec<ProviderSettings> {
        provider_settings(&self.issuer)
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn provider_settings(issuer: &str) -> Vec<ProviderSettings> {
    let issuer = issuer.to_owned();
    settings::from_env(&["acme".to_owned()], move |name| {
        Some(match name {
            "TASKTRACKER_OIDC_ACME_ISSUER" => issuer.clone(),
            "TASKTRACKER_OIDC_ACME_CLIENT_ID" => CLIENT_ID.to_owned(),
            "TASKTRACKER_OIDC_ACME_CLIENT_SECRET" => CLIENT_SECRET.to_owned(),
            "TASKTRACKER_OIDC_ACME_DISPLAY_NAME" => "Acme SSO".to_owned(),
            _ => return None,
        })
    })
    .expect("valid provider settings")
}

async fn spawn_oidc_app(backend: Backend, providers: Vec<ProviderSettings>) -> TestApp {
    spawn_app_with(backend, TestDatabase::create(backend).await, |settings| {
        settings.public_url = Some(PUBLIC_URL.into());
        settings.oidc = providers;
    })
    .await
}

/// Starts a sign-in and logs `account` in at the provider: the `state` and
/// `code` it sends back to the redirect URI.
async fn log_in_at_provider(app: &TestApp, account: &str) -> v1::CompleteOidcSignInRequest {
    log_in_through(app.accounts(), account).await
}

/// [`log_in_at_provider`] through any server.
async fn log_in_through(mut accounts: AccountServiceClient<Channel>, account: &str) -> v1::CompleteOidcSignInRequest {
    let started = accounts
        .start_oidc_sign_in(v1::StartOidcSignInRequest { provider: "acme".into(), redirect_uri: REDIRECT_URI.into() })
        .await
        .expect("start the sign-in")
        .into_inner();
    let mut url = Url::parse(&started.authorization_url).expect("an authorization URL");
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let param = |name: &str| query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    assert_eq!(param("code_challenge_method"), Some("S256"), "PKCE S256: {url}");
    assert!(param("nonce").is_some_and(|nonce| nonce.len() >= 16), "a nonce: {url}");
    assert!(param("state").is_some_and(|state| state.len() >= 16), "a state: {url}");
    assert_eq!(param("redirect_uri"), Some(REDIRECT_URI));
    url.query_pairs_mut().append_pair("login_hint", account);
    follow_to_redirect_uri(url).await
}

/// Follows the provider's redirects (keeping its cookies) until it sends
/// the browser to the redirect URI.
async fn follow_to_redirect_uri(mut url: Url) -> v1::CompleteOidcSignInRequest {
    let mut cookies: Vec<(String, String)> = Vec::new();
    for _ in 0..10 {
        let (status, location) = get(&url, &mut cookies).await;
        let location = location.unwrap_or_else(|| panic!("HTTP {status} and no redirect from {url}"));
        let next = url.join(&location).expect("a redirect URL");
        if next.as_str().starts_with(REDIRECT_URI) {
            let query: Vec<(String, String)> = next.query_pairs().into_owned().collect();
            let param = |name: &str| {
                query.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default()
            };
            assert!(param("error").is_empty(), "the provider answered an error: {next}");
            return v1::CompleteOidcSignInRequest { state: param("state"), code: param("code") };
        }
        url = next;
    }
    panic!("too many redirects");
}

/// GETs `url` with `cookies`, storing the ones set: status and Location.
async fn get(url: &Url, cookies: &mut Vec<(String, String)>) -> (u16, Option<String>) {
    let host = url.host_str().expect("host");
    let port = url.port_or_known_default().expect("port");
    let stream = tokio::net::TcpStream::connect((host, port)).await.expect("connect to the provider");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("HTTP");
    tokio::spawn(connection);
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let cookie = cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ");
    let mut request = http::Request::get(path).header(http::header::HOST, format!("{host}:{port}"));
    if !cookie.is_empty() {
        request = request.header(http::header::COOKIE, cookie);
    }
    let response = sender.send_request(request.body(Empty::<Bytes>::new()).unwrap()).await.expect("a reply");
    for set in response.headers().get_all(http::header::SET_COOKIE) {
        let pair = set.to_str().unwrap_or_default().split(';').next().unwrap_or_default();
        if let Some((name, value)) = pair.split_once('=') {
            cookies.retain(|(known, _)| known != name);
            cookies.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let status = response.status().as_u16();
    let location =
        response.headers().get(http::header::LOCATION).and_then(|value| value.to_str().ok()).map(str::to_owned);
    let _ = response.into_body().collect().await;
    (status, location)
}

async fn complete(app: &TestApp, request: v1::CompleteOidcSignInRequest) -> Result<v1::SignInResponse, tonic::Status> {
    app.accounts().complete_oidc_sign_in(request).await.map(tonic::Response::into_inner)
}

async fn current_user(app: &TestApp, response: &v1::SignInResponse) -> v1::User {
    let token = &response.session.as_ref().expect("a session").access_token;
    app.accounts()
        .get_current_user(with_token(token, v1::GetCurrentUserRequest {}))
        .await
        .expect("the session works")
        .into_inner()
}

async fn outcome(app: &TestApp, outcome: &str) -> Option<f64> {
    let text = scrape(app.metrics_address).await;
    sample(&text, &format!(r#"tasktracker_oidc_sign_ins_total{{provider="acme",outcome="{outcome}"}}"#))
}

async fn a_first_sign_in_creates_the_account_and_later_ones_find_it_by_subject(backend: Backend) {
    let provider = OidcProvider::start(None);
    let app = spawn_oidc_app(backend, provider.settings()).await;
    let listed = app.accounts().list_identity_providers(v1::ListIdentityProvidersRequest {}).await.unwrap();
    assert_eq!(
        listed.into_inner().identity_providers,
        [v1::IdentityProvider { id: "acme".into(), display_name: "Acme SSO".into() }]
    );
    assert_eq!(outcome(&app, "success").await, Some(0.0), "counters exist from start");

    let first = complete(&app, log_in_at_provider(&app, "alice").await).await.expect("signed in");
    let user = first.user.clone().expect("the user");
    assert_eq!(user.email, "alice@example.com");
    assert_eq!(user.display_name, "Alice Example");
    assert_eq!(current_user(&app, &first).await.name, user.name);

    let again = complete(&app, log_in_at_provider(&app, "alice").await).await.expect("signed in again");
    assert_eq!(again.user.expect("the user").name, user.name, "the same account, by subject");
    assert_eq!(outcome(&app, "success").await, Some(2.0));

    // The account has no usable password.
    let password = app
        .accounts()
        .sign_in(v1::SignInRequest { email: "alice@example.com".into(), password: PASSWORD.into() })
        .await
        .unwrap_err();
    assert_eq!(password.code(), Code::Unauthenticated);
}

async fn a_verified_email_links_the_existing_account(backend: Backend) {
    let provider = OidcProvider::start(None);
    let app = spawn_oidc_app(backend, provider.settings()).await;
    let signed_up = app
        .accounts()
        .sign_up(v1::SignUpRequest {
            email: "Carol@Example.com".into(),
            password: PASSWORD.into(),
            display_name: "Carol".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();

    let response = complete(&app, log_in_at_provider(&app, "carol").await).await.expect("signed in");
    let user = response.user.clone().expect("the user");
    assert_eq!(user.name, signed_up.name, "linked to the account with the verified email");
    assert_eq!(user.display_name, "Carol", "the account keeps its own name");
    assert_eq!(current_user(&app, &response).await.name, signed_up.name);
    // The password still works too.
    app.accounts()
        .sign_in(v1::SignInRequest { email: "carol@example.com".into(), password: PASSWORD.into() })
        .await
        .expect("password sign-in");
}

async fn an_unverified_email_is_refused_and_never_linked(backend: Backend) {
    let provider = OidcProvider::start(None);
    let app = spawn_oidc_app(backend, provider.settings()).await;
    let victim = app
        .accounts()
        .sign_up(v1::SignUpRequest {
            email: "bob@example.com".into(),
            password: PASSWORD.into(),
            display_name: "The real Bob".into(),
        })
        .await
        .unwrap()
        .into_inner();

    for _ in 0..2 {
        // Twice: had the first linked the subject, the second would find it.
        let refused = complete(&app, log_in_at_provider(&app, "bob").await).await.unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
        assert!(refused.message().contains("not verified this email"), "{}", refused.message());
    }
    assert_eq!(outcome(&app, "unverified_email").await, Some(2.0));
    // Nothing happened to the account.
    let token = victim.session.unwrap().access_token;
    let user = app.accounts().get_current_user(with_token(&token, v1::GetCurrentUserRequest {})).await.unwrap();
    assert_eq!(user.into_inner().display_name, "The real Bob");
}

async fn a_state_completes_one_sign_in(backend: Backend) {
    let provider = OidcProvider::start(None);
    let app = spawn_oidc_app(backend, provider.settings()).await;
    let returned = log_in_at_provider(&app, "alice").await;
    complete(&app, returned.clone()).await.expect("the first completion signs in");

    let replayed = complete(&app, returned.clone()).await.unwrap_err();
    assert_invalid_field(&replayed, "state");
    assert!(replayed.message().contains("already used") || format!("{replayed:?}").contains("already used"));
    // A made-up state, and missing fields.
    let unknown =
        complete(&app, v1::CompleteOidcSignInRequest { state: "made-up".into(), code: returned.code.clone() })
            .await
            .unwrap_err();
    assert_invalid_field(&unknown, "state");
    let empty = complete(&app, v1::CompleteOidcSignInRequest::default()).await.unwrap_err();
    assert_invalid_field(&empty, "state");
    assert_invalid_field(&empty, "code");
    assert_eq!(outcome(&app, "success").await, Some(1.0));
}

/// Signs `alice` in through a provider tampering with its ID tokens: refused
/// as an invalid token, and no account is created.
async fn refused_as_invalid(backend: Backend, tamper: &str) {
    let provider = OidcProvider::start(Some(tamper));
    let app = spawn_oidc_app(backend, provider.settings()).await;
    let refused = complete(&app, log_in_at_provider(&app, "alice").await).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{tamper}: {refused:?}");
    assert!(refused.message().contains("ID token"), "{}", refused.message());
    assert_eq!(outcome(&app, "invalid_token").await, Some(1.0));
    assert_eq!(outcome(&app, "success").await, Some(0.0));
    // No account was created for the token's email.
    let signed_up = app
        .accounts()
        .sign_up(v1::SignUpRequest {
            email: "alice@example.com".into(),
            password: PASSWORD.into(),
            display_name: "Alice".into(),
        })
        .await;
    assert!(signed_up.is_ok(), "{tamper}: the email is still free: {signed_up:?}");
}

async fn an_id_token_for_another_audience_is_refused(backend: Backend) {
    refused_as_invalid(backend, "wrong-audience").await;
}

async fn an_id_token_signed_with_a_key_not_in_the_jwks_is_refused(backend: Backend) {
    refused_as_invalid(backend, "bad-signature").await;
}

async fn an_expired_id_token_is_refused(backend: Backend) {
    refused_as_invalid(backend, "expired").await;
}

async fn an_unsigned_id_token_is_refused(backend: Backend) {
    refused_as_invalid(backend, "alg-none").await;
}

async fn redirect_uris_must_be_under_the_public_url(backend: Backend) {
    let provider = OidcProvider::start(None);
    let app = spawn_oidc_app(backend, provider.settings()).await;
    for redirect_uri in ["https://evil.example/oidc/callback", "http://localhost.evil.example/cb", "/oidc/callback", ""]
    {
        let refused = app
            .accounts()
            .start_oidc_sign_in(v1::StartOidcSignInRequest {
                provider: "acme".into(),
                redirect_uri: redirect_uri.into(),
            })
            .await
            .unwrap_err();
        assert_invalid_field(&refused, "redirect_uri");
    }
    let unknown = app
        .accounts()
        .start_oidc_sign_in(v1::StartOidcSignInRequest { provider: "nope".into(), redirect_uri: REDIRECT_URI.into() })
        .await
        .unwrap_err();
    assert_invalid_field(&unknown, "provider");
}

async fn an_unreachable_provider_leaves_password_sign_in_working(backend: Backend) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = spawn_oidc_app(backend, provider_settings(&format!("http://127.0.0.1:{closed}"))).await;
    let listed = app.accounts().list_identity_providers(v1::ListIdentityProvidersRequest {}).await.unwrap();
    assert_eq!(listed.into_inner().identity_providers.len(), 1);
    let user = app.sign_up("dave").await;
    app.accounts()
        .sign_in(v1::SignInRequest { email: user.email.clone(), password: PASSWORD.into() })
        .await
        .expect("password sign-in works");
    let unavailable = app
        .accounts()
        .start_oidc_sign_in(v1::StartOidcSignInRequest { provider: "acme".into(), redirect_uri: REDIRECT_URI.into() })
        .await
        .unwrap_err();
    assert_eq!(unavailable.code(), Code::Unavailable, "{unavailable:?}");
}

async fn a_user_with_two_factor_authentication_gets_a_challenge(backend: Backend) {
    let provider = OidcProvider::start(None);
    let app = spawn_oidc_app(backend, provider.settings()).await;
    let first = complete(&app, log_in_at_provider(&app, "alice").await).await.expect("signed in");
    let token = first.session.expect("a session").access_token;
    let enrolment = app
        .accounts()
        .begin_totp_enrollment(with_token(&token, v1::BeginTotpEnrollmentRequest {}))
        .await
        .unwrap()
        .into_inner();
    let code = crate::two_factor::Authenticator::new(enrolment.secret).next_code().await;
    app.accounts()
        .confirm_totp_enrollment(with_token(&token, v1::ConfirmTotpEnrollmentRequest { code }))
        .await
        .expect("two-factor authentication on");

    let second = complete(&app, log_in_at_provider(&app, "alice").await).await.expect("a challenge");
    assert!(second.session.is_none() && second.user.is_none(), "no session before the second factor");
    assert!(!second.second_factor_challenge.is_empty());
    assert_eq!(outcome(&app, "second_factor").await, Some(1.0));
}

/// Through the server binary configured by environment variables (as in
/// production): `groups:eng` maps to editor of a project, so alice (in
/// `eng`) can add tasks to it after signing in, and carol (in `leads`,
/// mapped to nothing here) cannot see it.
async fn the_role_mapping_grants_memberships_at_sign_in(backend: Backend) {
    let provider = OidcProvider::start(None);
    let app = spawn_app(backend).await;
    let owner = app.sign_up("owner").await;
    let project = app.create_project(&owner, "Mapped").await;
    let mapping = format!("groups:eng={}:editor", project.name);
    let server = ServerProcess::start(
        &app.database.url,
        &[
            ("TASKTRACKER_PUBLIC_URL", PUBLIC_URL),
            ("TASKTRACKER_OIDC_PROVIDERS", "acme"),
            ("TASKTRACKER_OIDC_ACME_ISSUER", &provider.issuer),
            ("TASKTRACKER_OIDC_ACME_CLIENT_ID", CLIENT_ID),
            ("TASKTRACKER_OIDC_ACME_CLIENT_SECRET", CLIENT_SECRET),
            ("TASKTRACKER_OIDC_ACME_ROLE_MAPPING", &mapping),
        ],
    );
    let accounts = AccountServiceClient::new(connect(server.address).await);
    let signed_in = |account: &'static str| {
        let accounts = accounts.clone();
        async move {
            let returned = log_in_through(accounts.clone(), account).await;
            let response = accounts.clone().complete_oidc_sign_in(returned).await.expect("signed in").into_inner();
            let user = response.user.expect("the user");
            TestUser { name: user.name, email: user.email, token: response.session.expect("a session").access_token }
        }
    };
    let alice = signed_in("alice").await;
    app.create_task_result(&alice, &project.name, task("Mapped in"))
        .await
        .expect("alice is an editor through the mapping");
    let carol = signed_in("carol").await;
    let outsider = app.create_task_result(&carol, &project.name, task("Not mapped")).await.unwrap_err();
    assert_eq!(outsider.code(), Code::PermissionDenied, "{outsider:?}");
    drop(server);
}

async fn only_the_allowed_email_domains_sign_in(backend: Backend) {
    let provider = OidcProvider::start(None);
    let mut providers = provider.settings();
    providers[0].allowed_domains = vec!["corp.example".into(), "example.com".into()];
    let app = spawn_oidc_app(backend, providers).await;
    // alice@example.com is in an allowed domain.
    let alice = complete(&app, log_in_at_provider(&app, "alice").await).await.expect("an allowed domain signs in");
    assert_eq!(current_user(&app, &alice).await.email, "alice@example.com");
    app.stop().await;

    // The same account where only another domain is allowed: refused, and no account made.
    let mut providers = provider.settings();
    providers[0].allowed_domains = vec!["corp.example".into()];
    let app = spawn_oidc_app(backend, providers).await;
    for _ in 0..2 {
        let refused = complete(&app, log_in_at_provider(&app, "dora").await).await.unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
        assert!(refused.message().contains("email domain may not sign in"), "{}", refused.message());
    }
    assert_eq!(outcome(&app, "domain_not_allowed").await, Some(2.0));
    assert_eq!(outcome(&app, "success").await, Some(0.0), "nobody signed in from a refused domain");
    app.stop().await;
}
