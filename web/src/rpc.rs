//! The gRPC methods the app calls, as typed paths. The app (`app::api`)
//! encodes and decodes the messages itself and hands the gRPC-web transport
//! (`app::grpc_web`) bytes only, so the call machinery is compiled once
//! instead of once per method. The request and answer types stay checked at
//! every call site through [`Method`]; a host test checks each path and type
//! pair against the API's descriptors.

use std::marker::PhantomData;

use tasktracker_proto::v1;

/// A method of the API: `/package.Service/Method`, taking `M`, answering `R`.
pub struct Method<M, R>(&'static str, PhantomData<fn(M) -> R>);

impl<M, R> Method<M, R> {
    const fn new(path: &'static str) -> Self {
        Self(path, PhantomData)
    }

    /// The HTTP path of the method.
    pub const fn path(&self) -> &'static str {
        self.0
    }
}

impl<M, R> Clone for Method<M, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M, R> Copy for Method<M, R> {}

macro_rules! methods {
    ($($name:ident = $service:literal / $method:literal ($request:ident) -> $answer:ident;)*) => {
        $(
            #[doc = concat!("`", $service, ".", $method, "`.")]
            pub const $name: Method<v1::$request, v1::$answer> =
                Method::new(concat!("/tasktracker.v1.", $service, "/", $method));
        )*

        /// Every method: path, request and answer message names.
        #[cfg(test)]
        const ALL: &[(&str, &str, &str)] = &[$(($name.0, stringify!($request), stringify!($answer))),*];
    };
}

methods! {
    SIGN_UP = "AccountService" / "SignUp" (SignUpRequest) -> SignUpResponse;
    SIGN_IN = "AccountService" / "SignIn" (SignInRequest) -> SignInResponse;
    REFRESH_SESSION = "AccountService" / "RefreshSession" (RefreshSessionRequest) -> RefreshSessionResponse;
    SIGN_OUT = "AccountService" / "SignOut" (SignOutRequest) -> SignOutResponse;
    CREATE_API_TOKEN = "AccountService" / "CreateApiToken" (CreateApiTokenRequest) -> CreateApiTokenResponse;
    LIST_API_TOKENS = "AccountService" / "ListApiTokens" (ListApiTokensRequest) -> ListApiTokensResponse;
    REVOKE_API_TOKEN = "AccountService" / "RevokeApiToken" (RevokeApiTokenRequest) -> ApiToken;
    LIST_SESSIONS = "AccountService" / "ListSessions" (ListSessionsRequest) -> ListSessionsResponse;
    REVOKE_SESSION = "AccountService" / "RevokeSession" (RevokeSessionRequest) -> RevokeSessionResponse;
    VERIFY_SECOND_FACTOR = "AccountService" / "VerifySecondFactor" (VerifySecondFactorRequest) -> SignInResponse;
    GET_CURRENT_USER = "AccountService" / "GetCurrentUser" (GetCurrentUserRequest) -> User;
    UPDATE_CURRENT_USER = "AccountService" / "UpdateCurrentUser" (UpdateCurrentUserRequest) -> User;
    BEGIN_TOTP = "AccountService" / "BeginTotpEnrollment" (BeginTotpEnrollmentRequest) -> BeginTotpEnrollmentResponse;
    CONFIRM_TOTP = "AccountService" / "ConfirmTotpEnrollment" (ConfirmTotpEnrollmentRequest) -> ConfirmTotpEnrollmentResponse;
    DISABLE_TOTP = "AccountService" / "DisableTotp" (DisableTotpRequest) -> DisableTotpResponse;
    LIST_IDENTITY_PROVIDERS = "AccountService" / "ListIdentityProviders" (ListIdentityProvidersRequest) -> ListIdentityProvidersResponse;
    START_OIDC_SIGN_IN = "AccountService" / "StartOidcSignIn" (StartOidcSignInRequest) -> StartOidcSignInResponse;
    COMPLETE_OIDC_SIGN_IN = "AccountService" / "CompleteOidcSignIn" (CompleteOidcSignInRequest) -> SignInResponse;
    LIST_PROJECTS = "ProjectService" / "ListProjects" (ListProjectsRequest) -> ListProjectsResponse;
    CREATE_PROJECT = "ProjectService" / "CreateProject" (CreateProjectRequest) -> Project;
    GET_PROJECT = "ProjectService" / "GetProject" (GetProjectRequest) -> Project;
    LIST_MEMBERS = "ProjectService" / "ListMembers" (ListMembersRequest) -> ListMembersResponse;
    ADD_MEMBER = "ProjectService" / "AddMember" (AddMemberRequest) -> Member;
    UPDATE_MEMBER = "ProjectService" / "UpdateMember" (UpdateMemberRequest) -> Member;
    REMOVE_MEMBER = "ProjectService" / "RemoveMember" (RemoveMemberRequest) -> RemoveMemberResponse;
    UPDATE_PROJECT = "ProjectService" / "UpdateProject" (UpdateProjectRequest) -> Project;
    CREATE_INVITATION = "ProjectService" / "CreateInvitation" (CreateInvitationRequest) -> Invitation;
    LIST_INVITATIONS = "ProjectService" / "ListInvitations" (ListInvitationsRequest) -> ListInvitationsResponse;
    REVOKE_INVITATION = "ProjectService" / "RevokeInvitation" (RevokeInvitationRequest) -> Invitation;
    LIST_MY_INVITATIONS = "ProjectService" / "ListMyInvitations" (ListMyInvitationsRequest) -> ListMyInvitationsResponse;
    ACCEPT_INVITATION = "ProjectService" / "AcceptInvitation" (AcceptInvitationRequest) -> AcceptInvitationResponse;
    DECLINE_INVITATION = "ProjectService" / "DeclineInvitation" (DeclineInvitationRequest) -> Invitation;
    LIST_WORKFLOW_STATES = "WorkflowStateService" / "ListWorkflowStates" (ListWorkflowStatesRequest) -> ListWorkflowStatesResponse;
    CREATE_WORKFLOW_STATE = "WorkflowStateService" / "CreateWorkflowState" (CreateWorkflowStateRequest) -> WorkflowState;
    UPDATE_WORKFLOW_STATE = "WorkflowStateService" / "UpdateWorkflowState" (UpdateWorkflowStateRequest) -> WorkflowState;
    MOVE_WORKFLOW_STATE = "WorkflowStateService" / "MoveWorkflowState" (MoveWorkflowStateRequest) -> WorkflowState;
    DELETE_WORKFLOW_STATE = "WorkflowStateService" / "DeleteWorkflowState" (DeleteWorkflowStateRequest) -> DeleteWorkflowStateResponse;
    LIST_CUSTOM_FIELDS = "CustomFieldService" / "ListCustomFields" (ListCustomFieldsRequest) -> ListCustomFieldsResponse;
    CREATE_CUSTOM_FIELD = "CustomFieldService" / "CreateCustomField" (CreateCustomFieldRequest) -> CustomField;
    UPDATE_CUSTOM_FIELD = "CustomFieldService" / "UpdateCustomField" (UpdateCustomFieldRequest) -> CustomField;
    DELETE_CUSTOM_FIELD = "CustomFieldService" / "DeleteCustomField" (DeleteCustomFieldRequest) -> DeleteCustomFieldResponse;
    LIST_TASKS = "TaskService" / "ListTasks" (ListTasksRequest) -> ListTasksResponse;
    GET_TASK = "TaskService" / "GetTask" (GetTaskRequest) -> Task;
    CREATE_TASK = "TaskService" / "CreateTask" (CreateTaskRequest) -> Task;
    UPDATE_TASK = "TaskService" / "UpdateTask" (UpdateTaskRequest) -> Task;
    DELETE_TASK = "TaskService" / "DeleteTask" (DeleteTaskRequest) -> Task;
    BATCH_UPDATE_TASKS = "TaskService" / "BatchUpdateTasks" (BatchUpdateTasksRequest) -> BatchUpdateTasksResponse;
    BATCH_DELETE_TASKS = "TaskService" / "BatchDeleteTasks" (BatchDeleteTasksRequest) -> BatchDeleteTasksResponse;
    UNDELETE_TASK = "TaskService" / "UndeleteTask" (UndeleteTaskRequest) -> Task;
    MOVE_TASK = "TaskService" / "MoveTask" (MoveTaskRequest) -> Task;
    WATCH_TASKS = "TaskService" / "WatchTasks" (WatchTasksRequest) -> WatchTasksResponse;
    CREATE_COMMENT = "TaskService" / "CreateComment" (CreateCommentRequest) -> Comment;
    LIST_COMMENTS = "TaskService" / "ListComments" (ListCommentsRequest) -> ListCommentsResponse;
    UPDATE_COMMENT = "TaskService" / "UpdateComment" (UpdateCommentRequest) -> Comment;
    DELETE_COMMENT = "TaskService" / "DeleteComment" (DeleteCommentRequest) -> Comment;
    LIST_TASK_ACTIVITIES = "TaskService" / "ListTaskActivities" (ListTaskActivitiesRequest) -> ListTaskActivitiesResponse;
    RENDER_MARKDOWN = "TaskService" / "RenderMarkdown" (RenderMarkdownRequest) -> RenderMarkdownResponse;
    SEARCH_TASKS = "TaskService" / "SearchTasks" (SearchTasksRequest) -> SearchTasksResponse;
    SKIP_OCCURRENCE = "TaskService" / "SkipOccurrence" (SkipOccurrenceRequest) -> SkipOccurrenceResponse;
    UPDATE_OCCURRENCE = "TaskService" / "UpdateOccurrence" (UpdateOccurrenceRequest) -> Task;
    LIST_OCCURRENCES = "TaskService" / "ListOccurrences" (ListOccurrencesRequest) -> ListOccurrencesResponse;
    CREATE_TASK_RELATION = "TaskRelationService" / "CreateTaskRelation" (CreateTaskRelationRequest) -> TaskRelation;
    LIST_TASK_RELATIONS = "TaskRelationService" / "ListTaskRelations" (ListTaskRelationsRequest) -> ListTaskRelationsResponse;
    DELETE_TASK_RELATION = "TaskRelationService" / "DeleteTaskRelation" (DeleteTaskRelationRequest) -> DeleteTaskRelationResponse;
    LIST_SAVED_VIEWS = "SavedViewService" / "ListSavedViews" (ListSavedViewsRequest) -> ListSavedViewsResponse;
    GET_SAVED_VIEW = "SavedViewService" / "GetSavedView" (GetSavedViewRequest) -> SavedView;
    CREATE_SAVED_VIEW = "SavedViewService" / "CreateSavedView" (CreateSavedViewRequest) -> SavedView;
    DELETE_SAVED_VIEW = "SavedViewService" / "DeleteSavedView" (DeleteSavedViewRequest) -> DeleteSavedViewResponse;
    LIST_NOTIFICATIONS = "NotificationService" / "ListNotifications" (ListNotificationsRequest) -> ListNotificationsResponse;
    MARK_NOTIFICATIONS_READ = "NotificationService" / "MarkNotificationsRead" (MarkNotificationsReadRequest) -> MarkNotificationsReadResponse;
    SNOOZE_NOTIFICATION = "NotificationService" / "SnoozeNotification" (SnoozeNotificationRequest) -> Notification;
    WATCH_NOTIFICATIONS = "NotificationService" / "WatchNotifications" (WatchNotificationsRequest) -> WatchNotificationsResponse;
    GET_TASK_SUBSCRIPTION = "NotificationService" / "GetTaskSubscription" (GetTaskSubscriptionRequest) -> TaskSubscription;
    SUBSCRIBE_TASK = "NotificationService" / "SubscribeTask" (SubscribeTaskRequest) -> TaskSubscription;
    UNSUBSCRIBE_TASK = "NotificationService" / "UnsubscribeTask" (UnsubscribeTaskRequest) -> TaskSubscription;
    GET_NOTIFICATION_SETTINGS = "NotificationService" / "GetNotificationSettings" (GetNotificationSettingsRequest) -> NotificationSettings;
    UPDATE_NOTIFICATION_SETTINGS = "NotificationService" / "UpdateNotificationSettings" (UpdateNotificationSettingsRequest) -> NotificationSettings;
    GET_TASK_REMINDER = "NotificationService" / "GetTaskReminder" (GetTaskReminderRequest) -> TaskReminder;
    UPDATE_TASK_REMINDER = "NotificationService" / "UpdateTaskReminder" (UpdateTaskReminderRequest) -> TaskReminder;
    UNSUBSCRIBE_EMAIL = "NotificationService" / "UnsubscribeEmail" (UnsubscribeEmailRequest) -> UnsubscribeEmailResponse;
    LIST_WEBHOOKS = "WebhookService" / "ListWebhooks" (ListWebhooksRequest) -> ListWebhooksResponse;
    CREATE_WEBHOOK = "WebhookService" / "CreateWebhook" (CreateWebhookRequest) -> Webhook;
    UPDATE_WEBHOOK = "WebhookService" / "UpdateWebhook" (UpdateWebhookRequest) -> Webhook;
    DELETE_WEBHOOK = "WebhookService" / "DeleteWebhook" (DeleteWebhookRequest) -> DeleteWebhookResponse;
    LIST_WEBHOOK_DELIVERIES = "WebhookService" / "ListWebhookDeliveries" (ListWebhookDeliveriesRequest) -> ListWebhookDeliveriesResponse;
    REDELIVER_WEBHOOK = "WebhookService" / "RedeliverWebhook" (RedeliverWebhookRequest) -> WebhookDelivery;
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use prost_types::FileDescriptorSet;

    use super::*;

    #[test]
    fn paths_and_types_match_the_api() {
        let set = FileDescriptorSet::decode(v1::FILE_DESCRIPTOR_SET).expect("the descriptors decode");
        let mut known = Vec::new();
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    known.push((
                        format!("/{}.{}/{}", file.package(), service.name(), method.name()),
                        method.input_type().to_owned(),
                        method.output_type().to_owned(),
                        method.client_streaming() || method.server_streaming(),
                    ));
                }
            }
        }
        for (path, request, answer) in ALL {
            let found = known.iter().find(|(p, ..)| p == path);
            let Some((_, input, output, streaming)) = found else { panic!("{path} is not a method of the API") };
            assert_eq!(input, &format!(".tasktracker.v1.{request}"), "{path}");
            assert_eq!(output, &format!(".tasktracker.v1.{answer}"), "{path}");
            let watch = *path == WATCH_TASKS.path() || *path == WATCH_NOTIFICATIONS.path();
            assert_eq!(*streaming, watch, "{path}: only the Watch methods stream");
        }
    }
}
