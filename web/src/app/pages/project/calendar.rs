//! The calendar (`?view=calendar`): the tasks due on each day of a month or
//! a week. A task dragged to another day, or moved with Alt and the arrow
//! keys (a day left and right, a week up and down), is due that day at the
//! same time of day. Live changes arrive through the project's task list.

use crate::app::erased::{Job, Loader};
use leptos::prelude::*;
use tasktracker_proto::v1::{self, TaskEventType, TaskStatus};

use super::ProjectState;
use crate::{
    app::{
        ToastList,
        api::{Api, ApiResult},
        browser,
    },
    model::{
        calendar::{self, Span, WEEKDAYS},
        names,
    },
};

/// Pages of 500 read at most per calendar page: 5,000 tasks.
const MOST_PAGES: usize = 10;

/// Every task due on `days`, in due order.
async fn due_on(api: Api, parent: String, days: std::ops::Range<i64>) -> ApiResult<Vec<v1::Task>> {
    let filter = calendar::filter(&days);
    let (mut tasks, mut token) = (Vec::new(), String::new());
    for _ in 0..MOST_PAGES {
        let page = api.list_tasks(parent.clone(), filter.clone(), "due_time".into(), 500, token).await?;
        tasks.extend(page.tasks);
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    Ok(tasks)
}

#[component]
pub fn Calendar() -> impl IntoView {
    let api = expect_context::<Api>();
    let state = expect_context::<ProjectState>();
    let toasts = expect_context::<ToastList>();
    let span = RwSignal::new(Span::Month);
    let anchor = RwSignal::new(browser::now_seconds().div_euclid(86_400));
    let days = Memo::new(move |_| calendar::page_days(span.get(), anchor.get()));
    let dragging = RwSignal::new(None::<String>);
    let loaded = Loader::new(move || {
        let asked = days.get();
        state.list_stale.track();
        async move {
            let tasks = due_on(api, state.name.get_value(), asked.clone()).await?;
            if days.try_get_untracked().as_ref() == Some(&asked) {
                state.list.try_set(tasks);
            }
            Ok::<_, crate::app::api::ApiError>(())
        }
    });
    let reschedule = Job::new(move |(task, day): &(v1::Task, i64)| {
        let (mut task, day) = (task.clone(), *day);
        async move {
            let title = task.title.clone();
            task.due_time = task.due_time.as_ref().map(|due| calendar::moved_to(due, day));
            let result = api.update_task(task, vec!["due_time".into()]).await;
            if let Ok(task) = &result {
                state.apply(TaskEventType::Updated, task.clone());
                state.announcement.try_set(format!("“{title}” is due {}.", calendar::day_name(day)));
            }
            result.map(drop).map_err(|e| {
                toasts.show(format!("Could not move “{title}”. {e}"), None);
                e
            })
        }
    });
    // Moves `name` to `day`; focus stays on its chip (keyboard moves).
    let move_to = move |name: &str, day: i64, refocus: bool| {
        let Some(task) = state.list.with_untracked(|l| l.iter().find(|t| t.name == name).cloned()) else { return };
        if task.due_time.as_ref().map(calendar::day_of) == Some(day) {
            return;
        }
        if refocus && !days.with_untracked(|days| days.contains(&day)) {
            anchor.set(day);
        }
        if refocus {
            let chip = format!("due-{}", names::id(name));
            set_timeout(move || browser::focus(&chip), std::time::Duration::from_millis(50));
        }
        reschedule.dispatch((task, day));
    };
    let weeks = move || {
        let days = days.get();
        let tasks = state.list.get();
        let due = |day: i64| tasks.iter().filter(move |t| t.due_time.as_ref().map(calendar::day_of) == Some(day));
        let month = calendar::date_of_month(anchor.get()) - anchor.get();
        let (first, last) = (days.start, days.end);
        (first..last)
            .step_by(7)
            .map(|week| {
                let cells = (week..week + 7)
                    .map(|day| {
                        // Days of the neighbouring months are dimmed on a month page.
                        let outside = span.get_untracked() == Span::Month
                            && calendar::date_of_month(day) - day != month;
                        let chips = due(day).map(|task| chip(task, day, dragging, move_to)).collect_view();
                        view! {
                            <td class:outside=outside
                                on:dragover=|e| e.prevent_default()
                                on:drop=move |e| {
                                    e.prevent_default();
                                    if let Some(name) = dragging.get_untracked() {
                                        dragging.set(None);
                                        move_to(&name, day, false);
                                    }
                                }>
                                <span class="date" aria-label=calendar::day_name(day)>{calendar::date_of_month(day)}</span>
                                <ul>{chips}</ul>
                            </td>
                        }
                    })
                    .collect_view();
                view! { <tr>{cells}</tr> }
            })
            .collect_view()
    };
    let go = move |by: i64| anchor.update(|a| *a = calendar::step(span.get_untracked(), *a, by));
    view! {
        {move || loaded.get().and_then(Result::err).map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
        <div class="row calendar-bar">
            <h2 aria-live="polite">{move || calendar::title(span.get(), anchor.get())}</h2>
            <button type="button" on:click=move |_| go(-1)>"← Previous"</button>
            <button type="button" on:click=move |_| anchor.set(browser::now_seconds().div_euclid(86_400))>"Today"</button>
            <button type="button" on:click=move |_| go(1)>"Next →"</button>
            <button type="button" aria-pressed=move || (span.get() == Span::Week).to_string()
                on:click=move |_| span.update(|s| *s = if *s == Span::Week { Span::Month } else { Span::Week })>"Week"</button>
        </div>
        <p class="hint">"Drag a task to another day, or focus it and press Alt + arrow keys (a day or a week)."</p>
        <table class="calendar" aria-busy=move || loaded.with(|l| l.is_none()).to_string()>
            <caption class="sr-only">"Tasks by due date"</caption>
            <thead><tr>{WEEKDAYS.iter().map(|d| view! { <th scope="col">{*d}</th> }).collect_view()}</tr></thead>
            <tbody>{weeks}</tbody>
        </table>
    }
}

/// A task on its due day: a link that drags, and moves by keyboard.
fn chip(
    task: &v1::Task,
    day: i64,
    dragging: RwSignal<Option<String>>,
    move_to: impl Fn(&str, i64, bool) + Copy + 'static,
) -> impl IntoView {
    let name = task.name.clone();
    let (drag_name, key_name) = (name.clone(), name.clone());
    let repeats = task.recurrence.is_some().then_some(" ↻");
    let done = task.status == TaskStatus::Done as i32;
    let label = format!(
        "{}{}, due {}. Alt plus arrow keys move it.",
        task.title,
        repeats.map_or("", |_| ", repeats"),
        calendar::day_name(day)
    );
    view! {
        <li>
            <a href=names::task_path(&name) id=format!("due-{}", names::id(&name)) data-nav="" draggable="true"
                class:done=done aria-label=label
                on:dragstart=move |e: leptos::ev::DragEvent| {
                    if let Some(transfer) = e.data_transfer() {
                        let _ = transfer.set_data("text/plain", &drag_name);
                    }
                    dragging.set(Some(drag_name.clone()));
                }
                on:keydown=move |e: leptos::ev::KeyboardEvent| {
                    let by = match (e.alt_key(), e.key().as_str()) {
                        (true, "ArrowLeft") => -1,
                        (true, "ArrowRight") => 1,
                        (true, "ArrowUp") => -7,
                        (true, "ArrowDown") => 7,
                        _ => return,
                    };
                    e.prevent_default();
                    move_to(&key_name, day + by, true);
                }>
                {task.title.clone()}{repeats}
            </a>
        </li>
    }
}
