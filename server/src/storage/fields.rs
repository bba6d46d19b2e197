//! Custom fields: a project's definitions (`custom_fields`) and tasks'
//! values of them (`task_field_values`, read and written with the task in
//! [`super::tasks`]).
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, SqlErr, TransactionTrait,
};

use super::{
    entities::{custom_fields, task_field_values},
    tasks,
};
use crate::domain::{
    FieldId, FieldName, ProjectId,
    fields::{FieldDefinition, FieldKey, FieldType, MAX_FIELDS},
    time,
};

/// Space left between neighbours, as for workflow states.
const POSITION_GAP: i64 = 1 << 10;

/// Why a field operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FieldStoreError {
    #[error("custom field not found")]
    NotFound,
    #[error("the custom field changed meanwhile")]
    Stale,
    #[error("a project has at most {MAX_FIELDS} custom fields")]
    TooMany,
    #[error("the project has a custom field with this key")]
    DuplicateKey,
    /// An update would leave values the field no longer allows: how many
    /// tasks hold them, and what.
    #[error("{0}")]
    InUse(String),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// A field to add.
#[derive(Debug, Clone)]
pub struct NewField {
    pub key: FieldKey,
    pub display_name: String,
    pub kind: FieldType,
    pub options: Vec<String>,
    pub number_min: Option<f64>,
    pub number_max: Option<f64>,
    pub show_on_card: bool,
}

/// The fields an update changes; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct FieldChange {
    pub display_name: Option<String>,
    pub options: Option<Vec<String>>,
    /// `Some(None)` clears the bound.
    pub number_min: Option<Option<f64>>,
    pub number_max: Option<Option<f64>>,
    pub show_on_card: Option<bool>,
}

/// A select's options, as stored.
pub fn options_of(field: &custom_fields::Model) -> Vec<String> {
    serde_json::from_str(&field.options).unwrap_or_default()
}

/// The definition values are checked against.
pub fn definition_of(field: &custom_fields::Model) -> FieldDefinition {
    FieldDefinition {
        id: field.id.clone(),
        key: field.key.clone(),
        kind: FieldType::from_stored(field.kind),
        options: options_of(field),
        number_min: field.number_min,
        number_max: field.number_max,
    }
}

/// `project`'s fields in order.
pub async fn load(db: &impl ConnectionTrait, project: ProjectId) -> Result<Vec<custom_fields::Model>, DbErr> {
    custom_fields::Entity::find()
        .filter(custom_fields::Column::ProjectId.eq(project.to_string()))
        .order_by_asc(custom_fields::Column::Position)
        .order_by_asc(custom_fields::Column::Id)
        .all(db)
        .await
}

fn check_etag(etag: &str, field: &custom_fields::Model) -> Result<(), FieldStoreError> {
    if etag.is_empty() || etag == field.version.to_string() { Ok(()) } else { Err(FieldStoreError::Stale) }
}

/// The custom fields repository. Changes of a project's fields take its
/// placement lock (as changes of its states do), so two creates cannot both
/// pass the cap.
#[derive(Clone)]
pub struct FieldStore {
    db: DatabaseConnection,
}

impl FieldStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// `project`'s fields in order.
    pub async fn list(&self, project: ProjectId) -> Result<Vec<custom_fields::Model>, FieldStoreError> {
        Ok(load(&self.db, project).await?)
    }

    /// `project`'s fields as definitions values are checked against.
    pub async fn definitions(&self, project: ProjectId) -> Result<Vec<FieldDefinition>, FieldStoreError> {
        Ok(load(&self.db, project).await?.iter().map(definition_of).collect())
    }

    /// Adds a field at the end.
    #[tracing::instrument(name = "db.fields.create", skip_all, fields(otel.kind = "client"))]
    pub async fn create(&self, project: ProjectId, new: NewField) -> Result<custom_fields::Model, FieldStoreError> {
        let txn = self.db.begin().await?;
        tasks::lock_placement(&txn, project).await?;
        let fields = load(&txn, project).await?;
        if fields.len() >= MAX_FIELDS {
            return Err(FieldStoreError::TooMany);
        }
        if fields.iter().any(|field| field.key == new.key.as_str()) {
            return Err(FieldStoreError::DuplicateKey);
        }
        let now = time::now();
        let field = custom_fields::Model {
            id: FieldId::generate().to_string(),
            project_id: project.to_string(),
            key: new.key.into_inner(),
            display_name: new.display_name,
            kind: new.kind.stored(),
            options: serde_json::to_string(&new.options).unwrap_or_else(|_| "[]".into()),
            number_min: new.number_min,
            number_max: new.number_max,
            show_on_card: new.show_on_card,
            position: fields.last().map_or(0, |last| last.position + POSITION_GAP),
            create_time: now,
            update_time: now,
            version: 1,
        };
        if let Err(error) = custom_fields::ActiveModel::from(field.clone()).insert(&txn).await {
            return Err(match error.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => FieldStoreError::DuplicateKey,
                _ => error.into(),
            });
        }
        txn.commit().await?;
        Ok(field)
    }

    /// Applies `change` to the field `name`, guarded by `etag`. Options
    /// that tasks use cannot be removed, nor bounds narrowed past values.
    #[tracing::instrument(name = "db.fields.update", skip_all, fields(otel.kind = "client"))]
    pub async fn update(
        &self,
        name: FieldName,
        etag: &str,
        change: FieldChange,
    ) -> Result<custom_fields::Model, FieldStoreError> {
        let txn = self.db.begin().await?;
        tasks::lock_placement(&txn, name.project).await?;
        let mut field = custom_fields::Entity::find_by_id(name.field.to_string())
            .filter(custom_fields::Column::ProjectId.eq(name.project.to_string()))
            .one(&txn)
            .await?
            .ok_or(FieldStoreError::NotFound)?;
        check_etag(etag, &field)?;
        let values = || task_field_values::Entity::find().filter(task_field_values::Column::FieldId.eq(&field.id));
        if let Some(options) = &change.options {
            let removed: Vec<String> = options_of(&field).into_iter().filter(|old| !options.contains(old)).collect();
            if !removed.is_empty() {
                let used = values().filter(task_field_values::Column::TextValue.is_in(removed.clone())).count(&txn);
                let used = used.await?;
                if used > 0 {
                    return Err(FieldStoreError::InUse(format!(
                        "{used} values use the options being removed ({}); change those tasks first",
                        removed.join(", ")
                    )));
                }
            }
            field.options = serde_json::to_string(options).unwrap_or_else(|_| "[]".into());
        }
        field.number_min = change.number_min.unwrap_or(field.number_min);
        field.number_max = change.number_max.unwrap_or(field.number_max);
        if change.number_min.is_some() || change.number_max.is_some() {
            let mut outside = sea_orm::Condition::any();
            if let Some(min) = field.number_min {
                outside = outside.add(task_field_values::Column::NumberValue.lt(min));
            }
            if let Some(max) = field.number_max {
                outside = outside.add(task_field_values::Column::NumberValue.gt(max));
            }
            let used = if field.number_min.is_some() || field.number_max.is_some() {
                values().filter(outside).count(&txn).await?
            } else {
                0
            };
            if used > 0 {
                return Err(FieldStoreError::InUse(format!(
                    "{used} tasks hold values outside the new bounds; change those tasks first"
                )));
            }
        }
        field.display_name = change.display_name.unwrap_or(field.display_name);
        field.show_on_card = change.show_on_card.unwrap_or(field.show_on_card);
        field.update_time = time::now();
        field.version += 1;
        custom_fields::ActiveModel::from(field.clone()).reset_all().update(&txn).await?;
        txn.commit().await?;
        Ok(field)
    }

    /// Deletes the field `name` and, by cascade, every task's value of it.
    /// Returns how many tasks had a value.
    #[tracing::instrument(name = "db.fields.delete", skip_all, fields(otel.kind = "client"))]
    pub async fn delete(&self, name: FieldName, etag: &str) -> Result<u64, FieldStoreError> {
        let txn = self.db.begin().await?;
        tasks::lock_placement(&txn, name.project).await?;
        let field = custom_fields::Entity::find_by_id(name.field.to_string())
            .filter(custom_fields::Column::ProjectId.eq(name.project.to_string()))
            .one(&txn)
            .await?
            .ok_or(FieldStoreError::NotFound)?;
        check_etag(etag, &field)?;
        let cleared: Vec<String> = task_field_values::Entity::find()
            .select_only()
            .column(task_field_values::Column::TaskId)
            .distinct()
            .filter(task_field_values::Column::FieldId.eq(&field.id))
            .into_tuple()
            .all(&txn)
            .await?;
        custom_fields::Entity::delete_by_id(field.id.clone()).exec(&txn).await?;
        txn.commit().await?;
        Ok(cleared.len() as u64)
    }
}
