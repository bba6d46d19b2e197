//! A custom field deleted while a write that sets a value of it is under
//! way: the service checked the value against the field, the field is
//! deleted, then the write reaches the database. It must fail naming the
//! value's key, not with a foreign key violation; a value of another,
//! deleted field that the write only carries over is dropped. Provoked
//! deterministically here by deleting the field between checking the value
//! and writing it (PostgreSQL and SQLite; the carried-over case needs a
//! delete inside the write's transaction, which only PostgreSQL allows).

use super::{
    fields::{FieldStore, NewField},
    round_trips::{counted, project_of, task, user},
    tasks::{CustomValue, History, Placement, TaskRecord, TaskStore, TaskStoreError, TaskWriter, WriteTimings},
};
use crate::domain::{
    FieldId, FieldName, ProjectId,
    fields::{FieldKey, FieldType, FieldValue},
};

async fn number_field(fields: &FieldStore, project: ProjectId, key: &str) -> CustomValue {
    let new = NewField {
        key: FieldKey::parse("key", key).expect("key"),
        display_name: key.into(),
        kind: FieldType::Number,
        options: Vec::new(),
        number_min: None,
        number_max: None,
        show_on_card: false,
    };
    let field = fields.create(project, new).await.expect("field");
    CustomValue { field_id: field.id, value: FieldValue::Number(1.0) }
}

async fn delete(fields: &FieldStore, project: ProjectId, value: &CustomValue) {
    let name = FieldName { project, field: FieldId::from_stored(&value.field_id) };
    fields.delete(name, "").await.expect("delete the field");
}

fn no_history<T>(_: &T, _: &T) -> History {
    History { changes: Vec::new(), snapshot: Vec::new() }
}

async fn a_value_of_a_field_deleted_meanwhile_names_its_key(postgres: bool) {
    let (db, _, _scratch) = counted(postgres).await;
    let owner = user(&db, "owner@example.com").await;
    let project = project_of(&db, owner).await;
    let store = TaskStore::new(db.clone(), WriteTimings::default(), Default::default());
    let fields = FieldStore::new(db.clone());
    let estimate = number_field(&fields, project, "estimate").await;
    let size = number_field(&fields, project, "size").await;
    let first = task(&store, (project, None), owner, "first", &[]).await;

    // Update: the value was checked, then its field went.
    delete(&fields, project, &estimate).await;
    let set = |value: CustomValue| {
        let store = store.clone();
        let name = first.name();
        async move {
            let change = async |_: &TaskWriter<'_>, record: &mut TaskRecord| {
                record.custom_fields.insert("estimate".into(), value);
                Ok::<(), TaskStoreError>(())
            };
            store.change(name, owner, (1, Placement::Keep), change, no_history).await
        }
    };
    match set(estimate.clone()).await {
        Err(TaskStoreError::FieldDeleted(key)) => assert_eq!(key, "estimate"),
        other => panic!("expected FieldDeleted(estimate), got {other:?}"),
    }

    // Create: the same.
    let mut record = first.clone();
    record.task.id = crate::domain::TaskId::generate().to_string();
    record.custom_fields.insert("estimate".into(), estimate.clone());
    let states = super::states::load(&db, project).await.expect("states");
    let board = super::states::Board { states, enforce_wip_limits: false, require_blockers_done: false };
    let column = board.column(&board.states[0]);
    match store.create(record, (&column, None), 1, |_| History { changes: Vec::new(), snapshot: Vec::new() }).await {
        Err(TaskStoreError::FieldDeleted(key)) => assert_eq!(key, "estimate"),
        other => panic!("expected FieldDeleted(estimate), got {other:?}"),
    }

    // A value the write only carries over, of a field deleted after the
    // task was read, is dropped with its field: the write succeeds.
    let (_, with_size) = store
        .change(
            first.name(),
            owner,
            (1, Placement::Keep),
            async |_: &TaskWriter<'_>, record: &mut TaskRecord| {
                record.custom_fields.insert("size".into(), size.clone());
                Ok::<(), TaskStoreError>(())
            },
            no_history,
        )
        .await
        .expect("set size");
    assert_eq!(with_size.custom_fields.len(), 1);
    if !postgres {
        // SQLite has one writer: a field cannot be deleted while a write's
        // transaction is open.
        return;
    }
    let fresh = number_field(&fields, project, "fresh").await;
    let change = async |_: &TaskWriter<'_>, record: &mut TaskRecord| {
        // The field is deleted after the task was read, before the write.
        delete(&fields, project, &size).await;
        record.custom_fields.insert("fresh".into(), fresh.clone());
        Ok::<(), TaskStoreError>(())
    };
    let (_, after) = store
        .change(first.name(), owner, (1, Placement::Keep), change, no_history)
        .await
        .expect("a carried-over value of a deleted field does not fail the write");
    assert_eq!(after.custom_fields.keys().collect::<Vec<_>>(), ["fresh"]);
    let read = store.find_as_member(first.name(), owner).await.expect("read").expect("member").task.expect("task");
    assert_eq!(read.custom_fields, after.custom_fields);
}

#[tokio::test]
async fn postgres_a_value_of_a_field_deleted_meanwhile_names_its_key() {
    a_value_of_a_field_deleted_meanwhile_names_its_key(true).await;
}

#[tokio::test]
async fn sqlite_a_value_of_a_field_deleted_meanwhile_names_its_key() {
    a_value_of_a_field_deleted_meanwhile_names_its_key(false).await;
}
