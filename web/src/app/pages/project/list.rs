//! The filtered, sorted, paged task list.

use crate::app::erased::Loader;
use leptos::{leptos_dom::helpers::TimeoutHandle, prelude::*};
use tasktracker_proto::v1::{self, Priority, TaskStatus};

use super::{ProjectState, bulk::BulkActions, views::SavedViews};
use crate::{
    app::{api::Api, components::FieldError, forms::PRIORITIES},
    model::{
        board::{self, STATUSES},
        edit::{priority_label, status_label},
        fields,
        filter::{SORTS, TaskFilter, both, effective_order},
        names, table,
    },
};

/// Tasks per list page.
const LIST_PAGE: i32 = 50;

fn status_from(value: &str) -> Option<TaskStatus> {
    value.parse::<i32>().ok().and_then(|v| TaskStatus::try_from(v).ok()).filter(|s| *s != TaskStatus::Unspecified)
}

fn priority_from(value: &str) -> Option<Priority> {
    value.parse::<i32>().ok().and_then(|v| Priority::try_from(v).ok())
}

/// Which page of which query the list shows.
#[derive(Clone, Copy)]
struct ListQuery {
    filter: RwSignal<TaskFilter>,
    sort: RwSignal<String>,
    page_token: RwSignal<String>,
    previous_tokens: RwSignal<Vec<String>>,
    next_token: RwSignal<String>,
}

impl ListQuery {
    /// Back to the first page (any change of filter or sort).
    fn restart(&self) {
        self.previous_tokens.set(Vec::new());
        self.page_token.set(String::new());
    }

    fn set_filter(&self, change: impl FnOnce(&mut TaskFilter)) {
        self.filter.update(change);
        self.restart();
    }
}

#[component]
pub fn TaskList() -> impl IntoView {
    let api = expect_context::<Api>();
    let state = expect_context::<ProjectState>();
    let query = ListQuery {
        filter: RwSignal::new(TaskFilter::default()),
        sort: RwSignal::new(String::from("position")),
        page_token: RwSignal::new(String::new()),
        previous_tokens: RwSignal::new(Vec::new()),
        next_token: RwSignal::new(String::new()),
    };
    // What to fetch; the page shown is for the latest of these.
    // (The stale count makes a refetch after live changes a new request.)
    // The saved view the URL opens, if any: its filter narrowed by the bar's,
    // its order until another sort is chosen.
    let view = RwSignal::new(None::<v1::SavedView>);
    let current = Signal::derive(move || {
        let bar = query.filter.with(TaskFilter::to_filter);
        view.with(|view| {
            let view = view.as_ref();
            let filter = both(view.map_or("", |view| view.filter.as_str()), &bar);
            (filter, effective_order(&query.sort.get(), view.map(|view| view.order_by.as_str())))
        })
    });
    Effect::new(move |_| {
        view.track();
        query.restart();
    });
    let request = Memo::new(move |_| {
        let (filter, order) = current.get();
        (filter, order, query.page_token.get(), state.list_stale.get())
    });
    // The resource fetches again whenever the request changes; an answer
    // to an older request is not shown. The list lives in the project
    // state because live changes edit it too.
    let page = Loader::new(move || {
        let asked = request.get();
        async move {
            let (filter, order, token, _) = asked.clone();
            let result = api.list_tasks(state.name.get_value(), filter, order, LIST_PAGE, token).await.map(|page| {
                if request.try_get_untracked().as_ref() == Some(&asked) {
                    state.list.try_set(page.tasks);
                    query.next_token.try_set(page.next_page_token);
                }
            });
            (asked, result)
        }
    });
    let loading = Signal::derive(move || request.with(|r| page.with(|p| p.map(|(asked, _)| asked) != Some(r))));
    let error = move || page.get().and_then(|(_, result)| result.err());
    // The server's word on a typed filter shows by its input; the rest above the list.
    let typed_error = Signal::derive(move || {
        let typed = query.filter.with(|f| !f.custom.trim().is_empty());
        error().filter(|_| typed).and_then(|e| e.field("filter"))
    });

    let order = Signal::derive(move || current.with(|(_, order)| order.clone()));
    // Rows selected for the bulk actions: those still on the page.
    let selected = RwSignal::new(Vec::<String>::new());
    Effect::new(move |_| {
        let gone =
            state.list.with(|list| selected.with_untracked(|s| s.iter().any(|n| !list.iter().any(|t| t.name == *n))));
        if gone {
            selected.update(|s| state.list.with_untracked(|list| s.retain(|n| list.iter().any(|t| t.name == *n))));
        }
    });
    view! {
        <SavedViews open=view current/>
        <Filters query typed_error/>
        {move || error().filter(|_| typed_error.with(Option::is_none)).map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
        {move || selected.with(|s| !s.is_empty()).then(|| view! { <BulkActions selected/> })}
        <div class="table-wrap" aria-busy=move || loading.get().to_string()>
            <TaskTable query view order selected/>
            {move || (!loading.get() && state.list.with(Vec::is_empty)).then(|| view! {
                <p class="empty">"No tasks match."</p>
            })}
        </div>
        <Pager query/>
    }
}

/// Search, filters and sort.
#[component]
fn Filters(query: ListQuery, typed_error: Signal<Option<String>>) -> impl IntoView {
    let state = expect_context::<ProjectState>();
    let search_timer = StoredValue::new(None::<TimeoutHandle>);
    let on_search = move |event: leptos::ev::Event| {
        let text = event_target_value(&event);
        if let Some(handle) = search_timer.get_value() {
            handle.clear();
        }
        let handle = set_timeout_with_handle(
            move || query.set_filter(move |f| f.search = text),
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
            <FilterSelect query id="filter-status" label="Status" set=|f, value| f.status = status_from(&value)>
                <option value="">"Any"</option>
                {STATUSES.iter().map(|s| view! { <option value=(*s as i32).to_string()>{status_label(*s as i32)}</option> }).collect_view()}
            </FilterSelect>
            <FilterSelect query id="filter-assignee" label="Assignee"
                set=|f, value| f.assignee = (!value.is_empty()).then_some(value)>
                <option value="">"Anyone"</option>
                <option value="me">"Me"</option>
                {move || state.member_list().into_iter().map(|member| view! {
                    <option value=member.user.clone()>{member.display_name.clone()}</option>
                }).collect_view()}
            </FilterSelect>
            <FilterInput query id="filter-label" label="Label" size="10" set=|f, value| f.label = value/>
            <FilterSelect query id="filter-priority" label="Priority at least"
                set=|f, value| f.min_priority = priority_from(&value)>
                <option value="">"Any"</option>
                {PRIORITIES[1..].iter().map(|p| view! { <option value=p.to_string()>{priority_label(*p)}</option> }).collect_view()}
            </FilterSelect>
            <FilterInput query id="filter-due-after" label="Due from" kind="date" set=|f, value| f.due_after = value/>
            <FilterInput query id="filter-due-before" label="Due before" kind="date" set=|f, value| f.due_before = value/>
            <div class="field grow">
                <label for="filter-custom">"Field filter"</label>
                <input id="filter-custom" placeholder="cf.estimate >= 3" spellcheck="false" autocomplete="off"
                    on:change=set_filter(query, |f, value| f.custom = value) aria-describedby="filter-custom-error"
                    aria-invalid=move || typed_error.with(Option::is_some).then_some("true")/>
                <FieldError id="filter-custom-error" message=typed_error/>
            </div>
            <div class="field">
                <label for="sort">"Sort"</label>
                <select id="sort" prop:value=move || query.sort.get() on:change=move |e| {
                    query.sort.set(event_target_value(&e));
                    query.restart();
                }>
                    {SORTS.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                </select>
            </div>
        </form>
    }
}

/// A change handler giving the control's value to `set`.
fn set_filter(query: ListQuery, set: fn(&mut TaskFilter, String)) -> impl Fn(leptos::ev::Event) + 'static {
    move |e: leptos::ev::Event| {
        let value = event_target_value(&e);
        query.set_filter(move |f| set(f, value));
    }
}

/// A filter chosen from `children` (options).
#[component]
fn FilterSelect(
    query: ListQuery,
    id: &'static str,
    label: &'static str,
    set: fn(&mut TaskFilter, String),
    children: Children,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select id=id on:change=set_filter(query, set)>{children()}</select>
        </div>
    }
}

/// A filter typed in, applied on change.
#[component]
fn FilterInput(
    query: ListQuery,
    id: &'static str,
    label: &'static str,
    #[prop(optional)] kind: Option<&'static str>,
    #[prop(optional)] size: Option<&'static str>,
    set: fn(&mut TaskFilter, String),
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id type=kind size=size on:change=set_filter(query, set)/>
        </div>
    }
}

/// The current page of tasks, in the open view's columns (or the default
/// ones); sortable columns sort by their header; editors select rows for
/// the bulk actions.
#[component]
fn TaskTable(
    query: ListQuery,
    view: RwSignal<Option<v1::SavedView>>,
    order: Signal<String>,
    selected: RwSignal<Vec<String>>,
) -> impl IntoView {
    let state = expect_context::<ProjectState>();
    let fields = move || state.fields.get().unwrap_or_default();
    let columns = Memo::new(move |_| {
        view.with(|view| table::columns(view.as_ref().map_or(&[][..], |v| v.columns.as_slice()), &fields()))
    });
    let all_selected =
        move || state.list.with(|list| !list.is_empty() && selected.with(|s| list.iter().all(|t| s.contains(&t.name))));
    let select_all = move |e: leptos::ev::Event| {
        let names = if event_target_checked(&e) {
            state.list.with(|l| l.iter().map(|t| t.name.clone()).collect())
        } else {
            Vec::new()
        };
        selected.set(names);
    };
    let header = move |column: String| {
        let label = table::header(&column, &fields());
        if !table::sortable(&column) {
            return view! { <th scope="col">{label}</th> }.into_any();
        }
        let sort_by = column.clone();
        view! {
            <th scope="col" aria-sort=move || order.with(|o| table::aria_sort(&column, o))>
                <button type="button" class="sort" on:click=move |_| {
                    query.sort.set(table::header_order(&sort_by, &order.get_untracked()));
                    query.restart();
                }>{label}</button>
            </th>
        }
        .into_any()
    };
    view! {
        <table class="tasks">
            <caption class="sr-only">"Tasks"</caption>
            <thead>
                <tr>
                    {move || state.can_edit().then(|| view! {
                        <th scope="col"><input type="checkbox" aria-label="Select every task on this page"
                            prop:checked=all_selected on:change=select_all/></th>
                    })}
                    {move || columns.get().into_iter().map(header).collect_view()}
                </tr>
            </thead>
            <tbody>
                {move || {
                    let columns = StoredValue::new(columns.get());
                    view! {
                        <For each=move || state.list.get() key=|t| (t.name.clone(), t.etag.clone()) let:task>
                            <TaskRow task columns selected/>
                        </For>
                    }
                }}
            </tbody>
        </table>
    }
}

#[component]
fn TaskRow(task: v1::Task, columns: StoredValue<Vec<String>>, selected: RwSignal<Vec<String>>) -> impl IntoView {
    let state = expect_context::<ProjectState>();
    let name = StoredValue::new(task.name.clone());
    let toggle = move |e: leptos::ev::Event| {
        let on = event_target_checked(&e);
        selected.update(|s| {
            s.retain(|n| *n != name.get_value());
            if on {
                s.push(name.get_value());
            }
        });
    };
    let cell = |column: &String| -> AnyView {
        match column.as_str() {
            "title" => view! { <a href=names::task_path(&task.name) data-nav="">{task.title.clone()}</a> }.into_any(),
            "state" => {
                let class = format!("status s{}", board::column_status(&task));
                view! { <span class=class>{status_label(task.status)}</span> }.into_any()
            }
            "priority" => priority_label(task.priority).into_any(),
            "assignees" => task.assignees.iter().map(|a| state.person(a)).collect::<Vec<_>>().join(", ").into_any(),
            "labels" => {
                task.labels.iter().map(|l| view! { <span class="label">{l.clone()}</span> }).collect_view().into_any()
            }
            "due_time" | "start_time" => {
                let time = if column == "due_time" { &task.due_time } else { &task.start_time };
                time.as_ref().map(crate::model::dates::to_day).into_any()
            }
            "update_time" | "create_time" => {
                let time = if column == "update_time" { &task.update_time } else { &task.create_time };
                time.as_ref().map(crate::app::zone::day_time).into_any()
            }
            custom => {
                let key = custom.strip_prefix("cf.").unwrap_or_default();
                task.custom_fields.get(key).and_then(|value| fields::shown_text(value, |u| state.person(u))).into_any()
            }
        }
    };
    let title = task.title.clone();
    view! {
        <tr>
            {state.can_edit().then(|| view! {
                <td><input type="checkbox" aria-label=format!("Select “{title}”")
                    prop:checked=move || selected.with(|s| s.contains(&name.get_value())) on:change=toggle/></td>
            })}
            {columns.get_value().iter().map(|column| view! { <td>{cell(column)}</td> }).collect_view()}
        </tr>
    }
}

/// Previous and next page.
#[component]
fn Pager(query: ListQuery) -> impl IntoView {
    let ListQuery { page_token, previous_tokens, next_token, .. } = query;
    view! {
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
