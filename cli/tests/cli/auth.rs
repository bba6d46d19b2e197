//! `login`, `whoami`, `logout` and the saved configuration.

use std::time::{SystemTime, UNIX_EPOCH};

use tasktracker_proto::v1::{self, account_service_client::AccountServiceClient};
use totp_rs::{Builder, Secret};

use crate::helpers::{Harness, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_an_api_token_saves_it_privately_and_whoami_uses_it() {
    let app = Harness::start().await;
    let token = app.api_token().await;

    let login = app.run(&["login", "--token", &token]).success();
    assert!(login.stderr.contains(&app.user.email), "{login:#?}");

    let config = app.home.join("tasktracker").join("config.toml");
    let text = std::fs::read_to_string(&config).expect("the configuration is saved");
    assert!(text.contains("kind = \"api_token\"") && text.contains(&app.server.url()), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the configuration holds a secret");
    }

    let me = app.run(&["whoami", "-o", "json"]).success().json();
    assert_eq!(me["email"], app.user.email.as_str());
    assert_eq!(me["name"], app.user.name.as_str());
    let table = app.run(&["whoami"]).success();
    assert!(table.stdout.contains(&app.user.email), "{table:#?}");

    app.run(&["logout"]).success();
    let signed_out = app.run(&["whoami"]).failure(3);
    assert!(signed_out.stderr.contains("not signed in"), "{signed_out:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_reads_a_token_from_standard_input_and_rejects_a_bad_one() {
    let app = Harness::start().await;
    let token = app.api_token().await;
    app.run_with_input(&["login"], &format!("{token}\n")).success();
    app.run(&["whoami"]).success();

    let rejected = app.run(&["login", "--token", "not-a-real-token"]).failure(3);
    assert!(rejected.stderr.starts_with("error: not signed in"), "{rejected:#?}");
    // The good credentials are kept.
    app.run(&["whoami"]).success();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_email_and_password_then_logout_ends_the_session() {
    let app = Harness::start().await;

    let mut login = app.command(&["login", "--email", &app.user.email]);
    login.env("TASKTRACKER_PASSWORD", PASSWORD);
    let output = tokio::task::block_in_place(|| login.output()).unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let text = std::fs::read_to_string(app.home.join("tasktracker").join("config.toml")).unwrap();
    assert!(text.contains("kind = \"session\"") && text.contains("refresh_token"), "{text}");
    let me = app.run(&["whoami", "-o", "json"]).success().json();
    assert_eq!(me["email"], app.user.email.as_str());

    // An access token about to lapse is renewed with the refresh token (which rotates) first.
    let config = app.home.join("tasktracker").join("config.toml");
    let expiring = with_value(&text, "access_token_expires = ", "0");
    std::fs::write(&config, &expiring).unwrap();
    app.run(&["whoami"]).success();
    let renewed = std::fs::read_to_string(&config).unwrap();
    assert_ne!(refresh_token(&renewed), refresh_token(&text), "{renewed}");
    assert!(!renewed.contains("access_token_expires = 0\n"), "{renewed}");

    // The password can also come on standard input.
    app.run_with_input(&["login", "--email", &app.user.email], &format!("{PASSWORD}\n")).success();

    let wrong = app.run_with_input(&["login", "--email", &app.user.email], "not the password\n").failure(3);
    assert!(wrong.stderr.contains("wrong email or password"), "{wrong:#?}");

    let logout = app.run(&["logout"]).success();
    assert!(logout.stderr.contains("Signed out"), "{logout:#?}");
    app.run(&["whoami"]).failure(3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_not_sent_to_another_server() {
    let app = Harness::start().await;
    app.login().await;
    let elsewhere = app.run(&["whoami", "--server", "http://127.0.0.1:1"]).failure(3);
    assert!(elsewhere.stderr.contains("not signed in to http://127.0.0.1:1"), "{elsewhere:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_answers_the_second_factor_challenge_with_code() {
    let app = Harness::start().await;
    let mut accounts = AccountServiceClient::new(app.channel.clone());
    let secret = accounts
        .begin_totp_enrollment(app.authorized(v1::BeginTotpEnrollmentRequest {}))
        .await
        .expect("begins enrolment")
        .into_inner()
        .secret;
    // As an authenticator app would, from the secret.
    let totp = Builder::new()
        .with_secret(Secret::try_from_base32(&secret).expect("base32").to_vec())
        .build()
        .expect("RFC 6238 parameters");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let recovery_codes = accounts
        .confirm_totp_enrollment(
            app.authorized(v1::ConfirmTotpEnrollmentRequest { code: totp.generate(now).to_string() }),
        )
        .await
        .expect("two-factor authentication on")
        .into_inner()
        .recovery_codes;

    let login = |extra: &[&str]| {
        let mut args = vec!["login", "--email", &app.user.email];
        args.extend_from_slice(extra);
        let mut command = app.command(&args);
        command.env("TASKTRACKER_PASSWORD", PASSWORD);
        crate::helpers::Outcome::from(tokio::task::block_in_place(|| command.output()).unwrap())
    };
    let asked = login(&[]).failure(2);
    assert!(asked.stderr.contains("two-factor") && asked.stderr.contains("--code"), "{asked:#?}");

    // A recovery code answers it as well as an app's code (and needs no clock).
    login(&["--code", &recovery_codes[0]]).success();
    let me = app.run(&["whoami", "-o", "json"]).success().json();
    assert_eq!(me["two_factor_enabled"], true);
}

/// `text` with the value after `key` (to the end of its line) replaced.
fn with_value(text: &str, key: &str, value: &str) -> String {
    text.lines()
        .map(|line| if line.starts_with(key) { format!("{key}{value}") } else { line.to_owned() })
        .collect::<Vec<_>>()
        .join("\n")
}

fn refresh_token(config: &str) -> &str {
    config.lines().find(|line| line.starts_with("refresh_token = ")).expect("a refresh token")
}
