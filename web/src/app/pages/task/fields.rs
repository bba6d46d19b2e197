//! The task form's fields, each bound to the draft.

use leptos::prelude::*;

use super::{TaskContext, editor::Editing};
use crate::app::{
    components::{FieldError, Markdown},
    forms::{priority_options, status_options},
};

/// Every field of the form, in order.
#[component]
pub fn TaskFields(editing: Editing) -> impl IntoView {
    let Editing { draft, can_edit, .. } = editing;
    view! {
        <label for="task-title">"Title"</label>
        <input id="task-title" maxlength="500" prop:value=move || draft.with(|d| d.title.clone())
            on:input=editing.text_input(|d| &mut d.title) disabled=move || !can_edit.get()
            aria-describedby="title-error"/>
        <FieldError id="title-error" message=editing.error("title")/>
        <PlanningRow editing/>
        <label for="task-labels">"Labels (comma separated)"</label>
        <input id="task-labels" disabled=move || !can_edit.get()
            prop:value=move || draft.with(|d| d.labels.clone())
            on:input=editing.text_input(|d| &mut d.labels) aria-describedby="labels-error"/>
        <FieldError id="labels-error" message=editing.error("labels")/>
        <Assignees editing/>
        <FieldError id="assignees-error" message=editing.error("assignees")/>
        <label for="task-description">"Description (Markdown)"</label>
        <textarea id="task-description" rows="8" disabled=move || !can_edit.get()
            prop:value=move || draft.with(|d| d.description.clone())
            on:input=editing.text_input(|d| &mut d.description) aria-describedby="description-error"></textarea>
        <FieldError id="description-error" message=editing.error("description")/>
        <h2 class="small">"Preview"</h2>
        <Markdown source=Signal::derive(move || draft.with(|d| d.description.clone()))/>
    }
}

/// Status, priority, start and due, side by side.
#[component]
fn PlanningRow(editing: Editing) -> impl IntoView {
    let Editing { draft, can_edit, .. } = editing;
    view! {
        <div class="row">
            <div class="field">
                <label for="task-status">"Status"</label>
                <select id="task-status" disabled=move || !can_edit.get()
                    on:change=move |e| { let v = event_target_value(&e).parse().unwrap_or(1); draft.update(|d| d.status = v); }>
                    {status_options(move || draft.with(|d| d.status))}
                </select>
            </div>
            <div class="field">
                <label for="task-priority">"Priority"</label>
                <select id="task-priority" disabled=move || !can_edit.get()
                    on:change=move |e| { let v = event_target_value(&e).parse().unwrap_or(0); draft.update(|d| d.priority = v); }>
                    {priority_options(move || draft.with(|d| d.priority))}
                </select>
            </div>
            <div class="field">
                <label for="task-start">"Start"</label>
                <input id="task-start" type="date" disabled=move || !can_edit.get()
                    prop:value=move || draft.with(|d| d.start_day.clone())
                    on:change=editing.text_input(|d| &mut d.start_day) aria-describedby="start_time-error"/>
                <FieldError id="start_time-error" message=editing.error("start_time")/>
            </div>
            <div class="field">
                <label for="task-due">"Due"</label>
                <input id="task-due" type="date" disabled=move || !can_edit.get()
                    prop:value=move || draft.with(|d| d.due_day.clone())
                    on:change=editing.text_input(|d| &mut d.due_day) aria-describedby="due_time-error"/>
                <FieldError id="due_time-error" message=editing.error("due_time")/>
            </div>
        </div>
    }
}

/// A checkbox per member.
#[component]
fn Assignees(editing: Editing) -> impl IntoView {
    let Editing { draft, can_edit, .. } = editing;
    let context = expect_context::<TaskContext>();
    view! {
        <fieldset disabled=move || !can_edit.get()>
            <legend>"Assignees"</legend>
            <For each=move || context.members.get().unwrap_or_default() key=|m| m.user.clone() let:member>
                {
                    let user = member.user.clone();
                    let checked_user = user.clone();
                    view! {
                        <label class="check">
                            <input type="checkbox"
                                prop:checked=move || draft.with(|d| d.assignees.contains(&checked_user))
                                on:change=move |e| {
                                    let on = event_target_checked(&e);
                                    let user = user.clone();
                                    draft.update(|d| {
                                        d.assignees.retain(|a| *a != user);
                                        if on { d.assignees.push(user); }
                                    });
                                }/>
                            {member.display_name.clone()}
                        </label>
                    }
                }
            </For>
        </fieldset>
    }
}
