//! Custom fields: their lifecycle, values on tasks (set, validated,
//! cleared), the `cf.<key>` filter and order, and values in the watch feed
//! and history.

use std::collections::HashMap;

use prost_types::{FieldMask, Timestamp};
use tasktracker_proto::v1::{self, custom_field_value::Value};
use tonic::{Code, Status};

use sea_orm::{ConnectionTrait, Database};

use crate::{
    helpers::{Backend, TestApp, TestDatabase, TestUser, assert_invalid_field, spawn_app, task},
    on_both_backends,
};

on_both_backends!(
    fields_are_created_listed_updated_and_deleted,
    values_are_checked_against_their_field,
    values_are_set_and_cleared_through_the_update_mask,
    tasks_are_filtered_and_ordered_by_custom_fields,
    custom_orders_page_from_the_values_to_the_tasks_without_one,
    values_reach_the_watch_feed_and_history,
    deleting_a_field_drops_its_values_and_its_filter,
    the_migration_adds_the_tables_and_old_writers_cannot_orphan_values,
);

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask { paths: paths.iter().map(|path| (*path).to_owned()).collect() })
}

fn value(value: Value) -> v1::CustomFieldValue {
    v1::CustomFieldValue { value: Some(value) }
}

fn values(pairs: &[(&str, Value)]) -> HashMap<String, v1::CustomFieldValue> {
    pairs.iter().map(|(key, v)| ((*key).to_owned(), value(v.clone()))).collect()
}

fn options(values: &[&str]) -> Value {
    Value::Options(v1::StringList { values: values.iter().map(|v| (*v).to_owned()).collect() })
}

fn date(day: &str) -> Value {
    Value::Date(format!("{day}T00:00:00Z").parse::<Timestamp>().expect("timestamp"))
}

async fn create_field(
    app: &TestApp,
    user: &TestUser,
    project: &str,
    field: v1::CustomField,
) -> Result<v1::CustomField, Status> {
    app.fields()
        .create_custom_field(user.call(v1::CreateCustomFieldRequest { parent: project.into(), field: Some(field) }))
        .await
        .map(tonic::Response::into_inner)
}

fn field(key: &str, kind: v1::CustomFieldType) -> v1::CustomField {
    v1::CustomField { key: key.into(), display_name: key.to_uppercase(), r#type: kind as i32, ..Default::default() }
}

fn select(key: &str, kind: v1::CustomFieldType, choices: &[&str]) -> v1::CustomField {
    v1::CustomField { options: choices.iter().map(|c| (*c).to_owned()).collect(), ..field(key, kind) }
}

async fn list_fields(app: &TestApp, user: &TestUser, project: &str) -> Vec<v1::CustomField> {
    app.fields()
        .list_custom_fields(user.call(v1::ListCustomFieldsRequest { parent: project.into() }))
        .await
        .expect("list fields")
        .into_inner()
        .fields
}

async fn update_task(app: &TestApp, user: &TestUser, task: v1::Task, paths: &[&str]) -> Result<v1::Task, Status> {
    app.tasks()
        .update_task(user.call(v1::UpdateTaskRequest { task: Some(task), update_mask: mask(paths) }))
        .await
        .map(tonic::Response::into_inner)
}

async fn get_task(app: &TestApp, user: &TestUser, name: &str) -> v1::Task {
    app.tasks().get_task(user.call(v1::GetTaskRequest { name: name.into() })).await.expect("get task").into_inner()
}

async fn list(
    app: &TestApp,
    user: &TestUser,
    project: &str,
    filter: &str,
    order_by: &str,
) -> Result<Vec<String>, Status> {
    let mut titles = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = app
            .tasks()
            .list_tasks(user.call(v1::ListTasksRequest {
                parent: project.into(),
                filter: filter.into(),
                order_by: order_by.into(),
                // Small pages: the order must hold across page tokens.
                page_size: 2,
                page_token,
                ..Default::default()
            }))
            .await?
            .into_inner();
        titles.extend(page.tasks.into_iter().map(|task| task.title));
        if page.next_page_token.is_empty() {
            return Ok(titles);
        }
        page_token = page.next_page_token;
    }
}

async fn fields_are_created_listed_updated_and_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Fields").await;
    let p = &project.name;
    let estimate = create_field(
        &app,
        &ada,
        p,
        v1::CustomField {
            number_min: Some(0.0),
            number_max: Some(100.0),
            show_on_card: true,
            ..field("estimate", v1::CustomFieldType::Number)
        },
    )
    .await
    .expect("create number field");
    assert!(estimate.name.starts_with(&format!("{p}/fields/")), "{}", estimate.name);
    assert_eq!((estimate.key.as_str(), estimate.number_max, estimate.show_on_card), ("estimate", Some(100.0), true));
    let size = create_field(&app, &ada, p, select("size", v1::CustomFieldType::SingleSelect, &["S", "M", "L"]))
        .await
        .expect("create select");
    assert_eq!(size.options, ["S", "M", "L"]);
    assert!(size.position > estimate.position);
    // Keys are unique in a project, but another project may reuse one.
    let duplicate = create_field(&app, &ada, p, field("estimate", v1::CustomFieldType::Text)).await.unwrap_err();
    assert_invalid_field(&duplicate, "field.key");
    let other = app.create_project(&ada, "Other").await;
    create_field(&app, &ada, &other.name, field("estimate", v1::CustomFieldType::Text)).await.expect("other project");
    let keys: Vec<String> = list_fields(&app, &ada, p).await.into_iter().map(|field| field.key).collect();
    assert_eq!(keys, ["estimate", "size"]);

    // Update: display name and options; key and type stay.
    let renamed = app
        .fields()
        .update_custom_field(ada.call(v1::UpdateCustomFieldRequest {
            field: Some(v1::CustomField {
                name: size.name.clone(),
                display_name: "T-shirt size".into(),
                options: vec!["S".into(), "M".into(), "L".into(), "XL".into()],
                etag: size.etag.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["display_name", "options"]),
        }))
        .await
        .expect("update")
        .into_inner();
    assert_eq!((renamed.display_name.as_str(), renamed.options.len()), ("T-shirt size", 4));
    assert_ne!(renamed.etag, size.etag);
    let stale = app
        .fields()
        .update_custom_field(ada.call(v1::UpdateCustomFieldRequest {
            field: Some(v1::CustomField {
                name: size.name.clone(),
                show_on_card: true,
                etag: size.etag.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["show_on_card"]),
        }))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let immutable = app
        .fields()
        .update_custom_field(ada.call(v1::UpdateCustomFieldRequest {
            field: Some(v1::CustomField { name: size.name.clone(), key: "other".into(), ..Default::default() }),
            update_mask: mask(&["key"]),
        }))
        .await
        .unwrap_err();
    assert_invalid_field(&immutable, "update_mask");
    // An option in use cannot be removed; an unused one can.
    let t = app
        .create_task(&ada, p, v1::Task { custom_fields: values(&[("size", Value::Option("M".into()))]), ..task("t") })
        .await;
    let narrow = |choices: &[&str]| v1::UpdateCustomFieldRequest {
        field: Some(v1::CustomField {
            name: size.name.clone(),
            options: choices.iter().map(|c| (*c).to_owned()).collect(),
            ..Default::default()
        }),
        update_mask: mask(&["options"]),
    };
    let in_use = app.fields().update_custom_field(ada.call(narrow(&["S", "L"]))).await.unwrap_err();
    assert_eq!(in_use.code(), Code::FailedPrecondition, "{in_use:?}");
    app.fields().update_custom_field(ada.call(narrow(&["M", "L"]))).await.expect("unused options go");
    // Bounds cannot be narrowed past values tasks hold.
    update_task(
        &app,
        &ada,
        v1::Task {
            name: t.name.clone(),
            custom_fields: values(&[("estimate", Value::Number(50.0))]),
            ..Default::default()
        },
        &["custom_fields.estimate"],
    )
    .await
    .expect("set estimate");
    let bounds = app
        .fields()
        .update_custom_field(ada.call(v1::UpdateCustomFieldRequest {
            field: Some(v1::CustomField { name: estimate.name.clone(), number_max: Some(10.0), ..Default::default() }),
            update_mask: mask(&["number_max"]),
        }))
        .await
        .unwrap_err();
    assert_eq!(bounds.code(), Code::FailedPrecondition, "{bounds:?}");

    // Delete: the field's values go with it.
    let deleted = app
        .fields()
        .delete_custom_field(ada.call(v1::DeleteCustomFieldRequest { name: size.name.clone(), etag: String::new() }))
        .await
        .expect("delete")
        .into_inner();
    assert_eq!(deleted.cleared_tasks, 1);
    let keys: Vec<String> = list_fields(&app, &ada, p).await.into_iter().map(|field| field.key).collect();
    assert_eq!(keys, ["estimate"]);
    let read = get_task(&app, &ada, &t.name).await;
    assert_eq!(read.custom_fields.keys().collect::<Vec<_>>(), ["estimate"]);
    let again = app
        .fields()
        .delete_custom_field(ada.call(v1::DeleteCustomFieldRequest { name: size.name.clone(), etag: String::new() }))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
    app.stop().await;
}

async fn values_are_checked_against_their_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let stranger = app.sign_up("stranger").await;
    let project = app.create_project(&ada, "Validation").await;
    let p = &project.name;
    use v1::CustomFieldType as T;
    create_field(&app, &ada, p, field("notes", T::Text)).await.unwrap();
    create_field(
        &app,
        &ada,
        p,
        v1::CustomField { number_min: Some(1.0), number_max: Some(8.0), ..field("estimate", T::Number) },
    )
    .await
    .unwrap();
    create_field(&app, &ada, p, field("launch", T::Date)).await.unwrap();
    create_field(&app, &ada, p, select("size", T::SingleSelect, &["S", "M"])).await.unwrap();
    create_field(&app, &ada, p, select("tags", T::MultiSelect, &["ui", "api"])).await.unwrap();
    create_field(&app, &ada, p, field("reviewer", T::User)).await.unwrap();
    create_field(&app, &ada, p, field("blocked", T::Checkbox)).await.unwrap();
    let other = app.create_project(&ada, "Elsewhere").await;
    create_field(&app, &ada, &other.name, field("customer", T::Text)).await.unwrap();

    // Every type takes a good value.
    let good = values(&[
        ("notes", Value::Text("call back".into())),
        ("estimate", Value::Number(8.0)),
        ("launch", date("2027-01-15")),
        ("size", Value::Option("M".into())),
        ("tags", options(&["api", "ui"])),
        ("reviewer", Value::User(ada.name.clone())),
        ("blocked", Value::Checkbox(true)),
    ]);
    let created = app.create_task(&ada, p, v1::Task { custom_fields: good.clone(), ..task("good") }).await;
    let mut expected = good.clone();
    // Multi-select options come back in the field's option order.
    expected.insert("tags".into(), value(options(&["ui", "api"])));
    assert_eq!(created.custom_fields, expected);
    assert_eq!(get_task(&app, &ada, &created.name).await.custom_fields, expected);

    // Each bad value is refused, naming its path.
    let refused = |key: &'static str, bad: Value| {
        let app = &app;
        let ada = &ada;
        async move {
            let status = app
                .create_task_result(ada, p, v1::Task { custom_fields: values(&[(key, bad)]), ..task("bad") })
                .await
                .expect_err(key);
            assert_invalid_field(&status, &format!("task.custom_fields.{key}"));
        }
    };
    refused("estimate", Value::Text("8".into())).await; // wrong type
    refused("estimate", Value::Number(9.0)).await; // above max
    refused("estimate", Value::Number(0.5)).await; // below min
    refused("estimate", Value::Number(f64::NAN)).await;
    refused("size", Value::Option("XL".into())).await;
    refused("tags", options(&["ui", "db"])).await;
    refused("tags", options(&[])).await;
    refused("reviewer", Value::User(stranger.name.clone())).await; // not a member
    refused("reviewer", Value::User("people/1".into())).await;
    refused("notes", Value::Text("x".repeat(2_001))).await;
    refused("blocked", Value::Text("yes".into())).await;
    refused("customer", Value::Text("ACME".into())).await; // another project's field
    refused("missing", Value::Checkbox(true)).await; // no such key
    let unset = app
        .create_task_result(
            &ada,
            p,
            v1::Task {
                custom_fields: [("notes".to_owned(), v1::CustomFieldValue { value: None })].into(),
                ..task("bad")
            },
        )
        .await
        .unwrap_err();
    assert_invalid_field(&unset, "task.custom_fields.notes");
    // Field definitions are checked too.
    let bad_key = create_field(&app, &ada, p, field("Bad-Key", T::Text)).await.unwrap_err();
    assert_invalid_field(&bad_key, "field.key");
    let no_options = create_field(&app, &ada, p, field("kind", T::SingleSelect)).await.unwrap_err();
    assert_invalid_field(&no_options, "field.options");
    let no_type = create_field(&app, &ada, p, field("kind", T::Unspecified)).await.unwrap_err();
    assert_invalid_field(&no_type, "field.type");
    let repeated = create_field(&app, &ada, p, select("kind", T::MultiSelect, &["a", "a"])).await.unwrap_err();
    assert_invalid_field(&repeated, "field.options[1]");
    let bounds = create_field(
        &app,
        &ada,
        p,
        v1::CustomField { number_min: Some(2.0), number_max: Some(1.0), ..field("kind", T::Number) },
    )
    .await
    .unwrap_err();
    assert_invalid_field(&bounds, "field.number_max");
    app.stop().await;
}

async fn values_are_set_and_cleared_through_the_update_mask(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Masks").await;
    let p = &project.name;
    create_field(&app, &ada, p, field("estimate", v1::CustomFieldType::Number)).await.unwrap();
    create_field(&app, &ada, p, field("notes", v1::CustomFieldType::Text)).await.unwrap();
    let t = app.create_task(&ada, p, task("t")).await;
    assert!(t.custom_fields.is_empty());
    let named = |custom_fields| v1::Task { name: t.name.clone(), custom_fields, ..Default::default() };
    // One key: the others stay.
    let set = update_task(
        &app,
        &ada,
        named(values(&[("estimate", Value::Number(3.0)), ("notes", Value::Text("ignored".into()))])),
        &["custom_fields.estimate"],
    )
    .await
    .unwrap();
    assert_eq!(set.custom_fields, values(&[("estimate", Value::Number(3.0))]));
    let set =
        update_task(&app, &ada, named(values(&[("notes", Value::Text("hello".into()))])), &["custom_fields.notes"])
            .await
            .unwrap();
    assert_eq!(set.custom_fields, values(&[("estimate", Value::Number(3.0)), ("notes", Value::Text("hello".into()))]));
    // A key named but absent from the map clears it.
    let cleared = update_task(&app, &ada, named(HashMap::new()), &["custom_fields.estimate"]).await.unwrap();
    assert_eq!(cleared.custom_fields, values(&[("notes", Value::Text("hello".into()))]));
    // `custom_fields` replaces them all.
    let replaced =
        update_task(&app, &ada, named(values(&[("estimate", Value::Number(5.0))])), &["custom_fields"]).await.unwrap();
    assert_eq!(replaced.custom_fields, values(&[("estimate", Value::Number(5.0))]));
    // Other updates leave the values alone, and so does `*` with none.
    let retitled = update_task(
        &app,
        &ada,
        v1::Task { name: t.name.clone(), title: "renamed".into(), ..Default::default() },
        &["title"],
    )
    .await
    .unwrap();
    assert_eq!(retitled.custom_fields, values(&[("estimate", Value::Number(5.0))]));
    let star = update_task(&app, &ada, v1::Task { title: "star".into(), ..retitled.clone() }, &["*"]).await.unwrap();
    assert_eq!(star.custom_fields.len(), 1);
    let emptied = update_task(&app, &ada, named(HashMap::new()), &["custom_fields"]).await.unwrap();
    assert!(emptied.custom_fields.is_empty());
    let bad_path = update_task(&app, &ada, named(HashMap::new()), &["custom_fields.Not-A-Key"]).await.unwrap_err();
    assert_invalid_field(&bad_path, "update_mask");
    app.stop().await;
}

async fn tasks_are_filtered_and_ordered_by_custom_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let bob = app.sign_up("bob").await;
    let project = app.create_project(&ada, "Filters").await;
    let p = &project.name;
    app.add_member(&ada, p, &bob, v1::Role::Editor).await;
    use v1::CustomFieldType as T;
    for definition in [
        field("estimate", T::Number),
        field("launch", T::Date),
        field("notes", T::Text),
        select("size", T::SingleSelect, &["S", "M", "L"]),
        select("tags", T::MultiSelect, &["ui", "api"]),
        field("reviewer", T::User),
        field("blocked", T::Checkbox),
    ] {
        create_field(&app, &ada, p, definition).await.unwrap();
    }
    let with = |title: &str, pairs: &[(&str, Value)]| v1::Task { custom_fields: values(pairs), ..task(title) };
    app.create_task(
        &ada,
        p,
        with(
            "a",
            &[
                ("estimate", Value::Number(1.0)),
                ("launch", date("2027-03-01")),
                ("notes", Value::Text("Call ACME".into())),
                ("size", Value::Option("S".into())),
                ("tags", options(&["ui"])),
                ("reviewer", Value::User(ada.name.clone())),
                ("blocked", Value::Checkbox(true)),
            ],
        ),
    )
    .await;
    app.create_task(
        &ada,
        p,
        with(
            "b",
            &[
                ("estimate", Value::Number(5.5)),
                ("launch", date("2027-01-01")),
                ("size", Value::Option("L".into())),
                ("tags", options(&["ui", "api"])),
                ("reviewer", Value::User(bob.name.clone())),
                ("blocked", Value::Checkbox(false)),
            ],
        ),
    )
    .await;
    app.create_task(
        &ada,
        p,
        with("c", &[("estimate", Value::Number(3.0)), ("notes", Value::Text("Acme again".into()))]),
    )
    .await;
    app.create_task(&ada, p, task("d")).await;
    app.create_task(&ada, p, with("e", &[("estimate", Value::Number(3.0)), ("launch", date("2027-02-01"))])).await;
    let titles = async |filter: &str| {
        list(&app, &ada, p, filter, "title").await.unwrap_or_else(|status| panic!("{filter}: {status:?}"))
    };
    assert_eq!(titles("cf.estimate >= 3").await, ["b", "c", "e"]);
    assert_eq!(titles("cf.estimate = 3").await, ["c", "e"]);
    assert_eq!(titles("cf.estimate != 3").await, ["a", "b", "d"]);
    assert_eq!(titles("cf.estimate < 3 OR cf.estimate > 5").await, ["a", "b"]);
    assert_eq!(titles("cf.launch < 2027-02-15").await, ["b", "e"]);
    assert_eq!(titles("cf.notes:acme").await, ["a", "c"]);
    assert_eq!(titles("cf.notes = \"Call ACME\"").await, ["a"]);
    assert_eq!(titles("cf.size = S").await, ["a"]);
    assert_eq!(titles("cf.size != S").await, ["b", "c", "d", "e"]);
    assert_eq!(titles("cf.tags = api").await, ["b"]);
    assert_eq!(titles("cf.tags:ui").await, ["a", "b"]);
    assert_eq!(titles("cf.tags != api").await, ["a", "c", "d", "e"]);
    assert_eq!(titles("cf.reviewer = me").await, ["a"]);
    assert_eq!(titles(&format!("cf.reviewer = {}", bob.name)).await, ["b"]);
    assert_eq!(list(&app, &bob, p, "cf.reviewer = me", "title").await.unwrap(), ["b"]);
    assert_eq!(titles("cf.blocked = true").await, ["a"]);
    assert_eq!(titles("cf.blocked = false").await, ["b", "c", "d", "e"]);
    assert_eq!(titles("cf.launch:*").await, ["a", "b", "e"]);
    assert_eq!(titles("NOT cf.notes:* AND cf.estimate:*").await, ["b", "e"]);
    // Orders: values, ties by id (creation), tasks without a value last.
    let ordered = async |order_by: &str| {
        list(&app, &ada, p, "", order_by).await.unwrap_or_else(|status| panic!("{order_by}: {status:?}"))
    };
    assert_eq!(ordered("cf.estimate").await, ["a", "c", "e", "b", "d"]);
    assert_eq!(ordered("cf.estimate desc").await, ["b", "e", "c", "a", "d"]);
    assert_eq!(ordered("cf.launch").await, ["b", "e", "a", "c", "d"]);
    assert_eq!(ordered("cf.launch desc").await, ["a", "e", "b", "d", "c"]);
    assert_eq!(ordered("cf.blocked").await, ["b", "a", "c", "d", "e"]);
    assert_eq!(list(&app, &ada, p, "cf.estimate >= 3", "cf.estimate desc").await.unwrap(), ["b", "e", "c"]);
    // Text and single select order by their text; tasks without a value
    // last either way (ties by id, in the order's direction).
    assert_eq!(ordered("cf.notes").await, ["c", "a", "b", "d", "e"]);
    assert_eq!(ordered("cf.notes desc").await, ["a", "c", "e", "d", "b"]);
    assert_eq!(ordered("cf.size").await, ["b", "a", "c", "d", "e"]);
    assert_eq!(ordered("cf.size desc").await, ["a", "b", "e", "d", "c"]);
    // Bad filters and orders name the field.
    for filter in [
        "cf.nope = 1",
        "cf.estimate = many",
        "cf.estimate:3",
        "cf.size < S",
        "cf.blocked = maybe",
        "cf.reviewer = bob",
        "cf.Bad = 1",
    ] {
        let status = list(&app, &ada, p, filter, "").await.expect_err(filter);
        assert_invalid_field(&status, "filter");
    }
    for order_by in ["cf.nope", "cf.tags", "cf.reviewer desc"] {
        let status = list(&app, &ada, p, "", order_by).await.expect_err(order_by);
        assert_invalid_field(&status, "order_by");
    }
    // Another project's keys are unknown here.
    let other = app.create_project(&ada, "Other").await;
    create_field(&app, &ada, &other.name, field("customer", T::Text)).await.unwrap();
    let status = list(&app, &ada, p, "cf.customer:*", "").await.unwrap_err();
    assert_invalid_field(&status, "filter");
    app.stop().await;
}

/// Titles of every page of a list, `page_size` at a time.
async fn list_paged(
    app: &TestApp,
    user: &TestUser,
    project: &str,
    (filter, order_by): (&str, &str),
    page_size: i32,
    show_deleted: bool,
) -> Vec<String> {
    let mut titles = Vec::new();
    let mut page_token = String::new();
    for _ in 0..100 {
        let request = v1::ListTasksRequest {
            parent: project.into(),
            filter: filter.into(),
            order_by: order_by.into(),
            page_size,
            page_token,
            show_deleted,
        };
        let page = app.tasks().list_tasks(user.call(request)).await.expect("list").into_inner();
        assert!(page.tasks.len() <= page_size as usize);
        titles.extend(page.tasks.into_iter().map(|task| task.title));
        if page.next_page_token.is_empty() {
            return titles;
        }
        page_token = page.next_page_token;
    }
    panic!("more than 100 pages of {page_size}");
}

/// Orders by a custom field are read in two parts (the field's values in
/// index order, then the tasks without a value); every page size, across
/// the boundary, with ties, a filter and deleted tasks, must give the order
/// of the values (ties by id), then the tasks without one (by id), both in
/// the order's direction.
async fn custom_orders_page_from_the_values_to_the_tasks_without_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Orders").await;
    let p = &project.name;
    use v1::CustomFieldType as T;
    for definition in [field("estimate", T::Number), field("launch", T::Date), field("done", T::Checkbox)] {
        create_field(&app, &ada, p, definition).await.unwrap();
    }
    create_field(&app, &ada, p, select("size", T::SingleSelect, &["L", "M", "S"])).await.unwrap();
    // (title, estimate, launch day, done, size); `x` titles are deleted.
    type Row = (&'static str, Option<f64>, Option<u32>, Option<bool>, Option<&'static str>);
    // The task's id, then the row.
    type Made = (String, &'static str, Option<f64>, Option<u32>, Option<bool>, Option<&'static str>);
    let rows: [Row; 11] = [
        ("t0", Some(2.0), Some(3), Some(true), Some("M")),
        ("t1", Some(-1.5), None, Some(false), None),
        ("t2", None, Some(1), None, Some("S")),
        ("t3", Some(2.0), Some(3), Some(true), Some("M")),
        ("x4", Some(0.5), Some(2), Some(false), Some("L")),
        ("t5", None, None, None, None),
        ("t6", Some(1e15), Some(1), Some(true), Some("L")),
        ("x7", None, None, None, None),
        ("t8", Some(2.0), Some(9), Some(false), Some("S")),
        ("t9", None, Some(3), None, Some("M")),
        ("t10", Some(-1e15), None, Some(true), None),
    ];
    let mut created: Vec<Made> = Vec::new();
    for (title, estimate, launch, done, size) in rows {
        let mut pairs = Vec::new();
        if let Some(estimate) = estimate {
            pairs.push(("estimate", Value::Number(estimate)));
        }
        if let Some(day) = launch {
            pairs.push(("launch", date(&format!("2027-01-{day:02}"))));
        }
        if let Some(done) = done {
            pairs.push(("done", Value::Checkbox(done)));
        }
        if let Some(size) = size {
            pairs.push(("size", Value::Option(size.into())));
        }
        let made = app.create_task(&ada, p, v1::Task { custom_fields: values(&pairs), ..task(title) }).await;
        if title.starts_with('x') {
            app.tasks()
                .delete_task(ada.call(v1::DeleteTaskRequest { name: made.name.clone(), etag: String::new() }))
                .await
                .expect("delete");
        }
        let id = made.name.rsplit('/').next().unwrap().to_owned();
        created.push((id, title, estimate, launch, done, size));
    }
    // The expected order, from the ids: values (ties by id) then missing
    // (by id), all reversed by `desc`.
    let expected = |created: &[Made],
                    key: &dyn Fn(&Made) -> Option<f64>,
                    descending: bool,
                    deleted: bool,
                    filter: &dyn Fn(&str) -> bool| {
        let mut picked: Vec<usize> = (0..created.len())
            .filter(|&i| (deleted || !created[i].1.starts_with('x')) && filter(created[i].1))
            .collect();
        picked.sort_by(|&a, &b| {
            let (a_key, b_key) = (key(&created[a]), key(&created[b]));
            let by_value = match (a_key, b_key) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            };
            let by_value = if descending && a_key.is_some() && b_key.is_some() { by_value.reverse() } else { by_value };
            let by_id = created[a].0.cmp(&created[b].0);
            by_value.then(if descending { by_id.reverse() } else { by_id })
        });
        picked.into_iter().map(|i| created[i].1.to_owned()).collect::<Vec<_>>()
    };
    let sizes = ["L", "M", "S"];
    type Key<'a> = &'a dyn Fn(&Made) -> Option<f64>;
    let keys: [(&str, Key); 4] = [
        ("cf.estimate", &|made| made.2),
        ("cf.launch", &|made| made.3.map(f64::from)),
        ("cf.done", &|made| made.4.map(|done| f64::from(u8::from(done)))),
        ("cf.size", &|made| made.5.map(|size| sizes.iter().position(|s| *s == size).unwrap() as f64)),
    ];
    let everything = |_: &str| true;
    let odd = |title: &str| title.ends_with(['1', '3', '5', '7', '9']) || title == "t10";
    for (key, value_of) in keys {
        for descending in [false, true] {
            let order_by = if descending { format!("{key} desc") } else { key.to_owned() };
            for (filter, keep) in [
                ("", &everything as &dyn Fn(&str) -> bool),
                ("title:1 OR title:3 OR title:5 OR title:7 OR title:9", &odd),
            ] {
                for show_deleted in [false, true] {
                    let want = expected(&created, value_of, descending, show_deleted, keep);
                    for page_size in [1, 2, 3, 4, 50] {
                        let got = list_paged(&app, &ada, p, (filter, &order_by), page_size, show_deleted).await;
                        assert_eq!(
                            got, want,
                            "{order_by}, filter {filter:?}, show_deleted {show_deleted}, pages of {page_size}"
                        );
                    }
                }
            }
        }
    }
    // A task that gains a value moves from the tail into the values.
    let t5 = format!("{p}/tasks/{}", created[5].0);
    let mut changed = get_task(&app, &ada, &t5).await;
    changed.custom_fields = values(&[("estimate", Value::Number(2.0))]);
    update_task(&app, &ada, changed, &["custom_fields.estimate"]).await.unwrap();
    created[5].2 = Some(2.0);
    let got = list_paged(&app, &ada, p, ("", "cf.estimate desc"), 2, false).await;
    assert_eq!(got, expected(&created, &|made| made.2, true, false, &everything));
    app.stop().await;
}

/// A field deleted between UpdateTask's check of a value and its write:
/// INVALID_ARGUMENT naming `task.custom_fields.<key>`, not a foreign key
/// violation answered INTERNAL. Provoked on PostgreSQL by holding the
/// task's row: the update checks the value, then waits for the row; the
/// field is deleted meanwhile; the row is released. (SQLite has one
/// writer, so the interleaving cannot be set up through the API there; the
/// storage test `field_races` covers both databases.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_deleted_while_a_write_waits_is_named_postgres() {
    use sea_orm::TransactionTrait;
    let app = spawn_app(Backend::Postgres).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Race").await;
    let p = &project.name;
    let estimate = create_field(&app, &ada, p, field("estimate", v1::CustomFieldType::Number)).await.unwrap();
    let created = app.create_task(&ada, p, task("racing")).await;
    let id = created.name.rsplit('/').next().unwrap().to_owned();
    let db = Database::connect(app.database.url.clone()).await.unwrap();
    let holder = db.begin().await.unwrap();
    holder.execute_unprepared(&format!("SELECT 1 FROM tasks WHERE id = '{id}' FOR UPDATE")).await.unwrap();
    let update = {
        let mut tasks = app.tasks();
        let changed = v1::Task { custom_fields: values(&[("estimate", Value::Number(3.0))]), ..created.clone() };
        let request =
            ada.call(v1::UpdateTaskRequest { task: Some(changed), update_mask: mask(&["custom_fields.estimate"]) });
        tokio::spawn(async move { tasks.update_task(request).await })
    };
    // Wait until the update, its value checked, waits for the task's row.
    let waiting =
        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
    let mut blocked = false;
    for _ in 0..500 {
        if count(&db, waiting).await > 0 {
            blocked = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(blocked, "the update never waited for the task's row");
    app.fields()
        .delete_custom_field(
            ada.call(v1::DeleteCustomFieldRequest { name: estimate.name.clone(), etag: String::new() }),
        )
        .await
        .expect("the field's delete does not wait for the task");
    holder.commit().await.unwrap();
    let status = update.await.unwrap().expect_err("the value's field is gone");
    assert_invalid_field(&status, "task.custom_fields.estimate");
    assert!(status.message().contains("deleted meanwhile"), "{status:?}");
    // The task is as it was.
    let read = get_task(&app, &ada, &created.name).await;
    assert_eq!((read.etag.as_str(), read.custom_fields.len()), (created.etag.as_str(), 0));
    app.stop().await;
}

async fn values_reach_the_watch_feed_and_history(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Feed").await;
    let p = &project.name;
    create_field(&app, &ada, p, field("estimate", v1::CustomFieldType::Number)).await.unwrap();
    let t = app
        .create_task(&ada, p, v1::Task { custom_fields: values(&[("estimate", Value::Number(2.0))]), ..task("t") })
        .await;
    update_task(
        &app,
        &ada,
        v1::Task {
            name: t.name.clone(),
            custom_fields: values(&[("estimate", Value::Number(4.5))]),
            ..Default::default()
        },
        &["custom_fields.estimate"],
    )
    .await
    .unwrap();
    update_task(&app, &ada, v1::Task { name: t.name.clone(), ..Default::default() }, &["custom_fields.estimate"])
        .await
        .unwrap();
    let activities = app
        .tasks()
        .list_task_activities(ada.call(v1::ListTaskActivitiesRequest { parent: t.name.clone(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .activities;
    let changes: Vec<(String, String)> = activities
        .iter()
        .flat_map(|activity| activity.changes.iter())
        .filter(|change| change.field == "custom_fields.estimate")
        .map(|change| (change.old_value.clone(), change.new_value.clone()))
        .collect();
    assert_eq!(changes, [("".into(), "2".into()), ("2".into(), "4.5".into()), ("4.5".into(), "".into())]);
    let mut stream = app
        .tasks()
        .watch_tasks(ada.call(v1::WatchTasksRequest { parent: p.clone(), cursor: "0".into() }))
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    while let Ok(Ok(Some(message))) = tokio::time::timeout(std::time::Duration::from_secs(2), stream.message()).await {
        if let Some(v1::watch_tasks_response::Kind::Event(event)) = message.kind {
            seen.push(event.task.expect("task").custom_fields.get("estimate").cloned());
            if seen.len() == 3 {
                break;
            }
        }
    }
    assert_eq!(seen, [Some(value(Value::Number(2.0))), Some(value(Value::Number(4.5))), None]);
    app.stop().await;
}

async fn deleting_a_field_drops_its_values_and_its_filter(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Delete").await;
    let p = &project.name;
    let estimate = create_field(&app, &ada, p, field("estimate", v1::CustomFieldType::Number)).await.unwrap();
    for (title, estimate) in [("a", 1.0), ("b", 2.0)] {
        app.create_task(
            &ada,
            p,
            v1::Task { custom_fields: values(&[("estimate", Value::Number(estimate))]), ..task(title) },
        )
        .await;
    }
    assert_eq!(list(&app, &ada, p, "cf.estimate > 1", "").await.unwrap(), ["b"]);
    let deleted = app
        .fields()
        .delete_custom_field(
            ada.call(v1::DeleteCustomFieldRequest { name: estimate.name.clone(), etag: estimate.etag.clone() }),
        )
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deleted.cleared_tasks, 2);
    let status = list(&app, &ada, p, "cf.estimate > 1", "").await.unwrap_err();
    assert_invalid_field(&status, "filter");
    let tasks = app
        .tasks()
        .list_tasks(ada.call(v1::ListTasksRequest { parent: p.clone(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    assert!(tasks.iter().all(|task| task.custom_fields.is_empty()));
    // The key can be reused, with another type; old values do not come back.
    create_field(&app, &ada, p, field("estimate", v1::CustomFieldType::Text)).await.expect("key reused");
    assert_eq!(list(&app, &ada, p, "cf.estimate:*", "").await.unwrap(), Vec::<String>::new());
    app.stop().await;
}

/// Runs `sql` and returns its rows' only (integer) column.
async fn count(db: &impl ConnectionTrait, sql: &str) -> i64 {
    let row =
        db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql.to_owned())).await.unwrap();
    row.expect("a row").try_get_by_index(0).unwrap()
}

/// The previous release knows neither table; what it does to tasks and
/// projects (purging, deleting) must take their values and fields along.
async fn the_migration_adds_the_tables_and_old_writers_cannot_orphan_values(backend: Backend) {
    use sea_orm_migration::MigratorTrait;
    use tasktracker_migrations::Migrator;

    let database = TestDatabase::create_empty(backend).await;
    let db = Database::connect(database.url.clone()).await.unwrap();
    let before = Migrator::migrations().iter().position(|m| m.name() == "m20261211_000001_custom_fields").unwrap();
    Migrator::up(&db, Some(before as u32)).await.unwrap();
    let (user, project, task, field) =
        (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    for sql in [
        format!(
            "INSERT INTO users (id, email, display_name, password_hash, create_time) VALUES ('{user}', 'old@example.com', 'Old', '', 1)"
        ),
        format!(
            "INSERT INTO projects (id, title, description, creator_id, request_id, create_time, update_time, \
             archive_time, version, event_seq) VALUES ('{project}', 'Old', '', '{user}', NULL, 7, 7, NULL, 1, 0)"
        ),
        format!(
            "INSERT INTO tasks (id, project_id, title, description, status, priority, start_time, due_time, \
             position, creator_id, request_id, create_time, update_time, complete_time, delete_time, version) \
             VALUES ('{task}', '{project}', 't', '', 1, 0, NULL, NULL, 0, '{user}', NULL, 1, 1, NULL, NULL, 1)"
        ),
    ] {
        db.execute_unprepared(&sql).await.unwrap();
    }
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM custom_fields").await, 0);
    db.execute_unprepared(&format!(
        "INSERT INTO custom_fields (id, project_id, key, display_name, kind, options, number_min, number_max, \
         show_on_card, position, create_time, update_time, version) \
         VALUES ('{field}', '{project}', 'estimate', 'Estimate', 2, '[]', NULL, NULL, false, 0, 1, 1, 1)"
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO task_field_values (task_id, field_id, ordinal, project_id, number_value) \
         VALUES ('{task}', '{field}', 0, '{project}', 3)"
    ))
    .await
    .unwrap();
    // One value per task, field and ordinal.
    let twice = db
        .execute_unprepared(&format!(
            "INSERT INTO task_field_values (task_id, field_id, ordinal, project_id, number_value) \
             VALUES ('{task}', '{field}', 0, '{project}', 4)"
        ))
        .await;
    assert!(twice.is_err());
    // The previous release purges the task: its values go with it.
    db.execute_unprepared(&format!("DELETE FROM tasks WHERE id = '{task}'")).await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM task_field_values").await, 0);
    // And deleting the project takes its fields.
    db.execute_unprepared(&format!("DELETE FROM memberships WHERE project_id = '{project}'")).await.unwrap();
    db.execute_unprepared(&format!("DELETE FROM projects WHERE id = '{project}'")).await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM custom_fields").await, 0);
    // Down and up again.
    Migrator::down(&db, Some(1)).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    db.close().await.unwrap();
}
