//! Sign in and sign up.

use crate::app::router::use_navigate;
use leptos::prelude::*;

use crate::app::{
    api::{Api, ApiError},
    browser,
    components::FieldError,
};

/// A field's message from a failed call, if the server named the field.
pub fn field_message(error: RwSignal<Option<ApiError>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || error.get().and_then(|e| e.field(field)))
}

/// The general message of a failed call (field messages show by their fields).
pub fn general_message(error: RwSignal<Option<ApiError>>) -> Signal<Option<String>> {
    Signal::derive(move || {
        error.get().map(|e| match &e {
            ApiError::Invalid(_, fields) if !fields.is_empty() => "Please correct the fields marked below.".to_owned(),
            ApiError::SignedOut => "That email and password do not match an account.".to_owned(),
            other => other.to_string(),
        })
    })
}

/// `/signin`.
#[component]
pub fn SignInPage() -> impl IntoView {
    browser::set_title("Sign in · Tasktracker");
    let api = expect_context::<Api>();
    let navigate = use_navigate();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        busy.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let result = api.sign_in(email.get_untracked().trim().to_owned(), password.get_untracked()).await;
            busy.set(false);
            match result {
                Ok(_) => navigate("/", Default::default()),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="page narrow">
            <h1>"Sign in"</h1>
            <form on:submit=submit class="stack" novalidate>
                <FieldError id="signin-error" message=general_message(error)/>
                <label for="email">"Email"</label>
                <input id="email" type="email" autocomplete="email" required bind:value=email
                    aria-describedby="email-error"/>
                <FieldError id="email-error" message=field_message(error, "email")/>
                <label for="password">"Password"</label>
                <input id="password" type="password" autocomplete="current-password" required bind:value=password
                    aria-describedby="password-error"/>
                <FieldError id="password-error" message=field_message(error, "password")/>
                <button type="submit" disabled=move || busy.get()>"Sign in"</button>
            </form>
            <p>"New here? " <a href="/signup">"Create an account"</a></p>
        </section>
    }
}

/// `/signup`.
#[component]
pub fn SignUpPage() -> impl IntoView {
    browser::set_title("Sign up · Tasktracker");
    let api = expect_context::<Api>();
    let navigate = use_navigate();
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        busy.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let result = api
                .sign_up(email.get_untracked().trim().to_owned(), password.get_untracked(), name.get_untracked())
                .await;
            busy.set(false);
            match result {
                Ok(_) => navigate("/", Default::default()),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="page narrow">
            <h1>"Create an account"</h1>
            <form on:submit=submit class="stack" novalidate>
                <FieldError id="signup-error" message=general_message(error)/>
                <label for="display-name">"Your name"</label>
                <input id="display-name" autocomplete="name" required bind:value=name
                    aria-describedby="display_name-error"/>
                <FieldError id="display_name-error" message=field_message(error, "display_name")/>
                <label for="email">"Email"</label>
                <input id="email" type="email" autocomplete="email" required bind:value=email
                    aria-describedby="email-error"/>
                <FieldError id="email-error" message=field_message(error, "email")/>
                <label for="password">"Password (at least 10 characters)"</label>
                <input id="password" type="password" autocomplete="new-password" required bind:value=password
                    aria-describedby="password-error"/>
                <FieldError id="password-error" message=field_message(error, "password")/>
                <button type="submit" disabled=move || busy.get()>"Create account"</button>
            </form>
            <p>"Already have an account? " <a href="/signin">"Sign in"</a></p>
        </section>
    }
}
