//! The caller's sessions: listed with their device, address and times,
//! revoked one by one (ending their streams, as signing out does), and
//! their idle and absolute lifetimes.

use std::time::Duration;

use sea_orm::{ConnectionTrait, Database};
use tasktracker_proto::v1;
use tonic::Code;

use crate::{
    helpers::{Backend, PASSWORD, TestApp, TestUser, assert_invalid_field, spawn_app},
    on_both_backends,
};

on_both_backends!(sessions_are_listed_and_revoked, sessions_end_when_idle_and_at_their_absolute_lifetime);

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// Signs `user` in again, from a Firefox if `browser`; the new session's
/// access and refresh tokens.
async fn sign_in(app: &TestApp, user: &TestUser, browser: bool) -> v1::Session {
    let mut request = tonic::Request::new(v1::SignInRequest { email: user.email.clone(), password: PASSWORD.into() });
    if browser {
        request.metadata_mut().insert("user-agent", FIREFOX.parse().unwrap());
    }
    app.accounts().sign_in(request).await.expect("sign in").into_inner().session.expect("session")
}

async fn sessions(app: &TestApp, user: &TestUser) -> Result<Vec<v1::UserSession>, tonic::Status> {
    app.accounts()
        .list_sessions(user.call(v1::ListSessionsRequest::default()))
        .await
        .map(|response| response.into_inner().sessions)
}

async fn revoke(app: &TestApp, user: &TestUser, name: &str) -> Result<(), tonic::Status> {
    app.accounts().revoke_session(user.call(v1::RevokeSessionRequest { name: name.into() })).await.map(drop)
}

async fn refresh(app: &TestApp, refresh_token: &str) -> Result<v1::Session, tonic::Status> {
    app.accounts()
        .refresh_session(v1::RefreshSessionRequest { refresh_token: refresh_token.into() })
        .await
        .map(|response| response.into_inner().session.expect("session"))
}

fn now_micros() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros()).unwrap()
}

fn session_id(session: &v1::UserSession) -> &str {
    session.name.rsplit('/').next().unwrap()
}

async fn sessions_are_listed_and_revoked(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let browser_session = sign_in(&app, &ada, true).await;
    let in_browser = TestUser { token: browser_session.access_token.clone(), ..ada.clone() };

    let listed = sessions(&app, &in_browser).await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let (newest, first) = (&listed[0], &listed[1]);
    assert!(newest.current && !first.current, "{listed:?}");
    assert!(newest.name.starts_with(&format!("{}/sessions/", ada.name)), "{}", newest.name);
    assert_eq!(newest.device, "Firefox on Linux");
    assert!(newest.user_agent.starts_with(FIREFOX), "{}", newest.user_agent);
    assert_eq!(first.device, "tonic", "the test client's own User-Agent");
    for session in &listed {
        assert_eq!(session.client_ip, "127.0.0.1");
        assert!(session.create_time.is_some() && session.last_seen_time.is_some());
        let lifetime = session.expire_time.unwrap().seconds - session.create_time.unwrap().seconds;
        assert!((30 * 86_400 - 5..=30 * 86_400 + 5).contains(&lifetime), "30 days absolute: {lifetime}");
        let idle = session.idle_expire_time.unwrap().seconds - session.last_seen_time.unwrap().seconds;
        assert!((7 * 86_400 - 5..=7 * 86_400 + 5).contains(&idle), "7 days idle: {idle}");
    }

    // A refresh is the session being seen: last-seen moves.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let refreshed = refresh(&app, &browser_session.refresh_token).await.unwrap();
    let in_browser = TestUser { token: refreshed.access_token, ..ada.clone() };
    let after = sessions(&app, &in_browser).await.unwrap();
    assert!(after[0].last_seen_time.unwrap().seconds > newest.last_seen_time.unwrap().seconds, "{after:?}");
    assert_eq!(after[0].create_time, newest.create_time);

    // Someone else's session, or a malformed name: refused.
    let grace = app.sign_up("grace").await;
    let graces = sessions(&app, &grace).await.unwrap();
    assert_eq!(graces.len(), 1, "only her own");
    assert_eq!(revoke(&app, &ada, &graces[0].name).await.unwrap_err().code(), Code::NotFound);
    let forged = format!("{}/sessions/{}", ada.name, session_id(&graces[0]));
    assert_eq!(revoke(&app, &ada, &forged).await.unwrap_err().code(), Code::NotFound);
    assert_invalid_field(&revoke(&app, &ada, "sessions/1").await.unwrap_err(), "name");
    assert!(sessions(&app, &grace).await.unwrap().len() == 1, "grace is still signed in");

    // API tokens neither list nor revoke sessions.
    let token = app
        .accounts()
        .create_api_token(ada.call(v1::CreateApiTokenRequest {
            api_token: Some(v1::ApiToken {
                display_name: "bot".into(),
                scope: v1::ApiTokenScope::Admin as i32,
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .secret;
    let bot = TestUser { token, ..ada.clone() };
    assert_eq!(sessions(&app, &bot).await.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(revoke(&app, &bot, &first.name).await.unwrap_err().code(), Code::PermissionDenied);

    // Revoking the first session from the browser ends its open stream and
    // its tokens, as signing it out would.
    let project = app.create_project(&ada, "Watched").await;
    let mut stream = app
        .tasks()
        .watch_tasks(ada.call(v1::WatchTasksRequest { parent: project.name.clone(), cursor: String::new() }))
        .await
        .unwrap()
        .into_inner();
    stream.message().await.unwrap().expect("a heartbeat first");
    revoke(&app, &in_browser, &first.name).await.unwrap();
    let started = std::time::Instant::now();
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the stream ends");
    assert_eq!(end.unwrap_err().code(), Code::Unauthenticated);
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    let refused = app.accounts().get_current_user(ada.call(v1::GetCurrentUserRequest {})).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    let left = sessions(&app, &in_browser).await.unwrap();
    assert_eq!(left.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), [newest.name.as_str()]);
    assert_eq!(revoke(&app, &in_browser, &first.name).await.unwrap_err().code(), Code::NotFound, "already revoked");
    // Revoking the current session signs the caller out.
    revoke(&app, &in_browser, &newest.name).await.unwrap();
    assert_eq!(sessions(&app, &in_browser).await.unwrap_err().code(), Code::Unauthenticated);
    app.stop().await;
}

/// A session ends 7 days after its last refresh (idle) and 30 days after
/// sign-in (absolute), whichever comes first; a refresh never extends it
/// past the absolute end.
async fn sessions_end_when_idle_and_at_their_absolute_lifetime(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let db = Database::connect(app.database.url.clone()).await.unwrap();
    let set = async |column: &str, value: i64, session: &str| {
        db.execute_unprepared(&format!("UPDATE sessions SET {column} = {value} WHERE id = '{session}'")).await.unwrap();
    };

    // Near its absolute end, a refresh gives tokens that end with it.
    let near_end = sign_in(&app, &ada, false).await;
    let user = TestUser { token: near_end.access_token.clone(), ..ada.clone() };
    let listed = sessions(&app, &user).await.unwrap();
    let id = session_id(listed.iter().find(|s| s.current).unwrap()).to_owned();
    let end = now_micros() + 60_000_000;
    set("expire_time", end, &id).await;
    let refreshed = refresh(&app, &near_end.refresh_token).await.unwrap();
    let end_seconds = end / 1_000_000;
    assert!(refreshed.refresh_token_expire_time.unwrap().seconds <= end_seconds, "{refreshed:?}");
    assert!(refreshed.access_token_expire_time.unwrap().seconds <= end_seconds, "{refreshed:?}");
    // Past it, the session is over: no refresh, not listed.
    set("expire_time", now_micros() - 1, &id).await;
    assert_eq!(refresh(&app, &refreshed.refresh_token).await.unwrap_err().code(), Code::Unauthenticated);
    let other = TestUser { token: sign_in(&app, &ada, false).await.access_token, ..ada.clone() };
    assert!(
        sessions(&app, &other).await.unwrap().iter().all(|s| session_id(s) != id),
        "an ended session is not listed"
    );

    // Idle: not refreshed for 7 days.
    let idle = sign_in(&app, &ada, false).await;
    let user = TestUser { token: idle.access_token.clone(), ..ada.clone() };
    let id = session_id(sessions(&app, &user).await.unwrap().iter().find(|s| s.current).unwrap()).to_owned();
    set("refresh_expire_time", now_micros() - 1, &id).await;
    assert_eq!(refresh(&app, &idle.refresh_token).await.unwrap_err().code(), Code::Unauthenticated);
    assert!(sessions(&app, &other).await.unwrap().iter().all(|s| session_id(s) != id), "an idle session is not listed");
    app.stop().await;
}
