//! Saved views on the task list: the project's shared views and the
//! caller's own as links (`?saved=<id>`, so a view opens by URL), the open
//! view's filter, and saving the list's current filter and order as a view.

use crate::app::erased::{Job, Loader};
use leptos::prelude::*;
use tasktracker_proto::v1::{self, Role, ViewVisibility};

use super::ProjectState;
use crate::app::{
    ToastList,
    api::{Api, ApiError, ApiResult},
    components::FieldError,
    router::{NavigateOptions, use_navigate, use_query_map},
};

/// The open view's id from the URL, if any.
fn saved_id() -> Memo<Option<String>> {
    let query = use_query_map();
    Memo::new(move |_| query.with(|q| q.get("saved")).filter(|id| !id.is_empty()))
}

/// The list's saved views bar. `open` receives the view the URL names
/// (`None` when it names none or it cannot be read); `current` is the
/// list's filter and order as they would be saved.
#[component]
pub fn SavedViews(open: RwSignal<Option<v1::SavedView>>, current: Signal<(String, String)>) -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let state = expect_context::<ProjectState>();
    let project_path = move || format!("/{}", state.name.get_value());
    let views: Loader<ApiResult<Vec<v1::SavedView>>> =
        Loader::new(move || async move { api.list_saved_views(state.name.get_value()).await });
    let saved = saved_id();
    let opened = Loader::new(move || {
        let id = saved.get();
        async move {
            let Some(id) = id else { return Ok(None) };
            api.get_saved_view(format!("{}/views/{id}", state.name.get_value())).await.map(Some)
        }
    });
    Effect::new(move |_| open.set(opened.get().and_then(Result::ok).flatten()));
    let navigate = use_navigate();
    let remove = Job::new(move |view: &v1::SavedView| {
        let view = view.clone();
        let navigate = navigate.clone();
        async move {
            let result = api.delete_saved_view(&view).await;
            let deleted = result.is_ok();
            toasts.report(result, |()| format!("View “{}” deleted.", view.display_name));
            if deleted {
                views.refetch();
                navigate(&format!("/{}", state.name.get_value()), NavigateOptions);
            }
        }
    });
    let me = api.session().map(|session| session.user).unwrap_or_default();
    let may_delete = move |view: &v1::SavedView| {
        view.creator == me
            || state
                .project
                .with(|p| p.and_then(|p| p.as_ref().ok()).is_some_and(|p| p.caller_role == Role::Owner as i32))
    };
    let links = move || {
        let list = views.get().and_then(Result::ok).unwrap_or_default();
        let open_id = saved.get();
        list.into_iter()
            .map(|view| {
                let id = view.name.rsplit('/').next().unwrap_or_default().to_owned();
                let current = (open_id.as_deref() == Some(id.as_str())).then_some("page");
                let shared = (view.visibility == ViewVisibility::Shared as i32).then_some(" (shared)");
                let href = format!("{}?saved={id}", project_path());
                view! { <li><a href=href aria-current=current>{view.display_name}</a>{shared}</li> }
            })
            .collect_view()
    };
    let failed = move || {
        opened
            .get()
            .and_then(Result::err)
            .map(|e| view! { <p role="alert" class="error">{format!("This view cannot be opened: {e}")}</p> })
    };
    view! {
        <section class="saved-views" aria-labelledby="views-heading">
            <h2 id="views-heading" class="small">"Saved views"</h2>
            <ul class="inline-list">{links}</ul>
            {failed}
            {move || open.get().map(|view| {
                let filter = if view.filter.is_empty() { "every task".to_owned() } else { view.filter.clone() };
                let deletable = may_delete(&view);
                let stored = StoredValue::new(view.clone());
                view! {
                    <p class="muted" role="status">
                        "Showing “" {view.display_name.clone()} "”: " <code>{filter}</code> " "
                        <a href=project_path()>"Close view"</a>
                        {deletable.then(|| view! {
                            " " <button type="button" class="ghost" disabled=move || remove.pending().get()
                                on:click=move |_| remove.dispatch(stored.get_value())>"Delete view"</button>
                        })}
                    </p>
                }
            })}
            <SaveView current views/>
        </section>
    }
}

/// Saves the list's current filter and order under a name, personal or
/// (editors and owners) shared, then opens it.
#[component]
fn SaveView(current: Signal<(String, String)>, views: Loader<ApiResult<Vec<v1::SavedView>>>) -> impl IntoView {
    let api = expect_context::<Api>();
    let state = expect_context::<ProjectState>();
    let name = RwSignal::new(String::new());
    let shared = RwSignal::new(false);
    let navigate = use_navigate();
    let save = Job::new(move |(display_name, share): &(String, bool)| {
        let (filter, order_by) = current.get_untracked();
        let view = v1::SavedView {
            display_name: display_name.clone(),
            filter,
            order_by,
            layout: v1::ViewLayout::List as i32,
            visibility: if *share { ViewVisibility::Shared } else { ViewVisibility::Personal } as i32,
            ..Default::default()
        };
        let navigate = navigate.clone();
        async move {
            let created = api.create_saved_view(state.name.get_value(), view).await?;
            name.try_set(String::new());
            views.refetch();
            let id = created.name.rsplit('/').next().unwrap_or_default().to_owned();
            navigate(&format!("/{}?saved={id}", state.name.get_value()), NavigateOptions);
            Ok::<_, ApiError>(())
        }
    });
    let error = save.error();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        save.dispatch((name.get_untracked(), shared.get_untracked()));
    };
    view! {
        <form class="row" on:submit=submit novalidate aria-label="Save the list as a view">
            <div class="field">
                <label for="view-name">"View name"</label>
                <input id="view-name" maxlength="100" bind:value=name aria-describedby="view-error"/>
            </div>
            <label class="check">
                <input type="checkbox" bind:checked=shared disabled=move || !state.can_edit()/>
                " Share with the project"
            </label>
            <button type="submit" disabled=move || save.pending().get()>"Save view"</button>
            <FieldError id="view-error" message=Signal::derive(move || error.get().map(|e| {
                e.field("saved_view.display_name").or_else(|| e.field("saved_view.filter")).unwrap_or_else(|| e.to_string())
            }))/>
        </form>
    }
}
