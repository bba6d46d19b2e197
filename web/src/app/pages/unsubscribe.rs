//! `/unsubscribe?token=…`: where an email's unsubscribe link leads. Needs no
//! sign-in (the token is the credential); asks before turning email off, so
//! a mail scanner that opens links changes nothing.

use leptos::prelude::*;

use crate::app::{api::Api, erased::Job, router::use_query_map};

/// The unsubscribe page.
#[component]
pub fn UnsubscribePage() -> impl IntoView {
    let api = expect_context::<Api>();
    let query = use_query_map();
    let message = RwSignal::new(String::new());
    let unsubscribe = Job::new(move |token: &String| {
        let token = token.clone();
        async move {
            message.set(match api.unsubscribe_email(token).await {
                Ok(()) => "Done: you will not get these emails any more.".to_owned(),
                Err(error) => error.to_string(),
            });
        }
    });
    view! {
        <section class="page">
            <h1>"Email notifications"</h1>
            <p>"Stop the emails this link came in?"</p>
            <button type="button" on:click=move |_| unsubscribe.dispatch(query.get_untracked().get("token").unwrap_or_default())>
                "Unsubscribe"
            </button>
            <p role="status">{message}</p>
        </section>
    }
}
