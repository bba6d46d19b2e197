//! `tasks list|get|create|update|move|done|delete` (`tasks watch` is in
//! `watch`).

use prost_types::{FieldMask, Timestamp};
use tasktracker_proto::v1;

use super::all_pages;
use crate::{
    api::{Api, Session},
    args::{CreateTaskArgs, ListTasksArgs, MoveTaskArgs, PriorityArg, TaskArg, TasksCommand, UpdateTaskArgs},
    error::CliError,
    names,
    output::{Format, Output},
    workflow::Workflow,
};

/// The API's largest ListTasks page.
const MAX_PAGE_SIZE: usize = 500;

pub async fn run(session: &Session, command: TasksCommand, out: &Output) -> Result<(), CliError> {
    let api = &session.api;
    match command {
        TasksCommand::List(args) => list(api, args, out).await,
        TasksCommand::Get(task) => {
            let name = task_name(&task)?;
            let task = api.tasks().get_task(v1::GetTaskRequest { name }).await?.into_inner();
            out.task(&task, &workflow_for(api, out, &task.name).await?);
            Ok(())
        }
        TasksCommand::Create(args) => create(api, args, out).await,
        TasksCommand::Update(args) => update(api, args, out).await,
        TasksCommand::Move(args) => move_task(api, args, out).await,
        TasksCommand::Done { task, etag } => done(api, &task, etag, out).await,
        TasksCommand::Delete { task, etag } => {
            let name = task_name(&task)?;
            let request = v1::DeleteTaskRequest { name, etag: etag.unwrap_or_default() };
            let task = api.tasks().delete_task(request).await?.into_inner();
            out.task(&task, &workflow_for(api, out, &task.name).await?);
            Ok(())
        }
        TasksCommand::Watch(_) => unreachable!("`tasks watch` is dispatched to commands::watch"),
    }
}

fn task_name(task: &TaskArg) -> Result<String, CliError> {
    names::task(&task.task, task.project.as_deref())
}

/// The workflow of the project `name` (a project, task or state) is in, for
/// tables, which show states by their names; JSON shows resource names.
async fn workflow_for(api: &Api, out: &Output, name: &str) -> Result<Workflow, CliError> {
    match out.format() {
        Format::Table => Workflow::fetch(api, names::project_of(name)).await,
        Format::Json => Ok(Workflow::unknown()),
    }
}

async fn list(api: &Api, args: ListTasksArgs, out: &Output) -> Result<(), CliError> {
    let parent = names::project(&args.project.project);
    let client = api.tasks();
    let filter = args.filter.unwrap_or_default();
    let order_by = args.order_by.unwrap_or_default();
    let tasks = all_pages(args.limit.limit, MAX_PAGE_SIZE, |page_token, page_size| {
        let mut client = client.clone();
        let request = v1::ListTasksRequest {
            parent: parent.clone(),
            page_size,
            page_token,
            filter: filter.clone(),
            order_by: order_by.clone(),
            show_deleted: args.deleted,
        };
        async move {
            let page = client.list_tasks(request).await?.into_inner();
            Ok((page.tasks, page.next_page_token))
        }
    })
    .await?;
    out.tasks(&tasks, &workflow_for(api, out, &parent).await?);
    Ok(())
}

async fn create(api: &Api, args: CreateTaskArgs, out: &Output) -> Result<(), CliError> {
    let parent = names::project(&args.project.project);
    let workflow = Workflow::fetch(api, &parent).await?;
    let task = v1::Task {
        title: args.title,
        description: args.description.unwrap_or_default(),
        priority: args.priority.map_or(v1::Priority::Unspecified, priority) as i32,
        state: args.state.as_deref().map(|state| workflow.resolve(state)).transpose()?.unwrap_or_default(),
        labels: args.labels,
        assignees: users(api, args.assignees).await?,
        due_time: args.due.as_deref().map(|due| time("--due", due)).transpose()?,
        parent: args.parent.as_deref().map(|task| names::task(task, Some(&parent))).transpose()?.unwrap_or_default(),
        ..Default::default()
    };
    let request = v1::CreateTaskRequest { parent, task: Some(task), request_id: String::new() };
    let task = api.tasks().create_task(request).await?.into_inner();
    out.task(&task, &workflow);
    Ok(())
}

/// Sends only the fields given, in the update mask, with the etag: the one
/// given, else the one read just before (so a label added here never undoes
/// a change made meanwhile).
async fn update(api: &Api, args: UpdateTaskArgs, out: &Output) -> Result<(), CliError> {
    let name = task_name(&args.task)?;
    let current = api.tasks().get_task(v1::GetTaskRequest { name: name.clone() }).await?.into_inner();
    let project = names::project_of(&name).to_owned();
    let workflow = Workflow::fetch(api, &project).await?;
    let mut task = v1::Task { name, etag: args.etag.unwrap_or(current.etag), ..Default::default() };
    let mut paths = Vec::new();
    if let Some(title) = args.title {
        task.title = title;
        paths.push("title");
    }
    if let Some(description) = args.description {
        task.description = description;
        paths.push("description");
    }
    if let Some(value) = args.priority {
        task.priority = priority(value) as i32;
        paths.push("priority");
    }
    if let Some(state) = args.state {
        task.state = workflow.resolve(&state)?;
        paths.push("state");
    }
    if !args.labels.is_empty() || !args.add_labels.is_empty() || !args.remove_labels.is_empty() {
        task.labels = if args.labels.is_empty() { current.labels } else { args.labels };
        for label in args.add_labels {
            if !task.labels.contains(&label) {
                task.labels.push(label);
            }
        }
        task.labels.retain(|label| !args.remove_labels.contains(label));
        paths.push("labels");
    }
    if !args.assignees.is_empty() || args.clear_assignees {
        task.assignees = users(api, args.assignees).await?;
        paths.push("assignees");
    }
    if let Some(due) = args.due {
        task.due_time = Some(time("--due", &due)?);
        paths.push("due_time");
    }
    if args.clear_due {
        paths.push("due_time");
    }
    if let Some(parent) = args.parent {
        task.parent = names::task(&parent, Some(&project))?;
        paths.push("parent");
    }
    if args.clear_parent {
        paths.push("parent");
    }
    let update_mask = FieldMask { paths: paths.into_iter().map(str::to_owned).collect() };
    let request = v1::UpdateTaskRequest { task: Some(task), update_mask: Some(update_mask) };
    let task = api.tasks().update_task(request).await?.into_inner();
    out.task(&task, &workflow);
    Ok(())
}

async fn move_task(api: &Api, args: MoveTaskArgs, out: &Output) -> Result<(), CliError> {
    let name = task_name(&args.task)?;
    let project = names::project_of(&name).to_owned();
    let workflow = Workflow::fetch(api, &project).await?;
    let request = v1::MoveTaskRequest {
        state: args.state.as_deref().map(|state| workflow.resolve(state)).transpose()?.unwrap_or_default(),
        after_task: args
            .after
            .as_deref()
            .map(|after| names::task(after, Some(&project)))
            .transpose()?
            .unwrap_or_default(),
        etag: args.etag.unwrap_or_default(),
        status: v1::TaskStatus::Unspecified as i32,
        name,
    };
    let task = api.tasks().move_task(request).await?.into_inner();
    out.task(&task, &workflow);
    Ok(())
}

/// Moves the task to the project's first COMPLETED state; a task already
/// completed stays where it is.
async fn done(api: &Api, task: &TaskArg, etag: Option<String>, out: &Output) -> Result<(), CliError> {
    let name = task_name(task)?;
    let workflow = Workflow::fetch(api, names::project_of(&name)).await?;
    let current = api.tasks().get_task(v1::GetTaskRequest { name: name.clone() }).await?.into_inner();
    if current.complete_time.is_some() && etag.as_ref().is_none_or(|etag| *etag == current.etag) {
        out.task(&current, &workflow);
        return Ok(());
    }
    let state = workflow
        .first_done()
        .ok_or_else(|| {
            CliError::Usage("the project has no done (COMPLETED) workflow state to move the task to".into())
        })?
        .name
        .clone();
    let request = v1::MoveTaskRequest {
        name,
        state,
        etag: etag.unwrap_or(current.etag),
        after_task: String::new(),
        status: v1::TaskStatus::Unspecified as i32,
    };
    let task = api.tasks().move_task(request).await?.into_inner();
    out.task(&task, &workflow);
    Ok(())
}

fn priority(priority: PriorityArg) -> v1::Priority {
    match priority {
        PriorityArg::None => v1::Priority::Unspecified,
        PriorityArg::Low => v1::Priority::Low,
        PriorityArg::Medium => v1::Priority::Medium,
        PriorityArg::High => v1::Priority::High,
        PriorityArg::Urgent => v1::Priority::Urgent,
    }
}

/// `users/{id}` for each of `users/{id}`, a bare id, or `me`.
async fn users(api: &Api, args: Vec<String>) -> Result<Vec<String>, CliError> {
    let mut me = None;
    let mut users = Vec::with_capacity(args.len());
    for arg in args {
        let user = match arg.trim() {
            "me" => match &me {
                Some(name) => String::clone(name),
                None => {
                    let user = api.accounts().get_current_user(v1::GetCurrentUserRequest {}).await?.into_inner();
                    me.insert(user.name).clone()
                }
            },
            user if user.starts_with("users/") => user.to_owned(),
            id => format!("users/{id}"),
        };
        users.push(user);
    }
    Ok(users)
}

/// A date (`2026-12-31`, midnight UTC) or an RFC 3339 time.
fn time(flag: &str, arg: &str) -> Result<Timestamp, CliError> {
    let text = if arg.len() == 10 { format!("{arg}T00:00:00Z") } else { arg.to_owned() };
    text.parse()
        .map_err(|_| CliError::Usage(format!("{flag}: expected a date (2026-12-31) or an RFC 3339 time, got {arg:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_parse() {
        assert_eq!(time("--due", "2026-12-31").unwrap().to_string(), "2026-12-31T00:00:00Z");
        assert_eq!(time("--due", "2026-12-31T10:30:00+01:00").unwrap().to_string(), "2026-12-31T09:30:00Z");
        assert!(matches!(time("--due", "tomorrow"), Err(CliError::Usage(_))));
    }
}
