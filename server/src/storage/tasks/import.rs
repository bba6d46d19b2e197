//! Imported tasks: a batch of new tasks, each remembered by its source and
//! its id there (`import_items`), in one transaction, so that importing the
//! same items again skips them; and a project's tasks read for an export.

use std::{collections::HashMap, time::Instant};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait};

use super::{
    History, POSITION_GAP, TaskRecord, TaskStore, TaskStoreError, bottom_of, fetch, insert_relations, insert_values,
    lock_fields, lock_placement, record_change,
};
use crate::{
    domain::{ProjectId, UserId},
    storage::{
        entities::{comments as comment_rows, import_items, task_activities, tasks},
        notifications,
        states::Column,
    },
};

/// A task to import.
pub struct NewImport {
    /// The item's id in its source.
    pub source_id: String,
    /// The source id of its parent, an item imported before it.
    pub parent: Option<String>,
    /// The state it goes in (at the bottom); WIP limits do not refuse imports.
    pub column: Column,
    pub record: TaskRecord,
    /// Its comments; `task_id` is set here.
    pub comments: Vec<comment_rows::Model>,
    /// History it had in its source, before its import's own entry;
    /// `task_id` is set here.
    pub activities: Vec<task_activities::Model>,
}

/// What became of one [`NewImport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    Imported,
    /// An earlier import made it: left as it is.
    Skipped,
    /// Its parent was not imported (it failed), so neither is it.
    NoParent,
}

impl TaskStore {
    /// Every live (not deleted) task of `project` with its assignees,
    /// labels and values, by id: one statement.
    pub async fn live_tasks(&self, project: ProjectId) -> Result<Vec<TaskRecord>, TaskStoreError> {
        let select = tasks::Entity::find()
            .filter(tasks::Column::ProjectId.eq(project.to_string()))
            .filter(tasks::Column::DeleteTime.is_null())
            .order_by_asc(tasks::Column::Id);
        fetch(&self.db, select).await
    }

    /// Inserts `items` of `source` into `project`, in order, in one
    /// transaction, with their history entries, feed events and the
    /// notifications a creation makes; items already imported are skipped.
    /// Returns each item's outcome and the tasks made.
    ///
    /// Takes the project's placement lock first, so two imports of the same
    /// file into one project queue up and the second skips what the first
    /// made, instead of failing on the unique `import_items` key.
    pub async fn import_batch(
        &self,
        (project, source, actor): (ProjectId, &str, UserId),
        items: Vec<NewImport>,
        kind: i16,
        describe: impl Fn(&TaskRecord) -> History,
    ) -> Result<(Vec<ImportOutcome>, Vec<TaskRecord>), TaskStoreError> {
        let started = Instant::now();
        let txn = self.db.begin().await?;
        lock_placement(&txn, project).await?;
        let source_ids: Vec<String> =
            items.iter().flat_map(|item| std::iter::once(item.source_id.clone()).chain(item.parent.clone())).collect();
        let mut known: HashMap<String, String> = import_items::Entity::find()
            .filter(import_items::Column::ProjectId.eq(project.to_string()))
            .filter(import_items::Column::Source.eq(source))
            .filter(import_items::Column::SourceId.is_in(source_ids))
            .all(&txn)
            .await?
            .into_iter()
            .map(|item| (item.source_id, item.task_id))
            .collect();
        let mut bottoms: HashMap<String, i64> = HashMap::new();
        let mut outcomes = Vec::with_capacity(items.len());
        let mut created = Vec::new();
        for NewImport { source_id, parent, column, mut record, comments, activities } in items {
            if known.contains_key(&source_id) {
                outcomes.push(ImportOutcome::Skipped);
                continue;
            }
            if let Some(parent) = parent {
                let Some(task) = known.get(&parent) else {
                    outcomes.push(ImportOutcome::NoParent);
                    continue;
                };
                record.task.parent_id = Some(task.clone());
            }
            lock_fields(&txn, &mut record, None).await?;
            record.enter(&column, record.task.create_time);
            record.task.state_id = record.state.clone();
            let bottom = match bottoms.get(&column.state.id) {
                Some(bottom) => *bottom,
                None => bottom_of(&txn, project, &column).await?,
            };
            record.task.position = bottom;
            bottoms.insert(column.state.id.clone(), bottom + POSITION_GAP);
            tasks::Entity::insert(tasks::ActiveModel::from(record.task.clone())).exec_without_returning(&txn).await?;
            insert_relations(&txn, &record.task.id, &record.assignees, &record.labels).await?;
            insert_values(&txn, &record).await?;
            let item = import_items::Model {
                project_id: project.to_string(),
                source: source.to_owned(),
                source_id: source_id.clone(),
                task_id: record.task.id.clone(),
            };
            import_items::Entity::insert(import_items::ActiveModel::from(item)).exec_without_returning(&txn).await?;
            if !comments.is_empty() {
                let rows = comments.into_iter().map(|comment| {
                    comment_rows::ActiveModel::from(comment_rows::Model { task_id: record.task.id.clone(), ..comment })
                });
                comment_rows::Entity::insert_many(rows).exec_without_returning(&txn).await?;
            }
            if !activities.is_empty() {
                let rows = activities.into_iter().map(|activity| {
                    task_activities::ActiveModel::from(task_activities::Model {
                        task_id: record.task.id.clone(),
                        ..activity
                    })
                });
                task_activities::Entity::insert_many(rows).exec_without_returning(&txn).await?;
            }
            known.insert(source_id, record.task.id.clone());
            outcomes.push(ImportOutcome::Imported);
            created.push(record);
        }
        let changes: Vec<_> = created.iter().map(|record| (None, record)).collect();
        let made = notifications::on_task_changes(&txn, self.inbox.outbox(), &changes, actor).await?;
        let mut locked = None;
        for record in &created {
            let at = record_change(&txn, record, kind, describe(record), record.task.creator_id.as_str()).await?;
            locked.get_or_insert(at);
        }
        txn.commit().await?;
        self.timings.observe(started, locked.unwrap_or_else(Instant::now));
        self.inbox.announce(&made);
        Ok((outcomes, created))
    }
}
