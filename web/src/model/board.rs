//! The board: one column per status, tasks in `position` order, changed by
//! local moves (optimistic) and by live events from `WatchTasks`.

use tasktracker_proto::v1::{Task, TaskEventType, TaskStatus};

/// The board's columns, left to right.
pub const STATUSES: [TaskStatus; 3] = [TaskStatus::Todo, TaskStatus::InProgress, TaskStatus::Done];

/// One column's loaded tasks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Column {
    pub status: i32,
    /// Loaded tasks, ascending `position`.
    pub tasks: Vec<Task>,
    /// Token of the next page; empty when the column is fully loaded.
    pub next_page_token: String,
}

/// The status a task is shown under (unspecified counts as To do).
pub fn column_status(task: &Task) -> i32 {
    if task.status == TaskStatus::Unspecified as i32 { TaskStatus::Todo as i32 } else { task.status }
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

/// Puts a task into its status column by `position`. A task that sorts after
/// the last loaded one of a partly loaded column is left to a later page.
pub fn insert_by_position(columns: &mut [Column], task: Task) {
    let status = column_status(&task);
    let Some(column) = columns.iter_mut().find(|c| c.status == status) else { return };
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
    pub status: i32,
    /// The task it will follow in the target column; empty = top.
    pub after_task: String,
    /// Its index in the target column after the move.
    pub index: usize,
}

/// Plans dropping `name` into column `to_column` right before `before`
/// (`None`: at the bottom).
pub fn plan_drop(columns: &[Column], name: &str, to_column: usize, before: Option<&str>) -> Option<MovePlan> {
    let column = columns.get(to_column)?;
    locate(columns, name)?;
    let others: Vec<&Task> = column.tasks.iter().filter(|t| t.name != name).collect();
    let index = match before {
        Some(before) if before != name => others.iter().position(|t| t.name == before).unwrap_or(others.len()),
        Some(_) => column.tasks.iter().position(|t| t.name == name).unwrap_or(others.len()),
        None => others.len(),
    };
    let after_task = if index == 0 { String::new() } else { others[index - 1].name.clone() };
    Some(MovePlan { task: name.to_owned(), status: column.status, after_task, index })
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
    let others: Vec<&Task> = columns[to_column].tasks.iter().filter(|t| t.name != name).collect();
    let index = index.min(others.len());
    let after_task = if index == 0 { String::new() } else { others[index - 1].name.clone() };
    Some(MovePlan { task: name.to_owned(), status: columns[to_column].status, after_task, index })
}

/// Applies a plan locally, before the server confirms it.
pub fn apply_plan(columns: &mut [Column], plan: &MovePlan) {
    let Some(mut task) = remove(columns, &plan.task) else { return };
    task.status = plan.status;
    if let Some(column) = columns.iter_mut().find(|c| c.status == plan.status) {
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

    fn task(id: u32, status: TaskStatus, position: i64) -> Task {
        Task { name: format!("projects/1/tasks/{id}"), status: status as i32, position, ..Default::default() }
    }

    fn board() -> Vec<Column> {
        vec![
            Column {
                status: TaskStatus::Todo as i32,
                tasks: vec![
                    task(1, TaskStatus::Todo, 10),
                    task(2, TaskStatus::Todo, 20),
                    task(3, TaskStatus::Todo, 30),
                ],
                next_page_token: String::new(),
            },
            Column {
                status: TaskStatus::InProgress as i32,
                tasks: vec![task(4, TaskStatus::InProgress, 10)],
                ..Default::default()
            },
            Column { status: TaskStatus::Done as i32, ..Default::default() },
        ]
    }

    fn ids(column: &Column) -> Vec<&str> {
        column.tasks.iter().map(|t| super::super::names::id(&t.name)).collect()
    }

    #[test]
    fn events_insert_update_and_remove_in_position_order() {
        let mut columns = board();
        apply_event(&mut columns, TaskEventType::Created, task(5, TaskStatus::Todo, 15));
        assert_eq!(ids(&columns[0]), ["1", "5", "2", "3"]);
        apply_event(&mut columns, TaskEventType::Moved, task(5, TaskStatus::Done, 5));
        assert_eq!(ids(&columns[0]), ["1", "2", "3"]);
        assert_eq!(ids(&columns[2]), ["5"]);
        apply_event(&mut columns, TaskEventType::Deleted, task(5, TaskStatus::Done, 5));
        assert!(columns[2].tasks.is_empty());
    }

    #[test]
    fn tasks_beyond_a_partly_loaded_column_wait_for_the_next_page() {
        let mut columns = board();
        columns[0].next_page_token = "more".into();
        apply_event(&mut columns, TaskEventType::Created, task(6, TaskStatus::Todo, 99));
        assert_eq!(ids(&columns[0]), ["1", "2", "3"]);
        apply_event(&mut columns, TaskEventType::Created, task(7, TaskStatus::Todo, 1));
        assert_eq!(ids(&columns[0]), ["7", "1", "2", "3"]);
    }

    #[test]
    fn dropping_before_a_card_follows_the_card_above_it() {
        let columns = board();
        let plan = plan_drop(&columns, "projects/1/tasks/3", 1, Some("projects/1/tasks/4")).unwrap();
        assert_eq!((plan.status, plan.after_task.as_str(), plan.index), (TaskStatus::InProgress as i32, "", 0));
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
        assert_eq!(
            (right.status, right.after_task.as_str(), right.index),
            (TaskStatus::InProgress as i32, "projects/1/tasks/4", 1)
        );
        assert_eq!(plan_step(&columns, "projects/1/tasks/1", Direction::Up), None);
        assert_eq!(plan_step(&columns, "projects/1/tasks/1", Direction::Left), None);
        assert_eq!(plan_step(&columns, "projects/1/tasks/4", Direction::Down), None);
        let mut moved = columns.clone();
        apply_plan(&mut moved, &right);
        assert_eq!(ids(&moved[1]), ["4", "3"]);
        assert_eq!(moved[1].tasks[1].status, TaskStatus::InProgress as i32);
    }

    #[test]
    fn list_events_update_in_place_or_ask_for_a_refetch() {
        let mut tasks = vec![task(1, TaskStatus::Todo, 1), task(2, TaskStatus::Todo, 2)];
        let mut renamed = task(2, TaskStatus::Todo, 2);
        renamed.title = "new".into();
        assert!(!apply_to_list(&mut tasks, TaskEventType::Updated, renamed));
        assert_eq!(tasks[1].title, "new");
        assert!(!apply_to_list(&mut tasks, TaskEventType::Deleted, task(1, TaskStatus::Todo, 1)));
        assert_eq!(tasks.len(), 1);
        assert!(apply_to_list(&mut tasks, TaskEventType::Created, task(3, TaskStatus::Todo, 3)));
    }
}
