//! Projects and their members.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, SqlErr, TransactionError, TransactionTrait,
    sea_query::{Expr, ExprTrait, Query},
};

use super::{
    entities::{memberships, projects, totp_credentials, users},
    states,
};
use crate::{
    auth::Role,
    domain::{
        MemberName, ProjectDescription, ProjectId, ProjectTitle, RequestId, UserId,
        page::PageRequest,
        time::{self, Micros},
    },
};

/// Why a project operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectStoreError {
    #[error(transparent)]
    Database(#[from] DbErr),
    /// A version-guarded update found another version.
    #[error("the project changed meanwhile")]
    Stale,
    /// The project is gone.
    #[error("project not found")]
    ProjectNotFound,
    /// The membership does not exist.
    #[error("member not found")]
    MemberNotFound,
    /// The request id made a project from a different request.
    #[error("request_id reused for a different request")]
    RequestReused,
}

/// The project an earlier create with `request_id` made, if this create is
/// that request again.
fn retried(request_id: &RequestId, existing: projects::Model) -> Result<Created, ProjectStoreError> {
    if request_id.repeats(existing.request_hash.as_deref()) {
        Ok(Created { project: existing, existed: true })
    } else {
        Err(ProjectStoreError::RequestReused)
    }
}

impl From<TransactionError<DbErr>> for ProjectStoreError {
    fn from(error: TransactionError<DbErr>) -> Self {
        match error {
            TransactionError::Connection(error) | TransactionError::Transaction(error) => error.into(),
        }
    }
}

fn is_unique_violation(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// A project to make.
#[derive(Debug, Clone)]
pub struct NewProject {
    pub title: ProjectTitle,
    pub description: ProjectDescription,
    /// The client's idempotency key.
    pub request_id: Option<RequestId>,
}

/// What an idempotent create returns.
#[derive(Debug, Clone)]
pub struct Created {
    pub project: projects::Model,
    /// An earlier call with the same request id made it.
    pub existed: bool,
}

/// The fields a guarded update changes; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct ProjectChange {
    pub title: Option<ProjectTitle>,
    pub description: Option<ProjectDescription>,
    /// `Some(None)` unarchives.
    pub archive_time: Option<Option<Micros>>,
    pub enforce_wip_limits: Option<bool>,
    pub require_blockers_done: Option<bool>,
    pub require_two_factor: Option<bool>,
}

/// A member's standing in a project (see [`ProjectStore::membership`]).
#[derive(Debug, Clone)]
pub struct Membership {
    pub role: Role,
    pub project: projects::Model,
    /// Whether the member has confirmed two-factor authentication.
    pub two_factor: bool,
}

/// Whether the user whose id is `user` (an expression, e.g. a column) has
/// confirmed two-factor authentication: an `EXISTS` on the primary key of
/// `totp_credentials`.
pub fn has_two_factor(user: Expr) -> Expr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(totp_credentials::Entity)
            .and_where(Expr::col((totp_credentials::Entity, totp_credentials::Column::UserId)).eq(user))
            .and_where(Expr::col((totp_credentials::Entity, totp_credentials::Column::ConfirmTime)).is_not_null())
            .to_owned(),
    )
}

/// Which projects a list shows.
#[derive(Debug, Clone, Copy)]
pub struct ProjectFilter {
    pub show_archived: bool,
    /// Only this project (an API token restricted to one).
    pub only: Option<ProjectId>,
}

/// A membership with its user (absent only if the user row vanished).
#[derive(Debug, Clone)]
pub struct Member {
    pub membership: memberships::Model,
    pub user: Option<users::Model>,
}

/// The projects repository.
#[derive(Clone)]
pub struct ProjectStore {
    db: DatabaseConnection,
}

impl ProjectStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// `user`'s role in `project`, the project, and whether `user` has
    /// two-factor authentication, if they are a member: one statement, the
    /// membership joined to its project.
    #[tracing::instrument(name = "db.projects.membership", skip_all, fields(otel.kind = "client"))]
    pub async fn membership(&self, project: ProjectId, user: UserId) -> Result<Option<Membership>, ProjectStoreError> {
        let mut select = projects::Entity::find_by_id(project.to_string())
            .column_as(Expr::col((memberships::Entity, memberships::Column::Role)), "member_role")
            .column_as(
                has_two_factor(Expr::col((memberships::Entity, memberships::Column::UserId))),
                "member_two_factor",
            );
        QueryTrait::query(&mut select).inner_join(
            memberships::Entity,
            Expr::col((memberships::Entity, memberships::Column::ProjectId))
                .equals((projects::Entity, projects::Column::Id)),
        );
        let select = select.filter(Expr::col((memberships::Entity, memberships::Column::UserId)).eq(user.to_string()));
        let Some(row) = self.db.query_one_raw(select.build(self.db.get_database_backend())).await? else {
            return Ok(None);
        };
        Ok(Some(Membership {
            role: Role::from_stored(row.try_get("", "member_role")?),
            project: projects::Model::from_query_result(&row, "")?,
            two_factor: row.try_get("", "member_two_factor")?,
        }))
    }

    /// The project `creator` made with `request_id`, if any.
    #[tracing::instrument(name = "db.projects.find_by_request_id", skip_all, fields(otel.kind = "client"))]
    pub async fn find_by_request_id(
        &self,
        creator: &str,
        request_id: &RequestId,
    ) -> Result<Option<projects::Model>, ProjectStoreError> {
        Ok(projects::Entity::find()
            .filter(projects::Column::CreatorId.eq(creator))
            .filter(projects::Column::RequestId.eq(request_id.as_str()))
            .one(&self.db)
            .await?)
    }

    /// Makes `project`, with `creator` as its owner and its default workflow
    /// states, in one transaction,
    /// unless `creator` already made one with the same request id: then
    /// returns that one (AIP-155), also when a concurrent retry wins the race.
    #[tracing::instrument(name = "db.projects.create", skip_all, fields(otel.kind = "client"))]
    pub async fn create(&self, creator: UserId, project: NewProject) -> Result<Created, ProjectStoreError> {
        let NewProject { title, description, request_id } = project;
        let creator = creator.to_string();
        if let Some(request_id) = &request_id
            && let Some(existing) = self.find_by_request_id(&creator, request_id).await?
        {
            return retried(request_id, existing);
        }
        let now = time::now();
        let project = projects::Model {
            id: ProjectId::generate().to_string(),
            title: title.into_inner(),
            description: description.into_inner(),
            creator_id: creator,
            request_id: request_id.as_ref().map(|id| id.as_str().to_owned()),
            request_hash: request_id.as_ref().map(|id| id.fingerprint().to_owned()),
            create_time: now,
            update_time: now,
            archive_time: None,
            version: 1,
            event_seq: 0,
            enforce_wip_limits: false,
            require_blockers_done: false,
            require_two_factor: false,
        };
        let inserted = {
            let project = project.clone();
            self.db
                .transaction::<_, (), DbErr>(|txn| {
                    Box::pin(async move {
                        let owner = memberships::ActiveModel {
                            project_id: Set(project.id.clone()),
                            user_id: Set(project.creator_id.clone()),
                            role: Set(Role::Owner.stored()),
                            create_time: Set(project.create_time),
                        };
                        let (id, now) = (ProjectId::from_stored(&project.id), project.create_time);
                        projects::Entity::insert(projects::ActiveModel::from(project)).exec(txn).await?;
                        memberships::Entity::insert(owner).exec(txn).await?;
                        states::insert_defaults(txn, id, now).await?;
                        Ok(())
                    })
                })
                .await
        };
        match (inserted, &request_id) {
            (Ok(()), _) => Ok(Created { project, existed: false }),
            // A concurrent retry with the same request id won the race.
            (Err(TransactionError::Transaction(error)), Some(request_id)) if is_unique_violation(&error) => {
                let existing = self.find_by_request_id(&project.creator_id, request_id).await?;
                existing.map_or(Err(error.into()), |existing| retried(request_id, existing))
            }
            (Err(error), _) => Err(error.into()),
        }
    }

    /// Applies `change` to `current` if it is still at `current.version`;
    /// returns the new row.
    #[tracing::instrument(name = "db.projects.update", skip_all, fields(otel.kind = "client"))]
    pub async fn update(
        &self,
        current: &projects::Model,
        change: ProjectChange,
    ) -> Result<projects::Model, ProjectStoreError> {
        let mut active = projects::ActiveModel {
            id: Set(current.id.clone()),
            update_time: Set(time::now()),
            version: Set(current.version + 1),
            ..Default::default()
        };
        if let Some(title) = change.title {
            active.title = Set(title.into_inner());
        }
        if let Some(description) = change.description {
            active.description = Set(description.into_inner());
        }
        if let Some(archive_time) = change.archive_time {
            active.archive_time = Set(archive_time);
        }
        if let Some(enforce) = change.enforce_wip_limits {
            active.enforce_wip_limits = Set(enforce);
        }
        if let Some(require) = change.require_blockers_done {
            active.require_blockers_done = Set(require);
        }
        if let Some(require) = change.require_two_factor {
            active.require_two_factor = Set(require);
        }
        let updated = projects::Entity::update_many()
            .set(active)
            .filter(projects::Column::Id.eq(&current.id))
            .filter(projects::Column::Version.eq(current.version))
            .exec(&self.db)
            .await?;
        if updated.rows_affected != 1 {
            return Err(ProjectStoreError::Stale);
        }
        projects::Entity::find_by_id(current.id.clone()).one(&self.db).await?.ok_or(ProjectStoreError::ProjectNotFound)
    }

    /// A page of the projects `user` is a member of, newest first, with
    /// `user`'s role in each: up to `page.fetch()` rows after `page.after_id()`.
    #[tracing::instrument(name = "db.projects.list", skip_all, fields(otel.kind = "client"))]
    pub async fn list_for_user(
        &self,
        user: UserId,
        filter: ProjectFilter,
        page: &PageRequest,
    ) -> Result<Vec<(projects::Model, Role)>, ProjectStoreError> {
        let mut query = projects::Entity::find().filter(
            projects::Column::Id.in_subquery(
                Query::select()
                    .column(memberships::Column::ProjectId)
                    .from(memberships::Entity)
                    .and_where(memberships::Column::UserId.eq(user.to_string()))
                    .to_owned(),
            ),
        );
        if let Some(only) = filter.only {
            query = query.filter(projects::Column::Id.eq(only.to_string()));
        }
        if !filter.show_archived {
            query = query.filter(projects::Column::ArchiveTime.is_null());
        }
        if let Some(after) = page.after_id() {
            query = query.filter(projects::Column::Id.lt(after));
        }
        let rows = query.order_by_desc(projects::Column::Id).limit(page.fetch()).all(&self.db).await?;
        let roles = memberships::Entity::find()
            .filter(memberships::Column::UserId.eq(user.to_string()))
            .filter(memberships::Column::ProjectId.is_in(rows.iter().map(|row| row.id.clone())))
            .all(&self.db)
            .await?;
        let role_of =
            |id: &str| roles.iter().find(|m| m.project_id == id).map_or(Role::Viewer, |m| Role::from_stored(m.role));
        Ok(rows
            .into_iter()
            .map(|row| {
                let role = role_of(&row.id);
                (row, role)
            })
            .collect())
    }

    /// A page of `project`'s members by user id: up to `page.fetch()` rows
    /// after `page.after_id()`.
    #[tracing::instrument(name = "db.projects.list_members", skip_all, fields(otel.kind = "client"))]
    pub async fn list_members(&self, project: ProjectId, page: &PageRequest) -> Result<Vec<Member>, ProjectStoreError> {
        let mut query = memberships::Entity::find().filter(memberships::Column::ProjectId.eq(project.to_string()));
        if let Some(after) = page.after_id() {
            query = query.filter(memberships::Column::UserId.gt(after));
        }
        let rows = query.order_by_asc(memberships::Column::UserId).limit(page.fetch()).all(&self.db).await?;
        self.with_users(rows).await
    }

    /// Changes a member's role; returns the member.
    #[tracing::instrument(name = "db.projects.update_role", skip_all, fields(otel.kind = "client"))]
    pub async fn update_role(&self, member: MemberName, role: Role) -> Result<Member, ProjectStoreError> {
        let updated = memberships::Entity::update_many()
            .col_expr(memberships::Column::Role, Expr::value(role.stored()))
            .filter(memberships::Column::ProjectId.eq(member.project.to_string()))
            .filter(memberships::Column::UserId.eq(member.user.to_string()))
            .exec(&self.db)
            .await?;
        if updated.rows_affected == 0 {
            return Err(ProjectStoreError::MemberNotFound);
        }
        let membership = memberships::Entity::find_by_id((member.project.to_string(), member.user.to_string()))
            .one(&self.db)
            .await?
            .ok_or(ProjectStoreError::MemberNotFound)?;
        self.with_users(vec![membership]).await?.pop().ok_or(ProjectStoreError::MemberNotFound)
    }

    /// Removes a member.
    #[tracing::instrument(name = "db.projects.remove_member", skip_all, fields(otel.kind = "client"))]
    pub async fn remove_member(&self, member: MemberName) -> Result<(), ProjectStoreError> {
        let deleted = memberships::Entity::delete_by_id((member.project.to_string(), member.user.to_string()))
            .exec(&self.db)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(ProjectStoreError::MemberNotFound);
        }
        Ok(())
    }

    /// Whether the project has an owner other than `member`.
    #[tracing::instrument(name = "db.projects.has_another_owner", skip_all, fields(otel.kind = "client"))]
    pub async fn has_another_owner(&self, member: MemberName) -> Result<bool, ProjectStoreError> {
        let owners = memberships::Entity::find()
            .filter(memberships::Column::ProjectId.eq(member.project.to_string()))
            .filter(memberships::Column::Role.eq(Role::Owner.stored()))
            .filter(memberships::Column::UserId.ne(member.user.to_string()))
            .limit(1)
            .all(&self.db)
            .await?;
        Ok(!owners.is_empty())
    }

    /// Pairs memberships with their users, one query for the batch.
    async fn with_users(&self, rows: Vec<memberships::Model>) -> Result<Vec<Member>, ProjectStoreError> {
        let users = users::Entity::find()
            .filter(users::Column::Id.is_in(rows.iter().map(|row| row.user_id.clone())))
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|membership| {
                let user = users.iter().find(|user| user.id == membership.user_id).cloned();
                Member { membership, user }
            })
            .collect())
    }
}
