//! The task table's bulk actions on the selected rows: a workflow state, an
//! assignee, a priority or a label set on all of them, or all of them
//! deleted, each as one all-or-nothing batch (`BatchUpdateTasks`,
//! `BatchDeleteTasks`) guarded by every task's etag.

use crate::app::erased::{Job, Loader};
use leptos::{html, prelude::*};
use tasktracker_proto::v1::{self, TaskEventType};

use super::ProjectState;
use crate::{
    app::{
        ToastList,
        api::{Api, ApiError, ApiResult},
        browser,
        forms::PRIORITIES,
    },
    model::{edit::priority_label, table::BulkChange},
};

/// `Some(value)` of a "keep" select or input: `None` when left at keep (empty).
fn chosen(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

/// The bar above the table while rows are selected. `selected` holds task
/// names, all on the current page.
#[component]
pub fn BulkActions(selected: RwSignal<Vec<String>>) -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let state = expect_context::<ProjectState>();
    let states = Loader::new(move || async move { api.list_states(state.name.get_value(), false).await });
    let (to_state, assignee, priority, label) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let confirming = RwSignal::new(false);
    let (ask, keep) = (NodeRef::<html::Button>::new(), NodeRef::<html::Button>::new());
    let count = move || selected.with(Vec::len);
    let tasks = move || {
        let names = selected.get_untracked();
        state.list.with_untracked(|list| list.iter().filter(|t| names.contains(&t.name)).cloned().collect::<Vec<_>>())
    };
    // After a batch: the new tasks in place, the selection and form cleared.
    // A conflict (a task changed meanwhile) changed nothing: the list reloads.
    let finish = move |result: ApiResult<Vec<v1::Task>>, kind: TaskEventType, done: &str| match result {
        Ok(changed) => {
            let message = format!("{} {} {done}.", changed.len(), if changed.len() == 1 { "task" } else { "tasks" });
            for task in changed {
                state.apply(kind, task);
            }
            for field in [to_state, assignee, priority, label] {
                field.try_set(String::new());
            }
            selected.try_set(Vec::new());
            confirming.try_set(false);
            toasts.show(message, None);
            Ok(())
        }
        Err(ApiError::Conflict) => {
            state.list_stale.try_update(|n| *n += 1);
            Err(ApiError::Refused(
                "a selected task changed meanwhile, so none was changed; check them and try again".into(),
            ))
        }
        Err(error) => Err(error),
    };
    let apply = Job::new(move |change: &BulkChange| {
        let requests = change.requests(&tasks());
        async move {
            finish(api.batch_update_tasks(state.name.get_value(), requests).await, TaskEventType::Updated, "updated")
        }
    });
    let delete = Job::new(move |_: &()| {
        let doomed = tasks().into_iter().map(|t| (t.name, t.etag)).collect();
        async move {
            finish(api.batch_delete_tasks(state.name.get_value(), doomed).await, TaskEventType::Deleted, "deleted")
        }
    });
    let busy = move || apply.pending().get() || delete.pending().get();
    let error = move || apply.error().get().or_else(|| delete.error().get());
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let change = BulkChange {
            state: chosen(to_state.get_untracked()),
            // "-" is the "Nobody" option: no assignee.
            assignee: chosen(assignee.get_untracked()).map(|a| if a == "-" { String::new() } else { a }),
            priority: chosen(priority.get_untracked()).and_then(|p| p.parse().ok()),
            add_label: chosen(label.get_untracked().trim().to_owned()),
        };
        if !change.is_empty() {
            apply.dispatch(change);
        }
    };

    view! {
        <form class="bulk row" aria-label="Bulk actions" on:submit=submit>
            <p role="status"><strong>{move || format!("{} selected", count())}</strong></p>
            <div class="field">
                <label for="bulk-state">"Move to"</label>
                <select id="bulk-state" bind:value=to_state>
                    <option value="">"Keep state"</option>
                    {move || states.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|s| view! {
                        <option value=s.name>{s.display_name}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="bulk-assignee">"Assign to"</label>
                <select id="bulk-assignee" bind:value=assignee>
                    <option value="">"Keep assignees"</option>
                    <option value="-">"Nobody"</option>
                    {move || state.member_list().into_iter().map(|m| view! {
                        <option value=m.user>{m.display_name}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="bulk-priority">"Priority"</label>
                <select id="bulk-priority" bind:value=priority>
                    <option value="">"Keep priority"</option>
                    {PRIORITIES.iter().map(|p| view! { <option value=p.to_string()>{priority_label(*p)}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="bulk-label">"Add label"</label>
                <input id="bulk-label" size="10" bind:value=label/>
            </div>
            <button type="submit" disabled=busy>"Apply"</button>
            <button type="button" class="danger" node_ref=ask hidden=confirming disabled=busy on:click=move |_| {
                confirming.set(true);
                if let Some(keep) = keep.get_untracked() {
                    browser::focus_soon(keep.into());
                }
            }>"Delete…"</button>
            <span hidden=move || !confirming.get()>
                <button type="button" class="danger" disabled=busy on:click=move |_| delete.dispatch(())>
                    {move || format!("Delete {} tasks", count())}
                </button>
                " "
                <button type="button" node_ref=keep on:click=move |_| {
                    confirming.set(false);
                    if let Some(ask) = ask.get_untracked() {
                        browser::focus_soon(ask.into());
                    }
                }>"Keep them"</button>
            </span>
            <button type="button" class="ghost" on:click=move |_| selected.set(Vec::new())>"Clear selection"</button>
            {move || error().map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
        </form>
    }
}
