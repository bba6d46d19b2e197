//! The task form's fields, each bound to the draft.

use leptos::prelude::*;

use super::{
    TaskContext,
    custom::CustomFields,
    editor::Editing,
    mention::{MentionAssist, MentionOptions},
};
use crate::{
    app::{
        components::{FieldError, MarkdownPreview},
        forms::priority_options,
    },
    model::edit::TaskDraft,
};

/// Every field of the form, in order.
#[component]
pub fn TaskFields(editing: Editing) -> impl IntoView {
    let Editing { draft, can_edit, .. } = editing;
    let description_editor = NodeRef::<leptos::html::Textarea>::new();
    let set_description = Callback::new(move |text: String| draft.update(|d| d.description = text));
    let assist = MentionAssist::new("description-mentions", description_editor, set_description);
    let described = editing.text_input(|d| &mut d.description);
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
        <CustomFields editing/>
        <label for="task-description">"Description (Markdown)"</label>
        <textarea id="task-description" rows="8" disabled=move || !can_edit.get() node_ref=description_editor
            prop:value=move || draft.with(|d| d.description.clone())
            on:input=move |event| { described(event); assist.on_input(); }
            on:keydown=move |event| { assist.on_keydown(&event); }
            aria-autocomplete="list" aria-controls=assist.listbox() aria-activedescendant=move || assist.active_id()
            aria-describedby="description-error"></textarea>
        <MentionOptions assist/>
        <FieldError id="description-error" message=editing.error("description")/>
        <h2 class="small">"Preview"</h2>
        <MarkdownPreview source=Signal::derive(move || draft.with(|d| d.description.clone()))/>
    }
}

/// State, priority, start and due, side by side.
#[component]
fn PlanningRow(editing: Editing) -> impl IntoView {
    let draft = editing.draft;
    view! {
        <div class="row">
            <StatePicker editing/>
            <ChoiceField editing id="task-priority" label="Priority" unknown=0 set=|d, v| d.priority = v>
                {priority_options(move || draft.with(|d| d.priority))}
            </ChoiceField>
            <DateField editing id="task-start" label="Start" field="start_time" get=|d| &d.start_day set=|d| &mut d.start_day/>
            <DateField editing id="task-due" label="Due" field="due_time" get=|d| &d.due_day set=|d| &mut d.due_day/>
        </div>
    }
}

/// A select of numbered options (`children`) writing its choice, or
/// `unknown`, to the draft.
#[component]
fn ChoiceField(
    editing: Editing,
    id: &'static str,
    label: &'static str,
    unknown: i32,
    set: fn(&mut TaskDraft, i32),
    children: Children,
) -> impl IntoView {
    let Editing { draft, can_edit, .. } = editing;
    let on_change = move |e: leptos::ev::Event| {
        let value = event_target_value(&e).parse().unwrap_or(unknown);
        draft.update(|d| set(d, value));
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select id=id disabled=move || !can_edit.get() on:change=on_change>{children()}</select>
        </div>
    }
}

/// The task's workflow state: the project's states that can take tasks,
/// in board order, by their names (and the task's own, if archived).
#[component]
fn StatePicker(editing: Editing) -> impl IntoView {
    let Editing { draft, can_edit, .. } = editing;
    let context = expect_context::<TaskContext>();
    let current = move || draft.with(|d| d.state.clone());
    let options = move || {
        let current = current();
        context.states.with(|states| {
            states
                .into_iter()
                .flatten()
                .filter(|s| !s.archived || s.name == current)
                .map(|s| {
                    (
                        s.name.clone(),
                        if s.archived { format!("{} (archived)", s.display_name) } else { s.display_name.clone() },
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    let on_change = move |e: leptos::ev::Event| {
        let value = event_target_value(&e);
        draft.update(|d| d.state = value);
    };
    view! {
        <div class="field">
            <label for="task-state">"State"</label>
            <select id="task-state" disabled=move || !can_edit.get() on:change=on_change aria-describedby="state-error">
                {move || (options()).into_iter().map(|option| view! {
                    {
                        let (name, label) = option;
                        let selected = name.clone();
                        view! { <option value=name prop:selected=move || current() == selected>{label}</option> }
                    }
                }).collect_view()}
            </select>
            <FieldError id="state-error" message=editing.error("state")/>
        </div>
    }
}

/// A day of the draft, with the server's message about `field`.
#[component]
fn DateField(
    editing: Editing,
    id: &'static str,
    label: &'static str,
    field: &'static str,
    get: fn(&TaskDraft) -> &String,
    set: fn(&mut TaskDraft) -> &mut String,
) -> impl IntoView {
    let Editing { draft, can_edit, .. } = editing;
    let error_id = format!("{field}-error");
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id type="date" disabled=move || !can_edit.get()
                prop:value=move || draft.with(|d| get(d).clone())
                on:change=editing.text_input(set) aria-describedby=error_id.clone()/>
            <FieldError id=error_id message=editing.error(field)/>
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
            {move || (context.members.get().unwrap_or_default()).into_iter().map(|member| view! {
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
            }).collect_view()}
        </fieldset>
    }
}
