//! Sign in and sign up.

use std::future::Future;

use crate::app::erased::Job;
use crate::app::router::use_navigate;
use leptos::prelude::*;

use crate::app::{
    api::{Api, ApiError, ApiResult, Session},
    browser,
    components::FieldError,
    forms::{TextField, general_message},
};

/// What the forms ask for (sign in leaves the name empty).
#[derive(Clone, Copy)]
struct Credentials {
    name: RwSignal<String>,
    email: RwSignal<String>,
    password: RwSignal<String>,
}

impl Credentials {
    fn new() -> Self {
        Self {
            name: RwSignal::new(String::new()),
            email: RwSignal::new(String::new()),
            password: RwSignal::new(String::new()),
        }
    }
}

/// Calls `call` with the API and the form's email (trimmed), password and
/// name; opens the projects once signed in.
fn sign_in_action<Fu>(form: Credentials, call: fn(Api, String, String, String) -> Fu) -> Job<()>
where
    Fu: Future<Output = ApiResult<Session>> + 'static,
{
    let api = expect_context::<Api>();
    let navigate = use_navigate();
    Job::new(move |_: &()| {
        let email = form.email.get_untracked().trim().to_owned();
        let signed_in = call(api, email, form.password.get_untracked(), form.name.get_untracked());
        let navigate = navigate.clone();
        async move {
            signed_in.await?;
            navigate("/", Default::default());
            Ok(())
        }
    })
}

/// The frame of both forms: title, heading, general error, fields, submit,
/// and a link to the other form.
#[component]
fn AuthForm(
    title: &'static str,
    heading: &'static str,
    error_id: &'static str,
    submit: &'static str,
    prompt: &'static str,
    link: &'static str,
    link_text: &'static str,
    action: Job<()>,
    children: Children,
) -> impl IntoView {
    browser::set_title(title);
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        action.dispatch(());
    };
    view! {
        <section class="page narrow">
            <h1>{heading}</h1>
            <form on:submit=on_submit class="stack" novalidate>
                <FieldError id=error_id message=general_message(action.error())/>
                {children()}
                <button type="submit" disabled=move || action.pending().get()>{submit}</button>
            </form>
            <p>{prompt} <a href=link>{link_text}</a></p>
        </section>
    }
}

/// `/signin`: email and password, then, for an account with two-factor
/// authentication, a code from the authenticator app or a recovery code.
#[component]
pub fn SignInPage() -> impl IntoView {
    let form = Credentials::new();
    let code = RwSignal::new(String::new());
    let challenge = RwSignal::new(None::<String>);
    let api = expect_context::<Api>();
    let navigate = use_navigate();
    let action = Job::new(move |_: &()| {
        let email = form.email.get_untracked().trim().to_owned();
        let (password, asked, typed) = (form.password.get_untracked(), challenge.get_untracked(), code.get_untracked());
        let navigate = navigate.clone();
        async move {
            match asked {
                Some(asked) => {
                    api.verify_second_factor(asked, typed).await.map_err(|error| match error {
                        ApiError::SignedOut => ApiError::Failed(
                            "That code is wrong or was already used (or 5 minutes passed: reload to start again)."
                                .into(),
                        ),
                        other => other,
                    })?;
                }
                None => {
                    if let Some(asked) = api.sign_in(email, password).await? {
                        challenge.set(Some(asked));
                        return Ok(());
                    }
                }
            }
            navigate("/", Default::default());
            Ok(())
        }
    });
    let error = action.error();
    view! {
        <AuthForm title="Sign in" heading="Sign in" error_id="signin-error" submit="Sign in"
            prompt="New here? " link="/signup" link_text="Create an account" action>
            {move || if challenge.get().is_none() {
                view! {
                    <TextField id="email" label="Email" field="email" kind="email" autocomplete="email" value=form.email error/>
                    <TextField id="password" label="Password" field="password" kind="password"
                        autocomplete="current-password" value=form.password error/>
                }.into_any()
            } else {
                view! {
                    <p>"Enter the 6-digit code from your authenticator app, or one of your recovery codes."</p>
                    <TextField id="code" label="Authentication code" field="code" autocomplete="one-time-code"
                        value=code error/>
                }.into_any()
            }}
        </AuthForm>
    }
}

/// `/signup`.
#[component]
pub fn SignUpPage() -> impl IntoView {
    let form = Credentials::new();
    let action =
        sign_in_action(form, |api, email, password, name| async move { api.sign_up(email, password, name).await });
    let error = action.error();
    view! {
        <AuthForm title="Sign up" heading="Create an account" error_id="signup-error" submit="Create account"
            prompt="Already have an account? " link="/signin" link_text="Sign in" action>
            <TextField id="display-name" label="Your name" field="display_name" autocomplete="name" value=form.name error/>
            <TextField id="email" label="Email" field="email" kind="email" autocomplete="email" value=form.email error/>
            <TextField id="password" label="Password (at least 10 characters)" field="password" kind="password"
                autocomplete="new-password" value=form.password error/>
        </AuthForm>
    }
}
