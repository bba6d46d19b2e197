//! Who is calling (authentication) and what they may do (authorization).
//!
//! Authentication happens once per call, in the [`layer`] middleware, which
//! puts a [`Caller`] in the request extensions. Authorization happens in one
//! type, [`Authorizer`]: every RPC that needs a caller asks it, whether the
//! question is about a project ([`Authorizer::require`]), the caller's own
//! account ([`Authorizer::account`]) or an API token's limits.

pub mod layer;
pub mod oidc;
pub mod password;
pub mod rate_limit;
pub mod revocations;
pub mod tokens;
pub mod totp;

use tasktracker_proto::v1;

use crate::{
    domain::{
        FieldViolation, MemberName, ProjectId, TaskName, UserId,
        names::{ApiTokenName, SessionId},
    },
    error::{PreconditionViolation, ServiceError, ServiceResult},
    storage::{
        entities::projects,
        projects::{Membership, ProjectStore},
        tasks::{TaskRecord, TaskStore},
    },
};

/// A member's role in a project, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Editor,
    Owner,
}

impl Role {
    pub fn from_proto(field: &str, value: i32) -> Result<Self, FieldViolation> {
        match v1::Role::try_from(value) {
            Ok(v1::Role::Viewer) => Ok(Self::Viewer),
            Ok(v1::Role::Editor) => Ok(Self::Editor),
            Ok(v1::Role::Owner) => Ok(Self::Owner),
            Ok(v1::Role::Unspecified) => {
                Err(FieldViolation::new(field, "is required: ROLE_VIEWER, ROLE_EDITOR or ROLE_OWNER"))
            }
            Err(_) => Err(FieldViolation::new(field, format!("unknown role {value}"))),
        }
    }

    pub fn to_proto(self) -> v1::Role {
        match self {
            Self::Viewer => v1::Role::Viewer,
            Self::Editor => v1::Role::Editor,
            Self::Owner => v1::Role::Owner,
        }
    }

    pub fn stored(self) -> i16 {
        self.to_proto() as i16
    }

    pub fn from_stored(value: i16) -> Self {
        Self::from_proto("", value.into()).unwrap_or(Self::Viewer)
    }

    fn allows(self, permission: Permission) -> bool {
        match permission {
            Permission::Read => true,
            Permission::Write => self >= Self::Editor,
            Permission::Manage => self >= Self::Owner,
        }
    }
}

/// What an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Permission {
    /// See the project and everything in it.
    Read,
    /// Create, change and delete tasks and comments.
    Write,
    /// Manage the project and its members.
    Manage,
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Read,
    Write,
    Admin,
}

impl Scope {
    pub fn from_proto(field: &str, value: i32) -> Result<Self, FieldViolation> {
        match v1::ApiTokenScope::try_from(value) {
            Ok(v1::ApiTokenScope::Read) => Ok(Self::Read),
            Ok(v1::ApiTokenScope::Write) => Ok(Self::Write),
            Ok(v1::ApiTokenScope::Admin) => Ok(Self::Admin),
            Ok(v1::ApiTokenScope::Unspecified) => Err(FieldViolation::new(field, "is required: READ, WRITE or ADMIN")),
            Err(_) => Err(FieldViolation::new(field, format!("unknown scope {value}"))),
        }
    }

    pub fn to_proto(self) -> v1::ApiTokenScope {
        match self {
            Self::Read => v1::ApiTokenScope::Read,
            Self::Write => v1::ApiTokenScope::Write,
            Self::Admin => v1::ApiTokenScope::Admin,
        }
    }

    pub fn from_stored(value: i16) -> Self {
        Self::from_proto("", value.into()).unwrap_or(Self::Read)
    }

    fn allows(self, permission: Permission) -> bool {
        match self {
            Self::Read => permission == Permission::Read,
            Self::Write => permission <= Permission::Write,
            Self::Admin => true,
        }
    }
}

/// What a caller does to an existing comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentAction {
    Edit,
    Delete,
}

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A signed-in person.
    Session(SessionId),
    /// A service, with at most the token's scope, maybe in one project only.
    ApiToken { scope: Scope, project: Option<ProjectId> },
}

/// The authenticated caller of an RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user: UserId,
    pub credential: Credential,
}

impl Caller {
    /// Reads the caller the [`layer`] middleware attached to the request.
    pub fn of<T>(request: &tonic::Request<T>) -> ServiceResult<Self> {
        request.extensions().get::<Self>().copied().ok_or(ServiceError::Unauthenticated("sign in first"))
    }

    /// The session, for account operations API tokens may not perform.
    fn session(&self) -> ServiceResult<SessionId> {
        match self.credential {
            Credential::Session(session) => Ok(session),
            Credential::ApiToken { .. } => Err(ServiceError::PermissionDenied),
        }
    }

    /// May the credential act on `project` with `permission` at all, whatever
    /// the user's role?
    fn credential_allows(&self, project: Option<ProjectId>, permission: Permission) -> bool {
        match self.credential {
            Credential::Session(_) => true,
            Credential::ApiToken { scope, project: only } => {
                scope.allows(permission) && only.is_none_or(|only| Some(only) == project)
            }
        }
    }
}

/// A caller's standing in a project, once authorized.
#[derive(Debug, Clone)]
pub struct Grant {
    pub role: Role,
    pub project: projects::Model,
}

/// The one place that decides what a caller may do.
#[derive(Clone)]
pub struct Authorizer {
    projects: ProjectStore,
    tasks: TaskStore,
}

impl Authorizer {
    pub fn new(projects: ProjectStore, tasks: TaskStore) -> Self {
        Self { projects, tasks }
    }

    /// Succeeds if `caller` may act on `project` with `permission`.
    ///
    /// A caller who is not a member gets PERMISSION_DENIED whether or not
    /// the project exists (AIP-131). Writes to an archived project fail with
    /// FAILED_PRECONDITION, after the permission check.
    #[tracing::instrument(name = "db.authorize", skip_all, fields(otel.kind = "client"))]
    pub async fn require(&self, caller: &Caller, project: ProjectId, permission: Permission) -> ServiceResult<Grant> {
        self.require_member(caller, project, permission, true).await
    }

    /// [`Self::require`], checking the project's two-factor requirement
    /// (see [`require_two_factor`]) only if `two_factor_applies`.
    async fn require_member(
        &self,
        caller: &Caller,
        project: ProjectId,
        permission: Permission,
        two_factor_applies: bool,
    ) -> ServiceResult<Grant> {
        if !caller.credential_allows(Some(project), permission) {
            return Err(ServiceError::PermissionDenied);
        }
        let Membership { role, project, two_factor } =
            self.projects.membership(project, caller.user).await?.ok_or(ServiceError::PermissionDenied)?;
        if two_factor_applies {
            require_two_factor(caller, project.require_two_factor, two_factor)?;
        }
        decide(role, project.archive_time.is_some(), permission)?;
        Ok(Grant { role, project })
    }

    /// The task `name`, if `caller` may act on it with `permission`: the
    /// caller's standing and the task come from one statement, and the
    /// decision is [`Self::require`]'s. A non-member gets PERMISSION_DENIED
    /// whether or not the task exists; a member, NOT_FOUND for a missing one.
    pub async fn task(&self, caller: &Caller, name: TaskName, permission: Permission) -> ServiceResult<TaskRecord> {
        self.task_with_role(caller, name, permission).await.map(|(task, _)| task)
    }

    /// [`Self::task`], with the caller's role in the task's project.
    pub async fn task_with_role(
        &self,
        caller: &Caller,
        name: TaskName,
        permission: Permission,
    ) -> ServiceResult<(TaskRecord, Role)> {
        if !caller.credential_allows(Some(name.project), permission) {
            return Err(ServiceError::PermissionDenied);
        }
        let found = self.tasks.find_as_member(name, caller.user).await?.ok_or(ServiceError::PermissionDenied)?;
        let role = Role::from_stored(found.role);
        require_two_factor(caller, found.project_requires_two_factor, found.two_factor)?;
        decide(role, found.project_archived, permission)?;
        Ok((found.task.ok_or(ServiceError::NotFound("task"))?, role))
    }

    /// Changing a comment, once the caller may write in its task
    /// ([`Self::task_with_role`] with [`Permission::Write`]): only its
    /// author edits it (words are not put in anyone's mouth); its author or
    /// an owner (moderation) deletes it.
    pub fn change_comment(
        &self,
        caller: &Caller,
        role: Role,
        author: UserId,
        change: CommentAction,
    ) -> ServiceResult<()> {
        let allowed = caller.user == author || (change == CommentAction::Delete && role == Role::Owner);
        if allowed { Ok(()) } else { Err(ServiceError::PermissionDenied) }
    }

    /// A user's own inbox: people; API tokens with `permission` and no
    /// restriction to one project (an inbox spans every project).
    pub fn inbox(&self, caller: &Caller, permission: Permission) -> ServiceResult<()> {
        if caller.credential_allows(None, permission) { Ok(()) } else { Err(ServiceError::PermissionDenied) }
    }

    /// Creating a project: people may; API tokens need the admin scope and
    /// no restriction to one project.
    pub fn create_project(&self, caller: &Caller) -> ServiceResult<()> {
        if caller.credential_allows(None, Permission::Manage) { Ok(()) } else { Err(ServiceError::PermissionDenied) }
    }

    /// The one project an API token is restricted to, if any: lists show
    /// nothing else.
    pub fn visible_project(&self, caller: &Caller) -> Option<ProjectId> {
        match caller.credential {
            Credential::ApiToken { project, .. } => project,
            Credential::Session(_) => None,
        }
    }

    /// Removing a member: members may leave on their own (even from a
    /// project whose two-factor requirement they do not meet); removing
    /// others takes an owner. Either way an API token needs the admin scope.
    pub async fn remove_member(&self, caller: &Caller, member: MemberName) -> ServiceResult<Grant> {
        if !caller.credential_allows(Some(member.project), Permission::Manage) {
            return Err(ServiceError::PermissionDenied);
        }
        if member.user == caller.user {
            // Leaving needs no second factor: a member refused for want of
            // one may still walk away.
            return self.require_member(caller, member.project, Permission::Read, false).await;
        }
        self.require(caller, member.project, Permission::Manage).await
    }

    /// Operations on the caller's own account (sign-out, API tokens), which
    /// only a signed-in person may perform: returns the session.
    pub fn account(&self, caller: &Caller) -> ServiceResult<SessionId> {
        caller.session()
    }

    /// Succeeds if `caller` may change `project`'s settings (workflow
    /// states, custom fields): an owner, and the project not archived
    /// (unlike [`Permission::Manage`] alone, which an archived project
    /// allows so that it can be unarchived). Returns the grant.
    pub async fn change_settings(&self, caller: &Caller, project: ProjectId) -> ServiceResult<Grant> {
        let grant = self.require(caller, project, Permission::Manage).await?;
        if grant.project.archive_time.is_some() {
            return Err(archived_error());
        }
        Ok(grant)
    }

    /// Saving, changing or deleting a saved view in the project of `grant`
    /// (the caller's, from [`Self::require`] with [`Permission::Read`]) that
    /// is (or becomes) `shared` or personal: the credential must allow
    /// writing, and the project must not be archived. A personal view needs
    /// only membership (viewers keep views too); a shared one an editor or
    /// owner.
    pub fn change_view(&self, caller: &Caller, grant: &Grant, shared: bool) -> ServiceResult<()> {
        let project = ProjectId::from_stored(&grant.project.id);
        if !caller.credential_allows(Some(project), Permission::Write) {
            return Err(ServiceError::PermissionDenied);
        }
        decide(grant.role, false, if shared { Permission::Write } else { Permission::Read })?;
        if grant.project.archive_time.is_some() {
            return Err(archived_error());
        }
        Ok(())
    }

    /// An API token the caller may manage: one of their own, from a session.
    pub fn api_token(&self, caller: &Caller, token: ApiTokenName) -> ServiceResult<()> {
        self.account(caller)?;
        if token.user == caller.user { Ok(()) } else { Err(ServiceError::PermissionDenied) }
    }
}

/// Refuses a member without two-factor authentication access to a project
/// that requires it (`Project.require_two_factor`), whatever the permission:
/// FAILED_PRECONDITION with a `PreconditionFailure` of type
/// `TWO_FACTOR_REQUIRED` whose subject is the caller, so a client can send
/// them to enrolment. Decided after membership, so a non-member still gets
/// PERMISSION_DENIED and learns nothing of the project's settings. The
/// account is what counts, not how the session signed in: a session opened
/// before the user enrolled keeps access once they have.
fn require_two_factor(caller: &Caller, required: bool, enrolled: bool) -> ServiceResult<()> {
    if !required || enrolled {
        return Ok(());
    }
    Err(ServiceError::PreconditionViolated {
        message: "this project requires two-factor authentication: turn it on for your account \
                  (BeginTotpEnrollment, then ConfirmTotpEnrollment) to open it"
            .into(),
        violations: vec![PreconditionViolation {
            kind: TWO_FACTOR_REQUIRED,
            subject: caller.user.name(),
            description: "the account has no two-factor authentication".into(),
        }],
    })
}

/// The `PreconditionFailure` type of a refusal for want of two-factor
/// authentication.
pub const TWO_FACTOR_REQUIRED: &str = "TWO_FACTOR_REQUIRED";

/// May a member with `role` act with `permission` on a project that is
/// `archived` or not?
fn decide(role: Role, archived: bool, permission: Permission) -> ServiceResult<()> {
    if !role.allows(permission) {
        return Err(ServiceError::PermissionDenied);
    }
    if permission == Permission::Write && archived {
        return Err(archived_error());
    }
    Ok(())
}

/// The refusal of a change to an archived project.
fn archived_error() -> ServiceError {
    ServiceError::FailedPrecondition("the project is archived; unarchive it first".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_nested_permissions() {
        assert!(Role::Viewer.allows(Permission::Read));
        assert!(!Role::Viewer.allows(Permission::Write));
        assert!(Role::Editor.allows(Permission::Write));
        assert!(!Role::Editor.allows(Permission::Manage));
        assert!(Role::Owner.allows(Permission::Manage));
    }

    #[test]
    fn api_tokens_are_limited_by_scope_and_project() {
        let project = ProjectId::generate();
        let other = ProjectId::generate();
        let read_only = Caller {
            user: UserId::generate(),
            credential: Credential::ApiToken { scope: Scope::Read, project: Some(project) },
        };
        assert!(read_only.credential_allows(Some(project), Permission::Read));
        assert!(!read_only.credential_allows(Some(project), Permission::Write));
        assert!(!read_only.credential_allows(Some(other), Permission::Read));
        let writer = Caller { credential: Credential::ApiToken { scope: Scope::Write, project: None }, ..read_only };
        assert!(writer.credential_allows(Some(other), Permission::Write));
        assert!(!writer.credential_allows(Some(other), Permission::Manage));
        assert!(writer.session().is_err());
    }
}
