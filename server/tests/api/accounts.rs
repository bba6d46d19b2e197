//! Accounts, sessions and API tokens.

use prost_types::Timestamp;
use tasktracker_proto::v1;
use tonic::Code;

use crate::{
    helpers::{Backend, PASSWORD, TestApp, TestDatabase, spawn_app, spawn_app_with, with_token},
    on_both_backends,
};

on_both_backends!(
    sign_up_sign_in_refresh_and_sign_out,
    reusing_a_rotated_refresh_token_revokes_the_session,
    wrong_passwords_and_duplicate_emails_are_refused,
    sign_in_is_rate_limited_per_account,
    behind_a_trusted_proxy_limits_follow_the_forwarded_client,
    api_tokens_are_shown_once_listed_and_revocable,
    the_profile_holds_a_display_name_and_a_time_zone,
);

async fn sign_up_sign_in_refresh_and_sign_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;

    let me = app.accounts().get_current_user(ada.call(v1::GetCurrentUserRequest {})).await.unwrap().into_inner();
    assert_eq!(me.name, ada.name);
    assert_eq!(me.email, ada.email);
    assert_eq!(me.display_name, "ada");

    let signed_in = app
        .accounts()
        .sign_in(v1::SignInRequest { email: ada.email.to_uppercase(), password: PASSWORD.into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(signed_in.user.unwrap().name, ada.name);
    let session = signed_in.session.unwrap();

    // Refresh rotates: the new pair works, the old refresh token does not.
    let refreshed = app
        .accounts()
        .refresh_session(v1::RefreshSessionRequest { refresh_token: session.refresh_token.clone() })
        .await
        .unwrap()
        .into_inner()
        .session
        .unwrap();
    assert_ne!(refreshed.refresh_token, session.refresh_token);
    app.accounts().get_current_user(with_token(&refreshed.access_token, v1::GetCurrentUserRequest {})).await.unwrap();
    // (Presenting the old one again is reuse: see the next test.)

    // Sign-out ends the session server-side at once.
    app.accounts().sign_out(with_token(&refreshed.access_token, v1::SignOutRequest {})).await.unwrap();
    let after = app
        .accounts()
        .get_current_user(with_token(&refreshed.access_token, v1::GetCurrentUserRequest {}))
        .await
        .unwrap_err();
    assert_eq!(after.code(), Code::Unauthenticated);
    let refresh_after = app
        .accounts()
        .refresh_session(v1::RefreshSessionRequest { refresh_token: refreshed.refresh_token })
        .await
        .unwrap_err();
    assert_eq!(refresh_after.code(), Code::Unauthenticated);
    // The first session is independent and still live.
    app.accounts().get_current_user(ada.call(v1::GetCurrentUserRequest {})).await.unwrap();
    app.stop().await;
}

async fn wrong_passwords_and_duplicate_emails_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let wrong = app
        .accounts()
        .sign_in(v1::SignInRequest { email: ada.email.clone(), password: "wrong password!".into() })
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated);
    let nobody = app
        .accounts()
        .sign_in(v1::SignInRequest { email: "nobody@example.com".into(), password: PASSWORD.into() })
        .await
        .unwrap_err();
    assert_eq!(nobody.code(), Code::Unauthenticated);
    assert_eq!(wrong.message(), nobody.message(), "no account enumeration through sign-in");
    let duplicate = app
        .accounts()
        .sign_up(v1::SignUpRequest {
            email: ada.email.clone(),
            password: PASSWORD.into(),
            display_name: "Ada again".into(),
        })
        .await
        .unwrap_err();
    crate::helpers::assert_invalid_field(&duplicate, "email");
    let forged = app
        .accounts()
        .get_current_user(with_token("eyJhbGciOiJub25lIn0.e30.", v1::GetCurrentUserRequest {}))
        .await
        .unwrap_err();
    assert_eq!(forged.code(), Code::Unauthenticated);
    app.stop().await;
}

async fn sign_in_is_rate_limited_per_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let grace = app.sign_up("grace").await;
    let mut codes = Vec::new();
    for _ in 0..12 {
        let result = app
            .accounts()
            .sign_in(v1::SignInRequest { email: ada.email.clone(), password: "not the password".into() })
            .await;
        codes.push(result.unwrap_err().code());
    }
    assert!(codes[..10].iter().all(|code| *code == Code::Unauthenticated), "{codes:?}");
    assert_eq!(codes[10..], [Code::ResourceExhausted, Code::ResourceExhausted]);
    // Even the right password waits out the throttle...
    let throttled = app
        .accounts()
        .sign_in(v1::SignInRequest { email: ada.email.clone(), password: PASSWORD.into() })
        .await
        .unwrap_err();
    assert_eq!(throttled.code(), Code::ResourceExhausted);
    // ...while other accounts are unaffected, and successes do not count:
    // more than the failure budget in a row all go through.
    for _ in 0..12 {
        let request = v1::SignInRequest { email: grace.email.clone(), password: PASSWORD.into() };
        app.accounts().sign_in(request).await.unwrap();
    }
    app.stop().await;
}

async fn api_tokens_are_shown_once_listed_and_revocable(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Ops").await;
    let created = app
        .accounts()
        .create_api_token(ada.call(v1::CreateApiTokenRequest {
            api_token: Some(v1::ApiToken {
                display_name: "deploy bot".into(),
                scope: v1::ApiTokenScope::Write as i32,
                project: project.name.clone(),
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(created.secret.starts_with("ttk_"));
    let token = created.api_token.unwrap();
    assert!(token.expire_time.is_some(), "expiry is mandatory");

    // The token acts for Ada in its project.
    let task = app
        .tasks()
        .create_task(with_token(
            &created.secret,
            v1::CreateTaskRequest {
                parent: project.name.clone(),
                task: Some(crate::helpers::task("from a bot")),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(task.creator, ada.name);

    // Listing never shows the secret, and shows the last use.
    crate::helpers::eventually(std::time::Duration::from_secs(5), async || {
        let listed =
            app.accounts().list_api_tokens(ada.call(v1::ListApiTokensRequest::default())).await.unwrap().into_inner();
        listed.api_tokens.len() == 1 && listed.api_tokens[0].last_use_time.is_some()
    })
    .await;
    let listed =
        app.accounts().list_api_tokens(ada.call(v1::ListApiTokensRequest::default())).await.unwrap().into_inner();
    assert_eq!(listed.api_tokens[0].name, token.name);
    assert!(!format!("{listed:?}").contains(&created.secret[4..20]));

    // API tokens cannot manage tokens themselves.
    let denied = app
        .accounts()
        .list_api_tokens(with_token(&created.secret, v1::ListApiTokensRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    let revoked = app
        .accounts()
        .revoke_api_token(ada.call(v1::RevokeApiTokenRequest { name: token.name.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert!(revoked.revoke_time.is_some());
    let refused = app
        .tasks()
        .get_task(with_token(&created.secret, v1::GetTaskRequest { name: task.name.clone() }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);

    // Expiry beyond a year is refused, naming the field.
    let too_long = app
        .accounts()
        .create_api_token(ada.call(v1::CreateApiTokenRequest {
            api_token: Some(v1::ApiToken {
                display_name: "forever".into(),
                scope: v1::ApiTokenScope::Read as i32,
                expire_time: Some(Timestamp { seconds: 4_102_444_800, nanos: 0 }),
                ..Default::default()
            }),
        }))
        .await
        .unwrap_err();
    crate::helpers::assert_invalid_field(&too_long, "api_token.expire_time");
    app.stop().await;
}

/// OAuth 2.0 Security BCP: a rotated refresh token presented again means a
/// copy exists; the session ends for every holder, while the user's other
/// sessions live on.
async fn reusing_a_rotated_refresh_token_revokes_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let sign_in = || {
        let request = v1::SignInRequest { email: ada.email.clone(), password: PASSWORD.into() };
        let mut accounts = app.accounts();
        async move { accounts.sign_in(request).await.unwrap().into_inner().session.unwrap() }
    };
    let refresh = |refresh_token: String| {
        let mut accounts = app.accounts();
        async move {
            let answer = accounts.refresh_session(v1::RefreshSessionRequest { refresh_token }).await;
            answer.map(|answer| answer.into_inner().session.unwrap())
        }
    };
    let stolen = sign_in().await;
    let other = sign_in().await;
    let first = refresh(stolen.refresh_token.clone()).await.unwrap();
    let second = refresh(first.refresh_token.clone()).await.unwrap();
    app.accounts().get_current_user(with_token(&second.access_token, v1::GetCurrentUserRequest {})).await.unwrap();

    // The thief replays an old token (two rotations back): refused, and the
    // session is over for the legitimate holder too.
    assert_eq!(refresh(stolen.refresh_token).await.unwrap_err().code(), Code::Unauthenticated);
    let me = app.accounts().get_current_user(with_token(&second.access_token, v1::GetCurrentUserRequest {})).await;
    assert_eq!(me.unwrap_err().code(), Code::Unauthenticated, "the access token of the revoked session");
    assert_eq!(refresh(second.refresh_token).await.unwrap_err().code(), Code::Unauthenticated);
    // Another session of the same user is untouched.
    app.accounts().get_current_user(with_token(&other.access_token, v1::GetCurrentUserRequest {})).await.unwrap();
    refresh(other.refresh_token).await.unwrap();
    // An unknown token changes nothing.
    assert_eq!(refresh("not-a-token".into()).await.unwrap_err().code(), Code::Unauthenticated);
    app.stop().await;
}

/// A failed sign-in of `email` claiming to come from `forwarded_for`.
async fn wrong_password_from(app: &TestApp, email: &str, forwarded_for: &str) -> Code {
    let mut request = tonic::Request::new(v1::SignInRequest { email: email.into(), password: "wrong".into() });
    request.metadata_mut().insert("x-forwarded-for", forwarded_for.parse().unwrap());
    app.accounts().sign_in(request).await.unwrap_err().code()
}

/// Per-address limits use the client a trusted proxy reports, and ignore
/// the header when the peer is not trusted (anyone can write it).
async fn behind_a_trusted_proxy_limits_follow_the_forwarded_client(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let behind_proxy = spawn_app_with(backend, database, |settings| {
        settings.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
    })
    .await;
    let ada = behind_proxy.sign_up("ada").await;
    for _ in 0..10 {
        assert_eq!(wrong_password_from(&behind_proxy, &ada.email, "198.51.100.7").await, Code::Unauthenticated);
    }
    assert_eq!(wrong_password_from(&behind_proxy, &ada.email, "198.51.100.7").await, Code::ResourceExhausted);
    // Another client behind the same balancer is not locked out by the first.
    assert_eq!(wrong_password_from(&behind_proxy, &ada.email, "198.51.100.8").await, Code::Unauthenticated);
    behind_proxy.stop().await;

    let direct = spawn_app(backend).await;
    let ada = direct.sign_up("ada").await;
    for attempt in 0..10 {
        let claimed = format!("198.51.100.{attempt}");
        assert_eq!(wrong_password_from(&direct, &ada.email, &claimed).await, Code::Unauthenticated);
    }
    // Claiming yet another address changes nothing: the peer is what counts.
    assert_eq!(wrong_password_from(&direct, &ada.email, "198.51.100.99").await, Code::ResourceExhausted);
    direct.stop().await;
}

fn profile_update(display_name: &str, time_zone: &str, paths: &[&str]) -> v1::UpdateCurrentUserRequest {
    v1::UpdateCurrentUserRequest {
        user: Some(v1::User { display_name: display_name.into(), time_zone: time_zone.into(), ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: paths.iter().map(|path| (*path).to_owned()).collect() }),
    }
}

async fn the_profile_holds_a_display_name_and_a_time_zone(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let me = app.accounts().get_current_user(ada.call(v1::GetCurrentUserRequest {})).await.unwrap().into_inner();
    assert_eq!(me.time_zone, "", "no zone until one is chosen");

    // Only the masked field changes.
    let updated = app
        .accounts()
        .update_current_user(ada.call(profile_update("ignored", "Europe/Berlin", &["time_zone"])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((updated.display_name.as_str(), updated.time_zone.as_str()), ("ada", "Europe/Berlin"));
    let updated = app
        .accounts()
        .update_current_user(ada.call(profile_update("  Ada Lovelace ", "America/New_York", &["*"])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((updated.display_name.as_str(), updated.time_zone.as_str()), ("Ada Lovelace", "America/New_York"));
    let me = app.accounts().get_current_user(ada.call(v1::GetCurrentUserRequest {})).await.unwrap().into_inner();
    assert_eq!((me.display_name, me.time_zone), ("Ada Lovelace".to_owned(), "America/New_York".to_owned()));

    // Bad input names its field, and changes nothing.
    for (request, field) in [
        (profile_update("ada", "Mars/Olympus_Mons", &["time_zone"]), "user.time_zone"),
        (profile_update("ada", "europe/berlin", &["time_zone"]), "user.time_zone"),
        (profile_update("", "UTC", &["display_name"]), "user.display_name"),
        (profile_update("ada", "UTC", &["email"]), "update_mask"),
        (profile_update("ada", "UTC", &[]), "update_mask"),
    ] {
        let refused = app.accounts().update_current_user(ada.call(request)).await.unwrap_err();
        crate::helpers::assert_invalid_field(&refused, field);
    }
    let refused = app
        .accounts()
        .update_current_user(ada.call(v1::UpdateCurrentUserRequest { user: None, update_mask: None }))
        .await
        .unwrap_err();
    crate::helpers::assert_invalid_field(&refused, "user");
    let me = app.accounts().get_current_user(ada.call(v1::GetCurrentUserRequest {})).await.unwrap().into_inner();
    assert_eq!(me.time_zone, "America/New_York");

    // Clearing the zone goes back to "the device's".
    let cleared = app
        .accounts()
        .update_current_user(ada.call(profile_update("", "", &["time_zone"])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cleared.time_zone, "");

    // Another user is untouched; API tokens may not change a profile; anonymous callers are refused.
    let bob = app.sign_up("bob").await;
    let bob_me = app.accounts().get_current_user(bob.call(v1::GetCurrentUserRequest {})).await.unwrap().into_inner();
    assert_eq!((bob_me.display_name, bob_me.time_zone), ("bob".to_owned(), String::new()));
    let created = app
        .accounts()
        .create_api_token(ada.call(v1::CreateApiTokenRequest {
            api_token: Some(v1::ApiToken {
                display_name: "bot".into(),
                scope: v1::ApiTokenScope::Write as i32,
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    let by_token = app
        .accounts()
        .update_current_user(with_token(&created.secret, profile_update("bot", "UTC", &["time_zone"])))
        .await
        .unwrap_err();
    assert_eq!(by_token.code(), Code::PermissionDenied);
    let anonymous = app.accounts().update_current_user(profile_update("x", "UTC", &["time_zone"])).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    app.stop().await;
}
