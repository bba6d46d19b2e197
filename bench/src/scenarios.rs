//! The request scenarios, each in three forms: through the API (generated
//! tonic client), and two baselines straight to PostgreSQL through sqlx: the
//! minimal SQL for each call ([`crate::minimal`]) and the server's own
//! statements ([`crate::raw`]). Workers of every form draw the same sequence
//! of operations from the same seeds.

use std::sync::{
    Arc,
    atomic::{AtomicI64, AtomicU64, Ordering},
};

use sqlx::PgPool;
use tasktracker_proto::v1::{self, task_service_client::TaskServiceClient};
use tonic::{metadata::MetadataValue, transport::Channel};

use crate::{
    client::authorized,
    load::{Failure, Worker},
    minimal,
    raw::{self, LIST_FILTERS, NewTask, RawContext, TaskRow},
    rng::Rng,
    seed::{self, Fixture},
};

/// Page size of the `list` and `list_state` scenarios.
pub const PAGE_SIZE: i32 = 50;

/// The states the `list_state` scenario alternates between: the board's
/// biggest column (To do, about half the tasks) and its smallest (Review,
/// about 2%).
pub const LIST_STATES: [&str; 2] = ["To do", seed::REVIEW];

/// The lower bounds the `list_field` scenario alternates between, as
/// `cf.estimate >= {bound}`: about a quarter of the board, and about one
/// task in fifteen (see `seed::ESTIMATES`).
pub const LIST_FIELD_BOUNDS: [f64; 2] = [3.0, 13.0];

/// The queries the `search` scenario rotates through: a broad word (in
/// about 70% of the seeded tasks), two words, a typo of a title word, and
/// (`{n}`) one task's number, which only its title has.
pub const SEARCH_QUERIES: [&str; 4] = ["invoice", "billing webhook", "dashbaord", "{n}"];

/// The free-text terms the `list_text` scenario alternates between: a
/// substring of about a fifth of the titles and descriptions' words
/// (`ashboar`, of "dashboard"), and one task's title prefix (`"Task {n}:"`),
/// which only it has.
pub const LIST_TEXT_FILTERS: [&str; 2] = ["ashboar", "\"Task {n}:\""];

/// A benchmark scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// CreateTask with a request id.
    Create,
    /// GetTask of a random seeded task.
    Get,
    /// ListTasks, first page of 50, rotating through two filters.
    List,
    /// ListTasks filtered on a workflow state (`state = "projects/…/states/…"`),
    /// first page of 50 in board order, alternating a big and a small state.
    #[value(name = "list_state")]
    #[serde(rename = "list_state")]
    ListState,
    /// ListTasks filtered on a custom NUMBER field (`cf.estimate >= …`),
    /// first page of 50 in board order, alternating a broad and a selective
    /// bound.
    #[value(name = "list_field")]
    #[serde(rename = "list_field")]
    ListField,
    /// SearchTasks across the caller's projects, first page of 20, rotating
    /// through [`SEARCH_QUERIES`]. No baselines: the server's one statement
    /// is the minimal SQL.
    Search,
    /// ListTasks with a free-text term (a `LIKE` on the trigram indexes),
    /// first page of 50 in board order, alternating [`LIST_TEXT_FILTERS`].
    #[value(name = "list_text")]
    #[serde(rename = "list_text")]
    ListText,
    /// UpdateTask of the title with the current etag.
    Update,
    /// 70% reads (45% get, 25% list) / 30% writes (20% update, 10% create).
    Mixed,
    /// The mixed calls arriving at a fixed rate (open loop), as a busy
    /// self-hosted tracker sees them.
    Open,
    /// WatchTasks fan-out.
    Watch,
    /// Far past saturation: shedding, accepted-call latency, memory.
    Overload,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Get => "get",
            Self::List => "list",
            Self::ListState => "list_state",
            Self::ListField => "list_field",
            Self::Search => "search",
            Self::ListText => "list_text",
            Self::Update => "update",
            Self::Mixed => "mixed",
            Self::Open => "open",
            Self::Watch => "watch",
            Self::Overload => "overload",
        }
    }

    /// Scenarios measured against the baselines.
    pub fn has_baseline(self) -> bool {
        !matches!(self, Self::Watch | Self::Overload | Self::Open | Self::Search | Self::ListText)
    }
}

/// One call of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Create,
    Get,
    List,
    ListState,
    ListField,
    Search,
    ListText,
    Update,
}

fn pick(scenario: Scenario, rng: &mut Rng) -> Operation {
    match scenario {
        Scenario::Create => Operation::Create,
        Scenario::Get => Operation::Get,
        Scenario::List => Operation::List,
        Scenario::ListState => Operation::ListState,
        Scenario::ListField => Operation::ListField,
        Scenario::Search => Operation::Search,
        Scenario::ListText => Operation::ListText,
        Scenario::Update => Operation::Update,
        // Overload drives reads only, so it does not grow the board.
        Scenario::Overload => {
            if rng.percent(70) {
                Operation::Get
            } else {
                Operation::List
            }
        }
        // Watch streams are driven by `watch::run`, not by workers.
        Scenario::Watch => Operation::Get,
        Scenario::Mixed | Scenario::Open => match rng.below(100) {
            0..45 => Operation::Get,
            45..70 => Operation::List,
            70..90 => Operation::Update,
            _ => Operation::Create,
        },
    }
}

/// A state the `list_state` scenario lists.
struct ListedState {
    /// The ListTasks filter.
    filter: String,
    /// `tasks.state_id`, for the baselines.
    id: String,
}

/// State every worker of a run shares.
pub struct RunState {
    pub fixture: Fixture,
    /// [`LIST_STATES`] as seeded (those the fixture has).
    list_states: Vec<ListedState>,
    /// Current version (etag) of each seeded task. A worker only updates the
    /// tasks it owns, so no two workers race on one etag.
    versions: Vec<AtomicI64>,
    /// Makes request ids unique within the run.
    run: String,
    counter: AtomicU64,
}

impl RunState {
    pub fn new(fixture: Fixture) -> Arc<Self> {
        let versions = fixture.tasks.iter().map(|_| AtomicI64::new(1)).collect();
        let list_states = LIST_STATES
            .iter()
            .filter_map(|display_name| fixture.state(display_name))
            .map(|state| ListedState { filter: format!("state = \"{}\"", state.name), id: state.id.clone() })
            .collect();
        Arc::new(Self {
            fixture,
            list_states,
            versions,
            run: uuid::Uuid::now_v7().simple().to_string(),
            counter: AtomicU64::new(0),
        })
    }

    /// The `n`-th state the `list_state` scenario lists (they alternate).
    fn listed_state(&self, n: usize) -> Result<&ListedState, Failure> {
        if self.list_states.is_empty() {
            return Err(Failure::other("no seeded state to list"));
        }
        Ok(&self.list_states[n % self.list_states.len()])
    }

    fn new_task(&self) -> NewTask {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        NewTask {
            title: format!("Benchmark task {n}"),
            description: "Created by tasktracker-bench: a short description of what needs doing.".into(),
            priority: v1::Priority::High as i16,
            label: "bench".into(),
            request_id: format!("{}-{n}", self.run),
        }
    }
}

/// Which seeded tasks a worker updates: every `workers`-th from its index.
struct Owned {
    next: usize,
    step: usize,
}

impl Owned {
    fn new(worker: usize, workers: usize, rng: &mut Rng, tasks: usize) -> Self {
        // Start somewhere random among the worker's own tasks.
        let rounds = (tasks / workers.max(1)).max(1);
        Self { next: worker + workers * rng.below(rounds as u64) as usize, step: workers }
    }

    fn take(&mut self, tasks: usize) -> usize {
        if self.next >= tasks {
            self.next %= self.step;
        }
        let index = self.next;
        self.next += self.step;
        index
    }
}

fn seed_for(scenario: Scenario, worker: usize) -> u64 {
    // Fixed per scenario (not the declaration order), so adding a scenario
    // leaves the others' call sequences as they were.
    let index = match scenario {
        Scenario::Create => 0,
        Scenario::Get => 1,
        Scenario::List => 2,
        Scenario::Update => 3,
        Scenario::Mixed => 4,
        Scenario::Open => 5,
        Scenario::Watch => 6,
        Scenario::Overload => 7,
        Scenario::ListState => 8,
        Scenario::ListField => 9,
        Scenario::Search => 10,
        Scenario::ListText => 11,
    };
    (index + 1) * 1_000_003 + worker as u64
}

/// A simulated API client.
pub struct ApiWorker {
    client: TaskServiceClient<Channel>,
    authorization: MetadataValue<tonic::metadata::Ascii>,
    state: Arc<RunState>,
    scenario: Scenario,
    rng: Rng,
    owned: Owned,
    lists: usize,
}

impl ApiWorker {
    pub fn new(channel: Channel, state: Arc<RunState>, scenario: Scenario, worker: usize, workers: usize) -> Self {
        let mut rng = Rng::new(seed_for(scenario, worker));
        let owned = Owned::new(worker, workers, &mut rng, state.fixture.tasks.len());
        Self {
            client: TaskServiceClient::new(channel),
            authorization: crate::client::bearer(&state.fixture.owner.access_token),
            state,
            scenario,
            rng,
            owned,
            lists: worker,
        }
    }

    /// ListTasks, the first page under `filter`; an empty page is a failure
    /// (every scenario's filter matches seeded tasks).
    async fn list_page(&mut self, filter: String) -> Result<(), Failure> {
        let request = v1::ListTasksRequest {
            parent: self.state.fixture.project.clone(),
            page_size: PAGE_SIZE,
            filter,
            ..Default::default()
        };
        let response = self.client.list_tasks(authorized(&self.authorization, request)).await?;
        if response.get_ref().tasks.is_empty() {
            return Err(Failure::other("empty page"));
        }
        Ok(())
    }
}

impl Worker for ApiWorker {
    async fn call(&mut self) -> Result<(), Failure> {
        let fixture = &self.state.fixture;
        match pick(self.scenario, &mut self.rng) {
            Operation::Get => {
                let index = self.rng.below(fixture.tasks.len() as u64) as usize;
                self.client
                    .get_task(authorized(&self.authorization, v1::GetTaskRequest { name: fixture.task_name(index) }))
                    .await?;
            }
            Operation::List => {
                let (filter, _) = LIST_FILTERS[self.lists % LIST_FILTERS.len()];
                self.lists += 1;
                self.list_page(filter.into()).await?;
            }
            Operation::ListState => {
                let filter = self.state.listed_state(self.lists)?.filter.clone();
                self.lists += 1;
                self.list_page(filter).await?;
            }
            Operation::ListField => {
                let bound = LIST_FIELD_BOUNDS[self.lists % LIST_FIELD_BOUNDS.len()];
                self.lists += 1;
                self.list_page(format!("cf.{} >= {bound}", seed::ESTIMATE)).await?;
            }
            Operation::Search => {
                let n = self.rng.below(fixture.tasks.len().max(1) as u64);
                let query = SEARCH_QUERIES[self.lists % SEARCH_QUERIES.len()].replace("{n}", &n.to_string());
                self.lists += 1;
                let request = v1::SearchTasksRequest { query, page_size: 20, ..Default::default() };
                let response = self.client.search_tasks(authorized(&self.authorization, request)).await?;
                if response.get_ref().results.is_empty() {
                    return Err(Failure::other("no results"));
                }
            }
            Operation::ListText => {
                let n = self.rng.below(fixture.tasks.len().max(1) as u64);
                let filter = LIST_TEXT_FILTERS[self.lists % LIST_TEXT_FILTERS.len()].replace("{n}", &n.to_string());
                self.lists += 1;
                self.list_page(filter).await?;
            }
            Operation::Create => {
                let new = self.state.new_task();
                self.client
                    .create_task(authorized(
                        &self.authorization,
                        v1::CreateTaskRequest {
                            parent: fixture.project.clone(),
                            task: Some(v1::Task {
                                title: new.title,
                                description: new.description,
                                priority: i32::from(new.priority),
                                labels: vec![new.label],
                                ..Default::default()
                            }),
                            request_id: new.request_id,
                        },
                    ))
                    .await?;
            }
            Operation::Update => {
                let index = self.owned.take(fixture.tasks.len());
                let version = &self.state.versions[index];
                let etag = version.load(Ordering::Relaxed);
                let response = self
                    .client
                    .update_task(authorized(
                        &self.authorization,
                        v1::UpdateTaskRequest {
                            task: Some(v1::Task {
                                name: fixture.task_name(index),
                                title: format!("Renamed to version {}", etag + 1),
                                etag: etag.to_string(),
                                ..Default::default()
                            }),
                            update_mask: Some(prost_types::FieldMask { paths: vec!["title".into()] }),
                        },
                    ))
                    .await?;
                let new = response.get_ref().etag.parse().map_err(|_| Failure::other("bad etag"))?;
                version.store(new, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

/// Which SQL a [`RawWorker`] sends in place of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// The least SQL that answers each call.
    Minimal,
    /// The server's own statements.
    Statements,
}

/// The raw-SQL twin of [`ApiWorker`].
pub struct RawWorker {
    pool: PgPool,
    context: Arc<RawContext>,
    state: Arc<RunState>,
    scenario: Scenario,
    baseline: Baseline,
    rng: Rng,
    owned: Owned,
    lists: usize,
}

impl RawWorker {
    pub fn new(
        pool: PgPool,
        context: Arc<RawContext>,
        state: Arc<RunState>,
        (scenario, baseline): (Scenario, Baseline),
        worker: usize,
        workers: usize,
    ) -> Self {
        let mut rng = Rng::new(seed_for(scenario, worker));
        let owned = Owned::new(worker, workers, &mut rng, state.fixture.tasks.len());
        Self { pool, context, state, scenario, baseline, rng, owned, lists: worker }
    }
}

impl Worker for RawWorker {
    async fn call(&mut self) -> Result<(), Failure> {
        let fixture = &self.state.fixture;
        let (pool, context) = (&self.pool, &*self.context);
        match pick(self.scenario, &mut self.rng) {
            Operation::Get => {
                let task = &fixture.tasks[self.rng.below(fixture.tasks.len() as u64) as usize];
                match self.baseline {
                    Baseline::Minimal => minimal::get(pool, task).await?,
                    Baseline::Statements => raw::get(pool, context, task).await?,
                }
            }
            Operation::List => {
                let (_, filter) = LIST_FILTERS[self.lists % LIST_FILTERS.len()];
                self.lists += 1;
                let page_size = i64::from(PAGE_SIZE);
                let rows = match self.baseline {
                    Baseline::Minimal => minimal::list(pool, context, filter, page_size).await?,
                    Baseline::Statements => raw::list(pool, context, filter, page_size).await?,
                };
                if rows == 0 {
                    return Err(Failure::other("empty page"));
                }
            }
            Operation::ListState => {
                let state_id = &self.state.listed_state(self.lists)?.id;
                self.lists += 1;
                let page_size = i64::from(PAGE_SIZE);
                let rows = match self.baseline {
                    Baseline::Minimal => minimal::list_state(pool, context, state_id, page_size).await?,
                    Baseline::Statements => raw::list_state(pool, context, state_id, page_size).await?,
                };
                if rows == 0 {
                    return Err(Failure::other("empty page"));
                }
            }
            Operation::ListField => {
                let bound = LIST_FIELD_BOUNDS[self.lists % LIST_FIELD_BOUNDS.len()];
                self.lists += 1;
                let (field, page_size) = (&fixture.estimate_field, i64::from(PAGE_SIZE));
                let rows = match self.baseline {
                    Baseline::Minimal => minimal::list_field(pool, context, field, bound, page_size).await?,
                    Baseline::Statements => raw::list_field(pool, context, (field, bound), page_size).await?,
                };
                if rows == 0 {
                    return Err(Failure::other("empty page"));
                }
            }
            Operation::Search | Operation::ListText => {
                return Err(Failure::other("no baseline for this scenario"));
            }
            Operation::Create => {
                let new = self.state.new_task();
                match self.baseline {
                    Baseline::Minimal => {
                        minimal::create(pool, &TaskRow::created(context, &new, minimal::BOTTOM)).await?
                    }
                    Baseline::Statements => {
                        raw::create(pool, context, &new).await?;
                    }
                }
            }
            Operation::Update => {
                let index = self.owned.take(fixture.tasks.len());
                let version = &self.state.versions[index];
                let etag = version.load(Ordering::Relaxed);
                let title = format!("Renamed to version {}", etag + 1);
                let task = &fixture.tasks[index];
                let new = match self.baseline {
                    Baseline::Minimal => minimal::update_title(pool, task, etag, &title, raw::now_micros()).await?,
                    Baseline::Statements => raw::update_title(pool, context, task, etag, &title).await?,
                };
                version.store(new, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}
