//! Projects and members.

use prost_types::FieldMask;
use tasktracker_proto::v1;
use tonic::Code;

use crate::{
    helpers::{Backend, spawn_app, task},
    on_both_backends,
};

on_both_backends!(projects_are_created_listed_renamed_and_archived, members_get_roles_and_a_project_keeps_an_owner);

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask { paths: paths.iter().map(|path| (*path).to_owned()).collect() })
}

async fn projects_are_created_listed_renamed_and_archived(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;

    // Idempotent create.
    let request = || v1::CreateProjectRequest {
        project: Some(v1::Project { title: "Launch".into(), description: "Q1 launch".into(), ..Default::default() }),
        request_id: "7d1f0c1e-0000-4000-8000-000000000001".into(),
    };
    let first = app.projects().create_project(ada.call(request())).await.unwrap().into_inner();
    let again = app.projects().create_project(ada.call(request())).await.unwrap().into_inner();
    assert_eq!(first, again);
    assert_eq!(first.caller_role, v1::Role::Owner as i32);
    // The same key with another request is refused, not answered with the first project.
    let mut different = request();
    different.project.as_mut().unwrap().title = "Another launch".into();
    let reused = app.projects().create_project(ada.call(different)).await.unwrap_err();
    assert_eq!(reused.code(), Code::FailedPrecondition, "{reused:?}");
    assert!(reused.message().contains("request_id"), "{reused:?}");
    let second = app.create_project(&ada, "Hiring").await;

    let got = app
        .projects()
        .get_project(ada.call(v1::GetProjectRequest { name: first.name.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, first);

    // Newest first, paged.
    let page = app
        .projects()
        .list_projects(ada.call(v1::ListProjectsRequest { page_size: 1, ..Default::default() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.projects.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), [second.name.as_str()]);
    let rest = app
        .projects()
        .list_projects(ada.call(v1::ListProjectsRequest {
            page_size: 1,
            page_token: page.next_page_token,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.projects.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), [first.name.as_str()]);
    assert!(rest.next_page_token.is_empty());

    // Rename with the current etag; a stale etag fails and changes nothing.
    let renamed = app
        .projects()
        .update_project(ada.call(v1::UpdateProjectRequest {
            project: Some(v1::Project {
                name: first.name.clone(),
                title: "Launch v2".into(),
                etag: first.etag.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["title"]),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(renamed.title, "Launch v2");
    assert_eq!(renamed.description, "Q1 launch");
    let stale = app
        .projects()
        .update_project(ada.call(v1::UpdateProjectRequest {
            project: Some(v1::Project {
                name: first.name.clone(),
                title: "Lost".into(),
                etag: first.etag.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["title"]),
        }))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);

    // Archived projects are read-only and hidden from the default list.
    let archived = app
        .projects()
        .archive_project(ada.call(v1::ArchiveProjectRequest { name: first.name.clone(), etag: renamed.etag.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert!(archived.archive_time.is_some());
    let write = app
        .tasks()
        .create_task(ada.call(v1::CreateTaskRequest {
            parent: first.name.clone(),
            task: Some(task("late")),
            request_id: String::new(),
        }))
        .await
        .unwrap_err();
    assert_eq!(write.code(), Code::FailedPrecondition);
    let visible =
        app.projects().list_projects(ada.call(v1::ListProjectsRequest::default())).await.unwrap().into_inner();
    assert_eq!(visible.projects.len(), 1);
    let all = app
        .projects()
        .list_projects(ada.call(v1::ListProjectsRequest { show_archived: true, ..Default::default() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.projects.len(), 2);
    let unarchived = app
        .projects()
        .unarchive_project(ada.call(v1::UnarchiveProjectRequest { name: first.name.clone(), etag: String::new() }))
        .await
        .unwrap()
        .into_inner();
    assert!(unarchived.archive_time.is_none());
    app.create_task(&ada, &first.name, task("on time")).await;
    app.stop().await;
}

async fn members_get_roles_and_a_project_keeps_an_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let grace = app.sign_up("grace").await;
    let project = app.create_project(&ada, "Team").await;

    // AddMember invites; Grace accepts and is a member.
    let invited = app
        .projects()
        .add_member(ada.call(v1::AddMemberRequest {
            parent: project.name.clone(),
            member: Some(v1::Member {
                email: grace.email.clone(),
                role: v1::Role::Viewer as i32,
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(invited.state, v1::MemberState::Invited as i32);
    assert_eq!((invited.user.as_str(), invited.display_name.as_str()), ("", ""), "nothing about the account");
    let accepted = app
        .projects()
        .accept_invitation(grace.call(v1::AcceptInvitationRequest { name: invited.invitation.clone() }))
        .await
        .unwrap()
        .into_inner();
    let added = accepted.member.unwrap();
    assert_eq!(added.user, grace.name);
    assert_eq!(added.display_name, "grace");
    assert_eq!(added.state, v1::MemberState::Active as i32);
    assert_eq!(added.role, v1::Role::Viewer as i32);

    let members = app
        .projects()
        .list_members(ada.call(v1::ListMembersRequest { parent: project.name.clone(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(members.members.len(), 2);

    let promoted = app
        .projects()
        .update_member(ada.call(v1::UpdateMemberRequest {
            member: Some(v1::Member { name: added.name.clone(), role: v1::Role::Owner as i32, ..Default::default() }),
            update_mask: mask(&["role"]),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(promoted.role, v1::Role::Owner as i32);

    // Ada leaves; Grace, now the only owner, cannot be demoted or removed.
    let ada_membership = format!("{}/members/{}", project.name, ada.name.trim_start_matches("users/"));
    app.projects().remove_member(ada.call(v1::RemoveMemberRequest { name: ada_membership })).await.unwrap();
    let demote = app
        .projects()
        .update_member(grace.call(v1::UpdateMemberRequest {
            member: Some(v1::Member { name: added.name.clone(), role: v1::Role::Editor as i32, ..Default::default() }),
            update_mask: mask(&["role"]),
        }))
        .await
        .unwrap_err();
    assert_eq!(demote.code(), Code::FailedPrecondition);
    let leave = app
        .projects()
        .remove_member(grace.call(v1::RemoveMemberRequest { name: added.name.clone() }))
        .await
        .unwrap_err();
    assert_eq!(leave.code(), Code::FailedPrecondition);
    // Ada is no longer a member.
    let gone =
        app.projects().get_project(ada.call(v1::GetProjectRequest { name: project.name.clone() })).await.unwrap_err();
    assert_eq!(gone.code(), Code::PermissionDenied);
    app.stop().await;
}
