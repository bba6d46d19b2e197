//! Sign in and sign up.

use std::future::Future;

use crate::app::erased::{Job, Loader};
use crate::app::router::{use_navigate, use_query_map};
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

/// `/signin`: email and password, or a button per identity provider
/// (single sign-on); then, for an account with two-factor authentication, a
/// code from the authenticator app or a recovery code. Also
/// `/oidc/callback?state=…&code=…`, where providers send the browser back.
#[component]
pub fn SignInPage() -> impl IntoView {
    let form = Credentials::new();
    let code = RwSignal::new(String::new());
    let challenge = RwSignal::new(None::<String>);
    let api = expect_context::<Api>();
    let navigate = use_navigate();
    let (single_sign_on, returned) = single_sign_on(challenge);
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
            <FieldError id="sso-error" message=returned/>
            {move || if challenge.get().is_none() {
                view! {
                    {single_sign_on}
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

/// The single sign-on buttons (none if no provider is configured), and
/// the message of a sign-in coming back from a provider, which this
/// completes: to the projects, or to `challenge` for a second factor.
fn single_sign_on(challenge: RwSignal<Option<String>>) -> (impl Fn() -> AnyView + Copy, Signal<Option<String>>) {
    let api = expect_context::<Api>();
    let navigate = use_navigate();
    let providers = Loader::new(move || async move { api.identity_providers().await });
    let start = Job::new(move |provider: &String| {
        let provider = provider.clone();
        async move {
            let redirect_uri = format!("{}/oidc/callback", browser::origin());
            let url = api.start_oidc_sign_in(provider, redirect_uri).await.map_err(|error| match error {
                ApiError::Invalid(_, fields) => ApiError::Failed(format!(
                    "Single sign-on is not set up for this address: {}",
                    fields.into_iter().map(|(_, description)| description).collect::<Vec<_>>().join("; ")
                )),
                other => other,
            })?;
            browser::go_to(&url);
            Ok(())
        }
    });
    let complete = Job::new(move |(state, code): &(String, String)| {
        let (state, code) = (state.clone(), code.clone());
        let navigate = navigate.clone();
        async move {
            let asked = api.complete_oidc_sign_in(state, code).await.map_err(|error| match error {
                ApiError::Invalid(..) => {
                    ApiError::Failed("That sign-in expired or was already used: sign in again.".into())
                }
                ApiError::SignedOut => {
                    ApiError::Failed("The identity provider's answer could not be verified: sign in again.".into())
                }
                other => other,
            })?;
            match asked {
                Some(asked) => challenge.set(Some(asked)),
                None => navigate("/", Default::default()),
            }
            Ok(())
        }
    });
    let query = use_query_map().get_untracked();
    let refused = query.get("error");
    if let (Some(state), Some(code)) = (query.get("state"), query.get("code")) {
        complete.dispatch((state, code));
    }
    let (start_error, complete_error) = (general_message(start.error()), general_message(complete.error()));
    let returned = Signal::derive(move || {
        let refused = refused.as_ref().map(|error| format!("The identity provider did not sign you in ({error})."));
        complete_error.get().or(refused).or_else(|| start_error.get())
    });
    let buttons = move || {
        let providers = providers.get().and_then(Result::ok).unwrap_or_default();
        (!providers.is_empty())
            .then(|| {
                view! {
                    <div class="stack" role="group" aria-label="Single sign-on">
                        {providers.into_iter().map(|provider| {
                            let id = provider.id.clone();
                            view! {
                                <button type="button" class="ghost" disabled=move || start.pending().get()
                                    on:click=move |_| start.dispatch(id.clone())>
                                    {format!("Continue with {}", provider.display_name)}
                                </button>
                            }
                        }).collect_view()}
                        <p class="muted">"or with your email and password:"</p>
                    </div>
                }
            })
            .into_any()
    };
    (buttons, returned)
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
