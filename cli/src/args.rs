//! The command line: every command, argument and flag, with its help.

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::output::Format;

/// Exit codes, listed in `--help` (and docs/cli.md).
const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  error (server unreachable, server error, anything else)
  2  usage error, or input the server rejected (INVALID_ARGUMENT)
  3  not found, permission denied, or not signed in
  4  conflict: changed meanwhile (stale etag), already exists, or refused by a rule (FAILED_PRECONDITION)";

/// The official command-line client of Tasktracker.
#[derive(Debug, Parser)]
#[command(name = "tasktracker", version, propagate_version = true, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Server URL, `http://host:port` or `https://host` [default: the one `login` saved, else http://127.0.0.1:8080]
    #[arg(long, env = "TASKTRACKER_SERVER", global = true)]
    pub server: Option<String>,
    /// How results are printed: a table, or one JSON document per object (one per line)
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table, global = true)]
    pub output: Format,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant, reason = "parsed once per run; boxing a variant buys nothing")]
pub enum Command {
    /// Sign in (API token, or email and password) and save the credentials
    Login(LoginArgs),
    /// Sign out and forget the saved credentials
    Logout,
    /// Show who the saved credentials sign in as
    Whoami,
    /// List, show and create projects
    #[command(subcommand)]
    Projects(ProjectsCommand),
    /// List, show, create, change, move, complete, delete and watch tasks
    #[command(subcommand)]
    Tasks(TasksCommand),
    /// Print every change to a project's tasks as it happens (same as `tasks watch`)
    Watch(WatchArgs),
    /// Import a Trello board export, a CSV file or a Tasktracker export into a project
    #[command(subcommand)]
    Import(ImportCommand),
    /// Export a project as JSON (everything) or CSV (its tasks)
    Export(ExportArgs),
    /// Print a shell completion script for bash, zsh, fish, powershell or elvish
    #[command(
        after_help = "Example: tasktracker completions bash > ~/.local/share/bash-completion/completions/tasktracker"
    )]
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
#[command(after_help = "\
Without --token or --email, an API token is read from standard input when it is not a \
terminal, else asked for. With --email the password comes from TASKTRACKER_PASSWORD, else \
is asked for.")]
pub struct LoginArgs {
    /// An API token (create one in the web app's API tokens page)
    #[arg(long, conflicts_with_all = ["email", "code"])]
    pub token: Option<String>,
    /// Sign in with this email address and its password instead of a token
    #[arg(long)]
    pub email: Option<String>,
    /// The current code of the authenticator app (or a recovery code), for accounts with two-factor authentication
    #[arg(long, requires = "email")]
    pub code: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ProjectsCommand {
    /// List the projects you are a member of, newest first
    List {
        /// Include archived projects
        #[arg(long)]
        archived: bool,
        #[command(flatten)]
        limit: Limit,
    },
    /// Show a project
    Get {
        /// `projects/{id}` or the bare id
        project: String,
    },
    /// Create a project (you become its owner)
    Create {
        /// 1 to 200 characters
        title: String,
        /// Markdown
        #[arg(long)]
        description: Option<String>,
    },
}

/// The project a command works in.
#[derive(Debug, Args)]
pub struct ProjectArg {
    /// The project: `projects/{id}` or the bare id
    #[arg(long, short = 'p', env = "TASKTRACKER_PROJECT")]
    pub project: String,
}

/// A task, by resource name or by id within `--project`.
#[derive(Debug, Args)]
pub struct TaskArg {
    /// `projects/{project}/tasks/{task}`, or the task id with --project
    pub task: String,
    /// The project of a bare task id
    #[arg(long, short = 'p', env = "TASKTRACKER_PROJECT")]
    pub project: Option<String>,
}

/// How many results to fetch at most.
#[derive(Debug, Args)]
pub struct Limit {
    /// Stop after this many results [default: every page]
    #[arg(long)]
    pub limit: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum TasksCommand {
    /// List a project's tasks, fetching every page (or up to --limit)
    List(ListTasksArgs),
    /// Show a task
    Get(TaskArg),
    /// Create a task
    Create(CreateTaskArgs),
    /// Change fields of a task (only those given), guarded by its etag
    Update(UpdateTaskArgs),
    /// Move a task to another workflow state (board column) or within its column
    Move(MoveTaskArgs),
    /// Complete a task: move it to the project's first done (COMPLETED) state
    Done {
        #[command(flatten)]
        task: TaskArg,
        /// Fail if the task changed since this etag
        #[arg(long)]
        etag: Option<String>,
    },
    /// Delete a task (soft: it can be undeleted for 30 days)
    Delete {
        #[command(flatten)]
        task: TaskArg,
        /// Fail if the task changed since this etag
        #[arg(long)]
        etag: Option<String>,
    },
    /// Print every change to a project's tasks as it happens
    Watch(WatchArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "\
Filter examples (the server's ListTasks filter language, see the README's Filters section):
  status = TODO AND priority >= HIGH
  assignee = me label = \"bug\"
  due_time < 2026-12-31 OR is:blocked
  \"login page\" cf.estimate > 3")]
pub struct ListTasksArgs {
    #[command(flatten)]
    pub project: ProjectArg,
    /// Only tasks matching this filter (AIP-160 subset, as the API's ListTasks)
    #[arg(long, short = 'f')]
    pub filter: Option<String>,
    /// One field, optionally followed by ` desc`: position, create_time, update_time, due_time, priority, title, cf.<key>
    #[arg(long)]
    pub order_by: Option<String>,
    /// Include deleted tasks
    #[arg(long)]
    pub deleted: bool,
    #[command(flatten)]
    pub limit: Limit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PriorityArg {
    None,
    Low,
    Medium,
    High,
    Urgent,
}

#[derive(Debug, Args)]
pub struct CreateTaskArgs {
    #[command(flatten)]
    pub project: ProjectArg,
    /// 1 to 500 characters
    pub title: String,
    /// Markdown
    #[arg(long, short = 'd')]
    pub description: Option<String>,
    #[arg(long, value_enum)]
    pub priority: Option<PriorityArg>,
    /// Workflow state (board column): its name (e.g. "In progress") or `projects/{p}/states/{s}` [default: the project's first to-do state]
    #[arg(long)]
    pub state: Option<String>,
    /// A label (repeat for several)
    #[arg(long = "label", short = 'l', value_name = "LABEL")]
    pub labels: Vec<String>,
    /// An assignee, `users/{id}` or `me` (repeat for several)
    #[arg(long = "assignee", short = 'a', value_name = "USER")]
    pub assignees: Vec<String>,
    /// Due date (`2026-12-31`, midnight UTC) or time (RFC 3339)
    #[arg(long)]
    pub due: Option<String>,
    /// Make it a subtask of this task (id or resource name)
    #[arg(long)]
    pub parent: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("changes").required(true).multiple(true).args([
    "title", "description", "priority", "state", "labels", "add_labels", "remove_labels",
    "assignees", "clear_assignees", "due", "clear_due", "parent", "clear_parent",
])))]
pub struct UpdateTaskArgs {
    #[command(flatten)]
    pub task: TaskArg,
    /// Fail if the task changed since this etag (default: the etag read just before the update)
    #[arg(long)]
    pub etag: Option<String>,
    #[arg(long)]
    pub title: Option<String>,
    #[arg(long, short = 'd')]
    pub description: Option<String>,
    #[arg(long, value_enum)]
    pub priority: Option<PriorityArg>,
    /// Workflow state: its name or `projects/{p}/states/{s}`
    #[arg(long)]
    pub state: Option<String>,
    /// Replace the labels with these (repeat for several)
    #[arg(long = "label", short = 'l', value_name = "LABEL", conflicts_with_all = ["add_labels", "remove_labels"])]
    pub labels: Vec<String>,
    /// Add a label, keeping the others
    #[arg(long = "add-label", value_name = "LABEL")]
    pub add_labels: Vec<String>,
    /// Remove a label, keeping the others
    #[arg(long = "remove-label", value_name = "LABEL")]
    pub remove_labels: Vec<String>,
    /// Replace the assignees with these, `users/{id}` or `me` (repeat for several)
    #[arg(long = "assignee", short = 'a', value_name = "USER")]
    pub assignees: Vec<String>,
    /// Remove every assignee
    #[arg(long, conflicts_with = "assignees")]
    pub clear_assignees: bool,
    /// Due date (`2026-12-31`) or time (RFC 3339)
    #[arg(long)]
    pub due: Option<String>,
    /// Remove the due date
    #[arg(long, conflicts_with = "due")]
    pub clear_due: bool,
    /// Make it a subtask of this task (id or resource name)
    #[arg(long)]
    pub parent: Option<String>,
    /// Make it a top-level task
    #[arg(long, conflicts_with = "parent")]
    pub clear_parent: bool,
}

#[derive(Debug, Args)]
pub struct MoveTaskArgs {
    #[command(flatten)]
    pub task: TaskArg,
    /// Target workflow state: its name or `projects/{p}/states/{s}` [default: the task's own]
    #[arg(long)]
    pub state: Option<String>,
    /// Place it right after this task of the target state [default: at the top]
    #[arg(long)]
    pub after: Option<String>,
    /// Fail if the task changed since this etag
    #[arg(long)]
    pub etag: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "Ends on Ctrl-C. Reconnects after a lost connection, resuming after the last change seen.")]
pub struct WatchArgs {
    #[command(flatten)]
    pub project: ProjectArg,
    /// Start after this cursor (printed with each change in JSON output) instead of now
    #[arg(long)]
    pub cursor: Option<String>,
}

/// A file to import and the project it goes into.
#[derive(Debug, Args)]
pub struct ImportFile {
    /// The file (at most the server's import limit, 32 MiB by default)
    pub file: std::path::PathBuf,
    #[command(flatten)]
    pub project: ProjectArg,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// A Trello board's JSON export: lists become states, cards tasks, checklists subtasks
    #[command(after_help = "Shows progress until the import is done; Ctrl-C cancels it.")]
    Trello(ImportFile),
    /// A CSV file with a header row, its columns named with --map
    #[command(after_help = "\
Fields: title (required), description, state, assignee_email, due_date, labels, priority,
source_id (makes importing again skip the row), cf.<key> (a custom field).
Example: --map title=Name,description=Notes,state=Status,source_id=Key,cf.estimate=Points
Shows progress until the import is done; Ctrl-C cancels it.")]
    Csv {
        #[command(flatten)]
        file: ImportFile,
        /// FIELD=COLUMN pairs separated by commas
        #[arg(long)]
        map: String,
    },
    /// A project exported with `tasktracker export --format json`
    #[command(after_help = "Shows progress until the import is done; Ctrl-C cancels it.")]
    Tasktracker(ImportFile),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub project: ProjectArg,
    #[arg(long, value_enum, default_value_t = ExportFormatArg::Json)]
    pub format: ExportFormatArg,
    /// Write to this file instead of standard output (`-o` is the global output format)
    #[arg(long = "file", short = 'F', value_name = "FILE")]
    pub file: Option<std::path::PathBuf>,
}
