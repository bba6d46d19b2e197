//! `/profile`: the signed-in user's display name and the time zone every
//! time in the app is shown in (their device's until they choose one).

use leptos::prelude::*;

use crate::app::{
    ToastList,
    api::Api,
    browser,
    components::FieldError,
    erased::Job,
    forms::{field_message, general_message},
    zone,
};

/// The profile page (signed in).
#[component]
pub fn ProfilePage() -> impl IntoView {
    browser::set_title("Profile");
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    // What this browser knows: the session's name, and the zone as last
    // read from the server (`zone::chosen`); saving sends both.
    let display_name = RwSignal::new(api.session().map(|session| session.display_name).unwrap_or_default());
    let time_zone = RwSignal::new(untrack(zone::chosen));
    let save = Job::new(move |(name, zone): &(String, String)| {
        let (name, zone) = (name.clone(), zone.clone());
        async move {
            api.update_profile(name, zone).await?;
            toasts.show("Profile saved.", None);
            Ok(())
        }
    });
    let error = save.error();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        save.dispatch((display_name.get_untracked().trim().to_owned(), time_zone.get_untracked()));
    };
    let zones = StoredValue::new(zone::known_zones());
    // The saved zone stays choosable even if this browser does not list it.
    let unlisted = Memo::new(move |_| {
        let saved = time_zone.get();
        (!saved.is_empty() && !zones.with_value(|zones| zones.contains(&saved))).then_some(saved)
    });
    let listed = zones.get_value().into_iter().map(|zone| view! { <option value=zone.clone()>{zone.clone()}</option> });
    let listed = listed.collect_view();
    view! {
        <section class="page">
            <h1>"Profile"</h1>
            <form class="stack narrow" on:submit=submit novalidate>
                <FieldError id="profile-error" message=general_message(error)/>
                <label for="profile-name">"Display name"</label>
                <input id="profile-name" required bind:value=display_name aria-describedby="profile-name-error"/>
                <FieldError id="profile-name-error" message=field_message(error, "user.display_name")/>
                <label for="profile-zone">"Time zone"</label>
                <select id="profile-zone" bind:value=time_zone aria-describedby="profile-zone-hint profile-zone-error">
                    <option value="">"This device's zone"</option>
                    {move || unlisted.get().map(|zone| view! { <option value=zone.clone()>{zone.clone()}</option> })}
                    {listed}
                </select>
                <p id="profile-zone-hint" class="muted">"Every time in the app is shown in this zone."</p>
                <FieldError id="profile-zone-error" message=field_message(error, "user.time_zone")/>
                <button type="submit">"Save"</button>
            </form>
        </section>
    }
}
