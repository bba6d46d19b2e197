//! Reading a whole project for an export: its settings, states, fields,
//! members, live tasks (with values), their comments, history and
//! relations. Each list is one statement; the export is not one snapshot
//! (a write between two reads shows in one and not the other).

use std::collections::HashMap;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::{
    entities::{
        comments, custom_fields, memberships, projects, task_activities, task_relations, users, workflow_states,
    },
    fields, states,
    tasks::{TaskRecord, TaskStore, TaskStoreError},
};
use crate::domain::ProjectId;

/// Everything an export holds, as stored.
pub struct ProjectDump {
    pub project: projects::Model,
    pub states: Vec<workflow_states::Model>,
    pub fields: Vec<custom_fields::Model>,
    pub members: Vec<memberships::Model>,
    /// Live tasks, parents before their subtasks.
    pub tasks: Vec<TaskRecord>,
    /// Live comments of those tasks, oldest first.
    pub comments: Vec<comments::Model>,
    /// History entries of those tasks, oldest first.
    pub activities: Vec<task_activities::Model>,
    /// Both sides of every relation between those tasks.
    pub relations: Vec<task_relations::Model>,
    /// Every user the rest names, by id.
    pub users: HashMap<String, users::Model>,
}

/// The export reader.
#[derive(Clone)]
pub struct ExportStore {
    db: DatabaseConnection,
    tasks: TaskStore,
}

impl ExportStore {
    pub fn new(db: DatabaseConnection, tasks: TaskStore) -> Self {
        Self { db, tasks }
    }

    /// Reads `project` (the row the caller's grant holds).
    pub async fn read(&self, project: projects::Model) -> Result<ProjectDump, TaskStoreError> {
        let id = ProjectId::from_stored(&project.id);
        let states = states::load(&self.db, id).await?;
        let fields = fields::load(&self.db, id).await?;
        let members = memberships::Entity::find()
            .filter(memberships::Column::ProjectId.eq(project.id.clone()))
            .order_by_asc(memberships::Column::CreateTime)
            .all(&self.db)
            .await?;
        let tasks = parents_first(self.tasks.live_tasks(id).await?);
        let task_ids: Vec<String> = tasks.iter().map(|record| record.task.id.clone()).collect();
        let mut comments = Vec::new();
        let mut activities = Vec::new();
        let mut relations = Vec::new();
        // Bounded statements: at most 1,000 task ids each.
        for chunk in task_ids.chunks(1_000) {
            comments.extend(
                comments::Entity::find()
                    .filter(comments::Column::TaskId.is_in(chunk.to_vec()))
                    .filter(comments::Column::DeleteTime.is_null())
                    .order_by_asc(comments::Column::CreateTime)
                    .order_by_asc(comments::Column::Id)
                    .all(&self.db)
                    .await?,
            );
            activities.extend(
                task_activities::Entity::find()
                    .filter(task_activities::Column::TaskId.is_in(chunk.to_vec()))
                    .order_by_asc(task_activities::Column::Id)
                    .all(&self.db)
                    .await?,
            );
            relations.extend(
                task_relations::Entity::find()
                    .filter(task_relations::Column::TaskId.is_in(chunk.to_vec()))
                    .order_by_asc(task_relations::Column::Id)
                    .all(&self.db)
                    .await?,
            );
        }
        let live: std::collections::HashSet<&str> = task_ids.iter().map(String::as_str).collect();
        relations.retain(|relation| live.contains(relation.other_task_id.as_str()));
        let mut user_ids: Vec<String> = members.iter().map(|member| member.user_id.clone()).collect();
        user_ids.push(project.creator_id.clone());
        for record in &tasks {
            user_ids.push(record.task.creator_id.clone());
            user_ids.extend(record.assignees.iter().cloned());
        }
        user_ids.extend(comments.iter().map(|comment| comment.author_id.clone()));
        user_ids.extend(activities.iter().map(|activity| activity.actor_id.clone()));
        user_ids.sort();
        user_ids.dedup();
        let mut users = HashMap::new();
        for chunk in user_ids.chunks(1_000) {
            let found = users::Entity::find().filter(users::Column::Id.is_in(chunk.to_vec())).all(&self.db).await?;
            users.extend(found.into_iter().map(|user| (user.id.clone(), user)));
        }
        Ok(ProjectDump { project, states, fields, members, tasks, comments, activities, relations, users })
    }
}

/// Orders `tasks` so that every parent comes before its subtasks (by
/// depth, then by id: creation order).
fn parents_first(mut tasks: Vec<TaskRecord>) -> Vec<TaskRecord> {
    let parents: HashMap<String, Option<String>> =
        tasks.iter().map(|record| (record.task.id.clone(), record.task.parent_id.clone())).collect();
    let depth = |id: &str| {
        let mut depth = 0;
        let mut current = parents.get(id).cloned().flatten();
        // Chains are at most a few tasks deep; the bound guards a cycle.
        while let Some(parent) = current
            && depth < 64
        {
            depth += 1;
            current = parents.get(&parent).cloned().flatten();
        }
        depth
    };
    let depths: HashMap<String, usize> =
        tasks.iter().map(|record| (record.task.id.clone(), depth(&record.task.id))).collect();
    tasks.sort_by(|a, b| depths[&a.task.id].cmp(&depths[&b.task.id]).then_with(|| a.task.id.cmp(&b.task.id)));
    tasks
}
