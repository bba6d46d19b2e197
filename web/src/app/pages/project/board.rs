//! The board: one column per workflow state of the project (its WIP limit
//! shown), drag and drop, keyboard moves.

use crate::app::erased::{Job, Loader};
use crate::app::router::use_navigate;
use leptos::prelude::*;
use tasktracker_proto::v1::{self, TaskEventType};

use super::ProjectState;
use crate::{
    app::{
        ToastList,
        api::{Api, ApiResult},
        browser,
    },
    model::{
        board::{self, Column, Direction, MovePlan},
        edit::priority_label,
        fields::card_text,
        filter::quoted,
        names,
    },
};

/// Tasks per board column page.
const BOARD_PAGE: i32 = 100;

/// Loads the next page of column `index` into the board.
async fn load_page(api: Api, state: ProjectState, index: usize) -> ApiResult<()> {
    let Some((workflow_state, token)) =
        state.board.with_untracked(|b| b.get(index).map(|c| (c.state.clone(), c.next_page_token.clone())))
    else {
        return Ok(());
    };
    let filter = format!("state = {}", quoted(&workflow_state));
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
    Ok(())
}

/// Loads the project's states as the board's columns, then each column's
/// first page, one after the other.
async fn load_board(api: Api, state: ProjectState) -> ApiResult<()> {
    let states = api.list_states(state.name.get_value(), false).await?;
    state.board.try_set(states.iter().map(Column::of).collect());
    for index in 0..states.len() {
        load_page(api, state, index).await?;
    }
    Ok(())
}

/// A move to make: the plan, the board before it (to roll back), the task's
/// title and whether the card keeps the focus.
#[derive(Clone)]
struct Move {
    plan: MovePlan,
    before: Vec<Column>,
    title: String,
    refocus: bool,
}

#[component]
pub fn Board() -> impl IntoView {
    let api = expect_context::<Api>();
    let state = expect_context::<ProjectState>();
    let toasts = expect_context::<ToastList>();
    let dragging = RwSignal::new(None::<String>);

    let first_pages = Loader::new(move || load_board(api, state));
    // Columns are rebuilt only when their number changes, not on every move.
    let column_count = Memo::new(move |_| state.board.with(Vec::len));
    let load_more = Job::new(move |index: &usize| load_page(api, state, *index));
    let error = move || load_more.error().get().or_else(|| first_pages.get().and_then(Result::err));

    let move_task = Job::new(move |change: &Move| {
        let Move { plan, before, title, refocus } = change.clone();
        async move {
            match api.move_task(plan.task.clone(), plan.state.clone(), plan.after_task.clone()).await {
                Ok(task) => {
                    state.apply(TaskEventType::Moved, task);
                    if refocus {
                        let card_id = format!("card-{}", names::id(&plan.task));
                        set_timeout(move || browser::focus(&card_id), std::time::Duration::ZERO);
                    }
                }
                Err(e) => {
                    state.board.try_set(before);
                    toasts.show(format!("Could not move “{title}”. {e}"), None);
                }
            }
        }
    });
    let run_move = move |plan: MovePlan, refocus: bool| {
        let before = state.board.get_untracked();
        let title =
            board::locate(&before, &plan.task).map(|(c, i)| before[c].tasks[i].title.clone()).unwrap_or_default();
        state.board.update(|columns| board::apply_plan(columns, &plan));
        if refocus {
            let card_id = format!("card-{}", names::id(&plan.task));
            set_timeout(move || browser::focus(&card_id), std::time::Duration::ZERO);
        }
        let column = state.board.with_untracked(|b| b.iter().find(|c| c.state == plan.state).map(|c| c.title.clone()));
        state.announcement.set(format!("Moved “{title}” to {}.", column.unwrap_or_default()));
        move_task.dispatch(Move { plan, before, title, refocus });
    };

    let drop_on = move |column: usize, before: Option<String>| {
        let Some(task) = dragging.get_untracked() else { return };
        dragging.set(None);
        let plan = state.board.with_untracked(|b| board::plan_drop(b, &task, column, before.as_deref()));
        if let Some(plan) = plan {
            let unchanged = state.board.with_untracked(|b| board::locate(b, &plan.task) == Some((column, plan.index)));
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
        {move || error().map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
        <p class="hint">"Drag cards between columns, or focus a card and press Alt + arrow keys to move it."</p>
        <div class="board" aria-busy=move || first_pages.with(|pages| pages.is_none()).to_string()>
            {move || {
                (0..column_count.get())
                    .map(|index| view! { <BoardColumn index dragging drop_on key_move load_more/> })
                    .collect_view()
            }}
        </div>
    }
}

/// One state's column, with its WIP limit and "Load more" while it has
/// further pages.
#[component]
fn BoardColumn(
    index: usize,
    dragging: RwSignal<Option<String>>,
    drop_on: impl Fn(usize, Option<String>) + Copy + Send + Sync + 'static,
    key_move: impl Fn(String, Direction) + Copy + Send + Sync + 'static,
    load_more: Job<usize>,
) -> impl IntoView {
    let state = expect_context::<ProjectState>();
    let heading = format!("column-{index}");
    let labelled_by = heading.clone();
    view! {
        <section class="column" aria-labelledby=labelled_by
            on:dragover=|e| e.prevent_default()
            on:drop=move |e| { e.prevent_default(); drop_on(index, None); }
        >
            <h2 id=heading class:full=move || state.board.with(|b| b.get(index).is_some_and(Column::at_limit))>
                <span>
                    <span class="dot" aria-hidden="true"
                        style:background=move || state.board.with(|b| b.get(index).map(|c| c.color.clone()))></span>
                    {move || state.board.with(|b| b.get(index).map(|c| c.title.clone()))}
                </span>
                <span class="count">{move || state.board.with(|b| b.get(index).map(count_label))}</span>
            </h2>
            <ul class="cards" data-column=index.to_string()>
                <For
                    each=move || state.board.with(|b| b.get(index).map(|c| c.tasks.clone()).unwrap_or_default())
                    key=|t| (t.name.clone(), t.etag.clone(), t.state.clone())
                    let:task
                >
                    <Card task index dragging drop_on key_move/>
                </For>
            </ul>
            {move || (state.board.with(|b| b.get(index).is_some_and(|c| !c.next_page_token.is_empty()))).then(|| view! {
                <button type="button" class="ghost more" on:click=move |_| { load_more.dispatch(index); }>"Load more"</button>
            })}
        </section>
    }
}

/// "3", or "3 / 5" (and "at its WIP limit" for screen readers) for a
/// column with a limit.
fn count_label(column: &Column) -> String {
    match column.wip_limit {
        None => column.tasks.len().to_string(),
        Some(limit) if column.at_limit() => format!("{} / {limit}, at its WIP limit", column.tasks.len()),
        Some(limit) => format!("{} / {limit}", column.tasks.len()),
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
    let column = state.board.with_untracked(|b| b.get(index).map(|c| c.title.clone())).unwrap_or_default();
    let label = format!("{}, {column}. Alt plus arrow keys move it.", task.title);
    // "Label: value" of the fields shown on cards, as they load.
    let values = StoredValue::new(task.custom_fields.clone());
    let custom = move || {
        let shown = state.fields.with(|fields| {
            let on_card = fields.into_iter().flatten().filter(|f| f.show_on_card);
            let texts =
                on_card.filter_map(|f| values.with_value(|v| card_text(f, v.get(&f.key)?, |u| state.person(u))));
            texts.collect::<Vec<_>>()
        });
        shown.into_iter().map(|text| view! { <span class="cf">{text}</span> }).collect_view()
    };
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
                {(task.subtasks_total > 0).then(|| view! {
                    <span class="subtasks">{format!("{} of {} subtasks done", task.subtasks_done, task.subtasks_total)}</span>
                })}
                {(!assignees.is_empty()).then(|| view! { <span class="assignees">{assignees}</span> })}
                {task.due_time.as_ref().map(|d| view! { <span class="due">"Due " {crate::model::dates::to_day(d)}</span> })}
                {custom}
            </div>
        </li>
    }
}
