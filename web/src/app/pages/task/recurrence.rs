//! The task's recurrence: a small editor (none, daily, weekly on the due
//! weekday, monthly, or a custom RRULE; from the due date or from
//! completion; the time zone, the browser's by default), a "Repeats" badge,
//! Skip, and the series' occurrences.

use crate::app::erased::{Job, Loader};
use leptos::prelude::*;
use tasktracker_proto::v1::{self, RecurrenceMode};

use super::TaskContext;
use crate::{
    app::{
        ToastList,
        api::{Api, ApiError},
        browser,
        components::FieldError,
    },
    model::{dates, names},
};

/// The presets, by rule; anything else is custom. A rule without BYDAY or
/// BYMONTHDAY repeats on the due date's weekday or day of the month.
const PRESETS: [(&str, &str); 3] = [("FREQ=DAILY", "Daily"), ("FREQ=WEEKLY", "Weekly"), ("FREQ=MONTHLY", "Monthly")];

/// What a rule is called in the badge.
fn describe(rule: &str) -> String {
    PRESETS.iter().find(|(r, _)| *r == rule).map_or_else(|| rule.to_owned(), |(_, label)| label.to_lowercase())
}

#[component]
pub fn Repeats() -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let context = expect_context::<TaskContext>();
    let current = move || context.task.with(|t| t.and_then(|t| t.as_ref().ok()).and_then(|t| t.recurrence.clone()));
    // The task's name, read once: the futures below may finish after the
    // page (and its context) is gone.
    let name = context.name.get_value();
    let occurrences = Loader::new({
        let name = name.clone();
        move || {
            let name = name.clone();
            async move { api.list_occurrences(name).await.map(|page| page.tasks).unwrap_or_default() }
        }
    });
    // The editor: "" (none), a preset's rule, or "custom".
    let choice = RwSignal::new(String::new());
    let custom = RwSignal::new(String::new());
    let mode = RwSignal::new(RecurrenceMode::FromDue as i32);
    let zone = RwSignal::new(browser::time_zone());
    Effect::new(move || {
        let Some(recurrence) = current() else { return choice.set(String::new()) };
        let preset = PRESETS.iter().any(|(rule, _)| *rule == recurrence.rule);
        choice.set(if preset { recurrence.rule.clone() } else { "custom".into() });
        custom.set(recurrence.rule);
        mode.set(recurrence.mode);
        zone.set(recurrence.time_zone);
    });
    let save = Job::new({
        let name = name.clone();
        move |_: &()| {
            let rule = match choice.get_untracked().as_str() {
                "" => None,
                "custom" => Some(custom.get_untracked()),
                preset => Some(preset.to_owned()),
            };
            let recurrence =
                rule.map(|rule| v1::Recurrence { rule, time_zone: zone.get_untracked(), mode: mode.get_untracked() });
            let task = v1::Task { name: name.clone(), recurrence, ..Default::default() };
            async move {
                api.update_task(task, vec!["recurrence".into()]).await?;
                toasts.show("Saved.", None);
                context.reload();
                occurrences.refetch();
                Ok::<_, ApiError>(())
            }
        }
    });
    let skip = Job::new({
        let name = name.clone();
        move |_: &()| {
            let name = name.clone();
            async move {
                let skipped = api.skip_occurrence(name).await?;
                let message = if skipped.next.is_some() {
                    "Skipped; the next one is listed below."
                } else {
                    "Skipped; that was the last one."
                };
                toasts.show(message, None);
                context.reload();
                occurrences.refetch();
                Ok::<_, ApiError>(())
            }
        }
    });
    let error = Signal::derive(move || save.error().get().or_else(|| skip.error().get()));
    let field_error = move |field: &'static str| Signal::derive(move || error.get().and_then(|e| e.field(field)));
    // For the list (its closures live only as long as the section).
    let shown = StoredValue::new(name);
    let (from_due, from_completion) = (RecurrenceMode::FromDue as i32, RecurrenceMode::FromCompletion as i32);
    let open = move || {
        context.task.with(|t| {
            t.and_then(|t| t.as_ref().ok())
                .is_some_and(|t| t.complete_time.is_none() && t.status != v1::TaskStatus::Done as i32)
        })
    };
    view! {
        <h2 id="repeats-heading">
            "Repeats"
            {move || current().map(|r| view! { " " <span class="badge">{format!("Repeats {}", describe(&r.rule))}</span> })}
        </h2>
        <form class="stack" aria-labelledby="repeats-heading" novalidate
            on:submit=move |e| { e.prevent_default(); save.dispatch(()); }>
            <fieldset class="row" disabled=move || !context.can_edit()>
                <legend class="sr-only">"Rule"</legend>
                <div class="field">
                    <label for="repeat-rule">"Repeat"</label>
                    <select id="repeat-rule" on:change=move |e| choice.set(event_target_value(&e))>
                        <option value="" prop:selected=move || choice.with(String::is_empty)>"Never"</option>
                        {PRESETS.into_iter().map(|(rule, label)| view! { <option value=rule prop:selected=move || choice.with(|c| c == rule)>{label}</option> }).collect_view()}
                        <option value="custom" prop:selected=move || choice.with(|c| c == "custom")>"Custom rule"</option>
                    </select>
                </div>
                <Show when=move || choice.with(|c| c == "custom")>
                    <div class="field">
                        <label for="repeat-custom">"RRULE"</label>
                        <input id="repeat-custom" maxlength="500" placeholder="FREQ=WEEKLY;BYDAY=TU;INTERVAL=2"
                            bind:value=custom aria-describedby="repeat-custom-error"/>
                        <FieldError id="repeat-custom-error" message=field_error("recurrence.rule")/>
                    </div>
                </Show>
                <div class="field">
                    <label for="repeat-mode">"From"</label>
                    <select id="repeat-mode" on:change=move |e| mode.set(event_target_value(&e).parse().unwrap_or(0))>
                        <option value=from_due prop:selected=move || mode.get() != from_completion>"the due date"</option>
                        <option value=from_completion prop:selected=move || mode.get() == from_completion>"completion"</option>
                    </select>
                </div>
                <div class="field">
                    <label for="repeat-zone">"Time zone"</label>
                    <input id="repeat-zone" bind:value=zone aria-describedby="repeat-zone-error"/>
                    <FieldError id="repeat-zone-error" message=field_error("recurrence.time_zone")/>
                </div>
            </fieldset>
            <FieldError id="repeat-error" message=Signal::derive(move || error.get().map(|e| e.field("due_time").unwrap_or_else(|| e.to_string())))/>
            <Show when=move || context.can_edit()>
                <div class="row">
                    <button type="submit" disabled=move || save.pending().get()>"Save recurrence"</button>
                    <Show when=move || current().is_some() && open()>
                        <button type="button" on:click=move |_| skip.dispatch(())>"Skip this one"</button>
                    </Show>
                </div>
            </Show>
        </form>
        <Show when=move || occurrences.with(|o| o.is_some_and(|o| o.len() > 1))>
            <h3>"Occurrences"</h3>
            <ul class="occurrences">
                {move || occurrences.get().unwrap_or_default().into_iter().map(|task| {
                    let here = shown.with_value(|shown| task.name == *shown);
                    let state = if task.skip_time.is_some() { "skipped" } else if task.complete_time.is_some() || task.status == v1::TaskStatus::Done as i32 { "done" } else { "open" };
                    let due = task.due_time.as_ref().map(dates::to_day_time).unwrap_or_default();
                    view! {
                        <li>
                            <a href=names::task_path(&task.name) aria-current=here.then_some("page")>{task.title}</a>
                            " · " {due} " · " {state}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </Show>
    }
}
