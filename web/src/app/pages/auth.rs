//! Sign in and sign up.

use std::future::Future;

use crate::app::router::use_navigate;
use leptos::prelude::*;

use crate::app::{
    api::{Api, ApiError, ApiResult, Session},
    browser,
    components::FieldError,
    forms::{TextField, action_error, general_message},
};

/// Runs `call` with the form's values; opens the projects once signed in.
fn sign_in_action<Fu>(call: impl Fn() -> Fu + 'static) -> Action<(), ApiResult<()>>
where
    Fu: Future<Output = ApiResult<Session>> + 'static,
{
    let navigate = use_navigate();
    Action::new_local(move |_: &()| {
        let signed_in = call();
        let navigate = navigate.clone();
        async move {
            signed_in.await?;
            navigate("/", Default::default());
            Ok(())
        }
    })
}

/// The frame of both forms: heading, general error, fields, submit, and a
/// link to the other form.
#[component]
fn AuthForm(
    heading: &'static str,
    error_id: &'static str,
    submit: &'static str,
    prompt: &'static str,
    link: &'static str,
    link_text: &'static str,
    action: Action<(), ApiResult<()>>,
    children: Children,
) -> impl IntoView {
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        action.dispatch(());
    };
    view! {
        <section class="page narrow">
            <h1>{heading}</h1>
            <form on:submit=on_submit class="stack" novalidate>
                <FieldError id=error_id message=general_message(action_error(action))/>
                {children()}
                <button type="submit" disabled=move || action.pending().get()>{submit}</button>
            </form>
            <p>{prompt} <a href=link>{link_text}</a></p>
        </section>
    }
}

/// `/signin`.
#[component]
pub fn SignInPage() -> impl IntoView {
    browser::set_title("Sign in · Tasktracker");
    let api = expect_context::<Api>();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let action = sign_in_action(move || {
        let (email, password) = (email.get_untracked().trim().to_owned(), password.get_untracked());
        async move { api.sign_in(email, password).await }
    });
    let error: Signal<Option<ApiError>> = action_error(action);
    view! {
        <AuthForm heading="Sign in" error_id="signin-error" submit="Sign in"
            prompt="New here? " link="/signup" link_text="Create an account" action>
            <TextField id="email" label="Email" field="email" kind="email" autocomplete="email" value=email error/>
            <TextField id="password" label="Password" field="password" kind="password"
                autocomplete="current-password" value=password error/>
        </AuthForm>
    }
}

/// `/signup`.
#[component]
pub fn SignUpPage() -> impl IntoView {
    browser::set_title("Sign up · Tasktracker");
    let api = expect_context::<Api>();
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let action = sign_in_action(move || {
        let (email, password, name) =
            (email.get_untracked().trim().to_owned(), password.get_untracked(), name.get_untracked());
        async move { api.sign_up(email, password, name).await }
    });
    let error: Signal<Option<ApiError>> = action_error(action);
    view! {
        <AuthForm heading="Create an account" error_id="signup-error" submit="Create account"
            prompt="Already have an account? " link="/signin" link_text="Sign in" action>
            <TextField id="display-name" label="Your name" field="display_name" autocomplete="name" value=name error/>
            <TextField id="email" label="Email" field="email" kind="email" autocomplete="email" value=email error/>
            <TextField id="password" label="Password (at least 10 characters)" field="password" kind="password"
                autocomplete="new-password" value=password error/>
        </AuthForm>
    }
}
