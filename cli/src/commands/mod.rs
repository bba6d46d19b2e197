//! One module per command group; each takes its parsed arguments, calls the
//! server and hands the results to [`Output`].

mod auth;
mod imports;
mod projects;
mod tasks;
mod watch;

use std::future::Future;

use clap::CommandFactory;

use crate::{
    api::Session,
    args::{Cli, Command, TasksCommand},
    error::CliError,
    output::Output,
};

/// Runs the command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let out = Output::new(cli.global.output);
    match cli.command {
        Command::Login(args) => auth::login(&cli.global, args, &out).await,
        Command::Logout => auth::logout(&cli.global, &out).await,
        Command::Whoami => auth::whoami(&cli.global, &out).await,
        Command::Projects(command) => projects::run(&Session::open(&cli.global).await?, command, &out).await,
        Command::Watch(args) | Command::Tasks(TasksCommand::Watch(args)) => watch::run(&cli.global, args, &out).await,
        Command::Tasks(command) => tasks::run(&Session::open(&cli.global).await?, command, &out).await,
        Command::Import(command) => imports::import(&Session::open(&cli.global).await?, command, &out).await,
        Command::Export(args) => imports::export(&Session::open(&cli.global).await?, args, &out).await,
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "tasktracker", &mut std::io::stdout());
            Ok(())
        }
    }
}

/// Fetches pages until the last one or until `limit` items: `fetch` gets a
/// page token and a page size (at most `max_page_size`) and returns a page's
/// items and the next page token (empty on the last page).
async fn all_pages<T, F, Fut>(limit: Option<usize>, max_page_size: usize, mut fetch: F) -> Result<Vec<T>, CliError>
where
    F: FnMut(String, i32) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, String), CliError>>,
{
    let mut items = Vec::new();
    let mut page_token = String::new();
    loop {
        let wanted = limit.map_or(max_page_size, |limit| limit.saturating_sub(items.len()).min(max_page_size));
        if wanted == 0 {
            break;
        }
        let (page, next_page_token) = fetch(page_token, i32::try_from(wanted).unwrap_or(i32::MAX)).await?;
        items.extend(page);
        if next_page_token.is_empty() {
            break;
        }
        page_token = next_page_token;
    }
    if let Some(limit) = limit {
        items.truncate(limit);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake list of `total` items served `page_size` at a time.
    async fn fetch(total: usize, page_token: String, page_size: i32) -> Result<(Vec<usize>, String), CliError> {
        let start: usize = if page_token.is_empty() { 0 } else { page_token.parse().unwrap() };
        let end = (start + page_size as usize).min(total);
        let next = if end < total { end.to_string() } else { String::new() };
        Ok(((start..end).collect(), next))
    }

    #[tokio::test]
    async fn pages_are_followed_up_to_the_limit() {
        let all = all_pages(None, 3, |token, size| fetch(10, token, size)).await.unwrap();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        let some = all_pages(Some(4), 3, |token, size| fetch(10, token, size)).await.unwrap();
        assert_eq!(some, vec![0, 1, 2, 3]);
        let none = all_pages(Some(0), 3, |token, size| fetch(10, token, size)).await.unwrap();
        assert!(none.is_empty());
    }
}
