//! The time zone the app shows times in: the one the user chose in their
//! profile (`User.time_zone`), else the device's. Times are formatted by the
//! browser's own `Intl.DateTimeFormat`, which carries the zone database, so
//! the bundle carries none.
//!
//! The choice is remembered in `localStorage` so the first render already
//! uses it; signing in and the profile page refresh it from the server.

use std::cell::RefCell;

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
    /// The formatter of the last zone used, made once per zone.
    static FORMAT: RefCell<Option<(String, Option<js_sys::Object>)>> = const { RefCell::new(None) };
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

/// An `Intl.DateTimeFormat` for `zone` (empty: the device's), or `None` if
/// the browser does not know the zone.
fn formatter(zone: &str) -> Option<js_sys::Object> {
    let constructor: js_sys::Function = intl("DateTimeFormat")?.into();
    let options = js_sys::Object::new();
    for (key, value) in [("year", "numeric"), ("month", "2-digit"), ("day", "2-digit")] {
        set(&options, key, value);
    }
    for (key, value) in [("hour", "2-digit"), ("minute", "2-digit"), ("hourCycle", "h23"), ("timeZoneName", "short")] {
        set(&options, key, value);
    }
    if !zone.is_empty() {
        set(&options, "timeZone", zone);
    }
    let arguments = js_sys::Array::of2(&js_sys::Array::of1(&"en-CA".into()), &options);
    js_sys::Reflect::construct(&constructor, &arguments).ok().map(Into::into)
}

/// `YYYY-MM-DD HH:MM ZONE` of `timestamp` in the chosen zone (tracked: a
/// new choice re-renders); UTC if the browser cannot format it.
pub fn day_time(timestamp: &Timestamp) -> String {
    let zone = chosen();
    let format = FORMAT.with(|format| {
        let mut format = format.borrow_mut();
        if format.as_ref().is_none_or(|(made_for, _)| *made_for != zone) {
            *format = Some((zone.clone(), formatter(&zone)));
        }
        format.as_ref().and_then(|(_, format)| format.clone())
    });
    let parts = format.and_then(|format| {
        let method: js_sys::Function = js_sys::Reflect::get(&format, &"formatToParts".into()).ok()?.into();
        let date = js_sys::Date::new(&JsValue::from_f64(timestamp.seconds as f64 * 1000.0));
        method.call1(&format, &date).ok().map(|parts| js_sys::Array::from(&parts))
    });
    let Some(parts) = parts else { return dates::to_day_time(timestamp) };
    let mut fields = dates::DayTimeParts::default();
    for part in parts.iter() {
        let text = |key: &str| js_sys::Reflect::get(&part, &key.into()).ok().and_then(|v| v.as_string());
        if let (Some(kind), Some(value)) = (text("type"), text("value")) {
            fields.set(&kind, value);
        }
    }
    fields.to_string()
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

/// The device's own zone, such as `Europe/Berlin`.
pub fn device_zone() -> String {
    formatter("")
        .and_then(|format| {
            let method: js_sys::Function = js_sys::Reflect::get(&format, &"resolvedOptions".into()).ok()?.into();
            let options = method.call0(&format).ok()?;
            js_sys::Reflect::get(&options, &"timeZone".into()).ok()?.as_string()
        })
        .unwrap_or_else(|| "UTC".into())
}
