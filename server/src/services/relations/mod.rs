//! `tasktracker.v1.TaskRelationService`: typed relations between tasks.
//! Each handler parses its request ([`commands`]), asks the
//! [`Authorizer`](crate::auth::Authorizer) once (reading takes a member,
//! changing takes an editor, as for UpdateTask), calls the
//! [`RelationStore`](crate::storage::relations::RelationStore) and converts
//! back.

mod commands;

use prost::Message as _;
use tasktracker_proto::v1::{self, task_relation_service_server::TaskRelationService};
use tonic::{Request, Response, Status};

use self::commands::{CreateRelation, ListRelations};
use super::{SharedState, tasks::convert::task_to_proto};
use crate::{
    auth::{Caller, Permission},
    domain::{
        ProjectId, RelationId, RelationKind, RelationName, StateCategory, StateId, StateName, TaskId, TaskName, UserId,
        time::{to_optional_timestamp, to_timestamp},
    },
    error::ServiceError,
    storage::{
        relations::{MAX_RELATIONS, NewRelation, Related, RelationStoreError},
        tasks::TaskRecord,
    },
};

impl From<RelationStoreError> for ServiceError {
    fn from(error: RelationStoreError) -> Self {
        match error {
            RelationStoreError::NotFound => Self::NotFound("task relation"),
            RelationStoreError::TaskNotFound => Self::NotFound("task"),
            RelationStoreError::TaskDeleted => {
                Self::FailedPrecondition("the task is deleted; undelete it first".into())
            }
            RelationStoreError::OtherTask(reason) => Self::invalid("task_relation.task", reason.to_string()),
            RelationStoreError::AlreadyExists => {
                Self::AlreadyExists("the tasks already have this relation (perhaps created from the other task)".into())
            }
            RelationStoreError::Cycle(_) => Self::invalid(
                "task_relation.type",
                "the tasks already have this relation the other way round; the two together would be a cycle",
            ),
            RelationStoreError::TooMany => {
                Self::FailedPrecondition(format!("a task has at most {MAX_RELATIONS} relations"))
            }
            RelationStoreError::Tasks(error) => error.into(),
            RelationStoreError::Database(error) => error.into(),
        }
    }
}

pub struct Relations {
    shared: SharedState,
}

impl Relations {
    pub fn new(shared: SharedState) -> Self {
        Self { shared }
    }
}

/// The one conversion from a stored relation side to API message.
fn relation_to_proto(related: Related) -> v1::TaskRelation {
    let Related { row, project_id, title, state_id, category, complete_time, delete_time } = related;
    let project = ProjectId::from_stored(&project_id);
    let task = TaskName { project, task: TaskId::from_stored(&row.task_id) };
    v1::TaskRelation {
        name: RelationName { task, relation: RelationId::from_stored(&row.id) }.to_string(),
        r#type: RelationKind::from_stored(row.kind).to_proto() as i32,
        task: TaskName { project, task: TaskId::from_stored(&row.other_task_id) }.to_string(),
        task_title: title,
        task_state: state_id
            .map(|state| StateName { project, state: StateId::from_stored(&state) }.to_string())
            .unwrap_or_default(),
        task_state_category: category
            .map_or(v1::StateCategory::Unspecified, |category| StateCategory::from_stored(category).to_proto())
            as i32,
        task_complete_time: to_optional_timestamp(complete_time),
        task_delete_time: to_optional_timestamp(delete_time),
        create_time: Some(to_timestamp(row.create_time)),
        creator: UserId::from_stored(&row.creator_id).name(),
    }
}

/// The task as watchers receive it in the feed event a relation change
/// records.
fn snapshot(record: &TaskRecord) -> Vec<u8> {
    task_to_proto(record).encode_to_vec()
}

#[tonic::async_trait]
impl TaskRelationService for Relations {
    async fn create_task_relation(
        &self,
        request: Request<v1::CreateTaskRelationRequest>,
    ) -> Result<Response<v1::TaskRelation>, Status> {
        let caller = Caller::of(&request)?;
        let CreateRelation { task, other, kind } = request.into_inner().try_into()?;
        let record = self.shared.authorizer.task(&caller, task, Permission::Write).await?;
        if record.task.delete_time.is_some() {
            return Err(ServiceError::FailedPrecondition("the task is deleted; undelete it first".into()).into());
        }
        let new = NewRelation { task, other, kind, creator: caller.user };
        let created = self.shared.relations.create(new, v1::TaskEventType::Updated as i16, snapshot).await;
        let created = created.map_err(ServiceError::from)?;
        self.shared.feed.notify(task.project);
        Ok(Response::new(relation_to_proto(created)))
    }

    async fn list_task_relations(
        &self,
        request: Request<v1::ListTaskRelationsRequest>,
    ) -> Result<Response<v1::ListTaskRelationsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let ListRelations { task, page } = request.into_inner().try_into()?;
        self.shared.authorizer.task(&caller, task, Permission::Read).await?;
        let listed = self.shared.relations.list(task.task, page.after_id(), page.fetch()).await;
        let mut rows = listed.map_err(ServiceError::from)?;
        let next_page_token = page.finish(&mut rows, |last| (None, last.row.id.clone()));
        let task_relations = rows.into_iter().map(relation_to_proto).collect();
        Ok(Response::new(v1::ListTaskRelationsResponse { task_relations, next_page_token }))
    }

    async fn delete_task_relation(
        &self,
        request: Request<v1::DeleteTaskRelationRequest>,
    ) -> Result<Response<v1::DeleteTaskRelationResponse>, Status> {
        let caller = Caller::of(&request)?;
        let name = RelationName::parse("name", &request.get_ref().name)?;
        self.shared.authorizer.task(&caller, name.task, Permission::Write).await?;
        let actor = (caller.user, v1::TaskEventType::Updated as i16);
        self.shared.relations.delete(name, actor, snapshot).await.map_err(ServiceError::from)?;
        self.shared.feed.notify(name.task.project);
        Ok(Response::new(v1::DeleteTaskRelationResponse {}))
    }
}
