//! `/projects/:project`: the task list (filters, search, sort, paging) and
//! the board (drag and drop, keyboard moves), both live through WatchTasks.

mod board;
mod bulk;
mod calendar;
mod list;
mod new_task;
mod views;

use crate::app::erased::Loader;
use crate::app::router::{use_params_map, use_query_map};
use leptos::prelude::*;
use tasktracker_proto::v1::{self, Role, TaskEventType, watch_tasks_response::Kind};

use self::{board::Board, calendar::Calendar, list::TaskList, new_task::NewTask};
use crate::{
    app::{
        Online,
        api::{Api, ApiError, ApiResult},
        browser::{self, Cancel},
    },
    model::{
        board::{self as plan, Column},
        names,
    },
};

/// The open project, shared by its views.
#[derive(Clone, Copy)]
pub struct ProjectState {
    pub name: StoredValue<String>,
    pub project: Loader<ApiResult<v1::Project>>,
    pub members: Loader<ApiResult<Vec<v1::Member>>>,
    /// The project's custom fields in order (the cards show some).
    pub fields: Loader<Vec<v1::CustomField>>,
    pub board: RwSignal<Vec<Column>>,
    pub list: RwSignal<Vec<v1::Task>>,
    /// Bumped when the list should be fetched again.
    pub list_stale: RwSignal<u32>,
    /// Polite announcements for screen readers.
    pub announcement: RwSignal<String>,
}

impl ProjectState {
    /// The project's members, once loaded.
    pub fn member_list(&self) -> Vec<v1::Member> {
        self.members.get().and_then(Result::ok).unwrap_or_default()
    }

    /// A member's display name, or the user name if unknown.
    pub fn person(&self, user: &str) -> String {
        self.members
            .with(|members| {
                members
                    .and_then(|m| m.as_ref().ok())
                    .and_then(|members| members.iter().find(|m| m.user == user).map(|m| m.display_name.clone()))
            })
            .unwrap_or_else(|| user.to_owned())
    }

    fn can_edit(&self) -> bool {
        self.project.with(|p| p.and_then(|p| p.as_ref().ok()).is_some_and(|p| p.caller_role >= Role::Editor as i32))
    }

    fn is_owner(&self) -> bool {
        self.project.with(|p| p.and_then(|p| p.as_ref().ok()).is_some_and(|p| p.caller_role == Role::Owner as i32))
    }

    /// Applies a change (live or our own) to both views.
    fn apply(&self, kind: TaskEventType, task: v1::Task) {
        self.board.try_update(|columns| plan::apply_event(columns, kind, task.clone()));
        let mut refetch = false;
        self.list.try_update(|list| refetch = plan::apply_to_list(list, kind, task));
        if refetch {
            self.list_stale.try_update(|n| *n += 1);
        }
    }
}

/// Follows the project's changes until the page closes: reconnects with
/// backoff and resumes from the last cursor, so nothing is missed. (A stream
/// for the page's lifetime, not a request, so a task of its own.)
fn watch(api: Api, state: ProjectState, online: Online, cancel: Cancel) {
    leptos::task::spawn_local(async move {
        let parent = state.name.get_value();
        let mut cursor = String::new();
        let mut delay_ms = 500;
        while !cancel.is_cancelled() {
            match cancel.run(api.watch_tasks(parent.clone(), cursor.clone())).await {
                None => return,
                Some(Ok(mut stream)) => loop {
                    match cancel.run(stream.message()).await {
                        None => return,
                        Some(Ok(Some(message))) => {
                            online.0.try_set(true);
                            delay_ms = 500;
                            match message.kind {
                                Some(Kind::Heartbeat(beat)) => cursor = beat.cursor,
                                Some(Kind::Event(event)) => {
                                    cursor = event.cursor.clone();
                                    let kind = TaskEventType::try_from(event.r#type).unwrap_or_default();
                                    if let Some(task) = event.task {
                                        state.apply(kind, task);
                                    }
                                }
                                None => {}
                            }
                        }
                        Some(Ok(None) | Err(_)) => break,
                    }
                },
                Some(Err(ApiError::SignedOut)) => return,
                Some(Err(_)) => {}
            }
            online.0.try_set(false);
            if cancel.run(browser::sleep(delay_ms)).await.is_none() {
                return;
            }
            delay_ms = (delay_ms * 2).min(30_000);
        }
    });
}

/// The project page (signed in).
#[component]
pub fn ProjectPage() -> impl IntoView {
    let api = expect_context::<Api>();
    let online = expect_context::<Online>();
    let params = use_params_map();
    let query = use_query_map();
    let name = format!("projects/{}", params.get_untracked().get("project").unwrap_or_default());
    let name = StoredValue::new(name);
    let state = ProjectState {
        name,
        project: Loader::new(move || async move {
            api.get_project(name.get_value()).await.inspect(|project| browser::set_title(&project.title))
        }),
        members: Loader::new(move || async move { api.list_members(name.get_value()).await }),
        fields: Loader::new(move || {
            let parent = name.get_value();
            async move { api.list_fields(parent).await.unwrap_or_default() }
        }),
        board: RwSignal::new(Vec::new()),
        list: RwSignal::new(Vec::new()),
        list_stale: RwSignal::new(0),
        announcement: RwSignal::new(String::new()),
    };
    provide_context(state);
    let cancel = Cancel::default();
    watch(api, state, online, cancel.clone());
    on_cleanup(move || {
        cancel.cancel();
        online.0.set(true);
    });

    // `?view=board` or `?view=calendar`; the list otherwise.
    let layout = Memo::new(move |_| query.with(|q| q.get("view")).unwrap_or_default());
    let current = move |name: &'static str| move || layout.with(|l| l == name).then_some("page");
    let project_path = names::project_path(&name.get_value());
    let title = move || state.project.get().and_then(Result::ok).map(|p| p.title).unwrap_or_else(|| "Project".into());
    view! {
        <section class="page wide">
            {move || state.project.get().and_then(Result::err).map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
            <div class="page-head">
                <h1>{title}</h1>
                <nav aria-label="Project views" class="tabs">
                    <a href=project_path.clone() aria-current=current("")>"List"</a>
                    <a href=format!("{project_path}?view=board") aria-current=current("board")>"Board"</a>
                    <a href=format!("{project_path}?view=calendar") aria-current=current("calendar")>"Calendar"</a>
                    <a href=format!("{project_path}/members")>"Members"</a>
                    <a href=format!("{project_path}/workflow")>"Workflow"</a>
                    <a href=format!("{project_path}/fields")>"Fields"</a>
                    {move || state.is_owner().then(|| view! { <a href=format!("{}/webhooks", names::project_path(&name.get_value()))>"Webhooks"</a> })}
                </nav>
            </div>
            {move || (state.can_edit()).then(|| view! {
                <NewTask/>
            })}
            <p class="sr-only" role="status" aria-live="polite">{move || state.announcement.get()}</p>
            {move || match layout.get().as_str() {
                "board" => view! { <Board/> }.into_any(),
                "calendar" => view! { <Calendar/> }.into_any(),
                _ => view! { <TaskList/> }.into_any(),
            }}
        </section>
    }
}
