//! Workflow states: a project's board columns, in order.
//!
//! A task's state is its `tasks.state_id`. Rows of the previous release
//! (which knows only `tasks.status`, and creates projects without states)
//! get theirs from the database: the triggers of the migration
//! `m20261208_000001_state_sync` set `state_id` to the project's first
//! non-archived state for the status ([`first_choice`], the same choice in
//! SQL) whenever a row is inserted, or updated with a status its state does
//! not have, and give every new project its default states. Every write of
//! this release stores a state and keeps `status` in step, for the previous
//! release.
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
    sea_query::{Expr, OnConflict},
};
use tasktracker_migrations::{DEFAULT_STATES, STATE_POSITION_GAP, default_state_id};

use super::{
    entities::{projects, tasks as tasks_entity, workflow_states},
    tasks::{self, History, TaskRecord, TaskStoreError},
};
use crate::domain::{Color, ProjectId, StateCategory, StateDisplayName, StateId, StateName, TaskStatus, UserId, time};

/// Most states per project.
pub const MAX_STATES: usize = 50;

/// The project's first non-archived state for the status of the `tasks`
/// row in scope: [`first_choice`] in SQL. The categories ranked second are
/// [`StateCategory::second_choice`]'s (BACKLOG = 1, CANCELED = 5).
const FIRST_CHOICE: &str = r#"(SELECT "ws"."id" FROM "workflow_states" AS "ws"
      WHERE "ws"."project_id" = "tasks"."project_id" AND "ws"."status" = "tasks"."status"
        AND "ws"."archive_time" IS NULL
      ORDER BY CASE WHEN "ws"."category" IN (1, 5) THEN 1 ELSE 0 END, "ws"."position", "ws"."id"
      LIMIT 1)"#;

/// Why a state operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StateStoreError {
    #[error("workflow state not found")]
    NotFound,
    #[error("the workflow state changed meanwhile")]
    Stale,
    #[error("a project has at most {MAX_STATES} states")]
    TooMany,
    /// The change would leave the project without a non-archived state.
    #[error("a project keeps at least one state that is not archived")]
    LastActive,
    /// Archiving a state that still holds live tasks.
    #[error("the state holds {0} tasks")]
    HasTasks(u64),
    /// `after_state` names no other state of the project.
    #[error("no such neighbour")]
    NoSuchNeighbour,
    /// `move_tasks_to` cannot receive the tasks; says why.
    #[error("{0}")]
    BadTarget(&'static str),
    #[error(transparent)]
    Tasks(#[from] TaskStoreError),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// A state to add.
#[derive(Debug, Clone)]
pub struct NewState {
    pub display_name: StateDisplayName,
    pub color: Color,
    pub category: StateCategory,
    pub wip_limit: Option<i32>,
}

/// The fields an update changes; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct StateChange {
    pub display_name: Option<StateDisplayName>,
    pub color: Option<Color>,
    /// `Some(None)` clears the limit.
    pub wip_limit: Option<Option<i32>>,
    pub archived: Option<bool>,
}

/// A project's states in board order, whether it enforces WIP limits, and
/// whether open blockers stop a task from completing.
#[derive(Debug, Clone)]
pub struct Board {
    pub states: Vec<workflow_states::Model>,
    pub enforce_wip_limits: bool,
    pub require_blockers_done: bool,
}

impl Board {
    pub fn find(&self, state: StateId) -> Option<&workflow_states::Model> {
        let id = state.to_string();
        self.states.iter().find(|row| row.id == id)
    }

    /// The column of `state` as a write needs it.
    pub fn column(&self, state: &workflow_states::Model) -> Column {
        Column { state: state.clone(), enforced_limit: self.enforce_wip_limits.then_some(state.wip_limit).flatten() }
    }
}

/// A state that a write puts a task in.
#[derive(Debug, Clone)]
pub struct Column {
    pub state: workflow_states::Model,
    /// The WIP limit to enforce, if the project enforces them.
    pub enforced_limit: Option<i32>,
}

impl Column {
    pub fn status(&self) -> TaskStatus {
        TaskStatus::from_stored(self.state.status)
    }

    pub fn completes(&self) -> bool {
        StateCategory::from_stored(self.state.category) == StateCategory::Completed
    }
}

/// The state a task with `status` goes to when no state is named: the first
/// non-archived one for the status, its second-choice categories last.
pub fn first_choice(states: &[workflow_states::Model], status: TaskStatus) -> Option<&workflow_states::Model> {
    states
        .iter()
        .filter(|state| state.archive_time.is_none() && state.status == status.stored())
        .min_by_key(|state| (StateCategory::from_stored(state.category).second_choice(), state.position, &state.id))
}

/// A project's states in board order. Every project has some: this release
/// creates them with the project, the migrations gave them to older
/// projects, and a trigger to projects the previous release creates.
pub async fn load(db: &impl ConnectionTrait, project: ProjectId) -> Result<Vec<workflow_states::Model>, DbErr> {
    workflow_states::Entity::find()
        .filter(workflow_states::Column::ProjectId.eq(project.to_string()))
        .order_by_asc(workflow_states::Column::Position)
        .order_by_asc(workflow_states::Column::Id)
        .all(db)
        .await
}

/// Gives `state`'s project's tasks of its status that have no state (the
/// previous release wrote them while the project had no non-archived state
/// for the status) the first state of the status: after `state` was added
/// or unarchived. On the `(project_id, state_id, position, id)` index.
async fn adopt_stateless(db: &impl ConnectionTrait, state: &workflow_states::Model) -> Result<(), DbErr> {
    tasks_entity::Entity::update_many()
        .col_expr(tasks_entity::Column::StateId, Expr::cust(FIRST_CHOICE))
        .filter(tasks_entity::Column::ProjectId.eq(state.project_id.as_str()))
        .filter(tasks_entity::Column::StateId.is_null())
        .filter(tasks_entity::Column::Status.eq(state.status))
        .exec(db)
        .await?;
    Ok(())
}

/// Adds To do / In progress / Done to `project` unless they exist (a
/// trigger of the previous release's era adds the same rows, under the same
/// ids, when the project is inserted; see the module documentation).
pub async fn insert_defaults(db: &impl ConnectionTrait, project: ProjectId, now: i64) -> Result<(), DbErr> {
    let project_id = project.to_string();
    let rows = DEFAULT_STATES.into_iter().enumerate().map(|(index, (name, color, category, status))| {
        workflow_states::ActiveModel::from(workflow_states::Model {
            id: default_state_id(&project_id, index),
            project_id: project_id.clone(),
            display_name: name.into(),
            color: color.into(),
            category,
            status,
            position: index as i64 * STATE_POSITION_GAP,
            wip_limit: None,
            create_time: now,
            update_time: now,
            archive_time: None,
            version: 1,
        })
    });
    workflow_states::Entity::insert_many(rows)
        .on_conflict(OnConflict::column(workflow_states::Column::Id).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Fails with [`StateStoreError::Stale`] unless `etag` is empty or current.
fn check_etag(etag: &str, state: &workflow_states::Model) -> Result<(), StateStoreError> {
    if etag.is_empty() || etag == state.version.to_string() { Ok(()) } else { Err(StateStoreError::Stale) }
}

fn find_in(states: &[workflow_states::Model], name: StateName) -> Result<&workflow_states::Model, StateStoreError> {
    let id = name.state.to_string();
    states.iter().find(|state| state.id == id).ok_or(StateStoreError::NotFound)
}

/// The workflow states repository. Every change runs in a transaction that
/// first takes the project's placement lock, the lock task moves take
/// first too, so a change of columns and a move never interleave.
#[derive(Clone)]
pub struct StateStore {
    db: DatabaseConnection,
}

impl StateStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// `project`'s states in board order, and its WIP setting.
    pub async fn board(&self, project: &projects::Model) -> Result<Board, StateStoreError> {
        let states = load(&self.db, ProjectId::from_stored(&project.id)).await?;
        Ok(Board {
            states,
            enforce_wip_limits: project.enforce_wip_limits,
            require_blockers_done: project.require_blockers_done,
        })
    }

    /// Adds a state at the end of the board.
    #[tracing::instrument(name = "db.states.create", skip_all, fields(otel.kind = "client"))]
    pub async fn create(&self, project: ProjectId, new: NewState) -> Result<workflow_states::Model, StateStoreError> {
        let txn = self.db.begin().await?;
        tasks::lock_placement(&txn, project).await?;
        let states = load(&txn, project).await?;
        if states.len() >= MAX_STATES {
            return Err(StateStoreError::TooMany);
        }
        let now = time::now();
        let state = workflow_states::Model {
            id: StateId::generate().to_string(),
            project_id: project.to_string(),
            display_name: new.display_name.into_inner(),
            color: new.color.into_inner(),
            category: new.category.stored(),
            status: new.category.status().stored(),
            position: states.last().map_or(0, |last| last.position + STATE_POSITION_GAP),
            wip_limit: new.wip_limit,
            create_time: now,
            update_time: now,
            archive_time: None,
            version: 1,
        };
        workflow_states::ActiveModel::from(state.clone()).insert(&txn).await?;
        adopt_stateless(&txn, &state).await?;
        txn.commit().await?;
        Ok(state)
    }

    /// Applies `change` to the state `name`, guarded by `etag`.
    #[tracing::instrument(name = "db.states.update", skip_all, fields(otel.kind = "client"))]
    pub async fn update(
        &self,
        name: StateName,
        etag: &str,
        change: StateChange,
    ) -> Result<workflow_states::Model, StateStoreError> {
        let txn = self.db.begin().await?;
        tasks::lock_placement(&txn, name.project).await?;
        let states = load(&txn, name.project).await?;
        let current = find_in(&states, name)?;
        check_etag(etag, current)?;
        let mut state = current.clone();
        if let Some(archived) = change.archived {
            if archived && state.archive_time.is_none() {
                if states.iter().filter(|other| other.archive_time.is_none()).count() <= 1 {
                    return Err(StateStoreError::LastActive);
                }
                let board = Board { states: states.clone(), enforce_wip_limits: false, require_blockers_done: false };
                let live = tasks::count_in_column(&txn, name.project, &board.column(current), None).await?;
                if live > 0 {
                    return Err(StateStoreError::HasTasks(live));
                }
            }
            state.archive_time = if archived { state.archive_time.or(Some(time::now())) } else { None };
        }
        state.display_name = change.display_name.map_or(state.display_name, StateDisplayName::into_inner);
        state.color = change.color.map_or(state.color, Color::into_inner);
        state.wip_limit = change.wip_limit.unwrap_or(state.wip_limit);
        state.update_time = time::now();
        state.version += 1;
        let unarchived = current.archive_time.is_some() && state.archive_time.is_none();
        workflow_states::ActiveModel::from(state.clone()).reset_all().update(&txn).await?;
        if unarchived {
            adopt_stateless(&txn, &state).await?;
        }
        txn.commit().await?;
        Ok(state)
    }

    /// Places the state `name` right after `after` (or first), renumbering
    /// the project's states.
    #[tracing::instrument(name = "db.states.move", skip_all, fields(otel.kind = "client"))]
    pub async fn move_after(
        &self,
        name: StateName,
        after: Option<StateId>,
        etag: &str,
    ) -> Result<workflow_states::Model, StateStoreError> {
        let txn = self.db.begin().await?;
        tasks::lock_placement(&txn, name.project).await?;
        let mut states = load(&txn, name.project).await?;
        check_etag(etag, find_in(&states, name)?)?;
        let index =
            states.iter().position(|state| state.id == name.state.to_string()).ok_or(StateStoreError::NotFound)?;
        let mut moving = states.remove(index);
        let slot = match after {
            None => 0,
            Some(after) => {
                let after = after.to_string();
                states.iter().position(|state| state.id == after).ok_or(StateStoreError::NoSuchNeighbour)? + 1
            }
        };
        let now = time::now();
        moving.update_time = now;
        moving.version += 1;
        states.insert(slot, moving);
        for (rank, state) in states.iter_mut().enumerate() {
            let position = rank as i64 * STATE_POSITION_GAP;
            if state.position != position || state.id == name.state.to_string() {
                state.position = position;
                workflow_states::ActiveModel::from(state.clone()).reset_all().update(&txn).await?;
            }
        }
        txn.commit().await?;
        Ok(states.swap_remove(slot))
    }

    /// Deletes the state `name`, moving its tasks to the bottom of `target`
    /// (each recorded as `describe` says, under `kind`, by `actor`).
    /// Returns how many tasks moved.
    #[tracing::instrument(name = "db.states.delete", skip_all, fields(otel.kind = "client"))]
    pub async fn delete(
        &self,
        (name, etag): (StateName, &str),
        target: StateId,
        (actor, kind): (UserId, i16),
        describe: impl Fn(&TaskRecord, &TaskRecord) -> History,
    ) -> Result<u64, StateStoreError> {
        let txn = self.db.begin().await?;
        tasks::lock_placement(&txn, name.project).await?;
        let states = load(&txn, name.project).await?;
        let victim = find_in(&states, name)?;
        check_etag(etag, victim)?;
        if victim.archive_time.is_none() && states.iter().filter(|state| state.archive_time.is_none()).count() <= 1 {
            return Err(StateStoreError::LastActive);
        }
        let board = Board { states: states.clone(), enforce_wip_limits: false, require_blockers_done: false };
        let to = board.find(target).ok_or(StateStoreError::BadTarget("must name a state of the same project"))?;
        if to.id == victim.id {
            return Err(StateStoreError::BadTarget("must not be the state being deleted"));
        }
        if to.archive_time.is_some() {
            return Err(StateStoreError::BadTarget("must not be an archived state"));
        }
        let (from, to) = (board.column(victim), board.column(to));
        let moved = tasks::move_column(&txn, name.project, (&from, &to), (actor, kind), describe).await?;
        workflow_states::Entity::delete_by_id(victim.id.clone()).exec(&txn).await?;
        txn.commit().await?;
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(id: &str, category: StateCategory, position: i64, archived: bool) -> workflow_states::Model {
        workflow_states::Model {
            id: id.into(),
            project_id: String::new(),
            display_name: id.into(),
            color: "#000000".into(),
            category: category.stored(),
            status: category.status().stored(),
            position,
            wip_limit: None,
            create_time: 0,
            update_time: 0,
            archive_time: archived.then_some(1),
            version: 1,
        }
    }

    #[test]
    fn a_status_goes_to_its_first_live_state_second_choices_last() {
        let states = [
            state("backlog", StateCategory::Backlog, 0, false),
            state("old-todo", StateCategory::Unstarted, 1, true),
            state("todo", StateCategory::Unstarted, 2, false),
            state("canceled", StateCategory::Canceled, 3, false),
            state("done", StateCategory::Completed, 4, false),
        ];
        assert_eq!(first_choice(&states, TaskStatus::Todo).unwrap().id, "todo");
        assert_eq!(first_choice(&states, TaskStatus::Done).unwrap().id, "done");
        assert!(first_choice(&states, TaskStatus::InProgress).is_none());
        assert_eq!(first_choice(&states[..1], TaskStatus::Todo).unwrap().id, "backlog");
    }
}
