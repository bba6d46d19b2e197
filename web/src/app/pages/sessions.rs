//! `/sessions`: where the caller is signed in — device, address, when it
//! signed in and was last seen — each with a Revoke button. Revoking this
//! browser's own session signs it out. Below, two-factor authentication:
//! enrolment (QR code, confirmation, recovery codes) and turning it off.

use crate::app::erased::{Job, Loader};
use crate::app::router::use_navigate;
use leptos::prelude::*;

use crate::app::{
    ToastList,
    api::Api,
    browser,
    components::FieldError,
    forms::{TextField, general_message},
};

/// The sessions page (signed in).
#[component]
pub fn SessionsPage() -> impl IntoView {
    browser::set_title("Sessions");
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let navigate = use_navigate();
    let sessions = Loader::new(move || async move { api.list_sessions().await });
    let revoke = Job::new(move |(name, current): &(String, bool)| {
        let (name, current) = (name.clone(), *current);
        let navigate = navigate.clone();
        async move {
            match api.revoke_session(name).await {
                Ok(()) if current => {
                    api.forget_session();
                    navigate("/signin", Default::default());
                }
                Ok(()) => {
                    toasts.show("Signed that session out.", None);
                    sessions.refetch();
                }
                Err(error) => toasts.show(error.to_string(), None),
            }
        }
    });
    let list = move || sessions.get().and_then(Result::ok).unwrap_or_default();
    view! {
        <section class="page">
            <h1>"Sessions"</h1>
            <p class="muted">
                "Where you are signed in. A session ends after 7 days without use, and 30 days after signing in at the latest."
            </p>
            {move || sessions.get().and_then(Result::err).map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
            <table class="sessions">
                <thead><tr>
                    <th scope="col">"Device"</th><th scope="col">"Address"</th><th scope="col">"Signed in"</th>
                    <th scope="col">"Last seen"</th><th scope="col"><span class="sr-only">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {move || list().into_iter().map(|session| view! {
                        <tr>
                            <td>
                                <span title=session.user_agent.clone()>
                                    {if session.device.is_empty() { "Unknown device".to_owned() } else { session.device.clone() }}
                                </span>
                                {session.current.then(|| view! { " " <strong>"This browser"</strong> })}
                            </td>
                            <td>{session.client_ip.clone()}</td>
                            <td>{session.create_time.as_ref().map(crate::app::zone::day_time)}</td>
                            <td>{session.last_seen_time.as_ref().map(crate::app::zone::day_time)}</td>
                            <td>
                                {
                                    let (name, current) = (session.name.clone(), session.current);
                                    let label = if current {
                                        "Revoke this browser's session (signs you out)".to_owned()
                                    } else {
                                        format!(
                                            "Revoke the session on {}, signed in {}",
                                            session.device,
                                            session.create_time.as_ref().map(crate::app::zone::day_time).unwrap_or_default(),
                                        )
                                    };
                                    view! {
                                        <button type="button" class="ghost" aria-label=label
                                            on:click=move |_| revoke.dispatch((name.clone(), current))>"Revoke"</button>
                                    }
                                }
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <TwoFactor/>
        </section>
    }
}

/// Two-factor authentication: off, being enrolled (QR code and a code to
/// confirm), just turned on (the recovery codes, shown once), or on. One job
/// for its three steps (0 begins, 1 confirms, 2 turns it off): only one
/// form shows at a time, and one job costs less of the bundle than three.
#[component]
fn TwoFactor() -> impl IntoView {
    let api = expect_context::<Api>();
    let user = Loader::new(move || async move { api.current_user().await });
    let enrolment = RwSignal::new(None::<tasktracker_proto::v1::BeginTotpEnrollmentResponse>);
    let recovery = RwSignal::new(Vec::<String>::new());
    let typed = RwSignal::new(String::new());
    let job = Job::new(move |step: &u8| {
        let (step, text) = (*step, typed.get_untracked());
        async move {
            match step {
                0 => enrolment.set(Some(api.begin_totp().await?)),
                1 => recovery.set(api.confirm_totp(text).await?),
                _ => {
                    api.disable_totp(text).await?;
                    recovery.set(Vec::new());
                }
            }
            if step > 0 {
                enrolment.set(None);
                typed.set(String::new());
                user.refetch();
            }
            Ok(())
        }
    });
    let on = move || user.get().and_then(Result::ok).is_some_and(|user| user.two_factor_enabled);
    let submit = move |step: u8| {
        move |event: leptos::ev::SubmitEvent| {
            event.prevent_default();
            job.dispatch(step);
        }
    };
    let error = job.error();
    view! {
        <h2>"Two-factor authentication"</h2>
        <FieldError id="totp-error" message=general_message(error)/>
        {move || (!recovery.get().is_empty()).then(|| view! {
            <p role="status">"Save these recovery codes: each signs you in once if you lose your phone. They are not shown again."</p>
            <ol class="recovery-codes">{recovery.get().into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ol>
        })}
        {move || match (on(), enrolment.get()) {
            (true, _) => view! {
                <form class="stack" novalidate on:submit=submit(2)>
                    <p>"On: signing in asks for a code from your authenticator app."</p>
                    <TextField id="totp-password" label="Password" field="password" kind="password"
                        autocomplete="current-password" value=typed error/>
                    <button type="submit" class="ghost">"Turn off two-factor authentication"</button>
                </form>
            }.into_any(),
            (false, None) => view! {
                <button type="button" on:click=move |_| job.dispatch(0)>"Set up two-factor authentication"</button>
            }.into_any(),
            (false, Some(started)) => view! {
                <form class="stack" novalidate on:submit=submit(1)>
                    <p>"Scan this QR code with your authenticator app, or type in the key."</p>
                    <div class="qr" role="img" aria-label="QR code for your authenticator app" inner_html=started.qr_code_svg></div>
                    <p>"Key: " <code>{started.secret}</code></p>
                    <TextField id="totp-code" label="Code from the app" field="code" autocomplete="one-time-code"
                        value=typed error/>
                    <button type="submit">"Turn on"</button>
                </form>
            }.into_any(),
        }}
    }
}
