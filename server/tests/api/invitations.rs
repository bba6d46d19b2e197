//! Invitations: adding a member by email invites them, and the answer says
//! nothing about whether an account has that address.

use prost::Message as _;
use sea_orm::{ConnectionTrait, Database};
use tasktracker_proto::v1;
use tonic::Code;

use crate::{
    helpers::{Backend, PASSWORD, TestApp, TestUser, assert_invalid_field, spawn_app},
    on_both_backends,
};

on_both_backends!(
    inviting_answers_alike_whether_or_not_an_account_exists,
    invitations_are_accepted_declined_revoked_and_expire,
    only_owners_invite_and_only_the_invitee_answers,
);

fn unique_email(who: &str) -> String {
    format!("{who}-{}@example.com", uuid::Uuid::now_v7().simple())
}

async fn add_member(app: &TestApp, owner: &TestUser, project: &str, member: v1::Member) -> v1::Member {
    app.projects()
        .add_member(owner.call(v1::AddMemberRequest { parent: project.into(), member: Some(member) }))
        .await
        .expect("add member")
        .into_inner()
}

async fn invite(app: &TestApp, owner: &TestUser, project: &str, email: &str, role: v1::Role) -> v1::Invitation {
    app.projects()
        .create_invitation(owner.call(v1::CreateInvitationRequest {
            parent: project.into(),
            invitation: Some(v1::Invitation { email: email.into(), role: role as i32, ..Default::default() }),
        }))
        .await
        .expect("invite")
        .into_inner()
}

async fn pending(app: &TestApp, owner: &TestUser, project: &str) -> Vec<v1::Invitation> {
    app.projects()
        .list_invitations(owner.call(v1::ListInvitationsRequest { parent: project.into(), ..Default::default() }))
        .await
        .expect("list invitations")
        .into_inner()
        .invitations
}

async fn mine(app: &TestApp, user: &TestUser) -> Vec<v1::Invitation> {
    app.projects()
        .list_my_invitations(user.call(v1::ListMyInvitationsRequest::default()))
        .await
        .expect("list my invitations")
        .into_inner()
        .invitations
}

async fn accept(app: &TestApp, user: &TestUser, name: &str) -> Result<v1::AcceptInvitationResponse, tonic::Status> {
    app.projects()
        .accept_invitation(user.call(v1::AcceptInvitationRequest { name: name.into() }))
        .await
        .map(tonic::Response::into_inner)
}

async fn decline(app: &TestApp, user: &TestUser, name: &str) -> Result<v1::Invitation, tonic::Status> {
    app.projects()
        .decline_invitation(user.call(v1::DeclineInvitationRequest { name: name.into() }))
        .await
        .map(tonic::Response::into_inner)
}

async fn can_read(app: &TestApp, user: &TestUser, project: &str) -> bool {
    app.projects().get_project(user.call(v1::GetProjectRequest { name: project.into() })).await.is_ok()
}

/// AddMember's answer with what is generated per call (the invitation's
/// id, the time) and the address the caller sent taken out, encoded.
fn member_without_generated(mut member: v1::Member) -> Vec<u8> {
    assert!(member.invitation.contains("/invitations/"), "{member:?}");
    assert!(member.create_time.is_some());
    member.invitation.clear();
    member.create_time = None;
    member.email.clear();
    member.user.clear();
    member.encode_to_vec()
}

fn invitation_without_generated(mut invitation: v1::Invitation) -> Vec<u8> {
    invitation.name.clear();
    invitation.create_time = None;
    invitation.expire_time = None;
    invitation.email.clear();
    invitation.user.clear();
    invitation.encode_to_vec()
}

/// The defect an outside tester found: AddMember answered an address with
/// an account differently from one without (NOT_FOUND "user not found"),
/// and echoed the account's name. Now both are invitations, answered alike.
async fn inviting_answers_alike_whether_or_not_an_account_exists(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let grace = app.sign_up("grace").await;
    let project = app.create_project(&ada, "Team").await;
    // Same length as Grace's generated address, so even the sizes match.
    let nobody = grace.email.replacen("grace", "nobod", 1);
    assert_eq!(nobody.len(), grace.email.len());

    let by_email =
        |email: &str| v1::Member { email: email.into(), role: v1::Role::Editor as i32, ..Default::default() };
    let existing = add_member(&app, &ada, &project.name, by_email(&grace.email)).await;
    let missing = add_member(&app, &ada, &project.name, by_email(&nobody)).await;
    assert_eq!(existing.state, v1::MemberState::Invited as i32);
    assert_eq!(existing.email, grace.email, "only what the caller sent comes back");
    assert_eq!(missing.email, nobody);
    for answer in [&existing, &missing] {
        assert!(answer.name.is_empty() && answer.display_name.is_empty() && answer.user.is_empty(), "{answer:?}");
    }
    assert_eq!(member_without_generated(existing), member_without_generated(missing));

    // By user id: an account, and an id no account has.
    let by_user = |user: &str| v1::Member { user: user.into(), role: v1::Role::Viewer as i32, ..Default::default() };
    let existing = add_member(&app, &ada, &project.name, by_user(&grace.name)).await;
    let missing = add_member(&app, &ada, &project.name, by_user(&format!("users/{}", uuid::Uuid::now_v7()))).await;
    assert_eq!(existing.user, grace.name);
    assert!(existing.email.is_empty() && existing.display_name.is_empty());
    assert_eq!(member_without_generated(existing), member_without_generated(missing));

    // CreateInvitation too.
    let existing = invite(&app, &ada, &project.name, &grace.email, v1::Role::Owner).await;
    let missing = invite(&app, &ada, &project.name, &nobody, v1::Role::Owner).await;
    assert_eq!(existing.state, v1::InvitationState::Pending as i32);
    assert!(existing.project_title.is_empty() && existing.inviter_display_name.is_empty());
    assert_eq!(invitation_without_generated(existing), invitation_without_generated(missing));

    // Bad input is refused alike too, naming the field.
    let invalid = |invitation: v1::Invitation| {
        ada.call(v1::CreateInvitationRequest { parent: project.name.clone(), invitation: Some(invitation) })
    };
    let status = app
        .projects()
        .create_invitation(invalid(v1::Invitation { role: v1::Role::Editor as i32, ..Default::default() }))
        .await
        .unwrap_err();
    assert_invalid_field(&status, "invitation.email");
    let status = app
        .projects()
        .create_invitation(invalid(v1::Invitation {
            email: "not an address".into(),
            role: v1::Role::Editor as i32,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_invalid_field(&status, "invitation.email");
    let status = app
        .projects()
        .create_invitation(invalid(v1::Invitation { email: nobody.clone(), ..Default::default() }))
        .await
        .unwrap_err();
    assert_invalid_field(&status, "invitation.role");
    let status = app
        .projects()
        .create_invitation(invalid(v1::Invitation {
            user: "grace".into(),
            role: v1::Role::Editor as i32,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_invalid_field(&status, "invitation.user");
    app.stop().await;
}

async fn invitations_are_accepted_declined_revoked_and_expire(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let grace = app.sign_up("grace").await;
    let mallory = app.sign_up("mallory").await;
    let project = app.create_project(&ada, "Team").await;
    let p = project.name.as_str();

    // Inviting twice (the address in another case, another role) is one
    // pending invitation, with the last role.
    let first = invite(&app, &ada, p, &grace.email, v1::Role::Editor).await;
    let again = invite(&app, &ada, p, &grace.email.to_uppercase(), v1::Role::Viewer).await;
    assert_eq!(again.name, first.name);
    assert_eq!(again.email, grace.email, "addresses are kept in lower case");
    assert_eq!(again.role, v1::Role::Viewer as i32);
    assert_eq!(again.inviter, ada.name);
    let expires = again.expire_time.unwrap().seconds - again.create_time.unwrap().seconds;
    assert!((7 * 86_400 - 5..=7 * 86_400 + 5).contains(&expires), "7 days: {expires} s");
    assert_eq!(pending(&app, &ada, p).await.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), [first.name.as_str()]);

    // Grace sees it, with the project and who invited her; Mallory does not.
    let graces = mine(&app, &grace).await;
    assert_eq!(graces.len(), 1);
    assert_eq!((graces[0].project_title.as_str(), graces[0].inviter_display_name.as_str()), ("Team", "ada"));
    assert!(mine(&app, &mallory).await.is_empty());
    // Mallory can neither accept nor decline it: refused as if it did not exist.
    let missing = format!("{p}/invitations/{}", uuid::Uuid::now_v7());
    for name in [&first.name, &missing] {
        assert_eq!(accept(&app, &mallory, name).await.unwrap_err().code(), Code::PermissionDenied);
        assert_eq!(decline(&app, &mallory, name).await.unwrap_err().code(), Code::PermissionDenied);
    }
    assert!(!can_read(&app, &mallory, p).await);
    // Nor can an API token of Grace's: answering is for the person.
    let token = app
        .accounts()
        .create_api_token(grace.call(v1::CreateApiTokenRequest {
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
    let bot = TestUser { token, ..grace.clone() };
    assert_eq!(accept(&app, &bot, &first.name).await.unwrap_err().code(), Code::PermissionDenied);

    // Grace accepts: a viewer now.
    assert!(!can_read(&app, &grace, p).await);
    let accepted = accept(&app, &grace, &first.name).await.unwrap();
    assert_eq!(accepted.invitation.unwrap().state, v1::InvitationState::Accepted as i32);
    let member = accepted.member.unwrap();
    assert_eq!((member.user.as_str(), member.role), (grace.name.as_str(), v1::Role::Viewer as i32));
    let got = app.projects().get_project(grace.call(v1::GetProjectRequest { name: p.into() })).await.unwrap();
    assert_eq!(got.into_inner().caller_role, v1::Role::Viewer as i32);
    let twice = accept(&app, &grace, &first.name).await.unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition, "{twice:?}");
    assert!(pending(&app, &ada, p).await.is_empty());
    assert!(mine(&app, &grace).await.is_empty());
    // Inviting a member again and accepting keeps their role.
    let renewed = invite(&app, &ada, p, &grace.email, v1::Role::Owner).await;
    assert_ne!(renewed.name, first.name, "a new invitation: the first was answered");
    let kept = accept(&app, &grace, &renewed.name).await.unwrap().member.unwrap();
    assert_eq!(kept.role, v1::Role::Viewer as i32, "UpdateMember changes roles, not invitations");

    // Declined: not a member, and it cannot be accepted after.
    let bob = app.sign_up("bob").await;
    let to_bob = invite(&app, &ada, p, &bob.email, v1::Role::Editor).await;
    assert_eq!(decline(&app, &bob, &to_bob.name).await.unwrap().state, v1::InvitationState::Declined as i32);
    assert_eq!(accept(&app, &bob, &to_bob.name).await.unwrap_err().code(), Code::FailedPrecondition);
    assert!(mine(&app, &bob).await.is_empty());
    assert!(!can_read(&app, &bob, p).await);

    // Revoked by an owner: the same.
    let carl = app.sign_up("carl").await;
    let to_carl = invite(&app, &ada, p, &carl.email, v1::Role::Editor).await;
    let revoke = || ada.call(v1::RevokeInvitationRequest { name: to_carl.name.clone() });
    let revoked = app.projects().revoke_invitation(revoke()).await.unwrap().into_inner();
    assert_eq!(revoked.state, v1::InvitationState::Revoked as i32);
    assert!(revoked.resolve_time.is_some());
    assert_eq!(app.projects().revoke_invitation(revoke()).await.unwrap_err().code(), Code::FailedPrecondition);
    let refused = accept(&app, &carl, &to_carl.name).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("withdrawn"), "{refused:?}");
    assert!(!can_read(&app, &carl, p).await);

    // Expired: seven days on, nobody can accept it; inviting again makes a
    // new one.
    let dan = app.sign_up("dan").await;
    let to_dan = invite(&app, &ada, p, &dan.email, v1::Role::Editor).await;
    let db = Database::connect(app.database.url.clone()).await.unwrap();
    let id = to_dan.name.rsplit('/').next().unwrap();
    db.execute_unprepared(&format!("UPDATE invitations SET expire_time = create_time - 1 WHERE id = '{id}'"))
        .await
        .unwrap();
    assert!(mine(&app, &dan).await.is_empty());
    assert!(pending(&app, &ada, p).await.is_empty());
    let expired = accept(&app, &dan, &to_dan.name).await.unwrap_err();
    assert_eq!(expired.code(), Code::FailedPrecondition);
    assert!(expired.message().contains("expired"), "{expired:?}");
    let fresh = invite(&app, &ada, p, &dan.email, v1::Role::Editor).await;
    assert_ne!(fresh.name, to_dan.name);
    assert_eq!(fresh.state, v1::InvitationState::Pending as i32);
    assert!(accept(&app, &dan, &fresh.name).await.is_ok());
    assert!(can_read(&app, &dan, p).await);

    // An address with no account yet: whoever signs up with it sees the
    // invitation and may accept it.
    let erin_email = unique_email("erin");
    let to_erin = invite(&app, &ada, p, &erin_email, v1::Role::Editor).await;
    let signed_up = app
        .accounts()
        .sign_up(v1::SignUpRequest {
            email: erin_email.clone(),
            password: PASSWORD.into(),
            display_name: "erin".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let erin = TestUser {
        name: signed_up.user.unwrap().name,
        email: erin_email,
        token: signed_up.session.unwrap().access_token,
    };
    assert_eq!(mine(&app, &erin).await.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), [to_erin.name.as_str()]);
    let member = accept(&app, &erin, &to_erin.name).await.unwrap().member.unwrap();
    assert_eq!(member.role, v1::Role::Editor as i32);
    app.stop().await;
}

async fn only_owners_invite_and_only_the_invitee_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let edgar = app.sign_up("edgar").await;
    let victor = app.sign_up("victor").await;
    let project = app.create_project(&ada, "Team").await;
    let p = project.name.as_str();
    app.add_member(&ada, p, &edgar, v1::Role::Editor).await;
    app.add_member(&ada, p, &victor, v1::Role::Viewer).await;
    let invitation = invite(&app, &ada, p, &unique_email("frank"), v1::Role::Viewer).await;
    for member in [&edgar, &victor] {
        let create = app
            .projects()
            .create_invitation(member.call(v1::CreateInvitationRequest {
                parent: p.into(),
                invitation: Some(v1::Invitation {
                    email: unique_email("friend"),
                    role: v1::Role::Viewer as i32,
                    ..Default::default()
                }),
            }))
            .await
            .unwrap_err();
        assert_eq!(create.code(), Code::PermissionDenied, "{create:?}");
        let add = app
            .projects()
            .add_member(member.call(v1::AddMemberRequest {
                parent: p.into(),
                member: Some(v1::Member {
                    email: unique_email("friend"),
                    role: v1::Role::Viewer as i32,
                    ..Default::default()
                }),
            }))
            .await
            .unwrap_err();
        assert_eq!(add.code(), Code::PermissionDenied);
        let list = app
            .projects()
            .list_invitations(member.call(v1::ListInvitationsRequest { parent: p.into(), ..Default::default() }))
            .await
            .unwrap_err();
        assert_eq!(list.code(), Code::PermissionDenied);
        let revoke = app
            .projects()
            .revoke_invitation(member.call(v1::RevokeInvitationRequest { name: invitation.name.clone() }))
            .await
            .unwrap_err();
        assert_eq!(revoke.code(), Code::PermissionDenied);
        // Members other than the invitee cannot answer it either.
        assert_eq!(accept(&app, member, &invitation.name).await.unwrap_err().code(), Code::PermissionDenied);
        assert_eq!(decline(&app, member, &invitation.name).await.unwrap_err().code(), Code::PermissionDenied);
    }
    assert_eq!(pending(&app, &ada, p).await.len(), 1, "nothing changed");
    app.stop().await;
}
