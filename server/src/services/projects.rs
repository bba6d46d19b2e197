//! `tasktracker.v1.ProjectService`.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr, TransactionTrait,
    sea_query::{Expr, Query},
};
use tasktracker_proto::v1::{self, project_service_server::ProjectService};
use tonic::{Request, Response, Status};

use super::{SharedState, required};
use crate::{
    auth::{Caller, Grant, Permission, Role},
    domain::{
        Email, MemberName, ProjectDescription, ProjectId, ProjectTitle, UserId, Violations,
        page::{Cursor, next_page, page_size},
        time::{self, to_optional_timestamp, to_timestamp},
    },
    error::{ServiceError, ServiceResult},
    storage::{
        entities::{memberships, projects, users},
        projects::ProjectStoreError,
    },
};

impl From<ProjectStoreError> for ServiceError {
    fn from(error: ProjectStoreError) -> Self {
        match error {
            ProjectStoreError::Database(error) => error.into(),
            ProjectStoreError::Stale => Self::stale_etag("project"),
            // Gone since it was authorized: as if never there (AIP-131).
            ProjectStoreError::ProjectNotFound => Self::PermissionDenied,
            ProjectStoreError::UserNotFound => Self::NotFound("user"),
            ProjectStoreError::MemberNotFound => Self::NotFound("member"),
            ProjectStoreError::AlreadyMember => {
                Self::FailedPrecondition("the user is already a member; use UpdateMember to change the role".into())
            }
        }
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
    async fn change_project(
        &self,
        grant: Grant,
        etag: &str,
        change: impl FnOnce(&mut projects::ActiveModel),
    ) -> ServiceResult<v1::Project> {
        check_etag(etag, grant.project.version, "project")?;
        let mut active = projects::ActiveModel {
            id: Set(grant.project.id.clone()),
            update_time: Set(time::now()),
            version: Set(grant.project.version + 1),
            ..Default::default()
        };
        change(&mut active);
        let updated = projects::Entity::update_many()
            .set(active)
            .filter(projects::Column::Id.eq(&grant.project.id))
            .filter(projects::Column::Version.eq(grant.project.version))
            .exec(&self.shared.db)
            .await?;
        if updated.rows_affected != 1 {
            return Err(ServiceError::stale_etag("project"));
        }
        let project = projects::Entity::find_by_id(grant.project.id.clone())
            .one(&self.shared.db)
            .await?
            .ok_or(ServiceError::PermissionDenied)?;
        Ok(project_to_proto(project, grant.role))
    }

    /// Converts memberships to members, with each user's email and name.
    async fn with_users(&self, rows: Vec<memberships::Model>) -> ServiceResult<Vec<v1::Member>> {
        let users = users::Entity::find()
            .filter(users::Column::Id.is_in(rows.iter().map(|row| row.user_id.clone())))
            .all(&self.shared.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let user = users.iter().find(|user| user.id == row.user_id).cloned();
                member_to_proto(row, user)
            })
            .collect())
    }

    /// Fails if the change would leave the project without an owner.
    async fn keep_an_owner(&self, member: MemberName) -> ServiceResult<()> {
        let owners = memberships::Entity::find()
            .filter(memberships::Column::ProjectId.eq(member.project.to_string()))
            .filter(memberships::Column::Role.eq(Role::Owner.stored()))
            .filter(memberships::Column::UserId.ne(member.user.to_string()))
            .limit(1)
            .all(&self.shared.db)
            .await?;
        if owners.is_empty() {
            return Err(ServiceError::FailedPrecondition(
                "a project needs at least one owner; add another owner first".into(),
            ));
        }
        Ok(())
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
    }
}

fn member_to_proto(membership: memberships::Model, user: Option<users::Model>) -> v1::Member {
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
        let v1::CreateProjectRequest { project, request_id } = request.into_inner();
        let project = required("project", &project)?;
        let mut violations = Violations::default();
        let title = violations.check(ProjectTitle::parse("project.title", &project.title));
        let description = violations.check(ProjectDescription::parse("project.description", &project.description));
        if request_id.len() > 64 {
            violations.add("request_id", "must be at most 64 characters");
        }
        violations.finish()?;
        let (Some(title), Some(description)) = (title, description) else {
            unreachable!("violations.finish() returned early")
        };
        let request_id = (!request_id.is_empty()).then_some(request_id);
        let creator = caller.user.to_string();
        let find_retry = || {
            projects::Entity::find()
                .filter(projects::Column::CreatorId.eq(&creator))
                .filter(projects::Column::RequestId.eq(request_id.clone()))
        };
        if request_id.is_some()
            && let Some(existing) = find_retry().one(&self.shared.db).await.map_err(ServiceError::from)?
        {
            return Ok(Response::new(project_to_proto(existing, Role::Owner)));
        }
        let now = time::now();
        let model = projects::Model {
            id: ProjectId::generate().to_string(),
            title: title.into_inner(),
            description: description.into_inner(),
            creator_id: creator.clone(),
            request_id: request_id.clone(),
            create_time: now,
            update_time: now,
            archive_time: None,
            version: 1,
            event_seq: 0,
        };
        let inserted = {
            let model = model.clone();
            let creator = creator.clone();
            self.shared
                .db
                .transaction::<_, (), sea_orm::DbErr>(|txn| {
                    Box::pin(async move {
                        let id = model.id.clone();
                        projects::Entity::insert(projects::ActiveModel::from(model)).exec(txn).await?;
                        memberships::Entity::insert(memberships::ActiveModel {
                            project_id: Set(id),
                            user_id: Set(creator),
                            role: Set(Role::Owner.stored()),
                            create_time: Set(now),
                        })
                        .exec(txn)
                        .await?;
                        Ok(())
                    })
                })
                .await
        };
        match inserted {
            Ok(()) => {}
            // A concurrent retry with the same request id won the race.
            Err(sea_orm::TransactionError::Transaction(error))
                if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) && request_id.is_some() =>
            {
                let existing = find_retry()
                    .one(&self.shared.db)
                    .await
                    .map_err(ServiceError::from)?
                    .ok_or(ServiceError::Internal(error.into()))?;
                return Ok(Response::new(project_to_proto(existing, Role::Owner)));
            }
            Err(error) => return Err(ServiceError::from(error).into()),
        }
        Ok(Response::new(project_to_proto(model, Role::Owner)))
    }

    async fn get_project(&self, request: Request<v1::GetProjectRequest>) -> Result<Response<v1::Project>, Status> {
        let caller = Caller::of(&request)?;
        let project = ProjectId::parse_name("name", &request.get_ref().name)?;
        let grant = self.shared.authorizer.require(&caller, project, Permission::Read).await?;
        Ok(Response::new(project_to_proto(grant.project, grant.role)))
    }

    async fn list_projects(
        &self,
        request: Request<v1::ListProjectsRequest>,
    ) -> Result<Response<v1::ListProjectsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let v1::ListProjectsRequest { page_size: requested, page_token, show_archived } = request.into_inner();
        let limit = page_size("page_size", requested, 50, 200)?;
        let fingerprint = format!("projects archived={show_archived}");
        let cursor = Cursor::decode("page_token", &page_token, &fingerprint)?;
        let mut query = projects::Entity::find().filter(
            projects::Column::Id.in_subquery(
                Query::select()
                    .column(memberships::Column::ProjectId)
                    .from(memberships::Entity)
                    .and_where(memberships::Column::UserId.eq(caller.user.to_string()))
                    .to_owned(),
            ),
        );
        if let Some(only) = self.shared.authorizer.visible_project(&caller) {
            query = query.filter(projects::Column::Id.eq(only.to_string()));
        }
        if !show_archived {
            query = query.filter(projects::Column::ArchiveTime.is_null());
        }
        if let Some(cursor) = cursor {
            query = query.filter(projects::Column::Id.lt(cursor.id));
        }
        let mut rows = query
            .order_by_desc(projects::Column::Id)
            .limit(limit + 1)
            .all(&self.shared.db)
            .await
            .map_err(ServiceError::from)?;
        let next_page_token = next_page(&mut rows, limit, |last| Cursor::new(None, last.id.clone(), &fingerprint));
        let roles = memberships::Entity::find()
            .filter(memberships::Column::UserId.eq(caller.user.to_string()))
            .filter(memberships::Column::ProjectId.is_in(rows.iter().map(|row| row.id.clone())))
            .all(&self.shared.db)
            .await
            .map_err(ServiceError::from)?;
        let role_of =
            |id: &str| roles.iter().find(|m| m.project_id == id).map_or(Role::Viewer, |m| Role::from_stored(m.role));
        let projects = rows
            .into_iter()
            .map(|row| {
                let role = role_of(&row.id);
                project_to_proto(row, role)
            })
            .collect();
        Ok(Response::new(v1::ListProjectsResponse { projects, next_page_token }))
    }

    async fn update_project(
        &self,
        request: Request<v1::UpdateProjectRequest>,
    ) -> Result<Response<v1::Project>, Status> {
        let caller = Caller::of(&request)?;
        let v1::UpdateProjectRequest { project, update_mask } = request.into_inner();
        let project = required("project", &project)?;
        let id = ProjectId::parse_name("project.name", &project.name)?;
        let paths = update_mask.map(|mask| mask.paths).unwrap_or_default();
        if paths.is_empty() {
            return Err(ServiceError::invalid("update_mask", "name at least one field: title, description").into());
        }
        let mut violations = Violations::default();
        let mut title = None;
        let mut description = None;
        for path in &paths {
            match path.as_str() {
                "title" => title = violations.check(ProjectTitle::parse("project.title", &project.title)),
                "description" => {
                    description =
                        violations.check(ProjectDescription::parse("project.description", &project.description))
                }
                other => violations.add("update_mask", format!("`{other}` cannot be updated; use title, description")),
            }
        }
        violations.finish()?;
        let grant = self.shared.authorizer.require(&caller, id, Permission::Manage).await?;
        let project = self
            .change_project(grant, &project.etag, |active| {
                if let Some(title) = title {
                    active.title = Set(title.into_inner());
                }
                if let Some(description) = description {
                    active.description = Set(description.into_inner());
                }
            })
            .await?;
        Ok(Response::new(project))
    }

    async fn archive_project(
        &self,
        request: Request<v1::ArchiveProjectRequest>,
    ) -> Result<Response<v1::Project>, Status> {
        let caller = Caller::of(&request)?;
        let v1::ArchiveProjectRequest { name, etag } = request.into_inner();
        let grant =
            self.shared.authorizer.require(&caller, ProjectId::parse_name("name", &name)?, Permission::Manage).await?;
        let archive_time = grant.project.archive_time.unwrap_or_else(time::now);
        let project = self.change_project(grant, &etag, |active| active.archive_time = Set(Some(archive_time))).await?;
        Ok(Response::new(project))
    }

    async fn unarchive_project(
        &self,
        request: Request<v1::UnarchiveProjectRequest>,
    ) -> Result<Response<v1::Project>, Status> {
        let caller = Caller::of(&request)?;
        let v1::UnarchiveProjectRequest { name, etag } = request.into_inner();
        let grant =
            self.shared.authorizer.require(&caller, ProjectId::parse_name("name", &name)?, Permission::Manage).await?;
        let project = self.change_project(grant, &etag, |active| active.archive_time = Set(None)).await?;
        Ok(Response::new(project))
    }

    async fn list_members(
        &self,
        request: Request<v1::ListMembersRequest>,
    ) -> Result<Response<v1::ListMembersResponse>, Status> {
        let caller = Caller::of(&request)?;
        let v1::ListMembersRequest { parent, page_size: requested, page_token } = request.into_inner();
        let project = ProjectId::parse_name("parent", &parent)?;
        let limit = page_size("page_size", requested, 50, 200)?;
        let cursor = Cursor::decode("page_token", &page_token, "members")?;
        self.shared.authorizer.require(&caller, project, Permission::Read).await?;
        let mut query = memberships::Entity::find().filter(memberships::Column::ProjectId.eq(project.to_string()));
        if let Some(cursor) = cursor {
            query = query.filter(memberships::Column::UserId.gt(cursor.id));
        }
        let mut rows = query
            .order_by_asc(memberships::Column::UserId)
            .limit(limit + 1)
            .all(&self.shared.db)
            .await
            .map_err(ServiceError::from)?;
        let next_page_token = next_page(&mut rows, limit, |last| Cursor::new(None, last.user_id.clone(), "members"));
        let members = self.with_users(rows).await?;
        Ok(Response::new(v1::ListMembersResponse { members, next_page_token }))
    }

    async fn add_member(&self, request: Request<v1::AddMemberRequest>) -> Result<Response<v1::Member>, Status> {
        let caller = Caller::of(&request)?;
        let v1::AddMemberRequest { parent, member } = request.into_inner();
        let project = ProjectId::parse_name("parent", &parent)?;
        let member = required("member", &member)?;
        let mut violations = Violations::default();
        let role = violations.check(Role::from_proto("member.role", member.role));
        let user_condition = match (member.user.is_empty(), member.email.is_empty()) {
            (false, _) => match UserId::parse_name("member.user", &member.user) {
                Ok(user) => Some(Condition::all().add(users::Column::Id.eq(user.to_string()))),
                Err(_) => {
                    violations.add("member.user", "must be `users/{user}`");
                    None
                }
            },
            (true, false) => violations
                .check(Email::parse("member.email", &member.email))
                .map(|email| Condition::all().add(users::Column::Email.eq(email.as_str()))),
            (true, true) => {
                violations.add("member.user", "set `member.user` or `member.email`");
                None
            }
        };
        violations.finish()?;
        let (Some(role), Some(user_condition)) = (role, user_condition) else {
            unreachable!("violations.finish() returned early")
        };
        self.shared.authorizer.require(&caller, project, Permission::Manage).await?;
        let user = users::Entity::find()
            .filter(user_condition)
            .one(&self.shared.db)
            .await
            .map_err(ServiceError::from)?
            .ok_or(ServiceError::NotFound("user"))?;
        let membership = memberships::Model {
            project_id: project.to_string(),
            user_id: user.id.clone(),
            role: role.stored(),
            create_time: time::now(),
        };
        let inserted =
            memberships::Entity::insert(memberships::ActiveModel::from(membership.clone())).exec(&self.shared.db).await;
        if let Err(error) = inserted {
            return Err(match error.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => ServiceError::FailedPrecondition(
                    "the user is already a member; use UpdateMember to change the role".into(),
                ),
                _ => error.into(),
            }
            .into());
        }
        Ok(Response::new(member_to_proto(membership, Some(user))))
    }

    async fn update_member(&self, request: Request<v1::UpdateMemberRequest>) -> Result<Response<v1::Member>, Status> {
        let caller = Caller::of(&request)?;
        let v1::UpdateMemberRequest { member, update_mask } = request.into_inner();
        let member = required("member", &member)?;
        let name = MemberName::parse("member.name", &member.name)?;
        let paths = update_mask.map(|mask| mask.paths).unwrap_or_default();
        if paths != ["role"] {
            return Err(ServiceError::invalid("update_mask", "only `role` can be updated").into());
        }
        let role = Role::from_proto("member.role", member.role)?;
        self.shared.authorizer.require(&caller, name.project, Permission::Manage).await?;
        if role != Role::Owner {
            self.keep_an_owner(name).await?;
        }
        let updated = memberships::Entity::update_many()
            .col_expr(memberships::Column::Role, Expr::value(role.stored()))
            .filter(memberships::Column::ProjectId.eq(name.project.to_string()))
            .filter(memberships::Column::UserId.eq(name.user.to_string()))
            .exec(&self.shared.db)
            .await
            .map_err(ServiceError::from)?;
        if updated.rows_affected == 0 {
            return Err(ServiceError::NotFound("member").into());
        }
        let membership = memberships::Entity::find_by_id((name.project.to_string(), name.user.to_string()))
            .one(&self.shared.db)
            .await
            .map_err(ServiceError::from)?
            .ok_or(ServiceError::NotFound("member"))?;
        let mut members = self.with_users(vec![membership]).await?;
        Ok(Response::new(members.remove(0)))
    }

    async fn remove_member(
        &self,
        request: Request<v1::RemoveMemberRequest>,
    ) -> Result<Response<v1::RemoveMemberResponse>, Status> {
        let caller = Caller::of(&request)?;
        let name = MemberName::parse("name", &request.get_ref().name)?;
        self.shared.authorizer.remove_member(&caller, name).await?;
        self.keep_an_owner(name).await?;
        let deleted = memberships::Entity::delete_by_id((name.project.to_string(), name.user.to_string()))
            .exec(&self.shared.db)
            .await
            .map_err(ServiceError::from)?;
        if deleted.rows_affected == 0 {
            return Err(ServiceError::NotFound("member").into());
        }
        Ok(Response::new(v1::RemoveMemberResponse {}))
    }
}
