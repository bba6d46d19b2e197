//! The header's search box: `SearchTasks` across every project the user is
//! a member of, as an ARIA combobox. Results come best first, each with its
//! project and a snippet whose matched words are `<mark>`ed: the snippet
//! arrives as plain text pieces, rendered as text nodes, so nothing the
//! user typed into a task is ever read as markup. Arrow keys move through
//! the results, Enter opens the task, Escape closes; `s` focuses the box
//! from anywhere (and `/` where the page has no filter of its own).

use leptos::{prelude::*, task::spawn_local};
use tasktracker_proto::v1;

use crate::{
    app::{api::Api, browser, erased::Loader, router::use_navigate},
    model::{names, relations::step},
};

const LISTBOX: &str = "global-search-results";
/// Results shown.
const RESULTS: i32 = 8;
/// How long typing must pause before the search runs, in milliseconds.
const DEBOUNCE_MS: i32 = 250;

/// The id of the search box, for shortcuts.
pub const INPUT_ID: &str = "global-search";

#[component]
pub fn GlobalSearch() -> impl IntoView {
    let api = expect_context::<Api>();
    let navigate = StoredValue::new(use_navigate());
    let text = RwSignal::new(String::new());
    let query = RwSignal::new(String::new());
    let typed = StoredValue::new(0_u32);
    let open = RwSignal::new(false);
    let active = RwSignal::new(None::<usize>);
    let results = Loader::new(move || {
        let query = query.get();
        async move {
            if !query.chars().any(char::is_alphanumeric) {
                return Vec::new();
            }
            api.search_tasks(query, RESULTS).await.map(|page| page.results).unwrap_or_default()
        }
    });
    let options = move || results.get().unwrap_or_default();
    let shown = move || open.get() && !options().is_empty();
    let on_input = move |event: leptos::ev::Event| {
        let value = event_target_value(&event);
        let generation = typed.with_value(|t| t + 1);
        typed.set_value(generation);
        text.set(value.clone());
        open.set(true);
        active.set(None);
        spawn_local(async move {
            browser::sleep(DEBOUNCE_MS).await;
            if typed.try_with_value(|t| *t == generation).unwrap_or(false) {
                query.try_set(value);
            }
        });
    };
    let choose = move |index: usize| {
        if let Some(task) = options().get(index).and_then(|result| result.task.clone()) {
            open.set(false);
            active.set(None);
            text.set(String::new());
            query.set(String::new());
            navigate.with_value(|navigate| navigate(&names::task_path(&task.name), Default::default()));
        }
    };
    let on_keydown = move |event: leptos::ev::KeyboardEvent| match event.key().as_str() {
        "ArrowDown" | "ArrowUp" => {
            event.prevent_default();
            open.set(true);
            active.set(step(active.get_untracked(), options().len(), event.key() == "ArrowDown"));
        }
        "Enter" => {
            event.prevent_default();
            if shown() {
                choose(active.get_untracked().unwrap_or(0));
            }
        }
        "Escape" if open.get_untracked() => {
            event.prevent_default();
            open.set(false);
            active.set(None);
        }
        _ => {}
    };
    let option_id = |index: usize| format!("{LISTBOX}-{index}");
    view! {
        <div class="global-search" role="search" aria-label="All projects">
            <label for=INPUT_ID class="sr-only">"Search tasks in all projects"</label>
            <input id=INPUT_ID type="text" role="combobox" autocomplete="off" aria-autocomplete="list"
                placeholder="Search all projects (s)" aria-controls=LISTBOX aria-expanded=move || shown().to_string()
                aria-activedescendant=move || active.get().filter(|_| shown()).map(option_id)
                prop:value=move || text.get() on:input=on_input on:keydown=on_keydown
                on:blur=move |_| open.set(false)/>
            <ul id=LISTBOX role="listbox" aria-label="Search results" class="picker search-results" hidden=move || !shown()>
                {move || options().into_iter().enumerate().map(|(index, result)| {
                    let title = result.task.as_ref().map(|task| task.title.clone()).unwrap_or_default();
                    view! {
                        <li id=option_id(index) role="option" aria-selected=move || (active.get() == Some(index)).to_string()
                            on:mousedown=move |e| { e.prevent_default(); choose(index); }>
                            <span class="result-title">{title}</span>
                            <span class="result-project">{result.project_title.clone()}</span>
                            <span class="result-snippet">{snippet(&result.snippet)}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <p class="sr-only" aria-live="polite">{move || {
                let count = options().len();
                (open.get() && !query.get().trim().is_empty()).then(|| match count {
                    0 => "No matching tasks.".to_owned(),
                    1 => "1 matching task.".to_owned(),
                    n => format!("{n} matching tasks."),
                })
            }}</p>
        </div>
    }
}

/// A snippet's pieces as text, the matched ones in `<mark>`.
fn snippet(segments: &[v1::SnippetSegment]) -> Vec<AnyView> {
    segments
        .iter()
        .map(|segment| {
            let text = segment.text.clone();
            if segment.highlighted { view! { <mark>{text}</mark> }.into_any() } else { text.into_any() }
        })
        .collect()
}
