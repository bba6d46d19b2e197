//! `/projects/:project/tasks/:task`: edit every field (update mask + etag),
//! markdown description, comments, history, delete with undo.

mod comments;
mod custom;
mod editor;
mod fields;
mod history;
mod mention;
mod picker;
mod recurrence;
mod relations;
mod subtasks;

use crate::app::erased::Loader;
use crate::app::router::use_params_map;
use leptos::prelude::*;
use tasktracker_proto::v1::{self, Role};

use self::{
    comments::Comments, editor::TaskEditor, history::History, recurrence::Repeats, relations::Relations,
    subtasks::Subtasks,
};
use crate::{
    app::{
        api::{Api, ApiResult},
        browser,
        components::Failure,
        pages::inbox::{FollowButton, TaskReminderPicker},
    },
    model::names,
};

/// What the parts of the task page share.
#[derive(Clone, Copy)]
struct TaskContext {
    /// `projects/{project}/tasks/{task}`.
    name: StoredValue<String>,
    task: Loader<ApiResult<v1::Task>>,
    role: Loader<i32>,
    members: Loader<Vec<v1::Member>>,
    /// The project's workflow states in board order, archived ones too.
    states: Loader<Vec<v1::WorkflowState>>,
    history: Loader<Vec<v1::TaskActivity>>,
    /// The project's custom fields in order.
    fields: Loader<Vec<v1::CustomField>>,
}

impl TaskContext {
    /// A member's display name, or the user name if unknown.
    fn person(&self, user: &str) -> String {
        self.members
            .with(|m| m.and_then(|m| m.iter().find(|m| m.user == user).map(|m| m.display_name.clone())))
            .unwrap_or_else(|| user.to_owned())
    }

    /// A state's display name, once the states are in.
    fn state_name(&self, state: &str) -> Option<String> {
        self.states.with(|s| s.and_then(|s| s.iter().find(|s| s.name == state).map(|s| s.display_name.clone())))
    }

    fn can_edit(&self) -> bool {
        self.role.get().unwrap_or(0) >= Role::Editor as i32
    }

    /// Loads the task and its history again.
    fn reload(&self) {
        self.task.refetch();
        self.history.refetch();
    }
}

/// The task page (signed in).
#[component]
pub fn TaskPage() -> impl IntoView {
    let api = expect_context::<Api>();
    let params = use_params_map();
    let (project, id) =
        params.with_untracked(|p| (p.get("project").unwrap_or_default(), p.get("task").unwrap_or_default()));
    let project_name = StoredValue::new(format!("projects/{project}"));
    let name = StoredValue::new(format!("projects/{project}/tasks/{id}"));
    let context = TaskContext {
        name,
        task: Loader::new(move || async move {
            api.get_task(name.get_value()).await.inspect(|task| browser::set_title(&task.title))
        }),
        role: Loader::new(move || async move {
            api.get_project(project_name.get_value()).await.map_or(0, |p| p.caller_role)
        }),
        members: Loader::new(
            move || async move { api.list_members(project_name.get_value()).await.unwrap_or_default() },
        ),
        states: Loader::new(move || async move {
            api.list_states(project_name.get_value(), true).await.unwrap_or_default()
        }),
        history: Loader::new(move || async move { api.list_activities(name.get_value()).await.unwrap_or_default() }),
        fields: Loader::new(move || {
            let parent = project_name.get_value();
            async move { api.list_fields(parent).await.unwrap_or_default() }
        }),
    };
    provide_context(context);

    view! {
        <section class="page">
            <p class="task-nav">
                <a href=names::project_path(&project_name.get_value())>"← Back to the project"</a>
                <span class="task-nav-actions">
                    <TaskReminderPicker task=name.get_value()/>
                    <FollowButton task=name.get_value()/>
                </span>
            </p>
            // Reloading (after a conflict) keeps the old version on screen until the new one is in.
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                <Failure>
                    {move || context.task.get().map(|task| task.map(|task| view! { <TaskEditor task/> }))}
                </Failure>
            </Transition>
            <Repeats/>
            <Subtasks/>
            <Relations/>
            <Comments/>
            <History/>
        </section>
    }
}
