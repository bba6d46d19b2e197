//! Two-factor authentication (TOTP): enrolment, the sign-in challenge with a
//! code or a recovery code, replays, throttling, turning it off, and
//! projects that require it. Codes are computed here with `totp-rs` from the
//! secret the server handed out, as an authenticator app would (the
//! server's own code path is checked against RFC 6238's vectors by hand in
//! its unit tests).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost_types::FieldMask;
use tasktracker_proto::v1;
use tonic::{Code, Status};
use tonic_types::StatusExt;
use totp_rs::{Builder, Secret};

use crate::{
    helpers::{Backend, PASSWORD, TestApp, TestUser, assert_invalid_field, spawn_app, task, with_token},
    on_both_backends,
};

on_both_backends!(
    enrolment_needs_a_current_code_and_shows_recovery_codes_once,
    sign_in_asks_for_a_second_factor_and_refuses_replays,
    recovery_codes_work_once_and_can_be_replaced,
    wrong_codes_are_throttled_with_wrong_passwords,
    turning_two_factor_off_needs_a_code_or_the_password,
    a_project_can_require_two_factor_of_its_members,
);

/// An authenticator app: computes codes from the secret and, like a person
/// waiting for the next code, never reuses a time step.
pub struct Authenticator {
    secret: String,
    last_step: Option<u64>,
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

impl Authenticator {
    /// An app that just scanned `secret`.
    pub fn new(secret: String) -> Self {
        Self { secret, last_step: None }
    }

    fn code_at_step(&self, step: u64) -> String {
        let bytes = Secret::try_from_base32(&self.secret).expect("base32 secret");
        let totp = Builder::new().with_secret(bytes.to_vec()).build().expect("RFC 6238 parameters");
        totp.generate(step * 30).to_string()
    }

    /// A code the server accepts now (one step of drift either way) that is
    /// of a later step than any used before. At most three per step window.
    pub async fn next_code(&mut self) -> String {
        // Not in the last second of a step: the window must not move
        // between choosing the code and the server checking it.
        if unix_now() % 30 == 29 {
            tokio::time::sleep(Duration::from_millis(1_100)).await;
        }
        let current = unix_now() / 30;
        let step = self.last_step.map_or(current - 1, |last| (last + 1).max(current - 1));
        assert!(step <= current + 1, "more than three codes in one window");
        self.last_step = Some(step);
        self.code_at_step(step)
    }

    /// A 6-digit code that matches none of the steps the server would
    /// accept now.
    fn wrong_code(&self) -> String {
        let current = unix_now() / 30;
        let valid: Vec<String> = (current - 2..=current + 2).map(|step| self.code_at_step(step)).collect();
        (0..).map(|n: u32| format!("{:06}", n * 7_919 % 1_000_000)).find(|code| !valid.contains(code)).unwrap()
    }
}

async fn begin(app: &TestApp, user: &TestUser) -> Result<v1::BeginTotpEnrollmentResponse, Status> {
    app.accounts().begin_totp_enrollment(user.call(v1::BeginTotpEnrollmentRequest {})).await.map(|r| r.into_inner())
}

async fn confirm(app: &TestApp, user: &TestUser, code: &str) -> Result<Vec<String>, Status> {
    app.accounts()
        .confirm_totp_enrollment(user.call(v1::ConfirmTotpEnrollmentRequest { code: code.into() }))
        .await
        .map(|r| r.into_inner().recovery_codes)
}

/// Enrols `user`: their authenticator and recovery codes.
pub async fn enrol(app: &TestApp, user: &TestUser) -> (Authenticator, Vec<String>) {
    let begun = begin(app, user).await.expect("begin enrolment");
    let mut app_on_phone = Authenticator { secret: begun.secret, last_step: None };
    let codes = confirm(app, user, &app_on_phone.next_code().await).await.expect("confirm enrolment");
    (app_on_phone, codes)
}

async fn sign_in(app: &TestApp, user: &TestUser, password: &str) -> Result<v1::SignInResponse, Status> {
    let request = v1::SignInRequest { email: user.email.clone(), password: password.into() };
    app.accounts().sign_in(request).await.map(|r| r.into_inner())
}

/// Signs in with the password; the challenge it answers with.
async fn challenge(app: &TestApp, user: &TestUser) -> String {
    let answer = sign_in(app, user, PASSWORD).await.expect("password accepted");
    assert!(answer.session.is_none() && answer.user.is_none(), "no session before the second factor: {answer:?}");
    let expires = answer.second_factor_challenge_expire_time.expect("challenge expiry").seconds;
    let lifetime = expires - i64::try_from(unix_now()).unwrap();
    assert!((290..=301).contains(&lifetime), "5 minutes: {lifetime}");
    assert!(!answer.second_factor_challenge.is_empty());
    answer.second_factor_challenge
}

async fn verify(app: &TestApp, challenge: &str, code: &str) -> Result<v1::SignInResponse, Status> {
    let request = v1::VerifySecondFactorRequest { challenge: challenge.into(), code: code.into() };
    app.accounts().verify_second_factor(request).await.map(|r| r.into_inner())
}

async fn current_user(app: &TestApp, token: &str) -> Result<v1::User, Status> {
    app.accounts().get_current_user(with_token(token, v1::GetCurrentUserRequest {})).await.map(|r| r.into_inner())
}

async fn enrolment_needs_a_current_code_and_shows_recovery_codes_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    assert!(!current_user(&app, &ada.token).await.unwrap().two_factor_enabled);
    let no_enrolment = confirm(&app, &ada, "123456").await.unwrap_err();
    assert_eq!(no_enrolment.code(), Code::FailedPrecondition, "{no_enrolment:?}");

    let first = begin(&app, &ada).await.unwrap();
    assert_eq!(first.secret.len(), 32, "160 bits, base32");
    let email = ada.email.replace('@', "%40");
    assert!(first.otpauth_uri.starts_with(&format!("otpauth://totp/Tasktracker:{email}?")), "{}", first.otpauth_uri);
    assert!(first.otpauth_uri.contains(&format!("secret={}", first.secret)), "{}", first.otpauth_uri);
    assert!(first.qr_code_svg.contains("<svg") && first.qr_code_svg.trim_end().ends_with("</svg>"));
    // Beginning again replaces the secret: the first one's codes no longer
    // confirm.
    let second = begin(&app, &ada).await.unwrap();
    assert_ne!(first.secret, second.secret);
    let mut stale = Authenticator { secret: first.secret, last_step: None };
    let refused = confirm(&app, &ada, &stale.next_code().await).await.unwrap_err();
    assert_invalid_field(&refused, "code");
    let mut phone = Authenticator { secret: second.secret, last_step: None };
    assert_invalid_field(&confirm(&app, &ada, &phone.wrong_code()).await.unwrap_err(), "code");
    assert_invalid_field(&confirm(&app, &ada, "12345").await.unwrap_err(), "code");
    assert_invalid_field(&confirm(&app, &ada, "").await.unwrap_err(), "code");
    assert!(!current_user(&app, &ada.token).await.unwrap().two_factor_enabled, "still off");

    let codes = confirm(&app, &ada, &phone.next_code().await).await.unwrap();
    assert_eq!(codes.len(), 10);
    for code in &codes {
        assert_eq!(code.len(), 11, "xxxxx-xxxxx: {code}");
        assert_eq!(code.as_bytes()[5], b'-');
    }
    let mut distinct = codes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10);
    assert!(current_user(&app, &ada.token).await.unwrap().two_factor_enabled);
    // On now: no second enrolment, no second confirmation, and the secret
    // is not handed out again.
    assert_eq!(begin(&app, &ada).await.unwrap_err().code(), Code::FailedPrecondition);
    assert_eq!(confirm(&app, &ada, &phone.next_code().await).await.unwrap_err().code(), Code::FailedPrecondition);
    // API tokens cannot enrol (account operations are for people).
    let token = app
        .accounts()
        .create_api_token(ada.call(v1::CreateApiTokenRequest {
            api_token: Some(v1::ApiToken {
                display_name: "ci".into(),
                scope: v1::ApiTokenScope::Admin as i32,
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .secret;
    let by_token =
        app.accounts().begin_totp_enrollment(with_token(&token, v1::BeginTotpEnrollmentRequest {})).await.unwrap_err();
    assert_eq!(by_token.code(), Code::PermissionDenied);
    app.stop().await;
}

async fn sign_in_asks_for_a_second_factor_and_refuses_replays(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let (mut phone, _) = enrol(&app, &ada).await;

    let challenge = challenge(&app, &ada).await;
    // Bad challenges: garbage, an access token, and a challenge is no
    // access token either.
    for bad in ["", "not-a-challenge", ada.token.as_str()] {
        let status = verify(&app, bad, &phone.wrong_code()).await.unwrap_err();
        if bad.is_empty() {
            assert_invalid_field(&status, "challenge");
        } else {
            assert_eq!(status.code(), Code::Unauthenticated, "{bad}: {status:?}");
        }
    }
    assert_eq!(current_user(&app, &challenge).await.unwrap_err().code(), Code::Unauthenticated);
    assert_invalid_field(&verify(&app, &challenge, "12ab").await.unwrap_err(), "code");
    let wrong = verify(&app, &challenge, &phone.wrong_code()).await.unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated, "{wrong:?}");

    let code = phone.next_code().await;
    let signed_in = verify(&app, &challenge, &code).await.expect("the right code");
    let user = signed_in.user.expect("user");
    assert_eq!(user.name, ada.name);
    assert!(user.two_factor_enabled);
    let session = signed_in.session.expect("session");
    assert_eq!(current_user(&app, &session.access_token).await.unwrap().name, ada.name);

    // The same code again, with the same challenge or a new one: a replay.
    let replay = verify(&app, &challenge, &code).await.unwrap_err();
    assert_eq!(replay.code(), Code::Unauthenticated, "{replay:?}");
    assert!(replay.message().contains("already used"), "{replay:?}");
    let again = self::challenge(&app, &ada).await;
    assert_eq!(verify(&app, &again, &code).await.unwrap_err().code(), Code::Unauthenticated);
    // A code of an earlier step, still inside the drift window, is refused
    // too once a later one was accepted.
    let step = phone.last_step.unwrap();
    let earlier = phone.code_at_step(step - 1);
    if earlier != code {
        assert_eq!(verify(&app, &again, &earlier).await.unwrap_err().code(), Code::Unauthenticated);
    }
    // The next step's code works.
    let next = phone.next_code().await;
    verify(&app, &again, &next).await.expect("a fresh code");
    app.stop().await;
}

async fn recovery_codes_work_once_and_can_be_replaced(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let (mut phone, codes) = enrol(&app, &ada).await;
    let challenge = challenge(&app, &ada).await;
    // Case, spaces and the dash do not matter.
    let typed = format!(" {} ", codes[0].to_uppercase().replace('-', " "));
    let signed_in = verify(&app, &challenge, &typed).await.expect("a recovery code");
    assert!(signed_in.session.is_some());
    let reused = verify(&app, &challenge, &codes[0]).await.unwrap_err();
    assert_eq!(reused.code(), Code::Unauthenticated, "a recovery code works once: {reused:?}");
    verify(&app, &challenge, &codes[1]).await.expect("another recovery code");

    // New codes: the old ones stop working, the new ones work.
    let renewed = app
        .accounts()
        .regenerate_recovery_codes(ada.call(v1::RegenerateRecoveryCodesRequest { code: phone.next_code().await }))
        .await
        .unwrap()
        .into_inner()
        .recovery_codes;
    assert_eq!(renewed.len(), 10);
    assert!(renewed.iter().all(|code| !codes.contains(code)));
    assert_eq!(verify(&app, &challenge, &codes[2]).await.unwrap_err().code(), Code::Unauthenticated);
    verify(&app, &challenge, &renewed[0]).await.expect("a new recovery code");
    // Regenerating needs a current code: a wrong one or a recovery code
    // is refused.
    let wrong = app
        .accounts()
        .regenerate_recovery_codes(ada.call(v1::RegenerateRecoveryCodesRequest { code: phone.wrong_code() }))
        .await
        .unwrap_err();
    assert_invalid_field(&wrong, "code");
    let recovery = app
        .accounts()
        .regenerate_recovery_codes(ada.call(v1::RegenerateRecoveryCodesRequest { code: renewed[1].clone() }))
        .await
        .unwrap_err();
    assert_invalid_field(&recovery, "code");
    app.stop().await;
}

async fn wrong_codes_are_throttled_with_wrong_passwords(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let (mut phone, codes) = enrol(&app, &ada).await;
    let challenge = challenge(&app, &ada).await;
    for attempt in 0..9 {
        let status = verify(&app, &challenge, &phone.wrong_code()).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "attempt {attempt}: {status:?}");
    }
    // The right password does not clear the code failures (or knowing the
    // password would buy endless guesses)...
    let second = self::challenge(&app, &ada).await;
    let tenth = verify(&app, &second, &phone.wrong_code()).await.unwrap_err();
    assert_eq!(tenth.code(), Code::Unauthenticated);
    // ...so now even the right code and a recovery code wait, and so does
    // the password.
    let right = verify(&app, &second, &phone.next_code().await).await.unwrap_err();
    assert_eq!(right.code(), Code::ResourceExhausted, "{right:?}");
    assert_eq!(verify(&app, &second, &codes[0]).await.unwrap_err().code(), Code::ResourceExhausted);
    assert_eq!(sign_in(&app, &ada, PASSWORD).await.unwrap_err().code(), Code::ResourceExhausted);
    app.stop().await;
}

async fn turning_two_factor_off_needs_a_code_or_the_password(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let (mut phone, codes) = enrol(&app, &ada).await;
    let disable = |code: &str, password: &str| {
        let request = ada.call(v1::DisableTotpRequest { code: code.into(), password: password.into() });
        let mut accounts = app.accounts();
        async move { accounts.disable_totp(request).await.map(drop) }
    };
    let neither = disable("", "").await.unwrap_err();
    assert_invalid_field(&neither, "code");
    // Wrong answers name the field (not UNAUTHENTICATED: the session is fine).
    assert_invalid_field(&disable(&phone.wrong_code(), "").await.unwrap_err(), "code");
    assert_invalid_field(&disable("", "not the password").await.unwrap_err(), "password");
    assert!(current_user(&app, &ada.token).await.unwrap().two_factor_enabled, "still on");
    disable(&phone.next_code().await, "").await.expect("a current code turns it off");
    assert!(!current_user(&app, &ada.token).await.unwrap().two_factor_enabled);
    let direct = sign_in(&app, &ada, PASSWORD).await.unwrap();
    assert!(direct.session.is_some() && direct.second_factor_challenge.is_empty(), "no challenge any more");
    // The old recovery codes went with it.
    let (_, _) = enrol(&app, &ada).await;
    let challenge = challenge(&app, &ada).await;
    assert_eq!(verify(&app, &challenge, &codes[0]).await.unwrap_err().code(), Code::Unauthenticated);
    // The password turns it off too.
    disable("", PASSWORD).await.expect("the password turns it off");
    assert!(!current_user(&app, &ada.token).await.unwrap().two_factor_enabled);
    app.stop().await;
}

fn mask(path: &str) -> Option<FieldMask> {
    Some(FieldMask { paths: vec![path.into()] })
}

async fn set_requirement(app: &TestApp, owner: &TestUser, project: &str, on: bool) -> Result<v1::Project, Status> {
    app.projects()
        .update_project(owner.call(v1::UpdateProjectRequest {
            project: Some(v1::Project { name: project.into(), require_two_factor: on, ..Default::default() }),
            update_mask: mask("require_two_factor"),
        }))
        .await
        .map(|r| r.into_inner())
}

fn assert_two_factor_required(status: &Status, user: &TestUser) {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("two-factor"), "{status:?}");
    let failure = status.get_details_precondition_failure().expect("a PreconditionFailure detail");
    assert_eq!(failure.violations.len(), 1);
    assert_eq!(failure.violations[0].r#type, "TWO_FACTOR_REQUIRED");
    assert_eq!(failure.violations[0].subject, user.name);
}

async fn a_project_can_require_two_factor_of_its_members(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let victor = app.sign_up("victor").await;
    let project = app.create_project(&ada, "Vault").await;
    let secret = app.create_task(&ada, &project.name, task("quarterly numbers")).await;
    app.add_member(&ada, &project.name, &victor, v1::Role::Editor).await;

    // The owner must have it before requiring it.
    let unmet = set_requirement(&app, &ada, &project.name, true).await.unwrap_err();
    assert_eq!(unmet.code(), Code::FailedPrecondition, "{unmet:?}");
    let (_, _) = enrol(&app, &ada).await;
    let required = set_requirement(&app, &ada, &project.name, true).await.unwrap();
    assert!(required.require_two_factor);

    // Victor, without it, is refused everything in the project, reads too,
    // with the reason; the owner is not.
    let get_project = |user: &TestUser| {
        let request = user.call(v1::GetProjectRequest { name: project.name.clone() });
        let mut projects = app.projects();
        async move { projects.get_project(request).await.map(|r| r.into_inner()) }
    };
    assert_two_factor_required(&get_project(&victor).await.unwrap_err(), &victor);
    let get_task = app.tasks().get_task(victor.call(v1::GetTaskRequest { name: secret.name.clone() })).await;
    assert_two_factor_required(&get_task.unwrap_err(), &victor);
    let create = app.create_task_result(&victor, &project.name, task("sneaky")).await.unwrap_err();
    assert_two_factor_required(&create, &victor);
    assert!(get_project(&ada).await.unwrap().require_two_factor);
    // Search across projects leaves the project out for him; its listing
    // stays, so a client can explain.
    let search = |user: &TestUser| {
        let request = user.call(v1::SearchTasksRequest { query: "quarterly".into(), ..Default::default() });
        let mut tasks = app.tasks();
        async move { tasks.search_tasks(request).await.unwrap().into_inner().results.len() }
    };
    assert_eq!(search(&victor).await, 0);
    assert_eq!(search(&ada).await, 1);
    let listed = app.projects().list_projects(victor.call(v1::ListProjectsRequest::default())).await.unwrap();
    assert_eq!(listed.into_inner().projects.len(), 1);
    // An outsider still learns nothing of the setting.
    let mallory = app.sign_up("mallory").await;
    assert_eq!(get_project(&mallory).await.unwrap_err().code(), Code::PermissionDenied);

    // Enrolling unblocks him.
    let (_, _) = enrol(&app, &victor).await;
    assert_eq!(get_project(&victor).await.unwrap().title, "Vault");
    assert_eq!(search(&victor).await, 1);
    // Turning it off again lets members without it back in.
    let grace = app.sign_up("grace").await;
    app.add_member(&ada, &project.name, &grace, v1::Role::Viewer).await;
    assert_two_factor_required(&get_project(&grace).await.unwrap_err(), &grace);
    assert!(!set_requirement(&app, &ada, &project.name, false).await.unwrap().require_two_factor);
    get_project(&grace).await.expect("no requirement any more");
    // A member refused for want of it may still leave.
    set_requirement(&app, &ada, &project.name, true).await.unwrap();
    let leave = format!("{}/members/{}", project.name, grace.name.trim_start_matches("users/"));
    app.projects().remove_member(grace.call(v1::RemoveMemberRequest { name: leave })).await.expect("leave");
    assert_eq!(get_project(&grace).await.unwrap_err().code(), Code::PermissionDenied);
    app.stop().await;
}
