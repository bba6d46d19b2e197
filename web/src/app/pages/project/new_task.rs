//! The quick "new task" form (`n` focuses it).

use crate::app::erased::Job;
use leptos::prelude::*;
use tasktracker_proto::v1::{self, TaskEventType};

use super::ProjectState;
use crate::{
    app::{
        ToastList,
        api::Api,
        components::FieldError,
        forms::{PRIORITIES, field_message},
    },
    model::edit::{TaskDraft, priority_label},
};

#[component]
pub fn NewTask() -> impl IntoView {
    let api = expect_context::<Api>();
    let state = expect_context::<ProjectState>();
    let toasts = expect_context::<ToastList>();
    let title = RwSignal::new(String::new());
    let priority = RwSignal::new(String::from("0"));
    let local_error = RwSignal::new(None::<String>);
    let create = Job::new(move |task: &v1::Task| {
        let task = task.clone();
        async move {
            let task = api.create_task(state.name.get_value(), task).await?;
            title.set(String::new());
            toasts.show(format!("Created “{}”.", task.title), None);
            state.apply(TaskEventType::Created, task);
            Ok(())
        }
    });
    let error = create.error();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let draft = TaskDraft {
            title: title.get_untracked(),
            priority: priority.get_untracked().parse().unwrap_or(0),
            ..Default::default()
        };
        match draft.to_new_task() {
            Ok(task) => {
                local_error.set(None);
                // A new attempt hides the last one's message.
                create.clear();
                create.dispatch(task);
            }
            Err(errors) => local_error.set(errors.first().map(|(_, message)| message.clone())),
        }
    };
    let title_error = Signal::derive(move || local_error.get().or_else(|| field_message(error, "title").get()));
    view! {
        <form class="new-task" on:submit=submit novalidate>
            <div class="field grow">
                <label for="new-task-title">"New task"</label>
                <input id="new-task-title" placeholder="What needs doing? (press n)" maxlength="500"
                    bind:value=title aria-describedby="new-task-title-error"/>
            </div>
            <div class="field">
                <label for="new-task-priority">"Priority"</label>
                <select id="new-task-priority" bind:value=priority>
                    {PRIORITIES.iter().map(|p| view! { <option value=p.to_string()>{priority_label(*p)}</option> }).collect_view()}
                </select>
            </div>
            <button type="submit">"Add task"</button>
            <FieldError id="new-task-title-error" message=title_error/>
            <FieldError id="new-task-error" message=Signal::derive(move || {
                error.get().filter(|e| e.field("title").is_none()).map(|e| e.to_string())
            })/>
        </form>
    }
}
