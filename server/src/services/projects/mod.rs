//! `tasktracker.v1.ProjectService`. Each handler parses its request into a
//! command ([`commands`]), asks the [`Authorizer`](crate::auth::Authorizer)
//! once, calls the [`ProjectStore`](crate::storage::projects::ProjectStore)
//! and converts the rows back.

mod commands;
mod invitations;

use tasktracker_proto::v1::{self, project_service_server::ProjectService};
use tonic::{Request, Response, Status};

use self::commands::{
    AddMember, CreateInvitation, GetProject, ListInvitations, ListMembers, ListMyInvitations, ListProjects,
    NamedInvitation, RemoveMember, SetArchived, UpdateMember, UpdateProject,
};
use super::SharedState;
use crate::{
    auth::{Caller, Grant, Permission, Role},
    domain::{
        Invalid, MemberName, ProjectId, UserId,
        time::{self, to_optional_timestamp, to_timestamp},
    },
    error::{ServiceError, ServiceResult},
    storage::{
        entities::projects,
        projects::{Member, NewProject, ProjectChange, ProjectFilter, ProjectStoreError},
    },
};

impl From<ProjectStoreError> for ServiceError {
    fn from(error: ProjectStoreError) -> Self {
        match error {
            ProjectStoreError::Database(error) => error.into(),
            ProjectStoreError::Stale => Self::stale_etag("project"),
            // Gone since it was authorized: as if never there (AIP-131).
            ProjectStoreError::ProjectNotFound => Self::PermissionDenied,
            ProjectStoreError::MemberNotFound => Self::NotFound("member"),
            ProjectStoreError::RequestReused => Self::request_id_reused("project"),
        }
    }
}

impl From<ProjectStoreError> for Status {
    fn from(error: ProjectStoreError) -> Self {
        ServiceError::from(error).into()
    }
}

pub struct Projects {
    shared: SharedState,
}

impl Projects {
    pub fn new(shared: SharedState) -> Self {
        Self { shared }
    }

    /// Applies a guarded change to a project the caller may manage.
    async fn change_project(&self, grant: Grant, etag: &str, change: ProjectChange) -> ServiceResult<v1::Project> {
        check_etag(etag, grant.project.version, "project")?;
        let project = self.shared.projects.update(&grant.project, change).await?;
        Ok(project_to_proto(project, grant.role))
    }

    /// Fails if the change would leave the project without an owner.
    async fn keep_an_owner(&self, member: MemberName) -> ServiceResult<()> {
        if !self.shared.projects.has_another_owner(member).await? {
            return Err(ServiceError::FailedPrecondition(
                "a project needs at least one owner; add another owner first".into(),
            ));
        }
        Ok(())
    }

    /// `ArchiveProject` and `UnarchiveProject`. Archiving an archived
    /// project keeps its archive time.
    async fn set_archived<R: Send>(&self, request: Request<R>) -> Result<Response<v1::Project>, Status>
    where
        SetArchived: TryFrom<R, Error = Invalid>,
    {
        let caller = Caller::of(&request)?;
        let SetArchived { project, etag, archived } = request.into_inner().try_into()?;
        let grant = self.shared.authorizer.require(&caller, project, Permission::Manage).await?;
        let archive_time = archived.then(|| grant.project.archive_time.unwrap_or_else(time::now));
        let change = ProjectChange { archive_time: Some(archive_time), ..Default::default() };
        Ok(Response::new(self.change_project(grant, &etag, change).await?))
    }
}

/// Fails with ABORTED if a given etag is not the current version.
pub(crate) fn check_etag(etag: &str, version: i64, resource: &str) -> ServiceResult<()> {
    if !etag.is_empty() && etag != version.to_string() {
        return Err(ServiceError::stale_etag(resource));
    }
    Ok(())
}

fn project_to_proto(project: projects::Model, role: Role) -> v1::Project {
    v1::Project {
        name: ProjectId::from_stored(&project.id).name(),
        title: project.title,
        description: project.description,
        create_time: Some(to_timestamp(project.create_time)),
        update_time: Some(to_timestamp(project.update_time)),
        archive_time: to_optional_timestamp(project.archive_time),
        etag: project.version.to_string(),
        caller_role: role.to_proto() as i32,
        enforce_wip_limits: project.enforce_wip_limits,
        require_blockers_done: project.require_blockers_done,
        require_two_factor: project.require_two_factor,
    }
}

fn member_to_proto(Member { membership, user }: Member) -> v1::Member {
    let name = MemberName {
        project: ProjectId::from_stored(&membership.project_id),
        user: UserId::from_stored(&membership.user_id),
    };
    let (email, display_name) = user.map(|user| (user.email, user.display_name)).unwrap_or_default();
    v1::Member {
        name: name.to_string(),
        user: name.user.name(),
        email,
        display_name,
        role: Role::from_stored(membership.role).to_proto() as i32,
        create_time: Some(to_timestamp(membership.create_time)),
        state: v1::MemberState::Active as i32,
        invitation: String::new(),
    }
}

#[tonic::async_trait]
impl ProjectService for Projects {
    async fn create_project(
        &self,
        request: Request<v1::CreateProjectRequest>,
    ) -> Result<Response<v1::Project>, Status> {
        let caller = Caller::of(&request)?;
        self.shared.authorizer.create_project(&caller)?;
        let project = NewProject::try_from(request.into_inner())?;
        let created = self.shared.projects.create(caller.user, project).await?;
        if created.existed {
            tracing::debug!(project = %created.project.id, "retried create returned the existing project");
        }
        Ok(Response::new(project_to_proto(created.project, Role::Owner)))
    }

    async fn get_project(&self, request: Request<v1::GetProjectRequest>) -> Result<Response<v1::Project>, Status> {
        let caller = Caller::of(&request)?;
        let GetProject { project } = request.into_inner().try_into()?;
        let grant = self.shared.authorizer.require(&caller, project, Permission::Read).await?;
        Ok(Response::new(project_to_proto(grant.project, grant.role)))
    }

    async fn list_projects(
        &self,
        request: Request<v1::ListProjectsRequest>,
    ) -> Result<Response<v1::ListProjectsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let ListProjects { page, show_archived } = request.into_inner().try_into()?;
        let filter = ProjectFilter { show_archived, only: self.shared.authorizer.visible_project(&caller) };
        let mut rows = self.shared.projects.list_for_user(caller.user, filter, &page).await?;
        let next_page_token = page.finish(&mut rows, |(project, _)| (None, project.id.clone()));
        let projects = rows.into_iter().map(|(project, role)| project_to_proto(project, role)).collect();
        Ok(Response::new(v1::ListProjectsResponse { projects, next_page_token }))
    }

    async fn update_project(
        &self,
        request: Request<v1::UpdateProjectRequest>,
    ) -> Result<Response<v1::Project>, Status> {
        let caller = Caller::of(&request)?;
        let UpdateProject { project, etag, change } = request.into_inner().try_into()?;
        let grant = self.shared.authorizer.require(&caller, project, Permission::Manage).await?;
        // An owner who turns the requirement on must meet it, or the first
        // member it locks out would be themselves.
        if change.require_two_factor == Some(true)
            && !grant.project.require_two_factor
            && !self.shared.two_factor.enabled(caller.user).await.map_err(ServiceError::from)?
        {
            return Err(ServiceError::FailedPrecondition(
                "turn on two-factor authentication for your own account before requiring it of the project's \
                 members"
                    .into(),
            )
            .into());
        }
        Ok(Response::new(self.change_project(grant, &etag, change).await?))
    }

    async fn archive_project(
        &self,
        request: Request<v1::ArchiveProjectRequest>,
    ) -> Result<Response<v1::Project>, Status> {
        self.set_archived(request).await
    }

    async fn unarchive_project(
        &self,
        request: Request<v1::UnarchiveProjectRequest>,
    ) -> Result<Response<v1::Project>, Status> {
        self.set_archived(request).await
    }

    async fn list_members(
        &self,
        request: Request<v1::ListMembersRequest>,
    ) -> Result<Response<v1::ListMembersResponse>, Status> {
        let caller = Caller::of(&request)?;
        let ListMembers { project, page } = request.into_inner().try_into()?;
        self.shared.authorizer.require(&caller, project, Permission::Read).await?;
        let mut members = self.shared.projects.list_members(project, &page).await?;
        let next_page_token = page.finish(&mut members, |member| (None, member.membership.user_id.clone()));
        let members = members.into_iter().map(member_to_proto).collect();
        Ok(Response::new(v1::ListMembersResponse { members, next_page_token }))
    }

    async fn add_member(&self, request: Request<v1::AddMemberRequest>) -> Result<Response<v1::Member>, Status> {
        let caller = Caller::of(&request)?;
        let AddMember { project, invitee, role } = request.into_inner().try_into()?;
        Ok(Response::new(self.add_member_by_invitation(&caller, project, invitee, role).await?))
    }

    async fn update_member(&self, request: Request<v1::UpdateMemberRequest>) -> Result<Response<v1::Member>, Status> {
        let caller = Caller::of(&request)?;
        let UpdateMember { name, role } = request.into_inner().try_into()?;
        self.shared.authorizer.require(&caller, name.project, Permission::Manage).await?;
        if role != Role::Owner {
            self.keep_an_owner(name).await?;
        }
        let member = self.shared.projects.update_role(name, role).await?;
        Ok(Response::new(member_to_proto(member)))
    }

    async fn remove_member(
        &self,
        request: Request<v1::RemoveMemberRequest>,
    ) -> Result<Response<v1::RemoveMemberResponse>, Status> {
        let caller = Caller::of(&request)?;
        let RemoveMember { name } = request.into_inner().try_into()?;
        self.shared.authorizer.remove_member(&caller, name).await?;
        self.keep_an_owner(name).await?;
        self.shared.projects.remove_member(name).await?;
        // Their open watch streams on the project end; on PostgreSQL a
        // trigger also announces it to the other replicas.
        self.shared.revocations.end_membership(name.project, name.user);
        Ok(Response::new(v1::RemoveMemberResponse {}))
    }

    async fn create_invitation(
        &self,
        request: Request<v1::CreateInvitationRequest>,
    ) -> Result<Response<v1::Invitation>, Status> {
        let caller = Caller::of(&request)?;
        let CreateInvitation { project, invitee, role } = request.into_inner().try_into()?;
        Ok(Response::new(self.create_invitation_for(&caller, project, invitee, role).await?))
    }

    async fn list_invitations(
        &self,
        request: Request<v1::ListInvitationsRequest>,
    ) -> Result<Response<v1::ListInvitationsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let ListInvitations { project, page } = request.into_inner().try_into()?;
        Ok(Response::new(self.list_invitations_of(&caller, project, page).await?))
    }

    async fn revoke_invitation(
        &self,
        request: Request<v1::RevokeInvitationRequest>,
    ) -> Result<Response<v1::Invitation>, Status> {
        let caller = Caller::of(&request)?;
        let command = NamedInvitation::try_from(request.into_inner())?;
        Ok(Response::new(self.revoke_invitation_named(&caller, command).await?))
    }

    async fn list_my_invitations(
        &self,
        request: Request<v1::ListMyInvitationsRequest>,
    ) -> Result<Response<v1::ListMyInvitationsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let ListMyInvitations { page } = request.into_inner().try_into()?;
        Ok(Response::new(self.list_my_invitations_of(&caller, page).await?))
    }

    async fn accept_invitation(
        &self,
        request: Request<v1::AcceptInvitationRequest>,
    ) -> Result<Response<v1::AcceptInvitationResponse>, Status> {
        let caller = Caller::of(&request)?;
        let command = NamedInvitation::try_from(request.into_inner())?;
        Ok(Response::new(self.accept_invitation_named(&caller, command).await?))
    }

    async fn decline_invitation(
        &self,
        request: Request<v1::DeclineInvitationRequest>,
    ) -> Result<Response<v1::Invitation>, Status> {
        let caller = Caller::of(&request)?;
        let command = NamedInvitation::try_from(request.into_inner())?;
        Ok(Response::new(self.decline_invitation_named(&caller, command).await?))
    }
}
