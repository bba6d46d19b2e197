//! The task's subtasks: a checkbox each that completes or reopens it, the
//! rollup, and a field adding one.

use crate::app::erased::{Job, Loader};
use leptos::prelude::*;
use tasktracker_proto::v1::{self, TaskStatus};

use super::TaskContext;
use crate::{
    app::{
        ToastList,
        api::{Api, ApiError},
        components::FieldError,
    },
    model::{filter::quoted, names},
};

#[component]
pub fn Subtasks() -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let context = expect_context::<TaskContext>();
    let project = move || names::project_of(&context.name.get_value());
    let children = Loader::new(move || async move {
        let filter = format!("parent = {}", quoted(&context.name.get_value()));
        api.list_tasks(project(), filter, "position".into(), 200, String::new()).await.map(|page| page.tasks)
    });
    // Done or not: the server puts the task in the first state of the status.
    let toggle = Job::new(move |task: &v1::Task| {
        let status = if task.complete_time.is_some() { TaskStatus::Todo } else { TaskStatus::Done };
        let task = v1::Task { status: status as i32, ..task.clone() };
        async move {
            if let Err(error) = api.update_task(task, vec!["status".into()]).await {
                toasts.show(error.to_string(), None);
            }
            children.refetch();
            context.task.refetch();
        }
    });
    let title = RwSignal::new(String::new());
    let add = Job::new(move |_: &()| {
        let task = v1::Task {
            title: title.get_untracked().trim().to_owned(),
            parent: context.name.get_value(),
            ..Default::default()
        };
        async move {
            let created = api.create_task(project(), task).await?;
            title.try_set(String::new());
            children.refetch();
            context.task.refetch();
            Ok::<_, ApiError>(created)
        }
    });
    let error = add.error();
    let rollup =
        move || context.task.with(|t| t.and_then(|t| t.as_ref().ok()).map(|t| (t.subtasks_done, t.subtasks_total)));
    view! {
        <h2>"Subtasks" {move || rollup().filter(|(_, total)| *total > 0).map(|(done, total)| format!(" ({done} of {total} done)"))}</h2>
        {move || children.get().and_then(Result::err).map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
        <ul class="subtasks">
            <For each=move || children.get().and_then(Result::ok).unwrap_or_default() key=|t| (t.name.clone(), t.etag.clone()) let:task>
                <Subtask task toggle can_edit=Signal::derive(move || context.can_edit())/>
            </For>
        </ul>
        <Show when=move || context.can_edit()>
            <form class="inline" on:submit=move |e| { e.prevent_default(); add.dispatch(()); } novalidate>
                <label for="new-subtask">"Add a subtask"</label>
                <input id="new-subtask" maxlength="500" bind:value=title aria-describedby="subtask-error"/>
                <button type="submit">"Add"</button>
                <FieldError id="subtask-error" message=Signal::derive(move || error.get().map(|e| e.field("title").unwrap_or_else(|| e.to_string())))/>
            </form>
        </Show>
    }
}

/// One subtask: its checkbox and a link to it.
#[component]
fn Subtask(task: v1::Task, toggle: Job<v1::Task>, can_edit: Signal<bool>) -> impl IntoView {
    let id = format!("subtask-{}", names::id(&task.name));
    let done = task.complete_time.is_some();
    let path = names::task_path(&task.name);
    let title = task.title.clone();
    let task = StoredValue::new(task);
    view! {
        <li>
            <input type="checkbox" id=id.clone() prop:checked=done disabled=move || !can_edit.get()
                on:change=move |_| { toggle.dispatch(task.get_value()); }/>
            <label for=id class:done=done>{title}</label>
            " " <a href=path>"Open"</a>
        </li>
    }
}
