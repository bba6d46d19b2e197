//! `/projects/:project`: the task list (filters, search, sort, paging) and
//! the board (drag and drop, keyboard moves), both live through WatchTasks.

use crate::app::router::{use_navigate, use_params_map, use_query_map};
use leptos::{leptos_dom::helpers::TimeoutHandle, prelude::*};
use tasktracker_proto::v1::{self, Priority, Role, TaskEventType, TaskStatus, watch_tasks_response::Kind};

use super::auth::field_message;
use crate::{
    app::{
        Online, ToastList,
        api::{Api, ApiError},
        browser::{self, Cancel},
        components::{FieldError, RequireAuth},
    },
    model::{
        board::{self, Column, Direction, MovePlan, STATUSES},
        edit::{TaskDraft, priority_label, status_label},
        filter::{SORTS, TaskFilter, order_by},
        names,
    },
};

/// Tasks per board column page and per list page.
const BOARD_PAGE: i32 = 100;
const LIST_PAGE: i32 = 50;

/// The open project, shared by its views.
#[derive(Clone, Copy)]
pub struct ProjectState {
    pub name: StoredValue<String>,
    pub project: RwSignal<Option<v1::Project>>,
    pub members: RwSignal<Vec<v1::Member>>,
    pub board: RwSignal<Vec<Column>>,
    pub list: RwSignal<Vec<v1::Task>>,
    /// Bumped when the list should be fetched again.
    pub list_stale: RwSignal<u32>,
    /// Polite announcements for screen readers.
    pub announcement: RwSignal<String>,
}

impl ProjectState {
    /// A member's display name, or the user name if unknown.
    pub fn person(&self, user: &str) -> String {
        self.members.with(|members| {
            members.iter().find(|m| m.user == user).map(|m| m.display_name.clone()).unwrap_or_else(|| user.to_owned())
        })
    }

    fn can_edit(&self) -> bool {
        self.project.with(|p| p.as_ref().is_some_and(|p| p.caller_role >= Role::Editor as i32))
    }

    /// Applies a change (live or our own) to both views.
    fn apply(&self, kind: TaskEventType, task: v1::Task) {
        self.board.try_update(|columns| board::apply_event(columns, kind, task.clone()));
        let mut refetch = false;
        self.list.try_update(|list| refetch = board::apply_to_list(list, kind, task));
        if refetch {
            self.list_stale.try_update(|n| *n += 1);
        }
    }
}

/// Follows the project's changes until the page closes: reconnects with
/// backoff and resumes from the last cursor, so nothing is missed.
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

/// The project page.
#[component]
pub fn ProjectPage() -> impl IntoView {
    view! { <RequireAuth><Project/></RequireAuth> }
}

#[component]
fn Project() -> impl IntoView {
    let api = expect_context::<Api>();
    let online = expect_context::<Online>();
    let params = use_params_map();
    let query = use_query_map();
    let name = format!("projects/{}", params.get_untracked().get("project").unwrap_or_default());
    let state = ProjectState {
        name: StoredValue::new(name.clone()),
        project: RwSignal::new(None),
        members: RwSignal::new(Vec::new()),
        board: RwSignal::new(Vec::new()),
        list: RwSignal::new(Vec::new()),
        list_stale: RwSignal::new(0),
        announcement: RwSignal::new(String::new()),
    };
    provide_context(state);
    let load_error = RwSignal::new(None::<ApiError>);
    {
        let name = name.clone();
        leptos::task::spawn_local(async move {
            match api.get_project(name.clone()).await {
                Ok(project) => {
                    browser::set_title(&format!("{} · Tasktracker", project.title));
                    state.project.try_set(Some(project));
                }
                Err(e) => {
                    load_error.try_set(Some(e));
                }
            }
            if let Ok(members) = api.list_members(name).await {
                state.members.try_set(members);
            }
        });
    }
    let cancel = Cancel::default();
    watch(api, state, online, cancel.clone());
    on_cleanup(move || {
        cancel.cancel();
        online.0.set(true);
    });

    let board_view = move || query.with(|q| q.get("view").as_deref() == Some("board"));
    let project_path = names::project_path(&name);
    view! {
        <section class="page wide">
            {move || load_error.get().map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
            <div class="page-head">
                <h1>{move || state.project.get().map(|p| p.title).unwrap_or_else(|| "Project".into())}</h1>
                <nav aria-label="Project views" class="tabs">
                    <a href=project_path.clone() aria-current=move || (!board_view()).then_some("page")>"List"</a>
                    <a href=format!("{project_path}?view=board") aria-current=move || board_view().then_some("page")>"Board"</a>
                    <a href=format!("{project_path}/members")>"Members"</a>
                </nav>
            </div>
            <Show when=move || state.can_edit()>
                <NewTask/>
            </Show>
            <p class="sr-only" role="status" aria-live="polite">{move || state.announcement.get()}</p>
            <Show when=board_view fallback=|| view! { <TaskList/> }>
                <Board/>
            </Show>
        </section>
    }
}

/// The quick "new task" form (`n` focuses it).
#[component]
fn NewTask() -> impl IntoView {
    let api = expect_context::<Api>();
    let state = expect_context::<ProjectState>();
    let toasts = expect_context::<ToastList>();
    let title = RwSignal::new(String::new());
    let priority = RwSignal::new(String::from("0"));
    let error = RwSignal::new(None::<ApiError>);
    let local_error = RwSignal::new(None::<String>);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let draft = TaskDraft {
            title: title.get_untracked(),
            priority: priority.get_untracked().parse().unwrap_or(0),
            ..Default::default()
        };
        let task = match draft.to_new_task() {
            Ok(task) => task,
            Err(errors) => {
                local_error.set(errors.first().map(|(_, message)| message.clone()));
                return;
            }
        };
        local_error.set(None);
        error.set(None);
        leptos::task::spawn_local(async move {
            match api.create_task(state.name.get_value(), task).await {
                Ok(task) => {
                    title.set(String::new());
                    toasts.show(format!("Created “{}”.", task.title), None);
                    state.apply(TaskEventType::Created, task);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let title_error = Signal::derive(move || local_error.get().or_else(|| field_message(error, "title").get()));
    view! {
        <form class="new-task" on:submit=submit novalidate>
            <div class="field grow">
                <label for="new-task-title">"New task"</label>
                <input id="new-task-title" placeholder="What needs doing? (press n)" maxlength="500"
                    bind:value=title aria-describedby="new-task-title-error"/>
            </div>
            <div class="field">
                <label for="new-task-priority">"Priority"</label>
                <select id="new-task-priority" bind:value=priority>
                    {PRIORITIES.iter().map(|p| view! { <option value=p.to_string()>{priority_label(*p)}</option> }).collect_view()}
                </select>
            </div>
            <button type="submit">"Add task"</button>
            <FieldError id="new-task-title-error" message=title_error/>
            <FieldError id="new-task-error" message=Signal::derive(move || {
                error.get().filter(|e| e.field("title").is_none()).map(|e| e.to_string())
            })/>
        </form>
    }
}

const PRIORITIES: [i32; 5] = [0, 1, 2, 3, 4];

fn status_from(value: &str) -> Option<TaskStatus> {
    value.parse::<i32>().ok().and_then(|v| TaskStatus::try_from(v).ok()).filter(|s| *s != TaskStatus::Unspecified)
}

/// The filtered, sorted, paged task list.
#[component]
fn TaskList() -> impl IntoView {
    let api = expect_context::<Api>();
    let state = expect_context::<ProjectState>();
    let filter = RwSignal::new(TaskFilter::default());
    let sort = RwSignal::new(String::from("position"));
    let page_token = RwSignal::new(String::new());
    let previous_tokens = RwSignal::new(Vec::<String>::new());
    let next_token = RwSignal::new(String::new());
    let loading = RwSignal::new(true);
    let error = RwSignal::new(None::<ApiError>);
    let generation = StoredValue::new(0_u64);

    Effect::new(move |_| {
        let filter_text = filter.with(TaskFilter::to_filter);
        let order = order_by(&sort.get()).to_owned();
        let token = page_token.get();
        state.list_stale.track();
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        loading.set(true);
        leptos::task::spawn_local(async move {
            let result = api.list_tasks(state.name.get_value(), filter_text, order, LIST_PAGE, token).await;
            if generation.try_get_value() != Some(mine) {
                return;
            }
            loading.try_set(false);
            match result {
                Ok(page) => {
                    error.try_set(None);
                    state.list.try_set(page.tasks);
                    next_token.try_set(page.next_page_token);
                }
                Err(e) => {
                    error.try_set(Some(e));
                }
            }
        });
    });

    // Any change of filter or sort starts again at the first page.
    let set_filter = move |change: Box<dyn FnOnce(&mut TaskFilter)>| {
        filter.update(|f| change(f));
        previous_tokens.set(Vec::new());
        page_token.set(String::new());
    };
    let search_timer = StoredValue::new(None::<TimeoutHandle>);
    let on_search = move |event: leptos::ev::Event| {
        let text = event_target_value(&event);
        if let Some(handle) = search_timer.get_value() {
            handle.clear();
        }
        let handle = set_timeout_with_handle(
            move || set_filter(Box::new(move |f| f.search = text)),
            std::time::Duration::from_millis(250),
        )
        .ok();
        search_timer.set_value(handle);
    };

    view! {
        <form class="filters" role="search" aria-label="Filter tasks" on:submit=|e| e.prevent_default()>
            <div class="field grow">
                <label for="search">"Search"</label>
                <input id="search" type="search" placeholder="Title or description (press /)" on:input=on_search/>
            </div>
            <div class="field">
                <label for="filter-status">"Status"</label>
                <select id="filter-status" on:change=move |e| {
                    let value = event_target_value(&e);
                    set_filter(Box::new(move |f| f.status = status_from(&value)));
                }>
                    <option value="">"Any"</option>
                    {STATUSES.iter().map(|s| view! { <option value=(*s as i32).to_string()>{status_label(*s as i32)}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="filter-assignee">"Assignee"</label>
                <select id="filter-assignee" on:change=move |e| {
                    let value = event_target_value(&e);
                    set_filter(Box::new(move |f| f.assignee = (!value.is_empty()).then_some(value)));
                }>
                    <option value="">"Anyone"</option>
                    <option value="me">"Me"</option>
                    <For each=move || state.members.get() key=|m| m.user.clone() let:member>
                        <option value=member.user.clone()>{member.display_name.clone()}</option>
                    </For>
                </select>
            </div>
            <div class="field">
                <label for="filter-label">"Label"</label>
                <input id="filter-label" size="10" on:change=move |e| {
                    let value = event_target_value(&e);
                    set_filter(Box::new(move |f| f.label = value));
                }/>
            </div>
            <div class="field">
                <label for="filter-priority">"Priority at least"</label>
                <select id="filter-priority" on:change=move |e| {
                    let value = event_target_value(&e).parse::<i32>().ok().and_then(|v| Priority::try_from(v).ok());
                    set_filter(Box::new(move |f| f.min_priority = value));
                }>
                    <option value="">"Any"</option>
                    {PRIORITIES[1..].iter().map(|p| view! { <option value=p.to_string()>{priority_label(*p)}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="filter-due-after">"Due from"</label>
                <input id="filter-due-after" type="date" on:change=move |e| {
                    let value = event_target_value(&e);
                    set_filter(Box::new(move |f| f.due_after = value));
                }/>
            </div>
            <div class="field">
                <label for="filter-due-before">"Due before"</label>
                <input id="filter-due-before" type="date" on:change=move |e| {
                    let value = event_target_value(&e);
                    set_filter(Box::new(move |f| f.due_before = value));
                }/>
            </div>
            <div class="field">
                <label for="sort">"Sort"</label>
                <select id="sort" on:change=move |e| {
                    sort.set(event_target_value(&e));
                    previous_tokens.set(Vec::new());
                    page_token.set(String::new());
                }>
                    {SORTS.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                </select>
            </div>
        </form>
        {move || error.get().map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
        <div class="table-wrap" aria-busy=move || loading.get().to_string()>
            <table class="tasks">
                <caption class="sr-only">"Tasks"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Title"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Priority"</th>
                        <th scope="col">"Assignees"</th>
                        <th scope="col">"Labels"</th>
                        <th scope="col">"Due"</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || state.list.get() key=|t| (t.name.clone(), t.etag.clone()) let:task>
                        <TaskRow task/>
                    </For>
                </tbody>
            </table>
            <Show when=move || !loading.get() && state.list.with(Vec::is_empty)>
                <p class="empty">"No tasks match."</p>
            </Show>
        </div>
        <nav class="pager" aria-label="Pages">
            <button type="button" disabled=move || previous_tokens.with(Vec::is_empty) on:click=move |_| {
                let mut stack = previous_tokens.get_untracked();
                let token = stack.pop().unwrap_or_default();
                previous_tokens.set(stack);
                page_token.set(token);
            }>"← Previous"</button>
            <button type="button" disabled=move || next_token.with(String::is_empty) on:click=move |_| {
                previous_tokens.update(|stack| stack.push(page_token.get_untracked()));
                page_token.set(next_token.get_untracked());
            }>"Next →"</button>
        </nav>
    }
}

#[component]
fn TaskRow(task: v1::Task) -> impl IntoView {
    let state = expect_context::<ProjectState>();
    let assignees = task.assignees.iter().map(|a| state.person(a)).collect::<Vec<_>>().join(", ");
    let status_class = format!("status s{}", board::column_status(&task));
    let path = names::task_path(&task.name);
    view! {
        <tr>
            <td><a href=path data-nav="">{task.title.clone()}</a></td>
            <td><span class=status_class>{status_label(task.status)}</span></td>
            <td>{priority_label(task.priority)}</td>
            <td>{assignees}</td>
            <td>{task.labels.iter().map(|l| view! { <span class="label">{l.clone()}</span> }).collect_view()}</td>
            <td>{task.due_time.as_ref().map(crate::model::dates::to_day)}</td>
        </tr>
    }
}

/// The board: one column per status.
#[component]
fn Board() -> impl IntoView {
    let api = expect_context::<Api>();
    let state = expect_context::<ProjectState>();
    let toasts = expect_context::<ToastList>();
    let loading = RwSignal::new(true);
    let error = RwSignal::new(None::<ApiError>);
    let dragging = RwSignal::new(None::<String>);

    state.board.set(STATUSES.iter().map(|s| Column { status: *s as i32, ..Default::default() }).collect());
    let load_page = move |index: usize| {
        let status = STATUSES[index];
        let token = state.board.with_untracked(|b| b.get(index).map(|c| c.next_page_token.clone()).unwrap_or_default());
        async move {
            let filter = TaskFilter { status: Some(status), ..Default::default() }.to_filter();
            let page = api.list_tasks(state.name.get_value(), filter, "position".into(), BOARD_PAGE, token).await?;
            state.board.try_update(|columns| {
                if let Some(column) = columns.get_mut(index) {
                    for task in page.tasks {
                        if board::locate(std::slice::from_ref(column), &task.name).is_none() {
                            column.tasks.push(task);
                        }
                    }
                    column.next_page_token = page.next_page_token;
                }
            });
            Ok::<(), ApiError>(())
        }
    };
    leptos::task::spawn_local(async move {
        for index in 0..STATUSES.len() {
            if let Err(e) = load_page(index).await {
                error.try_set(Some(e));
                break;
            }
        }
        loading.try_set(false);
    });

    let run_move = move |plan: MovePlan, refocus: bool| {
        let before = state.board.get_untracked();
        let title =
            board::locate(&before, &plan.task).map(|(c, i)| before[c].tasks[i].title.clone()).unwrap_or_default();
        state.board.update(|columns| board::apply_plan(columns, &plan));
        let card_id = format!("card-{}", names::id(&plan.task));
        if refocus {
            let card_id = card_id.clone();
            set_timeout(move || browser::focus(&card_id), std::time::Duration::ZERO);
        }
        state.announcement.set(format!("Moved “{title}” to {}.", status_label(plan.status)));
        leptos::task::spawn_local(async move {
            match api.move_task(plan.task.clone(), plan.status, plan.after_task.clone()).await {
                Ok(task) => {
                    state.apply(TaskEventType::Moved, task);
                    if refocus {
                        set_timeout(move || browser::focus(&card_id), std::time::Duration::ZERO);
                    }
                }
                Err(e) => {
                    state.board.try_set(before);
                    toasts.show(format!("Could not move “{title}”. {e}"), None);
                }
            }
        });
    };

    let drop_on = move |column: usize, before: Option<String>| {
        let Some(task) = dragging.get_untracked() else { return };
        dragging.set(None);
        let plan = state.board.with_untracked(|b| board::plan_drop(b, &task, column, before.as_deref()));
        if let Some(plan) = plan {
            let unchanged = state.board.with_untracked(|b| {
                board::locate(b, &plan.task) == Some((column, plan.index)) && b[column].status == plan.status
            });
            if !unchanged {
                run_move(plan, false);
            }
        }
    };
    let key_move = move |task: String, direction: Direction| {
        if let Some(plan) = state.board.with_untracked(|b| board::plan_step(b, &task, direction)) {
            run_move(plan, true);
        }
    };

    view! {
        {move || error.get().map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
        <p class="hint">"Drag cards between columns, or focus a card and press Alt + arrow keys to move it."</p>
        <div class="board" aria-busy=move || loading.get().to_string()>
            {(0..STATUSES.len()).map(|index| {
                let heading = format!("column-{index}");
                let labelled_by = heading.clone();
                view! {
                    <section class="column" aria-labelledby=labelled_by
                        on:dragover=|e| e.prevent_default()
                        on:drop=move |e| { e.prevent_default(); drop_on(index, None); }
                    >
                        <h2 id=heading>
                            {status_label(STATUSES[index] as i32)}
                            <span class="count">{move || state.board.with(|b| b.get(index).map_or(0, |c| c.tasks.len()))}</span>
                        </h2>
                        <ul class="cards" data-column=index.to_string()>
                            <For
                                each=move || state.board.with(|b| b.get(index).map(|c| c.tasks.clone()).unwrap_or_default())
                                key=|t| (t.name.clone(), t.etag.clone(), t.status)
                                let:task
                            >
                                <Card task index dragging drop_on key_move/>
                            </For>
                        </ul>
                        <Show when=move || state.board.with(|b| b.get(index).is_some_and(|c| !c.next_page_token.is_empty()))>
                            <button type="button" class="ghost more" on:click=move |_| {
                                leptos::task::spawn_local(async move {
                                    if let Err(e) = load_page(index).await {
                                        error.try_set(Some(e));
                                    }
                                });
                            }>"Load more"</button>
                        </Show>
                    </section>
                }
            }).collect_view()}
        </div>
    }
}

#[component]
fn Card(
    task: v1::Task,
    index: usize,
    dragging: RwSignal<Option<String>>,
    drop_on: impl Fn(usize, Option<String>) + Copy + Send + Sync + 'static,
    key_move: impl Fn(String, Direction) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let state = expect_context::<ProjectState>();
    let navigate = use_navigate();
    let name = task.name.clone();
    let path = names::task_path(&task.name);
    let drag_name = name.clone();
    let drop_name = name.clone();
    let key_name = name.clone();
    let assignees = task.assignees.iter().map(|a| state.person(a)).collect::<Vec<_>>().join(", ");
    let open_path = path.clone();
    let label = format!("{}, {}. Alt plus arrow keys move it.", task.title, status_label(task.status));
    view! {
        <li
            class="card task-card"
            id=format!("card-{}", names::id(&name))
            tabindex="0"
            data-nav=""
            draggable="true"
            aria-label=label
            class:dragging=move || dragging.with(|d| d.as_deref() == Some(drag_name.as_str()))
            on:dragstart={
                let name = name.clone();
                move |e: leptos::ev::DragEvent| {
                    if let Some(transfer) = e.data_transfer() {
                        let _ = transfer.set_data("text/plain", &name);
                        transfer.set_effect_allowed("move");
                    }
                    dragging.set(Some(name.clone()));
                }
            }
            on:dragend=move |_| dragging.set(None)
            on:dragover=|e| e.prevent_default()
            on:drop=move |e| {
                e.prevent_default();
                e.stop_propagation();
                drop_on(index, Some(drop_name.clone()));
            }
            on:keydown=move |e: leptos::ev::KeyboardEvent| {
                if e.alt_key() {
                    let direction = match e.key().as_str() {
                        "ArrowUp" => Direction::Up,
                        "ArrowDown" => Direction::Down,
                        "ArrowLeft" => Direction::Left,
                        "ArrowRight" => Direction::Right,
                        _ => return,
                    };
                    e.prevent_default();
                    key_move(key_name.clone(), direction);
                } else if e.key() == "Enter" && e.target() == e.current_target() {
                    navigate(&open_path, Default::default());
                }
            }
        >
            <a href=path tabindex="-1" draggable="false">{task.title.clone()}</a>
            <div class="meta">
                {(task.priority != 0).then(|| view! { <span class=format!("priority p{}", task.priority)>{priority_label(task.priority)}</span> })}
                {task.labels.iter().map(|l| view! { <span class="label">{l.clone()}</span> }).collect_view()}
                {(!assignees.is_empty()).then(|| view! { <span class="assignees">{assignees}</span> })}
                {task.due_time.as_ref().map(|d| view! { <span class="due">"Due " {crate::model::dates::to_day(d)}</span> })}
            </div>
        </li>
    }
}

/// Priority options, `current` selected (a select's value set before its
/// options exist would not stick, so each option carries its selectedness).
pub fn priority_options(current: impl Fn() -> i32 + Copy + Send + Sync + 'static) -> impl IntoView {
    PRIORITIES
        .iter()
        .map(|p| {
            let p = *p;
            view! { <option value=p.to_string() prop:selected=move || current() == p>{priority_label(p)}</option> }
        })
        .collect_view()
}

/// Status options, `current` selected.
pub fn status_options(current: impl Fn() -> i32 + Copy + Send + Sync + 'static) -> impl IntoView {
    STATUSES
        .iter()
        .map(|s| {
            let s = *s as i32;
            view! { <option value=s.to_string() prop:selected=move || current() == s>{status_label(s)}</option> }
        })
        .collect_view()
}
