//! `tasktracker.v1.WorkflowStateService`: a project's board columns. Each
//! handler parses its request into a command ([`commands`]), asks the
//! [`Authorizer`](crate::auth::Authorizer) once (reading takes a member,
//! changing takes an owner, as for other project settings), calls the
//! [`StateStore`](crate::storage::states::StateStore) and converts back.

mod commands;

use tasktracker_proto::v1::{self, workflow_state_service_server::WorkflowStateService};
use tonic::{Request, Response, Status};

use self::commands::{CreateState, DeleteState, ListStates, MoveState, UpdateState};
use super::{SharedState, tasks::convert::history};
use crate::{
    auth::{Caller, Permission},
    domain::{ProjectId, StateCategory, StateId, StateName, time::to_optional_timestamp, time::to_timestamp},
    error::ServiceError,
    storage::{
        entities::workflow_states,
        states::{MAX_STATES, StateStoreError},
    },
};

/// The request field that would leave a project without a state that is not
/// archived, for [`state_error`].
const ARCHIVED_FIELD: &str = "state.archived";

impl From<StateStoreError> for ServiceError {
    fn from(error: StateStoreError) -> Self {
        state_error(error, "name")
    }
}

/// The status for a failed state operation; `last_field` names the request
/// field to blame if the project would be left without a live state.
fn state_error(error: StateStoreError, last_field: &str) -> ServiceError {
    match error {
        StateStoreError::NotFound => ServiceError::NotFound("workflow state"),
        StateStoreError::Stale => ServiceError::stale_etag("workflow state"),
        StateStoreError::TooMany => {
            ServiceError::FailedPrecondition(format!("a project has at most {MAX_STATES} workflow states"))
        }
        StateStoreError::LastActive => {
            ServiceError::invalid(last_field, "a project keeps at least one workflow state that is not archived")
        }
        StateStoreError::HasTasks(count) => ServiceError::FailedPrecondition(format!(
            "the state holds {count} tasks; move them first, or delete the state with `move_tasks_to`"
        )),
        StateStoreError::NoSuchNeighbour => ServiceError::invalid("after_state", "names no state of the project"),
        StateStoreError::BadTarget(why) => ServiceError::invalid("move_tasks_to", why),
        StateStoreError::Tasks(error) => error.into(),
        StateStoreError::Database(error) => error.into(),
    }
}

pub struct States {
    shared: SharedState,
}

impl States {
    pub fn new(shared: SharedState) -> Self {
        Self { shared }
    }
}

/// The one conversion from stored state to API message.
fn state_to_proto(state: workflow_states::Model) -> v1::WorkflowState {
    let name = StateName { project: ProjectId::from_stored(&state.project_id), state: StateId::from_stored(&state.id) };
    v1::WorkflowState {
        name: name.to_string(),
        display_name: state.display_name,
        color: state.color,
        category: StateCategory::from_stored(state.category).to_proto() as i32,
        position: state.position,
        wip_limit: state.wip_limit,
        archived: state.archive_time.is_some(),
        archive_time: to_optional_timestamp(state.archive_time),
        create_time: Some(to_timestamp(state.create_time)),
        update_time: Some(to_timestamp(state.update_time)),
        etag: state.version.to_string(),
    }
}

#[tonic::async_trait]
impl WorkflowStateService for States {
    async fn list_workflow_states(
        &self,
        request: Request<v1::ListWorkflowStatesRequest>,
    ) -> Result<Response<v1::ListWorkflowStatesResponse>, Status> {
        let caller = Caller::of(&request)?;
        let ListStates { project, show_archived } = request.into_inner().try_into()?;
        let grant = self.shared.authorizer.require(&caller, project, Permission::Read).await?;
        let board = self.shared.states.board(&grant.project).await.map_err(ServiceError::from)?;
        let states = board
            .states
            .into_iter()
            .filter(|state| show_archived || state.archive_time.is_none())
            .map(state_to_proto)
            .collect();
        Ok(Response::new(v1::ListWorkflowStatesResponse { states }))
    }

    async fn create_workflow_state(
        &self,
        request: Request<v1::CreateWorkflowStateRequest>,
    ) -> Result<Response<v1::WorkflowState>, Status> {
        let caller = Caller::of(&request)?;
        let CreateState { project, state } = request.into_inner().try_into()?;
        self.shared.authorizer.change_settings(&caller, project).await?;
        let created = self.shared.states.create(project, state).await.map_err(ServiceError::from)?;
        Ok(Response::new(state_to_proto(created)))
    }

    async fn update_workflow_state(
        &self,
        request: Request<v1::UpdateWorkflowStateRequest>,
    ) -> Result<Response<v1::WorkflowState>, Status> {
        let caller = Caller::of(&request)?;
        let UpdateState { name, etag, change } = request.into_inner().try_into()?;
        self.shared.authorizer.change_settings(&caller, name.project).await?;
        let updated = self.shared.states.update(name, &etag, change).await;
        Ok(Response::new(state_to_proto(updated.map_err(|error| state_error(error, ARCHIVED_FIELD))?)))
    }

    async fn move_workflow_state(
        &self,
        request: Request<v1::MoveWorkflowStateRequest>,
    ) -> Result<Response<v1::WorkflowState>, Status> {
        let caller = Caller::of(&request)?;
        let MoveState { name, after, etag } = request.into_inner().try_into()?;
        self.shared.authorizer.change_settings(&caller, name.project).await?;
        let moved = self.shared.states.move_after(name, after, &etag).await.map_err(ServiceError::from)?;
        Ok(Response::new(state_to_proto(moved)))
    }

    async fn delete_workflow_state(
        &self,
        request: Request<v1::DeleteWorkflowStateRequest>,
    ) -> Result<Response<v1::DeleteWorkflowStateResponse>, Status> {
        let caller = Caller::of(&request)?;
        let DeleteState { name, move_tasks_to, etag } = request.into_inner().try_into()?;
        self.shared.authorizer.change_settings(&caller, name.project).await?;
        let actor = (caller.user, v1::TaskEventType::Updated as i16);
        let deleted = self
            .shared
            .states
            .delete((name, &etag), move_tasks_to, actor, |before, after| history(Some(before), after));
        let moved = deleted.await.map_err(ServiceError::from)?;
        if moved > 0 {
            self.shared.feed.notify(name.project);
        }
        Ok(Response::new(v1::DeleteWorkflowStateResponse { moved_tasks: i32::try_from(moved).unwrap_or(i32::MAX) }))
    }
}
