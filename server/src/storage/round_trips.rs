//! How many statements the hot reads send, counted on a real database
//! (PostgreSQL and SQLite) through SeaORM's per-statement callback: GetTask
//! and the task reads under it are one statement, ListTasks' page is one
//! more after the membership (two when a custom field's order runs past
//! its values), and each returns what the separate queries returned.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use sea_orm::{ActiveModelTrait, DatabaseConnection, IntoActiveModel};
use secrecy::SecretString;

use super::{
    entities::{memberships, projects, tasks, users},
    projects::ProjectStore,
    tasks::{History, Rollup, TaskQuery, TaskRecord, TaskStore, WriteTimings},
};
use crate::{
    auth::Role,
    domain::{
        ProjectId, TaskId, TaskName, TaskStatus, UserId,
        page::{TaskOrder, TaskOrderField},
        time,
    },
};

/// A migrated database that lives as long as the value.
pub(super) enum Scratch {
    Postgres(#[allow(dead_code, reason = "dropped with the test")] tasktracker_testkit::PostgresDatabase),
    Sqlite(#[allow(dead_code, reason = "removed with the test")] tempdir::Dir),
}

mod tempdir {
    /// A directory removed when dropped.
    pub struct Dir(pub std::path::PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A pool on a fresh migrated database, and a count of the statements it sends.
pub(super) async fn counted(postgres: bool) -> (DatabaseConnection, Arc<AtomicUsize>, Scratch) {
    let (url, scratch) = if postgres {
        let admin = tasktracker_testkit::admin_url();
        let database =
            tasktracker_testkit::PostgresDatabase::create(&admin, "tasktracker_unit").await.expect("database");
        (database.url.clone(), Scratch::Postgres(database))
    } else {
        let dir = std::env::temp_dir().join(format!("tasktracker-unit-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("test.sqlite3");
        tasktracker_testkit::sqlite_database(&file).await.expect("SQLite template copy");
        (format!("sqlite://{}?mode=rwc", file.display()), Scratch::Sqlite(tempdir::Dir(dir)))
    };
    let mut db = super::connect(&SecretString::from(url), 4, None).await.expect("connect");
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    (db, statements, scratch)
}

pub(super) async fn user(db: &DatabaseConnection, email: &str) -> UserId {
    let id = UserId::generate();
    users::Model {
        id: id.to_string(),
        email: email.into(),
        display_name: email.into(),
        password_hash: String::new(),
        create_time: time::now(),
        time_zone: String::new(),
    }
    .into_active_model()
    .insert(db)
    .await
    .expect("user");
    id
}

pub(super) async fn project_of(db: &DatabaseConnection, owner: UserId) -> ProjectId {
    let id = ProjectId::generate();
    let now = time::now();
    projects::Model {
        id: id.to_string(),
        title: "Round trips".into(),
        description: String::new(),
        creator_id: owner.to_string(),
        request_id: None,
        request_hash: None,
        create_time: now,
        update_time: now,
        archive_time: None,
        version: 1,
        event_seq: 0,
        enforce_wip_limits: false,
        require_blockers_done: false,
        require_two_factor: false,
    }
    .into_active_model()
    .insert(db)
    .await
    .expect("project");
    memberships::Model {
        project_id: id.to_string(),
        user_id: owner.to_string(),
        role: Role::Owner.stored(),
        create_time: now,
    }
    .into_active_model()
    .insert(db)
    .await
    .expect("membership");
    super::states::insert_defaults(db, id, now).await.expect("states");
    id
}

pub(super) async fn task(
    store: &TaskStore,
    (project, parent): (ProjectId, Option<&TaskRecord>),
    creator: UserId,
    title: &str,
    labels: &[&str],
) -> TaskRecord {
    let now = time::now();
    let record = TaskRecord {
        task: tasks::Model {
            id: TaskId::generate().to_string(),
            project_id: project.to_string(),
            title: title.into(),
            description: String::new(),
            status: TaskStatus::Todo.stored(),
            priority: 2,
            start_time: None,
            due_time: None,
            position: 0,
            creator_id: creator.to_string(),
            request_id: None,
            request_hash: None,
            create_time: now,
            update_time: now,
            complete_time: None,
            delete_time: None,
            version: 1,
            state_id: None,
            parent_id: parent.map(|parent| parent.task.id.clone()),
            series_id: None,
            occurrence_time: None,
            skip_time: None,
            previous_occurrence_id: None,
        },
        assignees: vec![creator.to_string()],
        labels: labels.iter().map(|label| (*label).to_owned()).collect(),
        state: None,
        subtasks: Rollup::default(),
        custom_fields: Default::default(),
        recurrence: None,
    };
    let states = super::states::load(store.connection(), project).await.expect("states");
    let board = super::states::Board { states, enforce_wip_limits: false, require_blockers_done: false };
    let column = board.column(&board.states[0]);
    store
        .create(record, (&column, None), 1, |_| History { changes: Vec::new(), snapshot: Vec::new() })
        .await
        .expect("create")
}

async fn reads_take_one_statement_each(postgres: bool) {
    let (db, statements, _scratch) = counted(postgres).await;
    let owner = user(&db, "owner@example.com").await;
    let stranger = user(&db, "stranger@example.com").await;
    let project = project_of(&db, owner).await;
    let store = TaskStore::new(db.clone(), WriteTimings::default(), Default::default());
    let first = task(&store, (project, None), owner, "first", &["zeta", "alpha"]).await;
    let second = task(&store, (project, Some(&first)), owner, "second", &[]).await;
    let count = |body: &str| {
        let sent = statements.swap(0, Ordering::SeqCst);
        eprintln!("{body}: {sent} statement(s)");
        sent
    };
    count("setup");

    let found = store.find_as_member(first.name(), owner).await.expect("read").expect("a member");
    assert_eq!(count("find_as_member"), 1);
    assert_eq!(found.role, Role::Owner.stored());
    assert!(!found.project_archived);
    let read = found.task.expect("the task");
    assert_eq!(read.labels, ["alpha", "zeta"], "labels come sorted");
    assert_eq!(read.assignees, [owner.to_string()]);
    assert_eq!(read.task, first.task);
    assert_eq!(read.subtasks, Rollup { total: 1, done: 0 }, "the subtasks' rollup comes in the same statement");

    let missing = TaskName { project, task: TaskId::generate() };
    let found = store.find_as_member(missing, owner).await.expect("read").expect("a member");
    assert!(found.task.is_none(), "a member learns the task is missing");
    assert!(store.find_as_member(first.name(), stranger).await.expect("read").is_none(), "a stranger learns nothing");
    assert!(store.find_as_member(missing, stranger).await.expect("read").is_none());
    assert_eq!(count("three more find_as_member"), 3);

    let order = TaskOrder { field: TaskOrderField::Position, descending: false };
    let query = TaskQuery { project, filter: None, caller: owner, order, show_deleted: false, after: None, limit: 10 };
    let page = store.list(query).await.expect("list");
    assert_eq!(count("list"), 1);
    assert_eq!(page.iter().map(|record| record.task.title.as_str()).collect::<Vec<_>>(), ["first", "second"]);
    assert_eq!(page[0].labels, ["alpha", "zeta"]);
    assert_eq!(page[1].labels, Vec::<String>::new());
    assert_eq!(page[1], second);
    assert_eq!(page[0].subtasks, Rollup { total: 1, done: 0 });

    let projects = ProjectStore::new(db.clone());
    let membership = projects.membership(project, owner).await.expect("membership").expect("a member");
    assert_eq!((membership.role, membership.project.id.as_str()), (Role::Owner, project.to_string().as_str()));
    assert!(!membership.two_factor, "no TOTP enrolled");
    assert!(projects.membership(project, stranger).await.expect("membership").is_none());
    assert_eq!(count("two memberships"), 2);
}

/// A page in the order of a custom field: one statement while the tasks
/// with a value fill it, a second for the tasks without one, and none for
/// them when the filter needs a value.
async fn custom_orders_take_one_statement_while_values_fill_the_page(postgres: bool) {
    use crate::domain::{
        FieldId,
        fields::{FieldKey, FieldType, FieldValue},
        filter,
        page::{Cursor, CustomSort, CustomSortKind},
    };
    let (db, statements, _scratch) = counted(postgres).await;
    let owner = user(&db, "owner@example.com").await;
    let project = project_of(&db, owner).await;
    let store = TaskStore::new(db.clone(), WriteTimings::default(), Default::default());
    let fields = super::fields::FieldStore::new(db.clone());
    let new = super::fields::NewField {
        key: FieldKey::parse("key", "estimate").expect("key"),
        display_name: "Estimate".into(),
        kind: FieldType::Number,
        options: Vec::new(),
        number_min: None,
        number_max: None,
        show_on_card: false,
    };
    let field = fields.create(project, new).await.expect("field");
    let mut titles = Vec::new();
    for (title, estimate) in [("a", Some(3.0)), ("b", None), ("c", Some(1.0)), ("d", Some(2.0)), ("e", None)] {
        let mut record = task(&store, (project, None), owner, title, &[]).await;
        if let Some(estimate) = estimate {
            let value = super::tasks::CustomValue { field_id: field.id.clone(), value: FieldValue::Number(estimate) };
            let change = async |_: &super::tasks::TaskWriter<'_>, record: &mut TaskRecord| {
                record.custom_fields.insert("estimate".into(), value);
                Ok::<(), super::tasks::TaskStoreError>(())
            };
            let no_history = |_: &TaskRecord, _: &TaskRecord| History { changes: Vec::new(), snapshot: Vec::new() };
            record = store
                .change(record.name(), owner, (1, super::tasks::Placement::Keep), change, no_history)
                .await
                .expect("value")
                .1;
        }
        titles.push(record);
    }
    let sort = CustomSort { field: FieldId::from_stored(&field.id), kind: CustomSortKind::Number };
    let order = TaskOrder { field: TaskOrderField::Custom(Some(sort)), descending: false };
    let page = async |limit: u64, filter: Option<&filter::Filter>, after: Option<&Cursor>| {
        statements.store(0, Ordering::SeqCst);
        let query = TaskQuery { project, filter, caller: owner, order, show_deleted: false, after, limit };
        let records = store.list(query).await.expect("list");
        let sent = statements.swap(0, Ordering::SeqCst);
        (records.iter().map(|record| record.task.title.clone()).collect::<Vec<_>>(), sent)
    };
    assert_eq!(page(3, None, None).await, (vec!["c".into(), "d".into(), "a".into()], 1));
    assert_eq!(page(4, None, None).await, (vec!["c".into(), "d".into(), "a".into(), "b".into()], 2));
    let after_d = Cursor::new(Some(super::tasks::sort_key_of(order, &titles[3])), titles[3].task.id.clone(), "q");
    assert_eq!(page(1, None, Some(&after_d)).await, (vec!["a".into()], 1));
    let after_b = Cursor::new(Some(super::tasks::sort_key_of(order, &titles[1])), titles[1].task.id.clone(), "q");
    assert_eq!(page(5, None, Some(&after_b)).await, (vec!["e".into()], 1), "past the values: the tail only");
    let mut needs_value = filter::parse("cf.estimate >= 2").expect("parses").expect("a filter");
    filter::resolve_custom(&mut needs_value, |_| Some((field.id.clone(), FieldType::Number))).expect("resolves");
    assert_eq!(page(5, Some(&needs_value), None).await, (vec!["d".into(), "a".into()], 1), "no tail to read");
}

#[tokio::test]
async fn postgres_custom_orders_take_one_statement_while_values_fill_the_page() {
    custom_orders_take_one_statement_while_values_fill_the_page(true).await;
}

#[tokio::test]
async fn sqlite_custom_orders_take_one_statement_while_values_fill_the_page() {
    custom_orders_take_one_statement_while_values_fill_the_page(false).await;
}

#[tokio::test]
async fn postgres_reads_take_one_statement_each() {
    reads_take_one_statement_each(true).await;
}

#[tokio::test]
async fn sqlite_reads_take_one_statement_each() {
    reads_take_one_statement_each(false).await;
}
