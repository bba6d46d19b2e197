//! `/projects/:project/members`: who is in the project; owners manage roles,
//! invite people by email and see (and withdraw) the pending invitations.

use crate::app::erased::{Job, Loader};
use crate::app::router::use_params_map;
use leptos::prelude::*;
use tasktracker_proto::v1::{self, Role};

use crate::{
    app::{
        ToastList,
        api::{Api, ApiResult},
        browser,
        components::FieldError,
        forms::{ROLES, field_message, general_message, label_of},
    },
    model::{dates, names},
};

/// An option per role, `selected` selected.
fn role_options(selected: i32) -> impl IntoView {
    ROLES
        .iter()
        .map(|(role, label)| {
            let role = *role as i32;
            view! { <option value=role.to_string() selected=role == selected>{*label}</option> }
        })
        .collect_view()
}

type MemberList = Loader<ApiResult<Vec<v1::Member>>>;
type InvitationList = Loader<ApiResult<Vec<v1::Invitation>>>;

/// The members page (signed in).
#[component]
pub fn MembersPage() -> impl IntoView {
    browser::set_title("Members");
    let api = expect_context::<Api>();
    let params = use_params_map();
    let project_name =
        StoredValue::new(format!("projects/{}", params.with_untracked(|p| p.get("project").unwrap_or_default())));
    let project = Loader::new(move || async move { api.get_project(project_name.get_value()).await.ok() });
    let members: MemberList = Loader::new(move || async move { api.list_members(project_name.get_value()).await });
    let is_owner = Signal::derive(move || {
        project.with(|p| p.and_then(Option::as_ref).is_some_and(|p| p.caller_role == Role::Owner as i32))
    });
    // Owners only; for anyone else the list stays empty and is not shown.
    // (Read before the future: the loader reloads when it changes.)
    let invitations: InvitationList = Loader::new(move || {
        let owner = is_owner.get();
        async move { if owner { api.list_invitations(project_name.get_value()).await } else { Ok(Vec::new()) } }
    });
    let title = move || project.get().flatten().map(|p| p.title).unwrap_or_default();

    view! {
        <section class="page">
            <p><a href=names::project_path(&project_name.get_value())>"← Back to the project"</a></p>
            <h1>{move || format!("Members of {}", title())}</h1>
            {move || members.get().and_then(Result::err).map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
            <table class="members">
                <thead><tr><th scope="col">"Name"</th><th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                <tbody>
                    {move || (members.get().and_then(Result::ok).unwrap_or_default()).into_iter().map(|member| view! {
                        <MemberRow member members is_owner/>
                    }).collect_view()}
                </tbody>
            </table>
            {move || (is_owner.get()).then(|| view! {
                <h2>"Invite someone"</h2>
                <p class="muted">"They join once they accept, from their Projects page, signed in with this address."</p>
                <Invite project_name invitations/>
                <h2>"Pending invitations"</h2>
                <PendingInvitations invitations/>
            })}
        </section>
    }
}

/// One member; owners can change the role or remove them.
#[component]
fn MemberRow(member: v1::Member, members: MemberList, is_owner: Signal<bool>) -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let change_role = Job::new(move |(member, role): &(String, i32)| {
        let (member, role) = (member.clone(), *role);
        async move {
            let result = api.update_member_role(member, role).await;
            toasts.report(result, |m| format!("{} is now {}.", m.display_name, label_of(&ROLES, m.role)));
            members.refetch();
        }
    });
    let remove = Job::new(move |member: &String| {
        let member = member.clone();
        async move {
            if let Err(e) = api.remove_member(member).await {
                toasts.show(e.to_string(), None);
            }
            members.refetch();
        }
    });
    let name = StoredValue::new(member.name.clone());
    let select_id = format!("role-{}", names::id(&member.name));
    let role = member.role;
    view! {
        <tr>
            <td>{member.display_name.clone()}</td>
            <td>{member.email.clone()}</td>
            <td>
                <Show when=move || is_owner.get() fallback=move || label_of(&ROLES, role)>
                    <label class="sr-only" for=select_id.clone()>{format!("Role of {}", member.display_name)}</label>
                    <select id=select_id.clone() on:change=move |e| {
                        change_role.dispatch((name.get_value(), event_target_value(&e).parse().unwrap_or(0)));
                    }>
                        {role_options(role)}
                    </select>
                </Show>
            </td>
            <td>
                {move || (is_owner.get()).then(|| view! {
                    <button type="button" class="ghost" on:click=move |_| { remove.dispatch(name.get_value()); }>"Remove"</button>
                })}
            </td>
        </tr>
    }
}

/// The owners' form inviting an email address to the project.
#[component]
fn Invite(project_name: StoredValue<String>, invitations: InvitationList) -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let email = RwSignal::new(String::new());
    let role = RwSignal::new((Role::Editor as i32).to_string());
    let invite = Job::new(move |_: &()| {
        let role = Role::try_from(role.get_untracked().parse::<i32>().unwrap_or(2)).unwrap_or(Role::Editor);
        let email_value = email.get_untracked().trim().to_owned();
        async move {
            let invitation = api.create_invitation(project_name.get_value(), email_value, role).await?;
            toasts.show(format!("Invited {}.", invitation.email), None);
            email.try_set(String::new());
            invitations.refetch();
            Ok(())
        }
    });
    let error = invite.error();
    view! {
        <form class="stack narrow" on:submit=move |event| { event.prevent_default(); invite.dispatch(()); } novalidate>
            <FieldError id="invite-error" message=general_message(error)/>
            <label for="invite-email">"Email address"</label>
            <input id="invite-email" type="email" bind:value=email aria-describedby="invite-email-error"/>
            <FieldError id="invite-email-error" message=field_message(error, "invitation.email")/>
            <label for="invite-role">"Role"</label>
            <select id="invite-role" bind:value=role>
                {role_options(Role::Editor as i32)}
            </select>
            <button type="submit">"Send invitation"</button>
        </form>
    }
}

/// The project's pending invitations, each with a Revoke button.
#[component]
fn PendingInvitations(invitations: InvitationList) -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let revoke = Job::new(move |name: &String| {
        let name = name.clone();
        async move {
            let result = api.revoke_invitation(name).await;
            toasts.report(result, |invitation| format!("Withdrew the invitation to {}.", invitation.email));
            invitations.refetch();
        }
    });
    let list = move || invitations.get().and_then(Result::ok).unwrap_or_default();
    view! {
        {move || invitations.get().and_then(Result::err).map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
        {move || { let list = list(); if list.is_empty() {
            view! { <p class="muted">"No pending invitations."</p> }.into_any()
        } else { view! {
            <table class="invitations">
                <thead><tr>
                    <th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Expires"</th>
                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {list.into_iter().map(|invitation| view! {
                        <tr>
                            <td>{invitation.email.clone()}</td>
                            <td>{label_of(&ROLES, invitation.role)}</td>
                            <td>{invitation.expire_time.as_ref().map(dates::to_day)}</td>
                            <td>
                                {
                                    let name = invitation.name.clone();
                                    let label = format!("Revoke the invitation to {}", invitation.email);
                                    view! { <button type="button" class="ghost" aria-label=label on:click=move |_| { revoke.dispatch(name.clone()); }>"Revoke"</button> }
                                }
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        }.into_any() }}}
    }
}
