//! The task's heading and edit form: save (optimistic, with the etag) and
//! delete (with Undo in the toast).

use crate::app::erased::Job;
use crate::app::router::use_navigate;
use leptos::prelude::*;
use tasktracker_proto::v1;

use super::{TaskContext, fields::TaskFields};
use crate::{
    app::{
        ToastList,
        api::{Api, ApiError},
        components::FieldError,
    },
    model::{
        edit::{TaskDraft, priority_label, status_label},
        names,
    },
};

/// The form's state, shared with its fields.
#[derive(Clone, Copy)]
pub struct Editing {
    pub draft: RwSignal<TaskDraft>,
    pub can_edit: Signal<bool>,
    /// Problems found before sending.
    local_errors: RwSignal<Vec<(String, String)>>,
    /// The server's answer to the last save or delete, if it refused.
    save_error: RwSignal<Option<ApiError>>,
}

impl Editing {
    /// The message about `field`, ours first.
    pub fn error(&self, field: &str) -> Signal<Option<String>> {
        let Self { local_errors, save_error, .. } = *self;
        let field = field.to_owned();
        Signal::derive(move || {
            local_errors
                .with(|errors| errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.clone()))
                .or_else(|| save_error.with(|e| e.as_ref().and_then(|e| e.field(&field))))
        })
    }

    /// An input handler writing the control's text to a draft field.
    pub fn text_input(self, field: fn(&mut TaskDraft) -> &mut String) -> impl Fn(leptos::ev::Event) + Clone + 'static {
        let draft = self.draft;
        move |event: leptos::ev::Event| {
            let value = event_target_value(&event);
            draft.update(|d| *field(d) = value);
        }
    }
}

/// `original` with the fields named in `mask` taken from `update`.
fn with_update(original: &v1::Task, update: &v1::Task, mask: &[String]) -> v1::Task {
    let mut task = original.clone();
    for field in mask {
        match field.as_str() {
            "title" => task.title = update.title.clone(),
            "description" => task.description = update.description.clone(),
            "state" => task.state = update.state.clone(),
            "priority" => task.priority = update.priority,
            "assignees" => task.assignees = update.assignees.clone(),
            "labels" => task.labels = update.labels.clone(),
            "start_time" => task.start_time = update.start_time,
            "due_time" => task.due_time = update.due_time,
            path => {
                if let Some(key) = path.strip_prefix("custom_fields.") {
                    match update.custom_fields.get(key) {
                        Some(value) => task.custom_fields.insert(key.to_owned(), value.clone()),
                        None => task.custom_fields.remove(key),
                    };
                }
            }
        }
    }
    task
}

/// A save to send: the update, its mask and the task as it was.
#[derive(Clone)]
struct Save {
    update: v1::Task,
    mask: Vec<String>,
    original: v1::Task,
}

#[component]
pub fn TaskEditor(task: v1::Task) -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let context = expect_context::<TaskContext>();
    let navigate = use_navigate();
    let editing = Editing {
        draft: RwSignal::new(TaskDraft::of(&task)),
        can_edit: Signal::derive(move || context.can_edit()),
        local_errors: RwSignal::new(Vec::new()),
        save_error: RwSignal::new(None),
    };
    let Editing { draft, can_edit, local_errors, save_error } = editing;
    let task = RwSignal::new(task);
    let conflict = RwSignal::new(false);
    // On an occurrence of a recurring task: whether a save changes this one
    // only (`UpdateOccurrence`) or this and the following ones.
    let this_only = RwSignal::new(false);

    let save = Job::new(move |save: &Save| {
        let Save { update, mask, original } = save.clone();
        let only = this_only.get_untracked() && original.recurrence.is_some();
        async move {
            let saved =
                if only { api.update_occurrence(update, mask).await } else { api.update_task(update, mask).await };
            match saved {
                Ok(saved) => {
                    draft.try_set(TaskDraft::of(&saved));
                    task.try_set(saved);
                    toasts.show("Saved.", None);
                    context.history.refetch();
                }
                Err(e) => {
                    task.try_set(original);
                    if e == ApiError::Conflict {
                        conflict.try_set(true);
                    } else {
                        save_error.try_set(Some(e));
                    }
                }
            }
        }
    });
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let original = task.get_untracked();
        let fields = context.fields.get_untracked().unwrap_or_default();
        let (update, mask) = match draft.get_untracked().to_update(&original, &fields) {
            Ok(update) => update,
            Err(errors) => {
                local_errors.set(errors);
                return;
            }
        };
        local_errors.set(Vec::new());
        save_error.set(None);
        if mask.is_empty() {
            toasts.show("Nothing to save.", None);
            return;
        }
        // Optimistic: show the edit at once, roll back if the server refuses.
        task.set(with_update(&original, &update, &mask));
        save.dispatch(Save { update, mask, original });
    };

    let delete = Job::new(move |_: &()| {
        let current = task.get_untracked();
        let navigate = navigate.clone();
        async move {
            match api.delete_task(current.name.clone(), current.etag.clone()).await {
                Ok(deleted) => {
                    toasts.show(format!("Deleted “{}”.", deleted.title), Some(deleted.name));
                    navigate(&names::project_path(&names::project_of(&current.name)), Default::default());
                }
                Err(ApiError::Conflict) => {
                    conflict.try_set(true);
                }
                Err(e) => {
                    save_error.try_set(Some(e));
                }
            }
        }
    });

    view! {
        <Show when=move || conflict.get()>
            <ConflictBanner/>
        </Show>
        <TaskHeading task/>
        <form class="task-form stack" on:submit=submit novalidate aria-labelledby="task-heading">
            <FieldError id="task-form-error" message=Signal::derive(move || {
                save_error.get().filter(|e| !matches!(e, ApiError::Invalid(_, f) if !f.is_empty())).map(|e| e.to_string())
            })/>
            <TaskFields editing/>
            {move || (can_edit.get() && task.with(|t| t.recurrence.is_some())).then(|| view! {
                <fieldset class="row">
                    <legend>"Save changes to"</legend>
                    <label class="check"><input type="radio" name="edit-scope" prop:checked=move || !this_only.get()
                        on:change=move |_| this_only.set(false)/>" this and the following occurrences"</label>
                    <label class="check"><input type="radio" name="edit-scope" prop:checked=this_only
                        on:change=move |_| this_only.set(true)/>" this occurrence only"</label>
                </fieldset>
            })}
            <Show when=move || can_edit.get()>
                <div class="row">
                    <button type="submit" disabled=move || save.pending().get()>"Save changes"</button>
                    <button type="button" class="danger" on:click=move |_| { delete.dispatch(()); }>"Delete task"</button>
                </div>
            </Show>
        </form>
    }
}

/// Offers the latest version after a refused save.
#[component]
fn ConflictBanner() -> impl IntoView {
    let context = expect_context::<TaskContext>();
    view! {
        <div class="banner conflict" role="alert">
            <p>"This task was changed by someone else since you opened it, so your changes were not saved."</p>
            <button type="button" on:click=move |_| context.reload()>"Reload the latest version"</button>
        </div>
    }
}

/// The title, and state, priority and creation below it.
#[component]
fn TaskHeading(task: RwSignal<v1::Task>) -> impl IntoView {
    let context = expect_context::<TaskContext>();
    view! {
        <h1 id="task-heading">{move || task.with(|t| t.title.clone())}</h1>
        <p class="muted">
            {move || task.with(|t| format!(
                "{} · {} · created {} by {}",
                context.state_name(&t.state).unwrap_or_else(|| status_label(t.status).to_owned()),
                priority_label(t.priority),
                t.create_time.as_ref().map(crate::app::zone::day_time).unwrap_or_default(),
                context.person(&t.creator),
            ))}
        </p>
    }
}
