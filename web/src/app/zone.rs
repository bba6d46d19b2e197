//! The time zone the app shows times in: the one the user chose in their
//! profile (`User.time_zone`), else the device's. Times are formatted by the
//! browser's own `Intl` (`Date.toLocaleString` with a `timeZone`), which
//! carries the zone database, so the bundle carries none.
//!
//! The choice is remembered in `localStorage` so the first render already
//! uses it; signing in, saving the profile and reading the account (the
//! Sessions page) refresh it from the server.

use leptos::prelude::*;
use prost_types::Timestamp;
use wasm_bindgen::JsValue;

use super::browser;
use crate::model::dates;

const KEY: &str = "tasktracker.time_zone";

thread_local! {
    /// The chosen zone; empty for the device's. Reference-counted, not
    /// arena-owned: it must outlive whichever page first reads it.
    static CHOSEN: ArcRwSignal<String> = ArcRwSignal::new(browser::stored(KEY).unwrap_or_default());
}

/// The zone the user chose, empty for the device's (tracked).
pub fn chosen() -> String {
    CHOSEN.with(|chosen| chosen.get())
}

/// Records the user's choice (from their profile).
pub fn choose(zone: &str) {
    browser::store(KEY, (!zone.is_empty()).then_some(zone));
    CHOSEN.with(|chosen| chosen.set(zone.to_owned()));
}

fn intl(name: &str) -> Option<JsValue> {
    let intl = js_sys::Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
    js_sys::Reflect::get(&intl, &name.into()).ok().filter(|value| !value.is_undefined())
}

fn set(object: &js_sys::Object, key: &str, value: &str) {
    let _ = js_sys::Reflect::set(object, &key.into(), &value.into());
}

/// `YYYY-MM-DD HH:MM ZONE` of `timestamp` in the chosen zone (tracked: a
/// new choice re-renders); UTC if the browser cannot format it. The Swedish
/// locale writes dates and times in the ISO order.
pub fn day_time(timestamp: &Timestamp) -> String {
    let zone = chosen();
    let options = js_sys::Object::new();
    for (key, value) in [("year", "numeric"), ("month", "2-digit"), ("day", "2-digit"), ("hour", "2-digit")] {
        set(&options, key, value);
    }
    for (key, value) in [("minute", "2-digit"), ("timeZoneName", "short")] {
        set(&options, key, value);
    }
    if !zone.is_empty() {
        set(&options, "timeZone", &zone);
    }
    let date = js_sys::Date::new(&JsValue::from_f64(timestamp.seconds as f64 * 1000.0));
    // Through `Reflect`: a zone this browser does not know throws, and that
    // must fall back, not abort the app.
    js_sys::Reflect::get(&date, &"toLocaleString".into())
        .and_then(|method| {
            let arguments = js_sys::Array::of2(&"sv-SE".into(), &options);
            js_sys::Reflect::apply(&method.into(), &date, &arguments)
        })
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_else(|| dates::to_day_time(timestamp))
}

/// The zones the browser knows, for the profile's choice.
pub fn known_zones() -> Vec<String> {
    let Some(supported) = intl("supportedValuesOf") else { return Vec::new() };
    let supported: js_sys::Function = supported.into();
    supported
        .call1(&JsValue::UNDEFINED, &"timeZone".into())
        .ok()
        .map(|zones| js_sys::Array::from(&zones).iter().filter_map(|zone| zone.as_string()).collect())
        .unwrap_or_default()
}
