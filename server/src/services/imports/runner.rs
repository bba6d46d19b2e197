//! Runs an import in the background: matches each item's state, members
//! and custom fields with the project, writes the items in batches of
//! [`BATCH`] (each in one transaction), and records the operation's progress
//! after every batch, where any replica's poll reads it. A cancel is seen
//! between batches; so is the server's shutdown, which fails the operation
//! (importing the file again resumes it: what was imported is skipped).

use std::collections::{BTreeMap, HashMap};

use tasktracker_proto::v1;

use prost::Message;

use super::items::{Item, MAX_ROW_ERRORS, Parsed, RelationSpec, RowError, StateSpec, split_list};
use crate::{
    domain::{
        Color, ProjectId, StateCategory, StateDisplayName, TaskId, TaskName, TaskStatus, UserId,
        fields::{FieldDefinition, FieldType, FieldValue},
        names::{ActivityId, CommentId},
        time::{self, Micros},
    },
    services::{
        SharedState,
        tasks::convert::{history, task_to_proto},
    },
    storage::{
        entities::{comments, projects, task_activities, tasks, workflow_states},
        fields::NewField,
        imports::{OperationState, Progress},
        relations::{NewRelation, RelationStoreError},
        states::{Board, NewState, first_choice},
        tasks::{CustomValue, ImportOutcome, NewImport, Rollup, TaskRecord},
    },
};

/// Items written per transaction.
pub const BATCH: usize = 200;
/// Colour of the states an import adds.
const NEW_STATE_COLOR: &str = "#6b7280";

/// One import to run.
pub struct Job {
    /// The operation's id.
    pub operation: String,
    pub project: projects::Model,
    pub actor: UserId,
    /// `import_items.source`: "csv", "trello".
    pub source: &'static str,
    pub parsed: Parsed,
}

/// How an import ended, short of a database failure.
enum Ended {
    Done,
    Cancelled,
    Interrupted,
}

/// Starts `job` on its own task.
pub fn spawn(shared: SharedState, job: Job) {
    shared.metrics.imports_started.inc();
    // Taken now, so that a shutdown starting meanwhile waits for this run.
    let running = shared.imports_running.clone().try_read_owned().ok();
    tokio::spawn(async move {
        run(&shared, job, running.is_some()).await;
        drop(running);
    });
}

/// Runs `job` (unless the server is shutting down: `may_run` false) and
/// records how it ended.
async fn run(shared: &SharedState, job: Job, may_run: bool) {
    let operation = job.operation.clone();
    let ended = if may_run { import(shared, job).await } else { Ok(Ended::Interrupted) };
    let (state, error, outcome) = match ended {
        Ok(Ended::Done) => (OperationState::Succeeded, (0, String::new()), "succeeded"),
        Ok(Ended::Cancelled) => {
            (OperationState::Cancelled, (tonic::Code::Cancelled as i32, "cancelled".to_owned()), "cancelled")
        }
        Ok(Ended::Interrupted) => {
            let error = (tonic::Code::Aborted as i32, crate::storage::imports::INTERRUPTED.to_owned());
            (OperationState::Failed, error, "failed")
        }
        Err(error) => {
            tracing::error!(operation = %operation, error = ?error, "import failed");
            let message = "the import failed on the server's side; import the file again: what was imported is skipped";
            (OperationState::Failed, (tonic::Code::Internal as i32, message.to_owned()), "failed")
        }
    };
    if let Err(error) = shared.imports.finish(&operation, state, error, time::now()).await {
        // Its heartbeat stops: the next start-up sweep marks it failed.
        tracing::error!(operation = %operation, error = ?error, "could not record the end of an import");
    }
    shared.metrics.import_finished(outcome);
}

async fn import(shared: &SharedState, job: Job) -> anyhow::Result<Ended> {
    let Job { operation, project: row, actor, source, parsed } = job;
    let project = ProjectId::from_stored(&row.id);
    let Parsed { states, fields, items, relations, mut errors } = parsed;
    add_states(shared, &row, &states, &mut errors).await?;
    add_fields(shared, project, &fields, &mut errors).await?;
    let context = Context {
        board: shared.states.board(&row).await?,
        fields: shared.fields.definitions(project).await?,
        members: shared.imports.members_by_email(project).await?,
        actor,
        project,
    };
    let mut progress = Progress::default();
    let kind = v1::TaskEventType::Created as i16;
    for chunk in items.chunks(BATCH) {
        if shared.shutdown.is_cancelled() {
            return Ok(Ended::Interrupted);
        }
        let now = time::now();
        let mut batch = Vec::with_capacity(chunk.len());
        let mut written = Vec::with_capacity(chunk.len());
        for item in chunk {
            // What an item leaves out is reported only if it is imported
            // now, not when an earlier import made it.
            let mut warnings = item.warnings.clone();
            match context.resolve(item, now, &mut warnings) {
                Some(new) => {
                    batch.push(new);
                    written.push((item, warnings));
                }
                None => errors.append(&mut warnings),
            }
        }
        let (outcomes, created) =
            shared.tasks.import_batch((project, source, actor), batch, kind, |record| history(None, record)).await?;
        for (outcome, (item, mut warnings)) in outcomes.into_iter().zip(written) {
            match outcome {
                ImportOutcome::Imported => {
                    progress.rows_imported += 1;
                    errors.append(&mut warnings);
                }
                ImportOutcome::Skipped => progress.rows_skipped += 1,
                ImportOutcome::NoParent => errors.push(RowError::new(
                    item.row,
                    &item.source_id,
                    "parent",
                    "the task it belongs under was not imported, so neither is it",
                )),
            }
        }
        if !created.is_empty() {
            shared.feed.notify(project);
            shared.metrics.import_rows.inc_by(created.len() as u64);
            shared.metrics.tasks_created.inc_by(created.len() as u64);
        }
        progress.rows_done += chunk.len() as i64;
        record_errors(&mut progress, &errors);
        if shared.imports.progress(&operation, &progress, time::now()).await? {
            return Ok(Ended::Cancelled);
        }
    }
    relate(shared, (project, source, actor), &relations, &mut errors).await?;
    errors.sort_by_key(|error| error.row);
    record_errors(&mut progress, &errors);
    shared.imports.progress(&operation, &progress, time::now()).await?;
    Ok(Ended::Done)
}

fn record_errors(progress: &mut Progress, errors: &[RowError]) {
    progress.errors_total = errors.len() as i64;
    let kept = &errors[..errors.len().min(MAX_ROW_ERRORS)];
    progress.row_errors = serde_json::to_string(kept).unwrap_or_else(|_| "[]".into());
}

/// Adds the states `names` that the project lacks (by name, any case), at
/// the end of its board; a state that cannot be added is an error of row 0.
async fn add_states(
    shared: &SharedState,
    row: &projects::Model,
    specs: &[StateSpec],
    errors: &mut Vec<RowError>,
) -> anyhow::Result<()> {
    let project = ProjectId::from_stored(&row.id);
    let mut existing = shared.states.board(row).await?.states;
    for StateSpec { name, category, color } in specs {
        if find_state(&existing, name).is_some() {
            continue;
        }
        let display_name = match StateDisplayName::parse("state", name.trim()) {
            Ok(display_name) => display_name,
            Err(violation) => {
                errors.push(RowError::new(0, "", "state", format!("\"{name}\" {}", violation.description)));
                continue;
            }
        };
        let color = color.as_deref().and_then(|color| Color::parse("state", color).ok());
        let color = match color {
            Some(color) => color,
            None => {
                Color::parse("state", NEW_STATE_COLOR).map_err(|violation| anyhow::anyhow!(violation.description))?
            }
        };
        let new =
            NewState { display_name, color, category: category.unwrap_or_else(|| category_of(name)), wip_limit: None };
        match shared.states.create(project, new).await {
            Ok(state) => existing.push(state),
            Err(error) => errors.push(RowError::new(0, "", "state", format!("\"{name}\" could not be added: {error}"))),
        }
    }
    Ok(())
}

/// Adds the custom fields `specs` that the project lacks (by key); one
/// that cannot be added is an error of row 0.
async fn add_fields(
    shared: &SharedState,
    project: ProjectId,
    specs: &[NewField],
    errors: &mut Vec<RowError>,
) -> anyhow::Result<()> {
    let existing = shared.fields.definitions(project).await?;
    for spec in specs {
        if existing.iter().any(|definition| definition.key == spec.key.as_str()) {
            continue;
        }
        if let Err(error) = shared.fields.create(project, spec.clone()).await {
            let message = format!("could not be added: {error}");
            errors.push(RowError::new(0, "", format!("cf.{}", spec.key.as_str()), message));
        }
    }
    Ok(())
}

/// Makes the relations `specs` between imported tasks; one that exists
/// already is left as it is, one that cannot be made is reported.
async fn relate(
    shared: &SharedState,
    (project, source, actor): (ProjectId, &str, UserId),
    specs: &[RelationSpec],
    errors: &mut Vec<RowError>,
) -> anyhow::Result<()> {
    if specs.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = specs.iter().flat_map(|spec| [spec.task.clone(), spec.other.clone()]).collect();
    let tasks = shared.imports.task_ids(project, source, &ids).await?;
    let kind = v1::TaskEventType::Updated as i16;
    let snapshot = |record: &TaskRecord| task_to_proto(record).encode_to_vec();
    for spec in specs {
        let (Some(task), Some(other)) = (tasks.get(&spec.task), tasks.get(&spec.other)) else {
            let message = "one of its tasks was not imported, so neither is the relation";
            errors.push(RowError::new(spec.row, &spec.task, "relations", message));
            continue;
        };
        let new = NewRelation {
            task: TaskName { project, task: TaskId::from_stored(task) },
            other: TaskId::from_stored(other),
            kind: spec.kind,
            creator: actor,
        };
        match shared.relations.create(new, kind, snapshot).await {
            Ok(_) | Err(RelationStoreError::AlreadyExists) => {}
            Err(RelationStoreError::Database(error)) => return Err(error.into()),
            Err(error) => errors.push(RowError::new(spec.row, &spec.task, "relations", error.to_string())),
        }
    }
    shared.feed.notify(project);
    Ok(())
}

/// A new state's category, guessed from its name: a Trello list called
/// "Done" holds finished cards.
fn category_of(name: &str) -> StateCategory {
    let name = name.to_lowercase();
    if ["done", "complete", "finished", "closed", "shipped"].iter().any(|word| name.contains(word)) {
        StateCategory::Completed
    } else if ["backlog", "idea"].iter().any(|word| name.contains(word)) {
        StateCategory::Backlog
    } else if ["to do", "todo", "next", "planned"].iter().any(|word| name.contains(word)) {
        StateCategory::Unstarted
    } else {
        StateCategory::Started
    }
}

/// The non-archived state named `name` (any case), else an archived one.
fn find_state<'a>(states: &'a [workflow_states::Model], name: &str) -> Option<&'a workflow_states::Model> {
    let name = name.trim().to_lowercase();
    let named = |state: &&workflow_states::Model| state.display_name.to_lowercase() == name;
    states.iter().filter(named).min_by_key(|state| state.archive_time.is_some())
}

/// What items are matched with.
struct Context {
    board: Board,
    fields: Vec<FieldDefinition>,
    /// Members' user ids by email.
    members: HashMap<String, String>,
    actor: UserId,
    project: ProjectId,
}

impl Context {
    /// The task `item` becomes; `None` (with the reason in `errors`) if it
    /// cannot be imported. What cannot be matched (an assignee who is not a
    /// member, a bad custom field value) is left out and reported.
    fn resolve(&self, item: &Item, now: Micros, errors: &mut Vec<RowError>) -> Option<NewImport> {
        let error = |field: &str, message: String| RowError::new(item.row, &item.source_id, field, message);
        let state = match &item.state {
            Some(name) => find_state(&self.board.states, name),
            None => first_choice(&self.board.states, if item.done { TaskStatus::Done } else { TaskStatus::Todo }),
        };
        let Some(state) = state else {
            let name = item.state.as_deref().unwrap_or("");
            errors.push(error("state", format!("the project has no workflow state \"{name}\"")));
            return None;
        };
        let mut assignees = Vec::new();
        for email in &item.assignees {
            match self.members.get(&email.to_lowercase()) {
                Some(user) => assignees.push(user.clone()),
                None => errors.push(error(
                    "assignee_email",
                    format!("no member of the project has the email \"{email}\"; imported without that assignee"),
                )),
            }
        }
        assignees.sort();
        assignees.dedup();
        let mut custom_fields = BTreeMap::new();
        for (key, text) in &item.custom_fields {
            let field = format!("cf.{key}");
            let Some(definition) = self.fields.iter().find(|definition| definition.key == *key) else {
                errors.push(error(&field, "the project has no such custom field; imported without it".into()));
                continue;
            };
            let value = self
                .value_of(definition, text)
                .and_then(|value| definition.check(&field, value).map_err(|violation| violation.description));
            match value {
                Ok(value) => {
                    custom_fields.insert(key.clone(), CustomValue { field_id: definition.id.clone(), value });
                }
                Err(message) => errors.push(error(&field, format!("{message}; imported without it"))),
            }
        }
        let actor = self.actor.to_string();
        let record = TaskRecord {
            task: tasks::Model {
                id: TaskId::generate().to_string(),
                project_id: self.project.to_string(),
                title: item.title.as_str().to_owned(),
                description: item.description.as_str().to_owned(),
                status: TaskStatus::Todo.stored(),
                priority: item.priority.stored(),
                start_time: item.start_time,
                due_time: item.due_time,
                position: 0,
                creator_id: actor.clone(),
                request_id: None,
                request_hash: None,
                create_time: item.create_time.unwrap_or(now),
                update_time: now,
                complete_time: item.complete_time,
                delete_time: None,
                version: 1,
                state_id: None,
                parent_id: None,
                series_id: None,
                occurrence_time: None,
                skip_time: None,
                previous_occurrence_id: None,
            },
            assignees,
            labels: item.labels.clone(),
            state: None,
            subtasks: Rollup::default(),
            custom_fields,
            recurrence: None,
        };
        let comments = item
            .comments
            .iter()
            .map(|comment| {
                let author = comment.author_email.as_ref().and_then(|email| self.members.get(&email.to_lowercase()));
                let body = match author {
                    Some(_) => comment.body.clone(),
                    None => format!("**{}** wrote:\n\n{}", comment.author_name, comment.body),
                };
                comments::Model {
                    id: CommentId::generate().to_string(),
                    task_id: String::new(),
                    author_id: author.cloned().unwrap_or_else(|| actor.clone()),
                    body,
                    create_time: comment.time.unwrap_or(now),
                    edit_time: None,
                    delete_time: None,
                    version: 1,
                }
            })
            .collect();
        let activities = item
            .history
            .iter()
            .map(|activity| task_activities::Model {
                id: ActivityId::generate().to_string(),
                task_id: String::new(),
                actor_id: self
                    .members
                    .get(&activity.actor_email.to_lowercase())
                    .cloned()
                    .unwrap_or_else(|| actor.clone()),
                kind: activity.kind,
                changes: serde_json::to_string(&activity.changes).unwrap_or_else(|_| "[]".into()),
                time: activity.time,
            })
            .collect();
        Some(NewImport {
            source_id: item.source_id.clone(),
            parent: item.parent.clone(),
            column: self.board.column(state),
            record,
            comments,
            activities,
        })
    }

    /// A custom field's value from its text.
    fn value_of(&self, definition: &FieldDefinition, text: &str) -> Result<FieldValue, String> {
        Ok(match definition.kind {
            FieldType::Text => FieldValue::Text(text.to_owned()),
            FieldType::Number => match text.parse::<f64>() {
                Ok(number) if number.is_finite() => FieldValue::Number(number),
                _ => return Err(format!("\"{text}\" is not a number")),
            },
            FieldType::Date => match time::parse_rfc3339(text) {
                Some(micros) => FieldValue::Date(micros),
                None => return Err(format!("\"{text}\" is not an RFC 3339 time or a YYYY-MM-DD date")),
            },
            FieldType::SingleSelect => FieldValue::Option(text.to_owned()),
            FieldType::MultiSelect => FieldValue::Options(split_list(text).into_iter().map(str::to_owned).collect()),
            FieldType::User => match self.members.get(&text.to_lowercase()) {
                Some(user) => FieldValue::User(UserId::from_stored(user)),
                None => return Err(format!("no member of the project has the email \"{text}\"")),
            },
            FieldType::Checkbox => match text.to_lowercase().as_str() {
                "true" | "yes" | "y" | "1" | "x" => FieldValue::Checkbox(true),
                "false" | "no" | "n" | "0" => FieldValue::Checkbox(false),
                _ => return Err(format!("\"{text}\" is not a checkbox value: true or false")),
            },
        })
    }
}
