//! Seeding a project with many tasks, fast: the owner and the project go
//! through the API (so they are exactly what the server makes), the tasks go
//! straight into the tables with multi-row `INSERT … SELECT FROM UNNEST(…)`
//! statements shaped like the schema in
//! `migrations/src/m20261124_000001_initial.rs`.
//!
//! Every seeded task has what the server would have written: a UUIDv7 id, a
//! position per board column (spaced like the server's `POSITION_GAP`),
//! version 1 (etag "1"), create/update times, a completion time when done,
//! and a "created" entry in its history. No change-feed events are written,
//! so `projects.event_seq` (the last event's number) stays as the API left
//! it: consistent, as if the creation events had been pruned.

use std::time::Instant;

use anyhow::Context;
use sqlx::PgPool;
use tonic::transport::Channel;

use crate::{
    client::{self, User},
    rng::Rng,
};

/// The server's gap between neighbouring positions in a column.
pub const POSITION_GAP: i64 = 1 << 20;
/// Rows per INSERT statement.
const BATCH: usize = 5_000;
/// Labels seeded tasks may carry.
pub const LABELS: &[&str] = &["bug", "feature", "docs", "ops", "design"];
/// Stored task statuses (the proto enum values): TODO, IN_PROGRESS, DONE.
pub const STATUSES: [i16; 3] = [1, 2, 3];
/// Stored role of added members: ROLE_EDITOR.
const EDITOR: i16 = 2;

/// What a run works on.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The project's owner, whose token every call carries.
    pub owner: User,
    /// `projects/{id}`.
    pub project: String,
    pub project_id: String,
    /// Member user ids, the owner first.
    pub members: Vec<String>,
    /// Seeded task ids, oldest first.
    pub tasks: Vec<String>,
}

impl Fixture {
    /// `projects/{project}/tasks/{task}` of seeded task `index`.
    pub fn task_name(&self, index: usize) -> String {
        format!("{}/tasks/{}", self.project, self.tasks[index])
    }
}

fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

const WORDS: &[&str] = &[
    "migrate",
    "billing",
    "page",
    "export",
    "login",
    "search",
    "dashboard",
    "report",
    "cache",
    "invoice",
    "mobile",
    "onboarding",
    "latency",
    "webhook",
    "sync",
    "backup",
    "audit",
    "theme",
    "import",
    "alerts",
];

fn sentence(rng: &mut Rng, words: usize) -> String {
    (0..words).map(|_| WORDS[rng.below(WORDS.len() as u64) as usize]).collect::<Vec<_>>().join(" ")
}

/// Signs up an owner, creates a project through the API, adds `members`
/// editors and `tasks` tasks through SQL. Prints progress to stderr.
pub async fn seed(channel: &Channel, db: &PgPool, tasks: usize, members: usize) -> anyhow::Result<Fixture> {
    let started = Instant::now();
    let owner = client::sign_up(channel, "owner").await?;
    let project = client::create_project(channel, &owner, "Benchmark board").await?;
    let project_id = project.trim_start_matches("projects/").to_owned();
    let now = now_micros();

    let mut member_ids = vec![owner.id().to_owned()];
    for index in 0..members {
        let id = uuid::Uuid::now_v7().hyphenated().to_string();
        sqlx::query(
            "INSERT INTO users (id, email, display_name, password_hash, create_time) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(format!("member{index}-{}@example.com", uuid::Uuid::now_v7().simple()))
        .bind(format!("Member {index}"))
        // Never used to sign in: members only appear as assignees.
        .bind("$argon2id$v=19$m=19456,t=2,p=1$c2VlZGVkIG1lbWJlcg$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .bind(now)
        .execute(db)
        .await?;
        sqlx::query("INSERT INTO memberships (project_id, user_id, role, create_time) VALUES ($1, $2, $3, $4)")
            .bind(&project_id)
            .bind(&id)
            .bind(EDITOR)
            .bind(now)
            .execute(db)
            .await?;
        member_ids.push(id);
    }

    let mut task_ids = Vec::with_capacity(tasks);
    let mut next_position = [0i64; 3];
    let first_time = now - 365 * 86_400 * 1_000_000;
    let step = (365 * 86_400 * 1_000_000) / tasks.max(1) as i64;
    let mut rng = Rng::new(20_261_124);
    let mut done = 0;
    while done < tasks {
        let count = BATCH.min(tasks - done);
        let mut batch = TaskBatch::with_capacity(count);
        for offset in 0..count {
            let index = done + offset;
            let id = uuid::Uuid::now_v7().hyphenated().to_string();
            // Half the board is to do, 30% in progress, 20% done.
            let status_index = match rng.below(10) {
                0..=4 => 0,
                5..=7 => 1,
                _ => 2,
            };
            let create_time = first_time + index as i64 * step;
            batch.ids.push(id.clone());
            batch.titles.push(format!("Task {index}: {}", sentence(&mut rng, 4)));
            batch.descriptions.push(format!(
                "{}.\n\n- {}\n- {}",
                sentence(&mut rng, 12),
                sentence(&mut rng, 5),
                sentence(&mut rng, 5)
            ));
            batch.statuses.push(STATUSES[status_index]);
            batch.priorities.push(rng.below(5) as i16);
            batch
                .due_times
                .push(rng.percent(40).then(|| create_time + (rng.below(60) as i64 + 1) * 86_400 * 1_000_000));
            batch.positions.push(next_position[status_index]);
            next_position[status_index] += POSITION_GAP;
            batch.create_times.push(create_time);
            batch.complete_times.push((status_index == 2).then_some(create_time + 3_600 * 1_000_000));
            if rng.percent(30) {
                let first = rng.below(LABELS.len() as u64) as usize;
                batch.label_tasks.push(id.clone());
                batch.labels.push(LABELS[first].to_owned());
                if rng.percent(30) {
                    batch.label_tasks.push(id.clone());
                    batch.labels.push(LABELS[(first + 1) % LABELS.len()].to_owned());
                }
            }
            if member_ids.len() > 1 && rng.percent(40) {
                batch.assignee_tasks.push(id.clone());
                batch.assignees.push(member_ids[1 + rng.below(member_ids.len() as u64 - 1) as usize].clone());
            }
            batch.activity_ids.push(uuid::Uuid::now_v7().hyphenated().to_string());
            task_ids.push(id);
        }
        batch.insert(db, &project_id, owner.id()).await?;
        done += count;
        if done % 20_000 == 0 || done == tasks {
            eprintln!("  seeded {done}/{tasks} tasks ({:.1} s)", started.elapsed().as_secs_f64());
        }
    }
    // What autovacuum would do soon after a bulk load: fresh statistics and a
    // visibility map, so plans are those of a settled production table.
    sqlx::raw_sql(
        "VACUUM (ANALYZE) tasks, task_labels, task_assignees, task_activities, memberships, projects, sessions, users",
    )
    .execute(db)
    .await?;
    eprintln!("  seed done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(Fixture { owner, project, project_id, members: member_ids, tasks: task_ids })
}

#[derive(Default)]
struct TaskBatch {
    ids: Vec<String>,
    titles: Vec<String>,
    descriptions: Vec<String>,
    statuses: Vec<i16>,
    priorities: Vec<i16>,
    due_times: Vec<Option<i64>>,
    positions: Vec<i64>,
    create_times: Vec<i64>,
    complete_times: Vec<Option<i64>>,
    label_tasks: Vec<String>,
    labels: Vec<String>,
    assignee_tasks: Vec<String>,
    assignees: Vec<String>,
    activity_ids: Vec<String>,
}

impl TaskBatch {
    fn with_capacity(count: usize) -> Self {
        Self {
            ids: Vec::with_capacity(count),
            titles: Vec::with_capacity(count),
            descriptions: Vec::with_capacity(count),
            ..Default::default()
        }
    }

    async fn insert(self, db: &PgPool, project_id: &str, creator_id: &str) -> anyhow::Result<()> {
        let mut txn = db.begin().await?;
        sqlx::query(
            "INSERT INTO tasks (id, project_id, title, description, status, priority, start_time, due_time, \
             position, creator_id, request_id, create_time, update_time, complete_time, delete_time, version) \
             SELECT id, $1, title, description, status, priority, NULL, due_time, position, $2, NULL, \
             create_time, create_time, complete_time, NULL, 1 \
             FROM UNNEST($3::varchar[], $4::varchar[], $5::text[], $6::int2[], $7::int2[], $8::int8[], \
             $9::int8[], $10::int8[], $11::int8[]) \
             AS t(id, title, description, status, priority, due_time, position, create_time, complete_time)",
        )
        .bind(project_id)
        .bind(creator_id)
        .bind(&self.ids)
        .bind(&self.titles)
        .bind(&self.descriptions)
        .bind(&self.statuses)
        .bind(&self.priorities)
        .bind(&self.due_times)
        .bind(&self.positions)
        .bind(&self.create_times)
        .bind(&self.complete_times)
        .execute(&mut *txn)
        .await
        .context("insert tasks")?;
        sqlx::query("INSERT INTO task_labels (task_id, label) SELECT * FROM UNNEST($1::varchar[], $2::varchar[])")
            .bind(&self.label_tasks)
            .bind(&self.labels)
            .execute(&mut *txn)
            .await
            .context("insert labels")?;
        sqlx::query("INSERT INTO task_assignees (task_id, user_id) SELECT * FROM UNNEST($1::varchar[], $2::varchar[])")
            .bind(&self.assignee_tasks)
            .bind(&self.assignees)
            .execute(&mut *txn)
            .await
            .context("insert assignees")?;
        sqlx::query(
            "INSERT INTO task_activities (id, task_id, actor_id, kind, changes, time) \
             SELECT activity, task, $1, 1, \
             json_build_array(json_build_object('field', 'title', 'old_value', '', 'new_value', title))::text, \
             time FROM UNNEST($2::varchar[], $3::varchar[], $4::varchar[], $5::int8[]) AS t(activity, task, title, time)",
        )
        .bind(creator_id)
        .bind(&self.activity_ids)
        .bind(&self.ids)
        .bind(&self.titles)
        .bind(&self.create_times)
        .execute(&mut *txn)
        .await
        .context("insert history")?;
        txn.commit().await?;
        Ok(())
    }
}
