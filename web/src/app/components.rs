//! Pieces shared by the pages.

use super::router::Redirect;
use crate::app::erased::Job;
use leptos::{html, prelude::*, task::spawn_local};

use super::{HelpOpen, Online, ToastList, api::Api, browser};

/// Shown while the live connection is down.
#[component]
pub fn OfflineBanner() -> impl IntoView {
    let online = expect_context::<Online>();
    view! {
        {move || (!online.0.get()).then(|| view! {
            <div class="banner offline" role="status">
                "You are offline. Live updates are paused; reconnecting…"
            </div>
        })}
    }
}

/// The toast stack, with Undo for deleted tasks.
#[component]
pub fn Toasts() -> impl IntoView {
    let toasts = expect_context::<ToastList>();
    let api = expect_context::<Api>();
    let restore = Job::new(move |task: &String| {
        let task = task.clone();
        async move {
            match api.undelete_task(task).await {
                Ok(task) => toasts.show(format!("Restored “{}”.", task.title), None),
                Err(error) => toasts.show(format!("Could not restore the task. {error}"), None),
            }
        }
    });
    let undo = move |id: u64, task: String| {
        toasts.0.update(|list| list.retain(|t| t.id != id));
        restore.dispatch(task);
    };
    view! {
        <div class="toasts" role="status" aria-live="polite">
            {move || (toasts.0.get()).into_iter().map(|toast| view! {
                <div class="toast">
                    <span>{toast.message.clone()}</span>
                    {toast.undo_task.clone().map(|task| {
                        let id = toast.id;
                        view! { <button type="button" on:click=move |_| undo(id, task.clone())>"Undo"</button> }
                    })}
                    <button
                        type="button"
                        class="ghost"
                        aria-label="Dismiss"
                        on:click=move |_| toasts.0.update(|list| list.retain(|t| t.id != toast.id))
                    >
                        "×"
                    </button>
                </div>
            }).collect_view()}
        </div>
    }
}

/// The `?` dialog listing keyboard shortcuts.
#[component]
pub fn ShortcutHelp() -> impl IntoView {
    let help = expect_context::<HelpOpen>();
    let dialog = NodeRef::<html::Dialog>::new();
    Effect::new(move |_| {
        let open = help.0.get();
        if let Some(dialog) = dialog.get() {
            if open && !dialog.open() {
                let _ = dialog.show_modal();
            } else if !open && dialog.open() {
                dialog.close();
            }
        }
    });
    view! {
        <dialog node_ref=dialog aria-labelledby="help-title" on:close=move |_| help.0.set(false)>
            <h2 id="help-title">"Keyboard shortcuts"</h2>
            <dl class="shortcuts">
                <dt><kbd>"n"</kbd></dt><dd>"New task"</dd>
                <dt><kbd>"/"</kbd></dt><dd>"Filter this project's tasks (elsewhere: search all projects)"</dd>
                <dt><kbd>"s"</kbd></dt><dd>"Search tasks in all projects"</dd>
                <dt><kbd>"j"</kbd>" / "<kbd>"k"</kbd></dt><dd>"Next / previous task"</dd>
                <dt><kbd>"Alt"</kbd>" + "<kbd>"←"</kbd><kbd>"→"</kbd></dt><dd>"Move the focused card to the previous / next column"</dd>
                <dt><kbd>"Alt"</kbd>" + "<kbd>"↑"</kbd><kbd>"↓"</kbd></dt><dd>"Move the focused card up / down"</dd>
                <dt><kbd>"?"</kbd></dt><dd>"Show this help"</dd>
            </dl>
            <form method="dialog"><button type="submit" autofocus>"Close"</button></form>
        </dialog>
    }
}

/// Sends signed-out visitors to the sign-in page.
#[component]
pub fn RequireAuth(children: ChildrenFn) -> impl IntoView {
    let api = expect_context::<Api>();
    view! {
        <Show when=move || api.signed_in() fallback=|| view! { <Redirect path="/signin"/> }>
            {children()}
        </Show>
    }
}

/// How long typing must pause before the preview is rendered again.
const PREVIEW_DEBOUNCE_MS: i32 = 300;

/// A live preview of Markdown being edited. The server renders it (the app
/// carries no Markdown parser), exactly as it renders comments, once typing
/// pauses; the previous preview stays up meanwhile, and on a failed render.
#[component]
pub fn MarkdownPreview(#[prop(into)] source: Signal<String>) -> impl IntoView {
    let api = expect_context::<Api>();
    let html = RwSignal::new(String::new());
    let edits = StoredValue::new(0_u64);
    Effect::new(move |previous: Option<()>| {
        let markdown = source.get();
        let edit = edits.with_value(|count| count + 1);
        edits.set_value(edit);
        let latest = move || edits.try_with_value(|count| *count == edit).unwrap_or(false);
        spawn_local(async move {
            // The first render is not a keystroke: no pause.
            if previous.is_some() {
                browser::sleep(PREVIEW_DEBOUNCE_MS).await;
            }
            if !latest() {
                return;
            }
            let rendered =
                if markdown.trim().is_empty() { Ok(String::new()) } else { api.render_markdown(markdown).await };
            if let Ok(rendered) = rendered
                && latest()
            {
                html.try_set(rendered);
            }
        });
    });
    view! { <div class="markdown" inner_html=move || html.get()></div> }
}

/// A server or client message about one form field, tied to its control.
#[component]
pub fn FieldError(#[prop(into)] id: String, #[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        {move || (message.get().is_some()).then(|| view! {
            <p class="field-error" id=id.clone() role="alert">{move || message.get()}</p>
        })}
    }
}

/// Its children, or the first error they render (a failed load) in their place.
#[component]
pub fn Failure(children: Children) -> impl IntoView {
    view! {
        <ErrorBoundary fallback=|errors| view! {
            <p role="alert" class="error">
                {move || errors.with(|errors| errors.iter().next().map(|(_, error)| error.to_string()))}
            </p>
        }>
            {children()}
        </ErrorBoundary>
    }
}
