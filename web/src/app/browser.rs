//! Small wrappers over browser APIs: storage, timers, focus, ids, cancellation.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll, Waker},
};

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn window() -> web_sys::Window {
    web_sys::window().expect("a browser window")
}

/// Seconds since the Unix epoch.
pub fn now_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// The browser's IANA time zone (`Europe/Berlin`), or `UTC` if it has none.
pub fn time_zone() -> String {
    let options = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new()).resolved_options();
    js_sys::Reflect::get(&options, &JsValue::from_str("timeZone"))
        .ok()
        .and_then(|zone| zone.as_string())
        .unwrap_or_else(|| "UTC".into())
}

/// Focuses `element` once it is in the page (after the render that adds or
/// unhides it).
pub fn focus_soon(element: web_sys::HtmlElement) {
    leptos::task::spawn_local(async move {
        sleep(0).await;
        let _ = element.focus();
    });
}

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

fn local_storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// A value from `localStorage`.
pub fn stored(key: &str) -> Option<String> {
    local_storage()?.get_item(key).ok().flatten()
}

/// Writes (or with `None` removes) a `localStorage` value.
pub fn store(key: &str, value: Option<&str>) {
    if let Some(storage) = local_storage() {
        let _ = match value {
            Some(value) => storage.set_item(key, value),
            None => storage.remove_item(key),
        };
    }
}

/// A random UUID for `request_id`s.
pub fn uuid() -> String {
    window().crypto().map(|crypto| crypto.random_uuid()).unwrap_or_else(|_| format!("{}", js_sys::Math::random()))
}

/// Moves keyboard focus to the element with this id, if it exists.
pub fn focus(id: &str) {
    if let Some(element) = window().document().and_then(|d| d.get_element_by_id(id))
        && let Ok(element) = element.dyn_into::<web_sys::HtmlElement>()
    {
        let _ = element.focus();
    }
}

/// Whether an element with this id exists; if so, focuses it.
pub fn focus_if_present(id: &str) -> bool {
    let present = window().document().and_then(|d| d.get_element_by_id(id)).is_some();
    if present {
        focus(id);
    }
    present
}

/// Leaves the app for `url` (an identity provider's sign-in page).
pub fn go_to(url: &str) {
    let _ = window().location().assign(url);
}

/// The page's origin, e.g. `http://127.0.0.1:8080`.
pub fn origin() -> String {
    window().location().origin().unwrap_or_default()
}

/// The text of a same-origin JSON file, `None` if it is missing or not JSON
/// (a single-page-app fallback answers unknown paths with `index.html`).
pub async fn fetch_json_text(path: &str) -> Option<String> {
    let response = JsFuture::from(window().fetch_with_str(path)).await.ok()?;
    let response: web_sys::Response = response.dyn_into().ok()?;
    let json = response.headers().get("content-type").ok().flatten().is_some_and(|t| t.contains("json"));
    if !response.ok() || !json {
        return None;
    }
    JsFuture::from(response.text().ok()?).await.ok()?.as_string()
}

/// Whether the user prefers a dark colour scheme.
pub fn prefers_dark() -> bool {
    window().match_media("(prefers-color-scheme: dark)").ok().flatten().is_some_and(|m| m.matches())
}

/// Sets an attribute on `<html>`.
pub fn set_root_attribute(name: &str, value: &str) {
    if let Some(root) = window().document().and_then(|d| d.document_element()) {
        let _ = root.set_attribute(name, value);
    }
}

/// Sets the document title to `{page} · Tasktracker`.
pub fn set_title(page: &str) {
    if let Some(document) = window().document() {
        document.set_title(&format!("{page} · Tasktracker"));
    }
}

/// Whether keyboard input is going into a text control (shortcuts stay off).
pub fn typing_into(target: Option<web_sys::EventTarget>) -> bool {
    let Some(element) = target.and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return false };
    matches!(element.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
        || element.get_attribute("contenteditable").is_some()
}

/// Moves focus to the next (`step` 1) or previous (-1) element marked
/// `data-nav` on the page: rows of the list, cards of the board.
pub fn focus_step(step: i32) {
    let Some(document) = window().document() else { return };
    let Ok(items) = document.query_selector_all("[data-nav]") else { return };
    let count = items.length() as i32;
    if count == 0 {
        return;
    }
    let active: Option<JsValue> = document.active_element().map(Into::into);
    let current = (0..count).find(|i| items.item(*i as u32).map(JsValue::from) == active);
    let next = match current {
        Some(i) => (i + step).clamp(0, count - 1),
        None if step > 0 => 0,
        None => count - 1,
    };
    if let Some(element) = items.item(next as u32).and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = element.focus();
    }
}

/// Cancels futures run through it, e.g. a watch stream when its page closes.
#[derive(Clone, Default)]
pub struct Cancel(Arc<Mutex<CancelState>>);

#[derive(Default)]
struct CancelState {
    cancelled: bool,
    wakers: Vec<Waker>,
}

impl Cancel {
    /// Cancels every future running through this, now and later.
    pub fn cancel(&self) {
        let wakers = {
            let mut state = self.0.lock().expect("not poisoned");
            state.cancelled = true;
            std::mem::take(&mut state.wakers)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Whether `cancel` was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.lock().expect("not poisoned").cancelled
    }

    /// Runs `future` to completion, or `None` once cancelled.
    pub async fn run<F: Future>(&self, future: F) -> Option<F::Output> {
        Race { cancel: self.clone(), future: Box::pin(future) }.await
    }
}

struct Race<F: Future> {
    cancel: Cancel,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for Race<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        {
            let mut state = self.cancel.0.lock().expect("not poisoned");
            if state.cancelled {
                return Poll::Ready(None);
            }
            if !state.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                state.wakers.push(cx.waker().clone());
            }
        }
        self.future.as_mut().poll(cx).map(Some)
    }
}
