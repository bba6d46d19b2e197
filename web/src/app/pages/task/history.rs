//! The task's history: who changed what, newest last.

use leptos::prelude::*;
use tasktracker_proto::v1::TaskEventType;

use super::TaskContext;

fn event_label(kind: i32) -> &'static str {
    match TaskEventType::try_from(kind).unwrap_or_default() {
        TaskEventType::Created => "created the task",
        TaskEventType::Updated => "changed",
        TaskEventType::Deleted => "deleted the task",
        TaskEventType::Undeleted => "restored the task",
        TaskEventType::Moved => "moved the task",
        TaskEventType::Unspecified => "changed the task",
    }
}

#[component]
pub fn History() -> impl IntoView {
    let context = expect_context::<TaskContext>();
    view! {
        <h2>"History"</h2>
        <ol class="history">
            {move || (context.history.get().unwrap_or_default()).into_iter().map(|activity| view! {
                <li>
                    <strong>{context.person(&activity.actor)}</strong> " " {event_label(activity.r#type)}
                    " · " <span class="muted">{activity.time.as_ref().map(crate::app::zone::day_time)}</span>
                    <ul>
                        {activity.changes.iter().map(|c| view! {
                            <li><code>{c.field.clone()}</code> ": " {c.old_value.clone()} " → " {c.new_value.clone()}</li>
                        }).collect_view()}
                    </ul>
                </li>
            }).collect_view()}
        </ol>
    }
}
