//! The board: one column per workflow state of the project, tasks in
//! `position` order, changed by local moves (optimistic) and by live events
//! from `WatchTasks`.

use tasktracker_proto::v1::{StateCategory, Task, TaskEventType, TaskStatus, WorkflowState};

/// Every status, in board order (the list view's status filter).
pub const STATUSES: [TaskStatus; 3] = [TaskStatus::Todo, TaskStatus::InProgress, TaskStatus::Done];

/// The status a state's category means (`Task.status` follows it).
pub fn status_of_category(category: i32) -> i32 {
    let status = match StateCategory::try_from(category).unwrap_or_default() {
        StateCategory::Started => TaskStatus::InProgress,
        StateCategory::Completed | StateCategory::Canceled => TaskStatus::Done,
        StateCategory::Unspecified | StateCategory::Backlog | StateCategory::Unstarted => TaskStatus::Todo,
    };
    status as i32
}

/// One column: a workflow state and its loaded tasks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Column {
    /// `projects/{project}/states/{state}`.
    pub state: String,
    pub title: String,
    /// `#rrggbb`.
    pub color: String,
    pub category: i32,
    /// Most live tasks the state should hold, if it has a limit.
    pub wip_limit: Option<i32>,
    /// Loaded tasks, ascending `position`.
    pub tasks: Vec<Task>,
    /// Token of the next page; empty when the column is fully loaded.
    pub next_page_token: String,
}

impl Column {
    /// An empty column for `state`.
    pub fn of(state: &WorkflowState) -> Self {
        Self {
            state: state.name.clone(),
            title: state.display_name.clone(),
            color: state.color.clone(),
            category: state.category,
            wip_limit: state.wip_limit,
            ..Default::default()
        }
    }

    /// The status of the column's tasks.
    pub fn status(&self) -> i32 {
        status_of_category(self.category)
    }

    /// Whether the loaded tasks reach the WIP limit.
    pub fn at_limit(&self) -> bool {
        self.wip_limit.is_some_and(|limit| self.tasks.len() >= usize::try_from(limit).unwrap_or(0))
    }
}

/// The status a task is shown under (unspecified counts as To do).
pub fn column_status(task: &Task) -> i32 {
    if task.status == TaskStatus::Unspecified as i32 { TaskStatus::Todo as i32 } else { task.status }
}

/// The column a task belongs in: its state's, or (a task without one) the
/// first column of its status.
pub fn column_of(columns: &[Column], task: &Task) -> Option<usize> {
    columns.iter().position(|c| c.state == task.state).or_else(|| {
        let status = column_status(task);
        (task.state.is_empty()).then(|| columns.iter().position(|c| c.status() == status)).flatten()
    })
}

/// Where a task sits: (column index, index in the column).
pub fn locate(columns: &[Column], name: &str) -> Option<(usize, usize)> {
    columns.iter().enumerate().find_map(|(c, column)| column.tasks.iter().position(|t| t.name == name).map(|i| (c, i)))
}

/// Removes a task from wherever it is; returns it.
pub fn remove(columns: &mut [Column], name: &str) -> Option<Task> {
    let (c, i) = locate(columns, name)?;
    Some(columns[c].tasks.remove(i))
}

/// Puts a task into its column by `position`. A task that sorts after the
/// last loaded one of a partly loaded column is left to a later page.
pub fn insert_by_position(columns: &mut [Column], task: Task) {
    let Some(index) = column_of(columns, &task) else { return };
    let column = &mut columns[index];
    let index = column.tasks.partition_point(|t| (t.position, &t.name) < (task.position, &task.name));
    if index == column.tasks.len() && !column.next_page_token.is_empty() {
        return;
    }
    column.tasks.insert(index, task);
}

/// Applies a live event (or the result of one of our own calls).
pub fn apply_event(columns: &mut [Column], kind: TaskEventType, task: Task) {
    remove(columns, &task.name);
    let gone = kind == TaskEventType::Deleted || task.delete_time.is_some();
    if !gone {
        insert_by_position(columns, task);
    }
}

/// A move the user asked for: where the task goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovePlan {
    pub task: String,
    /// The target column's state.
    pub state: String,
    /// The task it will follow in the target column; empty = top.
    pub after_task: String,
    /// Its index in the target column after the move.
    pub index: usize,
}

/// A plan to put `name` at `index` among the other tasks of `to_column`.
fn plan_at(columns: &[Column], name: &str, to_column: usize, index: usize) -> MovePlan {
    let others: Vec<&Task> = columns[to_column].tasks.iter().filter(|t| t.name != name).collect();
    let index = index.min(others.len());
    let after_task = if index == 0 { String::new() } else { others[index - 1].name.clone() };
    MovePlan { task: name.to_owned(), state: columns[to_column].state.clone(), after_task, index }
}

/// Plans dropping `name` into column `to_column` right before `before`
/// (`None`: at the bottom).
pub fn plan_drop(columns: &[Column], name: &str, to_column: usize, before: Option<&str>) -> Option<MovePlan> {
    let column = columns.get(to_column)?;
    locate(columns, name)?;
    let mut others = column.tasks.iter().filter(|t| t.name != name);
    let index = match before {
        Some(before) if before != name => others.position(|t| t.name == before).unwrap_or(usize::MAX),
        Some(_) => column.tasks.iter().position(|t| t.name == name).unwrap_or(usize::MAX),
        None => usize::MAX,
    };
    Some(plan_at(columns, name, to_column, index))
}

/// A keyboard move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
    Left,
    Right,
}

/// Plans a keyboard move: up/down within the column, left/right to the
/// neighbouring column at the same height. `None` at an edge.
pub fn plan_step(columns: &[Column], name: &str, direction: Direction) -> Option<MovePlan> {
    let (c, i) = locate(columns, name)?;
    let (to_column, index) = match direction {
        Direction::Up => (c, i.checked_sub(1)?),
        Direction::Down => (c, (i + 1 < columns[c].tasks.len()).then_some(i + 1)?),
        Direction::Left => (c.checked_sub(1)?, i),
        Direction::Right => ((c + 1 < columns.len()).then_some(c + 1)?, i),
    };
    Some(plan_at(columns, name, to_column, index))
}

/// Applies a plan locally, before the server confirms it.
pub fn apply_plan(columns: &mut [Column], plan: &MovePlan) {
    let Some(mut task) = remove(columns, &plan.task) else { return };
    if let Some(column) = columns.iter_mut().find(|c| c.state == plan.state) {
        task.state = plan.state.clone();
        task.status = column.status();
        let index = plan.index.min(column.tasks.len());
        column.tasks.insert(index, task);
    }
}

/// Applies a live event to a flat, server-filtered list: changes and deletes
/// apply in place; `true` means the list should be fetched again (a new or
/// restored task may now match).
pub fn apply_to_list(tasks: &mut Vec<Task>, kind: TaskEventType, task: Task) -> bool {
    let existing = tasks.iter().position(|t| t.name == task.name);
    match (kind, existing) {
        (TaskEventType::Deleted, Some(i)) => {
            tasks.remove(i);
            false
        }
        (TaskEventType::Deleted, None) => false,
        (_, Some(i)) => {
            tasks[i] = task;
            false
        }
        (_, None) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODO: &str = "projects/1/states/todo";
    const DOING: &str = "projects/1/states/doing";
    const REVIEW: &str = "projects/1/states/review";
    const DONE: &str = "projects/1/states/done";

    fn task(id: u32, state: &str, position: i64) -> Task {
        let status = match state {
            DOING | REVIEW => TaskStatus::InProgress,
            DONE => TaskStatus::Done,
            _ => TaskStatus::Todo,
        };
        Task {
            name: format!("projects/1/tasks/{id}"),
            state: state.into(),
            status: status as i32,
            position,
            ..Default::default()
        }
    }

    fn column(state: &str, title: &str, category: StateCategory, tasks: Vec<Task>) -> Column {
        Column { state: state.into(), title: title.into(), category: category as i32, tasks, ..Default::default() }
    }

    /// To do (1, 2, 3), In progress (4), Review (a second STARTED state), Done.
    fn board() -> Vec<Column> {
        vec![
            column(
                TODO,
                "To do",
                StateCategory::Unstarted,
                vec![task(1, TODO, 10), task(2, TODO, 20), task(3, TODO, 30)],
            ),
            column(DOING, "In progress", StateCategory::Started, vec![task(4, DOING, 10)]),
            column(REVIEW, "Review", StateCategory::Started, vec![]),
            column(DONE, "Done", StateCategory::Completed, vec![]),
        ]
    }

    fn ids(column: &Column) -> Vec<&str> {
        column.tasks.iter().map(|t| super::super::names::id(&t.name)).collect()
    }

    #[test]
    fn categories_map_to_statuses() {
        let statuses: Vec<i32> = board().iter().map(Column::status).collect();
        let expected = [TaskStatus::Todo, TaskStatus::InProgress, TaskStatus::InProgress, TaskStatus::Done];
        assert_eq!(statuses, expected.map(|s| s as i32));
        assert_eq!(status_of_category(StateCategory::Backlog as i32), TaskStatus::Todo as i32);
        assert_eq!(status_of_category(StateCategory::Canceled as i32), TaskStatus::Done as i32);
    }

    #[test]
    fn events_insert_update_and_remove_in_position_order() {
        let mut columns = board();
        apply_event(&mut columns, TaskEventType::Created, task(5, TODO, 15));
        assert_eq!(ids(&columns[0]), ["1", "5", "2", "3"]);
        apply_event(&mut columns, TaskEventType::Moved, task(5, REVIEW, 5));
        assert_eq!(ids(&columns[0]), ["1", "2", "3"]);
        assert_eq!(ids(&columns[2]), ["5"]);
        apply_event(&mut columns, TaskEventType::Deleted, task(5, REVIEW, 5));
        assert!(columns[2].tasks.is_empty());
    }

    #[test]
    fn a_task_without_a_state_shows_in_the_first_column_of_its_status() {
        let mut columns = board();
        let mut old = task(6, "", 1);
        old.status = TaskStatus::InProgress as i32;
        apply_event(&mut columns, TaskEventType::Created, old);
        assert_eq!(ids(&columns[1]), ["6", "4"]);
        let mut elsewhere = task(7, "projects/1/states/gone", 1);
        elsewhere.status = TaskStatus::Done as i32;
        apply_event(&mut columns, TaskEventType::Created, elsewhere);
        assert!(locate(&columns, "projects/1/tasks/7").is_none(), "a state the board does not show");
    }

    #[test]
    fn tasks_beyond_a_partly_loaded_column_wait_for_the_next_page() {
        let mut columns = board();
        columns[0].next_page_token = "more".into();
        apply_event(&mut columns, TaskEventType::Created, task(6, TODO, 99));
        assert_eq!(ids(&columns[0]), ["1", "2", "3"]);
        apply_event(&mut columns, TaskEventType::Created, task(7, TODO, 1));
        assert_eq!(ids(&columns[0]), ["7", "1", "2", "3"]);
    }

    #[test]
    fn dropping_before_a_card_follows_the_card_above_it() {
        let columns = board();
        let plan = plan_drop(&columns, "projects/1/tasks/3", 1, Some("projects/1/tasks/4")).unwrap();
        assert_eq!((plan.state.as_str(), plan.after_task.as_str(), plan.index), (DOING, "", 0));
        let plan = plan_drop(&columns, "projects/1/tasks/1", 0, None).unwrap();
        assert_eq!((plan.after_task.as_str(), plan.index), ("projects/1/tasks/3", 2));
        let plan = plan_drop(&columns, "projects/1/tasks/3", 0, Some("projects/1/tasks/2")).unwrap();
        assert_eq!((plan.after_task.as_str(), plan.index), ("projects/1/tasks/1", 1));
        let mut moved = columns.clone();
        apply_plan(&mut moved, &plan);
        assert_eq!(ids(&moved[0]), ["1", "3", "2"]);
    }

    #[test]
    fn keyboard_steps_move_within_and_across_columns() {
        let columns = board();
        let up = plan_step(&columns, "projects/1/tasks/2", Direction::Up).unwrap();
        assert_eq!((up.after_task.as_str(), up.index), ("", 0));
        let down = plan_step(&columns, "projects/1/tasks/2", Direction::Down).unwrap();
        assert_eq!((down.after_task.as_str(), down.index), ("projects/1/tasks/3", 2));
        let right = plan_step(&columns, "projects/1/tasks/3", Direction::Right).unwrap();
        assert_eq!((right.state.as_str(), right.after_task.as_str(), right.index), (DOING, "projects/1/tasks/4", 1));
        assert_eq!(plan_step(&columns, "projects/1/tasks/1", Direction::Up), None);
        assert_eq!(plan_step(&columns, "projects/1/tasks/1", Direction::Left), None);
        assert_eq!(plan_step(&columns, "projects/1/tasks/4", Direction::Down), None);
        let mut moved = columns.clone();
        apply_plan(&mut moved, &right);
        assert_eq!(ids(&moved[1]), ["4", "3"]);
        assert_eq!(
            (moved[1].tasks[1].state.as_str(), moved[1].tasks[1].status),
            (DOING, TaskStatus::InProgress as i32)
        );
    }

    #[test]
    fn a_column_is_at_its_limit_when_its_loaded_tasks_reach_it() {
        let mut columns = board();
        assert!(!columns[0].at_limit(), "no limit");
        columns[0].wip_limit = Some(4);
        assert!(!columns[0].at_limit());
        columns[0].wip_limit = Some(3);
        assert!(columns[0].at_limit());
    }

    #[test]
    fn list_events_update_in_place_or_ask_for_a_refetch() {
        let mut tasks = vec![task(1, TODO, 1), task(2, TODO, 2)];
        let mut renamed = task(2, TODO, 2);
        renamed.title = "new".into();
        assert!(!apply_to_list(&mut tasks, TaskEventType::Updated, renamed));
        assert_eq!(tasks[1].title, "new");
        assert!(!apply_to_list(&mut tasks, TaskEventType::Deleted, task(1, TODO, 1)));
        assert_eq!(tasks.len(), 1);
        assert!(apply_to_list(&mut tasks, TaskEventType::Created, task(3, TODO, 3)));
    }
}
