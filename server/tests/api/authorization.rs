//! Authorization: every RPC, called by someone who should not succeed.

use std::{future::Future, pin::Pin};

use prost_types::FieldMask;
use tasktracker_proto::{google::longrunning as lro, v1};
use tonic::{Code, Status};

use crate::{
    helpers::{Backend, TestApp, spawn_app, task, with_token},
    on_both_backends,
};

on_both_backends!(
    outsiders_get_permission_denied_exactly_as_for_missing_objects,
    viewers_and_read_only_tokens_cannot_write,
    anonymous_callers_are_refused,
    an_archived_project_refuses_every_write_but_its_own_management,
    a_project_requiring_two_factor_refuses_every_call_of_members_without_it,
);

/// Names of one project's objects.
#[derive(Clone)]
struct Names {
    project: String,
    task: String,
    other_task: String,
    member: String,
    user: String,
    state: String,
    other_state: String,
    field: String,
    /// A live task that `task` is not related to.
    third_task: String,
    /// The relation "`task` relates to `third_task`'s sibling", under `task`.
    relation: String,
    /// A comment of the owner's on `task`.
    comment: String,
    /// A shared saved view of the owner's.
    view: String,
    /// A pending invitation of the owner's, to someone else.
    invitation: String,
    /// A (paused) webhook of the owner's.
    webhook: String,
    /// A delivery name under `webhook`.
    delivery: String,
    /// An import operation of the owner's (of an empty file).
    operation: String,
    /// An attachment of the owner's on `task`.
    attachment: String,
}

type Call = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;

fn mask(path: &str) -> Option<FieldMask> {
    Some(FieldMask { paths: vec![path.into()] })
}

/// One call per project-scoped RPC; `write` says whether it changes data.
fn every_project_rpc(app: &TestApp, token: &str, names: &Names) -> Vec<(&'static str, bool, Call)> {
    let (projects, tasks, states, fields, relations, views) =
        (app.projects(), app.tasks(), app.states(), app.fields(), app.relations(), app.views());
    let webhooks = app.webhooks();
    let (imports, operations) = (app.imports(), app.operations());
    let attachments = crate::attachments::client(app);
    let inbox = tasktracker_proto::v1::notification_service_client::NotificationServiceClient::new(app.channel.clone());
    let n = names.clone();
    let t = token.to_owned();
    macro_rules! call {
        ($client:expr, $method:ident, $message:expr) => {{
            let mut client = $client.clone();
            let request = with_token(&t, $message);
            Box::pin(async move { client.$method(request).await.map(|_| ()) }) as Call
        }};
    }
    let shared_view = |name: &str| v1::SavedView {
        name: name.into(),
        display_name: "x".into(),
        visibility: v1::ViewVisibility::Shared as i32,
        ..Default::default()
    };
    vec![
        (
            "ListSavedViews",
            false,
            call!(views, list_saved_views, v1::ListSavedViewsRequest { parent: n.project.clone() }),
        ),
        ("GetSavedView", false, call!(views, get_saved_view, v1::GetSavedViewRequest { name: n.view.clone() })),
        (
            "CreateSavedView",
            true,
            call!(
                views,
                create_saved_view,
                v1::CreateSavedViewRequest { parent: n.project.clone(), saved_view: Some(shared_view("")) }
            ),
        ),
        (
            "UpdateSavedView",
            true,
            call!(
                views,
                update_saved_view,
                v1::UpdateSavedViewRequest {
                    saved_view: Some(shared_view(&n.view)),
                    update_mask: mask("display_name")
                }
            ),
        ),
        (
            "DeleteSavedView",
            true,
            call!(views, delete_saved_view, v1::DeleteSavedViewRequest { name: n.view.clone(), etag: String::new() }),
        ),
        // Following a task is the caller's own business: read access is enough.
        (
            "GetTaskSubscription",
            false,
            call!(inbox, get_task_subscription, v1::GetTaskSubscriptionRequest { task: n.task.clone() }),
        ),
        ("SubscribeTask", false, call!(inbox, subscribe_task, v1::SubscribeTaskRequest { task: n.task.clone() })),
        ("UnsubscribeTask", false, call!(inbox, unsubscribe_task, v1::UnsubscribeTaskRequest { task: n.task.clone() })),
        ("GetProject", false, call!(projects, get_project, v1::GetProjectRequest { name: n.project.clone() })),
        (
            "UpdateProject",
            true,
            call!(
                projects,
                update_project,
                v1::UpdateProjectRequest {
                    project: Some(v1::Project { name: n.project.clone(), title: "x".into(), ..Default::default() }),
                    update_mask: mask("title"),
                }
            ),
        ),
        // Turning the requirement off is always allowed to an owner, so the
        // archived-project test can call it as one.
        (
            "UpdateProject (require_two_factor)",
            true,
            call!(
                projects,
                update_project,
                v1::UpdateProjectRequest {
                    project: Some(v1::Project { name: n.project.clone(), ..Default::default() }),
                    update_mask: mask("require_two_factor"),
                }
            ),
        ),
        (
            "ArchiveProject",
            true,
            call!(
                projects,
                archive_project,
                v1::ArchiveProjectRequest { name: n.project.clone(), etag: String::new() }
            ),
        ),
        (
            "UnarchiveProject",
            true,
            call!(
                projects,
                unarchive_project,
                v1::UnarchiveProjectRequest { name: n.project.clone(), etag: String::new() }
            ),
        ),
        (
            "ListMembers",
            false,
            call!(projects, list_members, v1::ListMembersRequest { parent: n.project.clone(), ..Default::default() }),
        ),
        (
            "AddMember",
            true,
            call!(
                projects,
                add_member,
                v1::AddMemberRequest {
                    parent: n.project.clone(),
                    member: Some(v1::Member {
                        user: n.user.clone(),
                        role: v1::Role::Owner as i32,
                        ..Default::default()
                    }),
                }
            ),
        ),
        (
            "UpdateMember",
            true,
            call!(
                projects,
                update_member,
                v1::UpdateMemberRequest {
                    member: Some(v1::Member {
                        name: n.member.clone(),
                        role: v1::Role::Viewer as i32,
                        ..Default::default()
                    }),
                    update_mask: mask("role"),
                }
            ),
        ),
        ("RemoveMember", true, call!(projects, remove_member, v1::RemoveMemberRequest { name: n.member.clone() })),
        (
            "CreateInvitation",
            true,
            call!(
                projects,
                create_invitation,
                v1::CreateInvitationRequest {
                    parent: n.project.clone(),
                    invitation: Some(v1::Invitation {
                        email: "accomplice@example.com".into(),
                        role: v1::Role::Owner as i32,
                        ..Default::default()
                    }),
                }
            ),
        ),
        // Not a change, but owners only: who is invited is theirs to know.
        (
            "ListInvitations",
            true,
            call!(
                projects,
                list_invitations,
                v1::ListInvitationsRequest { parent: n.project.clone(), ..Default::default() }
            ),
        ),
        (
            "RevokeInvitation",
            true,
            call!(projects, revoke_invitation, v1::RevokeInvitationRequest { name: n.invitation.clone() }),
        ),
        // The invitee's: anyone else is refused.
        (
            "AcceptInvitation",
            true,
            call!(projects, accept_invitation, v1::AcceptInvitationRequest { name: n.invitation.clone() }),
        ),
        (
            "DeclineInvitation",
            true,
            call!(projects, decline_invitation, v1::DeclineInvitationRequest { name: n.invitation.clone() }),
        ),
        (
            "CreateTask",
            true,
            call!(
                tasks,
                create_task,
                v1::CreateTaskRequest {
                    parent: n.project.clone(),
                    task: Some(task("intrusion")),
                    request_id: String::new()
                }
            ),
        ),
        ("GetTask", false, call!(tasks, get_task, v1::GetTaskRequest { name: n.task.clone() })),
        (
            "ListTasks",
            false,
            call!(tasks, list_tasks, v1::ListTasksRequest { parent: n.project.clone(), ..Default::default() }),
        ),
        (
            "SearchTasks",
            false,
            call!(
                tasks,
                search_tasks,
                v1::SearchTasksRequest {
                    query: "classified".into(),
                    project: n.project.clone(),
                    include_archived: true,
                    ..Default::default()
                }
            ),
        ),
        (
            "UpdateTask",
            true,
            call!(
                tasks,
                update_task,
                v1::UpdateTaskRequest {
                    task: Some(v1::Task { name: n.task.clone(), title: "changed".into(), ..Default::default() }),
                    update_mask: mask("title"),
                }
            ),
        ),
        (
            "UpdateTask (custom_fields)",
            true,
            call!(
                tasks,
                update_task,
                v1::UpdateTaskRequest {
                    task: Some(v1::Task {
                        name: n.task.clone(),
                        custom_fields: [(
                            "estimate".to_owned(),
                            v1::CustomFieldValue { value: Some(v1::custom_field_value::Value::Number(8.0)) }
                        )]
                        .into(),
                        ..Default::default()
                    }),
                    update_mask: mask("custom_fields.estimate"),
                }
            ),
        ),
        (
            "UpdateTask (parent)",
            true,
            call!(
                tasks,
                update_task,
                v1::UpdateTaskRequest {
                    task: Some(v1::Task { name: n.other_task.clone(), parent: n.task.clone(), ..Default::default() }),
                    update_mask: mask("parent"),
                }
            ),
        ),
        (
            "CreateTask (subtask)",
            true,
            call!(
                tasks,
                create_task,
                v1::CreateTaskRequest {
                    parent: n.project.clone(),
                    task: Some(v1::Task { parent: n.task.clone(), ..task("intrusion") }),
                    request_id: String::new()
                }
            ),
        ),
        (
            "DeleteTask",
            true,
            call!(tasks, delete_task, v1::DeleteTaskRequest { name: n.task.clone(), etag: String::new() }),
        ),
        ("UndeleteTask", true, call!(tasks, undelete_task, v1::UndeleteTaskRequest { name: n.other_task.clone() })),
        (
            "BatchUpdateTasks",
            true,
            call!(
                tasks,
                batch_update_tasks,
                v1::BatchUpdateTasksRequest {
                    parent: n.project.clone(),
                    requests: vec![v1::UpdateTaskRequest {
                        task: Some(v1::Task { name: n.task.clone(), ..task("defaced") }),
                        update_mask: mask("title"),
                    }],
                }
            ),
        ),
        (
            "BatchDeleteTasks",
            true,
            call!(
                tasks,
                batch_delete_tasks,
                v1::BatchDeleteTasksRequest {
                    parent: n.project.clone(),
                    requests: vec![v1::DeleteTaskRequest { name: n.task.clone(), etag: String::new() }],
                }
            ),
        ),
        (
            "MoveTask",
            true,
            call!(
                tasks,
                move_task,
                v1::MoveTaskRequest {
                    name: n.task.clone(),
                    status: v1::TaskStatus::Done as i32,
                    after_task: String::new(),
                    etag: String::new(),
                    state: String::new(),
                }
            ),
        ),
        (
            "WatchTasks",
            false,
            call!(tasks, watch_tasks, v1::WatchTasksRequest { parent: n.project.clone(), cursor: String::new() }),
        ),
        (
            "CreateComment",
            true,
            call!(
                tasks,
                create_comment,
                v1::CreateCommentRequest {
                    parent: n.task.clone(),
                    comment: Some(v1::Comment { body: "hi".into(), ..Default::default() }),
                }
            ),
        ),
        (
            "ListComments",
            false,
            call!(tasks, list_comments, v1::ListCommentsRequest { parent: n.task.clone(), ..Default::default() }),
        ),
        (
            "UpdateComment",
            true,
            call!(
                tasks,
                update_comment,
                v1::UpdateCommentRequest {
                    comment: Some(v1::Comment { name: n.comment.clone(), body: "x".into(), ..Default::default() }),
                    update_mask: mask("body"),
                }
            ),
        ),
        (
            "DeleteComment",
            true,
            call!(tasks, delete_comment, v1::DeleteCommentRequest { name: n.comment.clone(), etag: String::new() }),
        ),
        (
            "ListTaskActivities",
            false,
            call!(
                tasks,
                list_task_activities,
                v1::ListTaskActivitiesRequest { parent: n.task.clone(), ..Default::default() }
            ),
        ),
        (
            "UpdateOccurrence",
            true,
            call!(
                tasks,
                update_occurrence,
                v1::UpdateOccurrenceRequest {
                    task: Some(v1::Task { name: n.task.clone(), ..task("defaced") }),
                    update_mask: mask("title"),
                }
            ),
        ),
        (
            "SkipOccurrence",
            true,
            call!(tasks, skip_occurrence, v1::SkipOccurrenceRequest { name: n.task.clone(), etag: String::new() }),
        ),
        (
            "ListOccurrences",
            false,
            call!(tasks, list_occurrences, v1::ListOccurrencesRequest { task: n.task.clone(), ..Default::default() }),
        ),
        (
            "ListWorkflowStates",
            false,
            call!(
                states,
                list_workflow_states,
                v1::ListWorkflowStatesRequest { parent: n.project.clone(), show_archived: true }
            ),
        ),
        (
            "CreateWorkflowState",
            true,
            call!(
                states,
                create_workflow_state,
                v1::CreateWorkflowStateRequest {
                    parent: n.project.clone(),
                    state: Some(v1::WorkflowState {
                        display_name: "Review".into(),
                        color: "#123456".into(),
                        category: v1::StateCategory::Started as i32,
                        ..Default::default()
                    }),
                }
            ),
        ),
        (
            "UpdateWorkflowState",
            true,
            call!(
                states,
                update_workflow_state,
                v1::UpdateWorkflowStateRequest {
                    state: Some(v1::WorkflowState {
                        name: n.state.clone(),
                        display_name: "x".into(),
                        ..Default::default()
                    }),
                    update_mask: mask("display_name"),
                }
            ),
        ),
        (
            "MoveWorkflowState",
            true,
            call!(
                states,
                move_workflow_state,
                v1::MoveWorkflowStateRequest {
                    name: n.state.clone(),
                    after_state: n.other_state.clone(),
                    etag: String::new()
                }
            ),
        ),
        (
            "DeleteWorkflowState",
            true,
            call!(
                states,
                delete_workflow_state,
                v1::DeleteWorkflowStateRequest {
                    name: n.other_state.clone(),
                    move_tasks_to: n.state.clone(),
                    etag: String::new()
                }
            ),
        ),
        (
            "ListTaskRelations",
            false,
            call!(
                relations,
                list_task_relations,
                v1::ListTaskRelationsRequest { parent: n.task.clone(), ..Default::default() }
            ),
        ),
        (
            "CreateTaskRelation",
            true,
            call!(
                relations,
                create_task_relation,
                v1::CreateTaskRelationRequest {
                    parent: n.task.clone(),
                    task_relation: Some(v1::TaskRelation {
                        r#type: v1::TaskRelationType::Blocks as i32,
                        task: n.third_task.clone(),
                        ..Default::default()
                    }),
                }
            ),
        ),
        (
            "DeleteTaskRelation",
            true,
            call!(relations, delete_task_relation, v1::DeleteTaskRelationRequest { name: n.relation.clone() }),
        ),
        (
            "ListCustomFields",
            false,
            call!(fields, list_custom_fields, v1::ListCustomFieldsRequest { parent: n.project.clone() }),
        ),
        (
            "CreateCustomField",
            true,
            call!(
                fields,
                create_custom_field,
                v1::CreateCustomFieldRequest {
                    parent: n.project.clone(),
                    field: Some(v1::CustomField {
                        key: "customer".into(),
                        display_name: "Customer".into(),
                        r#type: v1::CustomFieldType::Text as i32,
                        ..Default::default()
                    }),
                }
            ),
        ),
        (
            "UpdateCustomField",
            true,
            call!(
                fields,
                update_custom_field,
                v1::UpdateCustomFieldRequest {
                    field: Some(v1::CustomField {
                        name: n.field.clone(),
                        display_name: "x".into(),
                        ..Default::default()
                    }),
                    update_mask: mask("display_name"),
                }
            ),
        ),
        (
            "DeleteCustomField",
            true,
            call!(
                fields,
                delete_custom_field,
                v1::DeleteCustomFieldRequest { name: n.field.clone(), etag: String::new() }
            ),
        ),
        // Webhooks are the owners' alone, reads included.
        ("ListWebhooks", false, call!(webhooks, list_webhooks, v1::ListWebhooksRequest { parent: n.project.clone() })),
        ("GetWebhook", false, call!(webhooks, get_webhook, v1::GetWebhookRequest { name: n.webhook.clone() })),
        (
            "CreateWebhook",
            true,
            call!(
                webhooks,
                create_webhook,
                v1::CreateWebhookRequest {
                    parent: n.project.clone(),
                    webhook: Some(v1::Webhook {
                        url: "https://203.0.113.7/in".into(),
                        paused: true,
                        ..Default::default()
                    }),
                }
            ),
        ),
        (
            "UpdateWebhook",
            true,
            call!(
                webhooks,
                update_webhook,
                v1::UpdateWebhookRequest {
                    webhook: Some(v1::Webhook { name: n.webhook.clone(), paused: false, ..Default::default() }),
                    update_mask: mask("paused"),
                }
            ),
        ),
        (
            "DeleteWebhook",
            true,
            call!(webhooks, delete_webhook, v1::DeleteWebhookRequest { name: n.webhook.clone(), etag: String::new() }),
        ),
        (
            "RotateWebhookSecret",
            true,
            call!(webhooks, rotate_webhook_secret, v1::RotateWebhookSecretRequest { name: n.webhook.clone() }),
        ),
        (
            "ListWebhookDeliveries",
            false,
            call!(
                webhooks,
                list_webhook_deliveries,
                v1::ListWebhookDeliveriesRequest { parent: n.webhook.clone(), ..Default::default() }
            ),
        ),
        (
            "RedeliverWebhook",
            true,
            call!(webhooks, redeliver_webhook, v1::RedeliverWebhookRequest { name: n.delivery.clone() }),
        ),
        (
            "ReplayWebhook",
            true,
            call!(webhooks, replay_webhook, v1::ReplayWebhookRequest { name: n.webhook.clone(), cursor: "0".into() }),
        ),
        // Imports and their operations are the owners' alone, reads included.
        ("ImportTasks", true, call!(imports, import_tasks, empty_import(&n.project))),
        (
            "ExportProject",
            false,
            call!(
                imports,
                export_project,
                v1::ExportProjectRequest { name: n.project.clone(), format: v1::ExportFormat::Json as i32 }
            ),
        ),
        (
            "ListOperations",
            false,
            call!(
                operations,
                list_operations,
                lro::ListOperationsRequest { name: n.project.clone(), ..Default::default() }
            ),
        ),
        (
            "GetOperation",
            false,
            call!(operations, get_operation, lro::GetOperationRequest { name: n.operation.clone() }),
        ),
        (
            "CancelOperation",
            true,
            call!(operations, cancel_operation, lro::CancelOperationRequest { name: n.operation.clone() }),
        ),
        (
            "DeleteOperation",
            true,
            call!(operations, delete_operation, lro::DeleteOperationRequest { name: n.operation.clone() }),
        ),
        (
            "ListAttachments",
            false,
            call!(attachments, list_attachments, v1::ListAttachmentsRequest { parent: n.task.clone() }),
        ),
        (
            "GetAttachment",
            false,
            call!(attachments, get_attachment, v1::GetAttachmentRequest { name: n.attachment.clone() }),
        ),
        (
            "GetAttachmentDownloadUrl",
            false,
            call!(
                attachments,
                get_attachment_download_url,
                v1::GetAttachmentDownloadUrlRequest { name: n.attachment.clone() }
            ),
        ),
        (
            "CreateAttachmentUpload",
            true,
            call!(
                attachments,
                create_attachment_upload,
                v1::CreateAttachmentUploadRequest {
                    parent: n.task.clone(),
                    attachment: Some(crate::attachments::declaration("x.txt", "text/plain", b"x")),
                }
            ),
        ),
        (
            "ConfirmAttachment",
            true,
            call!(attachments, confirm_attachment, v1::ConfirmAttachmentRequest { name: n.attachment.clone() }),
        ),
        (
            "DeleteAttachment",
            true,
            call!(attachments, delete_attachment, v1::DeleteAttachmentRequest { name: n.attachment.clone() }),
        ),
    ]
}

/// An import of a CSV file with a header and no rows.
fn empty_import(project: &str) -> v1::ImportTasksRequest {
    v1::ImportTasksRequest {
        parent: project.into(),
        format: v1::ImportFormat::Csv as i32,
        content: b"Name\n".to_vec(),
        csv_mapping: Some(v1::CsvMapping { title: "Name".into(), ..Default::default() }),
    }
}

/// Ada's project with a task, a deleted task and Ada as member.
async fn adas_project(app: &TestApp) -> (crate::helpers::TestUser, Names) {
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Secret plans").await;
    let task = app.create_task(&ada, &project.name, task("classified")).await;
    let other = app.create_task(&ada, &project.name, crate::helpers::task("shredded")).await;
    app.tasks()
        .delete_task(ada.call(v1::DeleteTaskRequest { name: other.name.clone(), etag: String::new() }))
        .await
        .unwrap();
    let user_id = ada.name.trim_start_matches("users/").to_owned();
    let states = app.list_states(&ada, &project.name, false).await;
    let field = app
        .fields()
        .create_custom_field(ada.call(v1::CreateCustomFieldRequest {
            parent: project.name.clone(),
            field: Some(v1::CustomField {
                key: "estimate".into(),
                display_name: "Estimate".into(),
                r#type: v1::CustomFieldType::Number as i32,
                ..Default::default()
            }),
        }))
        .await
        .expect("create field")
        .into_inner();
    let third = app.create_task(&ada, &project.name, crate::helpers::task("third")).await;
    let related = app.create_task(&ada, &project.name, crate::helpers::task("related")).await;
    let relation = app
        .relations()
        .create_task_relation(ada.call(v1::CreateTaskRelationRequest {
            parent: task.name.clone(),
            task_relation: Some(v1::TaskRelation {
                r#type: v1::TaskRelationType::RelatesTo as i32,
                task: related.name.clone(),
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    let comment = app
        .tasks()
        .create_comment(ada.call(v1::CreateCommentRequest {
            parent: task.name.clone(),
            comment: Some(v1::Comment { body: "for owners' eyes".into(), ..Default::default() }),
        }))
        .await
        .unwrap()
        .into_inner();
    let view = app
        .views()
        .create_saved_view(ada.call(v1::CreateSavedViewRequest {
            parent: project.name.clone(),
            saved_view: Some(v1::SavedView {
                display_name: "Team".into(),
                visibility: v1::ViewVisibility::Shared as i32,
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    let invitation = app
        .projects()
        .create_invitation(ada.call(v1::CreateInvitationRequest {
            parent: project.name.clone(),
            invitation: Some(v1::Invitation {
                email: "invitee@example.com".into(),
                role: v1::Role::Editor as i32,
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    let webhook = app
        .webhooks()
        .create_webhook(ada.call(v1::CreateWebhookRequest {
            parent: project.name.clone(),
            webhook: Some(v1::Webhook {
                url: "https://203.0.113.7/secret-plans".into(),
                paused: true,
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    let operation = app.imports().import_tasks(ada.call(empty_import(&project.name))).await.unwrap().into_inner();
    let attachment =
        crate::attachments::attach(app, &ada, &task.name, "plans.txt", "text/plain", b"for owners' eyes").await;
    let names = Names {
        operation: operation.name,
        attachment: attachment.name,
        delivery: format!("{}/deliveries/{}", webhook.name, uuid::Uuid::now_v7()),
        webhook: webhook.name,
        invitation: invitation.name,
        view: view.name,
        comment: comment.name,
        field: field.name,
        state: states[0].name.clone(),
        other_state: states[1].name.clone(),
        third_task: third.name,
        relation: relation.name,
        member: format!("{}/members/{user_id}", project.name),
        project: project.name,
        task: task.name,
        other_task: other.name,
        user: ada.name.clone(),
    };
    (ada, names)
}

fn missing_names() -> Names {
    let id = || uuid::Uuid::now_v7().to_string();
    let project = format!("projects/{}", id());
    Names {
        task: format!("{project}/tasks/{}", id()),
        other_task: format!("{project}/tasks/{}", id()),
        member: format!("{project}/members/{}", id()),
        user: format!("users/{}", id()),
        state: format!("{project}/states/{}", id()),
        other_state: format!("{project}/states/{}", id()),
        field: format!("{project}/fields/{}", id()),
        third_task: format!("{project}/tasks/{}", id()),
        relation: format!("{project}/tasks/{}/relations/{}", id(), id()),
        comment: format!("{project}/tasks/{}/comments/{}", id(), id()),
        view: format!("{project}/views/{}", id()),
        invitation: format!("{project}/invitations/{}", id()),
        webhook: format!("{project}/webhooks/{}", id()),
        delivery: format!("{project}/webhooks/{}/deliveries/{}", id(), id()),
        operation: format!("{project}/operations/{}", id()),
        attachment: format!("{project}/tasks/{}/attachments/{}", id(), id()),
        project,
    }
}

async fn outsiders_get_permission_denied_exactly_as_for_missing_objects(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, names) = adas_project(&app).await;
    let mallory = app.sign_up("mallory").await;
    let real = every_project_rpc(&app, &mallory.token, &names);
    let missing = every_project_rpc(&app, &mallory.token, &missing_names());
    assert_eq!(real.len(), 77, "every project-scoped RPC is covered");
    for ((rpc, _, real_call), (_, _, missing_call)) in real.into_iter().zip(missing) {
        let (real_status, missing_status) = (real_call.await.unwrap_err(), missing_call.await.unwrap_err());
        assert_eq!(real_status.code(), Code::PermissionDenied, "{rpc} on a real object: {real_status:?}");
        assert_eq!(missing_status.code(), Code::PermissionDenied, "{rpc} on a missing object: {missing_status:?}");
        assert_eq!(real_status.message(), missing_status.message(), "{rpc}: existence must not leak");
    }
    // Mallory's own project list does not show Ada's, and nothing changed.
    let listed =
        app.projects().list_projects(mallory.call(v1::ListProjectsRequest::default())).await.unwrap().into_inner();
    assert!(listed.projects.is_empty());
    let unchanged =
        app.tasks().get_task(ada.call(v1::GetTaskRequest { name: names.task.clone() })).await.unwrap().into_inner();
    assert_eq!(unchanged.title, "classified");
    // Mallory cannot revoke Ada's tokens either.
    let revoke = app
        .accounts()
        .revoke_api_token(
            mallory
                .call(v1::RevokeApiTokenRequest { name: format!("{}/apiTokens/{}", ada.name, uuid::Uuid::now_v7()) }),
        )
        .await
        .unwrap_err();
    assert_eq!(revoke.code(), Code::PermissionDenied);
    app.stop().await;
}

async fn viewers_and_read_only_tokens_cannot_write(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, names) = adas_project(&app).await;
    let victor = app.sign_up("victor").await;
    app.add_member(&ada, &names.project, &victor, v1::Role::Viewer).await;
    let read_only = app
        .accounts()
        .create_api_token(ada.call(v1::CreateApiTokenRequest {
            api_token: Some(v1::ApiToken {
                display_name: "reader".into(),
                scope: v1::ApiTokenScope::Read as i32,
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .secret;
    for token in [&victor.token, &read_only] {
        for (rpc, write, call) in every_project_rpc(&app, token, &names) {
            let result = call.await;
            // Webhooks (their secrets, URLs and delivery log), imports,
            // their operations and exports are for owners only, reads included.
            if write || rpc.contains("Webhook") || rpc.contains("Operation") || rpc == "ExportProject" {
                let status = result.expect_err(rpc);
                assert_eq!(status.code(), Code::PermissionDenied, "{rpc}: {status:?}");
            } else {
                result.unwrap_or_else(|status| panic!("{rpc} is a read: {status:?}"));
            }
        }
    }
    let unchanged =
        app.tasks().get_task(ada.call(v1::GetTaskRequest { name: names.task.clone() })).await.unwrap().into_inner();
    assert_eq!(unchanged.title, "classified");
    let relations = app
        .relations()
        .list_task_relations(
            ada.call(v1::ListTaskRelationsRequest { parent: names.task.clone(), ..Default::default() }),
        )
        .await
        .unwrap()
        .into_inner()
        .task_relations;
    assert_eq!(relations.len(), 1, "the relation was neither deleted nor joined by another");
    let comments = app
        .tasks()
        .list_comments(ada.call(v1::ListCommentsRequest { parent: names.task.clone(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .comments;
    assert_eq!(comments.len(), 1, "the comment was neither deleted nor joined by another");
    assert_eq!(comments[0].body, "for owners' eyes");
    let views = app
        .views()
        .list_saved_views(ada.call(v1::ListSavedViewsRequest { parent: names.project.clone() }))
        .await
        .unwrap()
        .into_inner()
        .saved_views;
    assert_eq!(views.iter().map(|v| v.display_name.as_str()).collect::<Vec<_>>(), ["Team"], "views unchanged");
    // Editors write tasks, but managing states and fields is for owners, as other
    // project settings are, and so is everything about webhooks.
    let edgar = app.sign_up("edgar").await;
    app.add_member(&ada, &names.project, &edgar, v1::Role::Editor).await;
    for (rpc, write, call) in every_project_rpc(&app, &edgar.token, &names) {
        let owners_only =
            rpc.contains("Webhook") || rpc.contains("Operation") || rpc == "ImportTasks" || rpc == "ExportProject";
        if (write && (rpc.ends_with("WorkflowState") || rpc.ends_with("CustomField"))) || owners_only {
            let status = call.await.expect_err(rpc);
            assert_eq!(status.code(), Code::PermissionDenied, "{rpc}: {status:?}");
        }
    }
    let states = app.list_states(&ada, &names.project, true).await;
    assert_eq!(
        states.iter().map(|state| state.display_name.as_str()).collect::<Vec<_>>(),
        ["To do", "In progress", "Done"]
    );
    // A read-only token cannot create projects either.
    let create = app
        .projects()
        .create_project(with_token(
            &read_only,
            v1::CreateProjectRequest {
                project: Some(v1::Project { title: "x".into(), ..Default::default() }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(create.code(), Code::PermissionDenied);
    app.stop().await;
}

async fn anonymous_callers_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, names) = adas_project(&app).await;
    for token in ["", "not-a-token", "ttk_00000000000000000000000000000000_secret"] {
        for (rpc, _, call) in every_project_rpc(&app, token, &names) {
            let status = call.await.expect_err(rpc);
            assert_eq!(status.code(), Code::Unauthenticated, "{rpc} with {token:?}: {status:?}");
        }
    }
    let mut accounts = app.accounts();
    assert_eq!(
        accounts.get_current_user(v1::GetCurrentUserRequest {}).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    assert_eq!(
        accounts.list_api_tokens(v1::ListApiTokensRequest::default()).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    assert_eq!(accounts.sign_out(v1::SignOutRequest {}).await.unwrap_err().code(), Code::Unauthenticated);
    let preview = v1::RenderMarkdownRequest { markdown: "*hi*".into() };
    assert_eq!(app.tasks().render_markdown(preview).await.unwrap_err().code(), Code::Unauthenticated);
    // Health stays open.
    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel.clone());
    let status =
        health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.unwrap().into_inner();
    assert_eq!(status.status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
    app.stop().await;
}

/// Archiving makes a project read-only: every write to its tasks, comments,
/// relations, workflow states, custom fields, custom field values and saved
/// views is FAILED_PRECONDITION, even for its owner, and changes nothing; reads
/// still work. What stays open is managing the project itself (its
/// members, its title, unarchiving it).
async fn an_archived_project_refuses_every_write_but_its_own_management(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, names) = adas_project(&app).await;
    let list_fields = async || {
        let request = ada.call(v1::ListCustomFieldsRequest { parent: names.project.clone() });
        app.fields().list_custom_fields(request).await.unwrap().into_inner().fields
    };
    let fields_before = list_fields().await;
    app.projects()
        .archive_project(ada.call(v1::ArchiveProjectRequest { name: names.project.clone(), etag: String::new() }))
        .await
        .unwrap();
    let project_management = [
        "UpdateProject",
        "UpdateProject (require_two_factor)",
        "ArchiveProject",
        "UnarchiveProject",
        "AddMember",
        "UpdateMember",
        "RemoveMember",
        "CreateInvitation",
        "ListInvitations",
        "RevokeInvitation",
        "AcceptInvitation",
        "DeclineInvitation",
    ];
    let mut refused = Vec::new();
    for (rpc, write, call) in every_project_rpc(&app, &ada.token, &names) {
        if project_management.contains(&rpc) {
            continue;
        }
        let result = call.await;
        if write {
            let status = result.expect_err(rpc);
            assert_eq!(status.code(), Code::FailedPrecondition, "{rpc}: {status:?}");
            assert!(status.message().contains("archived"), "{rpc}: {status:?}");
            refused.push(rpc);
        } else {
            result.unwrap_or_else(|status| panic!("{rpc} is a read: {status:?}"));
        }
    }
    assert_eq!(refused.len(), 39, "{refused:?}");
    // Nothing changed.
    let unchanged =
        app.tasks().get_task(ada.call(v1::GetTaskRequest { name: names.task.clone() })).await.unwrap().into_inner();
    assert_eq!(unchanged.title, "classified");
    assert!(unchanged.custom_fields.is_empty(), "{:?}", unchanged.custom_fields);
    assert_eq!(unchanged.etag, "1");
    assert_eq!(list_fields().await, fields_before);
    let states = app.list_states(&ada, &names.project, true).await;
    assert_eq!(
        states.iter().map(|state| state.display_name.as_str()).collect::<Vec<_>>(),
        ["To do", "In progress", "Done"]
    );
    let relations = app
        .relations()
        .list_task_relations(
            ada.call(v1::ListTaskRelationsRequest { parent: names.task.clone(), ..Default::default() }),
        )
        .await
        .unwrap()
        .into_inner()
        .task_relations;
    assert_eq!(relations.len(), 1);
    // Unarchived, the same owner writes again.
    app.projects()
        .unarchive_project(ada.call(v1::UnarchiveProjectRequest { name: names.project.clone(), etag: String::new() }))
        .await
        .unwrap();
    let mut writes = every_project_rpc(&app, &ada.token, &names).into_iter();
    let (_, _, set_value) = writes.find(|(rpc, _, _)| *rpc == "UpdateTask (custom_fields)").expect("listed");
    set_value.await.expect("a write after unarchiving");
    app.stop().await;
}

/// A project that requires two-factor authentication refuses every
/// project-scoped RPC, reads included, to a member without it
/// (FAILED_PRECONDITION, `TWO_FACTOR_REQUIRED`), through a session and
/// through an API token alike, and changes nothing; outsiders still get
/// PERMISSION_DENIED. Enrolling lets the member back in.
async fn a_project_requiring_two_factor_refuses_every_call_of_members_without_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, names) = adas_project(&app).await;
    let edgar = app.sign_up("edgar").await;
    app.add_member(&ada, &names.project, &edgar, v1::Role::Editor).await;
    let edgars_token = app
        .accounts()
        .create_api_token(edgar.call(v1::CreateApiTokenRequest {
            api_token: Some(v1::ApiToken {
                display_name: "edgar's script".into(),
                scope: v1::ApiTokenScope::Admin as i32,
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .secret;
    crate::two_factor::enrol(&app, &ada).await;
    app.projects()
        .update_project(ada.call(v1::UpdateProjectRequest {
            project: Some(v1::Project { name: names.project.clone(), require_two_factor: true, ..Default::default() }),
            update_mask: mask("require_two_factor"),
        }))
        .await
        .expect("an owner with two-factor authentication requires it");
    // The invitations RPCs answer the invitee, not project members: Edgar
    // is not the invitee, so he is refused as anyone else.
    let invitee_only = ["AcceptInvitation", "DeclineInvitation"];
    for token in [&edgar.token, &edgars_token] {
        for (rpc, _, call) in every_project_rpc(&app, token, &names) {
            let status = call.await.expect_err(rpc);
            if invitee_only.contains(&rpc) {
                assert_eq!(status.code(), Code::PermissionDenied, "{rpc}: {status:?}");
                continue;
            }
            assert_eq!(status.code(), Code::FailedPrecondition, "{rpc}: {status:?}");
            assert!(status.message().contains("two-factor"), "{rpc}: {status:?}");
        }
    }
    let mallory = app.sign_up("mallory").await;
    for (rpc, _, call) in every_project_rpc(&app, &mallory.token, &names) {
        assert_eq!(call.await.expect_err(rpc).code(), Code::PermissionDenied, "{rpc}");
    }
    let unchanged =
        app.tasks().get_task(ada.call(v1::GetTaskRequest { name: names.task.clone() })).await.unwrap().into_inner();
    assert_eq!((unchanged.title.as_str(), unchanged.etag.as_str()), ("classified", "1"));
    crate::two_factor::enrol(&app, &edgar).await;
    app.projects()
        .get_project(edgar.call(v1::GetProjectRequest { name: names.project.clone() }))
        .await
        .expect("enrolled, Edgar is back in");
    app.stop().await;
}
