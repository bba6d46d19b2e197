//! `WorkflowStateService` requests parsed into commands: every field is
//! checked and one INVALID_ARGUMENT names every violation.

use tasktracker_proto::v1;

use crate::{
    domain::{
        Color, Invalid, ProjectId, StateCategory, StateDisplayName, StateId, StateName, Violations, parse_wip_limit,
    },
    storage::states::{NewState, StateChange},
};

/// Every updatable field, for `update_mask` `*`.
const UPDATABLE: &[&str] = &["display_name", "color", "wip_limit", "archived"];

/// `ListWorkflowStates`.
pub struct ListStates {
    pub project: ProjectId,
    pub show_archived: bool,
}

impl TryFrom<v1::ListWorkflowStatesRequest> for ListStates {
    type Error = Invalid;

    fn try_from(request: v1::ListWorkflowStatesRequest) -> Result<Self, Invalid> {
        Ok(Self { project: ProjectId::parse_name("parent", &request.parent)?, show_archived: request.show_archived })
    }
}

/// `CreateWorkflowState`.
pub struct CreateState {
    pub project: ProjectId,
    pub state: NewState,
}

impl TryFrom<v1::CreateWorkflowStateRequest> for CreateState {
    type Error = Invalid;

    fn try_from(request: v1::CreateWorkflowStateRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let project = violations.check(ProjectId::parse_name("parent", &request.parent));
        let state = violations.required("state", &request.state);
        let display_name = state
            .and_then(|state| violations.check(StateDisplayName::parse("state.display_name", &state.display_name)));
        let color = state.and_then(|state| violations.check(Color::parse("state.color", &state.color)));
        let category =
            state.and_then(|state| violations.check(StateCategory::from_proto("state.category", state.category)));
        let wip_limit = state.and_then(|state| violations.check(parse_wip_limit("state.wip_limit", state.wip_limit)));
        violations.complete(|| {
            Some(Self {
                project: project?,
                state: NewState {
                    display_name: display_name?,
                    color: color?,
                    category: category?,
                    wip_limit: wip_limit?,
                },
            })
        })
    }
}

/// `UpdateWorkflowState`: the fields the mask names.
pub struct UpdateState {
    pub name: StateName,
    pub etag: String,
    pub change: StateChange,
}

impl TryFrom<v1::UpdateWorkflowStateRequest> for UpdateState {
    type Error = Invalid;

    fn try_from(request: v1::UpdateWorkflowStateRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let state = violations.required("state", &request.state);
        let name = state.and_then(|state| violations.check(StateName::parse("state.name", &state.name)));
        let paths = request.update_mask.map(|mask| mask.paths).unwrap_or_default();
        let paths: Vec<&str> = if paths.iter().any(|path| path == "*") {
            UPDATABLE.to_vec()
        } else {
            paths.iter().map(String::as_str).collect()
        };
        if paths.is_empty() {
            violations.add("update_mask", format!("name at least one field: {}", UPDATABLE.join(", ")));
        }
        let mut change = StateChange::default();
        if let Some(state) = state {
            for path in paths {
                match path {
                    "display_name" => {
                        change.display_name =
                            violations.check(StateDisplayName::parse("state.display_name", &state.display_name))
                    }
                    "color" => change.color = violations.check(Color::parse("state.color", &state.color)),
                    "wip_limit" => {
                        change.wip_limit = violations.check(parse_wip_limit("state.wip_limit", state.wip_limit))
                    }
                    "archived" => change.archived = Some(state.archived),
                    other => violations
                        .add("update_mask", format!("`{other}` cannot be updated; use {}", UPDATABLE.join(", "))),
                }
            }
        }
        violations.complete(|| Some(Self { name: name?, etag: state?.etag.clone(), change }))
    }
}

/// `MoveWorkflowState`.
pub struct MoveState {
    pub name: StateName,
    /// The state to place it after; `None` places it first.
    pub after: Option<StateId>,
    pub etag: String,
}

impl TryFrom<v1::MoveWorkflowStateRequest> for MoveState {
    type Error = Invalid;

    fn try_from(request: v1::MoveWorkflowStateRequest) -> Result<Self, Invalid> {
        let v1::MoveWorkflowStateRequest { name, after_state, etag } = request;
        let mut violations = Violations::default();
        let name = violations.check(StateName::parse("name", &name));
        let after = match (name, after_state.is_empty()) {
            (_, true) => Some(None),
            (Some(name), false) => {
                violations.check(StateName::parse_in("after_state", &after_state, name.project)).map(Some)
            }
            (None, false) => violations.check(StateName::parse("after_state", &after_state)).map(Some),
        };
        if let (Some(name), Some(Some(after))) = (name, after)
            && name == after
        {
            violations.add("after_state", "must be another state than the one moving");
        }
        violations.complete(|| Some(Self { name: name?, after: after?.map(|after| after.state), etag }))
    }
}

/// `DeleteWorkflowState`.
pub struct DeleteState {
    pub name: StateName,
    /// Receives the deleted state's tasks.
    pub move_tasks_to: StateId,
    pub etag: String,
}

impl TryFrom<v1::DeleteWorkflowStateRequest> for DeleteState {
    type Error = Invalid;

    fn try_from(request: v1::DeleteWorkflowStateRequest) -> Result<Self, Invalid> {
        let v1::DeleteWorkflowStateRequest { name, move_tasks_to, etag } = request;
        let mut violations = Violations::default();
        let name = violations.check(StateName::parse("name", &name));
        let target = if move_tasks_to.is_empty() {
            violations.add("move_tasks_to", "is required: the state that receives the deleted state's tasks");
            None
        } else {
            match name {
                Some(name) => violations.check(StateName::parse_in("move_tasks_to", &move_tasks_to, name.project)),
                None => violations.check(StateName::parse("move_tasks_to", &move_tasks_to)),
            }
        };
        if let (Some(name), Some(target)) = (name, target)
            && name == target
        {
            violations.add("move_tasks_to", "must not be the state being deleted");
        }
        violations.complete(|| Some(Self { name: name?, move_tasks_to: target?.state, etag }))
    }
}
