//! A small client-side router: the URL as a signal, `history.pushState`
//! navigation, and same-origin `<a href="/…">` clicks handled in place.
//! (leptos_router did the same for about 36 KB more of the brotli bundle.)

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// The current URL: path and query string (without `?`).
#[derive(Clone, Copy)]
pub struct Location {
    pub path: RwSignal<String>,
    pub query: RwSignal<String>,
}

/// Path or query parameters by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// A parameter's value.
    pub fn get(&self, key: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    /// The same parameters (route parameters never change on a page).
    pub fn get_untracked(&self) -> Self {
        self.clone()
    }

    /// Reads the parameters.
    pub fn with_untracked<R>(&self, read: impl FnOnce(&Self) -> R) -> R {
        read(self)
    }
}

/// Options of a navigation (none yet; kept for call-site clarity).
#[derive(Default)]
pub struct NavigateOptions;

fn window() -> web_sys::Window {
    web_sys::window().expect("a browser window")
}

fn read_location() -> (String, String) {
    let location = window().location();
    let path = location.pathname().unwrap_or_else(|_| "/".into());
    let query = location.search().unwrap_or_default().trim_start_matches('?').to_owned();
    (path, query)
}

/// Starts routing: provides `Location`, follows back/forward and link clicks.
pub fn provide_router() -> Location {
    let (path, query) = read_location();
    let location = Location { path: RwSignal::new(path), query: RwSignal::new(query) };
    provide_context(location);
    let popstate = window_event_listener(leptos::ev::popstate, move |_| {
        let (path, query) = read_location();
        location.path.set(path);
        location.query.set(query);
    });
    let clicks = window_event_listener(leptos::ev::click, move |event| {
        if event.default_prevented() || event.button() != 0 || event.ctrl_key() || event.meta_key() || event.shift_key()
        {
            return;
        }
        let anchor = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("a[href]").ok().flatten());
        let Some(anchor) = anchor else { return };
        let href = anchor.get_attribute("href").unwrap_or_default();
        if !href.starts_with('/') || href.starts_with("//") || anchor.has_attribute("target") {
            return;
        }
        event.prevent_default();
        navigate_to(location, &href);
    });
    on_cleanup(move || {
        popstate.remove();
        clicks.remove();
    });
    location
}

fn navigate_to(location: Location, href: &str) {
    let _ = window().history().and_then(|h| h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(href)));
    let (path, query) = href.split_once('?').unwrap_or((href, ""));
    location.path.set(path.to_owned());
    location.query.set(query.to_owned());
    window().scroll_to_with_x_and_y(0.0, 0.0);
}

/// A function that navigates to an app path.
pub fn use_navigate() -> impl Fn(&str, NavigateOptions) + Clone + Send + Sync + 'static {
    let location = expect_context::<Location>();
    move |href: &str, _: NavigateOptions| navigate_to(location, href)
}

/// The route's parameters (`:project`, `:task`).
pub fn use_params_map() -> Params {
    expect_context::<Params>()
}

/// The query string's parameters, tracked.
pub fn use_query_map() -> Memo<Params> {
    let location = expect_context::<Location>();
    Memo::new(move |_| {
        Params(location.query.with(|q| {
            q.split('&')
                .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        }))
    })
}

/// Route parameters for a page.
pub fn params(pairs: &[(&str, &str)]) -> Params {
    Params(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
}

/// Navigates to `path` once rendered.
#[component]
pub fn Redirect(path: &'static str) -> impl IntoView {
    let navigate = use_navigate();
    Effect::new(move |_| navigate(path, NavigateOptions));
}
