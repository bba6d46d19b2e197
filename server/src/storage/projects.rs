//! Projects and their members.

use sea_orm::{DatabaseConnection, DbErr, EntityTrait};

use super::entities::{memberships, projects};
use crate::{
    auth::Role,
    domain::{ProjectId, UserId},
};

/// Why a project operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectStoreError {
    #[error(transparent)]
    Database(#[from] DbErr),
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

    /// `user`'s role in `project` and the project, if they are a member.
    pub async fn membership(
        &self,
        project: ProjectId,
        user: UserId,
    ) -> Result<Option<(Role, projects::Model)>, ProjectStoreError> {
        let Some(membership) =
            memberships::Entity::find_by_id((project.to_string(), user.to_string())).one(&self.db).await?
        else {
            return Ok(None);
        };
        let project = projects::Entity::find_by_id(project.to_string()).one(&self.db).await?;
        Ok(project.map(|project| (Role::from_stored(membership.role), project)))
    }
}
