//! `watch` / `tasks watch`: WatchTasks as a live feed, one line per change,
//! until Ctrl-C. A lost connection is retried with backoff, resuming after
//! the last cursor the server sent (each event's, and the heartbeats').

use std::time::Duration;

use tasktracker_proto::v1::{self, watch_tasks_response::Kind};
use tonic::{Code, Status};

use crate::{
    api::Session,
    args::{GlobalArgs, WatchArgs},
    error::CliError,
    names,
    output::{Format, Output},
    workflow::Workflow,
};

const FIRST_RETRY: Duration = Duration::from_millis(500);
const LAST_RETRY: Duration = Duration::from_secs(15);

pub async fn run(global: &GlobalArgs, args: WatchArgs, out: &Output) -> Result<(), CliError> {
    let project = names::project(&args.project.project);
    let mut cursor = args.cursor.unwrap_or_default();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut announced = false;
    let mut retry = FIRST_RETRY;
    loop {
        tokio::select! {
            _ = &mut ctrl_c => return Ok(()),
            ended = follow(global, &project, &mut cursor, out, &mut announced) => match ended {
                // The server ended the stream (it is shutting down): resume
                // elsewhere or after its restart.
                Ok(()) => retry = FIRST_RETRY,
                // Before the first heartbeat nothing was watched: a wrong
                // project or server is an error, not something to wait out.
                Err(error) if !announced || !worth_retrying(&error) => return Err(error),
                Err(error) => out.note(&format!("connection lost ({}); reconnecting", error.message())),
            },
        }
        tokio::select! {
            _ = &mut ctrl_c => return Ok(()),
            () = tokio::time::sleep(retry) => retry = (retry * 2).min(LAST_RETRY),
        }
    }
}

/// Streams changes after `cursor` until the stream ends, moving `cursor` on.
/// Opens the session afresh each time, so a long watch outlives its access
/// token.
async fn follow(
    global: &GlobalArgs,
    project: &str,
    cursor: &mut String,
    out: &Output,
    announced: &mut bool,
) -> Result<(), CliError> {
    let session = Session::open(global).await?;
    let workflow = match out.format() {
        Format::Table => Workflow::fetch(&session.api, project).await?,
        Format::Json => Workflow::unknown(),
    };
    let request = v1::WatchTasksRequest { parent: project.to_owned(), cursor: cursor.clone() };
    let mut stream = session.api.tasks().watch_tasks(request).await?.into_inner();
    while let Some(message) = stream.message().await? {
        match message.kind {
            Some(Kind::Heartbeat(heartbeat)) => {
                if !heartbeat.cursor.is_empty() {
                    *cursor = heartbeat.cursor;
                }
                if !*announced {
                    *announced = true;
                    out.note(&format!("Watching {project} on {} (Ctrl-C to stop)", session.server));
                }
            }
            Some(Kind::Event(event)) => {
                if !event.cursor.is_empty() {
                    cursor.clone_from(&event.cursor);
                }
                out.event(&event, &workflow);
            }
            None => {}
        }
    }
    Ok(())
}

/// Failures a reconnect may cure: the connection or the server went away.
fn worth_retrying(error: &CliError) -> bool {
    match error {
        CliError::Api(status) => transient(status),
        CliError::Other(_) => true,
        CliError::Usage(_) | CliError::NotSignedIn { .. } => false,
    }
}

fn transient(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::Internal | Code::Cancelled | Code::DeadlineExceeded
    )
}
