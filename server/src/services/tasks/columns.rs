//! Which workflow state (board column) a task write puts the task in, from
//! what the request asked for and the project's [`Board`].

use super::requests::Target;
use crate::{
    error::{ServiceError, ServiceResult},
    storage::{
        states::{Board, Column, first_choice},
        tasks::TaskRecord,
    },
};

/// The column `target` names; `field` is the request field that named it
/// (`state`, or `status` with the same prefix). An archived state, or a
/// status the project has no state for, is a failed precondition.
pub fn resolve(board: &Board, target: &Target, field_prefix: &str) -> ServiceResult<Column> {
    let state = match target {
        Target::State(name) => board
            .find(name.state)
            .ok_or_else(|| ServiceError::invalid(format!("{field_prefix}state"), "names no state of the project"))?,
        Target::Status(status) => first_choice(&board.states, *status).ok_or_else(|| {
            ServiceError::FailedPrecondition(format!(
                "the project has no state for status {} that is not archived; name a `state`",
                status.to_proto().as_str_name()
            ))
        })?,
    };
    if state.archive_time.is_some() {
        return Err(ServiceError::FailedPrecondition(format!(
            "the state \"{}\" is archived and cannot receive tasks",
            state.display_name
        )));
    }
    Ok(board.column(state))
}

/// The column the task is in.
pub fn current(board: &Board, record: &TaskRecord) -> ServiceResult<Column> {
    let own = record.state.as_deref().and_then(|id| board.states.iter().find(|state| state.id == id));
    let fallback = || first_choice(&board.states, crate::domain::TaskStatus::from_stored(record.task.status));
    own.or_else(fallback)
        .map(|state| board.column(state))
        .ok_or_else(|| ServiceError::FailedPrecondition("the project has no state for the task's status".into()))
}

/// The column a write moves the task to, if it moves: naming the task's own
/// state, or (older clients) its own status, keeps it where it is.
pub fn destination(
    board: &Board,
    record: &TaskRecord,
    target: Option<&Target>,
    field_prefix: &str,
) -> ServiceResult<Option<Column>> {
    let stays = match target {
        None => true,
        Some(Target::Status(status)) => status.stored() == record.task.status && record.state.is_some(),
        Some(Target::State(name)) => record.state.as_deref() == Some(name.state.to_string().as_str()),
    };
    match target {
        Some(target) if !stays => resolve(board, target, field_prefix).map(Some),
        _ => Ok(None),
    }
}
