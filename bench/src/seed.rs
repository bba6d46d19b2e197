//! Seeding a project with many tasks, fast: the owner and the project go
//! through the API (so they are exactly what the server makes), the tasks go
//! straight into the tables with multi-row `INSERT … SELECT FROM UNNEST(…)`
//! statements shaped like the schema in
//! `migrations/src/m20261124_000001_initial.rs`.
//!
//! The project's board is its three default workflow states plus a fourth,
//! "Review" (STARTED), added through the API like the project: the tasks are
//! spread over all four, Review holding a small share (about 2%), so a list
//! filtered by state can be measured on a big and on a selective column.
//!
//! The project has one custom field, `estimate` (NUMBER, created through the
//! API): about 40% of the tasks hold a value of it, one of [`ESTIMATES`]
//! (story points), so `cf.estimate >= 3` matches about a quarter of the
//! board and `cf.estimate >= 13` about one task in fifteen.
//!
//! Every seeded task has what the server would have written: a UUIDv7 id, a
//! workflow state (`state_id`) agreeing with its status, a position per
//! board column (spaced like the server's `POSITION_GAP`),
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
/// The custom state the seed adds: STARTED, so its tasks are IN_PROGRESS.
pub const REVIEW: &str = "Review";
/// One in this many in-progress tasks is in Review instead of In progress:
/// 30% / 15 = 2% of the board.
const REVIEW_ONE_IN: u64 = 15;

/// The custom field the seed adds, and the values its tasks hold.
pub const ESTIMATE: &str = "estimate";
pub const ESTIMATES: [f64; 6] = [1.0, 2.0, 3.0, 5.0, 8.0, 13.0];

/// A workflow state of the seeded project.
#[derive(Debug, Clone)]
pub struct SeededState {
    /// The bare id (`tasks.state_id`).
    pub id: String,
    /// `projects/{project}/states/{id}`.
    pub name: String,
    pub display_name: String,
    /// Seeded tasks in the state.
    pub tasks: usize,
}

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
    /// The project's states in board order: To do, In progress, Done, Review.
    pub states: Vec<SeededState>,
    /// The bare id of the `estimate` custom field.
    pub estimate_field: String,
}

impl Fixture {
    /// `projects/{project}/tasks/{task}` of seeded task `index`.
    pub fn task_name(&self, index: usize) -> String {
        format!("{}/tasks/{}", self.project, self.tasks[index])
    }

    /// The state called `display_name`.
    pub fn state(&self, display_name: &str) -> Option<&SeededState> {
        self.states.iter().find(|state| state.display_name == display_name)
    }
}

/// The project's default states (whose order matches [`STATUSES`]) and the
/// Review state, created through the API.
async fn board(channel: &Channel, owner: &User, project: &str) -> anyhow::Result<Vec<SeededState>> {
    use tasktracker_proto::v1::StateCategory;
    let defaults = client::list_states(channel, owner, project).await?;
    let categories: Vec<i32> = defaults.iter().map(|state| state.category).collect();
    anyhow::ensure!(
        categories == [StateCategory::Unstarted as i32, StateCategory::Started as i32, StateCategory::Completed as i32],
        "a new project's states are not To do / In progress / Done: categories {categories:?}"
    );
    let review = client::create_state(channel, owner, project, (REVIEW, "#9333ea", StateCategory::Started)).await?;
    let prefix = format!("{project}/states/");
    defaults
        .into_iter()
        .chain([review])
        .map(|state| {
            let id = state.name.strip_prefix(&prefix).context("a state of another project")?.to_owned();
            Ok(SeededState { id, name: state.name, display_name: state.display_name, tasks: 0 })
        })
        .collect()
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
    let mut states = board(channel, &owner, &project).await?;
    let estimate = client::create_number_field(channel, &owner, &project, ESTIMATE).await?;
    let estimate_field = estimate.name.rsplit('/').next().context("a custom field name ends with its id")?.to_owned();
    let review = states.len() - 1;
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
    let mut next_position = vec![0i64; states.len()];
    let first_time = now - 365 * 86_400 * 1_000_000;
    let step = (365 * 86_400 * 1_000_000) / tasks.max(1) as i64;
    let mut rng = Rng::new(20_261_124);
    // A stream of its own, so the other draws (and so the rest of the
    // board) are what they were before the board had a fourth state.
    let mut state_rng = Rng::new(20_261_207);
    // Likewise for custom field values.
    let mut field_rng = Rng::new(20_261_211);
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
            let state_index =
                if status_index == 1 && state_rng.below(REVIEW_ONE_IN) == 0 { review } else { status_index };
            states[state_index].tasks += 1;
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
            batch.states.push(states[state_index].id.clone());
            batch.priorities.push(rng.below(5) as i16);
            batch
                .due_times
                .push(rng.percent(40).then(|| create_time + (rng.below(60) as i64 + 1) * 86_400 * 1_000_000));
            batch.positions.push(next_position[state_index]);
            next_position[state_index] += POSITION_GAP;
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
            if field_rng.percent(40) {
                batch.estimate_tasks.push(id.clone());
                batch.estimates.push(ESTIMATES[field_rng.below(ESTIMATES.len() as u64) as usize]);
            }
            batch.activity_ids.push(uuid::Uuid::now_v7().hyphenated().to_string());
            task_ids.push(id);
        }
        batch.insert(db, (&project_id, &estimate_field), owner.id()).await?;
        done += count;
        if done % 20_000 == 0 || done == tasks {
            eprintln!("  seeded {done}/{tasks} tasks ({:.1} s)", started.elapsed().as_secs_f64());
        }
    }
    // What autovacuum would do soon after a bulk load: fresh statistics and a
    // visibility map, so plans are those of a settled production table.
    sqlx::raw_sql(
        "VACUUM (ANALYZE) tasks, task_labels, task_assignees, task_activities, memberships, projects, sessions, users, \
         workflow_states, custom_fields, task_field_values, task_search, search_words",
    )
    .execute(db)
    .await?;
    let spread: Vec<String> = states.iter().map(|state| format!("{} {}", state.display_name, state.tasks)).collect();
    eprintln!("  seed done in {:.1} s; tasks per state: {}", started.elapsed().as_secs_f64(), spread.join(", "));
    Ok(Fixture { owner, project, project_id, members: member_ids, tasks: task_ids, states, estimate_field })
}

#[derive(Default)]
struct TaskBatch {
    ids: Vec<String>,
    titles: Vec<String>,
    descriptions: Vec<String>,
    statuses: Vec<i16>,
    states: Vec<String>,
    priorities: Vec<i16>,
    due_times: Vec<Option<i64>>,
    positions: Vec<i64>,
    create_times: Vec<i64>,
    complete_times: Vec<Option<i64>>,
    label_tasks: Vec<String>,
    labels: Vec<String>,
    assignee_tasks: Vec<String>,
    assignees: Vec<String>,
    estimate_tasks: Vec<String>,
    estimates: Vec<f64>,
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

    async fn insert(self, db: &PgPool, (project_id, field_id): (&str, &str), creator_id: &str) -> anyhow::Result<()> {
        let mut txn = db.begin().await?;
        sqlx::query(
            "INSERT INTO tasks (id, project_id, title, description, status, priority, start_time, due_time, \
             position, creator_id, request_id, create_time, update_time, complete_time, delete_time, version, \
             state_id) \
             SELECT id, $1, title, description, status, priority, NULL, due_time, position, $2, NULL, \
             create_time, create_time, complete_time, NULL, 1, state_id \
             FROM UNNEST($3::varchar[], $4::varchar[], $5::text[], $6::int2[], $7::int2[], $8::int8[], \
             $9::int8[], $10::int8[], $11::int8[], $12::varchar[]) \
             AS t(id, title, description, status, priority, due_time, position, create_time, complete_time, state_id)",
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
        .bind(&self.states)
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
            "INSERT INTO task_field_values (task_id, field_id, ordinal, project_id, number_value) \
             SELECT task, $1, 0, $2, estimate FROM UNNEST($3::varchar[], $4::float8[]) AS t(task, estimate)",
        )
        .bind(field_id)
        .bind(project_id)
        .bind(&self.estimate_tasks)
        .bind(&self.estimates)
        .execute(&mut *txn)
        .await
        .context("insert custom field values")?;
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
