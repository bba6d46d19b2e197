//! A search-as-you-type task picker: an ARIA combobox whose listbox offers
//! the project's tasks matching the words typed (not the task `exclude`).
//! Arrow keys move through the options, Enter picks, Escape closes.

use crate::app::erased::Loader;
use leptos::{prelude::*, task::spawn_local};

use crate::{
    app::{api::Api, browser},
    model::{
        names,
        relations::{PICKER_RESULTS, search_filter, step},
    },
};

const LISTBOX: &str = "relation-task-options";

/// How long typing must pause before the search runs, in milliseconds.
const DEBOUNCE_MS: i32 = 250;

/// Writes the picked task's `(name, title)` to `picked`, and clears it on
/// typing; `text` is what the field shows (the owner clears both to start
/// over).
#[component]
pub fn TaskPicker(
    text: RwSignal<String>,
    picked: RwSignal<Option<(String, String)>>,
    exclude: StoredValue<String>,
) -> impl IntoView {
    let api = expect_context::<Api>();
    let query = RwSignal::new(String::new());
    let typed = StoredValue::new(0_u32);
    let open = RwSignal::new(false);
    let active = RwSignal::new(None::<usize>);
    let results = Loader::new(move || {
        let query = query.get();
        async move {
            let filter = search_filter(&query);
            if filter.is_empty() {
                return Vec::new();
            }
            let page = api.list_tasks(
                names::project_of(&exclude.get_value()),
                filter,
                "update_time desc".into(),
                // One more, in case the task itself is among them.
                PICKER_RESULTS as i32 + 1,
                String::new(),
            );
            let tasks = page.await.map(|page| page.tasks).unwrap_or_default();
            let others = tasks.into_iter().filter(|t| t.name != exclude.get_value());
            others.take(PICKER_RESULTS).map(|t| (t.name, t.title)).collect::<Vec<_>>()
        }
    });
    let options = move || results.get().unwrap_or_default();
    let shown = move || open.get() && !options().is_empty();
    let on_input = move |event: leptos::ev::Event| {
        let value = event_target_value(&event);
        let generation = typed.with_value(|t| t + 1);
        typed.set_value(generation);
        text.set(value.clone());
        picked.set(None);
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
        if let Some((name, title)) = options().get(index).cloned() {
            text.set(title.clone());
            picked.set(Some((name, title)));
            open.set(false);
            active.set(None);
        }
    };
    let on_keydown = move |event: leptos::ev::KeyboardEvent| match event.key().as_str() {
        "ArrowDown" | "ArrowUp" => {
            event.prevent_default();
            open.set(true);
            active.set(step(active.get_untracked(), options().len(), event.key() == "ArrowDown"));
        }
        "Enter" if shown() => {
            event.prevent_default();
            if let Some(index) = active.get_untracked() {
                choose(index);
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
        <label for="relation-task">"Task"</label>
        <input id="relation-task" type="text" role="combobox" autocomplete="off" aria-autocomplete="list"
            aria-controls=LISTBOX aria-expanded=move || shown().to_string() aria-describedby="relation-error"
            aria-activedescendant=move || active.get().filter(|_| shown()).map(option_id)
            prop:value=move || text.get() on:input=on_input on:keydown=on_keydown
            on:blur=move |_| open.set(false)/>
        <ul id=LISTBOX role="listbox" aria-label="Matching tasks" class="picker" hidden=move || !shown()>
            {move || options().into_iter().enumerate().map(|(index, (_, title))| view! {
                <li id=option_id(index) role="option" aria-selected=move || (active.get() == Some(index)).to_string()
                    on:mousedown=move |e| { e.prevent_default(); choose(index); }>{title}</li>
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
    }
}
