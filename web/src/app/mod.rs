//! The Leptos app: start-up, layout, routes and app-wide state.

pub mod api;
pub mod browser;
mod components;
mod erased;
mod forms;
mod grpc_web;
mod pages;
pub mod router;
mod search;
mod zone;

use self::erased::Job;
use leptos::prelude::*;

use self::{
    api::Api,
    components::{OfflineBanner, RequireAuth, ShortcutHelp, Toasts},
    router::{params, use_navigate},
};
use crate::model::config::Config;

/// Messages shown briefly at the bottom of the screen, some with Undo.
#[derive(Clone, Copy)]
pub struct ToastList(pub RwSignal<Vec<Toast>>);

/// One toast.
#[derive(Clone, PartialEq, Eq)]
pub struct Toast {
    pub id: u64,
    pub message: String,
    /// A deleted task the toast offers to restore.
    pub undo_task: Option<String>,
}

impl ToastList {
    /// Shows a toast for eight seconds.
    pub fn show(&self, message: impl Into<String>, undo_task: Option<String>) {
        let id = (js_sys::Math::random() * 1e15) as u64;
        let list = self.0;
        list.update(|toasts| toasts.push(Toast { id, message: message.into(), undo_task }));
        set_timeout(
            move || {
                let _ = list.try_update(|toasts| toasts.retain(|t| t.id != id));
            },
            std::time::Duration::from_secs(8),
        );
    }

    /// Shows what a call did: `done`'s message, or the error.
    pub fn report<T>(&self, result: api::ApiResult<T>, done: impl FnOnce(T) -> String) {
        match result {
            Ok(value) => self.show(done(value), None),
            Err(error) => self.show(error.to_string(), None),
        }
    }
}

/// Whether the live connection (watch stream) is up.
#[derive(Clone, Copy)]
pub struct Online(pub RwSignal<bool>);

/// Colour scheme: "system", "light" or "dark".
#[derive(Clone, Copy)]
pub struct Theme(pub RwSignal<String>);

/// Whether the keyboard shortcut help is open.
#[derive(Clone, Copy)]
pub struct HelpOpen(pub RwSignal<bool>);

const THEME_KEY: &str = "tasktracker.theme";

/// Loads `config.json`, then mounts the app.
pub fn start() {
    // Leptos' executor starts with the mount, so this first task uses the browser's.
    wasm_bindgen_futures::spawn_local(async {
        let text = browser::fetch_json_text("/config.json").await;
        let config = Config::parse(text.as_deref(), &browser::origin());
        leptos::mount::mount_to_body(move || match config.clone() {
            Ok(config) => view! { <App config/> }.into_any(),
            Err(error) => view! {
                <main class="page"><h1>"Tasktracker cannot start"</h1><p role="alert">{error.to_string()}</p></main>
            }
            .into_any(),
        });
    });
}

/// The whole app.
#[component]
fn App(config: Config) -> impl IntoView {
    let api = Api::new(config.api_base_url);
    provide_context(api);
    provide_context(pages::inbox::follow_inbox(api));
    provide_context(ToastList(RwSignal::new(Vec::new())));
    let online = Online(RwSignal::new(true));
    provide_context(online);
    // The browser knows first when the network goes; the watch stream reports
    // when the server is back (its first message after reconnecting).
    let offline_listener = window_event_listener(leptos::ev::offline, move |_| online.0.set(false));
    on_cleanup(move || offline_listener.remove());
    let help = HelpOpen(RwSignal::new(false));
    provide_context(help);
    let theme = Theme(RwSignal::new(browser::stored(THEME_KEY).unwrap_or_else(|| "system".into())));
    provide_context(theme);
    Effect::new(move |_| {
        let choice = theme.0.get();
        let dark = match choice.as_str() {
            "dark" => true,
            "light" => false,
            _ => browser::prefers_dark(),
        };
        browser::set_root_attribute("data-theme", if dark { "dark" } else { "light" });
        browser::store(THEME_KEY, (choice != "system").then_some(choice.as_str()));
    });

    // Global shortcuts; the pages mark their targets with ids and `data-nav`.
    let handle = window_event_listener(leptos::ev::keydown, move |event| {
        if event.ctrl_key() || event.meta_key() || event.alt_key() || browser::typing_into(event.target()) {
            return;
        }
        match event.key().as_str() {
            "?" => help.0.update(|open| *open = !*open),
            // The page's own filter where it has one, else the search box.
            "/" => {
                event.prevent_default();
                if !browser::focus_if_present("search") {
                    browser::focus(search::INPUT_ID);
                }
            }
            "s" => {
                event.prevent_default();
                browser::focus(search::INPUT_ID);
            }
            "n" => {
                event.prevent_default();
                browser::focus("new-task-title");
            }
            "j" => browser::focus_step(1),
            "k" => browser::focus_step(-1),
            _ => {}
        }
    });
    on_cleanup(move || handle.remove());

    let location = router::provide_router();
    let path = Memo::new(move |_| location.path.get());
    let page = move || {
        let path = path.get();
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match segments.as_slice() {
            [] => view! { <RequireAuth><pages::projects::ProjectsPage/></RequireAuth> }.into_any(),
            ["signin"] => view! { <pages::auth::SignInPage/> }.into_any(),
            // Where identity providers send the browser back (single sign-on).
            ["oidc", "callback"] => view! { <pages::auth::SignInPage/> }.into_any(),
            ["signup"] => view! { <pages::auth::SignUpPage/> }.into_any(),
            ["tokens"] => view! { <RequireAuth><pages::tokens::TokensPage/></RequireAuth> }.into_any(),
            ["sessions"] => view! { <RequireAuth><pages::sessions::SessionsPage/></RequireAuth> }.into_any(),
            ["profile"] => view! { <RequireAuth><pages::profile::ProfilePage/></RequireAuth> }.into_any(),
            ["inbox"] => view! { <RequireAuth><pages::inbox::InboxPage/></RequireAuth> }.into_any(),
            ["unsubscribe"] => view! { <pages::unsubscribe::UnsubscribePage/> }.into_any(),
            ["projects", project] => {
                provide_context(params(&[("project", project)]));
                view! { <RequireAuth><pages::project::ProjectPage/></RequireAuth> }.into_any()
            }
            ["projects", project, "members"] => {
                provide_context(params(&[("project", project)]));
                view! { <RequireAuth><pages::members::MembersPage/></RequireAuth> }.into_any()
            }
            ["projects", project, "workflow"] => {
                provide_context(params(&[("project", project)]));
                view! { <RequireAuth><pages::workflow::WorkflowPage/></RequireAuth> }.into_any()
            }
            ["projects", project, "fields"] => {
                provide_context(params(&[("project", project)]));
                view! { <RequireAuth><pages::fields::FieldsPage/></RequireAuth> }.into_any()
            }
            ["projects", project, "webhooks"] => {
                provide_context(params(&[("project", project)]));
                view! { <RequireAuth><pages::webhooks::WebhooksPage/></RequireAuth> }.into_any()
            }
            ["projects", project, "tasks", task] => {
                provide_context(params(&[("project", project), ("task", task)]));
                view! { <RequireAuth><pages::task::TaskPage/></RequireAuth> }.into_any()
            }
            _ => view! {
                <section class="page"><h1>"Page not found"</h1><a href="/">"Back to projects"</a></section>
            }
            .into_any(),
        }
    };

    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <Header/>
        <OfflineBanner/>
        <main id="main" tabindex="-1">{page}</main>
        <Toasts/>
        <ShortcutHelp/>
    }
}

/// The top bar: home, navigation, theme toggle, account.
#[component]
fn Header() -> impl IntoView {
    let api = expect_context::<Api>();
    let theme = expect_context::<Theme>();
    let help = expect_context::<HelpOpen>();
    let navigate = use_navigate();
    let sign_out = Job::new(move |_: &()| {
        let navigate = navigate.clone();
        async move {
            api.sign_out().await;
            navigate("/signin", Default::default());
        }
    });
    let next_theme = move || match theme.0.get().as_str() {
        "system" => "dark",
        "dark" => "light",
        _ => "system",
    };
    // Memoised: the session signal changes at every token refresh, and the
    // header's parts must not be rebuilt then.
    let signed_in = Memo::new(move |_| api.signed_in());
    view! {
        <header class="topbar">
            <a href="/" class="brand">"Tasktracker"</a>
            <nav aria-label="Main">
                {move || signed_in.get().then(|| view! {
                    <a href="/">"Projects"</a>
                    <pages::inbox::InboxLink/>
                    <a href="/tokens">"API tokens"</a>
                    <a href="/sessions">"Sessions"</a>
                })}
            </nav>
            {move || signed_in.get().then(|| view! {
                <search::GlobalSearch/>
            })}
            <div class="actions">
                <button
                    type="button"
                    class="ghost"
                    on:click=move |_| theme.0.set(next_theme().to_owned())
                    title=move || format!("Switch the colour scheme to {}", next_theme())
                >
                    {move || match theme.0.get().as_str() { "dark" => "Theme: dark", "light" => "Theme: light", _ => "Theme: auto" }}
                </button>
                <button type="button" class="ghost" on:click=move |_| help.0.set(true) aria-label="Keyboard shortcuts">
                    "?"
                </button>
                {move || signed_in.get().then(|| view! {
                    <a href="/profile" class="who" title="Your profile: name and time zone">
                        {move || api.session().map(|s| s.display_name).unwrap_or_default()}
                    </a>
                    <button type="button" class="ghost" on:click=move |_| { sign_out.dispatch(()); }>"Sign out"</button>
                })}
            </div>
        </header>
    }
}
