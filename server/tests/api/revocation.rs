//! Authentication without a query per call: access tokens are checked
//! locally against an in-memory set of revoked sessions, API tokens through
//! a short-lived cache, and a revocation reaches every replica (another
//! server process on the same PostgreSQL database) within a second.

use std::time::{Duration, Instant};

use tasktracker_proto::v1::{self, account_service_client::AccountServiceClient};
use tonic::{Code, transport::Channel};

use crate::{
    helpers::{Backend, ServerProcess, TestApp, TestUser, connect, sample, scrape, spawn_app, with_token},
    on_both_backends,
};

on_both_backends!(authentication_reads_nothing_while_revocations_are_live);

/// How soon a revocation must take effect on another replica.
const PROPAGATION_LIMIT: Duration = Duration::from_secs(1);

async fn current_user(accounts: &mut AccountServiceClient<Channel>, token: &str) -> Result<(), Code> {
    accounts.get_current_user(with_token(token, v1::GetCurrentUserRequest {})).await.map(drop).map_err(|s| s.code())
}

/// Calls with `token` until it is refused, for at most twice
/// [`PROPAGATION_LIMIT`]; returns how long that took.
async fn time_until_refused(accounts: &mut AccountServiceClient<Channel>, token: &str) -> Duration {
    let started = Instant::now();
    while started.elapsed() < 2 * PROPAGATION_LIMIT {
        match current_user(accounts, token).await {
            Ok(()) => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(code) => {
                assert_eq!(code, Code::Unauthenticated);
                return started.elapsed();
            }
        }
    }
    panic!("the revoked credential still works after {:?}", started.elapsed());
}

async fn create_api_token(app: &TestApp, user: &TestUser) -> (String, String) {
    let created = app
        .accounts()
        .create_api_token(user.call(v1::CreateApiTokenRequest {
            api_token: Some(v1::ApiToken {
                display_name: "ci".into(),
                scope: v1::ApiTokenScope::Read as i32,
                ..Default::default()
            }),
        }))
        .await
        .expect("create API token")
        .into_inner();
    (created.api_token.expect("token").name, created.secret)
}

async fn revoke_api_token(app: &TestApp, user: &TestUser, name: String) {
    app.accounts().revoke_api_token(user.call(v1::RevokeApiTokenRequest { name })).await.expect("revoke");
}

/// Waits until the server with admin port `metrics` has loaded its
/// revocation set.
async fn wait_until_live(metrics: std::net::SocketAddr) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(metrics).await;
        if sample(&text, "tasktracker_auth_revocations_live") == Some(1.0) {
            return text;
        }
        assert!(Instant::now() < deadline, "revocations never became live: {text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn authentication_reads_nothing_while_revocations_are_live(backend: Backend) {
    let app = spawn_app(backend).await;
    wait_until_live(app.metrics_address).await;
    let ada = app.sign_up("ada").await;
    let (token_name, secret) = create_api_token(&app, &ada).await;
    let mut accounts = app.accounts();
    for _ in 0..20 {
        current_user(&mut accounts, &ada.token).await.expect("access token");
        current_user(&mut accounts, &secret).await.expect("API token");
    }
    let text = scrape(app.metrics_address).await;
    let lookups = |credential: &str| {
        sample(&text, &format!("tasktracker_auth_database_lookups_total{{credential=\"{credential}\"}}"))
    };
    assert_eq!(lookups("session"), Some(1.0), "the session read on its first use only: {text}");
    assert_eq!(lookups("api_token"), Some(1.0), "the API token read once, then cached: {text}");
    assert_eq!(sample(&text, r#"tasktracker_auth_token_cache_requests_total{result="hit"}"#), Some(19.0));

    // Revocations here take effect at once.
    revoke_api_token(&app, &ada, token_name).await;
    assert_eq!(current_user(&mut accounts, &secret).await, Err(Code::Unauthenticated));
    app.accounts().sign_out(ada.call(v1::SignOutRequest {})).await.expect("sign out");
    assert_eq!(current_user(&mut accounts, &ada.token).await, Err(Code::Unauthenticated));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_reach_another_process_within_a_second() {
    let app = spawn_app(Backend::Postgres).await;
    let ada = app.sign_up("ada").await;
    let (token_name, secret) = create_api_token(&app, &ada).await;
    let other = ServerProcess::start(&app.database.url, &[]);
    // Live: what follows tests LISTEN/NOTIFY, not the database fallback.
    wait_until_live(other.metrics_address).await;
    let mut elsewhere = AccountServiceClient::new(connect(other.address).await);
    // Both credentials work there (and the API token is now in its cache).
    current_user(&mut elsewhere, &ada.token).await.expect("the access token works on the other process");
    current_user(&mut elsewhere, &secret).await.expect("the API token works on the other process");

    revoke_api_token(&app, &ada, token_name).await;
    let token_took = time_until_refused(&mut elsewhere, &secret).await;
    app.accounts().sign_out(ada.call(v1::SignOutRequest {})).await.expect("sign out");
    let session_took = time_until_refused(&mut elsewhere, &ada.token).await;
    eprintln!("revocation reached the other process: API token in {token_took:?}, session in {session_took:?}");
    assert!(token_took < PROPAGATION_LIMIT, "API token revocation took {token_took:?}");
    assert!(session_took < PROPAGATION_LIMIT, "sign-out took {session_took:?}");

    // A credential that was never revoked still works there.
    let grace = app.sign_up("grace").await;
    current_user(&mut elsewhere, &grace.token).await.expect("an unrevoked session");
    for _ in 0..10 {
        current_user(&mut elsewhere, &grace.token).await.expect("an unrevoked session");
    }
    let text = scrape(other.metrics_address).await;
    assert_eq!(
        sample(&text, r#"tasktracker_auth_database_lookups_total{credential="session"}"#),
        Some(2.0),
        "the other process read each of the two sessions once: {text}"
    );
    drop(other);
    app.stop().await;
}
